/**
 * `npm run bench -- fingerprint [--shared DIR] [--lines N] [--sets A,B] [--pii-only]`
 *
 * - `ga`: grouping accuracy per Loghub-2k set (Content column in, one miner per set, default configuration), `ga_avg`;
 *   `ga_split`: averages over the sets the miner's rules were designed on and over the held-out rest;
 *   `ga_redacted` / `ga_avg_redacted`: the same with PII redaction applied before mining (what the stage does).
 * - `lines_per_s`: one core, steady state: the ten sets replayed to N lines (default 1M) through one miner with
 *   masking. Every replay pass rewrites the digits of each line (a different number per pass) so that lines are
 *   not verbatim repeats: exact-line caches do not flatter the number. `lines_per_s_redacted` adds redaction.
 * - baseline, same run, same lines: a naive split-on-whitespace tokenizer that joins the tokens and counts the result
 *   in a Map (`baseline_split_lines_per_s`); `ratio_vs_split` = lines_per_s / baseline.
 * - `pii_recall`: Presidio recognizer test cases for the structured types (email, IP, credit card, phone, IBAN, US
 *   SSN): an expected span counts as recalled when the redacted text no longer contains it; `false_redactions` counts
 *   negative cases (expected_count 0) that were changed anyway. Measured for the `default` profile (`pii_recall`)
 *   and the `strict` profile (`pii_recall_strict`).
 * - `pii_context`: Presidio's context sentences (context_sentences_tests.txt) for the structured types: the share of
 *   sentences in which the expected placeholder appears (`my ssn is 078-051121` → `<SSN>`), per profile.
 * - `loghub_redactions` / `loghub_redactions_strict`: Loghub lines changed per detector; `<PHONE>`, `<SSN>`,
 *   `<CREDIT_CARD>`, `<IBAN>` there are false redactions of ordinary numbers (`numeric_false_redactions`), so the
 *   cost of the strict profile is visible next to its recall. `redaction_profiles` sums both up side by side.
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRedactor, TemplateMiner } from '../core/fingerprint/index.js';
import { REDACTION_PROFILES, type RedactionProfile } from '../core/fingerprint/redact.js';

interface Opts {
  shared: string;
  lines: number;
  sets: string[] | null;
  /** `--pii-only`: just the redaction measures (recall on Presidio cases, changes on Loghub lines). */
  piiOnly: boolean;
}

function parseArgs(args: string[]): Opts {
  const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
  const o: Opts = { shared: resolve(repoRoot, '..', 'shared'), lines: 1_000_000, sets: null, piiOnly: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    if (a === '--shared' && v) {
      o.shared = resolve(v);
      i++;
    } else if (a === '--lines' && v) {
      o.lines = Number(v);
      i++;
    } else if (a === '--sets' && v) {
      o.sets = v.split(',');
      i++;
    } else if (a === '--pii-only') o.piiOnly = true;
    else throw new Error(`bench fingerprint: unknown argument ${a ?? ''}`);
  }
  return o;
}

/** RFC-4180 CSV rows (quoted fields with "" escapes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (q) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else q = false;
      } else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field.length > 0 || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

export interface LabelledSet {
  readonly name: string;
  readonly contents: string[];
  readonly truth: string[];
}

export function loadLoghub(dir: string, only: string[] | null = null): LabelledSet[] {
  const out: LabelledSet[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (only && !only.includes(name)) continue;
    const csv = join(dir, name, `${name}_2k.log_structured_corrected.csv`);
    if (!existsSync(csv)) continue;
    const rows = parseCsv(readFileSync(csv, 'utf8'));
    const head = rows[0]!;
    const ci = head.indexOf('Content');
    const ti = head.indexOf('EventTemplate');
    const contents: string[] = [];
    const truth: string[] = [];
    for (const r of rows.slice(1)) {
      if (r.length < head.length) continue;
      contents.push(r[ci]!);
      truth.push(r[ti]!);
    }
    out.push({ name, contents, truth });
  }
  return out;
}

/** Loghub grouping accuracy: a line is correct when its predicted group holds exactly its true group's lines. */
export function groupingAccuracy(pred: readonly string[], truth: readonly string[]): number {
  const byPred = new Map<string, number[]>();
  const byTruth = new Map<string, number[]>();
  pred.forEach((p, i) => (byPred.get(p) ?? byPred.set(p, []).get(p)!).push(i));
  truth.forEach((t, i) => (byTruth.get(t) ?? byTruth.set(t, []).get(t)!).push(i));
  let correct = 0;
  for (const lines of byPred.values()) {
    const t = truth[lines[0]!]!;
    const tl = byTruth.get(t)!;
    if (tl.length === lines.length && lines.every((i) => truth[i] === t)) correct += lines.length;
  }
  return correct / pred.length;
}

