/**
 * Allocation-free lookup tables for the span accumulator's hot path: span ids as two 32-bit halves in open-addressing
 * typed-array tables (exact: canonical 16-hex-digit ids are parsed, anything else is hashed and verified against the
 * stored string), a pending-children table with deletion, an integer-tuple cache and string / UTF-8 interners.
 * Pure: no I/O.
 */

// ---- span ids ------------------------------------------------------------------------------------------------------

const HEX_VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VAL[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VAL[97 + i] = 10 + i;

/** Output of `idKey`: the two 32-bit halves and, for non-canonical ids, the string to verify against. */
export const KEY = { hi: 0, lo: 0, str: undefined as string | undefined };

/**
 * Sets KEY for a span id string. A canonical id (16 lower-case hex digits, what OTLP's 8-byte ids print as) is
 * parsed exactly, with `str` undefined; anything else is hashed and carries itself in `str`.
 */
export function idKey(s: string): void {
  if (s.length === 16) {
    let hi = 0;
    let lo = 0;
    let okHex = true;
    for (let i = 0; i < 8; i++) {
      const c = s.charCodeAt(i);
      const v = c < 128 ? HEX_VAL[c]! : -1;
      if (v < 0) {
        okHex = false;
        break;
      }
      hi = (hi << 4) | v;
    }
    if (okHex) {
      for (let i = 8; i < 16; i++) {
        const c = s.charCodeAt(i);
        const v = c < 128 ? HEX_VAL[c]! : -1;
        if (v < 0) {
          okHex = false;
          break;
        }
        lo = (lo << 4) | v;
      }
    }
    if (okHex) {
      KEY.hi = hi;
      KEY.lo = lo;
      KEY.str = undefined;
      return;
    }
  }
  let h1 = 0x811c9dc5;
  let h2 = 0x2545f491;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 + c, 0x5bd1e995) ^ (h2 >>> 15);
  }
  KEY.hi = h1;
  KEY.lo = h2;
  KEY.str = s;
}

function slotOf(hi: number, lo: number, mask: number): number {
  let x = Math.imul(lo ^ (hi >>> 16), 0x85ebca6b) ^ Math.imul(hi, 0x9e3779b1);
  x ^= x >>> 15;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 13;
  return x & mask;
}

/** span id -> small non-negative integer; grows as needed (the caller rotates it to bound it). */
export class IdMap {
  private mask = 1023;
  private hi = new Int32Array(1024);
  private lo = new Int32Array(1024);
  /** value + 1; 0 = empty. */
  private val = new Int32Array(1024);
  private strs: (string | undefined)[] | undefined;
  size = 0;

  /** Value for the key, or -1. */
  get(hi: number, lo: number, str: string | undefined): number {
    const mask = this.mask;
    for (let i = slotOf(hi, lo, mask); ; i = (i + 1) & mask) {
      const v = this.val[i]!;
      if (v === 0) return -1;
      if (
        this.hi[i] === hi &&
        this.lo[i] === lo &&
        (this.strs === undefined ? str === undefined : this.strs[i] === str)
      )
        return v - 1;
    }
  }

  set(hi: number, lo: number, str: string | undefined, value: number): void {
    const mask = this.mask;
    let i = slotOf(hi, lo, mask);
    for (; ; i = (i + 1) & mask) {
      const v = this.val[i]!;
      if (v === 0) break;
      if (
        this.hi[i] === hi &&
        this.lo[i] === lo &&
        (this.strs === undefined ? str === undefined : this.strs[i] === str)
      ) {
        this.val[i] = value + 1;
        return;
      }
    }
    if (str !== undefined && this.strs === undefined)
      this.strs = new Array<string | undefined>(this.val.length);
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.val[i] = value + 1;
    if (this.strs !== undefined) this.strs[i] = str;
    if (++this.size * 2 > this.mask) this.grow();
  }

