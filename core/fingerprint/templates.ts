/**
 * Online streaming log template miner (Drain-like) with universal preprocessing and stable template ids.
 *
 * Pipeline for one message:
 * 1. Tokenise on whitespace. Delimiters inside a word (`:`, `=`, `/`, `(`, `_`, …) are kept, so the template text
 *    keeps the line's shape (`src: /<*>`, `size=<*>`, `blk_<*>`).
 * 2. Mask obvious variables inside each word with one char-class scan (no regex per token):
 *    - `key=value` -> `key=<*>`;
 *    - words with a digit that look like paths/URLs (`/a/b1`, `./x`, `http://…`, two or more `/`) -> `<*>`;
 *    - alphanumeric runs: numbers (with a sign after a delimiter: `blk_-42` -> `blk_<*>`), hex (`0x1f`, >= 6 hex
 *      chars with a digit), `250ms` -> `<*>ms`, runs starting with a digit or >= 8 chars with a digit (`31T10`,
 *      `a1b2c3d4`), `job12345` -> `job<*>` (>= 3 trailing digits); short words like `v2`, `utf8`, `x86` stay;
 *    - variables joined by one of `. : , _ - /` collapse into one (`10.0.0.1:50010` -> `<*>`, `2024-01-31` -> `<*>`).
 *    Redaction placeholders (`<IP>`, `<EMAIL>`) are ordinary constant text.
 * 3. Drain: a fixed-depth prefix tree keyed by token count, then the first `depth - 2` tokens (a token with a digit or
 *    a wildcard, or one that would exceed `maxChildren`, goes under `<*>`). In the leaf, the cluster with the highest
 *    similarity (share of positions whose template token equals the line's token) wins if it reaches
 *    `simThreshold`; differing positions are generalised to `<*>`. Otherwise a new cluster is created.
 *
 * Template ids: `tpl_` + 16 hex of SHA-256 over the cluster's FOUNDING masked token sequence. Because masking removes
 * numbers/ids/addresses/values, every line of a family usually has the same masked form, so the id does not depend on
 * which line arrived first, and two independent miners (or a restarted one) agree. Generalising a cluster keeps its
 * id. When a generalised cluster's template comes to cover another cluster in the same leaf, the two merge: the
 * survivor keeps the lexicographically smaller id (order-independent choice) and `aliases()` maps the other id to it.
 * (With a fixed threshold plain Drain never produces such a pair; it happens after a restore with a lower
 * `simThreshold`, and is the hook for later template-merging passes.)
 * Limitation: a family whose lines differ in unmasked words (`Deleting file foo.txt` / `… bar.txt`) gets the id of
 * whichever variant founded it, so its id can differ between miners that saw different first lines.
 */
import { stableId } from '../hash.js';

export const WILDCARD = '<*>';

export interface MinerOptions {
  /** Minimum share of matching positions to join a cluster (0..1]. Default 0.6. */
  readonly simThreshold?: number;
  /** Max children per inner tree node before new tokens route to `<*>`. Default 100. */
  readonly maxChildren?: number;
  /** Tree depth (>= 3): root + length level + (depth - 2) token levels. Default 4. */
  readonly depth?: number;
  /** Lines with more tokens keep the first `maxTokens - 1` and fold the rest into one `<*>`. Default 256. */
  readonly maxTokens?: number;
  /**
   * A position where lines differ in plain words (no digits) stays split by value while it has at most this many
   * distinct values (`started`/`finished`, `Begin`/`End`); one more and it becomes a variable. 1 disables. Default 2.
   */
  readonly maxSplitValues?: number;
}

export interface AddResult {
  readonly templateId: string;
  readonly template: string;
  readonly params: string[];
  readonly isNew: boolean;
  readonly changed: boolean;
}

export interface TemplateInfo {
  readonly templateId: string;
  readonly template: string;
  readonly count: number;
}

/** One cluster: masked tokens, count, split positions ([position, [value, count][] | null = variable]), ids issued. */
export interface ClusterSnapshot {
  readonly id: string;
  readonly tokens: string[];
  readonly count: number;
  readonly split: [number, [string, number][] | null][];
  readonly issued: [string, string[]][];
}

export interface MinerSnapshot {
  readonly version: 2;
  readonly options: Required<MinerOptions>;
  readonly clusters: ClusterSnapshot[];
  readonly aliases: Record<string, string>;
}

interface SplitPos {
  readonly pos: number;
  /** Distinct values seen with their counts; null once the position has proved to be a variable. */
  values: Map<string, number> | null;
}

interface Cluster {
  id: string;
  tokens: string[];
  template: string;
  count: number;
  /** Positions generalised from word-vs-word differences, in position order. */
  split: SplitPos[];
  /** Ids handed out for this cluster's sub-groups -> the split values they stand for (aligned with `split`). */
  issued: Map<string, string[]>;
  /** Set when merged away: cached signatures follow it to the survivor. */
  mergedInto: Cluster | null;
}

const SIG_CACHE_CAP = 200_000;
const MAX_SPLIT_POSITIONS = 3;
const MAX_ISSUED = 64;

interface Node {
  readonly children: Map<string, Node>;
  readonly clusters: Cluster[];
}

const newNode = (): Node => ({ children: new Map(), clusters: [] });

