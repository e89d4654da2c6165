/**
 * Stable hashing helpers.
 *
 * - `stableId` is the identity function for anything persisted or shared between instances (template ids, operation
 *   ids): a prefix plus the first 16 hex characters (64 bits) of SHA-256 over the UTF-8 text. Same text, same id,
 *   on every machine, forever.
 * - `fnv1a32` / `fnv1a64` are fast non-cryptographic hashes for hot in-memory paths (bucketing, dedup keys). They hash
 *   the UTF-8 bytes of the string, so results match the published FNV-1a test vectors.
 */
import { createHash } from 'node:crypto';

/** Full lower-case hex SHA-256 of the UTF-8 text. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `prefix` + 16 lower-case hex chars of SHA-256(text), e.g. `stableId('tpl_', 'x')` -> `tpl_2d711642b726b044`. */
export function stableId(prefix: string, text: string): string {
  return prefix + sha256Hex(text).slice(0, 16);
}

/**
 * Calls `emit` with the UTF-8 bytes of `text` without allocating a buffer. Lone surrogates encode as U+FFFD, like
 * TextEncoder.
 */
function forEachUtf8Byte(text: string, emit: (byte: number) => void): void {
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      emit(c);
      continue;
    }
    if (c < 0x800) {
      emit(0xc0 | (c >> 6));
      emit(0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        emit(0xf0 | (cp >> 18));
        emit(0x80 | ((cp >> 12) & 0x3f));
        emit(0x80 | ((cp >> 6) & 0x3f));
        emit(0x80 | (cp & 0x3f));
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    emit(0xe0 | (c >> 12));
    emit(0x80 | ((c >> 6) & 0x3f));
    emit(0x80 | (c & 0x3f));
  }
}

/** 32-bit FNV-1a over the UTF-8 bytes of `text`, as an unsigned integer. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  // ASCII fast path: no closure, no allocation.
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    h = Math.imul(h ^ c, 0x01000193);
  }
  if (ascii) return h >>> 0;
  h = 0x811c9dc5;
  forEachUtf8Byte(text, (b) => {
    h = Math.imul(h ^ b, 0x01000193);
  });
  return h >>> 0;
}

/**
 * 64-bit FNV-1a over the UTF-8 bytes of `text`, as 16 lower-case hex chars. Computed with four 16-bit limbs so it
 * stays in small-integer arithmetic (no BigInt on the hot path).
 */
export function fnv1a64(text: string): string {
  // offset basis 0xcbf29ce484222325, limbs little-endian
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  const step = (b: number): void => {
    h0 ^= b;
    // multiply by the prime 0x100000001b3 = 2^40 + 0x1b3
    const t0 = h0 * 0x1b3;
    let t1 = h1 * 0x1b3;
    let t2 = h2 * 0x1b3 + (h0 << 8);
    let t3 = h3 * 0x1b3 + (h1 << 8);
    t1 += t0 >>> 16;
    t2 += t1 >>> 16;
    t3 += t2 >>> 16;
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  };
  forEachUtf8Byte(text, step);
  return hex4(h3) + hex4(h2) + hex4(h1) + hex4(h0);
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