export function mineSet(lines: readonly string[], redact: boolean): string[] {
  const miner = new TemplateMiner();
  const redactor = createRedactor();
  const ids = lines.map((l) => miner.add(redact ? redactor.redact(l).text : l).templateId);
  return ids.map((id) => miner.resolve(id));
}

/** Sets whose errors the template miner's rules were designed on (`ga_split`); the rest are held out. */
const DESIGN_SETS = ['Android', 'HPC', 'Hadoop', 'Linux', 'Zookeeper'];

const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;

/** Rewrites every digit run of `line` with a pass-dependent value of the same length (keeps the line's shape). */
function perturb(line: string, pass: number): string {
  if (pass === 0) return line;
  return line.replace(/\d+/g, (m) => {
    let s = '';
    for (let i = 0; i < m.length; i++) s += String((m.charCodeAt(i) - 48 + pass * (i + 3)) % 10);
    return s;
  });
}

function throughput(lines: readonly string[], f: (l: string) => void): number {
  const t0 = process.hrtime.bigint();
  for (const l of lines) f(l);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return lines.length / s;
}

interface PiiCase {
  text: string;
  entity?: string;
  expected_count?: number;
  spans?: [number, number][];
}

const STRUCTURED: Record<string, string> = {
  EMAIL_ADDRESS: 'email',
  IP_ADDRESS: 'ip',
  CREDIT_CARD: 'credit_card',
  PHONE_NUMBER: 'phone',
  IBAN_CODE: 'iban',
  US_SSN: 'ssn',
};

/** True when the redacted text no longer contains the span's characters at a plausible place. */
function spanRedacted(original: string, redacted: string, span: [number, number]): boolean {
  const value = original.slice(span[0], span[1]);
  if (value.trim().length === 0) return true;
  // count occurrences: the span is gone when the redacted text holds fewer copies than the original
  const count = (s: string): number => {
    let n = 0;
    for (let i = s.indexOf(value); i >= 0; i = s.indexOf(value, i + 1)) n++;
    return n;
  };
  return count(redacted) < count(original);
}

export function piiRecall(file: string, profile: RedactionProfile = 'default'): Record<string, unknown> {
  const redactor = createRedactor({ profile });
  const per: Record<
    string,
    { spans: number; recalled: number; negatives: number; false_redactions: number }
  > = {};
  const missed: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const c = JSON.parse(line) as PiiCase;
    const type = c.entity ? STRUCTURED[c.entity] : undefined;
    if (!type) continue;
    const s = (per[type] ??= { spans: 0, recalled: 0, negatives: 0, false_redactions: 0 });
    const red = redactor.redact(c.text).text;
    const spans = c.spans ?? [];
    if ((c.expected_count ?? spans.length) === 0 && spans.length === 0) {
      s.negatives++;
      if (red !== c.text) s.false_redactions++;
      continue;
    }
    for (const sp of spans) {
      s.spans++;
      if (spanRedacted(c.text, red, sp)) s.recalled++;
      else missed.push(`${type}: ${c.text.slice(sp[0], sp[1])}`);
    }
  }
  let spans = 0;
  let recalled = 0;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(per)) {
    spans += v.spans;
    recalled += v.recalled;
    out[k] = { recall: round(v.spans ? v.recalled / v.spans : 1), ...v };
  }
  out['overall'] = round(spans ? recalled / spans : 1);
  out['missed'] = missed;
  return out;
}

/**
 * Redaction on Loghub lines (which hold no personal data by construction, except IP addresses and host/user names):
 * lines changed per placeholder type. Every `<PHONE>`, `<SSN>`, `<CREDIT_CARD>` or `<IBAN>` here is a false redaction
 * of an ordinary number.
 */
