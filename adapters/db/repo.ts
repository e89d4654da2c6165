/**
 * Repository layer: the SQL the stages run, as functions over a SqlExecutor so they compose inside
 * `db.transaction(tx => ...)`. Works on PostgreSQL (with or without TimescaleDB) and on PGlite.
 *
 * jsonb parameters are always passed as JSON text (node-postgres would turn a JS array into a PostgreSQL array).
 */
import type { SpanEdge } from '../../core/callgraph.js';
import type { SqlExecutor } from '../../core/ports.js';
import type { ArtifactSet, PolicyDecision, Recommendations, Rollup } from '../../events/schemas.js';

/** Rows per multi-row INSERT (keeps the parameter count well under PostgreSQL's 65 535). */
const CHUNK = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `($1,$2,$3),($4,$5,$6)` with optional per-column casts. */
function valuesList(rows: number, casts: readonly string[]): string {
  const width = casts.length;
  const parts: string[] = [];
  for (let r = 0; r < rows; r++) {
    parts.push(`(${casts.map((c, i) => `$${r * width + i + 1}${c ? `::${c}` : ''}`).join(',')})`);
  }
  return parts.join(',');
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' || typeof v === 'string') return Number(v);
  throw new Error(`expected a number, got ${typeof v}`);
}

function iso(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return new Date(v).toISOString();
  throw new Error(`expected a timestamp, got ${typeof v}`);
}

function validDate(d: Date, what: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new Error(`${what}: invalid date`);
  return d;
}

function json(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : v;
}

// ---- services ----------------------------------------------------------------------------------------------------

export interface ServiceSeen {
  readonly name: string;
  readonly seenAt: Date;
}

export async function upsertServices(db: SqlExecutor, rows: readonly ServiceSeen[]): Promise<void> {
  const byName = new Map<string, { first: Date; last: Date }>();
  for (const r of rows) {
    if (!r.name) throw new Error('upsertServices: empty service name');
    validDate(r.seenAt, 'upsertServices');
    const cur = byName.get(r.name);
    if (!cur) byName.set(r.name, { first: r.seenAt, last: r.seenAt });
    else {
      if (r.seenAt < cur.first) cur.first = r.seenAt;
      if (r.seenAt > cur.last) cur.last = r.seenAt;
    }
  }
  for (const part of chunks([...byName])) {
    await db.query(
      `INSERT INTO services AS s (name, first_seen, last_seen) VALUES ${valuesList(part.length, ['text', 'timestamptz', 'timestamptz'])}
       ON CONFLICT (name) DO UPDATE SET first_seen = LEAST(s.first_seen, EXCLUDED.first_seen),
                                        last_seen = GREATEST(s.last_seen, EXCLUDED.last_seen)`,
      part.flatMap(([name, v]) => [name, v.first, v.last]),
    );
  }
}

export interface ServiceRow {
  readonly name: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
}

export async function loadServices(db: SqlExecutor): Promise<ServiceRow[]> {
  const r = await db.query<{ name: string; first_seen: unknown; last_seen: unknown }>(
    'SELECT name, first_seen, last_seen FROM services ORDER BY name',
  );
  return r.rows.map((x) => ({ name: x.name, firstSeen: iso(x.first_seen), lastSeen: iso(x.last_seen) }));
}

// ---- templates ---------------------------------------------------------------------------------------------------

export interface TemplateSeen {
  readonly templateId: string;
  readonly service: string;
  readonly kind: 'log' | 'route';
  readonly template: string;
  readonly seenAt: Date;
  /** Occurrences to add. */
  readonly count: number;
}

export interface TemplateRow {
  readonly templateId: string;
  readonly service: string;
  readonly kind: 'log' | 'route';
  readonly template: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly count: number;
  readonly supersededBy: string | null;
}

/** Insert new templates or add counts to known ones (first/last seen widen; the text is refreshed). */
export async function upsertTemplates(db: SqlExecutor, rows: readonly TemplateSeen[]): Promise<void> {
  const byId = new Map<string, TemplateSeen & { first: Date; last: Date; total: number }>();
  for (const r of rows) {
    if (!r.templateId) throw new Error('upsertTemplates: empty templateId');
    if (r.kind !== 'log' && r.kind !== 'route')
      throw new Error(`upsertTemplates: bad kind ${String(r.kind)}`);
    if (!Number.isInteger(r.count) || r.count < 0)
      throw new Error('upsertTemplates: count must be a non-negative integer');
    validDate(r.seenAt, 'upsertTemplates');
    const cur = byId.get(r.templateId);
    if (!cur) {
      byId.set(r.templateId, { ...r, first: r.seenAt, last: r.seenAt, total: r.count });
      continue;
    }
    // The most recently seen occurrence decides text, service and kind.
    const newest = r.seenAt >= cur.last ? r : cur;
    byId.set(r.templateId, {
      ...newest,
      first: r.seenAt < cur.first ? r.seenAt : cur.first,
      last: r.seenAt > cur.last ? r.seenAt : cur.last,
      total: cur.total + r.count,
    });
  }
  const cols = ['text', 'text', 'text', 'text', 'timestamptz', 'timestamptz', 'bigint'];
  for (const part of chunks([...byId.values()])) {
    await db.query(
      `INSERT INTO templates AS t (template_id, service, kind, template, first_seen, last_seen, count)
       VALUES ${valuesList(part.length, cols)}
       ON CONFLICT (template_id) DO UPDATE SET
         template   = CASE WHEN EXCLUDED.last_seen >= t.last_seen THEN EXCLUDED.template ELSE t.template END,
         first_seen = LEAST(t.first_seen, EXCLUDED.first_seen),
         last_seen  = GREATEST(t.last_seen, EXCLUDED.last_seen),
         count      = t.count + EXCLUDED.count`,
      part.flatMap((t) => [t.templateId, t.service, t.kind, t.template, t.first, t.last, t.total]),
    );
  }
}

