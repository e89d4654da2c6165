/**
 * `promtool test rules` files, one per SLO, proving the generated alerts behave:
 *   1. a full outage after a healthy period fires the page alert within the minutes the burn-rate maths predicts;
 *   2. a steady burn rate of 1 (the error ratio equals the budget) keeps every alert silent;
 *   3. a slow burn (above the slowest ticket factor, below every page factor) fires the ticket alert, not the page;
 *   4. when the SLI's metrics vanish, the no-data alert fires.
 *
 * The input series are synthesised from the SLI queries, which must have the shapes SLO-Scout and most specs use:
 * `sum(rate(metric{matchers}[{{.window}}]))` for bad/good/total. SLIs with other shapes get no test file, and the
 * caller reports them (see `promtoolTestFor`'s error).
 */
import { labelMatches, type LabelMatchOp } from '../label-match.js';
import { err, ok, type Result } from '../result.js';
import type { SloModel } from './model.js';
import { alertName, noDataAlertName, type NamingConvention } from './naming.js';
import { catalogueForModel, sloLabels, type AlertingRule } from './prometheus.js';
import { parseDuration, type BurnWindow, type WindowCatalogue } from './windows.js';

interface Matcher {
  readonly name: string;
  readonly op: LabelMatchOp;
  readonly value: string;
}
interface RateQuery {
  readonly metric: string;
  readonly matchers: readonly Matcher[];
}

const RATE_RE =
  /^\s*sum\s*\(\s*rate\s*\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})?\s*\[\s*\{\{\.window\}\}\s*\]\s*\)\s*\)\s*$/;

/** Parses `sum(rate(metric{...}[{{.window}}]))`; undefined for any other shape. */
export function parseRateQuery(q: string): RateQuery | undefined {
  const m = RATE_RE.exec(q);
  if (!m) return undefined;
  const matchers: Matcher[] = [];
  const body = (m[2] ?? '{}').slice(1, -1).trim();
  let rest = body;
  const one = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/;
  while (rest.length) {
    const x = one.exec(rest);
    if (!x) return undefined;
    matchers.push({ name: x[1]!, op: x[2] as Matcher['op'], value: JSON.parse(`"${x[3]!}"`) as string });
    rest = rest.slice(x[0].length);
  }
  return { metric: m[1]!, matchers };
}

const matches = (m: Matcher, v: string): boolean => labelMatches(m.op, m.value, v);

const CANDIDATES = ['500', '200', '0', '1', 'ok', 'x', 'GET', 'POST', '+Inf'];

/** A label value satisfying (want=true) or violating (want=false) a matcher; '' means "label absent". */
function valueFor(m: Matcher, want: boolean): string | undefined {
  const cands = [
    m.op === '=' || m.op === '!=' ? m.value : '',
    m.value.replace(/\\(.)/g, '$1'),
    m.value.split('|')[0]!.replace(/[()]/g, '').replace(/\\(.)/g, '$1'),
    m.value.replace(/[()]/g, '').split('|')[0]!.replace(/\./g, '0'),
    ...CANDIDATES,
  ];
  return cands.find((c) => matches(m, c) === want);
}

function labelsFor(
  required: readonly Matcher[],
  violate: readonly Matcher[] = [],
): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  for (const m of required) {
    const v = valueFor(m, true);
    if (v === undefined) return undefined;
    if (v !== '') labels[m.name] = v;
  }
  // Violate one matcher of the other selector on a label the required set leaves free.
  if (violate.length) {
    const free = violate.find((m) => !(m.name in labels) && valueFor(m, false) !== undefined);
    if (!free) return undefined;
    const v = valueFor(free, false)!;
    if (v !== '') labels[free.name] = v;
  }
  for (const m of required) if (!matches(m, labels[m.name] ?? '')) return undefined;
  return labels;
}