// ---- character classes ---------------------------------------------------------------------------------------------

const C_DIGIT = 1;
const C_HEXLETTER = 2;
const C_LETTER = 4;
const C_CONNECTOR = 8; // joins adjacent variables: . : , _ - /
const C_KEYCHAR = 16; // allowed in a key of key=value
const CLS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CLS[c] = C_DIGIT | C_KEYCHAR;
for (let c = 65; c <= 90; c++) CLS[c] = C_LETTER | C_KEYCHAR | (c <= 70 ? C_HEXLETTER : 0);
for (let c = 97; c <= 122; c++) CLS[c] = C_LETTER | C_KEYCHAR | (c <= 102 ? C_HEXLETTER : 0);
for (const ch of '.:,_-/') CLS[ch.charCodeAt(0)] = CLS[ch.charCodeAt(0)]! | C_CONNECTOR;
for (const ch of '._-') CLS[ch.charCodeAt(0)] = CLS[ch.charCodeAt(0)]! | C_KEYCHAR;

const cls = (c: number): number => (c < 128 ? CLS[c]! : C_LETTER); // non-ASCII counts as a letter
const isAlnum = (c: number): boolean => (cls(c) & (C_DIGIT | C_LETTER)) !== 0;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
}

function hasDigit(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/** Scratch space reused across `add` calls (single-threaded JS, so one per miner is safe). */
interface Scratch {
  words: string[];
  tokens: string[];
  /** Masked pieces (original substrings) of all words, flattened. */
  pieces: string[];
  /** pieceStart[i]..pieceStart[i+1] are word i's pieces. */
  pieceStart: number[];
  /** Offset in the message where each word starts. */
  starts: number[];
}

/** True when a word looks like a filesystem path or URL (a variable whatever its characters). */
function isPathLike(word: string, slashes: number): boolean {
  const n = word.length;
  if (n < 2) return false;
  const c0 = word.charCodeAt(0);
  if (c0 === 47) {
    const c1 = word.charCodeAt(1);
    return c1 !== 47 || n > 2; // '/x', '//host'
  }
  if (slashes >= 2) return true;
  if (word.includes('://')) return true;
  if ((c0 === 46 || c0 === 126) && word.charCodeAt(1) === 47) return true; // ./x ~/x
  return word.includes('\\') && slashes === 0 && /[A-Za-z]:\\|\\\\/.test(word);
}

/**
 * Masks one whitespace-free word. Pushes the original text of every masked part onto `pieces` and returns the
 * masked token (the word itself when nothing is masked: no allocation).
 */
export function maskWord(word: string, pieces: string[]): string {
  const n = word.length;
  let digits = 0;
  let eq = -1;
  let slashes = 0;
  let keyOk = true;
  for (let i = 0; i < n; i++) {
    const c = word.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 47) slashes++;
    else if (c === 61 && eq < 0) {
      eq = i;
      continue;
    }
    if (eq < 0 && (cls(c) & C_KEYCHAR) === 0) keyOk = false;
  }
  // key=value: the key stays, the value is masked by its own shape
  if (eq > 0 && keyOk && eq < n - 1 && word.charCodeAt(eq + 1) !== 61) {
    const value = word.slice(eq + 1);
    let vSlashes = 0;
    for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) === 47) vSlashes++;
    if (isPathLike(value, vSlashes)) {
      pieces.push(value);
      return word.slice(0, eq + 1) + WILDCARD;
    }
    if (digits === 0) return word;
    const mv = maskRuns(value, pieces);
    return mv === value ? word : word.slice(0, eq + 1) + mv;
  }
  if (slashes > 0 || word.charCodeAt(0) === 46 || word.charCodeAt(0) === 126 || word.includes('\\')) {
    if (isPathLike(word, slashes)) {
      pieces.push(word);
      return WILDCARD;
    }
  }
  if (word.includes('.')) {
    const h = hostSpan(word);
    if (h !== null) {
      pieces.push(word.slice(h[0], h[1]));
      return word.slice(0, h[0]) + WILDCARD + word.slice(h[1]);
    }
  }
  if (digits === 0) {
    const b = boolSpan(word);
    if (b === null) return word;
    pieces.push(word.slice(b[0], b[1]));
    return word.slice(0, b[0]) + WILDCARD + word.slice(b[1]);
  }
  const before = pieces.length;
  const m = maskRuns(word, pieces);
  return m === word ? m : wholeIdentifier(word, m, pieces, before);
}

const isEdgePunct = (c: number): boolean =>
  c === 40 ||
  c === 41 ||
  c === 91 ||
  c === 93 ||
  c === 123 ||
  c === 125 ||
  c === 44 ||
  c === 59 ||
  c === 58 ||
  c === 34 ||
  c === 39 ||
  c === 60 ||
  c === 62 ||
  c === 46;

/**
 * An identifier-like word (letters, digits, `_ - . : / @ #`) that holds a variable is one variable as a whole:
 * `broadcast_9_piece0`, `rdd_2_1`, `an14`, `blk_-42` -> `<*>`. Edge punctuation (brackets, commas, quotes) stays.
 */