export async function loadTemplates(
  db: SqlExecutor,
  filter: { readonly service?: string; readonly kind?: 'log' | 'route' } = {},
): Promise<TemplateRow[]> {
  const r = await db.query<Record<string, unknown>>(
    `SELECT template_id, service, kind, template, first_seen, last_seen, count, superseded_by FROM templates
     WHERE ($1::text IS NULL OR service = $1) AND ($2::text IS NULL OR kind = $2)
     ORDER BY service, template_id`,
    [filter.service ?? null, filter.kind ?? null],
  );
  return r.rows.map((x) => ({
    templateId: String(x.template_id),
    service: String(x.service),
    kind: x.kind as 'log' | 'route',
    template: String(x.template),
    firstSeen: iso(x.first_seen),
    lastSeen: iso(x.last_seen),
    count: num(x.count),
    supersededBy: (x.superseded_by as string | null) ?? null,
  }));
}

/** Record that a template was replaced by another (e.g. after the miner generalised it). */
export async function supersedeTemplate(
  db: SqlExecutor,
  templateId: string,
  supersededBy: string,
): Promise<boolean> {
  const r = await db.query('UPDATE templates SET superseded_by = $2 WHERE template_id = $1', [
    templateId,
    supersededBy,
  ]);
  return r.rowCount > 0;
}

// ---- rollups -----------------------------------------------------------------------------------------------------

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function checkRollup(r: Rollup): void {
  const { bounds_ms: bounds, counts } = r.latency;
  if (counts.length !== bounds.length + 1) {
    throw new Error(
      `rollup ${r.service}/${r.kind}/${r.key}@${r.minute}: ${counts.length} bucket counts for ${bounds.length} bounds (want bounds + 1)`,
    );
  }
  for (let i = 1; i < bounds.length; i++) {
    if (!((bounds[i] ?? NaN) > (bounds[i - 1] ?? NaN))) {
      throw new Error(`rollup ${r.service}/${r.kind}/${r.key}: bounds_ms must be strictly increasing`);
    }
  }
  if (!Number.isInteger(r.count) || !Number.isInteger(r.errors) || r.count < 0 || r.errors < 0) {
    throw new Error(`rollup ${r.service}/${r.kind}/${r.key}: count and errors must be non-negative integers`);
  }
  if (Number.isNaN(new Date(r.minute).getTime())) throw new Error(`rollup: invalid minute ${r.minute}`);
}

/**
 * Re-bucket counts observed with `fromBounds` onto `toBounds`, conservatively: each source bucket (upper bound b) goes
 * into the first target bucket whose bound is >= b, so latency is never under-stated. Source +Inf goes to target +Inf.
 */
export function rebucket(
  fromBounds: readonly number[],
  counts: readonly number[],
  toBounds: readonly number[],
): number[] {
  const out = new Array<number>(toBounds.length + 1).fill(0);
  counts.forEach((c, i) => {
    const upper = i < fromBounds.length ? (fromBounds[i] ?? Infinity) : Infinity;
    let j = toBounds.findIndex((b) => b >= upper);
    if (j < 0) j = toBounds.length;
    out[j] = (out[j] ?? 0) + c;
  });
  return out;
}

function rollupKey(r: { service: string; kind: string; key: string; minute: string }): string {
  return JSON.stringify([r.service, r.kind, r.key, new Date(r.minute).toISOString()]);
}

/**
 * Add rollups into the table: count, errors, sum_ms and the latency buckets are summed element-wise into any existing
 * row for the same (service, kind, key, minute). When the stored row uses different bucket bounds, the incoming counts
 * are re-bucketed conservatively onto the stored bounds (see `rebucket`).
 */
