/**
 * Prometheus collector: pulls series through the remote-read API (POST /api/v1/read, Snappy-compressed protobuf) in
 * either response mode — SAMPLES (one Snappy block holding a ReadResponse) or STREAMED_XOR_CHUNKS (CRC-checked frames
 * of ChunkedReadResponse carrying TSDB XOR chunks, read incrementally) — in bounded time windows, and publishes one
 * SampleBatch per metric name and window to the prom.samples topic.
 *
 * Position: a checkpoint `checkpoints/prometheus/<name>.json` in the object store holds the first millisecond not yet
 * pulled. It advances only after every batch of a window is durable on the bus, so a restart neither skips a window
 * nor (except after a crash between the publish and the checkpoint write) repeats one; batches carry deterministic
 * CloudEvents ids (`prom:<name>:<start>-<end>:<n>`) so even that repeat can be dropped downstream.
 *
 * Inventory: the metric families behind the selectors (type from /api/v1/metadata, label names and histogram
 * buckets from /api/v1/series) are written to `inventory/prometheus/<name>.json` and, when a database is given, to
 * the metric_inventory table.
 *
 * Replicas: with `leaderLock` (the chart's database), replicas of one collector elect a leader through a database
 * lock named after the Prometheus: only the holder pulls and refreshes the inventory; the others stand by, retry the
 * lock every interval and take over when the holder stops or its database connection dies
 * (`slo_scout_collector_leader` is 1 on the puller).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bus, DbLock, Logger, Metrics, ObjectStore, SqlExecutor } from '../core/ports.js';
import { UnavailableError } from '../core/ports.js';
import { err, ok, type Result } from '../core/result.js';
import type { MetricInventoryEntry } from '../core/inventory.js';
import {
  DEFAULT_SELECTORS,
  decodeChunkedReadResponse,
  decodeReadResponse,
  encodeReadRequest,
  inventoryFromPrometheus,
  parseCheckpoint,
  parseChunkedFrames,
  planWindows,
  samplesFromChunks,
  selectorText,
  snappyCompress,
  snappyDecompress,
  toSampleBatches,
  type Checkpoint,
  type Labels,
  type PromMetadata,
  type ReadQuery,
  type Selector,
  type SeriesSamples,
  type WindowPlan,
} from '../core/promremote/index.js';
import { upsertMetricInventory } from '../adapters/db/inventory.js';
import { CE_SOURCE, TOPICS } from '../events/registry.js';
import { CollectorMetrics, isUnavailable, noopMetrics, Publisher, serveOps, silentLogger } from './common.js';

export type RemoteReadMode = 'samples' | 'chunks';

export interface RemoteReadOptions {
  readonly url: string;
  readonly mode: RemoteReadMode;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** Bound on the decompressed SAMPLES response and on one chunked frame. Default 256 MiB / 64 MiB. */
  readonly maxResponseBytes?: number;
  readonly fetch?: typeof fetch;
}

export interface RemoteReadResult {
  /** Series per query, in query order (series of one query are merged by label set). */
  readonly results: SeriesSamples[][];
  /** What the server actually answered with. */
  readonly mode: RemoteReadMode;
  /** Chunks in encodings other than XOR (native histograms), which are not converted. */
  readonly skippedChunks: number;
}

function baseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

function unavailable(what: string, e: unknown): UnavailableError {
  return new UnavailableError(`${what}: ${(e as Error).message ?? String(e)}`, 'prometheus', { cause: e });
}

/**
 * One remote-read round trip. Resolves an error value for answers that can never succeed (bad request, undecodable
 * body); throws UnavailableError when Prometheus cannot be reached or answers 5xx/429.
 */