function wholeIdentifier(word: string, masked: string, pieces: string[], before: number): string {
  let a = 0;
  let b = word.length;
  while (a < b && isEdgePunct(word.charCodeAt(a))) a++;
  while (b > a && isEdgePunct(word.charCodeAt(b - 1))) b--;
  if (a >= b) return masked;
  for (let i = a; i < b; i++) {
    const c = word.charCodeAt(i);
    if (!(
      isAlnum(c) ||
      c === 95 ||
      c === 45 ||
      c === 46 ||
      c === 58 ||
      c === 47 ||
      c === 64 ||
      c === 35 ||
      c === 43
    ))
      return masked;
  }
  pieces.length = before;
  pieces.push(word.slice(a, b));
  return a === 0 && b === word.length ? WILDCARD : word.slice(0, a) + WILDCARD + word.slice(b);
}

const BOOL_WORDS = new Set([
  'true',
  'false',
  'null',
  'True',
  'False',
  'Null',
  'TRUE',
  'FALSE',
  'NULL',
  'nil',
  'None',
]);

/** A boolean/null literal after `:` or `=` or alone (`isOverlap:false`, `ret:true`): [start, end) or null. */
function boolSpan(word: string): [number, number] | null {
  const n = word.length;
  if (n < 3) return null;
  let end = n;
  while (end > 0 && isEdgePunct(word.charCodeAt(end - 1)) && word.charCodeAt(end - 1) !== 58) end--;
  let start = end;
  while (start > 0 && isAlnum(word.charCodeAt(start - 1))) start--;
  if (end - start < 3 || end - start > 5) return null;
  if (start > 0) {
    const p = word.charCodeAt(start - 1);
    if (p !== 58 && p !== 61 && p !== 40 && p !== 91 && p !== 34) return null;
  }
  return BOOL_WORDS.has(word.slice(start, end)) ? [start, end] : null;
}

/** Top-level and common private domain suffixes that make a dotted name a host name (`db1.corp.example.com`). */
const HOST_SUFFIXES = new Set(
  'com net org edu gov mil int io info biz co uk de fr jp cn ru br in it nl au ca us eu ch se es kr tw hk local lan internal corp home arpa'.split(
    ' ',
  ),
);

const isHostChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95;

/** [start, end) of a host name inside the word (labels joined by dots, ending in a known suffix), or null. */
function hostSpan(word: string): [number, number] | null {
  const n = word.length;
  let i = 0;
  while (i < n) {
    while (i < n && !isHostChar(word.charCodeAt(i))) i++;
    let j = i;
    while (j < n && isHostChar(word.charCodeAt(j))) j++;
    let end = j;
    while (end > i && word.charCodeAt(end - 1) === 46) end--; // trailing dot of a sentence
    const dot = word.lastIndexOf('.', end - 1);
    if (dot > i && dot < end - 1 && word.charCodeAt(dot - 1) !== 46) {
      const suffix = word.slice(dot + 1, end);
      if (HOST_SUFFIXES.has(suffix) && !word.slice(i, dot).includes('..')) return [i, end];
    }
    i = j;
  }
  return null;
}

function maskRuns(word: string, pieces: string[]): string {
  const n = word.length;
  let out = '';
  let copied = 0; // word[copied..] not yet appended to out
  let lastVarEnd = -2; // source index just after the last masked part
  let lastPiece = -1; // index in pieces of the last masked part
  let lastPieceStart = 0;
  let masked = false;
  let i = 0;
  while (i < n) {
    const c = word.charCodeAt(i);
    if (!isAlnum(c)) {
      i++;
      continue;
    }
    // alnum run [i, j): a variable when it holds a digit
    let j = i;
    let d = 0;
    while (j < n) {
      const k = cls(word.charCodeAt(j));
      if ((k & (C_DIGIT | C_LETTER)) === 0) break;
      if (k & C_DIGIT) d++;
      j++;
    }
    if (d > 0) {
      let varStart = i;
      const varEnd = j;
      // absorb a sign that follows a delimiter (blk_-42, =-3, leading -5)
      if (varStart > 0) {
        const s = word.charCodeAt(varStart - 1);
        if ((s === 45 || s === 43) && (varStart - 1 === 0 || !isAlnum(word.charCodeAt(varStart - 2))))
          varStart--;
      }
      masked = true;
      const gap = varStart - lastVarEnd;
      if (
        gap <= 2 &&
        gap >= 1 &&
        copied === lastVarEnd &&
        (cls(word.charCodeAt(lastVarEnd)) & C_CONNECTOR) !== 0 &&
        (gap === 1 || (cls(word.charCodeAt(lastVarEnd + 1)) & C_CONNECTOR) !== 0)
      ) {
        // collapse `<*>` + connector(s) + `<*>` into one
        pieces[lastPiece] = word.slice(lastPieceStart, varEnd);
        copied = varEnd;
      } else {
        out += word.slice(copied, varStart) + WILDCARD;
        lastPiece = pieces.length;
        lastPieceStart = varStart;
        pieces.push(word.slice(varStart, varEnd));
        copied = varEnd;
      }
      lastVarEnd = varEnd;
    }
    i = j;
  }
  if (!masked) return word;
  return out + word.slice(copied);
}

const DATE_WORDS = new Set(
  'Jan Feb Mar Apr May Jun Jul Aug Sep Sept Oct Nov Dec Mon Tue Wed Thu Fri Sat Sun January February March April June July August September October November December Monday Tuesday Wednesday Thursday Friday Saturday Sunday'.split(
    ' ',
  ),
);