export async function addRollups(db: SqlExecutor, rollups: readonly Rollup[]): Promise<void> {
  // Merge duplicates within the batch first: one INSERT cannot touch the same row twice.
  const merged = new Map<string, Rollup & { latency: { bounds_ms: number[]; counts: number[] } }>();
  for (const r of rollups) {
    checkRollup(r);
    const k = rollupKey(r);
    const cur = merged.get(k);
    if (!cur) {
      merged.set(k, {
        ...r,
        minute: new Date(r.minute).toISOString(),
        latency: { bounds_ms: [...r.latency.bounds_ms], counts: [...r.latency.counts] },
      });
      continue;
    }
    const counts = sameBounds(cur.latency.bounds_ms, r.latency.bounds_ms)
      ? r.latency.counts
      : rebucket(r.latency.bounds_ms, r.latency.counts, cur.latency.bounds_ms);
    merged.set(k, {
      ...cur,
      count: cur.count + r.count,
      errors: cur.errors + r.errors,
      sum_ms: cur.sum_ms + r.sum_ms,
      latency: {
        bounds_ms: cur.latency.bounds_ms,
        counts: cur.latency.counts.map((c, i) => c + (counts[i] ?? 0)),
      },
    });
  }

  if (merged.size === 0) return;
  // Plain PostgreSQL/PGlite: make sure the monthly partitions exist (a no-op under TimescaleDB).
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of merged.values()) {
    const t = Date.parse(r.minute);
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  await db.query('SELECT slo_scout_ensure_rollup_partitions($1::timestamptz, $2::timestamptz)', [
    new Date(lo),
    new Date(hi),
  ]);

  const cols = ['timestamptz', 'text', 'text', 'text', 'bigint', 'bigint', 'float8', 'float8[]', 'bigint[]'];
  for (const part of chunks([...merged.values()])) {
    // Rows whose stored bounds differ are left untouched by the upsert (WHERE) and not returned.
    const res = await db.query<{ service: string; kind: string; key: string; minute: unknown }>(
      `INSERT INTO rollups AS r (minute, service, kind, key, count, errors, sum_ms, bounds_ms, buckets)
       VALUES ${valuesList(part.length, cols)}
       ON CONFLICT (service, kind, key, minute) DO UPDATE SET
         count   = r.count + EXCLUDED.count,
         errors  = r.errors + EXCLUDED.errors,
         sum_ms  = r.sum_ms + EXCLUDED.sum_ms,
         buckets = ARRAY(
           SELECT COALESCE(a, 0) + COALESCE(b, 0)
           FROM unnest(r.buckets, EXCLUDED.buckets) WITH ORDINALITY AS u(a, b, i)
           ORDER BY i)
       WHERE r.bounds_ms = EXCLUDED.bounds_ms
       RETURNING service, kind, key, minute`,
      part.flatMap((r) => [
        r.minute,
        r.service,
        r.kind,
        r.key,
        r.count,
        r.errors,
        r.sum_ms,
        r.latency.bounds_ms,
        r.latency.counts,
      ]),
    );
    if (res.rows.length === part.length) continue;
    const written = new Set(res.rows.map((x) => rollupKey({ ...x, minute: iso(x.minute) })));
    for (const r of part) {
      if (written.has(rollupKey(r))) continue;
      await addMismatchedRollup(db, r);
    }
  }
}

async function addMismatchedRollup(db: SqlExecutor, r: Rollup): Promise<void> {
  const stored = await db.query<{ bounds_ms: number[] }>(
    'SELECT bounds_ms FROM rollups WHERE service = $1 AND kind = $2 AND key = $3 AND minute = $4::timestamptz',
    [r.service, r.kind, r.key, r.minute],
  );
  const bounds = stored.rows[0]?.bounds_ms;
  if (!bounds) throw new Error(`addRollups: row ${rollupKey(r)} vanished during merge`);
  const counts = rebucket(r.latency.bounds_ms, r.latency.counts, bounds.map(Number));
  await db.query(
    `UPDATE rollups AS r SET
       count = r.count + $5, errors = r.errors + $6, sum_ms = r.sum_ms + $7,
       buckets = ARRAY(
         SELECT COALESCE(a, 0) + COALESCE(b, 0)
         FROM unnest(r.buckets, $8::bigint[]) WITH ORDINALITY AS u(a, b, i)
         ORDER BY i)
     WHERE service = $1 AND kind = $2 AND key = $3 AND minute = $4::timestamptz AND bounds_ms = $9::float8[]`,
    [r.service, r.kind, r.key, r.minute, r.count, r.errors, r.sum_ms, counts, bounds],
  );
}

export interface RollupQuery {
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
  readonly services?: readonly string[];
}

/** A rollups / rollups_hourly row (service, kind, key, count, errors, sum_ms, bounds_ms, buckets) as a Rollup. */
function rollupOfRow(x: Record<string, unknown>, minute: unknown): Rollup {
  return {
    minute: iso(minute),
    service: String(x.service),
    kind: x.kind as Rollup['kind'],
    key: String(x.key),
    count: num(x.count),
    errors: num(x.errors),
    sum_ms: num(x.sum_ms),
    latency: {
      bounds_ms: (x.bounds_ms as unknown[]).map(num),
      counts: (x.buckets as unknown[]).map(num),
    },
  };
}

/** Rollups with start <= minute < end, ordered by minute, service, kind, key. */
export async function loadRollups(db: SqlExecutor, q: RollupQuery): Promise<Rollup[]> {
  validDate(q.start, 'loadRollups start');
  validDate(q.end, 'loadRollups end');
  const r = await db.query<Record<string, unknown>>(
    `SELECT minute, service, kind, key, count, errors, sum_ms, bounds_ms, buckets FROM rollups
     WHERE minute >= $1::timestamptz AND minute < $2::timestamptz
       AND ($3::text[] IS NULL OR service = ANY($3::text[]))
     ORDER BY minute, service, kind, key`,
    [q.start, q.end, q.services ? [...q.services] : null],
  );
  return r.rows.map((x) => rollupOfRow(x, x.minute));
}

