/**
 * Fluent Bit-compatible log collector: the receiving end of Fluent Bit's `http` output plugin.
 *
 * Accepted bodies (optionally gzip/deflate compressed, `compress gzip` in Fluent Bit):
 * - `format json`: a JSON array of records, each carrying the time under `json_date_key` (default `date`) in any
 *   `json_date_format` (double seconds, epoch, epoch_ms, iso8601, java_sql_timestamp);
 * - `format json_lines` (newline-delimited) and `format json_stream` (concatenated JSON): records one after another;
 * - `format msgpack`: a stream (or an array) of Fluent Bit events `[timestamp, record]` or `[[timestamp, metadata],
 *   record]`, the timestamp an integer, a float or the EventTime extension (ext type 0), or plain record maps.
 *
 * The tag comes from the URL path (`uri /app.logs` -> tag `app.logs`) or a header (`header_tag`; default header
 * name `fluent-tag`, `x-fluent-tag` and `tag` also read). Records are normalised to RawLogBatch and published to the
 * logs.raw topic keyed by tag, in batches of at most 1000 records. Back-pressure and outages are answered with 429/503
 * and Retry-After, which Fluent Bit retries. The Forward protocol (TCP) is not implemented here.
 */
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { addExtension, Unpackr } from 'msgpackr';
import { err, ok, type Result } from '../core/result.js';
import { CE_SOURCE, TOPICS } from '../events/registry.js';
import type { RawLogBatch } from '../events/schemas.js';
import {
  CollectorMetrics,
  type CollectorBaseOptions,
  decodeContentEncoding,
  HttpError,
  InFlightLimiter,
  isUnavailable,
  mediaType,
  noopMetrics,
  Publisher,
  readBody,
  RETRY_AFTER_SECONDS,
  send,
  serveOps,
  ResponseTracker,
  silentLogger,
  type RejectReason,
} from './common.js';

export interface LogCollectorOptions extends CollectorBaseOptions {
  /** 0 picks a free port. Default 9880 (Fluent Bit's http input default). */
  readonly port?: number;
  /** Largest accepted request, compressed or not. Default 8 MiB. */
  readonly maxMessageBytes?: number;
  /** Record keys holding the time, tried in order. Default: date, time, timestamp, @timestamp. */
  readonly dateKeys?: readonly string[];
  /** Header carrying the tag (Fluent Bit `header_tag`). Default `fluent-tag`. */
  readonly tagHeader?: string;
  /** Records per published batch (at most 1000). */
  readonly batchSize?: number;
}

export interface LogCollector {
  readonly port: number;
  close(): Promise<void>;
}

type RawRecord = RawLogBatch['records'][number];

const MAX_BODY = 1_048_576;
const MAX_SEVERITY = 32;
const MAX_ATTRIBUTES = 128;
const MAX_TAG = 512;
export const MAX_BATCH_RECORDS = 1000;
const DEFAULT_DATE_KEYS = ['date', 'time', 'timestamp', '@timestamp'];
const BODY_KEYS = ['log', 'message', 'msg'];
const SEVERITY_KEYS = ['level', 'severity', 'lvl', 'log_level', 'loglevel'];

// ---- msgpack ---------------------------------------------------------------------------------------------------------

/** Fluent Bit/Fluentd EventTime: msgpack ext type 0, big-endian uint32 seconds + uint32 nanoseconds. */
export class EventTime {
  constructor(
    readonly seconds: number,
    readonly nanoseconds: number,
  ) {}
  toNanos(): bigint {
    return BigInt(this.seconds) * 1_000_000_000n + BigInt(this.nanoseconds);
  }
}

// Decoding only: msgpackr cannot register a packer for ext type 0 (it treats the type as missing).
addExtension({
  type: 0,
  unpack(buf: Uint8Array) {
    if (buf.length !== 8) return null;
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    return new EventTime(v.getUint32(0), v.getUint32(4));
  },
});

export const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

// ---- time parsing ----------------------------------------------------------------------------------------------------

function nanosFromNumber(x: number): bigint | null {
  if (!Number.isFinite(x) || x < 0) return null;
  // Heuristic by magnitude: seconds (float), milliseconds, microseconds, nanoseconds.
  if (x < 1e11) {
    const s = Math.floor(x);
    return BigInt(s) * 1_000_000_000n + BigInt(Math.round((x - s) * 1e6)) * 1000n;
  }
  if (x < 1e14) return BigInt(Math.round(x * 1000)) * 1000n;
  if (x < 1e17) return BigInt(Math.round(x)) * 1000n;
  return BigInt(Math.round(x));
}

