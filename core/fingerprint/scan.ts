/**
 * The miner's tokenizer: one char-code scan per line that yields the masked token sequence as interned token ids,
 * the word and parameter offsets, and a hash of the masked signature, without slicing words.
 *
 * Masking a word (mask.ts) depends on character classes only, never on digit values, so its result is a function of
 * the word with every digit replaced by `0`. The scanner hashes each word under that abstraction while it looks for
 * the word's end, and keeps a bounded cache from abstracted word to (token id, masked spans). A cached entry is
 * verified char by char against the line (no collision can change a token), so a word is sliced and masked only the
 * first time its shape is seen. Tokens that keep a digit (rare: the digit is not masked) are never cached.
 *
 * The line passes of the miner run on ids: runs of `<*>` collapse into one parameter, a unit after a value joins it
 * (`5.2 KB`), month and weekday names next to a value are part of a timestamp.
 */
import { DATE_WORDS, UNIT_WORDS, WILDCARD, hasDigit, maskWordSpans, stripEdge } from './mask.js';

const F_WILD = 1; // exactly <*>
const F_HASWILD = 2; // contains <*>
const F_UNIT = 4; // a unit word (`KB`, `ms`) once edge punctuation is stripped
const F_DATE = 8; // a month or weekday name

const WORD_CACHE_CAP = 100_000;
const TOKEN_CAP = 500_000;

interface WordEntry {
  /** The word with its digits replaced by `0`. */
  readonly key: string;
  readonly tok: number;
  /** Masked parts as [start, end) pairs relative to the word. */
  readonly spans: Int32Array;
  next: WordEntry | null;
}

const NO_SPANS = new Int32Array(0);

function sameShape(key: string, msg: string, from: number): boolean {
  for (let k = 0; k < key.length; k++) {
    let c = msg.charCodeAt(from + k);
    if (c >= 48 && c <= 57) c = 48;
    if (c !== key.charCodeAt(k)) return false;
  }
  return true;
}

