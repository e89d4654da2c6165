/**
 * Migrations owned by the storage area. Ids are `NNN_description` and must sort after every id already in MIGRATIONS
 * (adapters/db/migrations.ts assembles all areas and sorts them); never edit a migration that has shipped, add one.
 *
 * Rollup storage comes in two shapes that answer the SAME queries (adapters/db/repo.ts):
 *
 * - TimescaleDB (002 + 011): `rollups` is a hypertable (1-day chunks), compressed after 7 days (segment by service,
 *   kind, key), raw minutes kept 90 days; `rollups_hourly` is a continuous aggregate with real-time aggregation,
 *   refreshed every 30 minutes and kept 400 days.
 * - Plain PostgreSQL and PGlite (010): `rollups` is range-partitioned by month (UTC) with a default partition;
 *   `slo_scout_ensure_rollup_partitions(from, to)` creates months ahead (moving stray rows out of the default
 *   partition); `rollups_hourly` is a table kept current by a row trigger on `rollups` (adds the delta of every
 *   insert/upsert); `slo_scout_rollup_retention(raw, hourly)` drops whole monthly partitions.
 *
 * Both: `slo_scout_sum_buckets(bigint[])` sums histogram bucket arrays element-wise, and hourly buckets are computed
 * with `time_bucket` (TimescaleDB) or `date_bin` (plain), both aligned to 2000-01-01 UTC.
 */
import type { Migration } from '../migrations.js';

