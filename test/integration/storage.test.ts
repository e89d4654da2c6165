/**
 * Integration tier: the plain-PostgreSQL rollup layout on a real server (no TimescaleDB package exists for the
 * integration tier's PostgreSQL 15 on Debian bookworm; the TimescaleDB layout is covered by
 * test/contracts/db.timescale.memory.test.ts): monthly partitions, partition pruning for range reads, the hourly table.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../adapters/db/postgres.js';
import { addRollups, loadRollupSeries, maintainRollupStorage } from '../../adapters/db/repo.js';
import type { Rollup } from '../../events/schemas.js';
import { adminQuery, withSearchPath } from '../support/pg.js';
import { assertReachable, requireService } from './services.js';

const schema = `storage_${randomBytes(5).toString('hex')}`;
let db: PgDatabase;
let url: string;

beforeAll(async () => {
  await assertReachable('postgres');
  url = requireService('postgres');
  await adminQuery(url, `CREATE SCHEMA ${schema}`);
  db = new PgDatabase({ connectionString: withSearchPath(url, schema), max: 2 });
});

afterAll(async () => {
  await db?.close();
  await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

describe('rollup storage on PostgreSQL', () => {
  it('partitions by month, prunes partitions for range reads and serves series from rollups_hourly', async () => {
    await db.migrate();
    const features = await db.features();
    const kind = await db.query<{ relkind: string }>(
      `SELECT relkind FROM pg_class WHERE oid = to_regclass('rollups')`,
    );
    expect(kind.rows[0]?.relkind).toBe(features.timescale ? 'r' : 'p');
    const rows: Rollup[] = [];
    for (let d = 0; d < 70; d += 1) {
      rows.push({
        minute: new Date(Date.UTC(2024, 0, 1) + d * 86_400_000 + 5 * 60_000).toISOString(),
        service: 'pg',
        kind: 'operation',
        key: 'GET /r',
        count: 10,
        errors: 1,
        sum_ms: 50,
        latency: { bounds_ms: [100], counts: [9, 1] },
      });
    }
    await addRollups(db, rows);
    const parts = await db.query<{ relname: string }>(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = to_regclass('rollups') ORDER BY 1`,
    );
    expect(parts.rows.map((r) => r.relname)).toEqual(
      expect.arrayContaining(['rollups_202401', 'rollups_202402', 'rollups_202403', 'rollups_default']),
    );
    const plan = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT * FROM rollups WHERE minute >= '2024-02-01T00:00:00Z' AND minute < '2024-02-10T00:00:00Z'`,
    );
    const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('rollups_202402');
    expect(text).not.toContain('rollups_202401');
    const daily = await loadRollupSeries(db, {
      start: new Date('2024-02-01T00:00:00Z'),
      end: new Date('2024-02-08T00:00:00Z'),
      bucketHours: 24,
    });
    expect(daily.map((r) => r.count)).toEqual([10, 10, 10, 10, 10, 10, 10]);
    const upkeep = await maintainRollupStorage(db, {
      now: new Date('2024-06-15T00:00:00Z'),
      rawRetentionDays: 120,
    });
    expect(upkeep.partitionsDropped).toBe(1); // January 2024 ended more than 120 days before June 15
  });
});
