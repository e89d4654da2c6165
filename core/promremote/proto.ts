/**
 * Prometheus remote-read protobuf messages (prompb), encoded and decoded by hand over the shallow wire walker:
 *
 *   ReadRequest   { repeated Query queries = 1; repeated ResponseType accepted_response_types = 2; }
 *   Query         { int64 start_timestamp_ms = 1; int64 end_timestamp_ms = 2; repeated LabelMatcher matchers = 3;
 *                   ReadHints hints = 4; }
 *   LabelMatcher  { Type type = 1 (EQ, NEQ, RE, NRE); string name = 2; string value = 3; }
 *   ReadResponse  { repeated QueryResult results = 1; }      QueryResult { repeated TimeSeries timeseries = 1; }
 *   TimeSeries    { repeated Label labels = 1; repeated Sample samples = 2; ... }
 *   Label         { string name = 1; string value = 2; }     Sample { double value = 1; int64 timestamp = 2; }
 *   ChunkedReadResponse { repeated ChunkedSeries chunked_series = 1; int64 query_index = 2; }
 *   ChunkedSeries { repeated Label labels = 1; repeated Chunk chunks = 2; }
 *   Chunk         { int64 min_time_ms = 1; int64 max_time_ms = 2; Encoding type = 3 (XOR = 1); bytes data = 4; }
 *
 * STREAMED_XOR_CHUNKS bodies are frames of: uvarint length, big-endian CRC-32C of the message, the message.
 */
import { err, ok, type Result } from '../result.js';
import { readVarint, walk, WIRE_I64, WIRE_LEN, WIRE_VARINT } from '../protowire.js';
import { ProtoWriter } from '../otlp/encode.js';
import { crc32c } from './crc32c.js';

export type MatcherType = 'EQ' | 'NEQ' | 'RE' | 'NRE';
const MATCHER_CODES: Record<MatcherType, number> = { EQ: 0, NEQ: 1, RE: 2, NRE: 3 };

export interface LabelMatcher {
  readonly type: MatcherType;
  readonly name: string;
  readonly value: string;
}

export interface ReadQuery {
  readonly startMs: number;
  readonly endMs: number;
  readonly matchers: readonly LabelMatcher[];
}

export const RESPONSE_TYPE = { SAMPLES: 0, STREAMED_XOR_CHUNKS: 1 } as const;
export type ResponseTypeName = keyof typeof RESPONSE_TYPE;

export const CHUNK_ENCODING = { UNKNOWN: 0, XOR: 1, HISTOGRAM: 2, FLOAT_HISTOGRAM: 3 } as const;

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly t: number;
  readonly v: number;
}

export interface SeriesSamples {
  readonly labels: Labels;
  readonly samples: readonly Sample[];
}

export interface ChunkRef {
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
  readonly type: number;
  readonly data: Uint8Array;
}

export interface ChunkedSeries {
  readonly labels: Labels;
  readonly chunks: readonly ChunkRef[];
}

export interface ChunkedReadResponse {
  readonly queryIndex: number;
  readonly series: readonly ChunkedSeries[];
}

const utf8d = new TextDecoder('utf-8', { fatal: true });

export function encodeReadRequest(
  queries: readonly ReadQuery[],
  accepted: readonly ResponseTypeName[],
): Uint8Array {
  const w = new ProtoWriter();
  for (const q of queries) {
    w.message(1, (qw) => {
      qw.varint(1, q.startMs);
      qw.varint(2, q.endMs);
      for (const m of q.matchers) {
        qw.message(3, (mw) => {
          if (MATCHER_CODES[m.type] !== 0) mw.varint(1, MATCHER_CODES[m.type]);
          mw.string(2, m.name);
          mw.string(3, m.value);
        });
      }
    });
  }
  if (accepted.length)
    w.packedVarint(
      2,
      accepted.map((a) => RESPONSE_TYPE[a]),
    );
  return w.finish();
}

/** int64 varint as a JS number (two's-complement negatives folded back). */
function int64At(buf: Uint8Array, pos: number): number {
  const v = readVarint(buf, pos);
  if (!v) return NaN;
  return v[0] >= 2 ** 63 ? v[0] - 2 ** 64 : v[0];
}

function str(buf: Uint8Array, start: number, end: number): string {
  return utf8d.decode(buf.subarray(start, end));
}