/** Units that belong to the number before them (`5.2 KB`, `250 ms`). */
const UNIT_WORDS = new Set('B KB MB GB TB PB KiB MiB GiB TiB kB ms us ns'.split(' '));

function stripEdge(w: string): string {
  let b = w.length;
  while (b > 0 && isEdgePunct(w.charCodeAt(b - 1))) b--;
  return b === w.length ? w : w.slice(0, b);
}

// ---- the miner -----------------------------------------------------------------------------------------------------

export class TemplateMiner {
  readonly options: Required<MinerOptions>;
  private readonly root = new Map<number, Node>();
  private readonly byId = new Map<string, Cluster>();
  private readonly aliasMap = new Map<string, string>();
  private readonly sigCache = new Map<string, Cluster>();
  /** Clusters changed (or just counted) since the last `drainDirty()`. */
  private readonly dirty = new Set<Cluster>();
  /** Ids of clusters merged into others here (bounded): remote copies of them are not adopted again. */
  private readonly mergedAway = new Set<string>();
  /** Clusters merged away since the last `drainDropped()`. */
  private readonly dropped = new Set<string>();
  /** Aliases recorded since the last `drainAliases()`. */
  private readonly freshAliases = new Map<string, string>();
  private readonly scratch: Scratch = { words: [], tokens: [], pieces: [], pieceStart: [], starts: [] };

  constructor(opts: MinerOptions = {}) {
    const o = {
      simThreshold: opts.simThreshold ?? 0.6,
      maxChildren: opts.maxChildren ?? 100,
      depth: opts.depth ?? 4,
      maxTokens: opts.maxTokens ?? 256,
      maxSplitValues: opts.maxSplitValues ?? 2,
    };
    if (!(o.simThreshold > 0 && o.simThreshold <= 1))
      throw new Error('TemplateMiner: simThreshold must be in (0, 1]');
    if (!Number.isInteger(o.maxChildren) || o.maxChildren < 1) {
      throw new Error('TemplateMiner: maxChildren must be a positive integer');
    }
    if (!Number.isInteger(o.depth) || o.depth < 3)
      throw new Error('TemplateMiner: depth must be an integer >= 3');
    if (!Number.isInteger(o.maxTokens) || o.maxTokens < 2) {
      throw new Error('TemplateMiner: maxTokens must be an integer >= 2');
    }
    this.options = o;
  }

  private setAlias(from: string, to: string): void {
    if (from === to) return;
    this.aliasMap.set(from, to);
    this.freshAliases.set(from, to);
  }

  /** Number of live clusters. */
  get size(): number {
    return this.byId.size;
  }

  private current = '';

  private tokenize(message: string): void {
    this.current = message;
    const s = this.scratch;
    s.words.length = 0;
    s.tokens.length = 0;
    s.pieces.length = 0;
    s.pieceStart.length = 0;
    s.starts.length = 0;
    const n = message.length;
    const maxTokens = this.options.maxTokens;
    let i = 0;
    while (i < n) {
      while (i < n && isSpace(message.charCodeAt(i))) i++;
      if (i >= n) break;
      s.pieceStart.push(s.pieces.length);
      if (s.words.length === maxTokens - 1) {
        let end = n;
        while (end > i && isSpace(message.charCodeAt(end - 1))) end--;
        const rest = message.slice(i, end);
        s.words.push(rest);
        s.starts.push(i);
        s.pieces.push(rest);
        s.tokens.push(WILDCARD);
        break;
      }
      let j = i;
      while (j < n && !isSpace(message.charCodeAt(j))) j++;
      const w = message.slice(i, j);
      const piecesBefore = s.pieces.length;
      const t = maskWord(w, s.pieces);
      const last = s.tokens.length - 1;
      if (t === WILDCARD && last >= 0 && s.tokens[last] === WILDCARD) {
        // a run of variable tokens (lists, multi-word values) is one parameter
        s.pieces.length = piecesBefore;
        s.pieceStart.pop();
        s.words[last] = message.slice(s.starts[last]!, j);
      } else {
        s.words.push(w);
        s.starts.push(i);
        s.tokens.push(t);
      }
      i = j;
    }
    s.pieceStart.push(s.pieces.length);
    if (this.dateWordsPass()) this.compact();
  }

  /** Month and weekday names next to a variable are part of a timestamp: mask them too. */
  private dateWordsPass(): boolean {
    const t = this.scratch.tokens;
    let changed = false;
    for (let i = 0; i < t.length; i++) {
      const w = t[i]!;
      if (i > 0 && t[i - 1] === WILDCARD && w.length <= 4 && UNIT_WORDS.has(stripEdge(w))) {
        t[i] = WILDCARD; // `5.2 KB,` -> one value with its unit
        changed = true;
        continue;
      }
      if (w.length < 3 || w.length > 9 || !DATE_WORDS.has(w)) continue;
      const prev = i > 0 ? t[i - 1]! : '';
      const next = i + 1 < t.length ? t[i + 1]! : '';
      if (prev.includes(WILDCARD) || next.includes(WILDCARD) || DATE_WORDS.has(next)) {
        t[i] = WILDCARD;
        changed = true;
      }
    }
    return changed;
  }

