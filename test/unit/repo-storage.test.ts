/**
 * The plain-PostgreSQL rollup layout on PGlite: monthly partitions created on demand and ahead, stray rows moved out
 * of the default partition, retention by dropping partitions, the trigger-maintained hourly table, and the upgrade of
 * a database whose rollups table predates the layout.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../adapters/db/migrations.js';
import { PgliteDatabase, type PgliteInstance } from '../../adapters/db/pglite.js';
import { addRollups, loadRollupSeries, loadRollups, maintainRollupStorage } from '../../adapters/db/repo.js';
import type { Rollup } from '../../events/schemas.js';

const open: PgliteDatabase[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

function rollup(minute: string, count = 1, key = 'GET /p'): Rollup {
  return {
    minute,
    service: 'part',
    kind: 'operation',
    key,
    count,
    errors: 0,
    sum_ms: count,
    latency: { bounds_ms: [100], counts: [count, 0] },
  };
}

async function partitions(db: PgliteDatabase): Promise<string[]> {
  const r = await db.query<{ relname: string }>(
    `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'rollups'::regclass ORDER BY 1`,
  );
  return r.rows.map((x) => x.relname);
}

describe('plain rollup layout (PGlite)', () => {
  it('partitions rollups by month, creating partitions for the data written and ahead of now', async () => {
    const db = await PgliteDatabase.open();
    open.push(db);
    await db.migrate();
    const kind = await db.query<{ relkind: string }>(
      "SELECT relkind FROM pg_class WHERE relname = 'rollups'",
    );
    expect(kind.rows[0]?.relkind).toBe('p');
    await addRollups(db, [rollup('2021-03-31T23:59:00Z'), rollup('2021-05-01T00:00:00Z')]);
    const parts = await partitions(db);
    expect(parts).toEqual(expect.arrayContaining(['rollups_202103', 'rollups_202104', 'rollups_202105']));
    expect(parts).toContain('rollups_default');
    const ahead = await maintainRollupStorage(db, { now: new Date('2031-01-15T00:00:00Z'), monthsAhead: 2 });
    expect(ahead.partitionsCreated).toBe(3);
    expect(await partitions(db)).toEqual(expect.arrayContaining(['rollups_203101', 'rollups_203103']));
    // the 2021 partitions are older than 90 days at that reference time: dropped, their minutes gone
    expect(ahead.partitionsDropped).toBeGreaterThanOrEqual(3);
    expect(await loadRollups(db, { start: new Date('2021-01-01'), end: new Date('2022-01-01') })).toEqual([]);
    // hourly rollups are kept longer (400 days by default) -- here they are older than that too
    expect(
      await loadRollupSeries(db, { start: new Date('2021-01-01'), end: new Date('2022-01-01') }),
    ).toEqual([]);
  });

  it('moves rows out of the default partition when their month gets a partition, without double counting', async () => {
    const db = await PgliteDatabase.open();
    open.push(db);
    await db.migrate();
    // written behind the repository's back: lands in the default partition
    await db.query(
      `INSERT INTO rollups (minute, service, kind, key, count, errors, sum_ms, bounds_ms, buckets)
       VALUES ('2040-02-03T04:05:00Z', 'part', 'operation', 'GET /p', 5, 0, 5, '{100}', '{5,0}')`,
    );
    const inDefault = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM rollups_default');
    expect(inDefault.rows[0]?.n).toBe(1);
    await addRollups(db, [rollup('2040-02-03T04:05:00Z', 2)]);
    expect(await partitions(db)).toContain('rollups_204002');
    const left = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM rollups_default');
    expect(left.rows[0]?.n).toBe(0);
    const [row] = await loadRollups(db, { start: new Date('2040-02-01'), end: new Date('2040-03-01') });
    expect(row?.count).toBe(7);
    const [hour] = await loadRollupSeries(db, { start: new Date('2040-02-01'), end: new Date('2040-03-01') });
    expect(hour).toMatchObject({ minute: '2040-02-03T04:00:00.000Z', count: 7, latency: { counts: [7, 0] } });
  });

  it('upgrades an existing unpartitioned rollups table, keeping its rows and filling the hourly table', async () => {
    const instance = new PGlite() as unknown as PgliteInstance;
    const base = MIGRATIONS.filter((m) => m.id < '010' && m.requires === undefined);
    for (const m of base) await instance.exec(m.sql);
    await instance.exec(
      `CREATE TABLE schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO schema_migrations (id) VALUES ${base.map((m) => `('${m.id}')`).join(',')};`,
    );
    await instance.exec(
      `INSERT INTO rollups (minute, service, kind, key, count, errors, sum_ms, bounds_ms, buckets)
       SELECT t, 'old', 'operation', 'GET /old', 2, 1, 20, '{100}', '{2,0}'
       FROM generate_series(TIMESTAMPTZ '2022-01-31T23:00:00Z', TIMESTAMPTZ '2022-02-01T00:59:00Z', INTERVAL '1 minute') t`,
    );
    const db = await PgliteDatabase.open({ instance });
    open.push(db);
    const report = await db.migrate();
    expect(report.applied).toContain('010_rollup_storage');
    const rows = await loadRollups(db, { start: new Date('2022-01-01'), end: new Date('2022-03-01') });
    expect(rows).toHaveLength(120);
    expect(await partitions(db)).toEqual(expect.arrayContaining(['rollups_202201', 'rollups_202202']));
    const series = await loadRollupSeries(db, {
      start: new Date('2022-01-31T00:00:00Z'),
      end: new Date('2022-02-02T00:00:00Z'),
      bucketHours: 24,
    });
    expect(series.map((s) => [s.minute, s.count, s.errors])).toEqual([
      ['2022-01-31T00:00:00.000Z', 120, 60],
      ['2022-02-01T00:00:00.000Z', 120, 60],
    ]);
  });
});
