/**
 * Replicas of the Prometheus collector elect one puller through a database lock (the chart runs two): only the holder
 * reaches Prometheus; when it stops, a standby takes over within an interval. PGlite stands in for the shared
 * database (its lock is process-wide, as PostgreSQL's advisory lock is cluster-wide; see test/contracts for both).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../adapters/bus/memory.js';
import { PgliteDatabase } from '../../adapters/db/pglite.js';
import { startPrometheusCollector, type PrometheusCollector } from '../../collectors/prometheus.js';
import { createMetrics } from '../../runtime/observability.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe('Prometheus collector replicas', () => {
  it('only the lock holder pulls; a standby takes over when it stops', async () => {
    const db = await PgliteDatabase.open();
    open.push(db);
    const bus = new MemoryBus({ autoCreate: true });
    const calls = { a: 0, b: 0 };
    // Prometheus answers 503: enough to see who tries to pull (the pull then stops early and retries next interval).
    const fakeFetch =
      (who: 'a' | 'b'): typeof fetch =>
      async () => {
        calls[who]++;
        return new Response('unavailable', { status: 503 });
      };
    const metrics = { a: createMetrics(), b: createMetrics() };
    const start = async (who: 'a' | 'b'): Promise<PrometheusCollector> => {
      const c = await startPrometheusCollector({
        bus,
        objects: null,
        name: 'prom-shared',
        url: 'http://prometheus.invalid:9090',
        intervalMs: 40,
        inventoryIntervalMs: 0,
        fetch: fakeFetch(who),
        metrics: metrics[who],
        leaderLock: (name) => db.tryLock(name),
      });
      open.push(c);
      return c;
    };
    const a = await start('a');
    await expect.poll(() => calls.a, { timeout: 5000 }).toBeGreaterThan(0);
    const b = await start('b');
    await new Promise((r) => setTimeout(r, 400));
    expect(calls.b).toBe(0);
    expect(metrics.a.value('slo_scout_collector_leader', { collector: 'prometheus' })).toBe(1);
    expect(metrics.b.value('slo_scout_collector_leader', { collector: 'prometheus' })).toBe(0);

    await a.close();
    await expect.poll(() => calls.b, { timeout: 5000 }).toBeGreaterThan(0);
    expect(metrics.b.value('slo_scout_collector_leader', { collector: 'prometheus' })).toBe(1);
    await b.close();
  });
});
