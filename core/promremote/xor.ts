/**
 * Prometheus TSDB XOR chunk (Gorilla) decoding and encoding.
 *
 * Layout: a big-endian uint16 sample count, then a bit stream. The first sample is a signed varint timestamp and the
 * 64 raw bits of the value; the second a uvarint timestamp delta and an XOR-encoded value; later samples encode the
 * delta-of-delta of the timestamp with a prefix code ('0' = 0; '10' + 14 bits; '110' + 17 bits; '1110' + 20 bits;
 * '1111' + 64 bits, the short forms two's complement) and an XOR-encoded value ('0' = unchanged; '10' = reuse the
 * previous leading/trailing zero counts; '11' + 5 bits leading + 6 bits significant-bit count (0 meaning 64)).
 */
import { err, ok, type Result } from '../result.js';

export interface XorSample {
  readonly t: number;
  readonly v: number;
}

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

function bitsOf(v: number): bigint {
  F64[0] = v;
  return U64[0]!;
}
function floatOf(b: bigint): number {
  U64[0] = b;
  return F64[0]!;
}

class BitReader {
  private pos = 0; // bit position
  constructor(
    private readonly buf: Uint8Array,
    private readonly startByte: number,
  ) {
    this.pos = startByte * 8;
  }
  get exhausted(): boolean {
    return this.pos >= this.buf.length * 8;
  }
  bit(): number | null {
    if (this.pos >= this.buf.length * 8) return null;
    const b = (this.buf[this.pos >>> 3]! >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }
  /** Up to 64 bits, most significant first. */
  bits(n: number): bigint | null {
    if (this.pos + n > this.buf.length * 8) return null;
    let v = 0n;
    let remaining = n;
    while (remaining > 0) {
      const off = this.pos & 7;
      const take = Math.min(8 - off, remaining);
      const byte = this.buf[this.pos >>> 3]!;
      const chunk = (byte >>> (8 - off - take)) & ((1 << take) - 1);
      v = (v << BigInt(take)) | BigInt(chunk);
      this.pos += take;
      remaining -= take;
    }
    return v;
  }
  byte(): number | null {
    const b = this.bits(8);
    return b === null ? null : Number(b);
  }
  uvarint(): bigint | null {
    let x = 0n;
    let s = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      if (b === null) return null;
      if (b < 0x80) return x | (BigInt(b) << s);
      x |= BigInt(b & 0x7f) << s;
      s += 7n;
    }
    return null;
  }
  varint(): bigint | null {
    const u = this.uvarint();
    if (u === null) return null;
    return u & 1n ? -((u >> 1n) + 1n) : u >> 1n;
  }
}

const U64_MASK = (1n << 64n) - 1n;
function toSigned64(b: bigint): bigint {
  return b >= 1n << 63n ? b - (1n << 64n) : b;
}

/** Decodes an XOR chunk's samples. */
export function decodeXorChunk(data: Uint8Array): Result<XorSample[], string> {
  if (data.length < 2) return err('xor chunk: shorter than its 2-byte header');
  const total = (data[0]! << 8) | data[1]!;
  const r = new BitReader(data, 2);
  const out: XorSample[] = [];
  let t = 0n;
  let tDelta = 0n;
  let vbits = 0n;
  let leading = 0;
  let trailing = 0;
  const fail = (what: string) => err(`xor chunk: truncated ${what} at sample ${out.length} of ${total}`);
  for (let i = 0; i < total; i++) {
    if (i === 0) {
      const ts = r.varint();
      if (ts === null) return fail('timestamp');
      const v = r.bits(64);
      if (v === null) return fail('value');
      t = ts;
      vbits = v;
      out.push({ t: Number(t), v: floatOf(vbits) });
      continue;
    }
    if (i === 1) {
      const d = r.uvarint();
      if (d === null) return fail('timestamp delta');
      tDelta = d;
    } else {
      let d = 0;
      for (let k = 0; k < 4; k++) {
        d <<= 1;
        const b = r.bit();
        if (b === null) return fail('delta-of-delta prefix');
        if (b === 0) break;
        d |= 1;
      }
      let dod = 0n;
      const sz = d === 0b10 ? 14 : d === 0b110 ? 17 : d === 0b1110 ? 20 : 0;
      if (d === 0b1111) {
        const b = r.bits(64);
        if (b === null) return fail('delta-of-delta');
        dod = toSigned64(b);
      } else if (sz !== 0) {
        let b = r.bits(sz);
        if (b === null) return fail('delta-of-delta');
        if (b > 1n << BigInt(sz - 1)) b -= 1n << BigInt(sz);
        dod = b;
      }
      tDelta = toSigned64((tDelta + dod) & U64_MASK);
    }
    t += tDelta;
    // value
    const c = r.bit();
    if (c === null) return fail('value control bit');
    if (c === 1) {
      const c2 = r.bit();
      if (c2 === null) return fail('value control bit');
      if (c2 === 1) {
        const l = r.bits(5);
        const m = r.bits(6);
        if (l === null || m === null) return fail('value header');
        leading = Number(l);
        const mbits = Number(m) === 0 ? 64 : Number(m);
        trailing = 64 - leading - mbits;
        if (trailing < 0) return err(`xor chunk: invalid leading/significant bits at sample ${i}`);
      }
      const mbits = 64 - leading - trailing;
      const b = r.bits(mbits);
      if (b === null) return fail('value bits');
      vbits ^= b << BigInt(trailing);
    }
    out.push({ t: Number(t), v: floatOf(vbits) });
  }
  return ok(out);
}

