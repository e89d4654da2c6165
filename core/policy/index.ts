/**
 * Policy Guard: checks a generated ArtifactSet against a Policy before anything is deployed. Pure: the set, the
 * policy and the context go in, a PolicyDecision comes out (deny if any deny finding, warn if any warn, else allow).
 */
import { parse as parseYaml } from 'yaml';
import type { ArtifactSet, PolicyDecision } from '../../events/schemas.js';
import { labelMatches, type LabelMatchOp } from '../label-match.js';
import { err, ok, type Result } from '../result.js';
import { DEFAULT_POLICY, type Policy, type RuleSeverity } from './default-policy.js';
import { dashboardProblems } from './dashboards.js';

export { DEFAULT_POLICY, type Policy, type RuleSeverity } from './default-policy.js';
export * from './dashboards.js';

export interface PolicyContext {
  readonly now: Date;
  /** Per SLO id: the strictest objective (percent, e.g. 99.9; values <= 1 are read as ratios) history supports. */
  readonly history?: Readonly<
    Record<
      string,
      {
        readonly maxSupportedObjective: number;
        /** Set when the recommendation itself recorded that history falls short (policy.objectives.acknowledgedSeverity). */
        readonly acknowledged?: string;
      }
    >
  >;
  /**
   * The metric inventory: known label cardinalities (distinct values per label name) sharpen the series estimate;
   * known metrics let the guard flag rules over metrics that were never seen.
   */
  readonly inventory?: {
    readonly labelValues?: Readonly<Record<string, number>>;
    readonly metrics?: readonly { readonly name: string; readonly type?: string }[];
  };
}

export type Finding = PolicyDecision['reasons'][number];

export const POLICY_RULES = {
  parse: 'rule-file-parse',
  requiredLabels: 'alert-required-labels',
  runbookUrl: 'alert-runbook-url',
  routing: 'alert-routing-label',
  cardinality: 'cardinality-budget',
  forbiddenLabels: 'forbidden-labels',
  objective: 'objective-history',
  duplicates: 'duplicate-slo-id',
  dashboards: 'dashboard-json',
  alertKind: 'alert-kind-label',
  noData: 'no-data-alert',
  inhibition: 'inhibition-labels',
  inventory: 'inventory-metrics',
} as const;

// ---- loading policies ------------------------------------------------------------------------------------------

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const SEVERITIES = ['deny', 'warn', 'off'];

function merge(base: unknown, over: unknown, path: string, problems: string[]): unknown {
  if (over === undefined) return base;
  if (isObj(base)) {
    if (!isObj(over)) {
      problems.push(`${path || 'policy'} must be an object`);
      return base;
    }
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (!(k in base)) {
        problems.push(`${path ? `${path}.` : ''}${k} is not a policy field`);
        continue;
      }
      out[k] = merge(base[k], v, path ? `${path}.${k}` : k, problems);
    }
    return out;
  }
  if (Array.isArray(base)) {
    if (!Array.isArray(over) || over.some((x) => typeof x !== 'string'))
      problems.push(`${path} must be a list of strings`);
    return over;
  }
  if (typeof base !== typeof over) {
    problems.push(`${path} must be a ${typeof base}`);
    return base;
  }
  if (/[Ss]everity$/.test(path) && !SEVERITIES.includes(over as string))
    problems.push(`${path} must be deny, warn or off`);
  if (typeof over === 'number' && !(over >= 0)) problems.push(`${path} must be a non-negative number`);
  return over;
}

/** Validates policy data (e.g. parsed JSON/YAML) and merges it over DEFAULT_POLICY. */
export function parsePolicy(value: unknown): Result<Policy, string> {
  if (!isObj(value)) return err('policy must be an object');
  const problems: string[] = [];
  const merged = merge(DEFAULT_POLICY, value, '', problems) as Policy;
  for (const p of merged.labels.forbiddenPatterns) {
    try {
      new RegExp(p, 'i');
    } catch {
      problems.push(`labels.forbiddenPatterns: "${p}" is not a valid regular expression`);
    }
  }
  return problems.length ? err(`invalid policy: ${problems.join('; ')}`) : ok(merged);
}

