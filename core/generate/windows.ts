/**
 * Multi-window, multi-burn-rate alert catalogues (Google SRE Workbook, "Alerting on SLOs", table 5-8).
 *
 * For a 30-day period: page when 2% of the budget burns in 1 h (factor 14.4, short window 5m) or 5% in 6 h
 * (factor 6, short 30m); open a ticket when 10% burns in 1 d (factor 3, short 2h) or 10% in 3 d (factor 1, short
 * 6h). An alert fires only when both its long and its short window exceed `factor * (1 - objective)`.
 *
 * Other periods: the factors stay, the windows scale by period / 30d (rounded to whole minutes, at least 1m), so
 * each alert still fires after the same fraction of the budget is spent. Custom catalogues are accepted when valid.
 */
import { err, ok, type Result } from '../result.js';

export type Severity = 'page' | 'ticket';

export interface BurnWindow {
  readonly severity: Severity;
  /** Prometheus durations, e.g. '5m', '1h', '3d'. */
  readonly short: string;
  readonly long: string;
  /** Burn-rate factor: multiples of the error budget rate. */
  readonly factor: number;
}

export interface WindowCatalogue {
  /** SLO period this catalogue is for (Prometheus duration). */
  readonly period: string;
  readonly windows: readonly BurnWindow[];
}

export const SRE_WORKBOOK_30D: WindowCatalogue = {
  period: '30d',
  windows: [
    { severity: 'page', short: '5m', long: '1h', factor: 14.4 },
    { severity: 'page', short: '30m', long: '6h', factor: 6 },
    { severity: 'ticket', short: '2h', long: '1d', factor: 3 },
    { severity: 'ticket', short: '6h', long: '3d', factor: 1 },
  ],
};

const UNITS: readonly [string, number][] = [
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** Parses a Prometheus duration ('1h30m', '30d', '90s'); undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const re = /(\d+)(ms|[smhdwy])/g;
  if (!/^(\d+(ms|[smhdwy]))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(re)) {
    const unit = m[2]!;
    const mult = unit === 'y' ? 365 * 86_400_000 : UNITS.find(([u]) => u === unit)![1];
    total += Number(m[1]) * mult;
  }
  return total > 0 ? total : undefined;
}

/** Formats milliseconds as a Prometheus duration, largest units first ('1d12h', '5m'). */
export function formatDuration(ms: number): string {
  if (!(ms > 0)) throw new RangeError(`duration must be positive, got ${ms}`);
  let rest = Math.round(ms);
  let out = '';
  for (const [u, mult] of UNITS) {
    if (u === 'w') continue; // days read better than weeks in rule names
    const n = Math.floor(rest / mult);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * mult;
    }
  }
  return out;
}

/** Checks a catalogue: parsable windows, short < long, positive factor, and factor * long <= period. */
export function validateCatalogue(c: WindowCatalogue): Result<WindowCatalogue, string> {
  const period = parseDuration(c.period);
  if (period === undefined) return err(`window catalogue: period "${c.period}" is not a Prometheus duration`);
  if (c.windows.length === 0) return err('window catalogue: no windows');
  const problems: string[] = [];
  c.windows.forEach((w, i) => {
    const s = parseDuration(w.short);
    const l = parseDuration(w.long);
    if (w.severity !== 'page' && w.severity !== 'ticket')
      problems.push(`#${i}: severity must be page or ticket`);
    if (s === undefined) problems.push(`#${i}: short window "${w.short}" is not a duration`);
    if (l === undefined) problems.push(`#${i}: long window "${w.long}" is not a duration`);
    if (s !== undefined && l !== undefined && s >= l)
      problems.push(`#${i}: short window ${w.short} must be shorter than long ${w.long}`);
    if (!(w.factor > 0)) problems.push(`#${i}: factor must be positive`);
    if (l !== undefined && w.factor * l > period)
      problems.push(
        `#${i}: factor ${w.factor} over ${w.long} would need more than the whole budget of ${c.period}`,
      );
  });
  return problems.length ? err(`window catalogue: ${problems.join('; ')}`) : ok(c);
}

/** The SRE Workbook catalogue scaled to another period (factors kept, windows scaled by period/30d). */
export function catalogueFor(
  period: string,
  base: WindowCatalogue = SRE_WORKBOOK_30D,
): Result<WindowCatalogue, string> {
  const p = parseDuration(period);
  const b = parseDuration(base.period);
  if (p === undefined) return err(`period "${period}" is not a Prometheus duration`);
  if (b === undefined) return err(`base catalogue period "${base.period}" is not a Prometheus duration`);
  if (p === b) return validateCatalogue(base);
  const scale = (d: string) =>
    formatDuration(Math.max(60_000, Math.round((parseDuration(d)! * p) / b / 60_000) * 60_000));
  return validateCatalogue({
    period,
    windows: base.windows.map((w) => ({ ...w, short: scale(w.short), long: scale(w.long) })),
  });
}

/** Every distinct window a catalogue needs, shortest first. */
export function requiredWindows(c: WindowCatalogue): string[] {
  const all = [...new Set(c.windows.flatMap((w) => [w.short, w.long]))];
  return all.sort((a, b) => parseDuration(a)! - parseDuration(b)!);
}