export interface RollupSeriesQuery {
  /** Inclusive; rounded down to the hour. */
  readonly start: Date;
  /** Exclusive; rounded up to the hour. */
  readonly end: Date;
  /** Bucket width in whole hours (1 = hourly, 24 = daily); default 1. */
  readonly bucketHours?: number;
  readonly services?: readonly string[];
  readonly kind?: Rollup['kind'];
  /** Only these keys (operations or template ids). */
  readonly keys?: readonly string[];
}

/** One bucket of a rollup series: the same shape as a Rollup, `minute` being the bucket start. */
export type RollupBucket = Rollup;

const HOUR_MS = 3_600_000;

/**
 * Rollups summed into buckets of whole hours over [start, end), read from `rollups_hourly` (a TimescaleDB continuous
 * aggregate with real-time aggregation, or on plain PostgreSQL/PGlite a trigger-maintained table): the same SQL on
 * every database, and months of history stay cheap because minute rows are never scanned. Buckets with different
 * histogram bounds for the same key are returned separately. Ordered by bucket, service, kind, key.
 */
export async function loadRollupSeries(db: SqlExecutor, q: RollupSeriesQuery): Promise<RollupBucket[]> {
  validDate(q.start, 'loadRollupSeries start');
  validDate(q.end, 'loadRollupSeries end');
  const hours = q.bucketHours ?? 1;
  if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 366)
    throw new Error('loadRollupSeries: bucketHours must be an integer in 1..8784');
  const start = new Date(Math.floor(q.start.getTime() / HOUR_MS) * HOUR_MS);
  const end = new Date(Math.ceil(q.end.getTime() / HOUR_MS) * HOUR_MS);
  const filters = `hour >= $1::timestamptz AND hour < $2::timestamptz
       AND ($3::text[] IS NULL OR service = ANY($3::text[]))
       AND ($4::text IS NULL OR kind = $4::text)
       AND ($5::text[] IS NULL OR key = ANY($5::text[]))`;
  const params = [
    start,
    end,
    q.services ? [...q.services] : null,
    q.kind ?? null,
    q.keys ? [...q.keys] : null,
  ];
  // Bucket arrays are summed position by position with plain sum() (several times faster than an array aggregate):
  // every row of a group shares bounds_ms, so positions past the group's length are NULL and dropped.
  const width = await db.query<{ k: unknown }>(
    `SELECT max(cardinality(buckets)) AS k FROM rollups_hourly WHERE ${filters}`,
    params,
  );
  const k = width.rows[0]?.k;
  if (k === null || k === undefined) return [];
  const sums = Array.from({ length: num(k) }, (_, i) => `sum(buckets[${i + 1}])`).join(', ');
  const r = await db.query<Record<string, unknown>>(
    `SELECT date_bin(make_interval(hours => $6::int), hour, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
            service, kind, key, bounds_ms,
            sum(count) AS count, sum(errors) AS errors, sum(sum_ms) AS sum_ms,
            array_remove(ARRAY[${sums}], NULL) AS buckets
     FROM rollups_hourly
     WHERE ${filters}
     GROUP BY 1, 2, 3, 4, 5
     ORDER BY 1, 2, 3, 4, 5`,
    [...params, hours],
  );
  return r.rows.map((x) => rollupOfRow(x, x.bucket));
}

export interface RollupMaintenance {
  /** Reference time; default now. */
  readonly now?: Date;
  /** Months of partitions to create ahead of `now` (plain PostgreSQL); default 3. */
  readonly monthsAhead?: number;
  /** Keep minute rollups this many days; default 90. */
  readonly rawRetentionDays?: number;
  /** Keep hourly rollups this many days; default 400. */
  readonly hourlyRetentionDays?: number;
}

/**
 * Periodic upkeep of rollup storage. On plain PostgreSQL/PGlite: create monthly partitions ahead and apply retention
 * (dropping whole partitions). Under TimescaleDB the background jobs (retention, compression, aggregate refresh) do
 * this and the call changes nothing. Safe to run from several processes.
 */
export async function maintainRollupStorage(
  db: SqlExecutor,
  options: RollupMaintenance = {},
): Promise<{ readonly partitionsCreated: number; readonly partitionsDropped: number }> {
  const now = validDate(options.now ?? new Date(), 'maintainRollupStorage now');
  const ahead = options.monthsAhead ?? 3;
  const raw = options.rawRetentionDays ?? 90;
  const hourly = options.hourlyRetentionDays ?? 400;
  if (!(ahead >= 0 && raw > 0 && hourly >= raw))
    throw new Error(
      'maintainRollupStorage: need monthsAhead >= 0 and hourlyRetentionDays >= rawRetentionDays > 0',
    );
  const until = new Date(now);
  until.setUTCMonth(until.getUTCMonth() + ahead);
  const c = await db.query<{ n: unknown }>(
    'SELECT slo_scout_ensure_rollup_partitions($1::timestamptz, $2::timestamptz) AS n',
    [now, until],
  );
  const d = await db.query<{ n: unknown }>(
    'SELECT slo_scout_rollup_retention($1::timestamptz, $2::timestamptz) AS n',
    [new Date(now.getTime() - raw * 86_400_000), new Date(now.getTime() - hourly * 86_400_000)],
  );
  return { partitionsCreated: num(c.rows[0]?.n ?? 0), partitionsDropped: num(d.rows[0]?.n ?? 0) };
}

