/**
 * Direct walker over an OTLP protobuf ExportTraceServiceRequest into a SpanAccumulator, without building SpanModel
 * objects: span ids are read as two 32-bit halves, the strings the operation key needs are interned from their UTF-8
 * bytes (decoded once per distinct value), and only the ~20 attributes the accumulator reads are located. A span is
 * decoded in full only when its operation key was never seen (then the fingerprinting rules name it).
 *
 * Same results as core/otlp/decode.ts decodeTraces + SpanAccumulator.addModel, including its error cases: a
 * request is checked whole (wire types of every field decodeTraces reads) before any of its spans is added, so a
 * malformed request is an error value and adds nothing. Pure.
 */
import { err, ok, type Result } from '../result.js';
import type { AttrValue, Attrs } from '../otlp/model.js';
import { SpanKind } from '../otlp/model.js';
import { KEY, idKey } from './tables.js';
import { faultOf } from '../fingerprint/fingerprint.js';
import { clientPeer, serviceOf, type SpanAccumulator, type StreamSpan } from './spans.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const enc = new TextEncoder();

/** The attributes the accumulator reads (operation key, faults, probes), by code. */
const KEYS = [
  'http.request.method', // 0
  'http.method', // 1
  'http.route', // 2
  'rpc.service', // 3
  'rpc.method', // 4
  'messaging.destination.name', // 5
  'messaging.destination', // 6
  'server.address', // 7
  'net.peer.name', // 8
  'url.full', // 9
  'http.url', // 10
  'url.path', // 11
  'http.target', // 12
  'http.response.status_code', // 13
  'http.status_code', // 14
  'rpc.grpc.status_code', // 15
  'rpc.response.status_code', // 16
  'error.type', // 17
  'user_agent.original', // 18
  'http.user_agent', // 19
] as const;
const NKEYS = KEYS.length;
const KEY_BYTES = KEYS.map((k) => enc.encode(k));
/** Candidate codes by key length. */
const BY_LEN: number[][] = [];
KEY_BYTES.forEach((b, code) => (BY_LEN[b.length] ??= []).push(code));

const PROBES = ['kube-probe/', 'elb-healthchecker/', 'googlehc/', 'prometheus/'].map((p) => enc.encode(p));

class Malformed extends Error {}

// ---- wire reading (throws Malformed) -------------------------------------------------------------------------------

let POS = 0;

function varint(buf: Uint8Array, pos: number, end: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Malformed('truncated varint');
    const b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) {
      POS = pos;
      return result;
    }
    mul *= 128;
  }
  throw new Malformed('overlong varint');
}

/** Reads a tag at POS; returns field * 8 + wire and leaves POS at the value. */
function tag(buf: Uint8Array, end: number): number {
  const t = varint(buf, POS, end);
  if (t < 8) throw new Malformed('field number 0');
  return t;
}

/** Skips a value of `wire` at POS (bounded by end): returns where the value (LEN: its payload) starts, POS after. */
function skip(buf: Uint8Array, wire: number, end: number): number {
  const start = POS;
  switch (wire) {
    case 0:
      varint(buf, start, end);
      return start;
    case 1:
      POS = start + 8;
      break;
    case 5:
      POS = start + 4;
      break;
    case 2: {
      const len = varint(buf, start, end);
      const payload = POS;
      POS = payload + len;
      if (POS > end) throw new Malformed('field overruns its message');
      return payload;
    }
    default:
      throw new Malformed(`unsupported wire type ${wire}`);
  }
  if (POS > end) throw new Malformed('field overruns its message');
  return start;
}

function expectWire(wire: number, want: number, what: string): void {
  if (wire !== want) throw new Malformed(`${what} has wire type ${wire}, expected ${want}`);
}