export async function remoteRead(
  queries: readonly ReadQuery[],
  o: RemoteReadOptions,
): Promise<Result<RemoteReadResult, string>> {
  const doFetch = o.fetch ?? fetch;
  const body = snappyCompress(
    encodeReadRequest(queries, [o.mode === 'chunks' ? 'STREAMED_XOR_CHUNKS' : 'SAMPLES']),
  );
  let res: Response;
  try {
    res = await doFetch(`${baseUrl(o.url)}/api/v1/read`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-read-version': '0.1.0',
        'user-agent': 'slo-scout-prometheus-collector',
        ...(o.headers ?? {}),
      },
      signal: AbortSignal.timeout(o.timeoutMs ?? 60_000),
    });
  } catch (e) {
    throw unavailable(`remote read from ${o.url} failed`, e);
  }
  if (res.status >= 500 || res.status === 429) {
    const text = await res.text().catch(() => '');
    throw unavailable(`remote read from ${o.url}`, new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`));
  }
  if (res.status !== 200) {
    const text = await res.text().catch(() => '');
    return err(`remote read from ${o.url} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  const ct = (res.headers.get('content-type') ?? '').toLowerCase();
  const maxBytes = o.maxResponseBytes ?? 256 * 1024 * 1024;
  if (ct.startsWith('application/x-streamed-protobuf')) {
    if (!ct.includes('chunkedreadresponse'))
      return err(`unexpected streamed response type ${JSON.stringify(ct)}`);
    const perQuery = new Map<number, Map<string, { labels: Labels; chunks: SeriesChunks }>>();
    type SeriesChunks = Parameters<typeof samplesFromChunks>[0][number]['chunks'][number][];
    let pending: Uint8Array = new Uint8Array(0);
    const reader = res.body!.getReader();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (e) {
          throw unavailable(`remote read stream from ${o.url} broke`, e);
        }
        if (chunk.done) break;
        const merged = new Uint8Array(pending.length + chunk.value.length);
        merged.set(pending, 0);
        merged.set(chunk.value, pending.length);
        const frames = parseChunkedFrames(merged, Math.min(maxBytes, 64 * 1024 * 1024));
        if (!frames.ok) return err(frames.error);
        for (const f of frames.value.frames) {
          const msg = decodeChunkedReadResponse(f);
          if (!msg.ok) return err(msg.error);
          let q = perQuery.get(msg.value.queryIndex);
          if (!q) perQuery.set(msg.value.queryIndex, (q = new Map()));
          for (const s of msg.value.series) {
            const key = JSON.stringify(Object.entries(s.labels).sort());
            let acc = q.get(key);
            if (!acc) q.set(key, (acc = { labels: s.labels, chunks: [] }));
            // Frames are views into `merged`: copy chunk bytes out before the buffer is reused.
            for (const c of s.chunks) acc.chunks.push({ ...c, data: c.data.slice() });
          }
        }
        pending = merged.slice(frames.value.consumed);
      }
    } finally {
      reader.releaseLock();
    }
    if (pending.length > 0)
      return err(`remote read stream ended inside a frame (${pending.length} bytes left)`);
    const results: SeriesSamples[][] = [];
    let skipped = 0;
    for (let i = 0; i < queries.length; i++) {
      const q = queries[i]!;
      const series = [...(perQuery.get(i)?.values() ?? [])];
      const s = samplesFromChunks(series, q.startMs, q.endMs);
      if (!s.ok) return err(s.error);
      skipped += s.value.skippedChunks;
      results.push(s.value.series);
    }
    return ok({ results, mode: 'chunks', skippedChunks: skipped });
  }
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw unavailable(`remote read body from ${o.url} broke`, e);
  }
  const enc = (res.headers.get('content-encoding') ?? 'snappy').toLowerCase();
  let pb = raw;
  if (enc === 'snappy' || ct === 'application/x-protobuf') {
    const d = snappyDecompress(raw, maxBytes);
    if (!d.ok) return err(`remote read response: ${d.error}`);
    pb = d.value;
  }
  const decoded = decodeReadResponse(pb);
  if (!decoded.ok) return err(decoded.error);
  return ok({ results: decoded.value, mode: 'samples', skippedChunks: 0 });
}

// ---- inventory -------------------------------------------------------------------------------------------------------

export interface InventoryOptions {
  readonly url: string;
  readonly selectors: readonly Selector[];
  readonly startMs: number;
  readonly endMs: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

async function apiGet<T>(
  o: InventoryOptions,
  path: string,
  form?: URLSearchParams,
): Promise<Result<T, string>> {
  const doFetch = o.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(`${baseUrl(o.url)}${path}`, {
      method: form ? 'POST' : 'GET',
      ...(form ? { body: form } : {}),
      headers: { ...(o.headers ?? {}) },
      signal: AbortSignal.timeout(o.timeoutMs ?? 60_000),
    });
  } catch (e) {
    throw unavailable(`GET ${path} from ${o.url} failed`, e);
  }
  if (res.status >= 500 || res.status === 429) throw unavailable(path, new Error(`HTTP ${res.status}`));
  const j = (await res.json().catch(() => null)) as { status?: string; data?: T; error?: string } | null;
  if (!j || j.status !== 'success' || j.data === undefined)
    return err(`${path} answered HTTP ${res.status}: ${j?.error ?? 'not a Prometheus API response'}`);
  return ok(j.data);
}

