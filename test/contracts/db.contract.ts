/**
 * Contract for the Database port: run against PGlite (unit tier) and PostgreSQL (integration tier).
 * `make` must return a database whose schema starts empty (a fresh PGlite, or a fresh schema on PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError, type Database } from '../../core/ports.js';
import { MIGRATIONS } from '../../adapters/db/migrations.js';
import {
  addRollups,
  audit,
  getArtifactSet,
  latestRecommendations,
  loadRollups,
  loadTemplates,
  markProcessed,
  savePolicyDecision,
  latestPolicyDecision,
  saveArtifactSet,
  saveRecommendations,
  upsertTemplates,
  addSpans,
  resolveEdges,
  loadEdges,
  loadRollupSeries,
  maintainRollupStorage,
  proposeSliDefinition,
  setSliApproval,
  sliDefinitionHistory,
  loadAudit,
} from '../../adapters/db/repo.js';
import type { ArtifactSet, Recommendations, Rollup } from '../../events/schemas.js';

export function dbContract(name: string, make: () => Promise<Database>, cleanup?: () => Promise<void>): void {
  describe(`Database contract: ${name}`, () => {
    let db: Database;

    beforeAll(async () => {
      db = await make();
    });
    afterAll(async () => {
      await db?.close();
      await cleanup?.();
    });

    it('migrates idempotently and reports skipped migrations on the second run', async () => {
      const first = await db.migrate();
      expect(first.applied).toContain('001_base');
      const second = await db.migrate();
      expect(second.applied).toEqual([]);
      expect(second.skipped).toEqual(MIGRATIONS.map((m) => m.id));
      const ledger = await db.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id');
      expect(ledger.rows.map((r) => r.id)).toEqual(first.applied);
      const features = await db.features();
      if (!features.timescale) expect(first.applied).not.toContain('002_timescale_rollups');
      else expect(first.applied).toContain('002_timescale_rollups');
    });

    it('tryLock: one holder per name until it releases; names are independent', async () => {
      const a = await db.tryLock('contract-lock');
      expect(a).not.toBeNull();
      expect(await a!.held()).toBe(true);
      expect(await db.tryLock('contract-lock')).toBeNull();
      const other = await db.tryLock('contract-lock-2');
      expect(other).not.toBeNull();
      await a!.release();
      expect(await a!.held()).toBe(false);
      const b = await db.tryLock('contract-lock');
      expect(b).not.toBeNull();
      await b!.release();
      await other!.release();
      await a!.release(); // idempotent
    });

    it('reports features as booleans', async () => {
      const f = await db.features();
      expect(typeof f.timescale).toBe('boolean');
      expect(typeof f.vector).toBe('boolean');
    });

    it('binds $n parameters and maps types the same way on every adapter', async () => {
      const r = await db.query<{ s: number; big: number; t: Date; j: unknown; arr: number[]; txt: string }>(
        `SELECT $1::int + $2::int AS s, 5000000000::bigint AS big, $3::timestamptz AS t, $4::jsonb AS j,
                ARRAY[1, 2]::bigint[] AS arr, $5::text AS txt`,
        [2, 3, '2024-05-01T10:00:00Z', JSON.stringify({ a: [1, 'x'] }), "it's"],
      );
      expect(r.rowCount).toBe(1);
      const row = r.rows[0]!;
      expect(row.s).toBe(5);
      expect(row.big).toBe(5_000_000_000);
      expect(row.t).toBeInstanceOf(Date);
      expect(row.t.toISOString()).toBe('2024-05-01T10:00:00.000Z');
      expect(row.j).toEqual({ a: [1, 'x'] });
      expect(row.arr).toEqual([1, 2]);
      expect(row.txt).toBe("it's");
    });

    it('reports affected rows for DML', async () => {
      await db.query('CREATE TABLE IF NOT EXISTS contract_scratch (k text PRIMARY KEY, v int)');
      const ins = await db.query("INSERT INTO contract_scratch VALUES ('a', 1), ('b', 2), ('c', 3)");
      expect(ins.rowCount).toBe(3);
      const upd = await db.query('UPDATE contract_scratch SET v = v + 1 WHERE v >= $1', [2]);
      expect(upd.rowCount).toBe(2);
      const none = await db.query("DELETE FROM contract_scratch WHERE k = 'zzz'");
      expect(none.rowCount).toBe(0);
    });

    it('throws plain errors (not UnavailableError) for bad SQL', async () => {
      const e = await db.query('SELECT * FROM no_such_table_here').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Error);
      expect(e).not.toBeInstanceOf(UnavailableError);
      // the connection is still usable afterwards
      expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    });

    it('commits a transaction and returns its value', async () => {
      const out = await db.transaction(async (tx) => {
        await audit(tx, { actor: 'contract', action: 'commit', subject: 'tx-commit', detail: { n: 1 } });
        return 42;
      });
      expect(out).toBe(42);
      const r = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_log WHERE subject = 'tx-commit'",
      );
      expect(r.rows[0]?.n).toBe(1);
    });

    it('rolls a transaction back when the callback throws', async () => {
      const boom = new Error('boom');
      await expect(
        db.transaction(async (tx) => {
          await audit(tx, { actor: 'contract', action: 'rollback', subject: 'tx-rollback' });
          const inside = await tx.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM audit_log WHERE subject = 'tx-rollback'",
          );
          expect(inside.rows[0]?.n).toBe(1);
          throw boom;
        }),
      ).rejects.toBe(boom);
      const r = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_log WHERE subject = 'tx-rollback'",
      );
      expect(r.rows[0]?.n).toBe(0);
    });

    it('round-trips templates, rollups, recommendations, artifacts, policy decisions and processed ids', async () => {
      const at = new Date('2024-05-01T10:00:30Z');
      await upsertTemplates(db, [
        { templateId: 't-1', service: 'checkout', kind: 'log', template: 'paid <*>', seenAt: at, count: 2 },
      ]);
      await upsertTemplates(db, [
        {
          templateId: 't-1',
          service: 'checkout',
          kind: 'log',
          template: 'paid <*>',
          seenAt: new Date(at.getTime() + 60_000),
          count: 3,
        },
      ]);
      const templates = await loadTemplates(db, { service: 'checkout' });
      expect(templates).toHaveLength(1);
      expect(templates[0]).toMatchObject({ templateId: 't-1', count: 5, firstSeen: at.toISOString() });

      const rollup: Rollup = {
        minute: '2024-05-01T10:00:00.000Z',
        service: 'checkout',
        kind: 'operation',
        key: 'POST /pay',
        count: 3,
        errors: 1,
        sum_ms: 30,
        latency: { bounds_ms: [10, 100], counts: [1, 2, 0] },
      };
      await addRollups(db, [rollup]);
      await addRollups(db, [
        { ...rollup, count: 2, errors: 0, sum_ms: 500, latency: { bounds_ms: [10, 100], counts: [0, 1, 1] } },
      ]);
      const rollups = await loadRollups(db, {
        start: new Date('2024-05-01T10:00:00Z'),
        end: new Date('2024-05-01T10:01:00Z'),
        services: ['checkout'],
      });
      expect(rollups).toEqual([
        { ...rollup, count: 5, errors: 1, sum_ms: 530, latency: { bounds_ms: [10, 100], counts: [1, 3, 1] } },
      ]);

      const rec: Recommendations = {
        schema_version: '1',
        request_id: 'req-contract',
        generated_at: '2024-05-01T11:00:00.000Z',
        window: { start: '2024-05-01T10:00:00.000Z', end: '2024-05-01T11:00:00.000Z' },
        journeys: [],
      };
      await saveRecommendations(db, rec);
      expect(await latestRecommendations(db)).toEqual(rec);

      const set: ArtifactSet = {
        id: 'as-contract',
        request_id: 'req-contract',
        generated_at: '2024-05-01T11:00:01.000Z',
        files: [{ path: 'rules/slo.yaml', media_type: 'application/yaml', content: 'groups: []\n' }],
      };
      await saveArtifactSet(db, set);
      expect(await getArtifactSet(db, 'as-contract')).toEqual(set);
      expect(await getArtifactSet(db, 'missing')).toBeNull();

      const decision = {
        artifact_set_id: 'as-contract',
        decision: 'warn' as const,
        reasons: [{ rule: 'r1', severity: 'warn' as const, message: 'hmm' }],
        evaluated_at: '2024-05-01T11:00:02.000Z',
        policy_version: 'v1',
      };
      await savePolicyDecision(db, decision);
      expect(await latestPolicyDecision(db, 'as-contract')).toEqual(decision);

      expect(await markProcessed(db, 'stage-a', 'evt-1')).toBe(true);
      expect(await markProcessed(db, 'stage-a', 'evt-1')).toBe(false);
      expect(await markProcessed(db, 'stage-b', 'evt-1')).toBe(true);
    });

    it('resolves span edges', async () => {
      const t = new Date('2024-05-01T10:00:00Z');
      await addSpans(db, [
        {
          traceId: 'ctr',
          spanId: 'a',
          parentSpanId: null,
          service: 'web',
          operation: 'GET /',
          spanKind: 2,
          start: t,
        },
        {
          traceId: 'ctr',
          spanId: 'b',
          parentSpanId: 'a',
          service: 'api',
          operation: 'GET /x',
          spanKind: 2,
          start: t,
        },
      ]);
      const rep = await resolveEdges(db);
      expect(rep.resolved).toBe(2);
      const edges = await loadEdges(db, { services: ['web', 'api'] });
      expect(edges.map((e) => [e.parentService, e.parentOperation, e.service, e.operation, e.count])).toEqual(
        [
          ['', '', 'web', 'GET /', 1],
          ['web', 'GET /', 'api', 'GET /x', 1],
        ],
      );
    });

    it('answers hourly and daily rollup series with the same query on every layout', async () => {
      const base = Date.parse('2024-06-30T22:00:00Z');
      const rows: Rollup[] = [];
      // 4 hours across a month boundary, 3 minutes per hour, two keys
      for (let h = 0; h < 4; h++) {
        for (let m = 0; m < 3; m++) {
          for (const key of ['GET /s1', 'GET /s2']) {
            rows.push({
              minute: new Date(base + h * 3_600_000 + m * 60_000).toISOString(),
              service: 'series',
              kind: 'operation',
              key,
              count: 10 + h,
              errors: key === 'GET /s1' ? 1 : 0,
              sum_ms: 100,
              latency: { bounds_ms: [50, 250], counts: [5, 5 + h, 0] },
            });
          }
        }
      }
      await addRollups(db, rows);
      // an upsert into an existing minute must reach the hourly series as a delta, not a second copy
      await addRollups(db, [
        { ...rows[0]!, count: 1, errors: 1, sum_ms: 7, latency: { bounds_ms: [50, 250], counts: [0, 0, 1] } },
      ]);
      const window = { start: new Date(base), end: new Date(base + 4 * 3_600_000), services: ['series'] };
      const hourly = await loadRollupSeries(db, window);
      expect(hourly).toHaveLength(8);
      expect(hourly[0]).toEqual({
        minute: '2024-06-30T22:00:00.000Z',
        service: 'series',
        kind: 'operation',
        key: 'GET /s1',
        count: 31,
        errors: 4,
        sum_ms: 307,
        latency: { bounds_ms: [50, 250], counts: [15, 15, 1] },
      });
      // every minute row is accounted for exactly once
      const minutes = await loadRollups(db, window);
      const total = (xs: readonly Rollup[]) => xs.reduce((a, r) => a + r.count, 0);
      expect(total(hourly)).toBe(total(minutes));
      const daily = await loadRollupSeries(db, { ...window, bucketHours: 24, keys: ['GET /s2'] });
      expect(daily.map((d) => [d.minute, d.count])).toEqual([
        ['2024-06-30T00:00:00.000Z', 63],
        ['2024-07-01T00:00:00.000Z', 75],
      ]);
      expect(await loadRollupSeries(db, { ...window, kind: 'template' })).toEqual([]);
      const upkeep = await maintainRollupStorage(db, { now: new Date('2024-07-02T00:00:00Z') });
      expect(upkeep.partitionsDropped).toBe(0);
      expect(await loadRollupSeries(db, window)).toEqual(hourly);
    });

    it('versions SLI definitions and records approvals in the audit log', async () => {
      const def = {
        id: 'sli-contract',
        journeyId: 'j-1',
        kind: 'availability',
        patternId: 'http.server.availability',
        goodQuery: 'sum(rate(x{code!~"5.."}[5m]))',
        totalQuery: 'sum(rate(x[5m]))',
      };
      expect(await proposeSliDefinition(db, def)).toBe(1);
      expect(await proposeSliDefinition(db, { ...def, goodQuery: 'sum(rate(y[5m]))' })).toBe(2);
      expect(await setSliApproval(db, 'sli-contract', 2, 'approved', 'alice')).toBe(true);
      expect(await setSliApproval(db, 'sli-contract', 9, 'approved', 'alice')).toBe(false);
      const history = await sliDefinitionHistory(db, 'sli-contract');
      expect(history.map((h) => [h.version, h.approvalState, h.approvedBy, h.goodQuery])).toEqual([
        [2, 'approved', 'alice', 'sum(rate(y[5m]))'],
        [1, 'proposed', null, def.goodQuery],
      ]);
      const log = await loadAudit(db, { subject: 'sli-contract@2' });
      expect(log.map((e) => [e.actor, e.action])).toEqual([['alice', 'sli.approved']]);
    });
  });
}