/** Validates an AnyValue payload as decode.ts reads it (recursively for arrays and kvlists). */
function checkAnyValue(buf: Uint8Array, start: number, end: number): void {
  POS = start;
  while (POS < end) {
    const t = tag(buf, end);
    const f = Math.floor(t / 8);
    const w = t & 7;
    const vs = skip(buf, w, end);
    const after = POS;
    if (f === 1 || f === 7) expectWire(w, 2, 'AnyValue string/bytes');
    else if (f === 2 || f === 3) expectWire(w, 0, 'AnyValue bool/int');
    else if (f === 4) expectWire(w, 1, 'AnyValue.double_value');
    else if (f === 5 || f === 6) {
      expectWire(w, 2, 'AnyValue array/kvlist');
      POS = vs;
      while (POS < after) {
        const et = tag(buf, after);
        const es = skip(buf, et & 7, after);
        const ee = POS;
        if (et >>> 3 === 1) {
          expectWire(et & 7, 2, 'values');
          if (f === 5) checkAnyValue(buf, es, ee);
          else checkKeyValue(buf, es, ee);
        }
        POS = ee;
      }
    }
    POS = after;
  }
}

/** Validates a KeyValue; returns the value payload range in KV_* (KV_VS = -1 when absent), key in KV_KS/KV_KE. */
let KV_KS = 0;
let KV_KE = 0;
let KV_VS = -1;
let KV_VE = -1;
function checkKeyValue(buf: Uint8Array, start: number, end: number): void {
  let ks = 0;
  let ke = 0;
  let vs = -1;
  let ve = -1;
  POS = start;
  while (POS < end) {
    const t = tag(buf, end);
    const w = t & 7;
    const s = skip(buf, w, end);
    const after = POS;
    if (t >>> 3 === 1) {
      expectWire(w, 2, 'KeyValue.key');
      ks = s;
      ke = after;
    } else if (t >>> 3 === 2) {
      expectWire(w, 2, 'KeyValue.value');
      checkAnyValue(buf, s, after);
      vs = s;
      ve = after;
    }
    POS = after;
  }
  KV_KS = ks;
  KV_KE = ke;
  KV_VS = vs;
  KV_VE = ve;
}

// ---- values as decode.ts materialises them -----------------------------------------------------------------------

type JsonLike = string | number | boolean | null | JsonLike[] | { [k: string]: JsonLike };

function int64At(buf: Uint8Array, pos: number, end: number): number {
  if (end - pos <= 7) return varint(buf, pos, end); // below 2^49: non-negative, exact
  let r = 0n;
  let shift = 0n;
  for (let p = pos; p < end; p++) {
    const b = buf[p]!;
    r |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if (b < 0x80) break;
  }
  return Number(BigInt.asIntN(64, r & ((1n << 64n) - 1n)));
}

function anyValue(buf: Uint8Array, start: number, end: number): JsonLike {
  let v: JsonLike = null;
  let pos = start;
  while (pos < end) {
    POS = pos;
    const t = tag(buf, end);
    const f = t >>> 3;
    const vs = skip(buf, t & 7, end);
    const ve = POS;
    if (f === 1) v = utf8.decode(buf.subarray(vs, ve));
    else if (f === 2) v = varint(buf, vs, ve) !== 0;
    else if (f === 3) v = int64At(buf, vs, ve);
    else if (f === 4) v = new DataView(buf.buffer, buf.byteOffset + vs, 8).getFloat64(0, true);
    else if (f === 5 || f === 6) {
      const arr: JsonLike[] = [];
      const obj: Record<string, JsonLike> = {};
      let p = vs;
      while (p < ve) {
        POS = p;
        const et = tag(buf, ve);
        const es = skip(buf, et & 7, ve);
        const ee = POS;
        if (et >>> 3 === 1) {
          if (f === 5) arr.push(anyValue(buf, es, ee));
          else {
            const [k, x] = keyValue(buf, es, ee);
            obj[k] = x;
          }
        }
        p = ee;
      }
      v = f === 5 ? arr : obj;
    } else if (f === 7) v = Buffer.from(buf.subarray(vs, ve)).toString('base64');
    pos = ve;
  }
  return v;
}

function keyValue(buf: Uint8Array, start: number, end: number): [string, JsonLike] {
  let key = '';
  let value: JsonLike = null;
  let pos = start;
  while (pos < end) {
    POS = pos;
    const t = tag(buf, end);
    const s = skip(buf, t & 7, end);
    const e = POS;
    if (t >>> 3 === 1) key = utf8.decode(buf.subarray(s, e));
    else if (t >>> 3 === 2) value = anyValue(buf, s, e);
    pos = e;
  }
  return [key, value];
}

