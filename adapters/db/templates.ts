/**
 * Template-miner state shared through the database, so that parallel fingerprint instances and restarts agree on
 * template ids (tables from migration 100_template_state).
 *
 * - `pull` reads aliases and clusters written since this instance's cursor (`rev`) and folds them into the miner with
 *   `absorb` (in cluster-id order, so every replica applies remote state the same way). The first pull of a fresh
 *   miner is the restart path: it restores the whole state.
 * - `push` writes what the miner changed since the last push: under one transaction-scoped advisory lock (pushes are
 *   serialised, so `rev` values commit in order and an incremental pull never skips a row), stored rows are merged
 *   with the local state (`mergeClusterSnapshots`: a variable in either stays a variable), counts add the local delta,
 *   and the merged rows are absorbed back so this instance learns what others generalised. New aliases are inserted
 *   (first writer wins) and mark the old id `superseded_by` in `templates`.
 *
 * Counts are informational (the number of lines per cluster across replicas); a reconciliation merge may count a few
 * lines twice.
 */
import type { Database, SqlExecutor } from '../../core/ports.js';
import {
  mergeClusterSnapshots,
  type ClusterSnapshot,
  type TemplateMiner,
} from '../../core/fingerprint/index.js';

/** Arbitrary constant key for pg_advisory_xact_lock: serialises template-state pushes across instances. */
const PUSH_LOCK_KEY = 7_341_009_411;
const CHUNK = 200;

interface ClusterRow {
  cluster_id: string;
  tokens: unknown;
  split: unknown;
  issued: unknown;
  count: string | number;
  rev: string | number;
}

const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

function toSnapshot(r: ClusterRow): ClusterSnapshot {
  return {
    id: r.cluster_id,
    tokens: json<string[]>(r.tokens),
    split: json<[number, [string, number][] | null][]>(r.split),
    issued: json<[string, string[]][]>(r.issued),
    count: Number(r.count),
  };
}

export interface SyncReport {
  readonly clusters: number;
  readonly aliases: number;
}

export class SharedTemplateState {
  private cursor = 0;
  /** Local count of each cluster at its last push (or adoption): the next push adds only the difference. */
  private readonly pushedCount = new Map<string, number>();

  constructor(private readonly miner: TemplateMiner) {}

  /** Folds everything written since the last pull into the miner. */
  async pull(db: SqlExecutor): Promise<SyncReport> {
    const since = this.cursor;
    const aliases = await db.query<{ old_id: string; new_id: string; rev: string | number }>(
      'SELECT old_id, new_id, rev FROM template_aliases WHERE rev > $1 ORDER BY rev',
      [since],
    );
    const map: Record<string, string> = {};
    for (const a of aliases.rows) {
      map[a.old_id] = a.new_id;
      this.cursor = Math.max(this.cursor, Number(a.rev));
    }
    this.miner.adoptAliases(map);
    const rows = await db.query<ClusterRow>(
      `SELECT cluster_id, tokens, split, issued, count, rev FROM template_clusters WHERE rev > $1
       ORDER BY cluster_id`,
      [since],
    );
    for (const r of rows.rows) {
      const s = toSnapshot(r);
      if (!this.pushedCount.has(s.id) && this.miner.cluster(s.id) === undefined)
        this.pushedCount.set(s.id, s.count);
      this.miner.absorb(s);
      this.cursor = Math.max(this.cursor, Number(r.rev));
    }
    return { clusters: rows.rows.length, aliases: aliases.rows.length };
  }

