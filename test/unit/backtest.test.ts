/** Back-test of burn-rate alerts over per-minute history. */
import { describe, expect, it } from 'vitest';
import { backtest, describeBacktest } from '../../core/backtest/index.js';

const START = Date.UTC(2026, 0, 1);
function series(minutes: number, total: number, bad: (i: number) => number) {
  return {
    startMs: START,
    total: Array.from({ length: minutes }, () => total),
    bad: Array.from({ length: minutes }, (_, i) => bad(i)),
  };
}
const at = (min: number) => new Date(START + min * 60_000).toISOString();

describe('backtest', () => {
  it('fires nothing on a calm history', () => {
    const r = backtest(
      series(3 * 1440, 100, (i) => (i % 500 === 0 ? 1 : 0)),
      99.9,
      '30d',
    );
    expect(r.ok && r.value.pages + r.value.tickets).toBe(0);
  });

  it('pages during an outage (5m/1h x14.4) and says when', () => {
    // 99.9%: page at 1.44% over 1h and 5m; a total outage from minute 600 to 620
    const r = backtest(
      series(1440, 100, (i) => (i >= 600 && i < 620 ? 100 : 0)),
      99.9,
      '30d',
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.value.pages).toBe(1);
    // after 1 min of outage: 1h ratio 100/6000 = 1.67% > 1.44%, 5m ratio 20% -> fires at the end of minute 600
    expect(r.value.first_page_at).toBe(at(601));
    const ep = r.value.episodes.find((e) => e.severity === 'page')!;
    expect(ep.rules).toEqual(['page 30m/6h x6', 'page 5m/1h x14.4']);
    // one episode until the 30m short window no longer holds an outage minute (outage ends at minute 620)
    expect(ep.end).toBe(at(649));
    expect(describeBacktest(r.value)).toMatch(/1 page\(s\) at 2026-01-01T10:01:00.000Z/);
  });

  it('opens a ticket, not a page, for a slow burn (2x the budget rate for a day)', () => {
    const r = backtest(
      series(2 * 1440, 1000, (i) => (i >= 1440 ? 2 : 0)),
      99.9,
      '30d',
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.value.pages).toBe(0);
    expect(r.value.tickets).toBe(1);
    expect(r.value.rule_minutes['ticket 6h/3d x1']).toBeGreaterThan(0);
    expect(r.value.rule_minutes['ticket 2h/1d x3']).toBe(0);
  });

  it('scales the windows to the SLO period (7d: page 1m/14m)', () => {
    const r = backtest(
      series(600, 100, (i) => (i >= 300 && i < 303 ? 100 : 0)),
      99.9,
      '7d',
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.value.catalogue[0]).toMatchObject({ short: '1m', long: '14m', factor: 14.4 });
    expect(r.value.pages).toBe(1);
  });

  it('does not fire on the first sparse minutes (warm-up) and rejects bad input as values', () => {
    const r = backtest(
      series(120, 2, (i) => (i === 0 ? 1 : 0)),
      99.9,
      '30d',
    );
    expect(r.ok && r.value.pages).toBe(0);
    expect(
      backtest(
        series(10, 1, () => 0),
        100,
        '30d',
      ).ok,
    ).toBe(false);
    expect(
      backtest(
        series(10, 1, () => 0),
        99,
        'monthly',
      ).ok,
    ).toBe(false);
  });
});
