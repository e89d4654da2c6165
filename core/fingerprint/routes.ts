/**
 * Route normalisation for HTTP paths and span names, plus a per-(service, method, prefix) cardinality cap.
 *
 * Segment classes (first match wins):
 *   already a template (`{id}`, `:id`, `*`)          -> kept
 *   date `2024-01-31` / `20240131` (valid month/day)  -> {date}
 *   integer                                          -> {id}
 *   UUID 8-4-4-4-12                                  -> {uuid}
 *   IPv4                                             -> {ip}
 *   email                                            -> {email}
 *   hex >= 16 chars containing a digit               -> {hash}
 *   opaque token: >= 16 chars of [A-Za-z0-9_-+=.~%] mixing letters and digits; or >= 20 letters that flip case
 *     often and have few vowels (random base64, not camelCase words); or 8..15 chars that alternate letters/digits a
 *     lot (`x9f3k2l1`)                               -> {token}
 *   digit groups with separators (`1.2.3`, `123-456`) -> {id}
 *   `word-123` / `word_123`                          -> `word-{id}`
 *   `<stem>.<ext>` whose stem is variable            -> `{class}.<ext>` (e.g. `123.json` -> `{id}.json`)
 *   anything else (static words, `v1`, `oauth2`)     -> kept
 */
import type { SpanModel } from '../otlp/model.js';
import { SpanKind } from '../otlp/model.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX_RE = /^[0-9a-f]{16,}$/i;
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const EMAIL_RE = /^[^@\s/]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/;
const DATE_DASH_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_COMPACT_RE = /^(\d{4})(\d{2})(\d{2})$/;
const TOKEN_CHARS_RE = /^[A-Za-z0-9_\-+=.~%]+$/;
const NUMERIC_GROUPS_RE = /^\d+(?:[.,:_-]\d+)+$/;
const WORD_NUM_RE = /^([A-Za-z]+[-_])(\d+)$/;
const EXT_RE = /^(.+)\.([A-Za-z][A-Za-z0-9]{0,4})$/;
const TEMPLATE_SEG_RE = /^(?:\{[^{}/]*\}|:[A-Za-z_][A-Za-z0-9_]*|\*{1,2}|<[^<>/]*>)$/;

function validDate(y: string, m: string, d: string): boolean {
  const yy = Number(y);
  const mm = Number(m);
  const dd = Number(d);
  return yy >= 1970 && yy <= 2100 && mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31;
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Counts letter<->digit transitions; random ids alternate often, words with a version suffix once. */
function classTransitions(s: string): {
  letters: number;
  digits: number;
  transitions: number;
  caseFlips: number;
} {
  let letters = 0;
  let digits = 0;
  let transitions = 0;
  let caseFlips = 0;
  let prev = 0; // 1 lower, 2 upper, 3 digit
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let cur = 0;
    if (c >= 48 && c <= 57) {
      digits++;
      cur = 3;
    } else if (c >= 97 && c <= 122) {
      letters++;
      cur = 1;
    } else if (c >= 65 && c <= 90) {
      letters++;
      cur = 2;
    }
    if (cur !== 0 && prev !== 0 && cur !== prev) {
      if (cur === 3 || prev === 3) transitions++;
      else caseFlips++;
    }
    if (cur !== 0) prev = cur;
  }
  return { letters, digits, transitions, caseFlips };
}

function vowelRatio(s: string): number {
  let v = 0;
  for (let i = 0; i < s.length; i++) if ('aeiouAEIOU'.includes(s[i]!)) v++;
  return v / s.length;
}

/** The class placeholder for a variable segment, or null when the segment is static. */
export function classifySegment(seg: string): string | null {
  if (seg.length === 0) return null;
  if (TEMPLATE_SEG_RE.test(seg)) return null;
  const dd = DATE_DASH_RE.exec(seg);
  if (dd && validDate(dd[1]!, dd[2]!, dd[3]!)) return '{date}';
  if (isDigits(seg)) {
    const dc = seg.length === 8 ? DATE_COMPACT_RE.exec(seg) : null;
    if (dc && validDate(dc[1]!, dc[2]!, dc[3]!)) return '{date}';
    return '{id}';
  }
  if (seg.length === 36 && UUID_RE.test(seg)) return '{uuid}';
  if (IPV4_RE.test(seg)) return '{ip}';
  if (seg.includes('@') || seg.includes('%40')) {
    const s = seg.replace(/%40/g, '@');
    if (EMAIL_RE.test(s)) return '{email}';
  }
  const t = classTransitions(seg);
  if (seg.length >= 16 && t.digits > 0 && HEX_RE.test(seg)) return '{hash}';
  if (TOKEN_CHARS_RE.test(seg)) {
    if (seg.length >= 16 && t.digits > 0 && t.letters > 0) return '{token}';
    // letters only: random base64 flips case far more often than camelCase identifiers do
    if (seg.length >= 20 && t.digits === 0 && t.caseFlips * 4 >= seg.length && vowelRatio(seg) < 0.3)
      return '{token}';
    if (seg.length >= 8 && t.digits >= 2 && t.letters >= 2 && t.transitions >= 3) return '{token}';
  }
  if (NUMERIC_GROUPS_RE.test(seg)) return '{id}';
  return null;
}

