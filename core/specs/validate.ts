/**
 * Spec validation with Sloth's rules: required service and SLO name, objective in (0, 100], valid label and
 * annotation names, an SLI with a templated `{{.window}}` query of balanced PromQL, an alert name whenever an alert
 * is enabled, and unique SLO ids across every input (unless duplicates are explicitly allowed).
 */
import type { SpecDocument, SpecSlo } from './types.js';

export const WINDOW_TEMPLATE = '{{.window}}';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SLO_NAME = /^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$|^[A-Za-z0-9]$/;

/** Brackets balance outside string literals (a cheap PromQL sanity check; promtool does the full parse). */
export function balancedPromql(q: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let quote: string | undefined;
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c in pairs) {
      if (stack.pop() !== pairs[c]) return false;
    }
  }
  return !quote && stack.length === 0;
}

function checkQuery(q: string, where: string, problems: string[]) {
  if (!q.trim()) problems.push(`${where} is required`);
  else if (!q.includes(WINDOW_TEMPLATE)) problems.push(`${where} must use the ${WINDOW_TEMPLATE} template`);
  else if (!balancedPromql(q.split(WINDOW_TEMPLATE).join('5m')))
    problems.push(`${where} is not valid PromQL`);
}

function checkLabels(m: Readonly<Record<string, string>>, where: string, problems: string[]) {
  for (const k of Object.keys(m))
    if (!LABEL_NAME.test(k)) problems.push(`${where}: "${k}" is not a valid label name`);
}

/** Problems of one SLO (empty when valid). */
export function validateSlo(s: SpecSlo): string[] {
  const p: string[] = [];
  const where = `SLO ${s.id}`;
  if (!s.service.trim()) p.push(`${where}: service is required`);
  if (!s.name) p.push(`${where}: name is required`);
  else if (!SLO_NAME.test(s.name)) p.push(`${where}: name "${s.name}" has invalid characters`);
  if (!(s.objective > 0 && s.objective <= 100))
    p.push(`${where}: objective ${s.objective} must be in (0, 100]`);
  checkLabels(s.labels, `${where} labels`, p);
  switch (s.sli.kind) {
    case 'events':
      checkQuery(s.sli.errorQuery, `${where} SLI error query`, p);
      checkQuery(s.sli.totalQuery, `${where} SLI total query`, p);
      break;
    case 'good-total':
      checkQuery(s.sli.goodQuery, `${where} SLI good query`, p);
      checkQuery(s.sli.totalQuery, `${where} SLI total query`, p);
      break;
    case 'raw':
      checkQuery(s.sli.errorRatioQuery, `${where} SLI error ratio query`, p);
      break;
    case 'plugin':
      if (!s.sli.id) p.push(`${where}: SLI plugin id is required`);
      break;
  }
  const a = s.alerting;
  if ((!a.page.disable || !a.ticket.disable) && !a.name.trim())
    p.push(`${where}: alerting.name is required when an alert is enabled`);
  checkLabels(a.labels, `${where} alert labels`, p);
  checkLabels(a.annotations, `${where} alert annotations`, p);
  for (const sev of ['page', 'ticket'] as const) {
    checkLabels(a[sev].labels, `${where} ${sev} alert labels`, p);
    checkLabels(a[sev].annotations, `${where} ${sev} alert annotations`, p);
  }
  return p;
}

export interface ValidateOptions {
  /** Allow the same SLO id in several inputs (Sloth's --ignore-slo-duplicates). */
  readonly ignoreDuplicates?: boolean;
}

/** Validates every SLO of every document; duplicates are checked across all documents given. */
export function validateSpecs(docs: readonly SpecDocument[], opts: ValidateOptions = {}): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  for (const d of docs) {
    if (!d.service.trim()) problems.push(`spec ${d.k8s?.name ?? d.specVersion}: service is required`);
    for (const s of d.slos) {
      problems.push(...validateSlo(s));
      seen.set(s.id, (seen.get(s.id) ?? 0) + 1);
    }
  }
  if (!opts.ignoreDuplicates)
    for (const [id, n] of seen) if (n > 1) problems.push(`SLO id ${id} is defined ${n} times`);
  return problems;
}