/** Parses a policy document (YAML, which includes JSON). */
export function parsePolicyText(text: string): Result<Policy, string> {
  let v: unknown;
  try {
    v = parseYaml(text);
  } catch (e) {
    return err(`policy is not valid YAML/JSON: ${(e as Error).message}`);
  }
  return parsePolicy(v);
}

// ---- reading the set -------------------------------------------------------------------------------------------

interface ParsedRule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}
interface ParsedGroup {
  readonly name: string;
  readonly rules: ParsedRule[];
}
interface ParsedFile {
  readonly path: string;
  /** Plain rule files and PrometheusRule CRs are alternative deployments of the same rules. */
  readonly format: 'plain' | 'cr';
  readonly groups: ParsedGroup[];
}

const strMap = (v: unknown): Record<string, string> =>
  isObj(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) : {};

function readRuleFiles(set: ArtifactSet, findings: Finding[]): ParsedFile[] {
  const out: ParsedFile[] = [];
  for (const f of set.files) {
    if (!/\.ya?ml$/.test(f.path)) continue;
    let doc: unknown;
    try {
      doc = parseYaml(f.content);
    } catch (e) {
      findings.push({
        rule: POLICY_RULES.parse,
        severity: 'deny',
        message: `not valid YAML: ${(e as Error).message.split('\n')[0]}`,
        path: f.path,
      });
      continue;
    }
    let groups: unknown;
    let format: ParsedFile['format'] = 'plain';
    if (isObj(doc) && doc.kind === 'PrometheusRule' && isObj(doc.spec)) {
      groups = doc.spec.groups;
      format = 'cr';
    } else if (isObj(doc)) groups = doc.groups;
    if (groups === undefined) continue; // not a rule file
    if (!Array.isArray(groups)) {
      findings.push({
        rule: POLICY_RULES.parse,
        severity: 'deny',
        message: '`groups` must be a list',
        path: f.path,
      });
      continue;
    }
    const parsed: ParsedGroup[] = [];
    for (const g of groups) {
      if (!isObj(g) || typeof g.name !== 'string' || !Array.isArray(g.rules)) {
        findings.push({
          rule: POLICY_RULES.parse,
          severity: 'deny',
          message: 'every group needs a name and a list of rules',
          path: f.path,
        });
        continue;
      }
      const rules: ParsedRule[] = [];
      for (const r of g.rules) {
        if (
          !isObj(r) ||
          typeof r.expr !== 'string' ||
          (typeof r.record !== 'string' && typeof r.alert !== 'string')
        ) {
          findings.push({
            rule: POLICY_RULES.parse,
            severity: 'deny',
            message: `group ${g.name}: every rule needs expr and record or alert`,
            path: f.path,
          });
          continue;
        }
        rules.push({
          ...(typeof r.record === 'string' ? { record: r.record } : {}),
          ...(typeof r.alert === 'string' ? { alert: r.alert } : {}),
          expr: r.expr,
          ...(typeof r.for === 'string' ? { for: r.for } : {}),
          labels: strMap(r.labels),
          annotations: strMap(r.annotations),
        });
      }
      parsed.push({ name: g.name, rules });
    }
    out.push({ path: f.path, format, groups: parsed });
  }
  return out;
}

// ---- PromQL scanning (rough, conservative) ---------------------------------------------------------------------

const stripStrings = (expr: string) => expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');