function toAttr(v: JsonLike): AttrValue {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v === null) return '';
  return JSON.stringify(v);
}

function hex(buf: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) out += buf[i]!.toString(16).padStart(2, '0');
  return out;
}

/** fixed64 unix nanoseconds at pos -> ms exactly as nanoToMs(decimal string) computes it. */
function nanosToMs(buf: Uint8Array, pos: number): number {
  const lo = (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
  const hi = (buf[pos + 4]! | (buf[pos + 5]! << 8) | (buf[pos + 6]! << 16) | (buf[pos + 7]! << 24)) >>> 0;
  if (hi === 0 && lo < 1_000_000) return 0; // fewer than 7 digits
  // hi * 2^32 + lo = hi * 4294 * 1e6 + (hi * 967296 + lo), the second part exact below 2^53
  const t = hi * 967296 + lo;
  const r = t % 1e6;
  const ms = hi * 4294 + (t - r) / 1e6;
  return ms + r / 1e6;
}

// ---- span records (struct of arrays, reused across requests) -------------------------------------------------------

const F = {
  // int fields per span
  START: 0, // span message start
  END: 1,
  RES: 2, // resource index
  ID: 3, // 0 none, 1 canonical (8 bytes), 2 other bytes
  ID_HI: 4,
  ID_LO: 5,
  ID_S: 6,
  ID_E: 7,
  P: 8,
  P_HI: 9,
  P_LO: 10,
  P_S: 11,
  P_E: 12,
  NAME_S: 13,
  NAME_E: 14,
  ATTR0: 15, // first entry in the attribute list
  ATTR1: 16,
  STRIDE: 17,
} as const;

class Records {
  n = 0;
  ints = new Int32Array(1024 * F.STRIDE);
  /** kind, startMs, endMs, statusCode per span. */
  nums = new Float64Array(1024 * 4);
  /** Located attributes: code, value start, value end (value payload of the AnyValue). */
  attrs = new Int32Array(4096 * 3);
  nAttrs = 0;

  span(): number {
    if ((this.n + 1) * F.STRIDE > this.ints.length) {
      const a = new Int32Array(this.ints.length * 2);
      a.set(this.ints);
      this.ints = a;
      const b = new Float64Array(this.nums.length * 2);
      b.set(this.nums);
      this.nums = b;
    }
    return this.n++;
  }

  attr(code: number, vs: number, ve: number): void {
    if ((this.nAttrs + 1) * 3 > this.attrs.length) {
      const a = new Int32Array(this.attrs.length * 2);
      a.set(this.attrs);
      this.attrs = a;
    }
    const i = this.nAttrs++ * 3;
    this.attrs[i] = code;
    this.attrs[i + 1] = vs;
    this.attrs[i + 2] = ve;
  }
}

function keyCode(buf: Uint8Array, s: number, e: number): number {
  const cands = BY_LEN[e - s];
  if (cands === undefined) return -1;
  for (const code of cands) {
    const k = KEY_BYTES[code]!;
    let i = k.length - 1;
    while (i >= 0 && buf[s + i] === k[i]) i--;
    if (i < 0) return code;
  }
  return -1;
}

function idField(buf: Uint8Array, s: number, e: number, rec: Records, base: number, at: number): void {
  const ints = rec.ints;
  if (e - s === 0) ints[base + at] = 0;
  else if (e - s === 8) {
    ints[base + at] = 1;
    ints[base + at + 1] = (buf[s]! << 24) | (buf[s + 1]! << 16) | (buf[s + 2]! << 8) | buf[s + 3]!;
    ints[base + at + 2] = (buf[s + 4]! << 24) | (buf[s + 5]! << 16) | (buf[s + 6]! << 8) | buf[s + 7]!;
  } else ints[base + at] = 2;
  ints[base + at + 3] = s;
  ints[base + at + 4] = e;
}

function parseSpan(buf: Uint8Array, start: number, end: number, res: number, rec: Records): void {
  const i = rec.span();
  const b = i * F.STRIDE;
  const ints = rec.ints;
  ints[b + F.START] = start;
  ints[b + F.END] = end;
  ints[b + F.RES] = res;
  ints[b + F.ID] = 0;
  ints[b + F.P] = 0;
  ints[b + F.NAME_S] = 0;
  ints[b + F.NAME_E] = 0;
  ints[b + F.ATTR0] = rec.nAttrs;
  let kind = 0;
  let startMs = 0;
  let endMs = 0;
  let status = 0;
  POS = start;
  while (POS < end) {
    const t = tag(buf, end);
    const f = t >>> 3;
    const w = t & 7;
    const s = skip(buf, w, end);
    const e = POS;
    switch (f) {
      case 1:
        expectWire(w, 2, 'Span.trace_id');
        break;
      case 2:
        expectWire(w, 2, 'Span.span_id');
        idField(buf, s, e, rec, b, F.ID);
        break;
      case 4:
        expectWire(w, 2, 'Span.parent_span_id');
        idField(buf, s, e, rec, b, F.P);
        break;
      case 5:
        expectWire(w, 2, 'Span.name');
        rec.ints[b + F.NAME_S] = s;
        rec.ints[b + F.NAME_E] = e;
        break;
      case 6:
        expectWire(w, 0, 'Span.kind');
        kind = varint(buf, s, e);
        break;
      case 7:
        expectWire(w, 1, 'Span.start_time_unix_nano');
        startMs = nanosToMs(buf, s);
        break;
      case 8:
        expectWire(w, 1, 'Span.end_time_unix_nano');
        endMs = nanosToMs(buf, s);
        break;
      case 9: {
        expectWire(w, 2, 'Span.attributes');
        checkKeyValue(buf, s, e);
        const code = keyCode(buf, KV_KS, KV_KE);
        if (code >= 0) rec.attr(code, KV_VS, KV_VE);
        break;
      }
      case 15: {
        expectWire(w, 2, 'Span.status');
        POS = s;
        while (POS < e) {
          const st = tag(buf, e);
          const ss = skip(buf, st & 7, e);
          if (st >>> 3 === 2) expectWire(st & 7, 2, 'Status.message');
          else if (st >>> 3 === 3) {
            expectWire(st & 7, 0, 'Status.code');
            status = varint(buf, ss, e);
          }
        }
        break;
      }
    }
    POS = e;
  }
  rec.ints[b + F.ATTR1] = rec.nAttrs;
  const nb = i * 4;
  rec.nums[nb] = kind;
  rec.nums[nb + 1] = startMs;
  rec.nums[nb + 2] = endMs;
  rec.nums[nb + 3] = status;
}

function checkAttrsList(buf: Uint8Array, start: number, end: number, field: number, into?: Attrs): void {
  POS = start;
  while (POS < end) {
    const t = tag(buf, end);
    const s = skip(buf, t & 7, end);
    const e = POS;
    if (t >>> 3 === field) {
      expectWire(t & 7, 2, 'attributes');
      checkKeyValue(buf, s, e);
      if (into) {
        const [k, v] = keyValue(buf, s, e);
        into[k] = toAttr(v);
      }
    }
    POS = e;
  }
}

/** Parses a whole request into `rec` and the resources' services; throws Malformed. */
function parseRequest(buf: Uint8Array, rec: Records, services: string[]): void {
  rec.n = 0;
  rec.nAttrs = 0;
  services.length = 0;
  const end = buf.length;
  let pos = 0;
  while (pos < end) {
    POS = pos;
    const t = tag(buf, end);
    const rs = skip(buf, t & 7, end);
    const re = POS;
    pos = re;
    if (t >>> 3 !== 1) continue;
    expectWire(t & 7, 2, 'ResourceSpans');
    // resource (last one wins) and scopes, in either order
    let resource: Attrs = {};
    const scopes: number[] = [];
    POS = rs;
    while (POS < re) {
      const ft = tag(buf, re);
      const fs = skip(buf, ft & 7, re);
      const fe = POS;
      if (ft >>> 3 === 1) {
        expectWire(ft & 7, 2, 'resource');
        resource = {};
        checkAttrsList(buf, fs, fe, 1, resource);
      } else if (ft >>> 3 === 2) {
        expectWire(ft & 7, 2, 'ScopeSpans');
        scopes.push(fs, fe);
      }
      POS = fe;
    }
    const res = services.length;
    services.push(serviceOf(resource));
    for (let k = 0; k < scopes.length; k += 2) {
      const ss = scopes[k]!;
      const se = scopes[k + 1]!;
      const spans: number[] = [];
      POS = ss;
      while (POS < se) {
        const st = tag(buf, se);
        const s = skip(buf, st & 7, se);
        const e = POS;
        if (st >>> 3 === 1) {
          expectWire(st & 7, 2, 'scope');
          POS = s;
          while (POS < e) {
            const nt = tag(buf, e);
            skip(buf, nt & 7, e);
            if (nt >>> 3 === 1) expectWire(nt & 7, 2, 'InstrumentationScope.name');
          }
        } else if (st >>> 3 === 2) {
          expectWire(st & 7, 2, 'ScopeSpans item');
          spans.push(s, e);
        }
        POS = e;
      }
      for (let x = 0; x < spans.length; x += 2) parseSpan(buf, spans[x]!, spans[x + 1]!, res, rec);
    }
  }
}

// ---- feeding the accumulator -------------------------------------------------------------------------------------

/** Per-span view of the located attributes (last occurrence wins, as in decodeTraces). */
class View {
  readonly stamp = new Int32Array(NKEYS);
  readonly vs = new Int32Array(NKEYS);
  readonly ve = new Int32Array(NKEYS);
  /** 1 when the AnyValue is exactly one string field (its bytes at sS..sE), else 0. */
  readonly isStr = new Uint8Array(NKEYS);
  readonly sS = new Int32Array(NKEYS);
  readonly sE = new Int32Array(NKEYS);
  cur = 0;
}

function has(v: View, c: number): boolean {
  return v.stamp[c] === v.cur;
}

/** First present of two codes (the `a ?? b` of the string path), or -1. */
function first(v: View, a: number, b: number): number {
  return v.stamp[a] === v.cur ? a : v.stamp[b] === v.cur ? b : -1;
}

function valueOf(buf: Uint8Array, v: View, c: number): AttrValue | undefined {
  if (c < 0 || v.stamp[c] !== v.cur) return undefined;
  if (v.isStr[c] === 1) return utf8.decode(buf.subarray(v.sS[c], v.sE[c]));
  return v.vs[c]! < 0 ? '' : toAttr(anyValue(buf, v.vs[c]!, v.ve[c]!));
}

function strOf(v: AttrValue | undefined): string {
  return typeof v === 'string' ? v : v === undefined ? '' : String(v);
}

/** Interned id of str(value of c) ('' when absent). */
function idOf(acc: SpanAccumulator, buf: Uint8Array, v: View, c: number): number {
  if (c < 0 || v.stamp[c] !== v.cur) return 0;
  if (v.isStr[c] === 1) return acc.bytes.id(buf, v.sS[c]!, v.sE[c]!);
  return acc.strings.id(strOf(valueOf(buf, v, c)));
}

function locate(buf: Uint8Array, rec: Records, i: number, v: View): void {
  v.cur++;
  const b = i * F.STRIDE;
  for (let a = rec.ints[b + F.ATTR0]!; a < rec.ints[b + F.ATTR1]!; a++) {
    const code = rec.attrs[a * 3]!;
    const vs = rec.attrs[a * 3 + 1]!;
    const ve = rec.attrs[a * 3 + 2]!;
    v.stamp[code] = v.cur;
    v.vs[code] = vs;
    v.ve[code] = ve;
    // exactly one field: string_value (tag 0x0a)
    let str = 0;
    if (vs >= 0 && ve > vs && buf[vs] === 0x0a) {
      const len = varint(buf, vs + 1, ve);
      if (POS + len === ve) {
        str = 1;
        v.sS[code] = POS;
        v.sE[code] = ve;
      }
    }
    v.isStr[code] = str;
  }
}

/** The peer id of an HTTP client span (clientPeer of the string path). */
function peerId(acc: SpanAccumulator, buf: Uint8Array, v: View): number {
  const p = first(v, 7, 8);
  if (p >= 0) {
    if (v.isStr[p] === 1) {
      if (v.sE[p]! > v.sS[p]!) return acc.bytes.id(buf, v.sS[p]!, v.sE[p]!);
    } else {
      const x = valueOf(buf, v, p);
      if (typeof x === 'string' && x) return acc.strings.id(x);
    }
  }
  const a: Attrs = {};
  const u = first(v, 9, 10);
  if (u >= 0) a['url.full'] = valueOf(buf, v, u)!;
  return acc.strings.id(clientPeer(a));
}

function fillKey(
  acc: SpanAccumulator,
  buf: Uint8Array,
  rec: Records,
  i: number,
  v: View,
  serviceId: number,
): void {
  const k = acc.opKey;
  const b = i * F.STRIDE;
  const kind = rec.nums[i * 4]!;
  const method = first(v, 0, 1);
  const routePresent = has(v, 2);
  k[0] = serviceId;
  k[1] = kind >= 0 && kind <= 255 && Number.isInteger(kind) ? kind : 256 + acc.strings.id(String(kind));
  k[2] = acc.bytes.id(buf, rec.ints[b + F.NAME_S]!, rec.ints[b + F.NAME_E]!);
  k[3] = idOf(acc, buf, v, method);
  k[4] = idOf(acc, buf, v, 2);
  k[5] = idOf(acc, buf, v, 3);
  k[6] = idOf(acc, buf, v, 4);
  k[7] = idOf(acc, buf, v, first(v, 5, 6));
  if (method >= 0 && !routePresent && kind === SpanKind.CLIENT) {
    k[8] = 1;
    k[9] = peerId(acc, buf, v);
    k[10] = 0;
  } else if (method >= 0 && !routePresent) {
    k[8] = 2;
    const p = has(v, 11) ? 11 : has(v, 12) ? 12 : has(v, 9) ? 9 : has(v, 10) ? 10 : -1;
    k[9] = idOf(acc, buf, v, p);
    k[10] = strOf(valueOf(buf, v, first(v, 13, 14))) === '404' ? 1 : 0;
  } else {
    k[8] = 0;
    k[9] = 0;
    k[10] = 0;
  }
}

/** The whole span as the string path sees it (only for operation-cache misses). */
function fullSpan(buf: Uint8Array, rec: Records, i: number): StreamSpan {
  const b = i * F.STRIDE;
  const attributes: Attrs = {};
  checkAttrsList(buf, rec.ints[b + F.START]!, rec.ints[b + F.END]!, 9, attributes);
  const id = (at: number) =>
    rec.ints[b + at] === 0 ? '' : hex(buf, rec.ints[b + at + 3]!, rec.ints[b + at + 4]!);
  const startMs = rec.nums[i * 4 + 1]!;
  const endMs = rec.nums[i * 4 + 2]!;
  return {
    spanId: id(F.ID),
    parentSpanId: id(F.P),
    name: utf8.decode(buf.subarray(rec.ints[b + F.NAME_S], rec.ints[b + F.NAME_E])),
    kind: rec.nums[i * 4]!,
    startMs,
    durationMs: endMs > startMs ? endMs - startMs : 0,
    statusCode: rec.nums[i * 4 + 3]!,
    attributes,
  };
}

function isProbeBytes(buf: Uint8Array, s: number, e: number): boolean {
  for (const p of PROBES) {
    if (e - s < p.length) continue;
    let j = 0;
    while (j < p.length) {
      let c = buf[s + j]!;
      if (c >= 65 && c <= 90) c += 32;
      if (c !== p[j]) break;
      j++;
    }
    if (j === p.length) return true;
  }
  return false;
}

export interface ProtoWalkStats {
  spans: number;
  resources: number;
}

/** Reusable scratch of one walker (records grow to the largest request seen). */
export class TracesProtoReader {
  private readonly rec = new Records();
  private readonly view = new View();
  private readonly services: string[] = [];

  /**
   * Adds every span of an encoded ExportTraceServiceRequest to `acc`. A malformed request is an error value and adds
   * nothing.
   */
  read(bytes: Uint8Array, acc: SpanAccumulator): Result<ProtoWalkStats, string> {
    const rec = this.rec;
    try {
      parseRequest(bytes, rec, this.services);
    } catch (e) {
      if (e instanceof Malformed) return err(`malformed OTLP protobuf: ${e.message}`);
      throw e;
    }
    const v = this.view;
    const serviceIds = this.services.map((s) => acc.strings.id(s));
    let lastReset = acc.strings.size;
    for (let i = 0; i < rec.n; i++) {
      const b = i * F.STRIDE;
      const startMs = rec.nums[i * 4 + 1]!;
      if (!(startMs > 0)) {
        acc.skip();
        continue;
      }
      locate(bytes, rec, i, v);
      const service = this.services[rec.ints[b + F.RES]!]!;
      if (acc.strings.size < lastReset)
        for (let r = 0; r < this.services.length; r++) serviceIds[r] = acc.strings.id(this.services[r]!);
      lastReset = acc.strings.size;
      const sid = serviceIds[rec.ints[b + F.RES]!]!;
      fillKey(acc, bytes, rec, i, v, sid);
      let opIdx = acc.cachedOp();
      if (opIdx < 0) {
        opIdx = acc.missOp(service, fullSpan(bytes, rec, i), () => {
          for (let r = 0; r < this.services.length; r++) serviceIds[r] = acc.strings.id(this.services[r]!);
          fillKey(acc, bytes, rec, i, v, serviceIds[rec.ints[b + F.RES]!]!);
        });
        lastReset = acc.strings.size;
      }
      const op = acc.opAt(opIdx);
      const isRoot = rec.ints[b + F.P] === 0;
      const endMs = rec.nums[i * 4 + 2]!;
      if (acc.begin(op, isRoot)) {
        const fault = faultOf(
          rec.nums[i * 4 + 3]!,
          valueOf(bytes, v, first(v, 13, 14)),
          valueOf(bytes, v, 15),
          valueOf(bytes, v, 16),
          valueOf(bytes, v, 17),
        );
        acc.rollup(op, startMs, endMs > startMs ? endMs - startMs : 0, fault);
      }
      const ua = first(v, 18, 19);
      if (ua >= 0 && v.isStr[ua] === 1 && isProbeBytes(bytes, v.sS[ua]!, v.sE[ua]!)) {
        if (!op.probeUa) op.probeUa = utf8.decode(bytes.subarray(v.sS[ua], v.sE[ua]));
      } else if (ua >= 0 && v.isStr[ua] === 0 && typeof valueOf(bytes, v, ua) === 'string') {
        // a string reached through an unusual encoding: the string path's test
        const s = valueOf(bytes, v, ua) as string;
        if (/^(kube-probe|ELB-HealthChecker|GoogleHC|Prometheus)\//i.test(s)) {
          if (!op.probeUa) op.probeUa = s;
        } else op.nonProbe = true;
      } else op.nonProbe = true;
      const idType = rec.ints[b + F.ID]!;
      let sh = 0;
      let sl = 0;
      let ss: string | undefined;
      if (idType === 1) {
        sh = rec.ints[b + F.ID_HI]!;
        sl = rec.ints[b + F.ID_LO]!;
      } else if (idType === 2) {
        idKey(hex(bytes, rec.ints[b + F.ID_S]!, rec.ints[b + F.ID_E]!));
        sh = KEY.hi;
        sl = KEY.lo;
        ss = KEY.str;
      }
      const pType = rec.ints[b + F.P]!;
      if (pType === 1) {
        acc.parentage(
          op,
          idType !== 0,
          sh,
          sl,
          ss,
          false,
          rec.ints[b + F.P_HI]!,
          rec.ints[b + F.P_LO]!,
          undefined,
        );
      } else if (pType === 2) {
        idKey(hex(bytes, rec.ints[b + F.P_S]!, rec.ints[b + F.P_E]!));
        acc.parentage(op, idType !== 0, sh, sl, ss, false, KEY.hi, KEY.lo, KEY.str);
      } else acc.parentage(op, idType !== 0, sh, sl, ss, true, 0, 0, undefined);
    }
    return ok({ spans: rec.n, resources: this.services.length });
  }
}
