import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDatabase } from '../../adapters/db/pglite.js';
import {
  addRollups,
  addSpans,
  audit,
  embeddingCacheHas,
  embeddingCachePut,
  latestRecommendations,
  getRecommendations,
  latestSloDefinitions,
  loadAudit,
  loadEdges,
  loadJourneys,
  loadRollups,
  loadServices,
  loadTemplates,
  markProcessed,
  proposeSloDefinition,
  pruneProcessed,
  rebucket,
  resolveEdges,
  saveRecommendations,
  setSloApproval,
  supersedeTemplate,
  upsertJourneys,
  upsertServices,
  upsertTemplates,
  type SpanRef,
} from '../../adapters/db/repo.js';
import type { Recommendations, Rollup } from '../../events/schemas.js';

let db: PgliteDatabase;

beforeAll(async () => {
  db = await PgliteDatabase.open();
  await db.migrate();
});
afterAll(async () => {
  await db.close();
});

const MIN = '2024-06-01T12:00:00.000Z';
const roll = (over: Partial<Rollup> = {}): Rollup => ({
  minute: MIN,
  service: 'svc',
  kind: 'operation',
  key: 'GET /a',
  count: 0,
  errors: 0,
  sum_ms: 0,
  latency: { bounds_ms: [5, 50, 500], counts: [0, 0, 0, 0] },
  ...over,
});
const window = { start: new Date('2024-06-01T00:00:00Z'), end: new Date('2024-06-02T00:00:00Z') };

describe('rollups', () => {
  it('adds counts, errors, sums and buckets element-wise into existing rows', async () => {
    const key = 'add';
    await addRollups(db, [
      roll({
        key,
        count: 4,
        errors: 1,
        sum_ms: 40.5,
        latency: { bounds_ms: [5, 50, 500], counts: [1, 2, 1, 0] },
      }),
    ]);
    await addRollups(db, [
      roll({
        key,
        count: 3,
        errors: 2,
        sum_ms: 1000,
        latency: { bounds_ms: [5, 50, 500], counts: [0, 0, 1, 2] },
      }),
    ]);
    const got = (await loadRollups(db, window)).filter((r) => r.key === key);
    expect(got).toEqual([
      roll({
        key,
        count: 7,
        errors: 3,
        sum_ms: 1040.5,
        latency: { bounds_ms: [5, 50, 500], counts: [1, 2, 2, 2] },
      }),
    ]);
  });

  it('merges duplicates inside one batch and keeps minutes separate', async () => {
    const key = 'dup';
    const next = '2024-06-01T12:01:00.000Z';
    await addRollups(db, [
      roll({ key, count: 1, latency: { bounds_ms: [5, 50, 500], counts: [1, 0, 0, 0] } }),
      roll({
        key,
        count: 1,
        minute: '2024-06-01T12:00:00Z',
        latency: { bounds_ms: [5, 50, 500], counts: [0, 1, 0, 0] },
      }),
      roll({ key, count: 2, minute: next, latency: { bounds_ms: [5, 50, 500], counts: [0, 0, 0, 2] } }),
    ]);
    const got = (await loadRollups(db, window)).filter((r) => r.key === key);
    expect(got.map((r) => [r.minute, r.count, r.latency.counts])).toEqual([
      [MIN, 2, [1, 1, 0, 0]],
      [next, 2, [0, 0, 0, 2]],
    ]);
  });

  it('re-buckets conservatively when the stored bounds differ', async () => {
    const key = 'mismatch';
    await addRollups(db, [
      roll({ key, count: 1, latency: { bounds_ms: [5, 50, 500], counts: [1, 0, 0, 0] } }),
    ]);
    // bounds 10/100: a (5,10] observation may be up to 10ms, so it lands in the stored (5,50] bucket; (10,100] -> (50,500]
    await addRollups(db, [
      roll({ key, count: 6, sum_ms: 6, latency: { bounds_ms: [1, 10, 100], counts: [1, 2, 2, 1] } }),
    ]);
    const got = (await loadRollups(db, window)).find((r) => r.key === key);
    expect(got?.latency).toEqual({ bounds_ms: [5, 50, 500], counts: [2, 2, 2, 1] });
    expect(got?.count).toBe(7);
    expect(got?.sum_ms).toBe(6);
  });

  it('rebucket never moves an observation into a lower bucket', () => {
    expect(rebucket([1, 10, 100], [1, 2, 3, 4], [5, 50, 500])).toEqual([1, 2, 3, 4]);
    expect(rebucket([10, 20], [1, 1, 1], [15])).toEqual([1, 2]);
    expect(rebucket([], [7], [1, 2])).toEqual([0, 0, 7]);
    const out = rebucket([2, 4, 8], [3, 5, 7, 9], [3]);
    expect(out.reduce((a, b) => a + b, 0)).toBe(24);
  });

  it('rejects malformed rollups with a clear error', async () => {
    await expect(addRollups(db, [roll({ latency: { bounds_ms: [5, 50], counts: [1] } })])).rejects.toThrow(
      /bounds \+ 1/,
    );
    await expect(
      addRollups(db, [roll({ latency: { bounds_ms: [50, 5], counts: [1, 0, 0] } })]),
    ).rejects.toThrow(/strictly increasing/);
    await expect(addRollups(db, [roll({ minute: 'not a time' })])).rejects.toThrow(/invalid minute/);
  });

  it('filters by window (end exclusive) and services', async () => {
    await addRollups(db, [
      roll({ service: 'filter-a', key: 'k', minute: '2024-06-01T13:00:00Z', count: 1 }),
      roll({ service: 'filter-b', key: 'k', minute: '2024-06-01T13:01:00Z', count: 1 }),
    ]);
    const a = await loadRollups(db, { ...window, services: ['filter-a'] });
    expect(a.map((r) => r.service)).toEqual(['filter-a']);
    const early = await loadRollups(db, {
      start: new Date('2024-06-01T13:00:00Z'),
      end: new Date('2024-06-01T13:01:00Z'),
      services: ['filter-a', 'filter-b'],
    });
    expect(early.map((r) => r.service)).toEqual(['filter-a']);
  });
});

