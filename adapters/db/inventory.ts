/** Metric inventory persistence (table metric_inventory, created by the migrations in migrations.ts). */
import type { SqlExecutor } from '../../core/ports.js';
import type { MetricInventoryEntry } from '../../core/inventory.js';

export const METRIC_INVENTORY_SQL = `
CREATE TABLE IF NOT EXISTS metric_inventory (
  name text PRIMARY KEY,
  type text NOT NULL CHECK (type IN ('counter','histogram','gauge','summary')),
  labels text[] NOT NULL DEFAULT '{}',
  buckets double precision[],
  services text[] NOT NULL DEFAULT '{}',
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL
);`;

export async function upsertMetricInventory(
  db: SqlExecutor,
  entries: readonly MetricInventoryEntry[],
  at: Date,
): Promise<void> {
  for (const e of entries) {
    await db.query(
      `INSERT INTO metric_inventory (name, type, labels, buckets, services, first_seen, last_seen)
       VALUES ($1, $2, $3, $4, $5, $6, $6)
       ON CONFLICT (name) DO UPDATE SET
         labels = ARRAY(SELECT DISTINCT unnest(metric_inventory.labels || EXCLUDED.labels) ORDER BY 1),
         services = ARRAY(SELECT DISTINCT unnest(metric_inventory.services || EXCLUDED.services) ORDER BY 1),
         buckets = COALESCE(metric_inventory.buckets, EXCLUDED.buckets),
         last_seen = GREATEST(metric_inventory.last_seen, EXCLUDED.last_seen)`,
      [e.name, e.type, [...e.labels], e.buckets ? [...e.buckets] : null, [...e.services], at],
    );
  }
}

export async function loadMetricInventory(db: SqlExecutor): Promise<MetricInventoryEntry[]> {
  const r = await db.query<{
    name: string;
    type: MetricInventoryEntry['type'];
    labels: string[];
    buckets: number[] | null;
    services: string[];
  }>('SELECT name, type, labels, buckets, services FROM metric_inventory ORDER BY name');
  return r.rows.map((row) => ({
    name: row.name,
    type: row.type,
    labels: row.labels,
    ...(row.buckets ? { buckets: row.buckets.map(Number) } : {}),
    services: row.services,
  }));
}
