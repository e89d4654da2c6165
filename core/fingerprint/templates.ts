/**
 * Online streaming log template miner (Drain-like) with universal preprocessing and stable template ids.
 *
 * Pipeline for one message:
 * 1. Tokenise on whitespace. Delimiters inside a word (`:`, `=`, `/`, `(`, `_`, …) are kept, so the template text
 *    keeps the line's shape (`src: /<*>`, `size=<*>`, `blk_<*>`).
 * 2. Mask obvious variables inside each word with one char-class scan (no regex per token; mask.ts):
 *    - `key=value` -> `key=<*>` when the value is a number, path or boolean/null (`force=true` -> `force=<*>`);
 *    - words with a digit that look like paths/URLs (`/a/b1`, `./x`, `http://…`, two or more `/`) -> `<*>`;
 *    - alphanumeric runs: numbers (with a sign after a delimiter: `blk_-42` -> `blk_<*>`), hex (`0x1f`, >= 6 hex
 *      chars with a digit), `250ms` -> `<*>ms`, runs starting with a digit or >= 8 chars with a digit (`31T10`,
 *      `a1b2c3d4`), `job12345` -> `job<*>`;
 *    - variables joined by one of `. : , _ - /` collapse into one (`10.0.0.1:50010` -> `<*>`, `2024-01-31` -> `<*>`).
 *    Redaction placeholders (`<IP>`, `<EMAIL>`) are ordinary constant text.
 *    The scan runs once per line (scan.ts): each word is hashed with its digits folded to `0` and looked up in a
 *    bounded, exactly-verified cache of masked shapes, so only new shapes are sliced and masked; the line becomes a
 *    sequence of interned token ids whose hash keys a bounded cache of signature -> cluster (and -> the id and
 *    template last computed, invalidated by any state change). Params are cut from the line only when read.
 * 3. Drain: a fixed-depth prefix tree keyed by token count, then the first `depth - 2` tokens (a token with a digit or
 *    a wildcard, or one that would exceed `maxChildren`, goes under `<*>`). In the leaf, the cluster with the highest
 *    similarity (share of positions whose template token equals the line's token) wins if it reaches
 *    `simThreshold`; differing positions are generalised to `<*>`. Otherwise a new cluster is created.
 * 4. Categorical positions: where lines differ by a word (`started`/`finished`, `tty=NODEVssh`/`tty=:<*>`,
 *    `LOGIN(uid=<*>)`/`(uid=<*>)`; see `categorical`), the position is generalised but its values are tracked and
 *    each value keeps its own template id while there are at most `maxSplitValues` of them (8x that when every value
 *    is an upper-case enum constant such as `RUNNING` or `FAIL_TASK_CLEANUP`); one more makes it a plain variable.
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

import { WILDCARD, hasDigit, isAlnum } from './mask.js';
import { LineScanner } from './scan.js';

export { WILDCARD, maskWord } from './mask.js';

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
const ENUM_FACTOR = 8;

/** One masked signature seen: its ids (exact check), its cluster and the id/template last computed for it. */
interface SigEntry {
  readonly ids: Int32Array;
  cluster: Cluster;
  epoch: number;
  id: string;
  template: string;
  next: SigEntry | null;
}

/** `AddResult` whose params are cut from the line only when asked for. */
class MinedLine implements AddResult {
  private cached: string[] | null = null;
  constructor(
    readonly templateId: string,
    readonly template: string,
    readonly isNew: boolean,
    readonly changed: boolean,
    private readonly miner: TemplateMiner,
    private readonly message: string,
    private readonly seq: number,
    private readonly clusterTemplate: string,
  ) {}

  get params(): string[] {
    this.cached ??= this.miner.paramsOf(this.message, this.seq, this.clusterTemplate);
    return this.cached;
  }
}

interface Node {
  readonly children: Map<string, Node>;
  readonly clusters: Cluster[];
}