type Problem = { message: string | null };

function decodeLabel(buf: Uint8Array, start: number, end: number, p: Problem): [string, string] {
  let name = '';
  let value = '';
  const r = walk(
    buf,
    (f) => {
      if (f.wire !== WIRE_LEN) return undefined;
      try {
        if (f.field === 1) name = str(buf, f.valueStart, f.end);
        else if (f.field === 2) value = str(buf, f.valueStart, f.end);
      } catch {
        p.message = 'label is not valid UTF-8';
        return false;
      }
      return undefined;
    },
    start,
    end,
  );
  if (!r.ok) p.message = `label: ${r.error}`;
  return [name, value];
}

function decodeSample(buf: Uint8Array, start: number, end: number, p: Problem): Sample {
  let v = 0;
  let t = 0;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const r = walk(
    buf,
    (f) => {
      if (f.field === 1 && f.wire === WIRE_I64) v = view.getFloat64(f.valueStart, true);
      else if (f.field === 2 && f.wire === WIRE_VARINT) t = int64At(buf, f.valueStart);
      return undefined;
    },
    start,
    end,
  );
  if (!r.ok) p.message = `sample: ${r.error}`;
  return { t, v };
}

/** Decodes a (decompressed) ReadResponse: one entry per query, each a list of series with samples. */
export function decodeReadResponse(buf: Uint8Array): Result<SeriesSamples[][], string> {
  const p: Problem = { message: null };
  const results: SeriesSamples[][] = [];
  const r = walk(buf, (res) => {
    if (res.field !== 1 || res.wire !== WIRE_LEN) return undefined;
    const series: SeriesSamples[] = [];
    const r2 = walk(
      buf,
      (ts) => {
        if (ts.field !== 1 || ts.wire !== WIRE_LEN) return undefined;
        const labels: Record<string, string> = {};
        const samples: Sample[] = [];
        const r3 = walk(
          buf,
          (f) => {
            if (f.wire !== WIRE_LEN) return undefined;
            if (f.field === 1) {
              const [k, v] = decodeLabel(buf, f.valueStart, f.end, p);
              labels[k] = v;
            } else if (f.field === 2) samples.push(decodeSample(buf, f.valueStart, f.end, p));
            return p.message === null ? undefined : false;
          },
          ts.valueStart,
          ts.end,
        );
        if (!r3.ok) p.message = `timeseries: ${r3.error}`;
        series.push({ labels, samples });
        return p.message === null ? undefined : false;
      },
      res.valueStart,
      res.end,
    );
    if (!r2.ok) p.message = `query result: ${r2.error}`;
    results.push(series);
    return p.message === null ? undefined : false;
  });
  if (!r.ok) return err(`not a ReadResponse: ${r.error}`);
  if (p.message !== null) return err(`not a ReadResponse: ${p.message}`);
  return ok(results);
}

/** Decodes one ChunkedReadResponse message (one frame's payload). */
export function decodeChunkedReadResponse(buf: Uint8Array): Result<ChunkedReadResponse, string> {
  const p: Problem = { message: null };
  let queryIndex = 0;
  const series: ChunkedSeries[] = [];
  const r = walk(buf, (f) => {
    if (f.field === 2 && f.wire === WIRE_VARINT) {
      queryIndex = int64At(buf, f.valueStart);
      return undefined;
    }
    if (f.field !== 1 || f.wire !== WIRE_LEN) return undefined;
    const labels: Record<string, string> = {};
    const chunks: ChunkRef[] = [];
    const r2 = walk(
      buf,
      (sf) => {
        if (sf.wire !== WIRE_LEN) return undefined;
        if (sf.field === 1) {
          const [k, v] = decodeLabel(buf, sf.valueStart, sf.end, p);
          labels[k] = v;
        } else if (sf.field === 2) {
          let minTimeMs = 0;
          let maxTimeMs = 0;
          let type = 0;
          let data: Uint8Array = new Uint8Array(0);
          const r3 = walk(
            buf,
            (cf) => {
              if (cf.wire === WIRE_VARINT) {
                const v = int64At(buf, cf.valueStart);
                if (cf.field === 1) minTimeMs = v;
                else if (cf.field === 2) maxTimeMs = v;
                else if (cf.field === 3) type = v;
              } else if (cf.wire === WIRE_LEN && cf.field === 4) data = buf.subarray(cf.valueStart, cf.end);
              return undefined;
            },
            sf.valueStart,
            sf.end,
          );
          if (!r3.ok) p.message = `chunk: ${r3.error}`;
          chunks.push({ minTimeMs, maxTimeMs, type, data });
        }
        return p.message === null ? undefined : false;
      },
      f.valueStart,
      f.end,
    );
    if (!r2.ok) p.message = `chunked series: ${r2.error}`;
    series.push({ labels, chunks });
    return p.message === null ? undefined : false;
  });
  if (!r.ok) return err(`not a ChunkedReadResponse: ${r.error}`);
  if (p.message !== null) return err(`not a ChunkedReadResponse: ${p.message}`);
  return ok({ queryIndex, series });
}

