/**
 * Schema migrations, kept as ordered TypeScript string constants so the compiled dist/ carries them.
 *
 * Every migration runs in its own transaction and is recorded in `schema_migrations`. A migration that `requires` a
 * database feature (e.g. TimescaleDB) is left pending, and reported as skipped, while that feature is missing; it is
 * applied by the first `migrate()` that finds the feature available.
 */
import { METRIC_INVENTORY_SQL } from './inventory.js';
import { ANALYSIS_MIGRATIONS } from './migrations/analysis.js';
import { ARTIFACTS_MIGRATIONS } from './migrations/artifacts.js';
import { FINGERPRINT_MIGRATIONS } from './migrations/fingerprint.js';
import { STORAGE_MIGRATIONS } from './migrations/storage.js';
import {
  UnavailableError,
  type DatabaseFeatures,
  type MigrationReport,
  type SqlExecutor,
} from '../../core/ports.js';

export interface Migration {
  /** Sortable, unique id: `NNN_description`. */
  readonly id: string;
  /** Only applied when this database feature is available. */
  readonly requires?: keyof DatabaseFeatures;
  /** One or more statements (no parameters). */
  readonly sql: string;
}

const M001_BASE = `
CREATE TABLE IF NOT EXISTS services (
  name        text PRIMARY KEY,
  first_seen  timestamptz NOT NULL,
  last_seen   timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS templates (
  template_id   text PRIMARY KEY,
  service       text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('log', 'route')),
  template      text NOT NULL,
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz NOT NULL,
  count         bigint NOT NULL DEFAULT 0,
  superseded_by text NULL
);
CREATE INDEX IF NOT EXISTS templates_service_kind_idx ON templates (service, kind);

CREATE TABLE IF NOT EXISTS rollups (
  minute     timestamptz NOT NULL,
  service    text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('operation', 'template')),
  key        text NOT NULL,
  count      bigint NOT NULL DEFAULT 0,
  errors     bigint NOT NULL DEFAULT 0,
  sum_ms     double precision NOT NULL DEFAULT 0,
  bounds_ms  double precision[] NOT NULL,
  buckets    bigint[] NOT NULL,
  PRIMARY KEY (service, kind, key, minute),
  CHECK (cardinality(buckets) = cardinality(bounds_ms) + 1)
);
CREATE INDEX IF NOT EXISTS rollups_minute_idx ON rollups (minute);

CREATE TABLE IF NOT EXISTS span_edges (
  service          text NOT NULL,
  operation        text NOT NULL,
  span_kind        smallint NOT NULL DEFAULT 0,
  parent_service   text NOT NULL,
  parent_operation text NOT NULL,
  count            bigint NOT NULL DEFAULT 0,
  first_seen       timestamptz NOT NULL,
  last_seen        timestamptz NOT NULL,
  PRIMARY KEY (service, operation, parent_service, parent_operation)
);
CREATE INDEX IF NOT EXISTS span_edges_parent_idx ON span_edges (parent_service, parent_operation);

CREATE TABLE IF NOT EXISTS spans_recent (
  trace_id       text NOT NULL,
  span_id        text NOT NULL,
  parent_span_id text NULL,
  service        text NOT NULL,
  operation      text NOT NULL,
  span_kind      smallint NOT NULL DEFAULT 0,
  start_time     timestamptz NOT NULL,
  resolved       boolean NOT NULL DEFAULT false,
  PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_recent_pending_idx ON spans_recent (start_time) WHERE NOT resolved;
CREATE INDEX IF NOT EXISTS spans_recent_start_idx ON spans_recent (start_time);

CREATE TABLE IF NOT EXISTS journeys (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  service     text NOT NULL,
  entrypoint  text NOT NULL,
  kind        text NOT NULL,
  criticality text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  doc         jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS slo_definitions (
  id             text NOT NULL,
  version        integer NOT NULL,
  journey_id     text NOT NULL,
  sli_kind       text NOT NULL,
  objective      double precision NOT NULL,
  "window"       text NOT NULL,
  spec           jsonb NOT NULL,
  approval_state text NOT NULL DEFAULT 'proposed'
                 CHECK (approval_state IN ('proposed', 'approved', 'rejected', 'deployed')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, version)
);
CREATE INDEX IF NOT EXISTS slo_definitions_journey_idx ON slo_definitions (journey_id);

CREATE TABLE IF NOT EXISTS recommendations (
  request_id   text PRIMARY KEY,
  generated_at timestamptz NOT NULL,
  doc          jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS recommendations_generated_idx ON recommendations (generated_at);

CREATE TABLE IF NOT EXISTS artifact_sets (
  id           text PRIMARY KEY,
  request_id   text NOT NULL,
  generated_at timestamptz NOT NULL,
  files        jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS artifact_sets_request_idx ON artifact_sets (request_id);

CREATE TABLE IF NOT EXISTS policy_decisions (
  artifact_set_id text NOT NULL,
  decision        text NOT NULL CHECK (decision IN ('allow', 'warn', 'deny')),
  reasons         jsonb NOT NULL,
  evaluated_at    timestamptz NOT NULL,
  policy_version  text NOT NULL,
  PRIMARY KEY (artifact_set_id, evaluated_at)
);

CREATE TABLE IF NOT EXISTS audit_log (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  actor   text NOT NULL,
  action  text NOT NULL,
  subject text NOT NULL,
  detail  jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_subject_idx ON audit_log (subject, at);

CREATE TABLE IF NOT EXISTS embedding_cache (
  content_hash text PRIMARY KEY,
  model        text NOT NULL,
  dim          integer NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS processed_events (
  stage    text NOT NULL,
  event_id text NOT NULL,
  at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stage, event_id)
);
CREATE INDEX IF NOT EXISTS processed_events_at_idx ON processed_events (at);
`;