const newNode = (): Node => ({ children: new Map(), clusters: [] });

// ---- the miner -----------------------------------------------------------------------------------------------------

export class TemplateMiner {
  readonly options: Required<MinerOptions>;
  private readonly root = new Map<number, Node>();
  private readonly byId = new Map<string, Cluster>();
  private readonly aliasMap = new Map<string, string>();
  /** Masked signature hash -> the cluster its lines go to (chained on hash collisions; ids compared exactly). */
  private readonly sigCache = new Map<number, SigEntry>();
  private sigCount = 0;
  /** Bumped whenever any cluster's state changes: cached per-signature ids/templates are recomputed after it. */
  private epoch = 0;
  private seq = 0;
  private readonly scanner = new LineScanner();
  private readonly tokens: string[] = [];
  /** Clusters changed (or just counted) since the last `drainDirty()`. */
  private readonly dirty = new Set<Cluster>();
  /** Ids of clusters merged into others here (bounded): remote copies of them are not adopted again. */
  private readonly mergedAway = new Set<string>();
  /** Clusters merged away since the last `drainDropped()`. */
  private readonly dropped = new Set<string>();
  /** Aliases recorded since the last `drainAliases()`. */
  private readonly freshAliases = new Map<string, string>();

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

  /** Scans `message` into the scanner and materialises its masked tokens (interned strings) in `tokens`. */
  private tokenize(message: string): void {
    const sc = this.scanner;
    const gen = sc.generation;
    sc.scan(message, this.options.maxTokens);
    if (sc.generation !== gen) this.clearSigCache();
    this.seq++;
    const t = this.tokens;
    const text = sc.text;
    t.length = sc.n;
    for (let i = 0; i < sc.n; i++) t[i] = text[sc.tok[i]!]!;
  }

  private clearSigCache(): void {
    this.sigCache.clear();
    this.sigCount = 0;
  }

  /** Masked tokens of a message (exposed for tests and diagnostics). */
  mask(message: string): string[] {
    this.tokenize(message);
    return [...this.tokens];
  }

  /** Parameters of `message` against a template, for `AddResult.params` (computed on first access). */
  paramsOf(message: string, seq: number, template: string): string[] {
    if (seq !== this.seq || this.scanner.message !== message) this.tokenize(message);
    return this.scanner.params(template.length === 0 ? [] : template.split(' '));
  }

  add(message: string): AddResult {
    this.tokenize(message);
    const tokens = this.tokens;
    const sc = this.scanner;
    let entry: SigEntry | null = this.sigCache.get(sc.hash) ?? null;
    while (entry !== null && !sc.sameIds(entry.ids)) entry = entry.next;
    let isNew = false;
    let changed = false;
    let cluster: Cluster;
    if (entry !== null) {
      cluster = entry.cluster;
      if (cluster.mergedInto !== null) {
        while (cluster.mergedInto !== null) cluster = cluster.mergedInto;
        entry.cluster = cluster;
        entry.epoch = -1;
      }
    } else {
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
      if (this.sigCount >= SIG_CACHE_CAP) this.clearSigCache();
      const head = this.sigCache.get(sc.hash) ?? null;
      entry = { ids: sc.tok.slice(0, sc.n), cluster, epoch: -1, id: '', template: '', next: head };
      this.sigCache.set(sc.hash, entry);
      this.sigCount++;
    }
    cluster.count++;
    this.dirty.add(cluster);
    if (cluster.split.length > 0 && this.observeSplits(cluster, tokens)) changed = true;
    if (isNew || changed) this.epoch++;
    if (entry.epoch !== this.epoch) {
      const eff = this.effective(cluster, tokens);
      entry.id = eff.id;
      entry.template = eff.template;
      entry.epoch = this.epoch;
    }
    return new MinedLine(entry.id, entry.template, isNew, changed, this, message, this.seq, cluster.template);
  }