// ---- spans and call-graph edges ----------------------------------------------------------------------------------

export interface SpanRef {
  readonly traceId: string;
  readonly spanId: string;
  /** null, undefined or '' for a root span. */
  readonly parentSpanId?: string | null;
  readonly service: string;
  readonly operation: string;
  /** OTLP SpanKind number (0 unspecified … 5 consumer). */
  readonly spanKind: number;
  readonly start: Date;
}

/** Buffer spans for edge resolution. Re-delivered spans (same trace/span id) are ignored. */
export async function addSpans(db: SqlExecutor, spans: readonly SpanRef[]): Promise<void> {
  const cols = ['text', 'text', 'text', 'text', 'text', 'int2', 'timestamptz'];
  const unique = new Map<string, SpanRef>();
  for (const s of spans) {
    if (!s.traceId || !s.spanId) throw new Error('addSpans: traceId and spanId are required');
    validDate(s.start, 'addSpans');
    unique.set(`${s.traceId}/${s.spanId}`, s);
  }
  for (const part of chunks([...unique.values()])) {
    await db.query(
      `INSERT INTO spans_recent (trace_id, span_id, parent_span_id, service, operation, span_kind, start_time)
       VALUES ${valuesList(part.length, cols)}
       ON CONFLICT (trace_id, span_id) DO NOTHING`,
      part.flatMap((s) => [
        s.traceId,
        s.spanId,
        s.parentSpanId ? s.parentSpanId : null,
        s.service,
        s.operation,
        s.spanKind,
        s.start,
      ]),
    );
  }
}

export interface ResolveOptions {
  /**
   * How long a child waits for its parent span to arrive before it is counted as a root edge, and how long resolved
   * spans stay buffered so late children can still find them. Default 5 minutes.
   */
  readonly horizonMs?: number;
  /** Reference time for the horizon. Default: the newest buffered span's start (works for replays too). */
  readonly now?: Date;
}

export interface ResolveReport {
  /** Child spans turned into edge counts. */
  readonly resolved: number;
  /** Buffered spans dropped. */
  readonly deleted: number;
}

/**
 * Turn buffered spans into call-graph edge counts. A span whose parent is buffered yields the edge
 * parent(service, operation) -> child(service, operation); a span with no parent, or whose parent did not arrive
 * within the horizon, yields a root edge ('' , '') -> child. Each span is counted once. Resolved spans older than the
 * horizon are then deleted.
 */
export async function resolveEdges(db: SqlExecutor, options: ResolveOptions = {}): Promise<ResolveReport> {
  const horizonMs = options.horizonMs ?? 5 * 60_000;
  if (!(horizonMs >= 0)) throw new Error('resolveEdges: horizonMs must be >= 0');
  const ref = await db.query<{ ref: unknown }>(
    'SELECT COALESCE($1::timestamptz, (SELECT max(start_time) FROM spans_recent)) AS ref',
    [options.now ?? null],
  );
  const refValue = ref.rows[0]?.ref;
  if (refValue === null || refValue === undefined) return { resolved: 0, deleted: 0 };
  const cutoff = new Date(new Date(iso(refValue)).getTime() - horizonMs);

  const res = await db.query<{ n: unknown }>(
    `WITH cand AS (
       SELECT c.trace_id, c.span_id, c.service, c.operation, c.span_kind, c.start_time,
              p.service AS p_service, p.operation AS p_operation
       FROM spans_recent c
       LEFT JOIN spans_recent p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
       WHERE NOT c.resolved
         AND (c.parent_span_id IS NULL OR p.span_id IS NOT NULL OR c.start_time < $1::timestamptz)
     ), marked AS (
       UPDATE spans_recent s SET resolved = true
       FROM cand
       WHERE s.trace_id = cand.trace_id AND s.span_id = cand.span_id AND NOT s.resolved
       RETURNING cand.service, cand.operation, cand.span_kind, cand.start_time,
                 COALESCE(cand.p_service, '') AS p_service, COALESCE(cand.p_operation, '') AS p_operation
     ), agg AS (
       SELECT service, operation, max(span_kind) AS span_kind, p_service, p_operation,
              count(*) AS n, min(start_time) AS first_seen, max(start_time) AS last_seen
       FROM marked GROUP BY service, operation, p_service, p_operation
     ), ins AS (
       INSERT INTO span_edges AS e
         (service, operation, span_kind, parent_service, parent_operation, count, first_seen, last_seen)
       SELECT service, operation, span_kind, p_service, p_operation, n, first_seen, last_seen FROM agg
       ON CONFLICT (service, operation, parent_service, parent_operation) DO UPDATE SET
         count = e.count + EXCLUDED.count,
         span_kind = EXCLUDED.span_kind,
         first_seen = LEAST(e.first_seen, EXCLUDED.first_seen),
         last_seen = GREATEST(e.last_seen, EXCLUDED.last_seen)
       RETURNING 1
     )
     SELECT COALESCE((SELECT sum(n) FROM agg), 0) AS n, (SELECT count(*) FROM ins) AS edges`,
    [cutoff],
  );
  const del = await db.query('DELETE FROM spans_recent WHERE resolved AND start_time < $1::timestamptz', [
    cutoff,
  ]);
  return { resolved: num(res.rows[0]?.n ?? 0), deleted: del.rowCount };
}