function grow(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

export class LineScanner {
  /** Interned tokens: id -> text. Id 0 is `<*>`. */
  text: string[] = [WILDCARD];
  private ids = new Map<string, number>([[WILDCARD, 0]]);
  private flags = new Uint8Array(1024);
  private readonly words = new Map<number, WordEntry>();
  /** Bumped when the intern table is reset: id sequences from before no longer mean the same tokens. */
  generation = 0;

  // ---- the last scanned line ----
  message = '';
  /** Number of tokens. */
  n = 0;
  tok = new Int32Array(64);
  wStart = new Int32Array(64);
  wEnd = new Int32Array(64);
  /** pStart[i]..pStart[i+1] index token i's masked parts in `pieces` (absolute [start, end) pairs). */
  pStart = new Int32Array(65);
  pieces = new Int32Array(128);
  /** Hash of the masked signature (token count and ids). */
  hash = 0;

  constructor() {
    this.flags[0] = F_WILD | F_HASWILD;
  }

  intern(t: string): number {
    const known = this.ids.get(t);
    if (known !== undefined) return known;
    const id = this.text.length;
    this.text.push(t);
    this.ids.set(t, id);
    if (id >= this.flags.length) {
      const f = new Uint8Array(this.flags.length * 2);
      f.set(this.flags);
      this.flags = f;
    }
    let f = 0;
    if (t.includes(WILDCARD)) f |= F_HASWILD;
    if (t.length <= 4 && UNIT_WORDS.has(stripEdge(t))) f |= F_UNIT;
    if (DATE_WORDS.has(t)) f |= F_DATE;
    this.flags[id] = f;
    return id;
  }

  private reset(): void {
    this.text = [WILDCARD];
    this.ids = new Map([[WILDCARD, 0]]);
    this.flags = new Uint8Array(1024);
    this.flags[0] = F_WILD | F_HASWILD;
    this.words.clear();
    this.generation++;
  }

  /** Masks a word seen for the first time (in this shape) and caches the result when it is shape-determined. */
  private miss(msg: string, from: number, to: number, h: number): WordEntry {
    const w = msg.slice(from, to);
    const spans: number[] = [];
    const t = maskWordSpans(w, spans);
    const e: WordEntry = {
      key: w.replace(/[0-9]/g, '0'),
      tok: this.intern(t),
      spans: spans.length === 0 ? NO_SPANS : Int32Array.from(spans),
      next: null,
    };
    if (hasDigit(t)) return e;
    if (this.words.size >= WORD_CACHE_CAP) this.words.clear();
    e.next = this.words.get(h) ?? null;
    this.words.set(h, e);
    return e;
  }

  /** Scans one line: fills `n`, `tok`, word and part offsets, and `hash`. */
  scan(msg: string, maxTokens: number): void {
    if (this.text.length > TOKEN_CAP) this.reset();
    this.message = msg;
    const len = msg.length;
    let n = 0;
    let np = 0;
    let i = 0;
    while (i < len) {
      const c0 = msg.charCodeAt(i);
      if (c0 <= 32 && (c0 === 32 || (c0 >= 9 && c0 <= 13))) {
        i++;
        continue;
      }
      if (n + 2 > this.tok.length) this.growTokens(n + 2);
      if (n === maxTokens - 1) {
        // the rest of the line is one parameter
        let end = len;
        for (;;) {
          const c = msg.charCodeAt(end - 1);
          if (!(c === 32 || (c >= 9 && c <= 13))) break;
          end--;
        }
        this.tok[n] = 0;
        this.wStart[n] = i;
        this.wEnd[n] = end;
        this.pStart[n] = np;
        n++;
        break;
      }
      let h = 0x811c9dc5;
      let j = i;
      for (; j < len; j++) {
        let c = msg.charCodeAt(j);
        if (c <= 32 && (c === 32 || (c >= 9 && c <= 13))) break;
        if (c >= 48 && c <= 57) c = 48;
        h = Math.imul(h ^ c, 0x01000193);
      }
      h = (h ^ (j - i)) | 0;
      let e: WordEntry | null = this.words.get(h) ?? null;
      while (e !== null && !(e.key.length === j - i && sameShape(e.key, msg, i))) e = e.next;
      e ??= this.miss(msg, i, j, h);
      const t = e.tok;
      if (t === 0 && n > 0 && this.tok[n - 1] === 0) {
        this.wEnd[n - 1] = j; // a run of variable words is one parameter
      } else {
        this.tok[n] = t;
        this.wStart[n] = i;
        this.wEnd[n] = j;
        this.pStart[n] = np;
        const sp = e.spans;
        if (t !== 0 && sp.length > 0) {
          if (np + sp.length > this.pieces.length) this.pieces = grow(this.pieces, np + sp.length);
          for (let k = 0; k < sp.length; k++) this.pieces[np + k] = sp[k]! + i;
          np += sp.length;
        }
        n++;
      }
      i = j;
    }
    this.pStart[n] = np;
    this.n = n;
    if (this.contextPass()) this.compact();
    let h = Math.imul(this.n ^ 0x9e3779b9, 0x85ebca6b);
    for (let k = 0; k < this.n; k++) {
      h = Math.imul(h ^ this.tok[k]!, 0x01000193);
      h ^= h >>> 15;
    }
    this.hash = h | 0;
  }

  private growTokens(need: number): void {
    this.tok = grow(this.tok, need);
    this.wStart = grow(this.wStart, need);
    this.wEnd = grow(this.wEnd, need);
    this.pStart = grow(this.pStart, need + 1);
  }

  /** Units after a value join it; month and weekday names next to a value (or another one) are a timestamp. */
  private contextPass(): boolean {
    const t = this.tok;
    const f = this.flags;
    const n = this.n;
    let changed = false;
    for (let i = 0; i < n; i++) {
      const fi = f[t[i]!]!;
      if ((fi & (F_UNIT | F_DATE)) === 0) continue;
      if (i > 0 && t[i - 1] === 0 && (fi & F_UNIT) !== 0) {
        t[i] = 0;
        changed = true;
        continue;
      }
      if ((fi & F_DATE) === 0) continue;
      const prev = i > 0 ? f[t[i - 1]!]! : 0;
      const next = i + 1 < n ? f[t[i + 1]!]! : 0;
      if ((prev & F_HASWILD) !== 0 || (next & (F_HASWILD | F_DATE)) !== 0) {
        t[i] = 0;
        changed = true;
      }
    }
    return changed;
  }

  /** Re-collapses runs of `<*>` after the context pass made new ones. */
  private compact(): void {
    const t = this.tok;
    let w = 0;
    let np = 0;
    for (let r = 0; r < this.n; r++) {
      const tok = t[r]!;
      const from = this.pStart[r]!;
      const to = this.pStart[r + 1]!;
      if (tok === 0 && w > 0 && t[w - 1] === 0) {
        this.wEnd[w - 1] = this.wEnd[r]!;
        continue;
      }
      t[w] = tok;
      this.wStart[w] = this.wStart[r]!;
      this.wEnd[w] = this.wEnd[r]!;
      this.pStart[w] = np;
      if (tok !== 0) for (let p = from; p < to; p++) this.pieces[np++] = this.pieces[p]!;
      w++;
    }
    this.n = w;
    this.pStart[w] = np;
  }

  /** True when the last scanned line's ids equal `ids`. */
  sameIds(ids: Int32Array): boolean {
    if (ids.length !== this.n) return false;
    for (let k = 0; k < ids.length; k++) if (ids[k] !== this.tok[k]) return false;
    return true;
  }

  /**
   * Parameters of the last scanned line against a template (token texts): a `<*>` position yields the whole word
   * (or run of words), a position holding `<*>` inside other text yields the masked parts.
   */
  params(template: readonly string[]): string[] {
    const out: string[] = [];
    const m = this.message;
    for (let i = 0; i < this.n; i++) {
      const tt = template[i];
      if (tt === undefined) break;
      if (tt === WILDCARD) out.push(m.slice(this.wStart[i], this.wEnd[i]));
      else if (tt.includes(WILDCARD))
        for (let p = this.pStart[i]!; p < this.pStart[i + 1]!; p += 2)
          out.push(m.slice(this.pieces[p], this.pieces[p + 1]));
    }
    return out;
  }
}