function normaliseSegment(seg: string): string {
  const cls = classifySegment(seg);
  if (cls !== null) return cls;
  const wn = WORD_NUM_RE.exec(seg);
  if (wn) return `${wn[1]}{id}`;
  const ext = EXT_RE.exec(seg);
  if (ext) {
    const stemCls = classifySegment(ext[1]!);
    if (stemCls !== null) return `${stemCls}.${ext[2]}`;
  }
  return seg;
}

/** Strips scheme/authority (when given a full URL), query and fragment. */
function pathOnly(path: string): string {
  let p = path;
  const q = p.search(/[?#]/);
  if (q >= 0) p = p.slice(0, q);
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(p);
  if (scheme) {
    const rest = p.slice(scheme[0].length);
    const slash = rest.indexOf('/');
    p = slash >= 0 ? rest.slice(slash) : '/';
  }
  return p;
}

/** `/users/123/orders/9f1c2d3e-…?x=1` -> `/users/{id}/orders/{uuid}`. Always starts with '/'; no trailing '/'. */
export function normalisePath(path: string): string {
  const p = pathOnly(path);
  const segs = p.split('/');
  let out = '';
  for (const s of segs) {
    if (s.length === 0) continue; // collapses '//' and drops leading/trailing slashes
    out += '/' + normaliseSegment(s);
  }
  return out.length === 0 ? '/' : out;
}

/** Normalises free text (span names): path-looking words via normalisePath, other words by segment class. */
export function normaliseName(name: string): string {
  const words = name.trim().split(/\s+/);
  const out: string[] = [];
  for (const w of words) {
    if (w.length === 0) continue;
    if (w.startsWith('/') || /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(w)) out.push(normalisePath(w));
    else out.push(normaliseSegment(w));
  }
  return out.join(' ');
}

// ---- cardinality cap -------------------------------------------------------------------------------------------

export interface RouteFolderOptions {
  /** Distinct static children allowed under one parent before that position folds to `{var}`. Default 50. */
  readonly cap?: number;
  /** Upper bound on tracked parents; beyond it, unseen parents fold immediately. Default 100 000. */
  readonly maxParents?: number;
}

export interface RouteFolderSnapshot {
  readonly version: 1;
  readonly cap: number;
  readonly maxParents: number;
  /** [parentKey, children] for open parents; [parentKey, null] for folded ones. In insertion order. */
  readonly parents: [string, string[] | null][];
}

const VAR = '{var}';

function isPlaceholderSeg(seg: string): boolean {
  return seg.startsWith('{') || seg.startsWith(':') || seg.startsWith('<') || seg === '*' || seg === '**';
}

/**
 * Folds exploding path positions into `{var}`. For every (service, method, already-folded prefix) it remembers the
 * distinct static child segments; when a new one would exceed `cap`, that position folds for good and every later
 * path through it gets `{var}` there. Deterministic for a given input order.
 */
export class RouteFolder {
  readonly cap: number;
  readonly maxParents: number;
  /** value null = folded. */
  private readonly parents = new Map<string, Set<string> | null>();

  constructor(opts: RouteFolderOptions = {}) {
    this.cap = opts.cap ?? 50;
    this.maxParents = opts.maxParents ?? 100_000;
    if (!Number.isInteger(this.cap) || this.cap < 1)
      throw new Error(`RouteFolder: cap must be a positive integer`);
    if (!Number.isInteger(this.maxParents) || this.maxParents < 1) {
      throw new Error(`RouteFolder: maxParents must be a positive integer`);
    }
  }

  fold(service: string, method: string, templatedPath: string): string {
    const segs = templatedPath.split('/').filter((s) => s.length > 0);
    let key = `${service}\u0000${method}\u0000`;
    let out = '';
    for (const seg of segs) {
      let emitted = seg;
      if (!isPlaceholderSeg(seg)) {
        let children = this.parents.get(key);
        if (children === undefined) {
          if (this.parents.size >= this.maxParents) {
            children = null;
          } else {
            children = new Set();
            this.parents.set(key, children);
          }
        }
        if (children === null) {
          emitted = VAR;
        } else if (!children.has(seg)) {
          if (children.size >= this.cap) {
            this.parents.set(key, null);
            emitted = VAR;
          } else {
            children.add(seg);
          }
        }
      }
      out += '/' + emitted;
      key += '/' + emitted;
    }
    return out.length === 0 ? '/' : out;
  }

  /** Number of positions that have folded. */
  foldedCount(): number {
    let n = 0;
    for (const v of this.parents.values()) if (v === null) n++;
    return n;
  }

  snapshot(): RouteFolderSnapshot {
    return {
      version: 1,
      cap: this.cap,
      maxParents: this.maxParents,
      parents: [...this.parents].map(([k, v]) => [k, v === null ? null : [...v]]),
    };
  }

  static restore(s: RouteFolderSnapshot): RouteFolder {
    if (s.version !== 1)
      throw new Error(`RouteFolder.restore: unsupported snapshot version ${String(s.version)}`);
    const f = new RouteFolder({ cap: s.cap, maxParents: s.maxParents });
    for (const [k, v] of s.parents) f.parents.set(k, v === null ? null : new Set(v));
    return f;
  }
}

// ---- span operation names --------------------------------------------------------------------------------------

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length > 0 ? v : undefined;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export interface HttpRoute {
  readonly method: string;
  /** Normalised path template. */
  readonly path: string;
  /** True when it came from `http.route` (instrumentation-provided template). */
  readonly fromRoute: boolean;
}

/** HTTP method + route template for HTTP spans (old and new semantic conventions); null for non-HTTP spans. */
/** The operation path of requests no server route matched (404 without http.route). */
export const UNMATCHED_ROUTE = '{unmatched}';

export function httpRoute(span: SpanModel): HttpRoute | null {
  const a = span.attributes;
  const rawMethod = str(a['http.request.method']) ?? str(a['http.method']);
  if (rawMethod === undefined) return null;
  const method = rawMethod.toUpperCase();
  const route = str(a['http.route']);
  if (route !== undefined) {
    const p = pathOnly(route).replace(/\/{2,}/g, '/');
    const trimmed = p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
    return { method, path: trimmed.startsWith('/') ? trimmed : '/' + trimmed, fromRoute: true };
  }
  // A server that matched no route (no http.route) and answered 404 saw a scanner, a typo or a stale link: fold them
  // all into one operation so that /wp-login.php and friends neither explode cardinality nor become journeys.
  const status = a['http.response.status_code'] ?? a['http.status_code'];
  if (span.kind === SpanKind.SERVER && (status === 404 || status === '404'))
    return { method, path: UNMATCHED_ROUTE, fromRoute: false };
  const raw =
    str(a['url.path']) ?? str(a['http.target']) ?? str(a['url.full']) ?? str(a['http.url']) ?? undefined;
  if (raw !== undefined) return { method, path: normalisePath(raw), fromRoute: false };
  // Fall back to a path in the span name (`GET /users/42`), else the method alone.
  const m = /(?:^|\s)(\/\S*)/.exec(span.name);
  return { method, path: m ? normalisePath(m[1]!) : '/', fromRoute: false };
}

/**
 * The operation name for a span:
 * - HTTP: `METHOD <route>` (http.route, else the normalised url.path / http.target / url.full path);
 * - RPC (gRPC etc.): `rpc.service/rpc.method`, else the normalised span name;
 * - messaging: `process <destination>` (`publish <destination>` for PRODUCER spans);
 * - otherwise the span name with numbers, uuids, hashes… replaced by their class.
 */
export function spanOperation(span: SpanModel): string {
  const http = httpRoute(span);
  if (http) return `${http.method} ${http.path}`;
  const a = span.attributes;
  const rpcService = str(a['rpc.service']);
  const rpcMethod = str(a['rpc.method']);
  if (rpcService !== undefined && rpcMethod !== undefined) return `${rpcService}/${rpcMethod}`;
  if (rpcService !== undefined || str(a['rpc.system']) !== undefined)
    return normaliseName(span.name) || 'rpc';
  const dest =
    str(a['messaging.destination.name']) ??
    str(a['messaging.destination']) ??
    str(a['messaging.destination.template']);
  if (dest !== undefined || str(a['messaging.system']) !== undefined) {
    const verb = span.kind === SpanKind.PRODUCER ? 'publish' : 'process';
    const d = dest !== undefined ? normaliseName(dest) : normaliseName(span.name);
    return `${verb} ${d}`;
  }
  const n = normaliseName(span.name);
  return n.length > 0 ? n : 'unnamed';
}