const seriesName = (metric: string, labels: Record<string, string>) =>
  `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;

/** Per-minute phases of an error ratio. */
export interface Phase {
  readonly minutes: number;
  readonly errorRatio: number;
}

const fmt = (x: number) => String(Math.round(x * 1e6) / 1e6);

/** A counter in promtool's expanding notation growing by `perMinute(phase)` each minute. */
function counter(phases: readonly Phase[], perMinute: (p: Phase) => number): string {
  let v = 0;
  const parts: string[] = [];
  phases.forEach((p, i) => {
    const d = perMinute(p);
    const start = i === 0 ? 0 : v + d;
    parts.push(`${fmt(start)}+${fmt(d)}x${p.minutes - 1}`);
    v = start + d * (p.minutes - 1);
  });
  return parts.join(' ');
}

/** Events per minute of the synthetic traffic: large enough that any budget >= 1e-5 gives whole bad counts. */
export const TEST_TRAFFIC_PER_MINUTE = 100_000;

function inputSeries(
  m: SloModel,
  phases: readonly Phase[],
): Result<{ series: string; values: string }[], string> {
  const T = TEST_TRAFFIC_PER_MINUTE;
  const total = m.sli.totalQuery ? parseRateQuery(m.sli.totalQuery) : undefined;
  const badQ = m.sli.badQuery ? parseRateQuery(m.sli.badQuery) : undefined;
  const goodQ = !badQ && m.sli.goodQuery ? parseRateQuery(m.sli.goodQuery) : undefined;
  const part = badQ ?? goodQ;
  if (!total || !part)
    return err(`SLO ${m.id}: SLI queries are not all of the form sum(rate(metric{...}[{{.window}}]))`);
  const isBad = !!badQ;
  const partRate = (p: Phase) => T * (isBad ? p.errorRatio : 1 - p.errorRatio);
  const restRate = (p: Phase) => T * (isBad ? 1 - p.errorRatio : p.errorRatio);
  if (part.metric === total.metric) {
    const a = labelsFor([...part.matchers, ...total.matchers]);
    const b = labelsFor(total.matchers, part.matchers);
    if (!a || !b) return err(`SLO ${m.id}: cannot synthesise label values for the SLI matchers`);
    return ok([
      { series: seriesName(part.metric, a), values: counter(phases, partRate) },
      { series: seriesName(total.metric, b), values: counter(phases, restRate) },
    ]);
  }
  const a = labelsFor(part.matchers);
  const b = labelsFor(total.matchers);
  if (!a || !b) return err(`SLO ${m.id}: cannot synthesise label values for the SLI matchers`);
  return ok([
    { series: seriesName(part.metric, a), values: counter(phases, partRate) },
    { series: seriesName(total.metric, b), values: counter(phases, () => T) },
  ]);
}

/** Error ratio over the trailing window at minute t (data starts at minute 0), as the rules see it. */
function windowRatio(phases: readonly Phase[], t: number, windowMin: number): number {
  let bad = 0;
  let n = 0;
  let minute = 0;
  for (const p of phases)
    for (let i = 0; i < p.minutes; i++, minute++) {
      if (minute > t - windowMin && minute <= t) {
        bad += p.errorRatio;
        n++;
      }
    }
  return n ? bad / n : 0;
}

/** First minute (after `from`) at which any pair of `pairs` would fire, or undefined within the phases. */
function firstFiring(
  phases: readonly Phase[],
  pairs: readonly BurnWindow[],
  budget: number,
  from: number,
): number | undefined {
  const end = phases.reduce((a, p) => a + p.minutes, 0);
  for (let t = from; t < end; t++) {
    for (const w of pairs) {
      const thr = w.factor * budget;
      const s = parseDuration(w.short)! / 60_000;
      const l = parseDuration(w.long)! / 60_000;
      if (windowRatio(phases, t, s) > thr && windowRatio(phases, t, l) > thr) return t;
    }
  }
  return undefined;
}

export interface PromtoolTestOptions {
  readonly naming: NamingConvention;
  readonly catalogue?: WindowCatalogue;
  /** Rule file path as promtool should read it, relative to the test file. */
  readonly ruleFile: string;
}

export interface PromtoolTest {
  readonly slo: string;
  readonly content: Record<string, unknown>;
  /** Minutes from the start of a full outage until the page alert fires (undefined: never within 12h). */
  readonly pageAfterMinutes?: number;
}

const min = (x: number) => `${Math.round(x)}m`;

/** The promtool test document for one SLO, or why none can be written. */
export function promtoolTestFor(
  m: SloModel,
  alerts: readonly AlertingRule[],
  opts: PromtoolTestOptions,
): Result<PromtoolTest, string> {
  const cat = catalogueForModel(m, opts.catalogue);
  const page = cat.windows.filter((w) => w.severity === 'page');
  const ticket = cat.windows.filter((w) => w.severity === 'ticket');
  const b = m.errorBudget;
  const n = opts.naming;
  const base = sloLabels(m, n);
  const rule = (name: string) => alerts.find((a) => a.alert === name);
  const expAlert = (sev: 'page' | 'ticket') => {
    const r = rule(alertName(n, m.id, sev))!;
    return { exp_labels: { ...base, ...r.labels }, exp_annotations: { ...r.annotations } };
  };
  const tests: Record<string, unknown>[] = [];

  // 1. Full outage after a healthy period long enough to fill the longest page window.
  const longest = Math.max(...page.map((w) => parseDuration(w.long)! / 60_000), 60);
  const healthy = Math.ceil(longest) + 10;
  let pageAfter: number | undefined;
  if (page.length) {
    const outage: Phase[] = [
      { minutes: healthy, errorRatio: 0 },
      { minutes: 12 * 60, errorRatio: 1 },
    ];
    const fire = firstFiring(outage, page, b, healthy);
    if (fire !== undefined) {
      pageAfter = fire - healthy + 1;
      const checkAt = fire + 3;
      const ph: Phase[] = [
        { minutes: healthy, errorRatio: 0 },
        { minutes: checkAt - healthy + 2, errorRatio: 1 },
      ];
      const s = inputSeries(m, ph);
      if (!s.ok) return s;
      tests.push({
        name: `${m.id}: full outage pages within ${pageAfter + 3} minutes`,
        interval: '1m',
        input_series: s.value,
        alert_rule_test: [
          { eval_time: min(healthy - 1), alertname: alertName(n, m.id, 'page'), exp_alerts: [] },
          { eval_time: min(checkAt), alertname: alertName(n, m.id, 'page'), exp_alerts: [expAlert('page')] },
        ],
      });
    }
  }

  // 2. A steady burn rate of 1 stays silent; 3. a slow burn opens a ticket and does not page.
  const steadyMinutes = 8 * 60;
  const steady = inputSeries(m, [{ minutes: steadyMinutes + 2, errorRatio: b }]);
  if (!steady.ok) return steady;
  const silent = (sev: 'page' | 'ticket') => ({
    eval_time: min(steadyMinutes),
    alertname: alertName(n, m.id, sev),
    exp_alerts: [],
  });
  tests.push({
    name: `${m.id}: a steady burn rate of 1 stays silent`,
    interval: '1m',
    input_series: steady.value,
    alert_rule_test: [...(page.length ? [silent('page')] : []), ...(ticket.length ? [silent('ticket')] : [])],
  });
  if (ticket.length) {
    const lo = Math.min(...ticket.map((w) => w.factor));
    const hi = page.length ? Math.min(...page.map((w) => w.factor)) : Infinity;
    const burn = Math.min(lo * 2, (lo + hi) / 2);
    if (burn * b < 1 && burn > lo) {
      const slow = inputSeries(m, [{ minutes: steadyMinutes + 2, errorRatio: burn * b }]);
      if (!slow.ok) return slow;
      tests.push({
        name: `${m.id}: a slow burn (${Math.round(burn * 100) / 100}x) opens a ticket and does not page`,
        interval: '1m',
        input_series: slow.value,
        alert_rule_test: [
          {
            eval_time: min(steadyMinutes),
            alertname: alertName(n, m.id, 'ticket'),
            exp_alerts: [expAlert('ticket')],
          },
          ...(page.length ? [silent('page')] : []),
        ],
      });
    }
  }

  // 4. Metrics vanish: the no-data alert fires.
  const noData = rule(noDataAlertName(n, m.id));
  if (noData) {
    const forMin = noData.for ? parseDuration(noData.for)! / 60_000 : 0;
    const s = inputSeries(m, [{ minutes: 30, errorRatio: 0 }]);
    if (!s.ok) return s;
    const at = 30 + 10 + forMin + 2;
    tests.push({
      name: `${m.id}: missing SLI metrics raise the no-data alert`,
      interval: '1m',
      input_series: s.value,
      alert_rule_test: [
        { eval_time: '20m', alertname: noData.alert, exp_alerts: [] },
        {
          eval_time: min(at),
          alertname: noData.alert,
          exp_alerts: [
            {
              exp_labels: { [n.labels.id]: m.id, ...noData.labels },
              exp_annotations: { ...noData.annotations },
            },
          ],
        },
      ],
    });
  }

  return ok({
    slo: m.id,
    ...(pageAfter !== undefined ? { pageAfterMinutes: pageAfter } : {}),
    content: { rule_files: [opts.ruleFile], evaluation_interval: '1m', tests },
  });
}
