/**
 * Policy Guard: checks a generated ArtifactSet against a Policy before anything is deployed. Pure: the set, the
 * policy and the context go in, a PolicyDecision comes out (deny if any deny finding, warn if any warn, else allow).
 */
import { parse as parseYaml } from 'yaml';
import type { ArtifactSet, PolicyDecision } from '../../events/schemas.js';
import { err, ok, type Result } from '../result.js';
import { DEFAULT_POLICY, type Policy, type RuleSeverity } from './default-policy.js';

export { DEFAULT_POLICY, type Policy, type RuleSeverity } from './default-policy.js';

export interface PolicyContext {
  readonly now: Date;
  /** Per SLO id: the strictest objective (percent, e.g. 99.9; values <= 1 are read as ratios) history supports. */
  readonly history?: Readonly<Record<string, { readonly maxSupportedObjective: number }>>;
  /** Known label cardinalities (distinct values per label name), to sharpen the series estimate. */
  readonly inventory?: { readonly labelValues?: Readonly<Record<string, number>> };
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
        if (!r.alert) continue;
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
        policy.objectives.severity,
        `SLO ${id}: objective ${Math.round(objective * 1e4) / 1e4}% is stricter than the ${max}% history supports; ` +
          `lower it or set ${policy.objectives.overrideKey}: "true" on its rules to accept it explicitly`,
        first.path,
      );
    }
  }

  // Dashboards must be JSON with a uid.
  for (const f of set.files) {
    if (!/^grafana\/.*\.json$/.test(f.path)) continue;
    try {
      const d: unknown = JSON.parse(f.content);
      if (!isObj(d) || typeof d.uid !== 'string' || !d.uid)
        add(POLICY_RULES.dashboards, policy.dashboards.severity, 'dashboard has no uid', f.path);
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
