/**
 * Snappy block format (the framing-free variant Prometheus remote read/write uses): a uvarint with the uncompressed
 * length, then literal and copy elements. decompress() accepts any valid block; compress() is a small greedy
 * encoder (4-byte hash matches within 64 KiB fragments) whose output every Snappy decoder accepts.
 */
import { err, ok, type Result } from '../result.js';

const MAX_FRAGMENT = 65_536;

function readUvarint32(buf: Uint8Array, pos: number): [number, number] | null {
  let result = 0;
  let shift = 1;
  for (let i = 0; i < 5; i++) {
    if (pos >= buf.length) return null;
    const b = buf[pos++]!;
    result += (b & 0x7f) * shift;
    if (b < 0x80) return result > 0xffffffff ? null : [result, pos];
    shift *= 128;
  }
  return null;
}

/** The uncompressed length a block declares (without decompressing it). */
export function snappyDecodedLength(block: Uint8Array): Result<number, string> {
  const h = readUvarint32(block, 0);
  return h ? ok(h[0]) : err('snappy: bad length header');
}

/** Decompresses one Snappy block; refuses blocks declaring more than `maxLength` bytes. */
export function snappyDecompress(
  block: Uint8Array,
  maxLength = 256 * 1024 * 1024,
): Result<Uint8Array, string> {
  const h = readUvarint32(block, 0);
  if (!h) return err('snappy: bad length header');
  const [length, start] = h;
  if (length > maxLength) return err(`snappy: declared length ${length} exceeds the ${maxLength}-byte limit`);
  const out = new Uint8Array(length);
  let o = 0;
  let p = start;
  while (p < block.length) {
    const tag = block[p++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const n = len - 59;
        if (p + n > block.length) return err('snappy: truncated literal length');
        len = 0;
        for (let i = 0; i < n; i++) len += block[p + i]! * 2 ** (8 * i);
        p += n;
      }
      len += 1;
      if (p + len > block.length) return err('snappy: truncated literal');
      if (o + len > length) return err('snappy: literal overruns the declared length');
      out.set(block.subarray(p, p + len), o);
      o += len;
      p += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (p + 1 > block.length) return err('snappy: truncated copy');
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | block[p]!;
      p += 1;
    } else if (kind === 2) {
      if (p + 2 > block.length) return err('snappy: truncated copy');
      len = (tag >>> 2) + 1;
      offset = block[p]! | (block[p + 1]! << 8);
      p += 2;
    } else {
      if (p + 4 > block.length) return err('snappy: truncated copy');
      len = (tag >>> 2) + 1;
      offset = (block[p]! | (block[p + 1]! << 8) | (block[p + 2]! << 16) | (block[p + 3]! << 24)) >>> 0;
      p += 4;
    }
    if (offset === 0 || offset > o) return err(`snappy: copy offset ${offset} out of range at output ${o}`);
    if (o + len > length) return err('snappy: copy overruns the declared length');
    // Byte by byte: copies may overlap their own output (run-length style).
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== length) return err(`snappy: decoded ${o} bytes, header declared ${length}`);
  return ok(out);
}

class Out {
  buf: Uint8Array;
  pos = 0;
  constructor(cap: number) {
    this.buf = new Uint8Array(cap);
  }
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
}

function emitLiteral(out: Out, src: Uint8Array, start: number, end: number): void {
  let len = end - start;
  while (len > 0) {
    const n = Math.min(len, MAX_FRAGMENT);
    const v = n - 1;
    if (v < 60) out.byte(v << 2);
    else if (v < 0x100) {
      out.byte(60 << 2);
      out.byte(v);
    } else if (v < 0x10000) {
      out.byte(61 << 2);
      out.byte(v & 0xff);
      out.byte(v >>> 8);
    } else {
      out.byte(62 << 2);
      out.byte(v & 0xff);
      out.byte((v >>> 8) & 0xff);
      out.byte(v >>> 16);
    }
    out.buf.set(src.subarray(start, start + n), out.pos);
    out.pos += n;
    start += n;
    len -= n;
  }
}

function emitCopy(out: Out, offset: number, len: number): void {
  while (len > 0) {
    // Copies of 4..11 bytes with an offset below 2048 fit the 1-byte-offset form.
    if (len >= 4 && len <= 11 && offset < 2048) {
      out.byte(1 | ((len - 4) << 2) | ((offset >>> 8) << 5));
      out.byte(offset & 0xff);
      return;
    }
    // Leave at least 4 bytes for the next element when splitting.
    const n = len > 64 ? (len - 64 < 4 ? 60 : 64) : len;
    out.byte(2 | ((n - 1) << 2));
    out.byte(offset & 0xff);
    out.byte(offset >>> 8);
    len -= n;
  }
}

/** Compresses bytes into one Snappy block. */
export function snappyCompress(src: Uint8Array): Uint8Array {
  // Worst case: header + literal overhead per 60 bytes.
  const out = new Out(32 + src.length + Math.ceil(src.length / 6));
  let n = src.length;
  do {
    out.byte((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  const table = new Int32Array(1 << 14);
  for (let fragStart = 0; fragStart < src.length; fragStart += MAX_FRAGMENT) {
    const fragEnd = Math.min(src.length, fragStart + MAX_FRAGMENT);
    table.fill(-1);
    let lit = fragStart;
    let i = fragStart;
    while (i + 4 <= fragEnd) {
      const word = (src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24)) >>> 0;
      const h = Math.imul(word, 0x1e35a7bd) >>> 18;
      const cand = table[h]!;
      table[h] = i;
      if (
        cand >= fragStart &&
        src[cand] === src[i] &&
        src[cand + 1] === src[i + 1] &&
        src[cand + 2] === src[i + 2] &&
        src[cand + 3] === src[i + 3]
      ) {
        if (lit < i) emitLiteral(out, src, lit, i);
        let len = 4;
        while (i + len < fragEnd && src[cand + len] === src[i + len]) len++;
        emitCopy(out, i - cand, len);
        i += len;
        lit = i;
      } else i++;
    }
    if (lit < fragEnd) emitLiteral(out, src, lit, fragEnd);
  }
  return out.buf.slice(0, out.pos);
}