/**
 * The metric inventory behind the selectors: families with their type (/api/v1/metadata), label names and histogram
 * buckets (/api/v1/series over [startMs, endMs]).
 */
export async function gatherPrometheusInventory(
  o: InventoryOptions,
): Promise<Result<MetricInventoryEntry[], string>> {
  const meta = await apiGet<Record<string, PromMetadata[]>>(o, '/api/v1/metadata');
  if (!meta.ok) return meta;
  const series: Labels[] = [];
  for (const s of o.selectors) {
    const form = new URLSearchParams();
    form.append('match[]', selectorText(s));
    form.append('start', String(o.startMs / 1000));
    form.append('end', String(o.endMs / 1000));
    const r = await apiGet<Labels[]>(o, '/api/v1/series', form);
    if (!r.ok) return r;
    series.push(...r.value);
  }
  return ok(inventoryFromPrometheus(meta.value, series));
}

// ---- the collector ---------------------------------------------------------------------------------------------------

export interface PrometheusCollectorOptions {
  readonly bus: Bus;
  /** Where checkpoints and the inventory are kept; null keeps checkpoints in memory (tests, one-shot runs). */
  readonly objects: ObjectStore | null;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  /** Checkpoint name (one per Prometheus). Letters, digits, '.', '_', '-'. */
  readonly name: string;
  readonly url: string;
  readonly selectors?: readonly Selector[];
  /** Default 'chunks' (STREAMED_XOR_CHUNKS). */
  readonly mode?: RemoteReadMode;
  /** Window length. Default 5 minutes. */
  readonly windowMs?: number;
  /** Data younger than this waits for the next pull. Default 60 s. */
  readonly delayMs?: number;
  /** Start of a collector without a checkpoint: now minus this. Default 1 hour. */
  readonly initialLookbackMs?: number;
  /** Windows per pull (catch-up step). Default 12. */
  readonly maxWindowsPerPull?: number;
  /** Pull period; 0 disables the loop (call pullOnce). Default 30 s. */
  readonly intervalMs?: number;
  /** Inventory refresh period; 0 disables. Default 10 minutes. */
  readonly inventoryIntervalMs?: number;
  /** Database for the metric_inventory table. */
  readonly db?: SqlExecutor;
  /**
   * Leader election among replicas: takes a named lock without waiting (Database.tryLock). Without it every
   * replica pulls (run one replica then).
   */
  readonly leaderLock?: (name: string) => Promise<DbLock | null>;
  /** Approximate bound on one SampleBatch. Default 256 KiB (half of half the topic limit). */
  readonly maxBatchBytes?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  /** Port for /metrics, /healthz, /readyz; null (default) serves none; 0 picks a free port. */
  readonly opsPort?: number | null;
  readonly host?: string;
  readonly now?: () => Date;
}

export interface PullReport {
  readonly windows: readonly WindowPlan[];
  readonly series: number;
  readonly samples: number;
  readonly batches: number;
  readonly checkpoint: Checkpoint | null;
  /** Set when the pull stopped early; the checkpoint stays at the last fully published window. */
  readonly error?: string;
  readonly retryable?: boolean;
}

export interface PrometheusCollector {
  readonly opsPort: number;
  pullOnce(): Promise<PullReport>;
  refreshInventory(): Promise<Result<MetricInventoryEntry[], string>>;
  checkpoint(): Promise<Checkpoint | null>;
  close(): Promise<void>;
}

const NAME_RE = /^[A-Za-z0-9._-]{1,128}$/;

export function checkpointKey(name: string): string {
  return `checkpoints/prometheus/${name}.json`;
}
export function inventoryKey(name: string): string {
  return `inventory/prometheus/${name}.json`;
}

