/**
 * Sloth-compatible rule generation: SpecDocuments -> the exact recording and alerting rules Sloth writes (names,
 * labels, expressions and float formatting), as plain rule groups or PrometheusRule objects, one YAML document per
 * input document. The chain is the same as the native one: SLI recordings -> metadata recordings -> MWMB alerts ->
 * writer; only the naming data and the expression shapes follow Sloth.
 *
 * Alert windows come from Sloth AlertWindows catalogues (the Google SRE Workbook 30d and 28d by default); the burn
 * rate factor of a window is (errorBudgetPercent/100 * period) / longWindow, computed in hours like Sloth so the
 * printed floats are identical.
 */
import { Document, parseAllDocuments } from 'yaml';
import { err, ok, type Result } from '../result.js';
import type { SpecDocument, SpecSlo } from '../specs/types.js';
import { goodTotalErrorRatio } from '../specs/sloth.js';
import { validateSpecs } from '../specs/validate.js';
import type { AlertingRule, RecordingRule, RuleGroup } from './prometheus.js';
import { parseDuration } from './windows.js';

export interface AlertWindow {
  readonly errorBudgetPercent: number;
  readonly short: string;
  readonly long: string;
}
export interface AlertWindows {
  readonly period: string;
  readonly pageQuick: AlertWindow;
  readonly pageSlow: AlertWindow;
  readonly ticketQuick: AlertWindow;
  readonly ticketSlow: AlertWindow;
}

const w = (errorBudgetPercent: number, short: string, long: string): AlertWindow => ({
  errorBudgetPercent,
  short,
  long,
});
/** Google SRE Workbook windows, the defaults Sloth ships for 30d and 28d periods. */
export const GOOGLE_WINDOWS: readonly AlertWindows[] = ['30d', '28d'].map((period) => ({
  period,
  pageQuick: w(2, '5m', '1h'),
  pageSlow: w(5, '30m', '6h'),
  ticketQuick: w(10, '2h', '1d'),
  ticketSlow: w(10, '6h', '3d'),
}));

/** Go's `%v` for float64: shortest round-trip digits, exponent form below 1e-4 and from 1e21. */
export function goFloat(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mant, expS] = x.toExponential().split('e') as [string, string];
  const exp = Number(expS);
  if (exp < -4 || exp >= 21) {
    const sign = exp < 0 ? '-' : '+';
    const a = Math.abs(exp);
    return `${mant}e${sign}${a < 10 ? `0${a}` : a}`;
  }
  return String(x);
}

/** Prometheus' duration text (model.Duration.String): 4w, 1d, 1h30m, 90s. */
export function promDuration(ms: number): string {
  if (ms === 0) return '0s';
  // Years and weeks only when exact (90d reads better than 12w6d), as Prometheus does.
  const units: [string, number, boolean][] = [
    ['y', 365 * 86_400_000, true],
    ['w', 7 * 86_400_000, true],
    ['d', 86_400_000, false],
    ['h', 3_600_000, false],
    ['m', 60_000, false],
    ['s', 1000, false],
    ['ms', 1, false],
  ];
  let rest = ms;
  let out = '';
  for (const [u, m, exact] of units) {
    if (exact && rest % m !== 0) continue;
    const n = Math.floor(rest / m);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * m;
    }
  }
  return out;
}

const normDuration = (d: string) => {
  const ms = parseDuration(d);
  return ms === undefined ? undefined : promDuration(ms);
};

