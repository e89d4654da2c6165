/**
 * Fluentd Forward protocol (v1) receiver over TCP: what Fluent Bit's `forward` output and Fluentd/fluent-logger
 * clients speak. Every event mode is accepted:
 *
 * - Message                  `[tag, time, record, option?]`
 * - Forward                  `[tag, [[time, record], ...], option?]`
 * - PackedForward            `[tag, bin(concatenated msgpack [time, record] entries), option?]`
 * - CompressedPackedForward  the same with `option.compressed == "gzip"` (gzip members, possibly concatenated)
 *
 * Time is an integer/float of seconds or the EventTime extension (msgpack ext type 0: big-endian uint32 seconds,
 * uint32 nanoseconds); entries may also be Fluent Bit's `[[time, metadata], record]`.
 *
 * Acknowledgement: when `option.chunk` is present the collector answers `{ack: chunk}` only after the raw message is
 * archived and every record is durable on the bus. It never acks what it did not store. Back-pressure: when the
 * in-flight byte bound is reached the connection stops being read (TCP flow control; nothing is dropped). When the
 * bus or the archive is unavailable, or a message is malformed, the connection is closed without an ack, which makes
 * Fluent Bit and fluent-logger retry the chunk.
 *
 * Authentication (optional, `security`): the protocol's handshake. On connect the collector sends
 * `['HELO', {nonce, auth, keepalive: true}]`; the client must answer `['PING', hostname, salt,
 * sha512_hex(salt + hostname + nonce + shared_key), username, sha512_hex(auth + username + password)]` before anything
 * else, and gets `['PONG', true, '', collector_hostname, sha512_hex(salt + collector_hostname + nonce + shared_key)]`
 * (so it can check the collector too), or `['PONG', false, reason, ...]` and a closed connection. Fluent Bit:
 * `Shared_Key` (and `Username`/`Password`); Fluentd: `<security> shared_key`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import { Packr } from 'msgpackr';
import { err, ok, type Result } from '../core/result.js';
import { CE_SOURCE, TOPICS } from '../events/registry.js';
import type { RawLogBatch } from '../events/schemas.js';
import {
  CollectorMetrics,
  type CollectorBaseOptions,
  InFlightLimiter,
  isUnavailable,
  noopMetrics,
  Publisher,
  silentLogger,
} from './common.js';
import { EventTime, MAX_BATCH_RECORDS, normaliseRecord, unpackr } from './logs.js';

/** maxInFlightBytes bounds bytes across connections; at the bound connections stop being read (nothing is refused). */
export interface ForwardCollectorOptions extends CollectorBaseOptions {
  /** 0 picks a free port. Default 24224 (the Forward protocol's port). */
  readonly port?: number;
  /** Largest single Forward message (and largest decompressed PackedForward stream). Default 16 MiB. */
  readonly maxMessageBytes?: number;
  readonly dateKeys?: readonly string[];
  readonly batchSize?: number;
  /** Idle connections are closed after this long. Default 5 minutes. */
  readonly idleTimeoutMs?: number;
  /** Require the Forward handshake (shared key, optionally users); see the module comment. */
  readonly security?: ForwardSecurity;
}

export interface ForwardSecurity {
  readonly sharedKey: string;
  /** Hostname the collector presents in PONG (must differ from the client's). Default: os.hostname(). */
  readonly hostname?: string;
  /** Username -> password; when set, clients must also authenticate as one of these users. */
  readonly users?: Readonly<Record<string, string>>;
}

export interface ForwardCollector {
  readonly port: number;
  /** Connections currently open. */
  readonly connections: number;
  close(): Promise<void>;
}

const DEFAULT_DATE_KEYS = ['date', 'time', 'timestamp', '@timestamp'];
const packr = new Packr({ useRecords: false });

// ---- msgpack framing -----------------------------------------------------------------------------------------------

/**
 * End offset of the msgpack value starting at `pos`, -1 when `buf` ends before it does, or an error for bytes that
 * are not msgpack (0xc1). Iterative, so hostile nesting cannot exhaust the stack.
 */