export function loghubRedactions(
  sets: readonly LabelledSet[],
  profile: RedactionProfile = 'default',
): Record<string, unknown> {
  const redactor = createRedactor({ profile });
  const byType: Record<string, number> = {};
  const examples: string[] = [];
  let lines = 0;
  let changed = 0;
  for (const s of sets)
    for (const l of s.contents) {
      lines++;
      const r = redactor.redact(l);
      if (r.text === l) continue;
      changed++;
      for (const k of Object.keys(r.counts)) {
        byType[k] = (byType[k] ?? 0) + 1;
        if (k !== 'ipv4' && k !== 'ipv6' && k !== 'email' && examples.length < 20)
          examples.push(`${s.name} ${k}: ${l.slice(0, 160)}`);
      }
    }
  const numeric = ['phone', 'ssn', 'credit_card', 'iban'].reduce((a, k) => a + (byType[k] ?? 0), 0);
  return {
    lines,
    lines_changed: changed,
    lines_by_type: byType,
    numeric_false_redactions: numeric,
    examples,
  };
}

const CONTEXT_PLACEHOLDER: Record<string, string> = {
  EMAIL_ADDRESS: '<EMAIL>',
  IP_ADDRESS: '<IP>',
  CREDIT_CARD: '<CREDIT_CARD>',
  PHONE_NUMBER: '<PHONE>',
  IBAN_CODE: '<IBAN>',
  US_SSN: '<SSN>',
};

/**
 * Presidio's context sentences: blocks of `ENTITY` then one sentence (`#` lines are comments). For the structured
 * types: the share of sentences whose redaction holds the entity's placeholder.
 */
export function piiContext(file: string, profile: RedactionProfile = 'default'): Record<string, unknown> {
  const redactor = createRedactor({ profile });
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  let total = 0;
  let hit = 0;
  const missed: string[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const entity = lines[i]!;
    if (!/^[A-Z][A-Z_]+$/.test(entity)) continue;
    const sentence = lines[++i]!;
    const placeholder = CONTEXT_PLACEHOLDER[entity];
    if (placeholder === undefined) continue;
    total++;
    if (redactor.redact(sentence).text.includes(placeholder)) hit++;
    else missed.push(`${entity}: ${sentence}`);
  }
  return { sentences: total, recalled: hit, recall: round(total ? hit / total : 1), missed };
}

function negativesChanged(recall: Record<string, unknown>): number {
  let n = 0;
  for (const v of Object.values(recall))
    if (typeof v === 'object' && v !== null && 'false_redactions' in v)
      n += (v as { false_redactions: number }).false_redactions;
  return n;
}

/** Recall, false redactions and Loghub cost of every profile, side by side. */
export function redactionProfiles(
  piiFile: string,
  contextFile: string,
  sets: readonly LabelledSet[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const profile of REDACTION_PROFILES) {
    const recall = existsSync(piiFile) ? piiRecall(piiFile, profile) : null;
    const loghub = loghubRedactions(sets, profile);
    const context = existsSync(contextFile) ? piiContext(contextFile, profile) : null;
    out[profile] = {
      pii_recall: recall ? recall['overall'] : null,
      pii_missed: recall ? (recall['missed'] as string[]).length : null,
      pii_negatives_changed: recall ? negativesChanged(recall) : null,
      pii_context_recall: context ? context['recall'] : null,
      loghub_lines_changed: loghub['lines_changed'],
      loghub_numeric_false_redactions: loghub['numeric_false_redactions'],
      loghub_lines_by_type: loghub['lines_by_type'],
      recall,
      context,
      loghub,
    };
  }
  return out;
}