const NUMERIC = /^\d+(?:\.\d+)?$/;

function nanosFromString(s: string): bigint | null {
  const t = s.trim();
  if (NUMERIC.test(t)) return nanosFromNumber(Number(t));
  // iso8601 or java_sql_timestamp ("2018-05-30 09:39:52.000681"), without a zone meaning UTC.
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/i.exec(t);
  if (m) {
    const zone = m[4]
      ? m[4].toUpperCase() === 'Z'
        ? 'Z'
        : m[4].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')
      : 'Z';
    const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
    if (Number.isNaN(ms)) return null;
    const frac = BigInt((m[3] ?? '').padEnd(9, '0'));
    return BigInt(ms) * 1_000_000n + frac;
  }
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : BigInt(ms) * 1_000_000n;
}

const MAX_NANOS = (1n << 64n) - 1n;

/** Unix nanoseconds of a time value; null when absent, unparseable or outside the uint64 range. */
function nanosOf(v: unknown): bigint | null {
  const n = nanosOfRaw(v);
  return n !== null && n >= 0n && n <= MAX_NANOS ? n : null;
}

function nanosOfRaw(v: unknown): bigint | null {
  if (v instanceof EventTime) return v.toNanos();
  if (typeof v === 'number') return nanosFromNumber(v);
  if (typeof v === 'bigint') return v >= 0n ? v * 1_000_000_000n : null;
  if (typeof v === 'string') return nanosFromString(v);
  if (v instanceof Date) return BigInt(v.getTime()) * 1_000_000n;
  return null;
}

// ---- normalisation ---------------------------------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof EventTime)
  );
}

function stringify(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
}

function truncate(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

function flatten(prefix: string, v: unknown, into: Record<string, string>): void {
  if (Object.keys(into).length >= MAX_ATTRIBUTES) return;
  if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, x, into);
    return;
  }
  if (v === null || v === undefined) return;
  into[prefix] = truncate(stringify(v), 4096);
}

function kubernetesResource(k8s: unknown): Record<string, string> {
  const res: Record<string, string> = {};
  if (!isPlainObject(k8s)) return res;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const ns = str(k8s['namespace_name']);
  const pod = str(k8s['pod_name']);
  const container = str(k8s['container_name']);
  const node = str(k8s['host']);
  if (ns) res['k8s.namespace.name'] = ns;
  if (pod) res['k8s.pod.name'] = pod;
  if (container) res['k8s.container.name'] = container;
  if (node) res['k8s.node.name'] = node;
  const labels = isPlainObject(k8s['labels']) ? k8s['labels'] : {};
  const service = str(labels['app.kubernetes.io/name']) ?? str(labels['app']) ?? str(labels['k8s-app']);
  if (service) res['service.name'] = service;
  return res;
}

/** Normalises one Fluent Bit record (a map) with an optional event timestamp. */
export function normaliseRecord(
  record: Record<string, unknown>,
  eventTime: unknown,
  dateKeys: readonly string[],
  now: Date,
): RawRecord {
  let time: bigint | null = eventTime === undefined ? null : nanosOf(eventTime);
  let dateKey: string | undefined;
  for (const k of dateKeys) {
    if (record[k] === undefined) continue;
    const t = nanosOf(record[k]);
    if (t !== null) {
      dateKey = k;
      if (time === null) time = t;
      break;
    }
  }
  if (time === null) time = BigInt(now.getTime()) * 1_000_000n;
  const bodyKey = BODY_KEYS.find((k) => record[k] !== undefined && record[k] !== null);
  const sevKey = SEVERITY_KEYS.find((k) => typeof record[k] === 'string' || typeof record[k] === 'number');
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (k !== dateKey && k !== 'kubernetes') rest[k] = v;
  const body = bodyKey !== undefined ? stringify(record[bodyKey]) : stringify(rest);
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (k === bodyKey || k === sevKey) continue;
    flatten(k, v, attributes);
  }
  const out: RawRecord = {
    time_unix_nano: time.toString(),
    body: truncate(body, MAX_BODY),
    attributes,
    resource: kubernetesResource(record['kubernetes']),
  };
  if (sevKey !== undefined) return { ...out, severity: truncate(String(record[sevKey]), MAX_SEVERITY) };
  return out;
}