  private grow(): void {
    const { hi, lo, val, strs } = this;
    const cap = val.length * 2;
    this.mask = cap - 1;
    this.hi = new Int32Array(cap);
    this.lo = new Int32Array(cap);
    this.val = new Int32Array(cap);
    this.strs = strs === undefined ? undefined : new Array<string | undefined>(cap);
    for (let j = 0; j < val.length; j++) {
      if (val[j] === 0) continue;
      let i = slotOf(hi[j]!, lo[j]!, this.mask);
      while (this.val[i] !== 0) i = (i + 1) & this.mask;
      this.hi[i] = hi[j]!;
      this.lo[i] = lo[j]!;
      this.val[i] = val[j]!;
      if (strs !== undefined) this.strs![i] = strs[j];
    }
  }

  clear(): void {
    this.val.fill(0);
    this.strs = undefined;
    this.size = 0;
  }
}

/** Children (small integers) waiting for a parent, as singly linked lists with a free list. */
export class ChildPool {
  child = new Int32Array(1024);
  next = new Int32Array(1024);
  private top = 0;
  private free = -1;

  alloc(child: number): number {
    let n = this.free;
    if (n >= 0) this.free = this.next[n]!;
    else {
      if (this.top === this.child.length) {
        const c = new Int32Array(this.top * 2);
        c.set(this.child);
        const x = new Int32Array(this.top * 2);
        x.set(this.next);
        this.child = c;
        this.next = x;
      }
      n = this.top++;
    }
    this.child[n] = child;
    this.next[n] = -1;
    return n;
  }

  release(node: number): void {
    this.next[node] = this.free;
    this.free = node;
  }

  /** Releases a whole list. */
  releaseList(first: number): void {
    for (let node = first; node >= 0;) {
      const next = this.next[node]!;
      this.release(node);
      node = next;
    }
  }
}

/**
 * parent span id -> the children waiting for it (in arrival order). Deletion by backward shift keeps probing exact
 * without tombstones; `seq` remembers insertion order for deterministic orphan processing. Grows as needed.
 */
export class PendingMap {
  private mask = 1023;
  private hi = new Int32Array(1024);
  private lo = new Int32Array(1024);
  /** First child node + 1; 0 = empty slot. */
  private head = new Int32Array(1024);
  private tail = new Int32Array(1024);
  private seq = new Float64Array(1024);
  private strs: (string | undefined)[] | undefined;
  private nextSeq = 0;
  size = 0;

  constructor(private readonly pool: ChildPool) {}

  private find(hi: number, lo: number, str: string | undefined): number {
    const mask = this.mask;
    for (let i = slotOf(hi, lo, mask); ; i = (i + 1) & mask) {
      if (this.head[i] === 0) return -1;
      if (
        this.hi[i] === hi &&
        this.lo[i] === lo &&
        (this.strs === undefined ? str === undefined : this.strs[i] === str)
      )
        return i;
    }
  }

  /** Appends a child under the key, creating the entry when absent. */
  append(hi: number, lo: number, str: string | undefined, child: number): void {
    const node = this.pool.alloc(child);
    const mask = this.mask;
    let i = slotOf(hi, lo, mask);
    for (; ; i = (i + 1) & mask) {
      if (this.head[i] === 0) break;
      if (
        this.hi[i] === hi &&
        this.lo[i] === lo &&
        (this.strs === undefined ? str === undefined : this.strs[i] === str)
      ) {
        this.pool.next[this.tail[i]! - 1] = node;
        this.tail[i] = node + 1;
        return;
      }
    }
    if (str !== undefined && this.strs === undefined)
      this.strs = new Array<string | undefined>(this.head.length);
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.head[i] = node + 1;
    this.tail[i] = node + 1;
    this.seq[i] = this.nextSeq++;
    if (this.strs !== undefined) this.strs[i] = str;
    if (++this.size * 2 > this.mask) this.grow();
  }