/** Reads Sloth AlertWindows documents (sloth.slok.dev/v1, kind AlertWindows). */
export function parseAlertWindows(text: string, name = 'windows'): Result<AlertWindows[], string> {
  const out: AlertWindows[] = [];
  for (const d of parseAllDocuments(text, { schema: 'failsafe' }) as ReturnType<typeof parseAllDocuments> &
    unknown[]) {
    if (d.errors.length) return err(`${name}: not valid YAML: ${d.errors[0]!.message.split('\n')[0]}`);
    const v = d.toJS() as Record<string, unknown> | null;
    if (!v) continue;
    if (v.apiVersion !== 'sloth.slok.dev/v1' || v.kind !== 'AlertWindows')
      return err(`${name}: invalid spec version (want apiVersion sloth.slok.dev/v1, kind AlertWindows)`);
    const spec = (v.spec ?? {}) as Record<string, Record<string, Record<string, string>>>;
    const problems: string[] = [];
    const win = (sev: string, speed: string): AlertWindow => {
      const x = spec[sev]?.[speed] ?? {};
      const ebp = Number(x.errorBudgetPercent);
      const short = normDuration(String(x.shortWindow ?? ''));
      const long = normDuration(String(x.longWindow ?? ''));
      if (!(ebp > 0)) problems.push(`${sev}.${speed}: error budget is required`);
      if (!short) problems.push(`${sev}.${speed}: short window is required`);
      if (!long) problems.push(`${sev}.${speed}: long window is required`);
      return w(ebp, short ?? '', long ?? '');
    };
    const period = normDuration(String((spec as unknown as Record<string, unknown>).sloPeriod ?? ''));
    if (!period) problems.push('sloPeriod is required');
    const ws: AlertWindows = {
      period: period ?? '',
      pageQuick: win('page', 'quick'),
      pageSlow: win('page', 'slow'),
      ticketQuick: win('ticket', 'quick'),
      ticketSlow: win('ticket', 'slow'),
    };
    if (problems.length) return err(`${name}: invalid alerting window: ${problems.join('; ')}`);
    out.push(ws);
  }
  return ok(out);
}

/** Sloth's burn-rate factor, computed in hours exactly as Sloth does. */
export function burnRateFactor(period: string, win: AlertWindow): number {
  const periodH = parseDuration(period)! / 3_600_000;
  const longH = parseDuration(win.long)! / 3_600_000;
  return (win.errorBudgetPercent * periodH) / 100 / longH;
}

export interface SlothOptions {
  /** Written as `sloth_version` and in the header. */
  readonly version: string;
  readonly extraLabels?: Readonly<Record<string, string>>;
  readonly disableAlerts?: boolean;
  readonly disableRecordings?: boolean;
  /** Period for SLOs without one (default 30d). */
  readonly defaultPeriod?: string;
  /** Replaces the default window catalogues when given (like --slo-period-windows-path). */
  readonly windows?: readonly AlertWindows[];
  /** Write PrometheusRule objects even for non-Kubernetes inputs. */
  readonly forceKubernetes?: boolean;
  readonly ignoreDuplicates?: boolean;
}

/** Built-in Sloth SLO plugins whose effect on the rules is the standard chain (or nothing). */
const NEUTRAL_PLUGINS = new Set([
  'sloth.dev/core/debug/v1',
  'sloth.dev/core/validate/v1',
  'sloth.dev/core/sli_rules/v1',
  'sloth.dev/core/metadata_rules/v1',
  'sloth.dev/core/alert_rules/v1',
  'sloth.dev/contrib/validate_victoria_metrics/v1',
]);

const MODE: Record<SpecDocument['format'], string> = {
  'sloth-prometheus-v1': 'cli-gen-prom',
  'sloth-k8s-v1': 'cli-gen-k8s',
  'openslo-v1alpha': 'cli-gen-openslo',
  'openslo-v1': 'cli-gen-openslo',
};

const withWindow = (q: string, win: string) => q.replace(/\{\{\s*\.window\s*\}\}/g, win);

function errorRatioTemplate(s: SpecSlo): string {
  switch (s.sli.kind) {
    case 'events':
      return `(${s.sli.errorQuery})\n/\n(${s.sli.totalQuery})\n`;
    case 'raw':
      return `(${s.sli.errorRatioQuery})`;
    case 'good-total':
      return `(${goodTotalErrorRatio(s.sli.goodQuery, s.sli.totalQuery)})`;
    case 'plugin':
      throw new Error(`SLI plugin ${s.sli.id} reached the rule writer`);
  }
}

interface Ctx {
  readonly slo: SpecSlo;
  readonly period: string;
  readonly windows: AlertWindows;
  readonly labels: Record<string, string>;
  readonly sel: string;
}

const sortedWindows = (ws: AlertWindows) =>
  [
    ...new Set([ws.pageQuick, ws.pageSlow, ws.ticketQuick, ws.ticketSlow].flatMap((x) => [x.short, x.long])),
  ].sort((a, b) => parseDuration(a)! - parseDuration(b)!);