/** Shared helpers + the plain-PostgreSQL rollup layout (a no-op for the layout when TimescaleDB is installed). */
const M010_ROLLUP_STORAGE = `
-- Element-wise sum (plpgsql: about 3x faster than a SQL function over unnest when used as an aggregate step).
CREATE OR REPLACE FUNCTION slo_scout_add_buckets(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  i integer;
BEGIN
  IF a IS NULL THEN RETURN b; END IF;
  IF b IS NULL THEN RETURN a; END IF;
  FOR i IN 1 .. greatest(cardinality(a), cardinality(b)) LOOP
    a[i] := COALESCE(a[i], 0) + COALESCE(b[i], 0);
  END LOOP;
  RETURN a;
END
$fn$;

CREATE OR REPLACE FUNCTION slo_scout_sub_buckets(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN b IS NULL THEN a ELSE
    ARRAY(SELECT COALESCE(x, 0) - COALESCE(y, 0) FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i) ORDER BY i)
  END
$fn$;

DO $do$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'slo_scout_sum_buckets' AND prokind = 'a'
                 AND pronamespace = (SELECT pronamespace FROM pg_proc WHERE proname = 'slo_scout_add_buckets' LIMIT 1)) THEN
    CREATE AGGREGATE slo_scout_sum_buckets(bigint[]) (
      SFUNC = slo_scout_add_buckets, STYPE = bigint[], COMBINEFUNC = slo_scout_add_buckets, PARALLEL = SAFE);
  END IF;
END $do$;

-- Month partitions [month, month + 1) in UTC, named rollups_YYYYMM, in the schema of the rollups table.
-- Rows already sitting in the default partition for a new month are moved into it. At most 240 months per call.
CREATE OR REPLACE FUNCTION slo_scout_ensure_rollup_partitions(p_from timestamptz, p_to timestamptz)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
  parent oid := to_regclass('rollups');
  nsp text;
  m timestamp;
  last_m timestamp;
  lo timestamptz;
  hi timestamptz;
  part text;
  created integer := 0;
BEGIN
  IF parent IS NULL OR p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN RETURN 0; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = parent) THEN RETURN 0; END IF;
  SELECT n.nspname INTO nsp FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
  last_m := date_trunc('month', p_to AT TIME ZONE 'UTC');
  m := greatest(date_trunc('month', p_from AT TIME ZONE 'UTC'), last_m - interval '239 months');
  WHILE m <= last_m LOOP
    part := 'rollups_' || to_char(m, 'YYYYMM');
    lo := m AT TIME ZONE 'UTC';
    hi := (m + interval '1 month') AT TIME ZONE 'UTC';
    IF to_regclass(format('%I.%I', nsp, part)) IS NULL THEN
      -- Serialise creators; re-check after taking the lock.
      PERFORM pg_advisory_xact_lock(hashtext(nsp || '.slo_scout_rollup_partitions'));
      IF to_regclass(format('%I.%I', nsp, part)) IS NULL THEN
        EXECUTE format('LOCK TABLE %I.rollups_default IN ACCESS EXCLUSIVE MODE', nsp);
        EXECUTE format('CREATE TEMP TABLE slo_scout_moved (LIKE %I.rollups) ON COMMIT DROP', nsp);
        EXECUTE format('WITH d AS (DELETE FROM %I.rollups_default WHERE minute >= $1 AND minute < $2 RETURNING *)
                        INSERT INTO slo_scout_moved SELECT * FROM d', nsp) USING lo, hi;
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.rollups FOR VALUES FROM (%L) TO (%L)', nsp, part, nsp, lo, hi);
        -- Moved rows were already counted into rollups_hourly: the trigger skips them.
        PERFORM set_config('slo_scout.skip_hourly', 'on', true);
        EXECUTE format('INSERT INTO %I.%I SELECT * FROM slo_scout_moved', nsp, part);
        PERFORM set_config('slo_scout.skip_hourly', 'off', true);
        DROP TABLE slo_scout_moved;
        created := created + 1;
      END IF;
    END IF;
    m := m + interval '1 month';
  END LOOP;
  RETURN created;
END
$fn$;

-- Plain-PostgreSQL retention: drop monthly partitions entirely older than p_raw_before, delete older rows from the
-- default partition, and prune rollups_hourly (when it is a table) before p_hourly_before. Returns dropped partitions.
-- With TimescaleDB the retention jobs do this; the function then only returns 0.
CREATE OR REPLACE FUNCTION slo_scout_rollup_retention(p_raw_before timestamptz, p_hourly_before timestamptz)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
  parent oid := to_regclass('rollups');
  nsp text;
  r record;
  dropped integer := 0;
BEGIN
  IF parent IS NULL OR NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = parent) THEN RETURN 0; END IF;
  SELECT n.nspname INTO nsp FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
  FOR r IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = parent AND c.relname ~ '^rollups_[0-9]{6}$'
  LOOP
    IF (to_date(substr(r.relname, 9), 'YYYYMM')::timestamp + interval '1 month') AT TIME ZONE 'UTC'
       <= p_raw_before THEN
      EXECUTE format('DROP TABLE %I.%I', nsp, r.relname);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  EXECUTE format('DELETE FROM %I.rollups_default WHERE minute < $1', nsp) USING p_raw_before;
  IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('rollups_hourly')) = 'r' THEN
    DELETE FROM rollups_hourly WHERE hour < p_hourly_before;
  END IF;
  RETURN dropped;
END
$fn$;

DO $do$
DECLARE
  lo timestamptz;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    RETURN; -- 002/011 give rollups the TimescaleDB layout
  END IF;
  IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('rollups')) <> 'r' THEN
    RETURN; -- already partitioned
  END IF;

  ALTER TABLE rollups RENAME TO rollups_unpartitioned;
  ALTER TABLE rollups_unpartitioned RENAME CONSTRAINT rollups_pkey TO rollups_unpartitioned_pkey;
  ALTER INDEX rollups_minute_idx RENAME TO rollups_unpartitioned_minute_idx;

  CREATE TABLE rollups (
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
  ) PARTITION BY RANGE (minute);
  CREATE TABLE rollups_default PARTITION OF rollups DEFAULT;
  -- Range reads across all services: the partition bound prunes months, this index the minutes inside one.
  CREATE INDEX rollups_minute_idx ON rollups (minute);

  CREATE TABLE rollups_hourly (
    hour      timestamptz NOT NULL,
    service   text NOT NULL,
    kind      text NOT NULL,
    key       text NOT NULL,
    bounds_ms double precision[] NOT NULL,
    count     bigint NOT NULL DEFAULT 0,
    errors    bigint NOT NULL DEFAULT 0,
    sum_ms    double precision NOT NULL DEFAULT 0,
    buckets   bigint[] NOT NULL,
    PRIMARY KEY (service, kind, key, hour, bounds_ms)
  );
  CREATE INDEX rollups_hourly_hour_idx ON rollups_hourly (hour);

  SELECT min(minute) INTO lo FROM rollups_unpartitioned;
  PERFORM slo_scout_ensure_rollup_partitions(least(coalesce(lo, now()), now()), now() + interval '3 months');
  INSERT INTO rollups SELECT * FROM rollups_unpartitioned;
  INSERT INTO rollups_hourly (hour, service, kind, key, bounds_ms, count, errors, sum_ms, buckets)
    SELECT date_bin('1 hour', minute, TIMESTAMPTZ '2000-01-01 00:00:00+00'), service, kind, key, bounds_ms,
           sum(count), sum(errors), sum(sum_ms), slo_scout_sum_buckets(buckets)
    FROM rollups_unpartitioned GROUP BY 1, 2, 3, 4, 5;
  DROP TABLE rollups_unpartitioned;

  CREATE FUNCTION slo_scout_rollups_to_hourly() RETURNS trigger LANGUAGE plpgsql AS $t$
  BEGIN
    IF current_setting('slo_scout.skip_hourly', true) = 'on' THEN RETURN NULL; END IF;
    IF TG_OP = 'UPDATE' AND NEW.bounds_ms IS DISTINCT FROM OLD.bounds_ms THEN
      RAISE EXCEPTION 'rollups: bounds_ms of an existing row cannot change';
    END IF;
    INSERT INTO rollups_hourly AS h (hour, service, kind, key, bounds_ms, count, errors, sum_ms, buckets)
    VALUES (date_bin('1 hour', NEW.minute, TIMESTAMPTZ '2000-01-01 00:00:00+00'), NEW.service, NEW.kind, NEW.key,
            NEW.bounds_ms,
            NEW.count - CASE WHEN TG_OP = 'UPDATE' THEN OLD.count ELSE 0 END,
            NEW.errors - CASE WHEN TG_OP = 'UPDATE' THEN OLD.errors ELSE 0 END,
            NEW.sum_ms - CASE WHEN TG_OP = 'UPDATE' THEN OLD.sum_ms ELSE 0 END,
            CASE WHEN TG_OP = 'UPDATE' THEN slo_scout_sub_buckets(NEW.buckets, OLD.buckets) ELSE NEW.buckets END)
    ON CONFLICT (service, kind, key, hour, bounds_ms) DO UPDATE SET
      count = h.count + EXCLUDED.count,
      errors = h.errors + EXCLUDED.errors,
      sum_ms = h.sum_ms + EXCLUDED.sum_ms,
      buckets = slo_scout_add_buckets(h.buckets, EXCLUDED.buckets);
    RETURN NULL;
  END
  $t$;
  CREATE TRIGGER rollups_to_hourly AFTER INSERT OR UPDATE ON rollups
    FOR EACH ROW EXECUTE FUNCTION slo_scout_rollups_to_hourly();
END
$do$;
`;