  /** Writes the miner's changes since the last push; returns how many clusters and aliases were written. */
  async push(db: Database): Promise<SyncReport> {
    const dirty = this.miner.drainDirty();
    const aliases = Object.entries(this.miner.drainAliases());
    const dropped = this.miner.drainDropped();
    if (dirty.length === 0 && aliases.length === 0 && dropped.length === 0)
      return { clusters: 0, aliases: 0 };
    const merged = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [PUSH_LOCK_KEY]);
      const out: ClusterSnapshot[] = [];
      for (let i = 0; i < dirty.length; i += CHUNK)
        out.push(...(await this.pushClusters(tx, dirty.slice(i, i + CHUNK))));
      for (let i = 0; i < aliases.length; i += CHUNK) await pushAliases(tx, aliases.slice(i, i + CHUNK));
      // clusters merged into others: their aliases are stored, the state itself goes
      if (dropped.length > 0)
        await tx.query('DELETE FROM template_clusters WHERE cluster_id = ANY($1::text[])', [dropped]);
      return out;
    });
    for (const s of merged) this.miner.absorb(s);
    return { clusters: dirty.length, aliases: aliases.length };
  }

  private async pushClusters(tx: SqlExecutor, part: ClusterSnapshot[]): Promise<ClusterSnapshot[]> {
    const stored = await tx.query<ClusterRow>(
      `SELECT cluster_id, tokens, split, issued, count, rev FROM template_clusters
       WHERE cluster_id = ANY($1::text[]) FOR UPDATE`,
      [part.map((c) => c.id)],
    );
    const byId = new Map(stored.rows.map((r) => [r.cluster_id, toSnapshot(r)]));
    const rows: ClusterSnapshot[] = [];
    for (const local of part) {
      const delta = Math.max(0, local.count - (this.pushedCount.get(local.id) ?? 0));
      this.pushedCount.set(local.id, local.count);
      const cur = byId.get(local.id);
      const next = cur
        ? mergeClusterSnapshots(cur, local, this.miner.options.maxSplitValues)
        : { ...local, count: 0 };
      rows.push({ ...next, count: (cur?.count ?? 0) + delta });
    }
    const params: unknown[] = [];
    const values = rows.map((r) => {
      const b = params.length;
      params.push(
        r.id,
        r.tokens.length,
        JSON.stringify(r.tokens),
        JSON.stringify(r.split),
        JSON.stringify(r.issued),
        r.count,
      );
      return `($${b + 1}, $${b + 2}, $${b + 3}::jsonb, $${b + 4}::jsonb, $${b + 5}::jsonb, $${b + 6}, nextval('template_state_rev'), now())`;
    });
    await tx.query(
      `INSERT INTO template_clusters (cluster_id, length, tokens, split, issued, count, rev, updated_at)
       VALUES ${values.join(', ')}
       ON CONFLICT (cluster_id) DO UPDATE SET tokens = EXCLUDED.tokens, split = EXCLUDED.split,
         issued = EXCLUDED.issued, count = EXCLUDED.count, rev = EXCLUDED.rev, updated_at = EXCLUDED.updated_at`,
      params,
    );
    return rows;
  }
}

async function pushAliases(tx: SqlExecutor, part: [string, string][]): Promise<void> {
  await tx.query(
    `INSERT INTO template_aliases (old_id, new_id, rev)
     SELECT a.old_id, a.new_id, nextval('template_state_rev')
     FROM unnest($1::text[], $2::text[]) AS a(old_id, new_id)
     ON CONFLICT (old_id) DO NOTHING`,
    [part.map((a) => a[0]), part.map((a) => a[1])],
  );
  await tx.query(
    `UPDATE templates t SET superseded_by = a.new_id
     FROM unnest($1::text[], $2::text[]) AS a(old_id, new_id)
     WHERE t.template_id = a.old_id AND t.superseded_by IS DISTINCT FROM a.new_id`,
    [part.map((a) => a[0]), part.map((a) => a[1])],
  );
}

/** Every stored alias (old id -> current id), for readers that resolve ids outside a miner. */
export async function loadTemplateAliases(db: SqlExecutor): Promise<Record<string, string>> {
  const r = await db.query<{ old_id: string; new_id: string }>('SELECT old_id, new_id FROM template_aliases');
  return Object.fromEntries(r.rows.map((a) => [a.old_id, a.new_id]));
}