/**
 * TimescaleDB: turn rollups into a hypertable (existing rows are moved into chunks). The primary key already contains
 * the time column, which hypertables require. Uses the pre-2.13 call form, which later versions still accept.
 */
const M002_TIMESCALE = `
SELECT create_hypertable('rollups', 'minute',
  chunk_time_interval => INTERVAL '1 day',
  migrate_data => true,
  if_not_exists => true);
`;

const BASE_MIGRATIONS: readonly Migration[] = [
  { id: '001_base', sql: M001_BASE },
  { id: '002_timescale_rollups', requires: 'timescale', sql: M002_TIMESCALE },
  { id: '003_metric_inventory', sql: METRIC_INVENTORY_SQL },
];

/** Every migration, in id order: the base schema here, plus each area's own list (adapters/db/migrations/*.ts). */
export const MIGRATIONS: readonly Migration[] = [
  ...BASE_MIGRATIONS,
  ...STORAGE_MIGRATIONS,
  ...FINGERPRINT_MIGRATIONS,
  ...ANALYSIS_MIGRATIONS,
  ...ARTIFACTS_MIGRATIONS,
].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/** What a database adapter hands the migration runner. */
export interface MigrationTarget {
  /** Run a parameterless, possibly multi-statement script. */
  script(sql: string): Promise<void>;
  query: SqlExecutor['query'];
  /** Run `fn` in one transaction on one connection. */
  inTransaction<T>(fn: (tx: MigrationTarget) => Promise<T>): Promise<T>;
}

const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  id         text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/**
 * Apply pending migrations in order. The caller is responsible for mutual exclusion between processes
 * (advisory lock on PostgreSQL; PGlite is single-connection).
 */
export async function runMigrations(
  target: MigrationTarget,
  features: DatabaseFeatures,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationReport> {
  const ids = migrations.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new Error('duplicate migration id');
  if (ids.some((id, i) => i > 0 && id <= (ids[i - 1] ?? ''))) throw new Error('migrations are not in order');

  await target.script(CREATE_LEDGER);
  const done = new Set(
    (await target.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id),
  );
  const applied: string[] = [];
  const skipped: string[] = [];
  for (const m of migrations) {
    if (done.has(m.id) || (m.requires !== undefined && !features[m.requires])) {
      skipped.push(m.id);
      continue;
    }
    await target.inTransaction(async (tx) => {
      // Re-check inside the transaction: another runner may have won the race.
      const again = await tx.query('SELECT 1 FROM schema_migrations WHERE id = $1', [m.id]);
      if (again.rows.length > 0) {
        skipped.push(m.id);
        return;
      }
      try {
        await tx.script(m.sql);
      } catch (e) {
        throw new Error(`migration ${m.id} failed: ${e instanceof Error ? e.message : String(e)}`, {
          cause: e,
        });
      }
      await tx.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
      applied.push(m.id);
    });
  }
  return { applied, skipped };
}

/** Advisory-lock key used by `migrate()` on PostgreSQL ('slo-scout migrations'). */
export const MIGRATION_LOCK_KEY = 0x510_5c07;

/**
 * Probe for an extension: present in pg_extension, or available and installable with CREATE EXTENSION.
 * Never throws for a missing or forbidden extension; the attempt runs in its own transaction so a failure does not
 * poison anything else.
 */
export async function probeExtension(
  target: MigrationTarget,
  name: 'timescaledb' | 'vector',
): Promise<boolean> {
  try {
    const installed = await target.query('SELECT 1 FROM pg_extension WHERE extname = $1', [name]);
    if (installed.rows.length > 0) return true;
    const available = await target.query('SELECT 1 FROM pg_available_extensions WHERE name = $1', [name]);
    if (available.rows.length === 0) return false;
    await target.inTransaction((tx) => tx.script(`CREATE EXTENSION IF NOT EXISTS ${name}`));
    return true;
  } catch (e) {
    if (e instanceof UnavailableError) throw e;
    return false;
  }
}