export interface FrameParse {
  /** Complete, checksum-verified frame payloads. */
  readonly frames: Uint8Array[];
  /** Bytes consumed; the rest is an incomplete frame to be completed by more input. */
  readonly consumed: number;
}

/** Splits a STREAMED_XOR_CHUNKS body (or a prefix of it) into frames, verifying each CRC-32C. */
export function parseChunkedFrames(
  buf: Uint8Array,
  maxFrameBytes = 64 * 1024 * 1024,
): Result<FrameParse, string> {
  const frames: Uint8Array[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const len = readVarint(buf, pos);
    if (!len) {
      if (buf.length - pos >= 10) return err(`chunked frame: bad length at byte ${pos}`);
      break;
    }
    const [size, afterLen] = len;
    if (size > maxFrameBytes)
      return err(`chunked frame of ${size} bytes exceeds the ${maxFrameBytes}-byte limit`);
    if (afterLen + 4 + size > buf.length) break;
    const want =
      ((buf[afterLen]! << 24) |
        (buf[afterLen + 1]! << 16) |
        (buf[afterLen + 2]! << 8) |
        buf[afterLen + 3]!) >>>
      0;
    const start = afterLen + 4;
    const got = crc32c(buf, start, start + size);
    if (got !== want) return err(`chunked frame at byte ${pos}: checksum mismatch`);
    frames.push(buf.subarray(start, start + size));
    pos = start + size;
  }
  return ok({ frames, consumed: pos });
}

// ---- encoders (used to build fixtures and by anything that serves remote read) ------------------------------------

function writeLabels(w: ProtoWriter, field: number, labels: Labels): void {
  for (const k of Object.keys(labels).sort()) {
    w.message(field, (lw) => {
      lw.string(1, k);
      lw.string(2, labels[k]!);
    });
  }
}

export function encodeReadResponse(results: readonly (readonly SeriesSamples[])[]): Uint8Array {
  const w = new ProtoWriter();
  for (const series of results) {
    w.message(1, (qr) => {
      for (const s of series) {
        qr.message(1, (ts) => {
          writeLabels(ts, 1, s.labels);
          for (const smp of s.samples) {
            ts.message(2, (sw) => {
              sw.double(1, smp.v);
              sw.varint(2, smp.t);
            });
          }
        });
      }
    });
  }
  return w.finish();
}

export function encodeChunkedReadResponse(resp: ChunkedReadResponse): Uint8Array {
  const w = new ProtoWriter();
  for (const s of resp.series) {
    w.message(1, (sw) => {
      writeLabels(sw, 1, s.labels);
      for (const c of s.chunks) {
        sw.message(2, (cw) => {
          cw.varint(1, c.minTimeMs);
          cw.varint(2, c.maxTimeMs);
          cw.varint(3, c.type);
          cw.bytes(4, c.data);
        });
      }
    });
  }
  if (resp.queryIndex !== 0) w.varint(2, resp.queryIndex);
  return w.finish();
}

/** One frame: uvarint length, big-endian CRC-32C, payload. */
export function frameChunked(message: Uint8Array): Uint8Array {
  const w = new ProtoWriter();
  w.rawVarint(message.length);
  const head = w.finish();
  const out = new Uint8Array(head.length + 4 + message.length);
  out.set(head, 0);
  const c = crc32c(message);
  out[head.length] = c >>> 24;
  out[head.length + 1] = (c >>> 16) & 0xff;
  out[head.length + 2] = (c >>> 8) & 0xff;
  out[head.length + 3] = c & 0xff;
  out.set(message, head.length + 4);
  return out;
}