  /** Re-collapses runs of `<*>` tokens after a pass that created new ones. */
  private compact(): void {
    const s = this.scratch;
    const t = s.tokens;
    let w = 0;
    const newPieceStart: number[] = [];
    const newPieces: string[] = [];
    for (let r = 0; r < t.length; r++) {
      const tok = t[r]!;
      const from = s.pieceStart[r]!;
      const to = s.pieceStart[r + 1]!;
      if (tok === WILDCARD && w > 0 && t[w - 1] === WILDCARD) {
        const end = s.starts[r]! + s.words[r]!.length;
        s.words[w - 1] = this.current.slice(s.starts[w - 1]!, end);
        continue;
      }
      newPieceStart.push(newPieces.length);
      if (tok !== WILDCARD) for (let p = from; p < to; p++) newPieces.push(s.pieces[p]!);
      t[w] = tok;
      s.words[w] = s.words[r]!;
      s.starts[w] = s.starts[r]!;
      w++;
    }
    newPieceStart.push(newPieces.length);
    t.length = w;
    s.words.length = w;
    s.starts.length = w;
    s.pieces = newPieces;
    s.pieceStart = newPieceStart;
  }

  /** Masked tokens of a message (exposed for tests and diagnostics). */
  mask(message: string): string[] {
    this.tokenize(message);
    return [...this.scratch.tokens];
  }

  add(message: string): AddResult {
    this.tokenize(message);
    const tokens = this.scratch.tokens;
    const key = tokens.join(' ');
    let cluster = this.sigCache.get(key);
    if (cluster !== undefined) {
      while (cluster.mergedInto !== null) cluster = cluster.mergedInto;
    }
    let isNew = false;
    let changed = false;
    if (cluster === undefined) {
      const leaf = this.findLeaf(tokens);
      const found = leaf ? this.bestMatch(leaf, tokens) : null;
      if (found === null) {
        cluster = this.createCluster(tokens);
        isNew = true;
      } else {
        cluster = found;
        changed = this.generalise(cluster, tokens);
        if (changed) cluster = this.mergeCovered(leaf!, cluster);
      }
      if (this.sigCache.size >= SIG_CACHE_CAP) this.sigCache.clear();
      this.sigCache.set(key, cluster);
    }
    cluster.count++;
    this.dirty.add(cluster);
    if (cluster.split.length > 0 && this.observeSplits(cluster, tokens)) changed = true;
    const { id, template } = this.effective(cluster, tokens);
    return { templateId: id, template, params: this.params(cluster.tokens), isNew, changed };
  }

  /** Generalises `c` to cover `tokens`. Word-vs-word differences become tracked split positions. */
  private generalise(c: Cluster, tokens: readonly string[]): boolean {
    const t = c.tokens;
    let changed = false;
    for (let i = 0; i < t.length; i++) {
      const a = t[i]!;
      const b = tokens[i]!;
      if (a === b || a === WILDCARD) continue;
      const wordy = !a.includes(WILDCARD) && !b.includes(WILDCARD);
      if (wordy && c.split.length < MAX_SPLIT_POSITIONS && this.options.maxSplitValues > 1) {
        // every line so far had `a` here: existing ids get the value filled in
        const pos: SplitPos = { pos: i, values: new Map([[a, c.count]]) };
        if (c.split.length === 0 && c.issued.size === 0) c.issued.set(c.id, []);
        c.split.push(pos);
        c.split.sort((x, y) => x.pos - y.pos);
        this.reissue(c, (old) => {
          const k = c.split.indexOf(pos);
          const next = [...old];
          next.splice(k, 0, a);
          return next;
        });
      }
      t[i] = WILDCARD;
      changed = true;
    }
    if (changed) c.template = t.join(' ');
    return changed;
  }

  /** Counts the line's values at split positions; a position with too many distinct values becomes a variable. */
  private observeSplits(c: Cluster, tokens: readonly string[]): boolean {
    let changed = false;
    for (let k = 0; k < c.split.length; k++) {
      const sp = c.split[k]!;
      if (sp.values === null) continue;
      const v = tokens[sp.pos]!;
      const n = sp.values.get(v);
      if (n !== undefined) {
        sp.values.set(v, n + 1);
        continue;
      }
      if (sp.values.size < this.options.maxSplitValues && !v.includes(WILDCARD)) {
        sp.values.set(v, 1);
        continue;
      }
      sp.values = null;
      changed = true;
      this.reissue(c, (old) => old.map((x, i) => (i === k ? WILDCARD : x)));
    }
    return changed;
  }

  /** Re-keys every id issued for `c` after its split state changed; the old ids alias to the new ones. */
  private reissue(c: Cluster, remap: (old: string[]) => string[]): void {
    const next = new Map<string, string[]>();
    for (const [id, vals] of c.issued) {
      const nv = remap(vals);
      const nid = this.splitId(c, nv);
      if (nid !== id) this.setAlias(id, nid);
      next.set(nid, nv);
    }
    c.issued = next;
  }

  private splitId(c: Cluster, vals: readonly string[]): string {
    if (vals.length === 0) return c.id;
    let spec = c.id;
    for (let k = 0; k < vals.length; k++) spec += `\u0000${c.split[k]!.pos}=${vals[k]!}`;
    return stableId('tpl_', spec);
  }