/** A stored call-graph edge: the core's SpanEdge plus when it was seen. */
export interface EdgeRow extends SpanEdge {
  readonly firstSeen: string;
  readonly lastSeen: string;
}

export async function loadEdges(
  db: SqlExecutor,
  filter: { readonly services?: readonly string[] } = {},
): Promise<EdgeRow[]> {
  const r = await db.query<Record<string, unknown>>(
    `SELECT service, operation, span_kind, parent_service, parent_operation, count, first_seen, last_seen
     FROM span_edges
     WHERE $1::text[] IS NULL OR service = ANY($1::text[]) OR parent_service = ANY($1::text[])
     ORDER BY parent_service, parent_operation, service, operation`,
    [filter.services ? [...filter.services] : null],
  );
  return r.rows.map((x) => ({
    service: String(x.service),
    operation: String(x.operation),
    spanKind: num(x.span_kind),
    parentService: String(x.parent_service),
    parentOperation: String(x.parent_operation),
    count: num(x.count),
    firstSeen: iso(x.first_seen),
    lastSeen: iso(x.last_seen),
  }));
}

// ---- recommendations, journeys, SLO definitions --------------------------------------------------------------------

export async function saveRecommendations(db: SqlExecutor, rec: Recommendations): Promise<void> {
  await db.query(
    `INSERT INTO recommendations (request_id, generated_at, doc) VALUES ($1, $2::timestamptz, $3::jsonb)
     ON CONFLICT (request_id) DO UPDATE SET generated_at = EXCLUDED.generated_at, doc = EXCLUDED.doc`,
    [rec.request_id, rec.generated_at, JSON.stringify(rec)],
  );
}

export async function latestRecommendations(db: SqlExecutor): Promise<Recommendations | null> {
  const r = await db.query<{ doc: unknown }>(
    'SELECT doc FROM recommendations ORDER BY generated_at DESC, request_id DESC LIMIT 1',
  );
  const row = r.rows[0];
  return row ? (json(row.doc) as Recommendations) : null;
}

export async function getRecommendations(
  db: SqlExecutor,
  requestId: string,
): Promise<Recommendations | null> {
  const r = await db.query<{ doc: unknown }>('SELECT doc FROM recommendations WHERE request_id = $1', [
    requestId,
  ]);
  const row = r.rows[0];
  return row ? (json(row.doc) as Recommendations) : null;
}

export interface JourneyRow {
  readonly id: string;
  readonly name: string;
  readonly service: string;
  readonly entrypoint: string;
  readonly kind: string;
  readonly criticality: string;
  /** The full journey document (e.g. a JourneyRec). */
  readonly doc: Readonly<Record<string, unknown>>;
}

export async function upsertJourneys(db: SqlExecutor, journeys: readonly JourneyRow[]): Promise<void> {
  for (const j of journeys) {
    await db.query(
      `INSERT INTO journeys (id, name, service, entrypoint, kind, criticality, updated_at, doc)
       VALUES ($1, $2, $3, $4, $5, $6, now(), $7::jsonb)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, service = EXCLUDED.service,
         entrypoint = EXCLUDED.entrypoint, kind = EXCLUDED.kind, criticality = EXCLUDED.criticality,
         updated_at = now(), doc = EXCLUDED.doc`,
      [j.id, j.name, j.service, j.entrypoint, j.kind, j.criticality, JSON.stringify(j.doc)],
    );
  }
}

export async function loadJourneys(
  db: SqlExecutor,
): Promise<(JourneyRow & { readonly updatedAt: string })[]> {
  const r = await db.query<Record<string, unknown>>(
    'SELECT id, name, service, entrypoint, kind, criticality, updated_at, doc FROM journeys ORDER BY id',
  );
  return r.rows.map((x) => ({
    id: String(x.id),
    name: String(x.name),
    service: String(x.service),
    entrypoint: String(x.entrypoint),
    kind: String(x.kind),
    criticality: String(x.criticality),
    updatedAt: iso(x.updated_at),
    doc: json(x.doc) as Record<string, unknown>,
  }));
}

export type ApprovalState = 'proposed' | 'approved' | 'rejected' | 'deployed';

export interface SloDefinition {
  readonly id: string;
  readonly journeyId: string;
  readonly sliKind: string;
  readonly objective: number;
  readonly window: string;
  readonly spec: Readonly<Record<string, unknown>>;
}

export interface SloDefinitionRow extends SloDefinition {
  readonly version: number;
  readonly approvalState: ApprovalState;
  readonly createdAt: string;
}

/** Store a new version of an SLO definition (version = previous + 1, state 'proposed'); returns the version. */
export async function proposeSloDefinition(db: SqlExecutor, def: SloDefinition): Promise<number> {
  const r = await db.query<{ version: unknown }>(
    `INSERT INTO slo_definitions (id, version, journey_id, sli_kind, objective, "window", spec, approval_state)
     SELECT $1, COALESCE(max(version), 0) + 1, $2, $3, $4, $5, $6::jsonb, 'proposed'
     FROM slo_definitions WHERE id = $1
     RETURNING version`,
    [def.id, def.journeyId, def.sliKind, def.objective, def.window, JSON.stringify(def.spec)],
  );
  return num(r.rows[0]?.version);
}

