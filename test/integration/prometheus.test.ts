/**
 * The Prometheus collector against the real Prometheus of scripts/services/prometheus.sh (which scrapes itself every
 * 5 s): remote read in both response modes must return exactly the raw samples the server's own query API returns.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '../../adapters/bus/memory.js';
import { FsObjectStore } from '../../adapters/objects/fs.js';
import type { BusRecord } from '../../core/ports.js';
import { fromBusRecord } from '../../events/cloudevents.js';
import { ALL_TOPICS, TOPICS } from '../../events/registry.js';
import type { SampleBatch } from '../../events/schemas.js';
import { decodePayload } from '../../events/validate.js';
import { createMetrics } from '../../runtime/observability.js';
import { parseSelector } from '../../core/promremote/index.js';
import { remoteRead, startPrometheusCollector, type RemoteReadMode } from '../../collectors/prometheus.js';
import { assertReachable, requireService } from './services.js';

const url = requireService('prometheus');

type Point = [number, number];

/** Raw samples per series via the query API: an instant query of a range selector returns them unprocessed. */
async function viaQueryApi(metric: string, startMs: number, endMs: number): Promise<Map<string, Point[]>> {
  const q = `${metric}[${endMs - startMs + 1}ms]`;
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}&time=${endMs / 1000}`);
  const j = (await r.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  expect(j.status).toBe('success');
  const out = new Map<string, Point[]>();
  for (const s of j.data.result) {
    // The query API drops __name__ from range-vector results only for functions; keep the labels comparable.
    const labels = { ...s.metric, __name__: metric };
    out.set(
      key(labels),
      s.values.map(([t, v]) => [Math.round(t * 1000), Number(v)]),
    );
  }
  return out;
}

function key(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort());
}

/**
 * Waits until the self-scrape (every 5 s) has `seconds` of history: a freshly started server (as in CI) has none, and
 * the reads below look back that far.
 */
async function waitForData(seconds = 20): Promise<number> {
  const range = `${Math.ceil(seconds / 60) + 1}m`;
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(`count_over_time(up[${range}])`)}`);
    const j = (await r.json()) as { data: { result: { value: [number, string] }[] } };
    const n = Number(j.data.result[0]?.value[1] ?? 0);
    if (n * 5 >= seconds) return Date.now();
    await new Promise((res) => setTimeout(res, 2000));
  }
  throw new Error(`Prometheus has less than ${seconds} s of self-scrape history after 200 s`);
}