  /** The id and template of the line's sub-group: split positions filled with the line's own values. */
  private effective(c: Cluster, tokens: readonly string[]): { id: string; template: string } {
    if (c.split.length === 0) return { id: c.id, template: c.template };
    const vals: string[] = [];
    let filled: string[] | null = null;
    for (const sp of c.split) {
      if (sp.values === null) vals.push(WILDCARD);
      else {
        const v = tokens[sp.pos]!;
        vals.push(v);
        filled ??= [...c.tokens];
        filled[sp.pos] = v;
      }
    }
    const id = this.splitId(c, vals);
    if (!c.issued.has(id)) {
      if (c.issued.size >= MAX_ISSUED) c.issued.clear();
      c.issued.set(id, vals);
    }
    return { id, template: filled === null ? c.template : filled.join(' ') };
  }

  private params(t: readonly string[]): string[] {
    const s = this.scratch;
    const out: string[] = [];
    for (let i = 0; i < t.length; i++) {
      const tt = t[i]!;
      if (tt === WILDCARD) {
        out.push(s.words[i]!);
      } else if (tt.includes(WILDCARD)) {
        const from = s.pieceStart[i]!;
        const to = s.pieceStart[i + 1]!;
        for (let p = from; p < to; p++) out.push(s.pieces[p]!);
      }
    }
    return out;
  }

  private treeKey(node: Node, token: string): string {
    if (token === WILDCARD || hasDigit(token) || token.includes(WILDCARD)) return WILDCARD;
    if (node.children.has(token)) return token;
    return node.children.size < this.options.maxChildren ? token : WILDCARD;
  }

  private findLeaf(tokens: readonly string[]): Node | null {
    let node = this.root.get(tokens.length);
    if (!node) return null;
    const levels = Math.min(this.options.depth - 2, tokens.length);
    for (let i = 0; i < levels; i++) {
      const tok = tokens[i]!;
      const next: Node | undefined = node.children.get(tok) ?? node.children.get(WILDCARD);
      if (!next) return null;
      node = next;
    }
    return node;
  }

  private bestMatch(leaf: Node, tokens: readonly string[]): Cluster | null {
    const n = tokens.length;
    let best: Cluster | null = null;
    let bestSim = -1;
    let bestParams = -1;
    for (const c of leaf.clusters) {
      const t = c.tokens;
      let sim = 0;
      let params = 0;
      for (let i = 0; i < n; i++) {
        const tt = t[i];
        if (tt === tokens[i]) sim++;
        else if (tt === WILDCARD) params++;
      }
      const ratio = n === 0 ? 1 : sim / n;
      if (ratio > bestSim || (ratio === bestSim && params > bestParams)) {
        best = c;
        bestSim = ratio;
        bestParams = params;
      }
    }
    return best !== null && bestSim >= this.options.simThreshold ? best : null;
  }

  private createCluster(tokens: readonly string[]): Cluster {
    const template = tokens.join(' ');
    const founding = `${tokens.length}\u0000${template}`;
    let id = stableId('tpl_', founding);
    for (let k = 2; this.byId.has(id) || this.aliasMap.has(id); k++)
      id = stableId('tpl_', `${founding}\u0000#${k}`);
    const cluster: Cluster = {
      id,
      tokens: [...tokens],
      template,
      count: 0,
      split: [],
      issued: new Map(),
      mergedInto: null,
    };
    this.byId.set(id, cluster);
    this.place(cluster);
    return cluster;
  }

  private place(cluster: Cluster): Node {
    const tokens = cluster.tokens;
    let node = this.root.get(tokens.length);
    if (!node) {
      node = newNode();
      this.root.set(tokens.length, node);
    }
    const levels = Math.min(this.options.depth - 2, tokens.length);
    for (let i = 0; i < levels; i++) {
      const key = this.treeKey(node, tokens[i]!);
      let next = node.children.get(key);
      if (!next) {
        next = newNode();
        node.children.set(key, next);
      }
      node = next;
    }
    node.clusters.push(cluster);
    return node;
  }

