/** The human-readable demo summary. */
import type { DemoSummary } from '../platform/demo.js';

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function printSummary(s: DemoSummary, outDir: string): string {
  const lines: string[] = [];
  lines.push('', `SLO-Scout demo finished in ${s.seconds.toFixed(1)} s`, '');
  lines.push(
    `Ingested: ${s.sent.spans} spans over OTLP/gRPC, ${s.sent.imported} spans via object-store import, ${s.sent.logs} log records, ${s.sent.metricPoints} metric points`,
  );
  lines.push(
    `Stages:   ${Object.entries(s.stageRuns)
      .map(([k, v]) => `${k}=${v}`)
      .join('  ')}  (records handled)`,
  );
  lines.push(`Dead letters: ${s.deadLettered}`);
  for (const n of s.notices) lines.push(`Note:     ${n}`);
  lines.push('', 'Journeys (most critical first):');
  const rows = s.recommendations.journeys.map((j) => [
    j.name,
    j.kind,
    j.criticality + (j.low_traffic ? ' (low traffic)' : ''),
    `${j.rps.toFixed(2)} rps`,
    `err ${pct(j.error_ratio)}`,
    `p99 ${Math.round(j.latency_ms['p99'] ?? 0)} ms`,
    j.slis.map((x) => `${x.kind} ${x.objective}%`).join(', '),
  ]);
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  for (const r of rows) lines.push('  ' + r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
  lines.push(
    '',
    `Policy Guard: ${s.decision.decision.toUpperCase()} (${s.decision.reasons.length} finding(s), policy ${s.decision.policy_version})`,
  );
  for (const r of s.decision.reasons.slice(0, 8)) lines.push(`  - [${r.severity}] ${r.rule}: ${r.message}`);
  lines.push('', `Artifacts in ${outDir}:`);
  for (const f of s.files) lines.push(`  ${f}`);
  lines.push('');
  return lines.join('\n');
}