/** Default checkpoint name for one Prometheus: its host and port (letters, digits, '.', '_', '-'). */
export function prometheusCollectorName(url: string): string {
  const u = new URL(url);
  return `${u.hostname}${u.port ? `_${u.port}` : ''}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
}

export async function startPrometheusCollector(
  opts: PrometheusCollectorOptions,
): Promise<PrometheusCollector> {
  if (!NAME_RE.test(opts.name))
    throw new Error(`invalid Prometheus collector name ${JSON.stringify(opts.name)}`);
  const log = opts.log ?? silentLogger;
  const sink = opts.metrics ?? noopMetrics;
  const cm = new CollectorMetrics(sink, 'prometheus');
  const now = opts.now ?? (() => new Date());
  const publisher = new Publisher(opts.bus, null, CE_SOURCE.collector('prometheus'), now, cm);
  const selectors = opts.selectors ?? DEFAULT_SELECTORS;
  if (selectors.length === 0) throw new Error('startPrometheusCollector: at least one selector is required');
  const mode = opts.mode ?? 'chunks';
  let memoryCheckpoint: Checkpoint | null = null;
  let closing = false;
  let running: Promise<unknown> | null = null;
  let healthy = true;

  // ---- leadership among replicas ----
  let lease: DbLock | null = null;
  let leading: boolean | null = null;
  const lockName = `prometheus-collector:${opts.name}`;
  /** True when this replica may pull: no election configured, or it holds (or just took) the lock. */
  async function mayPull(): Promise<boolean> {
    if (!opts.leaderLock) return true;
    let lead = false;
    try {
      if (lease && (await lease.held())) lead = true;
      else {
        lease = await opts.leaderLock(lockName);
        lead = lease !== null;
      }
    } catch (e) {
      // The database is unreachable: whoever held the lock loses it with its connection, so stand by.
      lease = null;
      log.warn('prometheus collector: leader lock unavailable; standing by', { error: e });
    }
    if (lead !== leading) {
      leading = lead;
      sink.gauge(
        'slo_scout_collector_leader',
        'This replica holds the pull lock (1) or stands by (0).',
        lead ? 1 : 0,
        {
          collector: 'prometheus',
        },
      );
      log.info(lead ? 'prometheus collector: leading (pulling)' : 'prometheus collector: standing by', {
        lock: lockName,
      });
    }
    return lead;
  }

  async function loadCheckpoint(): Promise<Checkpoint | null> {
    if (!opts.objects) return memoryCheckpoint;
    const r = parseCheckpoint(await opts.objects.get(checkpointKey(opts.name)));
    if (!r.ok) throw new Error(`checkpoint ${checkpointKey(opts.name)} is unreadable: ${r.error}`);
    return r.value;
  }

  async function saveCheckpoint(cp: Checkpoint): Promise<void> {
    if (!opts.objects) {
      memoryCheckpoint = cp;
      return;
    }
    await opts.objects.put(checkpointKey(opts.name), new TextEncoder().encode(JSON.stringify(cp)), {
      contentType: 'application/json',
    });
  }

  async function pullOnceInner(): Promise<PullReport> {
    let cp = await loadCheckpoint();
    const windows = planWindows(cp, {
      nowMs: now().getTime(),
      windowMs: opts.windowMs ?? 5 * 60_000,
      delayMs: opts.delayMs ?? 60_000,
      initialLookbackMs: opts.initialLookbackMs ?? 3_600_000,
      maxWindows: opts.maxWindowsPerPull ?? 12,
    });
    let series = 0;
    let samples = 0;
    let batches = 0;
    const done: WindowPlan[] = [];
    /** The report of a pull that stopped early: the checkpoint stays at the last fully published window. */
    const stopped = (error: string, retryable: boolean): PullReport => ({
      windows: done,
      series,
      samples,
      batches,
      checkpoint: cp,
      error,
      retryable,
    });
    for (const w of windows) {
      if (closing) break;
      const started = performance.now();
      const queries = selectors.map((s) => ({ startMs: w.startMs, endMs: w.endMs, matchers: s.matchers }));
      let read: Result<RemoteReadResult, string>;
      try {
        read = await remoteRead(queries, {
          url: opts.url,
          mode,
          ...(opts.headers ? { headers: opts.headers } : {}),
          ...(opts.fetch ? { fetch: opts.fetch } : {}),
          ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
        });
      } catch (e) {
        cm.rejected('metrics', 'remote_read', isUnavailable(e) ? 'unavailable' : 'internal');
        return stopped((e as Error).message, true);
      }
      if (!read.ok) {
        cm.rejected('metrics', 'remote_read', 'invalid');
        return stopped(read.error, false);
      }
      // Overlapping selectors may return a series twice: keep one.
      const seen = new Map<string, SeriesSamples>();
      for (const list of read.value.results)
        for (const s of list) seen.set(JSON.stringify(Object.entries(s.labels).sort()), s);
      const all = [...seen.values()];
      const out = toSampleBatches(all, {
        prometheus: opts.name,
        window: w,
        maxBatchBytes: opts.maxBatchBytes ?? 256 * 1024,
      });
      const pulled = out.reduce((a, b) => a + b.samples, 0);
      cm.received('metrics', 'remote_read', pulled);
      try {
        const n = await publisher.publish(
          TOPICS.promSamples,
          out.map((b, i) => ({
            key: b.key,
            data: b.batch,
            id: `prom:${opts.name}:${w.startMs}-${w.endMs}:${i}`,
            extensions: { signal: 'metrics' },
          })),
        );
        cm.published('metrics', n, pulled);
        cp = { nextStartMs: w.endMs + 1, updatedAt: now().toISOString() };
        await saveCheckpoint(cp);
      } catch (e) {
        const retry = isUnavailable(e);
        cm.rejected('metrics', 'remote_read', retry ? 'unavailable' : 'internal');
        return stopped((e as Error).message, retry);
      }
      cm.publishLatency('metrics', (performance.now() - started) / 1000);
      cm.publishLag('metrics', Math.max(0, now().getTime() - w.endMs) / 1000);
      series += all.length;
      samples += pulled;
      batches += out.length;
      done.push(w);
      if (read.value.skippedChunks > 0)
        log.warn('remote read returned non-XOR chunks (native histograms); skipped', {
          chunks: read.value.skippedChunks,
        });
    }
    return { windows: done, series, samples, batches, checkpoint: cp };
  }

  /** Serialises pulls: a pull never overlaps another (the checkpoint has one writer). */
  function pullOnce(): Promise<PullReport> {
    const next = (running ?? Promise.resolve()).then(pullOnceInner, pullOnceInner);
    running = next.catch(() => undefined);
    return next.then((r) => {
      healthy = !r.error || r.retryable === true;
      if (r.error) log.warn('prometheus pull stopped early', { error: r.error, retryable: r.retryable });
      return r;
    });
  }

  async function refreshInventory(): Promise<Result<MetricInventoryEntry[], string>> {
    const end = now().getTime();
    let inv: Result<MetricInventoryEntry[], string>;
    try {
      inv = await gatherPrometheusInventory({
        url: opts.url,
        selectors,
        startMs: end - (opts.initialLookbackMs ?? 3_600_000),
        endMs: end,
        ...(opts.headers ? { headers: opts.headers } : {}),
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
      });
    } catch (e) {
      return err((e as Error).message);
    }
    if (!inv.ok) return inv;
    if (opts.objects) {
      await opts.objects.put(
        inventoryKey(opts.name),
        new TextEncoder().encode(
          JSON.stringify({ prometheus: opts.name, at: now().toISOString(), entries: inv.value }),
        ),
        { contentType: 'application/json' },
      );
    }
    if (opts.db) await upsertMetricInventory(opts.db, inv.value, now());
    return inv;
  }

  // ---- loop and ops endpoints ----
  const timers: NodeJS.Timeout[] = [];
  const interval = opts.intervalMs ?? 30_000;
  if (interval > 0) {
    const tick = () => {
      if (closing) return;
      mayPull()
        .then((lead) => (lead && !closing ? pullOnce() : null))
        .catch((e: unknown) => {
          // e.g. an unreadable checkpoint or the store being down: not ready until a pull succeeds again.
          healthy = false;
          log.error('prometheus pull failed', { error: e });
        })
        .finally(() => {
          if (!closing) timers[0] = setTimeout(tick, interval);
        });
    };
    timers[0] = setTimeout(tick, 0);
    const invEvery = opts.inventoryIntervalMs ?? 600_000;
    if (invEvery > 0) {
      const inv = () => {
        if (closing) return;
        mayPull()
          .then((lead) => (lead && !closing ? refreshInventory() : ok([])))
          .then(
            (r) => {
              if (!r.ok) log.warn('metric inventory refresh failed', { error: r.error });
            },
            (e: unknown) => log.warn('metric inventory refresh failed', { error: e }),
          )
          .finally(() => {
            if (!closing) timers[1] = setTimeout(inv, invEvery);
          });
      };
      timers[1] = setTimeout(inv, 0);
    }
  }

  let ops: HttpServer | null = null;
  let opsPort = -1;
  if (opts.opsPort !== undefined && opts.opsPort !== null) {
    ops = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (!serveOps(req, res, path, sink, () => !closing && healthy)) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      }
    });
    const server = ops;
    opsPort = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.opsPort!, opts.host ?? '127.0.0.1', () =>
        resolve((server.address() as AddressInfo).port),
      );
    });
  }

  return {
    opsPort,
    pullOnce,
    refreshInventory,
    checkpoint: loadCheckpoint,
    async close() {
      if (closing) return;
      closing = true;
      for (const t of timers) clearTimeout(t);
      // Let a pull in progress finish its current window (and checkpoint) before returning.
      await running;
      // Hand the lock over at once rather than when the connection times out.
      await lease?.release().catch(() => undefined);
      lease = null;
      if (ops) await new Promise<void>((r) => ops!.close(() => r()));
    },
  };
}