  /** After `c` generalised, absorb clusters in the same leaf whose template it now covers. Returns the survivor. */
  private mergeCovered(leaf: Node, c: Cluster): Cluster {
    let survivor = c;
    for (let idx = 0; idx < leaf.clusters.length; idx++) {
      const d = leaf.clusters[idx]!;
      if (d === survivor || !covers(survivor.tokens, d.tokens)) continue;
      // Keep the smaller id so the outcome does not depend on which cluster generalised first.
      const keep = d.id < survivor.id ? d : survivor;
      const drop = keep === d ? survivor : d;
      // ids handed out for d's lines: d's own tokens at the survivor's split positions
      const dIds = d.issued.size > 0 ? [...d.issued.keys()] : [d.id];
      const dVals = survivor.split.map((sp) =>
        sp.values === null || d.tokens[sp.pos]!.includes(WILDCARD) ? WILDCARD : d.tokens[sp.pos]!,
      );
      const oldSurvivorId = survivor.id;
      keep.tokens = survivor.tokens;
      keep.template = survivor.template;
      keep.split = survivor.split;
      keep.issued = survivor.issued;
      keep.count = survivor.count + d.count;
      this.byId.delete(drop.id);
      this.dirty.delete(drop);
      this.dropped.add(drop.id);
      if (this.mergedAway.size >= SIG_CACHE_CAP) this.mergedAway.clear();
      this.mergedAway.add(drop.id);
      drop.mergedInto = keep;
      if (keep !== survivor) {
        // the survivor's sub-groups are now keyed by the kept cluster's id
        const old = [...survivor.issued];
        keep.issued = new Map();
        for (const [id, vals] of old) {
          const nid = this.splitId(keep, vals);
          if (nid !== id) this.setAlias(id, nid);
          keep.issued.set(nid, vals);
        }
        if (old.length === 0 && oldSurvivorId !== keep.id)
          this.setAlias(
            oldSurvivorId,
            this.splitId(
              keep,
              dVals.map(() => WILDCARD),
            ),
          );
      }
      const dNew = this.splitId(keep, dVals);
      for (const id of dIds) if (id !== dNew) this.setAlias(id, dNew);
      if (!keep.issued.has(dNew) && keep.split.length > 0) keep.issued.set(dNew, dVals);
      const at = leaf.clusters.indexOf(drop);
      leaf.clusters.splice(at, 1);
      if (at <= idx) idx--;
      survivor = keep;
    }
    return survivor;
  }

  templates(): TemplateInfo[] {
    const out: TemplateInfo[] = [];
    for (const c of this.byId.values()) {
      if (c.split.length === 0 || c.issued.size === 0) {
        out.push({ templateId: c.id, template: c.template, count: c.count });
        continue;
      }
      for (const [id, vals] of c.issued) {
        const t = [...c.tokens];
        c.split.forEach((sp, k) => (t[sp.pos] = vals[k]!));
        out.push({ templateId: id, template: t.join(' '), count: splitCount(c, vals) });
      }
    }
    return out;
  }

  /** Resolves an id through merges; unknown ids come back unchanged. */
  resolve(id: string): string {
    let cur = id;
    for (let guard = 0; guard < 1000; guard++) {
      const next = this.aliasMap.get(cur);
      if (next === undefined) return cur;
      cur = next;
    }
    throw new Error(`TemplateMiner: alias cycle at ${id}`);
  }

  /** old id -> current id, for every id that was merged or refined away (transitively resolved). */
  aliases(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of this.aliasMap.keys()) out[k] = this.resolve(k);
    return out;
  }

  snapshot(): MinerSnapshot {
    return {
      version: 2,
      options: { ...this.options },
      clusters: [...this.byId.values()].map((c) => ({
        id: c.id,
        tokens: [...c.tokens],
        count: c.count,
        split: c.split.map((sp) => [sp.pos, sp.values === null ? null : [...sp.values]]),
        issued: [...c.issued],
      })),
      aliases: Object.fromEntries(this.aliasMap),
    };
  }

  /**
   * Rebuilds a miner from a snapshot. The tree is re-derived from the clusters in snapshot order, so a snapshot is
   * just data (no internal structure) and can be merged from several sources.
   */
  static restore(s: MinerSnapshot): TemplateMiner {
    if (s.version !== 2)
      throw new Error(`TemplateMiner.restore: unsupported snapshot version ${String(s.version)}`);
    const m = new TemplateMiner(s.options);
    for (const c of s.clusters) m.adopt(c);
    for (const [k, v] of Object.entries(s.aliases)) m.aliasMap.set(k, v);
    return m;
  }

  /**
   * Takes over a cluster learned elsewhere (another replica, the database). Known ids are left alone (first writer
   * wins); an adopted cluster lands in the tree like a new one, so later lines can match it.
   */
  adopt(c: ClusterSnapshot): boolean {
    if (this.byId.has(c.id)) return false;
    this.place(this.fromSnapshot(c));
    return true;
  }

  /**
   * Folds a cluster learned elsewhere (another replica through the database) into this miner so that replicas
   * converge on the same ids:
   * - a cluster merged away here is ignored (its aliases already point at the survivor);
   * - a known id takes the union of both states (positions that are variables in either become variables);
   * - an unknown id is adopted; when it would match a local cluster of the same leaf (similarity >= `simThreshold`),
   *   the two merge exactly like a generalised cluster absorbing a covered one: the smaller id survives and the other
   *   becomes an alias. Every replica applies the same rule, so they end with the same surviving id.
   */
  absorb(s: ClusterSnapshot): void {
    if (this.mergedAway.has(s.id)) return;
    const local = this.byId.get(s.id);
    if (local !== undefined) {
      if (s.tokens.length !== local.tokens.length) return;
      for (const [pos, values] of s.split) {
        const k = local.split.findIndex((sp) => sp.pos === pos);
        if (k >= 0 && values === null && local.split[k]!.values !== null) {
          local.split[k]!.values = null;
          this.reissue(local, (old) => old.map((x, i) => (i === k ? WILDCARD : x)));
        }
      }
      for (const [id, vals] of s.issued)
        if (!local.issued.has(id) && local.issued.size < MAX_ISSUED && vals.length === local.split.length)
          local.issued.set(id, [...vals]);
      if (this.generalise(local, s.tokens)) {
        const leaf = this.findLeaf(local.tokens);
        if (leaf !== null && leaf.clusters.includes(local)) this.mergeCovered(leaf, local);
      }
      return;
    }
    const cluster = this.fromSnapshot(s);
    const leaf = this.place(cluster);
    let c = cluster;
    for (let guard = 0; guard < leaf.clusters.length + 1; guard++) {
      const other = leaf.clusters.find(
        (d) => d !== c && similarity(c.tokens, d.tokens) >= this.options.simThreshold,
      );
      if (other === undefined) break;
      this.generalise(c, other.tokens);
      c = this.mergeCovered(leaf, c);
    }
  }

  /** Clusters that changed or counted lines since the last call (for persistence), as snapshots. */
  drainDirty(): ClusterSnapshot[] {
    const out: ClusterSnapshot[] = [];
    for (const c of this.dirty)
      if (c.mergedInto === null && this.byId.get(c.id) === c) out.push(this.toSnapshot(c));
    this.dirty.clear();
    return out;
  }

  /** Ids of clusters merged into others since the last call (their stored state can go). */
  drainDropped(): string[] {
    const out = [...this.dropped].filter((id) => !this.byId.has(id));
    this.dropped.clear();
    return out;
  }

  /** Aliases (old id -> new id) recorded since the last call. */
  drainAliases(): Record<string, string> {
    const out = Object.fromEntries(this.freshAliases);
    this.freshAliases.clear();
    return out;
  }

  private fromSnapshot(c: ClusterSnapshot): Cluster {
    const cluster: Cluster = {
      id: c.id,
      tokens: [...c.tokens],
      template: c.tokens.join(' '),
      count: c.count,
      split: c.split.map(([pos, values]) => ({ pos, values: values === null ? null : new Map(values) })),
      issued: new Map(c.issued.map(([id, vals]) => [id, [...vals]])),
      mergedInto: null,
    };
    this.byId.set(c.id, cluster);
    return cluster;
  }

  private toSnapshot(c: Cluster): ClusterSnapshot {
    return {
      id: c.id,
      tokens: [...c.tokens],
      count: c.count,
      split: c.split.map((sp) => [sp.pos, sp.values === null ? null : [...sp.values]]),
      issued: [...c.issued],
    };
  }

  /** Adds aliases learned elsewhere (never overwrites a local one). */
  adoptAliases(aliases: Record<string, string>): void {
    for (const [k, v] of Object.entries(aliases))
      if (!this.aliasMap.has(k) && k !== v) this.aliasMap.set(k, v);
  }

  /** One cluster's state, for persistence (undefined for unknown ids). */
  cluster(id: string): ClusterSnapshot | undefined {
    const c = this.byId.get(id);
    return c === undefined ? undefined : this.toSnapshot(c);
  }
}