/** Splits concatenated or newline-delimited JSON values (json_stream / json_lines). */
export function splitJsonStream(text: string): Result<unknown[], string> {
  const out: unknown[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    const start = i;
    const open = text[i];
    if (open !== '{' && open !== '[') return err(`expected a JSON object at character ${i}`);
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) return err(`unterminated JSON value starting at character ${start}`);
    try {
      out.push(JSON.parse(text.slice(start, i)));
    } catch (e) {
      return err(`invalid JSON value at character ${start}: ${(e as Error).message}`);
    }
  }
  return ok(out);
}

interface Entry {
  readonly record: Record<string, unknown>;
  readonly time?: unknown;
}

/** A Fluent Bit event as decoded: [ts, record], [[ts, meta], record] or a bare record map. */
function toEntry(v: unknown, i: number): Result<Entry, string> {
  if (isPlainObject(v)) return ok({ record: v });
  if (Array.isArray(v) && v.length >= 2 && isPlainObject(v[1])) {
    const head: unknown = v[0];
    const time = Array.isArray(head) ? head[0] : head;
    return ok({ record: v[1], time });
  }
  return err(`record #${i} is neither a map nor a [timestamp, map] event`);
}

function toEntries(values: readonly unknown[]): Result<Entry[], string> {
  // `json` format: a single array of records; msgpack may also arrive as one array of events.
  const flat =
    values.length === 1 && Array.isArray(values[0]) && (values[0].length === 0 || !isEventArray(values[0]))
      ? (values[0] as unknown[])
      : values;
  const out: Entry[] = [];
  for (const [i, v] of flat.entries()) {
    const e = toEntry(v, i);
    if (!e.ok) return e;
    out.push(e.value);
  }
  return ok(out);
}

/** True when `a` itself is one [timestamp, record] event rather than a list of records/events. */
function isEventArray(a: unknown[]): boolean {
  return a.length === 2 && !isPlainObject(a[0]) && isPlainObject(a[1]) && !Array.isArray(a[1]);
}

export type FluentFormat = 'json' | 'msgpack';

/** Parses a Fluent Bit http-output body into entries. */
export function parseFluentBody(body: Uint8Array, format: FluentFormat): Result<Entry[], string> {
  if (format === 'msgpack') {
    let values: unknown[];
    try {
      values = unpackr.unpackMultiple(body);
    } catch (e) {
      return err(`body is not valid msgpack: ${(e as Error).message}`);
    }
    return toEntries(values);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return err('body is not valid UTF-8');
  }
  const values = splitJsonStream(text);
  if (!values.ok) return err(`body is not valid JSON, JSON lines or a JSON stream: ${values.error}`);
  return toEntries(values.value);
}

const MEDIA_FORMATS: Record<string, FluentFormat> = {
  'application/json': 'json',
  'application/x-ndjson': 'json',
  'application/jsonlines': 'json',
  'application/x-jsonlines': 'json',
  'application/stream+json': 'json',
  'application/json-seq': 'json',
  'text/plain': 'json',
  'application/msgpack': 'msgpack',
  'application/x-msgpack': 'msgpack',
  'application/vnd.msgpack': 'msgpack',
};