class BitWriter {
  private bytes: number[] = [];
  private count = 0; // bits in the last byte (0 = start a new byte)
  bit(b: number): void {
    if (this.count === 0) this.bytes.push(0);
    if (b) this.bytes[this.bytes.length - 1]! |= 1 << (7 - this.count);
    this.count = (this.count + 1) & 7;
  }
  bits(v: bigint, n: number): void {
    for (let i = n - 1; i >= 0; i--) this.bit(Number((v >> BigInt(i)) & 1n));
  }
  uvarint(v: bigint): void {
    let x = v;
    while (x >= 0x80n) {
      this.bits((x & 0x7fn) | 0x80n, 8);
      x >>= 7n;
    }
    this.bits(x, 8);
  }
  finish(): number[] {
    return this.bytes;
  }
}

function clz64(b: bigint): number {
  if (b === 0n) return 64;
  let n = 0;
  for (let i = 63; i >= 0 && ((b >> BigInt(i)) & 1n) === 0n; i--) n++;
  return n;
}
function ctz64(b: bigint): number {
  if (b === 0n) return 64;
  let n = 0;
  while (((b >> BigInt(n)) & 1n) === 0n) n++;
  return n;
}

function fits(x: bigint, nbits: number): boolean {
  const lim = 1n << BigInt(nbits - 1);
  return -(lim - 1n) <= x && x <= lim;
}

/** Encodes samples (at most 65 535, timestamps non-decreasing) as an XOR chunk, the way Prometheus' appender does. */
export function encodeXorChunk(samples: readonly XorSample[]): Uint8Array {
  if (samples.length > 0xffff) throw new Error(`encodeXorChunk: ${samples.length} samples exceed 65535`);
  const w = new BitWriter();
  let prevT = 0n;
  let tDelta = 0n;
  let prevBits = 0n;
  let leading = 0xff;
  let trailing = 0;
  samples.forEach((s, i) => {
    const t = BigInt(s.t);
    const vb = bitsOf(s.v);
    if (i === 0) {
      w.uvarint(t >= 0n ? t << 1n : (-t << 1n) - 1n);
      w.bits(vb, 64);
    } else {
      const d = t - prevT;
      if (i === 1) w.uvarint(d & U64_MASK);
      else {
        const dod = d - tDelta;
        if (dod === 0n) w.bit(0);
        else if (fits(dod, 14)) {
          w.bits(0b10n, 2);
          w.bits(dod & ((1n << 14n) - 1n), 14);
        } else if (fits(dod, 17)) {
          w.bits(0b110n, 3);
          w.bits(dod & ((1n << 17n) - 1n), 17);
        } else if (fits(dod, 20)) {
          w.bits(0b1110n, 4);
          w.bits(dod & ((1n << 20n) - 1n), 20);
        } else {
          w.bits(0b1111n, 4);
          w.bits(dod & U64_MASK, 64);
        }
      }
      tDelta = d;
      const x = vb ^ prevBits;
      if (x === 0n) w.bit(0);
      else {
        w.bit(1);
        let l = clz64(x);
        const tr = ctz64(x);
        if (l >= 32) l = 31;
        if (leading !== 0xff && l >= leading && tr >= trailing) {
          w.bit(0);
          w.bits(x >> BigInt(trailing), 64 - leading - trailing);
        } else {
          leading = l;
          trailing = tr;
          w.bit(1);
          w.bits(BigInt(l), 5);
          const sig = 64 - l - tr;
          w.bits(BigInt(sig & 63), 6);
          w.bits(x >> BigInt(tr), sig);
        }
      }
    }
    prevT = t;
    prevBits = vb;
  });
  const body = w.finish();
  const out = new Uint8Array(2 + body.length);
  out[0] = samples.length >>> 8;
  out[1] = samples.length & 0xff;
  out.set(body, 2);
  return out;
}