/** Label names used in matchers and in by/without/on/ignoring/group_* clauses. */
export function labelNamesIn(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*["'`]/g)) names.add(m[1]!);
  const bare = stripStrings(expr);
  for (const m of bare.matchAll(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const l of m[2]!.split(',')) if (l.trim()) names.add(l.trim());
  }
  return [...names].sort();
}

const AGG =
  /\b(sum|avg|max|min|count|group|topk|bottomk|quantile|stddev|stdvar|count_values)\s*(\(|by\b|without\b)/;

/** Rough series estimate of one rule expression. */
export function estimateSeries(
  expr: string,
  labelValues: (label: string) => number,
  unaggregated: number,
): number {
  const bare = stripStrings(expr);
  const by = new Set<string>();
  for (const m of bare.matchAll(/\bby\s*\(([^)]*)\)/g))
    for (const l of m[1]!.split(',')) if (l.trim()) by.add(l.trim());
  if (by.size) return [...by].reduce((acc, l) => acc * labelValues(l), 1);
  if (AGG.test(bare) || /\bvector\s*\(/.test(bare)) return 1;
  const metrics = [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=[{[])/g)].map((m) => m[1]!);
  if (metrics.length && metrics.every((n) => n.includes(':'))) return 1;
  return unaggregated;
}

/** Raw metric names (no colon: not recorded series) selected by an expression. */
export function rawMetricsIn(expr: string): string[] {
  const bare = stripStrings(expr)
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\{[^}]*\}/g, '{}');
  const KEYWORDS = new Set([
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'bool',
    'and',
    'or',
    'unless',
    'offset',
  ]);
  const out = new Set<string>();
  for (const m of bare.matchAll(/(?<![A-Za-z0-9_:$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\(|\{|\[)?/g)) {
    const name = m[1]!;
    if (m[2] === '(' || KEYWORDS.has(name) || name.includes(':')) continue; // call, keyword or recorded series
    if (/^(inf|nan)$/i.test(name)) continue;
    out.add(name);
  }
  // Labels inside by(...)/on(...) clauses were reduced to names too; drop them.
  for (const c of bare.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g))
    for (const l of c[1]!.split(',')) out.delete(l.trim());
  return [...out].sort();
}

interface Matcher {
  readonly name: string;
  readonly op: LabelMatchOp;
  readonly value: string;
}

function parseMatcher(m: string): Matcher | undefined {
  const x = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$/.exec(m);
  return x ? { name: x[1]!, op: x[2] as LabelMatchOp, value: x[3]! } : undefined;
}

function matches(labels: Readonly<Record<string, string>>, ms: readonly Matcher[]): boolean {
  return ms.every((m) => labelMatches(m.op, m.value, labels[m.name] ?? ''));
}

interface InhibitRule {
  readonly path: string;
  readonly source: Matcher[];
  readonly target: Matcher[];
  readonly equal: string[];
}

function readInhibitRules(set: ArtifactSet, findings: Finding[]): InhibitRule[] {
  const out: InhibitRule[] = [];
  for (const f of set.files) {
    if (!/\.ya?ml$/.test(f.path)) continue;
    let doc: unknown;
    try {
      doc = parseYaml(f.content);
    } catch {
      continue; // reported by readRuleFiles
    }
    if (!isObj(doc) || !Array.isArray(doc.inhibit_rules)) continue;
    for (const r of doc.inhibit_rules) {
      const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
      const ms = (v: unknown) => list(v).map(parseMatcher);
      if (!isObj(r)) continue;
      const source = ms(r.source_matchers);
      const target = ms(r.target_matchers);
      if ([...source, ...target].some((m) => !m)) {
        findings.push({
          rule: POLICY_RULES.parse,
          severity: 'deny',
          message: 'inhibit rule has a matcher that is not name<op>"value"',
          path: f.path,
        });
        continue;
      }
      out.push({
        path: f.path,
        source: source as Matcher[],
        target: target as Matcher[],
        equal: list(r.equal),
      });
    }
  }
  return out;
}

// ---- context from the pipeline ---------------------------------------------------------------------------------

/**
 * What history supports, per SLO id, from the recommendations' evidence: the steady-state good ratio the analysis
 * measured (`observed.reference_error_ratio`, else `error_ratio`). SLIs without observed events (imported specs)
 * have no history. When the analysis flagged the objective as unmet by history (`meets_history: 0`, it fell back
 * to its floor), the entry is marked acknowledged.
 */
export function historyFromRecommendations(rec: unknown): NonNullable<PolicyContext['history']> {
  const out: Record<string, { maxSupportedObjective: number; acknowledged?: string }> = {};
  if (!isObj(rec) || !Array.isArray(rec.journeys)) return out;
  for (const j of rec.journeys) {
    if (!isObj(j) || !Array.isArray(j.slis)) continue;
    for (const s of j.slis) {
      if (!isObj(s) || typeof s.id !== 'string' || !isObj(s.observed)) continue;
      const o = s.observed;
      const events = typeof o.events === 'number' ? o.events : 0;
      const e =
        typeof o.reference_error_ratio === 'number'
          ? o.reference_error_ratio
          : typeof o.error_ratio === 'number'
            ? o.error_ratio
            : undefined;
      if (!(events > 0) || e === undefined || !(e >= 0 && e <= 1)) continue;
      out[s.id] = {
        maxSupportedObjective: Math.round((1 - e) * 1e8) / 1e6,
        ...(o.meets_history === 0
          ? {
              acknowledged:
                'the analysis found no objective of its ladder that history meets and used its floor',
            }
          : {}),
      };
    }
  }
  return out;
}

// ---- evaluation ------------------------------------------------------------------------------------------------

const toPercent = (x: number) => (x <= 1 ? x * 100 : x);
const order = { deny: 0, warn: 1, info: 2 } as const;

/** Evaluates every policy rule over the set. */
export function evaluatePolicy(set: ArtifactSet, policy: Policy, ctx: PolicyContext): PolicyDecision {
  const findings: Finding[] = [];
  const add = (rule: string, s: RuleSeverity, message: string, path?: string) => {
    if (s === 'off') return;
    findings.push({ rule, severity: s, message, ...(path ? { path } : {}) });
  };
  const paths = new Set(set.files.map((f) => f.path));
  const files = readRuleFiles(set, findings);

  const forbiddenRes = policy.labels.forbiddenPatterns.map((p) => new RegExp(p, 'i'));
  const forbidden = new Set(policy.labels.forbidden.map((l) => l.toLowerCase()));
  const isForbidden = (l: string) => forbidden.has(l.toLowerCase()) || forbiddenRes.some((r) => r.test(l));
  const labelValues = (l: string) => ctx.inventory?.labelValues?.[l] ?? policy.cardinality.defaultLabelValues;

  const seriesByFormat = { plain: 0, cr: 0 };
  const seriesByFile: Record<string, number> = {};
  const objectives = new Map<string, { objective: number; path: string; group: string }[]>();
  const overrides = new Set<string>();
  const idLabel = policy.objectives.idLabel;
  const inhibits = readInhibitRules(set, findings);
  const alerts: { path: string; name: string; labels: Record<string, string> }[] = [];
  const burnRate = new Map<string, string>(); // SLO id -> file
  const noData = new Set<string>();
  const recorded = new Set<string>();
  const rawMetrics = new Map<string, string>(); // metric -> first file using it
  const kindLabel = policy.alerts.kindLabel;

  for (const f of files) {
    const groupNames = new Set<string>();
    for (const g of f.groups) {
      if (groupNames.has(g.name))
        add(
          POLICY_RULES.duplicates,
          policy.duplicates.severity,
          `group name ${g.name} appears twice in one file (Prometheus rejects it)`,
          f.path,
        );
      groupNames.add(g.name);
      for (const r of g.rules) {
        const what = r.alert ? `alert ${r.alert}` : `recording ${r.record}`;
        // Forbidden (PII / unbounded) labels anywhere in the rule.
        const used = new Set([...labelNamesIn(r.expr), ...Object.keys(r.labels)]);
        const bad = [...used].filter(isForbidden);
        if (bad.length)
          add(
            POLICY_RULES.forbiddenLabels,
            policy.labels.severity,
            `${what} in group ${g.name} uses PII-bearing or unbounded label(s) ${bad.join(', ')}; aggregate them away or use a templated label`,
            f.path,
          );
        const n = estimateSeries(r.expr, labelValues, policy.cardinality.unaggregatedSeries);
        seriesByFormat[f.format] += n;
        seriesByFile[f.path] = (seriesByFile[f.path] ?? 0) + n;
        const id = r.labels[idLabel];
        if (
          id &&
          (r.labels[policy.objectives.overrideKey] === 'true' ||
            r.annotations[policy.objectives.overrideKey] === 'true')
        )
          overrides.add(id);
        if (r.record === policy.objectives.recordName && id) {
          const m = /^\s*vector\(\s*([0-9.eE+-]+)\s*\)\s*$/.exec(r.expr);
          const list = objectives.get(`${f.format}\u0000${id}`) ?? [];
          list.push({ objective: m ? Number(m[1]) : NaN, path: f.path, group: g.name });
          objectives.set(`${f.format}\u0000${id}`, list);
        }
        if (r.record) recorded.add(r.record);
        for (const mName of rawMetricsIn(r.expr)) if (!rawMetrics.has(mName)) rawMetrics.set(mName, f.path);
        if (!r.alert) continue;
        if (f.format === 'plain' || !files.some((x) => x.format === 'plain'))
          alerts.push({ path: f.path, name: r.alert, labels: r.labels });
        if (id) {
          const kind = r.labels[kindLabel];
          if (kind !== 'burn-rate' && kind !== 'no-data')
            add(
              POLICY_RULES.alertKind,
              policy.alerts.kindSeverity,
              `alert ${r.alert} of SLO ${id} lacks ${kindLabel}="burn-rate" or "no-data"; inhibition and routing cannot tell its kind`,
              f.path,
            );
          if (kind === 'burn-rate') burnRate.set(id, f.path);
          if (kind === 'no-data') {
            if (!/\babsent(_over_time)?\s*\(/.test(r.expr) || !r.for)
              add(
                POLICY_RULES.noData,
                policy.alerts.noDataSeverity,
                `no-data alert ${r.alert} must use absent()/absent_over_time() and a \`for\` duration (flapping otherwise)`,
                f.path,
              );
            else noData.add(id);
          }
        }
        const missing = policy.alerts.requiredLabels.filter((l) => !r.labels[l]?.trim());
        if (missing.length)
          add(
            POLICY_RULES.requiredLabels,
            policy.alerts.requiredLabelsSeverity,
            `alert ${r.alert} lacks required label(s) ${missing.join(', ')}`,
            f.path,
          );
        if (
          policy.alerts.routingLabels.length &&
          !policy.alerts.routingLabels.some((l) => r.labels[l]?.trim())
        )
          add(
            POLICY_RULES.routing,
            policy.alerts.routingSeverity,
            `alert ${r.alert} has no routing label (one of ${policy.alerts.routingLabels.join(', ')}); Alertmanager cannot route it`,
            f.path,
          );
        const url = r.annotations.runbook_url?.trim();
        if (!url)
          add(
            POLICY_RULES.runbookUrl,
            policy.alerts.runbookUrlSeverity,
            `alert ${r.alert} has no runbook_url annotation`,
            f.path,
          );
        else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('/')) {
          const target = url.replace(/^\.\//, '').replace(/[#?].*$/, '');
          if (!paths.has(target))
            add(
              POLICY_RULES.runbookUrl,
              policy.alerts.runbookUrlSeverity,
              `alert ${r.alert} links runbook ${url}, which is not a file of artifact set ${set.id}`,
              f.path,
            );
        }
      }
    }
  }

  // Cardinality: plain files and CRs are alternative deployments; budget the larger.
  const total = Math.max(seriesByFormat.plain, seriesByFormat.cr);
  if (total > policy.cardinality.maxSeries) {
    const top = Object.entries(seriesByFile)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([p, n]) => `${p}: ${n}`)
      .join(', ');
    add(
      POLICY_RULES.cardinality,
      policy.cardinality.severity,
      `rules would produce about ${total} series, over the budget of ${policy.cardinality.maxSeries} (largest: ${top})`,
    );
  }

  // Objectives versus history, and duplicate SLO ids.
  for (const [key, list] of objectives) {
    const id = key.split('\u0000')[1]!;
    if (list.length > 1)
      add(
        POLICY_RULES.duplicates,
        policy.duplicates.severity,
        `SLO id ${id} is defined ${list.length} times (${list.map((x) => `${x.path}#${x.group}`).join(', ')})`,
        list[1]!.path,
      );
    const first = list[0]!;
    const h = ctx.history?.[id];
    if (!h) continue;
    const objective = first.objective * 100;
    const max = toPercent(h.maxSupportedObjective);
    if (Number.isNaN(objective)) {
      add(
        POLICY_RULES.objective,
        policy.objectives.severity,
        `SLO ${id}: objective rule is not vector(<number>)`,
        first.path,
      );
    } else if (objective > max + 1e-9 && !overrides.has(id)) {
      add(
        POLICY_RULES.objective,
        h.acknowledged ? policy.objectives.acknowledgedSeverity : policy.objectives.severity,
        `SLO ${id}: objective ${Math.round(objective * 1e4) / 1e4}% is stricter than the ${max}% history supports; ` +
          (h.acknowledged ? `the recommendation says so (${h.acknowledged}); ` : '') +
          `lower it or set ${policy.objectives.overrideKey}: "true" on its rules to accept it explicitly`,
        first.path,
      );
    }
  }

  // Every SLO with burn-rate alerts needs a no-data alert: burn-rate alerts cannot fire when the SLI is gone.
  for (const [id, path] of burnRate)
    if (!noData.has(id))
      add(
        POLICY_RULES.noData,
        policy.alerts.noDataSeverity,
        `SLO ${id} has burn-rate alerts but no no-data alert (${kindLabel}="no-data"); a vanished metric would go unnoticed`,
        path,
      );

  // Inhibition: every alert a rule selects must carry the rule's `equal` labels.
  for (const ir of inhibits) {
    for (const a of alerts) {
      const side = matches(a.labels, ir.target)
        ? 'target'
        : matches(a.labels, ir.source)
          ? 'source'
          : undefined;
      if (!side) continue;
      const missing = ir.equal.filter((l) => !a.labels[l]?.trim());
      if (missing.length)
        add(
          POLICY_RULES.inhibition,
          policy.inhibition.severity,
          `alert ${a.name} (${a.path}) is an inhibition ${side} of ${ir.path} but lacks its equal label(s) ${missing.join(', ')}; ` +
            'Alertmanager treats missing labels as equal, so it would be silenced by (or silence) alerts of other SLOs',
          ir.path,
        );
    }
  }

  // Raw metrics the rules select must be known to the inventory (when one is given).
  const known = ctx.inventory?.metrics;
  if (known?.length) {
    const names = new Set<string>();
    for (const k of known) {
      names.add(k.name);
      if (k.type === 'histogram' || k.type === 'summary')
        for (const sfx of ['_bucket', '_count', '_sum']) names.add(`${k.name}${sfx}`);
    }
    for (const [mName, path] of rawMetrics)
      if (!names.has(mName))
        add(
          POLICY_RULES.inventory,
          policy.inventory.severity,
          `rules select ${mName}, which the metric inventory has never seen (renamed metric or a typo?)`,
          path,
        );
  }

  // Dashboards: valid JSON and structurally sound; recorded series they query must be recorded by the set.
  for (const f of set.files) {
    if (!/^grafana\/.*\.json$/.test(f.path)) continue;
    try {
      const d: unknown = JSON.parse(f.content);
      for (const p of dashboardProblems(d, recorded.size ? recorded : undefined))
        add(POLICY_RULES.dashboards, policy.dashboards.severity, p, f.path);
    } catch (e) {
      add(
        POLICY_RULES.dashboards,
        policy.dashboards.severity,
        `dashboard is not valid JSON: ${(e as Error).message}`,
        f.path,
      );
    }
  }

  findings.sort(
    (a, b) =>
      order[a.severity] - order[b.severity] ||
      (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0) ||
      ((a.path ?? '') < (b.path ?? '') ? -1 : (a.path ?? '') > (b.path ?? '') ? 1 : 0) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
  const decision = findings.some((f) => f.severity === 'deny')
    ? 'deny'
    : findings.some((f) => f.severity === 'warn')
      ? 'warn'
      : 'allow';
  return {
    artifact_set_id: set.id,
    decision,
    reasons: findings,
    evaluated_at: ctx.now.toISOString(),
    policy_version: policy.version,
  };
}