function tagFrom(req: IncomingMessage, path: string, tagHeader: string): string | undefined {
  for (const h of [tagHeader.toLowerCase(), 'fluent-tag', 'x-fluent-tag', 'tag']) {
    const v = req.headers[h];
    const s = Array.isArray(v) ? v[0] : v;
    if (s) return truncate(s, MAX_TAG);
  }
  const p = path.replace(/^\/+|\/+$/g, '');
  if (!p) return undefined;
  let t: string;
  try {
    t = decodeURIComponent(p);
  } catch {
    t = p;
  }
  return truncate(t.replace(/\//g, '.'), MAX_TAG);
}

export async function startLogCollector(opts: LogCollectorOptions): Promise<LogCollector> {
  const host = opts.host ?? '127.0.0.1';
  const maxMessageBytes = opts.maxMessageBytes ?? 8 * 1024 * 1024;
  const limiter = new InFlightLimiter(opts.maxInFlightBytes ?? 64 * 1024 * 1024);
  const tenant = opts.tenant ?? 'default';
  const log = opts.log ?? silentLogger;
  const sink = opts.metrics ?? noopMetrics;
  const cm = new CollectorMetrics(sink, 'fluentbit');
  const now = opts.now ?? (() => new Date());
  const dateKeys = opts.dateKeys ?? DEFAULT_DATE_KEYS;
  const batchSize = Math.min(MAX_BATCH_RECORDS, Math.max(1, opts.batchSize ?? MAX_BATCH_RECORDS));
  const publisher = new Publisher(opts.bus, opts.objects, CE_SOURCE.collector('fluentbit'), now, cm);
  let closing = false;

  const reply = (res: ServerResponse, reason: RejectReason, message: string) => {
    cm.rejected('logs', 'http', reason);
    const status = {
      invalid: 400,
      too_large: 413,
      busy: 429,
      unavailable: 503,
      unsupported: 415,
      unauthenticated: 401,
      internal: 500,
    }[reason];
    const retry = reason === 'busy' || reason === 'unavailable';
    send(res, status, JSON.stringify({ error: reason, message }), 'application/json', {
      ...(retry ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {}),
    });
  };

  async function onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (serveOps(req, res, path, sink, () => !closing)) return;
    if (req.method !== 'POST' && req.method !== 'PUT') {
      send(res, 405, 'use POST or PUT\n', 'text/plain', { allow: 'POST, PUT' });
      return;
    }
    const ct = mediaType(req.headers['content-type']);
    const format: FluentFormat | undefined = ct === '' ? 'json' : MEDIA_FORMATS[ct];
    if (!format) {
      req.resume();
      reply(
        res,
        'unsupported',
        `unsupported Content-Type "${ct}": use application/json, x-ndjson or msgpack`,
      );
      return;
    }
    if (closing) {
      req.resume();
      reply(res, 'unavailable', 'collector is shutting down');
      return;
    }
    let body: Uint8Array;
    try {
      const wire = await readBody(req, maxMessageBytes);
      body = await decodeContentEncoding(wire, req.headers['content-encoding'], maxMessageBytes);
    } catch (e) {
      if (e instanceof HttpError) reply(res, e.reason, e.message);
      else reply(res, 'invalid', `could not read the request body: ${(e as Error).message}`);
      return;
    }
    cm.received('logs', 'http', body.length);
    const release = limiter.acquire(body.length);
    if (!release) {
      reply(
        res,
        'busy',
        `collector busy: ${limiter.inFlight} bytes in flight (limit ${limiter.maxBytes}); retry later`,
      );
      return;
    }
    cm.inFlight(limiter.inFlight);
    const started = performance.now();
    try {
      const parsed = parseFluentBody(body, format);
      if (!parsed.ok) {
        reply(res, 'invalid', parsed.error);
        return;
      }
      const tag = tagFrom(req, path, opts.tagHeader ?? 'fluent-tag');
      const at = now();
      const records = parsed.value.map((e) => normaliseRecord(e.record, e.time, dateKeys, at));
      if (records.length > 0) {
        await publisher.archive({ signal: 'fluentbit', tenant, body, format });
        const batches: RawLogBatch[] = [];
        for (let i = 0; i < records.length; i += batchSize) {
          batches.push({
            source: 'fluentbit-http',
            ...(tag !== undefined ? { tag } : {}),
            records: records.slice(i, i + batchSize),
          });
        }
        const n = await publisher.publish(
          TOPICS.rawLogs,
          batches.map((b) => ({ key: tag ?? null, data: b, extensions: { signal: 'logs', tenant } })),
        );
        cm.published('logs', n, records.length);
      }
      cm.publishLatency('logs', (performance.now() - started) / 1000);
      send(res, 200, '', 'text/plain');
    } catch (e) {
      if (isUnavailable(e)) {
        log.warn('log batch not accepted: dependency unavailable', { error: e });
        reply(res, 'unavailable', `temporarily unavailable: ${(e as Error).message}`);
      } else {
        log.error('log batch failed', { error: e });
        reply(res, 'internal', `internal error: ${(e as Error).message}`);
      }
    } finally {
      release();
      cm.inFlight(limiter.inFlight);
    }
  }

  const responses = new ResponseTracker();
  const server: HttpServer = createServer((req, res) => {
    responses.track(res);
    onHttp(req, res).catch((e: unknown) => {
      log.error('log collector handler crashed', { error: e });
      send(res, 500, 'internal error\n', 'text/plain');
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 9880, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  log.info('fluent bit log collector listening', { host, port });

  return {
    port,
    async close() {
      if (closing) return;
      closing = true;
      responses.closeAfterResponses();
      const closed = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), opts.drainTimeoutMs ?? 10_000);
      });
      const r = await Promise.race([Promise.all([limiter.drain(), closed]), timedOut]);
      clearTimeout(timer);
      if (r === 'timeout') server.closeAllConnections();
    },
  };
}
