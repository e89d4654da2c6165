/**
 * promtool on the beyond-Sloth features: a latency threshold between classic buckets and a calendar-month SLO pass
 * `promtool check rules` and their generated tests; and a `promtool test rules` run proves the month-to-date budget
 * recordings reset on the 1st (UTC) and count only the current month. A missing promtool fails the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { generateArtifacts } from '../../core/generate/index.js';
import type { Recommendations } from '../../events/schemas.js';

const PROMTOOL = process.env.SLO_SCOUT_PROMTOOL ?? 'promtool';

function promtool(args: string[], cwd: string): { code: number; out: string } {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw new Error(`promtool is required (apt install prometheus): ${r.error.message}`);
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const rec = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../golden/generate/input.recommendations.json'), 'utf8'),
) as Recommendations;

function variant(): Recommendations {
  const r = structuredClone(rec);
  const pay = r.journeys.find((j) => j.service === 'payments')!;
  const lat = pay.slis.find((s) => s.kind === 'latency')!;
  lat.threshold_ms = 300;
  lat.good_query = lat.good_query!.replace('le="0.25"', 'le="0.3"');
  (pay.slis.find((s) => s.kind === 'availability')! as { calendar?: string }).calendar = 'month';
  return r;
}

const set = generateArtifacts(variant(), {
  setId: 'as-beyond',
  generatedAt: rec.generated_at,
  labels: { team: 'shop' },
  histogramBuckets: {
    http_request_duration_seconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  },
});

describe('promtool: latency between buckets and calendar months', () => {
  it('every rule file checks and every generated test passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slo-scout-promtool-beyond-'));
    for (const f of set.files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.content);
    }
    const rules = set.files.filter((f) => f.path.startsWith('prometheus/')).map((f) => f.path);
    const check = promtool(['check', 'rules', ...rules], dir);
    expect(check.code, check.out).toBe(0);
    for (const t of set.files.filter((f) => /^tests\/payments-.*\.test\.yaml$/.test(f.path))) {
      const r = promtool(['test', 'rules', t.path], dir);
      expect(r.code, `${t.path}\n${r.out}`).toBe(0);
    }
  });

  it('the month-to-date budget counts only the current calendar month and resets on the 1st', () => {
    const id = 'payments-post-charge-availability';
    const file = parse(set.files.find((f) => f.path === 'prometheus/payments.rules.yaml')!.content) as {
      groups: { name: string }[];
    };
    const dir = mkdtempSync(join(tmpdir(), 'slo-scout-promtool-cal-'));
    // Only the SLO's metadata group: the 1h SLI series is given as input instead of being computed from raw metrics.
    writeFileSync(
      join(dir, 'meta.yaml'),
      stringify({ groups: file.groups.filter((g) => g.name === `slo-scout-meta-recordings-${id}`) }),
    );
    const labels = `slo_id="${id}", slo_service="payments", slo_name="availability"`;
    // Test time starts at 1970-01-01T00:00Z: January at 1% errors (10x the 0.1% budget), February at 0.05%.
    const jan = 31 * 24;
    const exp = (metric: string, value: number) => ({
      labels: `${metric}{${labels}, slo_calendar="month"}`,
      value,
    });
    const test = {
      rule_files: ['meta.yaml'],
      evaluation_interval: '1h',
      tests: [
        {
          interval: '1h',
          input_series: [
            {
              series: `slo:sli_error:ratio_rate1h{${labels}, slo_window="1h"}`,
              values: `0.01x${jan - 1} 0.0005x${10 * 24}`,
            },
          ],
          promql_expr_test: [
            {
              // January 31st, 23:00: the whole month at 10x, 743/744 of it elapsed.
              expr: `slo:calendar_error_budget_remaining:ratio{slo_id="${id}"}`,
              eval_time: `${jan - 1}h`,
              exp_samples: [exp('slo:calendar_error_budget_remaining:ratio', 1 - 10 * ((jan - 1) / jan))],
            },
            {
              // February 10th, 00:00: only February counts (0.5x), 9 of 28 days elapsed.
              expr: `slo:calendar_error_ratio:month_to_date{slo_id="${id}"}`,
              eval_time: `${jan + 9 * 24}h`,
              exp_samples: [exp('slo:calendar_error_ratio:month_to_date', 0.0005)],
            },
            {
              expr: `slo:calendar_elapsed:ratio{slo_id="${id}"}`,
              eval_time: `${jan + 9 * 24}h`,
              exp_samples: [exp('slo:calendar_elapsed:ratio', 9 / 28)],
            },
            {
              expr: `slo:calendar_error_budget_remaining:ratio{slo_id="${id}"}`,
              eval_time: `${jan + 9 * 24}h`,
              exp_samples: [exp('slo:calendar_error_budget_remaining:ratio', 1 - 0.5 * (9 / 28))],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'calendar.test.yaml'), stringify(test));
    const r = promtool(['test', 'rules', 'calendar.test.yaml'], dir);
    expect(r.code, r.out).toBe(0);
  });
});
