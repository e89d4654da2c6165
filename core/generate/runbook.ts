/**
 * One Markdown runbook per alert (SLO x severity): what the alert means for users, the journey and what it depends
 * on, where to look (dashboard, PromQL), which log templates the service emits, and how to mitigate and escalate.
 * Everything is derived from the SLO model, so two runbooks differ wherever their SLOs do.
 */
import type { SloModel } from './model.js';
import { leMatcherFor, withWindow } from './model.js';
import { alertName, sliErrorRecord, type NamingConvention } from './naming.js';
import { catalogueForModel } from './prometheus.js';
import { parseDuration, SRE_WORKBOOK_30D, type Severity, type WindowCatalogue } from './windows.js';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const r = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (x: number) => `${r(x * 100, 4)}%`;
const human = (ms: number) => {
  const h = ms / 3_600_000;
  return h >= 48 ? `${r(h / 24, 1)} days` : h >= 1 ? `${r(h, 1)} hours` : `${r(h * 60, 0)} minutes`;
};
const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function impact(m: SloModel): string {
  switch (m.name) {
    case 'availability':
      return m.journeyKind === 'async'
        ? `Messages consumed by \`${m.entrypoint}\` on **${m.service}** are failing to process; the work they carry is delayed or lost until retried.`
        : `Callers of \`${m.entrypoint}\` on **${m.service}** are getting server errors (5xx / gRPC server-fault codes).`;
    case 'latency':
      return `Requests to \`${m.entrypoint}\` on **${m.service}** are taking longer than ${m.sli.thresholdMs ?? '?'} ms more often than the objective allows.`;
    case 'freshness':
      return m.sli.thresholdMs !== undefined
        ? `Messages consumed by \`${m.entrypoint}\` on **${m.service}** are not processed within ${m.sli.thresholdMs} ms: downstream data is stale.`
        : `The consumer \`${m.entrypoint}\` on **${m.service}** is falling behind: downstream data is stale.`;
  }
}

function mitigation(m: SloModel): string[] {
  const steps: string[] = [];
  const deps = m.dependencyServices;
  steps.push(
    `Check whether the burn started with a change to **${m.service}** (deploy, config, feature flag). If so, roll it back first and investigate after.`,
  );
  if (deps.length) {
    steps.push(
      `Check the downstream services of this journey for their own SLO alerts: ${deps.map((d) => `**${d}**`).join(', ')}. ` +
        `If one of them is burning too, follow its runbook and treat ${m.service} as a victim.`,
    );
  }
  switch (m.name) {
    case 'availability':
      steps.push(
        m.journeyKind === 'async'
          ? 'Look for a poison message or a schema change on the topic; park failing messages in the dead-letter queue so the rest can flow.'
          : `Find which status codes dominate (group the error query by status code). 503/504 usually point at dependencies or overload; 500 at the code path of \`${m.entrypoint}\`.`,
        `If errors come from one instance or zone, take it out of rotation; if from all, consider shedding non-critical traffic.`,
      );
      break;
    case 'latency':
      steps.push(
        `Check saturation of ${m.service} (CPU throttling, connection pools, queue depth) and scale out if it is saturated.`,
        deps.length
          ? `Compare the latency of the slowest downstream call (${deps.slice(0, 3).join(', ')}) with its normal level; a slow dependency is the usual cause.`
          : `Look for slow queries or lock contention in ${m.service}'s own data stores.`,
      );
      break;
    case 'freshness':
      steps.push(
        `Check consumer lag and the number of running consumers of \`${m.entrypoint}\`; scale consumers up to the partition count if lag keeps growing.`,
        'Look for a stuck partition (one consumer not committing) and for retries of a poison message.',
      );
      break;
  }
  if (m.lowTraffic) {
    steps.push(
      'This journey has low traffic: a handful of failures can trigger the alert. Check the absolute number of failed requests before escalating.',
    );
  }
  return steps;
}

export interface RunbookOptions {
  readonly naming: NamingConvention;
  readonly catalogue?: WindowCatalogue;
}