export function msgpackValueEnd(buf: Uint8Array, pos: number): Result<number, string> {
  let pending = 1;
  let p = pos;
  const n = buf.length;
  const u16 = (at: number) => (buf[at]! << 8) | buf[at + 1]!;
  const u32 = (at: number) =>
    ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
  while (pending > 0) {
    if (p >= n) return ok(-1);
    if (pending > n - p + 1) return ok(-1); // every value needs at least one byte
    const b = buf[p]!;
    pending--;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      p += 1;
    } else if (b >= 0x80 && b <= 0x8f) {
      pending += 2 * (b & 0x0f);
      p += 1;
    } else if (b >= 0x90 && b <= 0x9f) {
      pending += b & 0x0f;
      p += 1;
    } else if (b >= 0xa0 && b <= 0xbf) {
      p += 1 + (b & 0x1f);
    } else {
      const need = (k: number) => p + k > n;
      switch (b) {
        case 0xc1:
          return err(`byte 0xc1 at offset ${p} is not msgpack`);
        case 0xc4:
        case 0xd9:
          if (need(2)) return ok(-1);
          p += 2 + buf[p + 1]!;
          break;
        case 0xc5:
        case 0xda:
          if (need(3)) return ok(-1);
          p += 3 + u16(p + 1);
          break;
        case 0xc6:
        case 0xdb:
          if (need(5)) return ok(-1);
          p += 5 + u32(p + 1);
          break;
        case 0xc7:
          if (need(2)) return ok(-1);
          p += 3 + buf[p + 1]!;
          break;
        case 0xc8:
          if (need(3)) return ok(-1);
          p += 4 + u16(p + 1);
          break;
        case 0xc9:
          if (need(5)) return ok(-1);
          p += 6 + u32(p + 1);
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          p += 5;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          p += 9;
          break;
        case 0xcc:
        case 0xd0:
          p += 2;
          break;
        case 0xcd:
        case 0xd1:
          p += 3;
          break;
        case 0xd4:
          p += 3;
          break;
        case 0xd5:
          p += 4;
          break;
        case 0xd6:
          p += 6;
          break;
        case 0xd7:
          p += 10;
          break;
        case 0xd8:
          p += 18;
          break;
        case 0xdc:
          if (need(3)) return ok(-1);
          pending += u16(p + 1);
          p += 3;
          break;
        case 0xdd:
          if (need(5)) return ok(-1);
          pending += u32(p + 1);
          p += 5;
          break;
        case 0xde:
          if (need(3)) return ok(-1);
          pending += 2 * u16(p + 1);
          p += 3;
          break;
        case 0xdf:
          if (need(5)) return ok(-1);
          pending += 2 * u32(p + 1);
          p += 5;
          break;
        default:
          return err(`unexpected msgpack byte 0x${b.toString(16)} at offset ${p}`);
      }
    }
  }
  return ok(p > n ? -1 : p);
}

/** Payload of a str/bin value at `pos` (used to recover PackedForward streams sent as msgpack str). */
function rawStringOrBinAt(buf: Uint8Array, pos: number): Uint8Array | null {
  const b = buf[pos];
  if (b === undefined) return null;
  let start: number;
  let len: number;
  if (b >= 0xa0 && b <= 0xbf) [start, len] = [pos + 1, b & 0x1f];
  else if (b === 0xd9 || b === 0xc4) [start, len] = [pos + 2, buf[pos + 1] ?? 0];
  else if (b === 0xda || b === 0xc5)
    [start, len] = [pos + 3, ((buf[pos + 1] ?? 0) << 8) | (buf[pos + 2] ?? 0)];
  else if (b === 0xdb || b === 0xc6)
    [start, len] = [
      pos + 5,
      (((buf[pos + 1] ?? 0) << 24) |
        ((buf[pos + 2] ?? 0) << 16) |
        ((buf[pos + 3] ?? 0) << 8) |
        (buf[pos + 4] ?? 0)) >>>
        0,
    ];
  else return null;
  return start + len <= buf.length ? buf.subarray(start, start + len) : null;
}

/** The raw bytes of the second element of a msgpack array message. */
function secondElementRaw(msg: Uint8Array): Uint8Array | null {
  const b = msg[0];
  if (b === undefined) return null;
  const first = b >= 0x90 && b <= 0x9f ? 1 : b === 0xdc ? 3 : b === 0xdd ? 5 : -1;
  if (first < 0) return null;
  const tagEnd = msgpackValueEnd(msg, first);
  if (!tagEnd.ok || tagEnd.value < 0) return null;
  return rawStringOrBinAt(msg, tagEnd.value);
}

// ---- message interpretation -----------------------------------------------------------------------------------------

export type ForwardMode = 'Message' | 'Forward' | 'PackedForward' | 'CompressedPackedForward';

export interface ForwardEntry {
  readonly time: unknown;
  readonly record: Record<string, unknown>;
}

export interface ForwardMessage {
  readonly mode: ForwardMode;
  readonly tag: string;
  readonly entries: ForwardEntry[];
  readonly chunk: string | null;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof EventTime) &&
    !(v instanceof Map)
  );
}