function sliRecordings(c: Ctx): RuleGroup {
  const tpl = errorRatioTemplate(c.slo);
  const windows = sortedWindows(c.windows);
  const rules: RecordingRule[] = windows.map((win) => ({
    record: `slo:sli_error:ratio_rate${win}`,
    expr: withWindow(tpl, win),
    labels: { ...c.labels, sloth_window: win },
  }));
  if (!windows.includes(c.period)) {
    const base = `slo:sli_error:ratio_rate${c.windows.pageQuick.short}${c.sel}[${c.period}]`;
    rules.push({
      record: `slo:sli_error:ratio_rate${c.period}`,
      expr: `sum_over_time(${base})\n/ ignoring (sloth_window)\ncount_over_time(${base})\n`,
      labels: { ...c.labels, sloth_window: c.period },
    });
  }
  return { name: `sloth-slo-sli-recordings-${c.slo.id}`, rules };
}

function metaRecordings(c: Ctx, doc: SpecDocument, version: string): RuleGroup {
  const obj = goFloat(c.slo.objective / 100);
  const on = 'on(sloth_id, sloth_slo, sloth_service) group_left';
  const burn = (win: string) =>
    `slo:sli_error:ratio_rate${win}${c.sel}\n/ ${on}\nslo:error_budget:ratio${c.sel}\n`;
  const l = c.labels;
  return {
    name: `sloth-slo-meta-recordings-${c.slo.id}`,
    rules: [
      { record: 'slo:objective:ratio', expr: `vector(${obj})`, labels: l },
      { record: 'slo:error_budget:ratio', expr: `vector(1-${obj})`, labels: l },
      {
        record: 'slo:time_period:days',
        expr: `vector(${goFloat(parseDuration(c.period)! / 86_400_000)})`,
        labels: l,
      },
      { record: 'slo:current_burn_rate:ratio', expr: burn(c.windows.pageQuick.short), labels: l },
      { record: 'slo:period_burn_rate:ratio', expr: burn(c.period), labels: l },
      {
        record: 'slo:period_error_budget_remaining:ratio',
        expr: `1 - slo:period_burn_rate:ratio${c.sel}`,
        labels: l,
      },
      {
        record: 'sloth_slo_info',
        expr: 'vector(1)',
        labels: {
          ...l,
          sloth_mode: MODE[doc.format],
          sloth_objective: goFloat(c.slo.objective),
          sloth_spec: doc.specVersion,
          sloth_version: version,
        },
      },
    ],
  };
}

function alertExpr(c: Ctx, quick: AlertWindow, slow: AlertWindow): string {
  const eb = goFloat((100 - c.slo.objective) / 100);
  const cond = (win: string, f: number) =>
    `    max(slo:sli_error:ratio_rate${win}${c.sel} > (${goFloat(f)} * ${eb})) without (sloth_window)`;
  const pair = (x: AlertWindow) => {
    const f = burnRateFactor(c.period, x);
    return `(\n${cond(x.short, f)}\n    and\n${cond(x.long, f)}\n)`;
  };
  return `${pair(quick)}\nor\n${pair(slow)}\n`;
}

function alerts(c: Ctx): RuleGroup | undefined {
  const a = c.slo.alerting;
  const rules: AlertingRule[] = [];
  for (const sev of ['page', 'ticket'] as const) {
    const s = a[sev];
    if (s.disable) continue;
    const [quick, slow] =
      sev === 'page'
        ? [c.windows.pageQuick, c.windows.pageSlow]
        : [c.windows.ticketQuick, c.windows.ticketSlow];
    rules.push({
      alert: a.name,
      expr: alertExpr(c, quick, slow),
      labels: { ...a.labels, ...s.labels, sloth_severity: sev },
      annotations: {
        title: `(${sev}) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is too fast.`,
        summary:
          '{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.',
        ...a.annotations,
        ...s.annotations,
      },
    });
  }
  return rules.length ? { name: `sloth-slo-alerts-${c.slo.id}`, rules } : undefined;
}