describe('span edges', () => {
  const t0 = new Date('2024-06-01T12:00:00Z');
  const at = (s: number): Date => new Date(t0.getTime() + s * 1000);
  const span = (
    traceId: string,
    spanId: string,
    parentSpanId: string | null,
    service: string,
    s = 0,
  ): SpanRef => ({
    traceId,
    spanId,
    parentSpanId,
    service,
    operation: `${service}-op`,
    spanKind: 2,
    start: at(s),
  });
  const edgeList = async (services: string[]) =>
    (await loadEdges(db, { services })).map((e) => `${e.parentService || '-'}>${e.service}:${e.count}`);

  it('joins children to parents, counts roots, and counts each span once', async () => {
    await addSpans(db, [
      span('e1', 'r', null, 'gw'),
      span('e1', 'c1', 'r', 'orders'),
      span('e1', 'c2', 'r', 'orders'),
      span('e1', 'g', 'c1', 'pay'),
      span('e1', 'g', 'c1', 'pay'), // duplicate delivery
    ]);
    const rep = await resolveEdges(db, { horizonMs: 60_000 });
    expect(rep.resolved).toBe(4);
    expect(await edgeList(['gw', 'orders', 'pay'])).toEqual(['-' + '>gw:1', 'gw>orders:2', 'orders>pay:1']);
    // resolving again adds nothing
    expect((await resolveEdges(db, { horizonMs: 60_000 })).resolved).toBe(0);
    expect(await edgeList(['gw', 'orders', 'pay'])).toEqual(['->gw:1', 'gw>orders:2', 'orders>pay:1']);
  });

  it('waits for a late parent within the horizon, then treats a missing parent as root', async () => {
    // child arrives first; its parent is not buffered yet
    await addSpans(db, [span('e2', 'kid', 'mom', 'late-child', 10)]);
    expect((await resolveEdges(db, { horizonMs: 60_000 })).resolved).toBe(0);
    await addSpans(db, [span('e2', 'mom', null, 'late-parent', 9)]);
    expect((await resolveEdges(db, { horizonMs: 60_000 })).resolved).toBe(2);
    expect(await edgeList(['late-child', 'late-parent'])).toEqual([
      '->late-parent:1',
      'late-parent>late-child:1',
    ]);

    // an orphan whose parent never comes: root once it is older than the horizon
    await addSpans(db, [span('e3', 'orphan', 'ghost', 'orphaned', 20)]);
    expect((await resolveEdges(db, { horizonMs: 60_000 })).resolved).toBe(0);
    const rep = await resolveEdges(db, { horizonMs: 60_000, now: at(20 + 61) });
    expect(rep.resolved).toBe(1);
    expect(await edgeList(['orphaned'])).toEqual(['->orphaned:1']);
  });

  it('deletes resolved spans older than the horizon and keeps recent ones', async () => {
    await addSpans(db, [span('e4', 'old', null, 'gc', 0), span('e4', 'new', null, 'gc', 600)]);
    const rep = await resolveEdges(db, { horizonMs: 60_000, now: at(600) });
    expect(rep.resolved).toBe(2);
    expect(rep.deleted).toBeGreaterThanOrEqual(1);
    const left = await db.query<{ span_id: string }>(
      "SELECT span_id FROM spans_recent WHERE trace_id = 'e4'",
    );
    expect(left.rows.map((r) => r.span_id)).toEqual(['new']);
    const edges = await loadEdges(db, { services: ['gc'] });
    expect(edges[0]).toMatchObject({
      count: 2,
      firstSeen: at(0).toISOString(),
      lastSeen: at(600).toISOString(),
    });
  });

  it('does nothing on an empty buffer', async () => {
    await db.query('DELETE FROM spans_recent');
    expect(await resolveEdges(db)).toEqual({ resolved: 0, deleted: 0 });
  });
});