/** The Markdown runbook for one alert of one SLO. */
export function runbookMarkdown(m: SloModel, severity: Severity, opts: RunbookOptions): string {
  const n = opts.naming;
  const cat = catalogueForModel(m, opts.catalogue ?? SRE_WORKBOOK_30D);
  const pairs = cat.windows.filter((w) => w.severity === severity);
  const periodMs = parseDuration(m.period)!;
  const s = `{${n.labels.id}="${esc(m.id)}"}`;
  const on = `on(${n.labels.id}, ${n.labels.service}, ${n.labels.name})`;
  const name = alertName(n, m.id, severity);
  const team = m.labels.team;
  const lines: string[] = [];
  lines.push(`# ${name}`, '');
  lines.push(
    `| | |`,
    `|---|---|`,
    `| SLO | \`${m.id}\` — ${mdCell(m.description)} |`,
    `| Service | ${m.service}${team ? ` (team ${team})` : ''} |`,
    `| Severity | ${severity} |`,
    `| Objective | ${m.objective}% over ${m.period} (error budget ${pct(m.errorBudget)}) |`,
    `| Dashboard | [${m.dashboardUid}](${m.dashboardUrl}) |`,
    '',
  );

  lines.push('## What this alert means', '');
  lines.push(impact(m), '');
  lines.push(
    `The ${severity} alert fires when both windows of a pair burn faster than the factor times the budget rate:`,
    '',
  );
  for (const p of pairs) {
    const spent = (p.factor * parseDuration(p.long)!) / periodMs;
    lines.push(
      `* **${p.factor}x** over ${p.long} and ${p.short}: ${pct(spent)} of the ${m.period} budget spent in ${p.long}; ` +
        `at this rate the whole budget is gone in ${human(periodMs / p.factor)}.`,
    );
  }
  lines.push('');
  lines.push(
    severity === 'page'
      ? 'This is a **page**: users are affected now and the budget will run out within days. Act immediately.'
      : 'This is a **ticket**: the budget is draining steadily. Handle it within the working day; it is not an emergency yet.',
    '',
  );

  lines.push('## User impact', '');
  const obs = m.observed;
  lines.push(
    `* Journey **${m.journeyName}** (${m.journeyKind === 'async' ? 'asynchronous' : 'request/response'}), criticality **${m.criticality}**.`,
  );
  if (obs.good_ratio !== undefined && obs.events !== undefined) {
    lines.push(
      `* During analysis it served ${obs.events} events with a good ratio of ${pct(obs.good_ratio)}` +
        (obs.expected_burn_rate !== undefined
          ? `, an expected burn rate of ${obs.expected_burn_rate}x`
          : '') +
        '. A burn well above that is a regression, not normal variance.',
    );
  }
  if (m.sli.thresholdMs !== undefined)
    lines.push(
      `* Threshold: ${m.sli.thresholdMs} ms${obs.p99_ms !== undefined ? ` (observed p99 ${obs.p99_ms} ms)` : ''}.`,
    );
  if (m.latency && (m.latency.mode === 'between-buckets' || m.latency.mode === 'native'))
    lines.push(`* **How latency is measured:** ${m.latency.note}.`);
  if (m.calendar === 'month')
    lines.push(
      `* Budgeted per **calendar month** (UTC) as well: the month's budget resets on the 1st; the burn-rate alerts use the rolling ${m.period} period.`,
    );
  lines.push('');

  lines.push('## The journey and its dependencies', '');
  lines.push(`Entry point: \`${m.entrypoint}\` on **${m.service}**.`, '');
  if (m.dependencies.length) {
    lines.push('Downstream calls observed in traces (nearest first):', '');
    for (const d of m.dependencies) lines.push(`* ${d}`);
  } else {
    lines.push('No downstream calls were observed in traces.');
  }
  lines.push('');

  lines.push('## Where to look', '');
  lines.push(
    `Open the dashboard [${m.dashboardUid}](${m.dashboardUrl}) and find the row **${m.journeyName}**.`,
    '',
  );
  lines.push('PromQL to run:', '', '```promql');
  lines.push(`# error ratio of the SLI over the last 5 minutes`, withWindow(m.sli.errorRatioQuery, '5m'), '');
  for (const p of pairs) {
    lines.push(
      `# burn rate over ${p.long} (alerts above ${p.factor})`,
      `${sliErrorRecord(n, p.long)}${s} / ${on} group_left ${n.records.errorBudget}${s}`,
      '',
    );
  }
  lines.push(
    `# error budget left in the ${m.period} period (1 = untouched, < 0 = exhausted)`,
    `${n.records.periodErrorBudgetRemaining}${s}`,
  );
  if (m.calendar === 'month')
    lines.push(
      '',
      "# share of this calendar month's budget left (resets on the 1st, UTC)",
      `${n.records.calendarErrorBudgetRemaining}${s}`,
    );
  if (
    m.latency?.mode === 'between-buckets' &&
    m.histogram &&
    m.latency.upperMs !== undefined &&
    m.latency.lowerMs !== undefined
  ) {
    const h = m.histogram;
    const inner = h.selector.replace(/^\{|\}$/g, '').trim();
    const toUnit = (ms: number) => (h.unit === 'milliseconds' ? ms : ms / 1000);
    lines.push(
      '',
      `# optimistic bound: share of requests <= ${m.latency.upperMs} ms (the real SLI lies between this and the SLI above)`,
      `sum(rate(${h.bucketMetric}{${inner ? `${inner}, ` : ''}${leMatcherFor(toUnit(m.latency.upperMs))}}[5m]))\n/\nsum(rate(${h.countMetric}${h.selector}[5m]))`,
    );
  }
  if (m.sli.totalQuery) lines.push('', '# traffic', withWindow(m.sli.totalQuery, '5m'));
  lines.push('```', '');

  lines.push('## Log templates seen', '');
  if (m.logTemplates.length) {
    lines.push(
      `Most error-prone log templates of ${m.service} during analysis:`,
      '',
      '| template | count | errors |',
      '|---|---:|---:|',
    );
    for (const t of m.logTemplates) lines.push(`| \`${mdCell(t.template)}\` | ${t.count} | ${t.errors} |`);
  } else {
    lines.push(
      `No log templates were recorded for ${m.service} during analysis; search its logs for errors around the alert start.`,
    );
  }
  lines.push('');

  lines.push('## Mitigation', '');
  mitigation(m).forEach((step, i) => lines.push(`${i + 1}. ${step}`));
  lines.push('');

  lines.push('## Escalation', '');
  if (severity === 'page') {
    lines.push(
      `1. Acknowledge the page and post in the incident channel of ${team ? `team ${team}` : m.service}.`,
      `2. If the burn is not falling within 30 minutes, escalate to the owners of ${m.service}` +
        (m.dependencyServices.length
          ? ` and of the failing dependency (${m.dependencyServices.join(', ')})`
          : '') +
        '.',
      `3. If the remaining budget (\`${n.records.periodErrorBudgetRemaining}\`) drops below 0, declare an incident and freeze risky changes to ${m.service}.`,
    );
  } else {
    lines.push(
      `1. Open a ticket for ${team ? `team ${team}` : `the owners of ${m.service}`} with the dashboard link and the burn-rate query results.`,
      '2. Review the trend at the next SLO review; if the budget keeps draining, prioritise reliability work over features for this journey.',
      `3. Escalate to a page if the burn rate climbs above the page factors (${
        cat.windows
          .filter((w) => w.severity === 'page')
          .map((w) => `${w.factor}x`)
          .join(', ') || 'none configured'
      }).`,
    );
  }
  lines.push('');

  lines.push('## Why this SLO', '');
  lines.push(`Recommended by SLO-Scout with confidence ${m.confidence}:`, '');
  for (const e of m.evidence) lines.push(`* ${e}`);
  lines.push('');
  return lines.join('\n');
}