/** The JSON keys of the redaction measures (shared by `--pii-only` and the full run). */
function redactionReport(shared: string, sets: readonly LabelledSet[]): Record<string, unknown> {
  const piiDir = join(shared, 'data', 'pii', 'presidio');
  const piiFile = join(piiDir, 'recognizer_test_cases.jsonl');
  const contextFile = join(piiDir, 'context_sentences_tests.txt');
  const profiles = redactionProfiles(piiFile, contextFile, sets);
  const full = (p: RedactionProfile): { recall: unknown; context: unknown; loghub: unknown } =>
    profiles[p] as { recall: unknown; context: unknown; loghub: unknown };
  const summary: Record<string, unknown> = {};
  for (const p of REDACTION_PROFILES) {
    const { recall: _r, context: _c, loghub: _l, ...rest } = profiles[p] as Record<string, unknown>;
    summary[p] = rest;
  }
  return {
    pii_recall: full('default').recall ?? 'presidio test cases not found',
    pii_recall_strict: full('strict').recall ?? 'presidio test cases not found',
    pii_context: Object.fromEntries(
      REDACTION_PROFILES.map((p) => [p, full(p).context ?? 'presidio context sentences not found']),
    ),
    loghub_redactions: full('default').loghub,
    loghub_redactions_strict: full('strict').loghub,
    redaction_profiles: summary,
  };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const o = parseArgs(args);
  if (o.piiOnly) return redactionReport(o.shared, loadLoghub(join(o.shared, 'data', 'loghub-2k'), o.sets));
  const loghubDir = join(o.shared, 'data', 'loghub-2k');
  if (!existsSync(loghubDir)) throw new Error(`bench fingerprint: ${loghubDir} not found (use --shared DIR)`);
  const sets = loadLoghub(loghubDir, o.sets);

  const ga: Record<string, number> = {};
  const gaRed: Record<string, number> = {};
  for (const s of sets) {
    ga[s.name] = round(groupingAccuracy(mineSet(s.contents, false), s.truth));
    gaRed[s.name] = round(groupingAccuracy(mineSet(s.contents, true), s.truth));
    process.stderr.write(`ga ${s.name}: ${ga[s.name]} (redacted ${gaRed[s.name]})\n`);
  }
  const avg = (r: Record<string, number>): number => {
    const v = Object.values(r);
    return round(v.reduce((a, b) => a + b, 0) / v.length);
  };
  // Held-out check: the miner's rules were designed looking at the errors of DESIGN_SETS; the other sets are the
  // held-out half (the grouping must not regress there).
  const half = (names: readonly string[]): Record<string, number> =>
    Object.fromEntries(Object.entries(ga).filter(([k]) => names.includes(k)));
  const design = half(DESIGN_SETS);
  const heldOut = half(Object.keys(ga).filter((k) => !DESIGN_SETS.includes(k)));

  // Throughput stream: all sets interleaved, replayed (with rewritten digits) to o.lines lines.
  const base = sets.flatMap((s) => s.contents);
  const stream: string[] = [];
  for (let pass = 0; stream.length < o.lines; pass++)
    for (const l of base) {
      if (stream.length >= o.lines) break;
      stream.push(perturb(l, pass));
    }
  const splitCounts = new Map<string, number>();
  const naive = (l: string): void => {
    const k = l.split(/\s+/).join(' ');
    splitCounts.set(k, (splitCounts.get(k) ?? 0) + 1);
  };
  const miner = new TemplateMiner();
  const mine = (l: string): void => {
    miner.add(l);
  };
  const redactor = createRedactor();
  const miner2 = new TemplateMiner();
  const both = (l: string): void => {
    miner2.add(redactor.redact(l).text);
  };
  // warm up (JIT + miner state), then measure; interleave so machine noise hits both alike
  const warm = stream.slice(0, Math.min(stream.length, 100_000));
  throughput(warm, naive);
  throughput(warm, mine);
  throughput(warm, both);
  splitCounts.clear();
  const rounds = 3;
  let bestSplit = 0;
  let bestMine = 0;
  let bestBoth = 0;
  for (let r = 0; r < rounds; r++) {
    bestSplit = Math.max(bestSplit, throughput(stream, naive));
    splitCounts.clear();
    bestMine = Math.max(bestMine, throughput(stream, mine));
    bestBoth = Math.max(bestBoth, throughput(stream, both));
  }
  return {
    ga,
    ga_avg: avg(ga),
    ga_split: {
      design_sets: Object.keys(design),
      ga_avg_design: Object.keys(design).length > 0 ? avg(design) : null,
      held_out_sets: Object.keys(heldOut),
      ga_avg_held_out: Object.keys(heldOut).length > 0 ? avg(heldOut) : null,
    },
    ga_redacted: gaRed,
    ga_avg_redacted: avg(gaRed),
    ga_redaction_cost: round(avg(ga) - avg(gaRed)),
    lines: stream.length,
    lines_per_s: Math.round(bestMine),
    lines_per_s_redacted: Math.round(bestBoth),
    baseline_split_lines_per_s: Math.round(bestSplit),
    ratio_vs_split: round(bestMine / bestSplit, 3),
    ratio_redacted_vs_split: round(bestBoth / bestSplit, 3),
    templates: miner.size,
    measurement: `best of ${rounds} passes over ${stream.length} lines after a ${warm.length}-line warm-up; one thread`,
    ...redactionReport(o.shared, sets),
  };
}