describe('templates and services', () => {
  it('upserts templates: counts add up, first/last seen widen, newest text wins', async () => {
    const t = new Date('2024-06-01T00:00:00Z');
    await upsertTemplates(db, [
      { templateId: 'tpl-x', service: 's1', kind: 'log', template: 'v1 <*>', seenAt: t, count: 1 },
      {
        templateId: 'tpl-x',
        service: 's1',
        kind: 'log',
        template: 'v2 <*>',
        seenAt: new Date(t.getTime() + 1000),
        count: 2,
      },
    ]);
    await upsertTemplates(db, [
      {
        templateId: 'tpl-x',
        service: 's1',
        kind: 'log',
        template: 'old <*>',
        seenAt: new Date(t.getTime() - 5000),
        count: 4,
      },
    ]);
    const [row] = await loadTemplates(db, { service: 's1', kind: 'log' });
    expect(row).toEqual({
      templateId: 'tpl-x',
      service: 's1',
      kind: 'log',
      template: 'v2 <*>',
      firstSeen: new Date(t.getTime() - 5000).toISOString(),
      lastSeen: new Date(t.getTime() + 1000).toISOString(),
      count: 7,
      supersededBy: null,
    });
    expect(await supersedeTemplate(db, 'tpl-x', 'tpl-y')).toBe(true);
    expect((await loadTemplates(db, { service: 's1' }))[0]?.supersededBy).toBe('tpl-y');
    await expect(
      upsertTemplates(db, [
        { templateId: 'bad', service: 's', kind: 'log', template: '', seenAt: t, count: -1 },
      ]),
    ).rejects.toThrow(/non-negative/);
  });

  it('upserts services widening first/last seen', async () => {
    await upsertServices(db, [
      { name: 'svc-u', seenAt: new Date('2024-06-01T10:00:00Z') },
      { name: 'svc-u', seenAt: new Date('2024-06-01T09:00:00Z') },
    ]);
    await upsertServices(db, [{ name: 'svc-u', seenAt: new Date('2024-06-01T11:00:00Z') }]);
    const s = (await loadServices(db)).find((x) => x.name === 'svc-u');
    expect(s).toEqual({
      name: 'svc-u',
      firstSeen: '2024-06-01T09:00:00.000Z',
      lastSeen: '2024-06-01T11:00:00.000Z',
    });
  });
});