/**
 * Move an SLO definition version to `state`. With `actor`, the approval metadata is set (approved_by/approved_at for
 * 'approved' and 'deployed') and the change is written to the audit log in the same statement batch.
 */
export async function setSloApproval(
  db: SqlExecutor,
  id: string,
  version: number,
  state: ApprovalState,
  actor?: string,
): Promise<boolean> {
  return setApproval(db, 'slo_definitions', id, version, state, actor);
}

async function setApproval(
  db: SqlExecutor,
  table: 'slo_definitions' | 'sli_definitions',
  id: string,
  version: number,
  state: ApprovalState,
  actor: string | undefined,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE ${table} SET approval_state = $3,
       approved_by = CASE WHEN $3 IN ('approved', 'deployed') THEN COALESCE($4, approved_by) ELSE approved_by END,
       approved_at = CASE WHEN $3 IN ('approved', 'deployed') AND $4::text IS NOT NULL THEN now() ELSE approved_at END
     WHERE id = $1 AND version = $2`,
    [id, version, state, actor ?? null],
  );
  if (r.rowCount > 0 && actor !== undefined) {
    await audit(db, {
      actor,
      action: `${table === 'slo_definitions' ? 'slo' : 'sli'}.${state}`,
      subject: `${id}@${version}`,
    });
  }
  return r.rowCount > 0;
}

export interface SliDefinition {
  readonly id: string;
  readonly journeyId: string;
  readonly kind: string;
  /** The knowledge-base pattern it came from, when any. */
  readonly patternId?: string;
  readonly goodQuery: string;
  readonly totalQuery: string;
  readonly spec?: Readonly<Record<string, unknown>>;
}

export interface SliDefinitionRow extends Required<Omit<SliDefinition, 'patternId'>> {
  readonly patternId: string | null;
  readonly version: number;
  readonly approvalState: ApprovalState;
  readonly approvedBy: string | null;
  readonly createdAt: string;
}

/** Store a new version of an SLI definition (version = previous + 1, state 'proposed'); returns the version. */
export async function proposeSliDefinition(db: SqlExecutor, def: SliDefinition): Promise<number> {
  const r = await db.query<{ version: unknown }>(
    `INSERT INTO sli_definitions (id, version, journey_id, kind, pattern_id, good_query, total_query, spec)
     SELECT $1, COALESCE(max(version), 0) + 1, $2, $3, $4, $5, $6, $7::jsonb
     FROM sli_definitions WHERE id = $1
     RETURNING version`,
    [
      def.id,
      def.journeyId,
      def.kind,
      def.patternId ?? null,
      def.goodQuery,
      def.totalQuery,
      JSON.stringify(def.spec ?? {}),
    ],
  );
  return num(r.rows[0]?.version);
}

export async function setSliApproval(
  db: SqlExecutor,
  id: string,
  version: number,
  state: ApprovalState,
  actor?: string,
): Promise<boolean> {
  return setApproval(db, 'sli_definitions', id, version, state, actor);
}

/** Every version of one SLI definition, newest first. */
export async function sliDefinitionHistory(db: SqlExecutor, id: string): Promise<SliDefinitionRow[]> {
  const r = await db.query<Record<string, unknown>>(
    `SELECT id, version, journey_id, kind, pattern_id, good_query, total_query, spec, approval_state, approved_by,
            created_at
     FROM sli_definitions WHERE id = $1 ORDER BY version DESC`,
    [id],
  );
  return r.rows.map((x) => ({
    id: String(x.id),
    version: num(x.version),
    journeyId: String(x.journey_id),
    kind: String(x.kind),
    patternId: (x.pattern_id as string | null) ?? null,
    goodQuery: String(x.good_query),
    totalQuery: String(x.total_query),
    spec: json(x.spec) as Record<string, unknown>,
    approvalState: x.approval_state as ApprovalState,
    approvedBy: (x.approved_by as string | null) ?? null,
    createdAt: iso(x.created_at),
  }));
}

/** The newest version of each SLO definition (optionally for one journey). */
export async function latestSloDefinitions(
  db: SqlExecutor,
  filter: { readonly journeyId?: string } = {},
): Promise<SloDefinitionRow[]> {
  const r = await db.query<Record<string, unknown>>(
    `SELECT DISTINCT ON (id) id, version, journey_id, sli_kind, objective, "window", spec, approval_state, created_at
     FROM slo_definitions WHERE $1::text IS NULL OR journey_id = $1
     ORDER BY id, version DESC`,
    [filter.journeyId ?? null],
  );
  return r.rows.map((x) => ({
    id: String(x.id),
    version: num(x.version),
    journeyId: String(x.journey_id),
    sliKind: String(x.sli_kind),
    objective: num(x.objective),
    window: String(x.window),
    spec: json(x.spec) as Record<string, unknown>,
    approvalState: x.approval_state as ApprovalState,
    createdAt: iso(x.created_at),
  }));
}

// ---- artifacts, policy, audit --------------------------------------------------------------------------------------

export async function saveArtifactSet(db: SqlExecutor, set: ArtifactSet): Promise<void> {
  await db.query(
    `INSERT INTO artifact_sets (id, request_id, generated_at, files) VALUES ($1, $2, $3::timestamptz, $4::jsonb)
     ON CONFLICT (id) DO UPDATE SET request_id = EXCLUDED.request_id, generated_at = EXCLUDED.generated_at,
       files = EXCLUDED.files`,
    [set.id, set.request_id, set.generated_at, JSON.stringify(set.files)],
  );
}

export async function getArtifactSet(db: SqlExecutor, id: string): Promise<ArtifactSet | null> {
  const r = await db.query<{ id: string; request_id: string; generated_at: unknown; files: unknown }>(
    'SELECT id, request_id, generated_at, files FROM artifact_sets WHERE id = $1',
    [id],
  );
  const row = r.rows[0];
  if (!row) return null;
  return {
    id: row.id,
    request_id: row.request_id,
    generated_at: iso(row.generated_at),
    files: json(row.files) as ArtifactSet['files'],
  };
}

export async function savePolicyDecision(db: SqlExecutor, d: PolicyDecision): Promise<void> {
  await db.query(
    `INSERT INTO policy_decisions (artifact_set_id, decision, reasons, evaluated_at, policy_version)
     VALUES ($1, $2, $3::jsonb, $4::timestamptz, $5)
     ON CONFLICT (artifact_set_id, evaluated_at) DO UPDATE SET decision = EXCLUDED.decision,
       reasons = EXCLUDED.reasons, policy_version = EXCLUDED.policy_version`,
    [d.artifact_set_id, d.decision, JSON.stringify(d.reasons), d.evaluated_at, d.policy_version],
  );
}

export async function latestPolicyDecision(
  db: SqlExecutor,
  artifactSetId: string,
): Promise<PolicyDecision | null> {
  const r = await db.query<Record<string, unknown>>(
    `SELECT artifact_set_id, decision, reasons, evaluated_at, policy_version FROM policy_decisions
     WHERE artifact_set_id = $1 ORDER BY evaluated_at DESC LIMIT 1`,
    [artifactSetId],
  );
  const row = r.rows[0];
  if (!row) return null;
  return {
    artifact_set_id: String(row.artifact_set_id),
    decision: row.decision as PolicyDecision['decision'],
    reasons: json(row.reasons) as PolicyDecision['reasons'],
    evaluated_at: iso(row.evaluated_at),
    policy_version: String(row.policy_version),
  };
}

export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export async function audit(db: SqlExecutor, entry: AuditEntry): Promise<void> {
  await db.query('INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1, $2, $3, $4::jsonb)', [
    entry.actor,
    entry.action,
    entry.subject,
    JSON.stringify(entry.detail ?? {}),
  ]);
}

export async function loadAudit(
  db: SqlExecutor,
  filter: { readonly subject?: string; readonly limit?: number } = {},
): Promise<(Required<AuditEntry> & { readonly id: number; readonly at: string })[]> {
  const r = await db.query<Record<string, unknown>>(
    `SELECT id, at, actor, action, subject, detail FROM audit_log
     WHERE $1::text IS NULL OR subject = $1 ORDER BY id DESC LIMIT $2`,
    [filter.subject ?? null, filter.limit ?? 100],
  );
  return r.rows.map((x) => ({
    id: num(x.id),
    at: iso(x.at),
    actor: String(x.actor),
    action: String(x.action),
    subject: String(x.subject),
    detail: json(x.detail) as Record<string, unknown>,
  }));
}

// ---- idempotent consumers ------------------------------------------------------------------------------------------

/** Record that `stage` handled `eventId`; true the first time, false for a re-delivery. */
export async function markProcessed(db: SqlExecutor, stage: string, eventId: string): Promise<boolean> {
  const r = await db.query(
    'INSERT INTO processed_events (stage, event_id) VALUES ($1, $2) ON CONFLICT (stage, event_id) DO NOTHING RETURNING 1',
    [stage, eventId],
  );
  return r.rows.length === 1;
}

/** Forget processed-event ids older than `before`; returns how many were removed. */
export async function pruneProcessed(db: SqlExecutor, before: Date): Promise<number> {
  const r = await db.query('DELETE FROM processed_events WHERE at < $1::timestamptz', [
    validDate(before, 'pruneProcessed'),
  ]);
  return r.rowCount;
}

// ---- embedding cache -----------------------------------------------------------------------------------------------

/** Which of `hashes` were already embedded (by `model`, when given). */
export async function embeddingCacheHas(
  db: SqlExecutor,
  hashes: readonly string[],
  model?: string,
): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const r = await db.query<{ content_hash: string }>(
    'SELECT content_hash FROM embedding_cache WHERE content_hash = ANY($1::text[]) AND ($2::text IS NULL OR model = $2)',
    [[...new Set(hashes)], model ?? null],
  );
  return new Set(r.rows.map((x) => x.content_hash));
}

export async function embeddingCachePut(
  db: SqlExecutor,
  hashes: readonly string[],
  meta: { readonly model: string; readonly dim: number },
): Promise<void> {
  for (const part of chunks([...new Set(hashes)])) {
    await db.query(
      `INSERT INTO embedding_cache (content_hash, model, dim) VALUES ${valuesList(part.length, ['text', 'text', 'int4'])}
       ON CONFLICT (content_hash) DO UPDATE SET model = EXCLUDED.model, dim = EXCLUDED.dim, created_at = now()`,
      part.flatMap((h) => [h, meta.model, meta.dim]),
    );
  }
}
