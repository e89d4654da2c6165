/**
 * Naming conventions, kept as data: recording-rule names, SLO labels, alert and group names are templates, so a
 * deployment can switch conventions (e.g. to Sloth's own `sloth_*` labels) without touching the generators.
 *
 * Template variables: {{window}} (e.g. 5m), {{id}} (SLO id), {{service}}, {{name}} (SLI kind),
 * {{id_pascal}}, {{severity}}, {{severity_pascal}}.
 */

export interface NamingConvention {
  readonly id: string;
  readonly records: {
    /** Error ratio of the SLI over a window: `slo:sli_error:ratio_rate{{window}}`. */
    readonly sliErrorRatio: string;
    readonly objective: string;
    readonly errorBudget: string;
    readonly timePeriod: string;
    readonly currentBurnRate: string;
    readonly periodBurnRate: string;
    readonly periodErrorBudgetRemaining: string;
    readonly info: string;
    /** Calendar-aligned SLOs (month, UTC): month-to-date error ratio, elapsed share, burn rate, budget left. */
    readonly calendarErrorRatio: string;
    readonly calendarElapsed: string;
    readonly calendarBurnRate: string;
    readonly calendarErrorBudgetRemaining: string;
  };
  /** Labels every SLO series carries. */
  readonly labels: {
    readonly id: string;
    readonly service: string;
    readonly name: string;
    readonly window: string;
  };
  readonly alerts: {
    readonly name: string;
    /** The no-data alert (the SLI's metrics vanished). */
    readonly noData: string;
    /** Labels on alerts (routing): severity, SLO id and service. */
    readonly severityLabel: string;
    readonly idLabel: string;
    readonly serviceLabel: string;
  };
  readonly groups: { readonly sli: string; readonly meta: string; readonly alerts: string };
}

/** Sloth-like names with SLO-Scout labels (sloth_id/sloth_service/sloth_slo -> slo_id/slo_service/slo_name). */
export const DEFAULT_NAMING: NamingConvention = {
  id: 'slo-scout/v1',
  records: {
    sliErrorRatio: 'slo:sli_error:ratio_rate{{window}}',
    objective: 'slo:objective:ratio',
    errorBudget: 'slo:error_budget:ratio',
    timePeriod: 'slo:time_period:days',
    currentBurnRate: 'slo:current_burn_rate:ratio',
    periodBurnRate: 'slo:period_burn_rate:ratio',
    periodErrorBudgetRemaining: 'slo:period_error_budget_remaining:ratio',
    info: 'slo_scout_slo_info',
    calendarErrorRatio: 'slo:calendar_error_ratio:month_to_date',
    calendarElapsed: 'slo:calendar_elapsed:ratio',
    calendarBurnRate: 'slo:calendar_burn_rate:ratio',
    calendarErrorBudgetRemaining: 'slo:calendar_error_budget_remaining:ratio',
  },
  labels: { id: 'slo_id', service: 'slo_service', name: 'slo_name', window: 'slo_window' },
  alerts: {
    name: '{{id_pascal}}ErrorBudgetBurn{{severity_pascal}}',
    noData: '{{id_pascal}}SliNoData',
    severityLabel: 'severity',
    idLabel: 'slo_id',
    serviceLabel: 'service',
  },
  groups: {
    sli: 'slo-scout-sli-recordings-{{id}}',
    meta: 'slo-scout-meta-recordings-{{id}}',
    alerts: 'slo-scout-alerts-{{id}}',
  },
};

/** Sloth's own labels and names, for teams that already run Sloth dashboards. */
export const SLOTH_NAMING: NamingConvention = {
  ...DEFAULT_NAMING,
  id: 'sloth/v1',
  records: { ...DEFAULT_NAMING.records, info: 'sloth_slo_info' },
  labels: { id: 'sloth_id', service: 'sloth_service', name: 'sloth_slo', window: 'sloth_window' },
  groups: {
    sli: 'sloth-slo-sli-recordings-{{id}}',
    meta: 'sloth-slo-meta-recordings-{{id}}',
    alerts: 'sloth-slo-alerts-{{id}}',
  },
};

export const pascal = (s: string) => {
  const p = s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
  return /^[0-9]/.test(p) ? `Slo${p}` : p;
};

/** Substitutes {{var}} placeholders; an unknown placeholder is a bug and throws. */
export function render(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`naming template "${template}" uses unknown variable ${k}`);
    return v;
  });
}

export const sliErrorRecord = (n: NamingConvention, window: string) =>
  render(n.records.sliErrorRatio, { window });

export const alertName = (n: NamingConvention, sloId: string, severity: string) =>
  render(n.alerts.name, { id: sloId, id_pascal: pascal(sloId), severity, severity_pascal: pascal(severity) });

export const noDataAlertName = (n: NamingConvention, sloId: string) =>
  render(n.alerts.noData, { id: sloId, id_pascal: pascal(sloId) });

export const groupName = (n: NamingConvention, which: keyof NamingConvention['groups'], sloId: string) =>
  render(n.groups[which], { id: sloId });