function isTime(v: unknown): boolean {
  return v instanceof EventTime || (typeof v === 'number' && Number.isFinite(v) && v >= 0);
}

function toForwardEntry(v: unknown, i: number): Result<ForwardEntry, string> {
  if (!Array.isArray(v) || v.length < 2) return err(`entry #${i} is not a [time, record] pair`);
  const head: unknown = v[0];
  const time: unknown = Array.isArray(head) ? head[0] : head;
  if (!isTime(time)) return err(`entry #${i} has no valid time (integer, float or EventTime)`);
  if (!isMap(v[1])) return err(`entry #${i} record is not a map`);
  return ok({ time, record: v[1] });
}

const gunzipBounded = (data: Uint8Array, limit: number): Promise<Result<Uint8Array, string>> =>
  new Promise((resolve) =>
    gunzip(data, { maxOutputLength: limit }, (e, out) =>
      resolve(e ? err(`compressed entries are not valid gzip within ${limit} bytes: ${e.message}`) : ok(out)),
    ),
  );

/** Decodes and validates one Forward message (all entries, or an error: never a part). */
export async function parseForwardMessage(
  msg: Uint8Array,
  maxDecompressedBytes: number,
): Promise<Result<ForwardMessage, string>> {
  let v: unknown;
  try {
    v = unpackr.unpack(msg);
  } catch (e) {
    return err(`not msgpack: ${(e as Error).message}`);
  }
  if (!Array.isArray(v) || v.length < 2 || v.length > 4)
    return err('a Forward message is an array of 2 to 4 items');
  const tag: unknown = v[0];
  if (typeof tag !== 'string' || tag === '' || tag.length > 512)
    return err('the tag must be a non-empty string');
  const second: unknown = v[1];
  let option: unknown;
  let mode: ForwardMode;
  const entries: ForwardEntry[] = [];
  if (isTime(second)) {
    // Message mode: [tag, time, record, option?]
    if (v.length < 3) return err('Message mode needs [tag, time, record]');
    if (!isMap(v[2])) return err('Message mode record is not a map');
    mode = 'Message';
    entries.push({ time: second, record: v[2] });
    option = v[3];
  } else if (Array.isArray(second)) {
    mode = 'Forward';
    for (const [i, e] of second.entries()) {
      const fe = toForwardEntry(e, i);
      if (!fe.ok) return fe;
      entries.push(fe.value);
    }
    option = v[2];
  } else if (second instanceof Uint8Array || typeof second === 'string') {
    option = v[2];
    const compressed = isMap(option) ? option['compressed'] : undefined;
    let stream = second instanceof Uint8Array ? second : secondElementRaw(msg);
    if (!stream) return err('PackedForward entries could not be read');
    if (compressed !== undefined && compressed !== 'gzip' && compressed !== 'text')
      return err(`unsupported compression ${JSON.stringify(compressed)} (gzip or text)`);
    if (compressed === 'gzip') {
      mode = 'CompressedPackedForward';
      const z = await gunzipBounded(stream, maxDecompressedBytes);
      if (!z.ok) return z;
      stream = z.value;
    } else mode = 'PackedForward';
    let values: unknown[];
    try {
      values = stream.length === 0 ? [] : unpackr.unpackMultiple(stream);
    } catch (e) {
      return err(`PackedForward entries are not msgpack: ${(e as Error).message}`);
    }
    for (const [i, e] of values.entries()) {
      const fe = toForwardEntry(e, i);
      if (!fe.ok) return fe;
      entries.push(fe.value);
    }
  } else return err('the second item must be a time, an entry array or a packed entry stream');
  if (option !== undefined && option !== null && !isMap(option)) return err('option must be a map');
  const chunkV = isMap(option) ? option['chunk'] : undefined;
  if (chunkV !== undefined && (typeof chunkV !== 'string' || chunkV === '' || chunkV.length > 1024))
    return err('option.chunk must be a non-empty string');
  return ok({ mode, tag, entries, chunk: typeof chunkV === 'string' ? chunkV : null });
}

/** The ack for a chunk: the msgpack map {ack: chunk}. */
export function ackBytes(chunk: string): Uint8Array {
  return packr.pack({ ack: chunk });
}

// ---- handshake (shared key) ----------------------------------------------------------------------------------------