  private grow(): void {
    const { hi, lo, head, tail, seq, strs } = this;
    const cap = head.length * 2;
    this.mask = cap - 1;
    this.hi = new Int32Array(cap);
    this.lo = new Int32Array(cap);
    this.head = new Int32Array(cap);
    this.tail = new Int32Array(cap);
    this.seq = new Float64Array(cap);
    this.strs = strs === undefined ? undefined : new Array<string | undefined>(cap);
    for (let j = 0; j < head.length; j++) {
      if (head[j] === 0) continue;
      let i = slotOf(hi[j]!, lo[j]!, this.mask);
      while (this.head[i] !== 0) i = (i + 1) & this.mask;
      this.hi[i] = hi[j]!;
      this.lo[i] = lo[j]!;
      this.head[i] = head[j]!;
      this.tail[i] = tail[j]!;
      this.seq[i] = seq[j]!;
      if (strs !== undefined) this.strs![i] = strs[j];
    }
  }

  /** Removes the key; returns its first child node (walk with pool.next, release each) or -1 when absent. */
  take(hi: number, lo: number, str: string | undefined): number {
    if (this.size === 0) return -1;
    const slot = this.find(hi, lo, str);
    if (slot < 0) return -1;
    const first = this.head[slot]! - 1;
    this.remove(slot);
    return first;
  }

  private remove(slot: number): void {
    const mask = this.mask;
    let i = slot;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (this.head[j] === 0) break;
      const k = slotOf(this.hi[j]!, this.lo[j]!, mask);
      // j may move into the hole at i only when its home slot k is not cyclically in (i, j]
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      this.hi[i] = this.hi[j]!;
      this.lo[i] = this.lo[j]!;
      this.head[i] = this.head[j]!;
      this.tail[i] = this.tail[j]!;
      this.seq[i] = this.seq[j]!;
      if (this.strs !== undefined) this.strs[i] = this.strs[j];
      i = j;
    }
    this.head[i] = 0;
    if (this.strs !== undefined) this.strs[i] = undefined;
    this.size--;
  }

  /** Calls `fn(child)` for every child of every entry, entries in insertion order, then empties the map. */
  drain(fn: (child: number) => void): void {
    if (this.size > 0) {
      const cap = this.head.length;
      const order = new Float64Array(this.size);
      let n = 0;
      for (let i = 0; i < cap; i++) if (this.head[i] !== 0) order[n++] = this.seq[i]! * cap + i;
      order.sort();
      for (let x = 0; x < n; x++) {
        const slot = order[x]! % cap;
        for (let node = this.head[slot]! - 1; node >= 0;) {
          const next = this.pool.next[node]!;
          fn(this.pool.child[node]!);
          this.pool.release(node);
          node = next;
        }
      }
    }
    this.head.fill(0);
    this.strs = undefined;
    this.size = 0;
    this.nextSeq = 0;
  }
}

// ---- operation keys ------------------------------------------------------------------------------------------------

/** Fixed-width integer tuple -> small non-negative integer, growing as needed. */
export class TupleCache {
  private cap = 1024;
  private keys: Int32Array;
  /** value + 1; 0 = empty. */
  private vals: Int32Array;
  size = 0;

  constructor(readonly width: number) {
    this.keys = new Int32Array(this.cap * width);
    this.vals = new Int32Array(this.cap);
  }

  private static hash(key: Int32Array, width: number): number {
    let h = 0x9747b28c;
    for (let i = 0; i < width; i++) {
      h = Math.imul(h ^ key[i]!, 0x5bd1e995);
      h ^= h >>> 13;
    }
    return h;
  }

  get(key: Int32Array): number {
    const w = this.width;
    const mask = this.cap - 1;
    for (let s = TupleCache.hash(key, w) & mask; ; s = (s + 1) & mask) {
      const v = this.vals[s]!;
      if (v === 0) return -1;
      const base = s * w;
      let eq = true;
      for (let i = 0; i < w; i++) {
        if (this.keys[base + i] !== key[i]) {
          eq = false;
          break;
        }
      }
      if (eq) return v - 1;
    }
  }

  /** Inserts a key known to be absent. */
  insert(key: Int32Array, value: number): void {
    if ((this.size + 1) * 2 > this.cap) this.grow();
    this.place(key, 0, value + 1);
    this.size++;
  }