export interface SlothOutput {
  /** One per input document: plain groups, or a PrometheusRule object for Kubernetes inputs. */
  readonly documents: readonly {
    readonly source: SpecDocument;
    readonly kubernetes: boolean;
    readonly groups: RuleGroup[];
  }[];
}

/** Checks the plugins of one SLO; an unsupported one is an error (SLO-Scout never silently drops a plugin). */
function pluginProblems(doc: SpecDocument, s: SpecSlo): string[] {
  const p: string[] = [];
  if (s.sli.kind === 'plugin') p.push(`SLO ${s.id}: SLI plugin ${s.sli.id} is not supported`);
  for (const pl of [...doc.plugins, ...s.plugins])
    if (!NEUTRAL_PLUGINS.has(pl.id)) p.push(`SLO ${s.id}: SLO plugin ${pl.id} is not supported`);
  return p;
}

/** Validates the documents like Sloth and builds their rule groups. */
export function slothRuleGroups(
  docs: readonly SpecDocument[],
  opts: SlothOptions,
): Result<SlothOutput, string> {
  const problems = validateSpecs(docs, { ignoreDuplicates: opts.ignoreDuplicates ?? false });
  const catalog = opts.windows ?? GOOGLE_WINDOWS;
  const defaultPeriod = normDuration(opts.defaultPeriod ?? '30d');
  if (!defaultPeriod) problems.push(`default SLO period "${opts.defaultPeriod}" is not a duration`);
  const out: SlothOutput['documents'][number][] = [];
  for (const doc of docs) {
    const groups: RuleGroup[] = [];
    for (const slo of doc.slos) {
      problems.push(...pluginProblems(doc, slo));
      const period = slo.timeWindow ? normDuration(slo.timeWindow) : defaultPeriod;
      const windows = catalog.find(
        (c) => period !== undefined && parseDuration(c.period) === parseDuration(period),
      );
      if (!windows) {
        problems.push(
          `SLO ${slo.id}: the ${period ?? slo.timeWindow} SLO period time window is not supported`,
        );
        continue;
      }
      if (problems.length) continue;
      const base = { sloth_id: slo.id, sloth_service: slo.service, sloth_slo: slo.name };
      const c: Ctx = {
        slo,
        period: period!,
        windows,
        labels: { ...opts.extraLabels, ...slo.labels, ...base },
        sel: `{sloth_id="${slo.id}", sloth_service="${slo.service}", sloth_slo="${slo.name}"}`,
      };
      if (!opts.disableRecordings) groups.push(sliRecordings(c), metaRecordings(c, doc, opts.version));
      if (!opts.disableAlerts) {
        const g = alerts(c);
        if (g) groups.push(g);
      }
    }
    out.push({ source: doc, kubernetes: opts.forceKubernetes === true || !!doc.k8s, groups });
  }
  return problems.length ? err(problems.join('; ')) : ok({ documents: out });
}

const YAML_OPTS = { lineWidth: 0, indentSeq: false } as const;

/** The PrometheusRule object Sloth writes for a Kubernetes input. */
export function slothPrometheusRule(doc: SpecDocument, groups: readonly RuleGroup[]) {
  const k = doc.k8s;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: k?.name ?? `sloth-slo-${doc.service}`,
      ...(k?.namespace ? { namespace: k.namespace } : {}),
      labels: {
        ...k?.labels,
        'app.kubernetes.io/component': 'SLO',
        'app.kubernetes.io/managed-by': 'sloth',
      },
      ...(k && Object.keys(k.annotations).length ? { annotations: { ...k.annotations } } : {}),
    },
    spec: { groups },
  };
}

/** The whole output as one YAML stream (a `---` document per input document), like `sloth generate`. */
export function slothYaml(out: SlothOutput, version: string): string {
  return out.documents
    .map((d) => {
      const body = d.kubernetes ? slothPrometheusRule(d.source, d.groups) : { groups: d.groups };
      const text = new Document(body, { aliasDuplicateObjects: false }).toString(YAML_OPTS);
      return `\n---\n# Code generated by SLO-Scout in Sloth-compatible mode (${version}), rules as https://github.com/slok/sloth writes them.\n# DO NOT EDIT.\n\n${text}`;
    })
    .join('');
}