function sha512Hex(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** One connection's handshake state: the HELO it was sent, and the check of the PING that must follow. */
export interface Handshake {
  readonly helo: Uint8Array;
  /** Checks a PING message; returns the PONG to send and whether the client is in. */
  answer(ping: unknown): { readonly pong: Uint8Array; readonly ok: boolean; readonly reason: string };
}

export function newHandshake(sec: ForwardSecurity, nonce: Uint8Array = randomBytes(16)): Handshake {
  const server = sec.hostname ?? osHostname();
  const authSalt: Uint8Array | string = sec.users ? randomBytes(16) : '';
  const refuse = (reason: string) => ({
    pong: packr.pack(['PONG', false, reason, server, '']),
    ok: false,
    reason,
  });
  return {
    helo: packr.pack(['HELO', { nonce, auth: authSalt, keepalive: true }]),
    answer(ping) {
      if (
        !Array.isArray(ping) ||
        ping.length !== 6 ||
        ping[0] !== 'PING' ||
        typeof ping[1] !== 'string' ||
        !(typeof ping[2] === 'string' || ping[2] instanceof Uint8Array) ||
        typeof ping[3] !== 'string' ||
        typeof ping[4] !== 'string' ||
        typeof ping[5] !== 'string'
      )
        return refuse('expected PING (shared key authentication is required)');
      const [, client, salt, digest, user, passwordDigest] = ping as [
        string,
        string,
        string | Uint8Array,
        string,
        string,
        string,
      ];
      if (client === server) return refuse('same hostname between input and output: invalid configuration');
      if (!sameHex(digest, sha512Hex(salt, client, nonce, sec.sharedKey)))
        return refuse('shared key mismatch');
      if (sec.users) {
        const password = Object.hasOwn(sec.users, user) ? sec.users[user] : undefined;
        if (password === undefined || !sameHex(passwordDigest, sha512Hex(authSalt, user, password)))
          return refuse('username/password mismatch');
      }
      return {
        pong: packr.pack(['PONG', true, '', server, sha512Hex(salt, server, nonce, sec.sharedKey)]),
        ok: true,
        reason: '',
      };
    },
  };
}

// ---- server --------------------------------------------------------------------------------------------------------

export async function startForwardCollector(opts: ForwardCollectorOptions): Promise<ForwardCollector> {
  const host = opts.host ?? '127.0.0.1';
  const maxMessageBytes = opts.maxMessageBytes ?? 16 * 1024 * 1024;
  const limiter = new InFlightLimiter(opts.maxInFlightBytes ?? 64 * 1024 * 1024);
  const tenant = opts.tenant ?? 'default';
  const log = opts.log ?? silentLogger;
  const sink = opts.metrics ?? noopMetrics;
  const cm = new CollectorMetrics(sink, 'forward');
  const now = opts.now ?? (() => new Date());
  const dateKeys = opts.dateKeys ?? DEFAULT_DATE_KEYS;
  const batchSize = Math.min(MAX_BATCH_RECORDS, Math.max(1, opts.batchSize ?? MAX_BATCH_RECORDS));
  const publisher = new Publisher(opts.bus, opts.objects, CE_SOURCE.collector('forward'), now, cm);
  const sockets = new Set<Socket>();
  let closing = false;
  let processing = 0;
  let idle: (() => void)[] = [];

  /** Archives and publishes one message; resolves true when everything is durable. */
  async function store(raw: Uint8Array, m: ForwardMessage, received: number): Promise<void> {
    if (m.entries.length === 0) return;
    const at = now();
    const records = m.entries.map((e) => normaliseRecord(e.record, e.time, dateKeys, at));
    await publisher.archive({ signal: 'fluentbit', tenant, body: raw, format: 'msgpack' });
    const items = [];
    for (let i = 0; i < records.length; i += batchSize) {
      const batch: RawLogBatch = {
        source: 'fluentbit-forward',
        tag: m.tag,
        records: records.slice(i, i + batchSize),
      };
      items.push({ key: m.tag, data: batch, extensions: { signal: 'logs', tenant } });
    }
    const n = await publisher.publish(TOPICS.rawLogs, items);
    cm.published('logs', n, records.length);
    cm.publishLatency('logs', (performance.now() - received) / 1000);
    cm.publishLag('logs', (performance.now() - received) / 1000);
  }

  function onConnection(socket: Socket): void {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(opts.idleTimeoutMs ?? 300_000, () => socket.destroy());
    let buf: Uint8Array = new Uint8Array(0);
    const queue: Uint8Array[] = [];
    let waitingForRoom = false;
    let dead = false;
    // With a shared key the first message must be the client's PING; nothing is read as data before it passes.
    let handshake: Handshake | null = opts.security ? newHandshake(opts.security) : null;
    if (handshake) socket.write(handshake.helo);

    const kill = (why: string, fields: Record<string, unknown> = {}) => {
      if (dead) return;
      dead = true;
      log.warn(`forward connection closed without ack: ${why}`, fields);
      socket.destroy();
    };

    const processOne = async (raw: Uint8Array, release: () => void) => {
      const received = performance.now();
      processing++;
      try {
        cm.received('logs', 'forward', raw.length);
        const parsed = await parseForwardMessage(raw, maxMessageBytes);
        if (!parsed.ok) {
          cm.rejected('logs', 'forward', 'invalid');
          kill(`malformed message: ${parsed.error}`);
          return;
        }
        await store(raw, parsed.value, received);
        if (parsed.value.chunk && !dead && !socket.destroyed) socket.write(ackBytes(parsed.value.chunk));
      } catch (e) {
        const unavailable = isUnavailable(e);
        cm.rejected('logs', 'forward', unavailable ? 'unavailable' : 'internal');
        if (unavailable) kill('dependency unavailable; the client will retry', { error: e });
        else {
          log.error('forward message failed', { error: e });
          kill('internal error');
        }
      } finally {
        release();
        cm.inFlight(limiter.inFlight);
        processing--;
        if (processing === 0 && idle.length) {
          const w = idle;
          idle = [];
          for (const f of w) f();
        }
      }
    };

    const pump = () => {
      while (queue.length > 0 && !dead) {
        const msg = queue[0]!;
        const release = limiter.acquire(msg.length);
        if (!release) {
          // Over the in-flight bound: stop reading this connection until something is released.
          cm.rejected('logs', 'forward', 'busy');
          socket.pause();
          if (!waitingForRoom) {
            waitingForRoom = true;
            limiter.onRelease(() => {
              waitingForRoom = false;
              pump();
            });
          }
          return;
        }
        queue.shift();
        cm.inFlight(limiter.inFlight);
        void processOne(msg, release);
      }
      if (!dead && !closing) socket.resume();
    };

    socket.on('data', (chunk: Buffer) => {
      if (dead) return;
      if (buf.length === 0) buf = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      else {
        const next = new Uint8Array(buf.length + chunk.length);
        next.set(buf, 0);
        next.set(chunk, buf.length);
        buf = next;
      }
      let pos = 0;
      while (pos < buf.length) {
        const end = msgpackValueEnd(buf, pos);
        if (!end.ok) {
          cm.rejected('logs', 'forward', 'invalid');
          kill(end.error);
          return;
        }
        if (end.value < 0) {
          if (buf.length - pos > maxMessageBytes) {
            cm.rejected('logs', 'forward', 'too_large');
            kill(`message exceeds the ${maxMessageBytes}-byte limit`);
            return;
          }
          break;
        }
        if (end.value - pos > maxMessageBytes) {
          cm.rejected('logs', 'forward', 'too_large');
          kill(`message exceeds the ${maxMessageBytes}-byte limit`);
          return;
        }
        if (handshake) {
          let ping: unknown;
          try {
            ping = unpackr.unpack(buf.subarray(pos, end.value));
          } catch {
            ping = null;
          }
          const a = handshake.answer(ping);
          socket.write(a.pong);
          if (!a.ok) {
            cm.rejected('logs', 'forward', 'unauthenticated');
            dead = true;
            log.warn('forward client refused', { reason: a.reason, remote: socket.remoteAddress });
            socket.end();
            return;
          }
          handshake = null;
          pos = end.value;
          continue;
        }
        queue.push(buf.slice(pos, end.value));
        pos = end.value;
      }
      buf = pos === buf.length ? new Uint8Array(0) : buf.slice(pos);
      pump();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      dead = true;
      sockets.delete(socket);
    });
  }

  const server: Server = createServer(onConnection);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 24224, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  log.info('forward collector listening', {
    host,
    port,
    authentication: opts.security ? 'shared key' : 'none',
  });
  if (!opts.security && !['127.0.0.1', '::1', 'localhost'].includes(host))
    log.warn('forward collector: no shared key; any client that reaches the port can write logs', {
      host,
      port,
    });

  return {
    port,
    get connections() {
      return sockets.size;
    },
    async close() {
      if (closing) return;
      closing = true;
      // Stop accepting and stop reading; finish (and ack) what is already being processed, then close connections.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.pause();
      const drained = processing === 0 ? Promise.resolve() : new Promise<void>((r) => idle.push(r));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), opts.drainTimeoutMs ?? 10_000);
      });
      const r = await Promise.race([drained, timedOut]);
      clearTimeout(timer);
      if (r === 'timeout') log.warn('forward collector drain timed out', { inFlightBytes: limiter.inFlight });
      for (const s of sockets) s.end();
      setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 200).unref();
      await closed;
    },
  };
}
