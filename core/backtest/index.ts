/**
 * Back-test: replays a per-minute history of good/bad events against the multi-window, multi-burn-rate alerts that
 * artifact generation writes (the catalogue from core/generate/windows.ts, scaled to the SLO period), and reports
 * which pages and tickets would have fired, and when.
 *
 * Semantics, matching the generated rules: at the end of every minute each rule computes the error ratio over its
 * long and its short window (sum of bad / sum of events in the trailing window; minutes without events count as
 * zero events) and fires when both exceed `factor * (1 - objective)`. Rules have no `for:` clause. Firing minutes of
 * one severity are merged into episodes (Alertmanager keeps an alert open across gaps shorter than `mergeGapMinutes`).
 * A rule starts evaluating once the history covers min(its long window, `warmupMinutes`, default 1 h); until its
 * long window is full it uses the history available, as Prometheus does after a restart, and the result says so.
 * Pure and deterministic.
 */
import { catalogueFor, parseDuration, type BurnWindow, type WindowCatalogue } from '../generate/windows.js';
import type { Result } from '../result.js';

/** A contiguous per-minute history: element i covers [startMs + i min, startMs + (i+1) min). */
export interface MinuteSeries {
  readonly startMs: number;
  readonly total: ArrayLike<number>;
  readonly bad: ArrayLike<number>;
}

export interface AlertEpisode {
  readonly severity: 'page' | 'ticket';
  /** ISO time of the first and last firing evaluation (minute ends). */
  readonly start: string;
  readonly end: string;
  readonly minutes: number;
  /** Rules (`short/long x factor`) that fired during the episode. */
  readonly rules: string[];
  /** Highest long-window burn rate seen during the episode. */
  readonly peak_burn_rate: number;
}

export interface BacktestResult {
  readonly pages: number;
  readonly tickets: number;
  readonly first_page_at?: string;
  readonly first_ticket_at?: string;
  readonly episodes: AlertEpisode[];
  /** Firing minutes per rule. */
  readonly rule_minutes: Record<string, number>;
  readonly history_minutes: number;
  readonly objective: number;
  readonly period: string;
  readonly catalogue: readonly BurnWindow[];
  /** Share of the period's error budget the history spent (bad / (budget * events)), scaled to events seen. */
  readonly budget_spent_ratio: number;
  readonly notes: string[];
}

