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
  /** Minimum share of matching positions to join a cluster (0..1]. Default 0.5. */
  readonly simThreshold?: number;
  /** Max children per inner tree node before new tokens route to `<*>`. Default 100. */
  readonly maxChildren?: number;
  /** Tree depth (>= 3): root + length level + (depth - 2) token levels. Default 4. */
  readonly depth?: number;
  /** Lines with more tokens keep the first `maxTokens - 1` and fold the rest into one `<*>`. Default 256. */
  readonly maxTokens?: number;
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

export interface MinerNodeSnapshot {
  /** Children in insertion order: [token, node]. */
  readonly c: [string, MinerNodeSnapshot][];
  /** Cluster ids at this node (leaves only), in creation order. */
  readonly k: string[];
}

export interface MinerSnapshot {
  readonly version: 1;
  readonly options: Required<MinerOptions>;
  readonly clusters: { id: string; tokens: string[]; count: number }[];
  /** Token-count level: [length, subtree]. */
  readonly tree: [number, MinerNodeSnapshot][];
  readonly aliases: Record<string, string>;
}

interface Cluster {
  id: string;
  tokens: string[];
  template: string;
  count: number;
}

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
  // key=value -> key=<*>
  if (eq > 0 && keyOk && eq < n - 1 && word.charCodeAt(eq + 1) !== 61) {
    pieces.push(word.slice(eq + 1));
    return word.slice(0, eq + 1) + WILDCARD;
  }
  if (digits === 0) return word;
  // paths and URLs with a digit anywhere -> <*>
  const c0 = word.charCodeAt(0);
  if (
    slashes >= 2 ||
    (c0 === 47 && n > 1) ||
    word.startsWith('./') ||
    word.startsWith('~/') ||
    word.includes('://') ||
    word.includes('\\')
  ) {
    pieces.push(word);
    return WILDCARD;
  }
  return maskRuns(word, pieces);
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
    // alnum run [i, j)
    let j = i;
    let d = 0;
    let hexLetters = 0;
    let letters = 0;
    let leadDigits = 0;
    let inLead = true;
    while (j < n) {
      const cj = word.charCodeAt(j);
      const k = cls(cj);
      if ((k & (C_DIGIT | C_LETTER)) === 0) break;
      if (k & C_DIGIT) {
        d++;
        if (inLead) leadDigits++;
      } else {
        inLead = false;
        letters++;
        if (k & C_HEXLETTER) hexLetters++;
      }
      j++;
    }
    const len = j - i;
    let varStart = -1;
    let varEnd = -1;
    if (d > 0) {
      if (d === len) {
        varStart = i;
        varEnd = j;
      } else if (
        len > 2 &&
        word.charCodeAt(i) === 48 &&
        (word.charCodeAt(i + 1) | 32) === 120 &&
        letters === hexLetters + 1
      ) {
        varStart = i; // 0x1f2e
        varEnd = j;
      } else if (letters === hexLetters && len >= 6) {
        varStart = i; // hex id
        varEnd = j;
      } else if (leadDigits > 0 && leadDigits + letters === len && letters <= 4) {
        varStart = i; // 250ms, 10KB: mask the number, keep the unit
        varEnd = i + leadDigits;
      } else {
        // letters then >= 3 trailing digits: job12345 -> job<*>
        let t = j;
        while (t > i && (cls(word.charCodeAt(t - 1)) & C_DIGIT) !== 0) t--;
        let allLetters = t > i;
        for (let q = i; q < t && allLetters; q++)
          if ((cls(word.charCodeAt(q)) & C_LETTER) === 0) allLetters = false;
        if (allLetters && j - t >= 3) {
          varStart = t;
          varEnd = j;
        } else if (leadDigits > 0 || len >= 8) {
          varStart = i; // 31T10, 4a3b, long mixed id
          varEnd = j;
        }
      }
    }
    if (varStart >= 0) {
      // absorb a sign that follows a delimiter (blk_-42, =-3, leading -5)
      if (varStart === i && varStart > 0) {
        const s = word.charCodeAt(varStart - 1);
        if ((s === 45 || s === 43) && (varStart - 1 === 0 || !isAlnum(word.charCodeAt(varStart - 2))))
          varStart--;
      }
      masked = true;
      const gap = varStart - lastVarEnd;
      if (gap === 1 && (cls(word.charCodeAt(lastVarEnd)) & C_CONNECTOR) !== 0 && copied === lastVarEnd) {
        // collapse `<*>` + connector + `<*>` into one
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

// ---- the miner -----------------------------------------------------------------------------------------------------

export class TemplateMiner {
  readonly options: Required<MinerOptions>;
  private readonly root = new Map<number, Node>();
  private readonly byId = new Map<string, Cluster>();
  private readonly aliasMap = new Map<string, string>();
  private readonly scratch: Scratch = { words: [], tokens: [], pieces: [], pieceStart: [] };

  constructor(opts: MinerOptions = {}) {
    const o = {
      simThreshold: opts.simThreshold ?? 0.5,
      maxChildren: opts.maxChildren ?? 100,
      depth: opts.depth ?? 4,
      maxTokens: opts.maxTokens ?? 256,
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

  /** Number of live clusters. */
  get size(): number {
    return this.byId.size;
  }

  private tokenize(message: string): void {
    const s = this.scratch;
    s.words.length = 0;
    s.tokens.length = 0;
    s.pieces.length = 0;
    s.pieceStart.length = 0;
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
        s.pieces.push(rest);
        s.tokens.push(WILDCARD);
        break;
      }
      let j = i;
      while (j < n && !isSpace(message.charCodeAt(j))) j++;
      const w = message.slice(i, j);
      s.words.push(w);
      s.tokens.push(maskWord(w, s.pieces));
      i = j;
    }
    s.pieceStart.push(s.pieces.length);
  }

  /** Masked tokens of a message (exposed for tests and diagnostics). */
  mask(message: string): string[] {
    this.tokenize(message);
    return [...this.scratch.tokens];
  }

  add(message: string): AddResult {
    this.tokenize(message);
    const tokens = this.scratch.tokens;
    const leaf = this.findLeaf(tokens);
    let cluster: Cluster | null = null;
    if (leaf) cluster = this.bestMatch(leaf, tokens);
    let isNew = false;
    let changed = false;
    if (cluster === null) {
      cluster = this.createCluster(tokens);
      isNew = true;
    } else {
      cluster.count++;
      const t = cluster.tokens;
      for (let i = 0; i < t.length; i++) {
        if (t[i] !== tokens[i] && t[i] !== WILDCARD) {
          t[i] = WILDCARD;
          changed = true;
        }
      }
      if (changed) {
        cluster.template = t.join(' ');
        cluster = this.mergeCovered(leaf!, cluster);
      }
    }
    return {
      templateId: cluster.id,
      template: cluster.template,
      params: this.params(cluster.tokens),
      isNew,
      changed,
    };
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
    if (token === WILDCARD || hasDigit(token)) return WILDCARD;
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
    const cluster: Cluster = { id, tokens: [...tokens], template, count: 1 };
    this.byId.set(id, cluster);
    // place into the tree
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
    return cluster;
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
      keep.tokens = survivor.tokens;
      keep.template = survivor.template;
      keep.count = survivor.count + d.count;
      this.byId.delete(drop.id);
      this.aliasMap.set(drop.id, keep.id);
      const at = leaf.clusters.indexOf(drop);
      leaf.clusters.splice(at, 1);
      if (at <= idx) idx--;
      survivor = keep;
    }
    return survivor;
  }

  templates(): TemplateInfo[] {
    return [...this.byId.values()].map((c) => ({ templateId: c.id, template: c.template, count: c.count }));
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

  /** old id -> current id, for every cluster that was merged away (transitively resolved). */
  aliases(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of this.aliasMap.keys()) out[k] = this.resolve(k);
    return out;
  }

  snapshot(): MinerSnapshot {
    const snapNode = (node: Node): MinerNodeSnapshot => ({
      c: [...node.children].map(([k, v]) => [k, snapNode(v)]),
      k: node.clusters.map((c) => c.id),
    });
    return {
      version: 1,
      options: { ...this.options },
      clusters: [...this.byId.values()].map((c) => ({ id: c.id, tokens: [...c.tokens], count: c.count })),
      tree: [...this.root].map(([len, node]) => [len, snapNode(node)]),
      aliases: Object.fromEntries(this.aliasMap),
    };
  }

  static restore(s: MinerSnapshot): TemplateMiner {
    if (s.version !== 1)
      throw new Error(`TemplateMiner.restore: unsupported snapshot version ${String(s.version)}`);
    const m = new TemplateMiner(s.options);
    for (const c of s.clusters) {
      m.byId.set(c.id, { id: c.id, tokens: [...c.tokens], template: c.tokens.join(' '), count: c.count });
    }
    const build = (ns: MinerNodeSnapshot): Node => {
      const node = newNode();
      for (const [k, child] of ns.c) node.children.set(k, build(child));
      for (const id of ns.k) {
        const c = m.byId.get(id);
        if (!c) throw new Error(`TemplateMiner.restore: tree references unknown cluster ${id}`);
        node.clusters.push(c);
      }
      return node;
    };
    for (const [len, ns] of s.tree) m.root.set(len, build(ns));
    for (const [k, v] of Object.entries(s.aliases)) m.aliasMap.set(k, v);
    return m;
  }
}

/** True when template `a` matches everything `b` matches (same length; each position equal or `a` is `<*>`). */
function covers(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== WILDCARD && a[i] !== b[i]) return false;
  return true;
}