/**
 * TimescaleDB: hourly continuous aggregate (real-time), refresh policy, compression and retention.
 * Compression and continuous-aggregate policies need the Timescale-licensed build; with the Apache-only build the
 * aggregate is still created (real-time) and the policies that cannot be added are left out with a NOTICE.
 */
const M011_TIMESCALE_STORAGE = `
CREATE MATERIALIZED VIEW IF NOT EXISTS rollups_hourly
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', minute, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS hour,
         service, kind, key, bounds_ms,
         sum(count)::bigint AS count, sum(errors)::bigint AS errors, sum(sum_ms) AS sum_ms,
         slo_scout_sum_buckets(buckets) AS buckets
  FROM rollups
  GROUP BY 1, 2, 3, 4, 5
  WITH NO DATA;

DO $do$ BEGIN
  PERFORM add_continuous_aggregate_policy('rollups_hourly',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '30 minutes', if_not_exists => true);
  ALTER TABLE rollups SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'service, kind, key', timescaledb.compress_orderby = 'minute');
  PERFORM add_compression_policy('rollups', INTERVAL '7 days', if_not_exists => true);
EXCEPTION WHEN feature_not_supported OR insufficient_privilege OR undefined_function THEN
  RAISE NOTICE 'TimescaleDB policies unavailable (%): continuing without them', SQLERRM;
END $do$;

SELECT add_retention_policy('rollups', INTERVAL '90 days', if_not_exists => true);
DO $do$ BEGIN
  PERFORM add_retention_policy('rollups_hourly', INTERVAL '400 days', if_not_exists => true);
EXCEPTION WHEN feature_not_supported OR undefined_function THEN
  RAISE NOTICE 'no retention policy on rollups_hourly (%)', SQLERRM;
END $do$;
`;

/** Approval metadata on SLO definitions and versioned SLI definitions (each SLO version points at its SLI). */
const M012_DEFINITIONS = `
ALTER TABLE slo_definitions ADD COLUMN IF NOT EXISTS approved_by text NULL;
ALTER TABLE slo_definitions ADD COLUMN IF NOT EXISTS approved_at timestamptz NULL;
ALTER TABLE slo_definitions ADD COLUMN IF NOT EXISTS sli_id text NULL;
ALTER TABLE slo_definitions ADD COLUMN IF NOT EXISTS sli_version integer NULL;

CREATE TABLE IF NOT EXISTS sli_definitions (
  id             text NOT NULL,
  version        integer NOT NULL,
  journey_id     text NOT NULL,
  kind           text NOT NULL,
  pattern_id     text NULL,
  good_query     text NOT NULL,
  total_query    text NOT NULL,
  spec           jsonb NOT NULL DEFAULT '{}'::jsonb,
  approval_state text NOT NULL DEFAULT 'proposed'
                 CHECK (approval_state IN ('proposed', 'approved', 'rejected', 'deployed')),
  approved_by    text NULL,
  approved_at    timestamptz NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, version)
);
CREATE INDEX IF NOT EXISTS sli_definitions_journey_idx ON sli_definitions (journey_id);
CREATE INDEX IF NOT EXISTS audit_log_at_idx ON audit_log (at);
`;

export const STORAGE_MIGRATIONS: readonly Migration[] = [
  { id: '010_rollup_storage', sql: M010_ROLLUP_STORAGE },
  { id: '011_timescale_rollup_policies', requires: 'timescale', sql: M011_TIMESCALE_STORAGE },
  { id: '012_sli_slo_definitions', sql: M012_DEFINITIONS },
];