export interface BacktestOptions {
  readonly mergeGapMinutes?: number;
  /**
   * A rule starts evaluating once the history holds min(its long window, this many minutes) and at least its short
   * window, so that the first minutes (a handful of events) cannot fire it. Default 60.
   */
  readonly warmupMinutes?: number;
  /** Custom catalogue; by default the SRE Workbook one scaled to the SLO period. */
  readonly catalogue?: WindowCatalogue;
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const ruleName = (w: BurnWindow) => `${w.severity} ${w.short}/${w.long} x${w.factor}`;

/** Replays `series` against the burn-rate alerts of an SLO with `objective` percent over `period`. */
export function backtest(
  series: MinuteSeries,
  objective: number,
  period: string,
  opts: BacktestOptions = {},
): Result<BacktestResult, string> {
  if (!(objective > 0 && objective < 100))
    return { ok: false, error: `backtest: objective ${objective} not in (0, 100)` };
  if (series.total.length !== series.bad.length)
    return { ok: false, error: 'backtest: total and bad series differ in length' };
  let cat: WindowCatalogue;
  if (opts.catalogue) cat = opts.catalogue;
  else {
    const c = catalogueFor(period);
    if (!c.ok) return c;
    cat = c.value;
  }
  const n = series.total.length;
  const budget = 1 - objective / 100;
  const T = new Float64Array(n + 1);
  const B = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    T[i + 1] = T[i]! + (series.total[i] ?? 0);
    B[i + 1] = B[i]! + Math.min(series.bad[i] ?? 0, series.total[i] ?? 0);
  }
  const ratio = (i: number, w: number) => {
    const lo = Math.max(0, i + 1 - w);
    const t = T[i + 1]! - T[lo]!;
    return t > 0 ? (B[i + 1]! - B[lo]!) / t : 0;
  };
  const rules = cat.windows.map((w) => ({
    w,
    name: ruleName(w),
    short: Math.max(1, Math.round(parseDuration(w.short)! / 60_000)),
    long: Math.max(1, Math.round(parseDuration(w.long)! / 60_000)),
    threshold: w.factor * budget,
  }));
  const warmupCap = opts.warmupMinutes ?? 60;
  const rulesW = rules.map((r) => ({ ...r, warmup: Math.max(r.short, Math.min(r.long, warmupCap)) }));
  const ruleMinutes: Record<string, number> = Object.fromEntries(rules.map((r) => [r.name, 0]));
  const gap = opts.mergeGapMinutes ?? 5;
  const episodes: AlertEpisode[] = [];
  for (const severity of ['page', 'ticket'] as const) {
    const mine = rulesW.filter((r) => r.w.severity === severity);
    let open: { start: number; end: number; rules: Set<string>; peak: number } | undefined;
    const close = () => {
      if (!open) return;
      episodes.push({
        severity,
        start: iso(series.startMs, open.start),
        end: iso(series.startMs, open.end),
        minutes: open.end - open.start + 1,
        rules: [...open.rules].sort(),
        peak_burn_rate: round(open.peak, 2),
      });
      open = undefined;
    };
    for (let i = 0; i < n; i++) {
      let firing = false;
      let peak = 0;
      const fired: string[] = [];
      for (const r of mine) {
        if (i + 1 < r.warmup) continue;
        const long = ratio(i, r.long);
        if (long > r.threshold && ratio(i, r.short) > r.threshold) {
          firing = true;
          fired.push(r.name);
          ruleMinutes[r.name] = (ruleMinutes[r.name] ?? 0) + 1;
          peak = Math.max(peak, budget > 0 ? long / budget : 0);
        }
      }
      if (!firing) {
        if (open && i - open.end > gap) close();
        continue;
      }
      if (!open) open = { start: i, end: i, rules: new Set(), peak: 0 };
      open.end = i;
      for (const f of fired) open.rules.add(f);
      open.peak = Math.max(open.peak, peak);
    }
    close();
  }
  episodes.sort((a, b) =>
    a.start < b.start ? -1 : a.start > b.start ? 1 : a.severity < b.severity ? -1 : 1,
  );
  const pages = episodes.filter((e) => e.severity === 'page');
  const tickets = episodes.filter((e) => e.severity === 'ticket');
  const notes: string[] = [];
  const longest = Math.max(...rules.map((r) => r.long));
  if (n < longest) {
    const partial = rules.filter((r) => r.long > n).map((r) => r.name);
    notes.push(
      `history of ${n} min is shorter than the long window of ${partial.join(', ')}: those rules were evaluated on ` +
        `the history available (after a warm-up of min(long window, ${warmupCap} min)), as Prometheus does after a restart`,
    );
  }
  const events = T[n]!;
  const bad = B[n]!;
  return {
    ok: true,
    value: {
      pages: pages.length,
      tickets: tickets.length,
      ...(pages[0] ? { first_page_at: pages[0].start } : {}),
      ...(tickets[0] ? { first_ticket_at: tickets[0].start } : {}),
      episodes,
      rule_minutes: ruleMinutes,
      history_minutes: n,
      objective,
      period: cat.period,
      catalogue: cat.windows,
      budget_spent_ratio: events > 0 && budget > 0 ? round(bad / (budget * events), 4) : 0,
      notes,
    },
  };
}

/** End of minute i as ISO time (when the evaluation ran). */
function iso(startMs: number, i: number): string {
  return new Date(startMs + (i + 1) * 60_000).toISOString();
}

/** One-line summary for evidence lists. */
export function describeBacktest(r: BacktestResult): string {
  const days = round(r.history_minutes / 1440, 2);
  const when = (sev: 'page' | 'ticket') =>
    r.episodes
      .filter((e) => e.severity === sev)
      .slice(0, 5)
      .map((e) => `${e.start} (${e.minutes} min, peak burn ${e.peak_burn_rate}x)`)
      .join(', ');
  return (
    `back-test over ${r.history_minutes} min (${days} d) of history against the ${r.period} burn-rate alerts ` +
    `(${r.catalogue.map(ruleName).join('; ')}): ${r.pages} page(s)` +
    (r.pages ? ` at ${when('page')}` : '') +
    `, ${r.tickets} ticket(s)` +
    (r.tickets ? ` at ${when('ticket')}` : '') +
    `; the history spent ${round(r.budget_spent_ratio * 100, 2)}% of the error budget its volume allows`
  );
}