  private place(src: Int32Array, off: number, v: number): void {
    const w = this.width;
    const mask = this.cap - 1;
    let h = 0x9747b28c;
    for (let i = 0; i < w; i++) {
      h = Math.imul(h ^ src[off + i]!, 0x5bd1e995);
      h ^= h >>> 13;
    }
    let s = h & mask;
    while (this.vals[s] !== 0) s = (s + 1) & mask;
    this.keys.set(src.subarray(off, off + w), s * w);
    this.vals[s] = v;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    this.cap *= 2;
    this.keys = new Int32Array(this.cap * this.width);
    this.vals = new Int32Array(this.cap);
    for (let s = 0; s < oldVals.length; s++) {
      if (oldVals[s] !== 0) this.place(oldKeys, s * this.width, oldVals[s]!);
    }
  }

  clear(): void {
    if (this.size === 0) return;
    if (this.cap > 1 << 16) {
      this.cap = 1024;
      this.keys = new Int32Array(this.cap * this.width);
      this.vals = new Int32Array(this.cap);
    } else this.vals.fill(0);
    this.size = 0;
  }
}

/** string -> small integer ('' is 0). */
export class Interner {
  private map = new Map<string, number>([['', 0]]);
  readonly strings: string[] = [''];

  id(s: string): number {
    let v = this.map.get(s);
    if (v === undefined) {
      v = this.strings.length;
      this.map.set(s, v);
      this.strings.push(s);
    }
    return v;
  }

  get size(): number {
    return this.strings.length;
  }

  clear(): void {
    this.map = new Map([['', 0]]);
    this.strings.length = 1;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** UTF-8 bytes -> the Interner id of their decoded text, without decoding bytes seen before. */
export class ByteInterner {
  private cap = 1024;
  private hashes = new Int32Array(this.cap);
  private starts = new Int32Array(this.cap);
  private lens = new Int32Array(this.cap);
  /** id + 1; 0 = empty. */
  private ids = new Int32Array(this.cap);
  private arena = new Uint8Array(1 << 16);
  private used = 0;
  private size = 0;

  constructor(private readonly strings: Interner) {}

  id(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len === 0) return 0;
    let h = 0x811c9dc5 ^ len;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const mask = this.cap - 1;
    let s = h & mask;
    for (; ; s = (s + 1) & mask) {
      const v = this.ids[s]!;
      if (v === 0) break;
      if (this.hashes[s] === h && this.lens[s] === len) {
        const a = this.arena;
        let p = this.starts[s]!;
        let i = start;
        while (i < end && a[p] === buf[i]) {
          p++;
          i++;
        }
        if (i === end) return v - 1;
      }
    }
    const id = this.strings.id(utf8.decode(buf.subarray(start, end)));
    if (this.used + len > this.arena.length) {
      let n = this.arena.length * 2;
      while (n < this.used + len) n *= 2;
      const a = new Uint8Array(n);
      a.set(this.arena.subarray(0, this.used));
      this.arena = a;
    }
    this.arena.set(buf.subarray(start, end), this.used);
    this.hashes[s] = h;
    this.starts[s] = this.used;
    this.lens[s] = len;
    this.ids[s] = id + 1;
    this.used += len;
    if (++this.size * 2 > this.cap) this.grow();
    return id;
  }

  private grow(): void {
    const { hashes, starts, lens, ids } = this;
    this.cap *= 2;
    this.hashes = new Int32Array(this.cap);
    this.starts = new Int32Array(this.cap);
    this.lens = new Int32Array(this.cap);
    this.ids = new Int32Array(this.cap);
    const mask = this.cap - 1;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === 0) continue;
      let s = hashes[i]! & mask;
      while (this.ids[s] !== 0) s = (s + 1) & mask;
      this.hashes[s] = hashes[i]!;
      this.starts[s] = starts[i]!;
      this.lens[s] = lens[i]!;
      this.ids[s] = ids[i]!;
    }
  }

  clear(): void {
    if (this.size === 0) return;
    this.cap = 1024;
    this.hashes = new Int32Array(this.cap);
    this.starts = new Int32Array(this.cap);
    this.lens = new Int32Array(this.cap);
    this.ids = new Int32Array(this.cap);
    this.used = 0;
    this.size = 0;
    if (this.arena.length > 1 << 20) this.arena = new Uint8Array(1 << 16);
  }
}