describe('documents, idempotency and caches', () => {
  it('returns the most recently generated recommendations', async () => {
    const rec = (id: string, at: string): Recommendations => ({
      schema_version: '1',
      request_id: id,
      generated_at: at,
      window: { start: '2024-06-01T00:00:00.000Z', end: '2024-06-01T01:00:00.000Z' },
      journeys: [],
    });
    await saveRecommendations(db, rec('r-new', '2024-06-02T00:00:00.000Z'));
    await saveRecommendations(db, rec('r-old', '2024-06-01T00:00:00.000Z'));
    expect((await latestRecommendations(db))?.request_id).toBe('r-new');
    expect((await getRecommendations(db, 'r-old'))?.generated_at).toBe('2024-06-01T00:00:00.000Z');
    expect(await getRecommendations(db, 'nope')).toBeNull();
  });

  it('marks events processed once per stage and prunes old ids', async () => {
    expect(await markProcessed(db, 'fp', 'e-1')).toBe(true);
    expect(await markProcessed(db, 'fp', 'e-1')).toBe(false);
    expect(await pruneProcessed(db, new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
    expect(await markProcessed(db, 'fp', 'e-1')).toBe(true);
  });

  it('remembers embedded content hashes per model', async () => {
    expect(await embeddingCacheHas(db, [])).toEqual(new Set());
    await embeddingCachePut(db, ['h1', 'h2', 'h1'], { model: 'm1', dim: 384 });
    expect(await embeddingCacheHas(db, ['h1', 'h2', 'h3'])).toEqual(new Set(['h1', 'h2']));
    expect(await embeddingCacheHas(db, ['h1'], 'm2')).toEqual(new Set());
    await embeddingCachePut(db, ['h1'], { model: 'm2', dim: 8 });
    expect(await embeddingCacheHas(db, ['h1', 'h2'], 'm2')).toEqual(new Set(['h1']));
  });

  it('versions SLO definitions and tracks approval', async () => {
    const def = {
      id: 'slo-1',
      journeyId: 'j-1',
      sliKind: 'availability',
      objective: 99.9,
      window: '28d',
      spec: { a: 1 },
    };
    expect(await proposeSloDefinition(db, def)).toBe(1);
    expect(await proposeSloDefinition(db, { ...def, objective: 99.5 })).toBe(2);
    expect(await setSloApproval(db, 'slo-1', 2, 'approved')).toBe(true);
    expect(await setSloApproval(db, 'slo-1', 9, 'approved')).toBe(false);
    const [latest] = await latestSloDefinitions(db, { journeyId: 'j-1' });
    expect(latest).toMatchObject({
      id: 'slo-1',
      version: 2,
      objective: 99.5,
      window: '28d',
      approvalState: 'approved',
    });
    await expect(db.query("UPDATE slo_definitions SET approval_state = 'bogus'")).rejects.toThrow();
  });

  it('stores journeys and audit entries', async () => {
    const j = {
      id: 'j-9',
      name: 'Checkout',
      service: 'web',
      entrypoint: 'POST /checkout',
      kind: 'request',
      criticality: 'high',
      doc: { rps: 3 },
    };
    await upsertJourneys(db, [j]);
    await upsertJourneys(db, [{ ...j, criticality: 'medium' }]);
    const js = await loadJourneys(db);
    expect(js.find((x) => x.id === 'j-9')).toMatchObject({ criticality: 'medium', doc: { rps: 3 } });
    await audit(db, { actor: 'alice', action: 'approve', subject: 'slo-1', detail: { v: 2 } });
    const [entry] = await loadAudit(db, { subject: 'slo-1' });
    expect(entry).toMatchObject({ actor: 'alice', action: 'approve', subject: 'slo-1', detail: { v: 2 } });
  });
});
