/**
 * The Database contract on the TimescaleDB layout, without a server: PGlite built with the TimescaleDB extension
 * (devDependency `pglite-timescaledb`, a PGlite 0.3 build carrying TimescaleDB 2.23 with the Timescale-licensed
 * features). Debian bookworm has no TimescaleDB package for the integration tier's PostgreSQL 15, so this is where
 * hypertables, the continuous aggregate, compression and retention policies are exercised for real.
 */
import { PGlite } from 'pglite-timescaledb';
import { timescaledb } from 'pglite-timescaledb/timescaledb';
import { vector } from 'pglite-timescaledb/vector';
import { describe, expect, it } from 'vitest';
import { PgliteDatabase, type PgliteInstance } from '../../adapters/db/pglite.js';
import { addRollups, loadRollupSeries, maintainRollupStorage } from '../../adapters/db/repo.js';
import { dbContract } from './db.contract.js';

export async function openTimescalePglite(): Promise<PgliteDatabase> {
  const instance = new PGlite({ extensions: { timescaledb, vector } }) as unknown as PgliteInstance;
  return PgliteDatabase.open({ instance });
}

dbContract('pglite with TimescaleDB', openTimescalePglite);

describe('TimescaleDB layout', () => {
  it('makes rollups a compressed hypertable with retention and a real-time hourly continuous aggregate', async () => {
    const db = await openTimescalePglite();
    try {
      expect((await db.features()).timescale).toBe(true);
      const report = await db.migrate();
      expect(report.applied).toEqual(
        expect.arrayContaining([
          '002_timescale_rollups',
          '010_rollup_storage',
          '011_timescale_rollup_policies',
        ]),
      );
      const ht = await db.query<{ compression_enabled: boolean }>(
        "SELECT compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_name = 'rollups'",
      );
      expect(ht.rows).toEqual([{ compression_enabled: true }]);
      const cagg = await db.query<{ materialized_only: boolean }>(
        "SELECT materialized_only FROM timescaledb_information.continuous_aggregates WHERE view_name = 'rollups_hourly'",
      );
      expect(cagg.rows).toEqual([{ materialized_only: false }]);
      const jobs = await db.query<{ proc_name: string }>(
        `SELECT proc_name FROM timescaledb_information.jobs
         WHERE proc_name LIKE 'policy%' AND proc_name <> 'policy_job_stat_history_retention'
         ORDER BY proc_name`,
      );
      expect(jobs.rows.map((r) => r.proc_name)).toEqual([
        'policy_compression',
        'policy_refresh_continuous_aggregate',
        'policy_retention',
        'policy_retention',
      ]);

      // Rows land in chunks; the hourly series (real-time aggregation) sees them before any refresh.
      await addRollups(db, [
        {
          minute: '2024-05-01T10:01:00Z',
          service: 'ts',
          kind: 'operation',
          key: 'GET /a',
          count: 4,
          errors: 1,
          sum_ms: 40,
          latency: { bounds_ms: [10, 100], counts: [1, 3, 0] },
        },
        {
          minute: '2024-05-01T10:59:00Z',
          service: 'ts',
          kind: 'operation',
          key: 'GET /a',
          count: 2,
          errors: 0,
          sum_ms: 300,
          latency: { bounds_ms: [10, 100], counts: [0, 0, 2] },
        },
      ]);
      const series = await loadRollupSeries(db, {
        start: new Date('2024-05-01T00:00:00Z'),
        end: new Date('2024-05-02T00:00:00Z'),
        services: ['ts'],
      });
      expect(series).toEqual([
        {
          minute: '2024-05-01T10:00:00.000Z',
          service: 'ts',
          kind: 'operation',
          key: 'GET /a',
          count: 6,
          errors: 1,
          sum_ms: 340,
          latency: { bounds_ms: [10, 100], counts: [1, 3, 2] },
        },
      ]);
      // after materialising, the same query answers from the aggregate
      await db.query("CALL refresh_continuous_aggregate('rollups_hourly', NULL, NULL)");
      expect(
        await loadRollupSeries(db, {
          start: new Date('2024-05-01T00:00:00Z'),
          end: new Date('2024-05-02T00:00:00Z'),
          services: ['ts'],
        }),
      ).toEqual(series);
      expect(await maintainRollupStorage(db)).toEqual({ partitionsCreated: 0, partitionsDropped: 0 });
    } finally {
      await db.close();
    }
  });
});