describe('Prometheus remote read (real server)', { timeout: 240_000 }, () => {
  it('is reachable', async () => {
    await assertReachable('prometheus');
  });

  for (const mode of ['samples', 'chunks'] as RemoteReadMode[]) {
    it(`${mode}: samples equal what /api/v1/query returns for the same series and range`, async () => {
      await waitForData(110);
      // A settled range: older than the scrape interval, so both reads see the same data.
      const endMs = Math.floor(Date.now() / 1000) * 1000 - 15_000;
      const startMs = endMs - 90_000 + 1;
      for (const metric of ['prometheus_http_requests_total', 'up', 'prometheus_tsdb_head_series']) {
        const want = await viaQueryApi(metric, startMs, endMs);
        const r = await remoteRead(
          [{ startMs, endMs, matchers: [{ type: 'EQ', name: '__name__', value: metric }] }],
          { url, mode },
        );
        if (!r.ok) throw new Error(r.error);
        expect(r.value.mode).toBe(mode);
        const got = new Map<string, Point[]>();
        for (const s of r.value.results[0]!) {
          // Remote read adds the server's external labels; the query API does not.
          const labels = { ...s.labels };
          delete labels['env'];
          got.set(
            key(labels),
            s.samples.map((x) => [x.t, x.v]),
          );
        }
        expect(want.size).toBeGreaterThan(0);
        expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
        for (const [k, pts] of want) expect(got.get(k), k).toEqual(pts);
      }
    });
  }

  it('the collector publishes SampleBatches per window and resumes from its checkpoint without gaps or repeats', async () => {
    // Its first windows start 120 s in the past.
    await waitForData(135);
    const bus = new MemoryBus({ autoCreate: false });
    await bus.ensureTopics(
      ALL_TOPICS.map((t) => ({ name: t.name, partitions: 3, retentionMs: t.retentionMs })),
    );
    const published: BusRecord[] = [];
    const recBus = {
      ...bus,
      kind: 'rec',
      publish: async (topic: string, records: readonly BusRecord[]) => {
        await bus.publish(topic, records);
        published.push(...records);
      },
      subscribe: bus.subscribe.bind(bus),
      ensureTopics: bus.ensureTopics.bind(bus),
      close: bus.close.bind(bus),
    };
    const objects = new FsObjectStore({ root: mkdtempSync(join(tmpdir(), 'prom-')), bucket: 'prom-test' });
    const sel = parseSelector('prometheus_http_requests_total{handler=~"/api/v1/.*|/metrics"}');
    if (!sel.ok) throw new Error(sel.error);
    const base = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    let nowMs = base;
    const common = {
      bus: recBus,
      objects,
      name: `it-${process.pid}-${Date.now()}`,
      url,
      selectors: [
        sel.value,
        { name: 'up', matchers: [{ type: 'EQ' as const, name: '__name__', value: 'up' }] },
      ],
      windowMs: 20_000,
      delayMs: 10_000,
      initialLookbackMs: 60_000,
      intervalMs: 0,
      now: () => new Date(nowMs),
    };
    const metrics = createMetrics();
    const c1 = await startPrometheusCollector({ ...common, mode: 'chunks', metrics, opsPort: 0 });
    const r1 = await c1.pullOnce();
    expect(r1.error).toBeUndefined();
    expect(r1.windows.length).toBeGreaterThan(0);
    const cp1 = await c1.checkpoint();
    expect(cp1?.nextStartMs).toBe(r1.windows.at(-1)!.endMs + 1);
    const ops = await fetch(`http://127.0.0.1:${c1.opsPort}/metrics`).then((r) => r.text());
    expect(ops).toMatch(/slo_scout_collector_publish_lag_seconds\{collector="prometheus"/);
    expect(ops).toMatch(/slo_scout_collector_kafka_publish_seconds_count\{collector="prometheus"/);
    await c1.close();
    // "Restart" later, in the other mode: it continues exactly where the checkpoint says.
    nowMs = base + 45_000;
    const c2 = await startPrometheusCollector({ ...common, mode: 'samples' });
    const r2 = await c2.pullOnce();
    expect(r2.error).toBeUndefined();
    expect(r2.windows[0]!.startMs).toBe(cp1!.nextStartMs);
    await c2.close();
    const firstStart = r1.windows[0]!.startMs;
    const lastEnd = r2.windows.at(-1)!.endMs;

    const batches = published.map((r) => {
      const ev = fromBusRecord(r);
      if (!ev.ok) throw new Error(ev.error);
      const p = decodePayload(TOPICS.promSamples, ev.value.data);
      if (!p.ok) throw new Error(p.error);
      return p.value as SampleBatch;
    });
    const union = new Map<string, Point[]>();
    for (const b of batches)
      for (const s of b.series) {
        const labels = { ...s.labels };
        delete labels['env'];
        const k = key(labels);
        union.set(k, [...(union.get(k) ?? []), ...s.samples.map(([t, v]): Point => [t, Number(v)])]);
      }
    const want = await viaQueryApi('prometheus_http_requests_total', firstStart, lastEnd);
    let compared = 0;
    for (const [k, pts] of want) {
      const labels = JSON.parse(k) as [string, string][];
      const handler = labels.find(([n]) => n === 'handler')?.[1] ?? '';
      if (!/^(\/api\/v1\/.*|\/metrics)$/.test(handler)) continue;
      const got = (union.get(k) ?? []).sort((a, b) => a[0] - b[0]);
      expect(got, k).toEqual(pts); // no gap, no repeat
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
    await bus.close();
  });

  it('gathers the metric inventory: types, labels and histogram buckets', async () => {
    const bus = new MemoryBus({ autoCreate: false });
    const objects = new FsObjectStore({ root: mkdtempSync(join(tmpdir(), 'prom-')), bucket: 'prom-test' });
    const sels = [
      'prometheus_http_requests_total',
      'prometheus_http_request_duration_seconds_bucket',
      'up',
    ].map((s) => {
      const p = parseSelector(s);
      if (!p.ok) throw new Error(p.error);
      return p.value;
    });
    const c = await startPrometheusCollector({
      bus,
      objects,
      name: `inv-${process.pid}`,
      url,
      selectors: sels,
      intervalMs: 0,
    });
    const inv = await c.refreshInventory();
    if (!inv.ok) throw new Error(inv.error);
    const by = new Map(inv.value.map((e) => [e.name, e]));
    expect(by.get('prometheus_http_requests_total')?.type).toBe('counter');
    expect(by.get('prometheus_http_requests_total')?.labels).toEqual(
      expect.arrayContaining(['code', 'handler', 'instance', 'job']),
    );
    const h = by.get('prometheus_http_request_duration_seconds');
    expect(h?.type).toBe('histogram');
    expect(h?.buckets).toEqual(expect.arrayContaining([0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120]));
    expect(h?.labels).not.toContain('le');
    expect(by.get('up')?.type).toBe('gauge');
    expect(await objects.get(`inventory/prometheus/inv-${process.pid}.json`)).not.toBeNull();
    await c.close();
    await bus.close();
  });
});