  /** Generalises `c` to cover `tokens`. Word-vs-word differences become tracked split positions. */
  private generalise(c: Cluster, tokens: readonly string[]): boolean {
    const t = c.tokens;
    let changed = false;
    for (let i = 0; i < t.length; i++) {
      const a = t[i]!;
      const b = tokens[i]!;
      if (a === b || a === WILDCARD) continue;
      const wordy = categorical(a, b);
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
      if (
        sp.values.size < splitLimit(sp.values, v, this.options.maxSplitValues) &&
        categoricalValue(sp.values, v)
      ) {
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
      if (c.issued.size >= MAX_ISSUED) {
        c.issued.clear();
        this.epoch++; // cached lines of this cluster must register their ids again
      }
      c.issued.set(id, vals);
    }
    return { id, template: filled === null ? c.template : filled.join(' ') };
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
    this.epoch++;
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

const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

function wildcards(s: string): number {
  let n = 0;
  for (let i = s.indexOf(WILDCARD); i >= 0; i = s.indexOf(WILDCARD, i + 3)) n++;
  return n;
}

/** True when s[from, to) is a non-empty run of letters. */
function isWordSpan(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) if (!isLetter(s.charCodeAt(i))) return false;
  return true;
}

/**
 * True when two different tokens at one position look like distinct constant values (kept split) rather than two
 * instances of one variable: plain words (`started`/`finished`), or shapes with at most one variable whose
 * difference, widened to whole words, is a word on at least one side (`tty=NODEVssh` / `tty=:<*>`,
 * `LOGIN(uid=<*>)` / `(uid=<*>)`). A difference where one side is exactly a variable, or made only of variables and
 * punctuation (`rhost=<*>` / `rhost=`, `(<*>)` / `()`), is one variable; so are tokens holding several variables
 * (lists, tuples: their other fields vary too).
 */
export function categorical(a: string, b: string): boolean {
  if (a === WILDCARD || b === WILDCARD) return false;
  const wa = wildcards(a);
  const wb = wildcards(b);
  if (wa === 0 && wb === 0) return true;
  if (wa > 1 || wb > 1) return false;
  const n = Math.min(a.length, b.length);
  let p = 0;
  while (p < n && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  let q = 0;
  while (q < n - p && a.charCodeAt(a.length - 1 - q) === b.charCodeAt(b.length - 1 - q)) q++;
  // widen to word boundaries
  while (p > 0 && isAlnum(a.charCodeAt(p - 1))) p--;
  while (q > 0 && isAlnum(a.charCodeAt(a.length - q))) q--;
  const ea = a.length - q;
  const eb = b.length - q;
  if ((ea - p === 3 && a.startsWith(WILDCARD, p)) || (eb - p === 3 && b.startsWith(WILDCARD, p)))
    return false;
  return isWordSpan(a, p, ea) || isWordSpan(b, p, eb);
}

/** Upper-case identifiers (`RUNNING`, `FAIL_TASK_CLEANUP`): enum constants such as states, kept split longer. */
function isEnumWord(s: string): boolean {
  if (s.length < 2) return false;
  let upper = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) upper++;
    else if (c !== 95 && !(c >= 48 && c <= 57 && i > 0)) return false;
  }
  return upper >= 2;
}

/** Distinct values a split position may hold: `maxSplitValues`, or 8x that when every value is an enum constant. */
export function splitLimit(values: Map<string, number>, next: string | null, maxSplitValues: number): number {
  if (next !== null && !isEnumWord(next)) return maxSplitValues;
  for (const k of values.keys()) if (!isEnumWord(k)) return maxSplitValues;
  return maxSplitValues * ENUM_FACTOR;
}

function categoricalValue(values: Map<string, number>, v: string): boolean {
  if (v === WILDCARD) return false;
  for (const k of values.keys()) if (!categorical(k, v)) return false;
  return true;
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
    byPos.set(pos, m.size > splitLimit(m, null, maxSplitValues) ? null : m);
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