function splitCount(c: Cluster, vals: readonly string[]): number {
  let n = c.count;
  c.split.forEach((sp, k) => {
    if (sp.values !== null) n = Math.min(n, sp.values.get(vals[k]!) ?? 0);
  });
  return n;
}

/** True when template `a` matches everything `b` matches (same length; each position equal or `a` is `<*>`). */
function covers(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== WILDCARD && a[i] !== b[i]) return false;
  return true;
}

/** Share of positions where two equal-length token lists agree (0 for different lengths). */
function similarity(a: readonly string[], b: readonly string[]): number {
  if (a.length !== b.length) return 0;
  if (a.length === 0) return 1;
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/**
 * Union of two states of the same cluster (same id), as stored by different replicas: a position that is a variable
 * in either is a variable; split positions union their values (a position with more than `maxSplitValues` values, or
 * a variable in either, becomes a variable); issued ids union (at most 64). `count` is taken from `a`: the caller adds
 * its own count delta. Pure, so the database adapter can merge under a row lock.
 */
export function mergeClusterSnapshots(
  a: ClusterSnapshot,
  b: ClusterSnapshot,
  maxSplitValues = 2,
): ClusterSnapshot {
  if (a.id !== b.id) throw new Error(`mergeClusterSnapshots: ids differ (${a.id} vs ${b.id})`);
  if (a.tokens.length !== b.tokens.length) return a;
  const tokens = a.tokens.map((t, i) => (t === b.tokens[i] ? t : WILDCARD));
  const byPos = new Map<number, Map<string, number> | null>();
  for (const [pos, values] of [...a.split, ...b.split]) {
    const cur = byPos.get(pos);
    if (cur === null) continue;
    if (values === null) {
      byPos.set(pos, null);
      continue;
    }
    const m = cur ?? new Map<string, number>();
    for (const [v, n] of values) m.set(v, (m.get(v) ?? 0) + n);
    byPos.set(pos, m.size > maxSplitValues ? null : m);
  }
  const split: [number, [string, number][] | null][] = [...byPos]
    .sort((x, y) => x[0] - y[0])
    .slice(0, MAX_SPLIT_POSITIONS)
    .map(([pos, m]) => [pos, m === null ? null : [...m]]);
  const issued = new Map<string, string[]>();
  for (const [id, vals] of [...a.issued, ...b.issued])
    if (!issued.has(id) && issued.size < MAX_ISSUED && vals.length === split.length) issued.set(id, vals);
  return { id: a.id, tokens, count: a.count, split, issued: [...issued] };
}
