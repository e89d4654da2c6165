/**
 * The default policy. Policies are plain data (JSON or YAML loadable, see parsePolicy in ./index.ts); a custom
 * policy is merged over this one, so it only needs the fields it changes.
 */

/** 'off' disables a rule. */
export type RuleSeverity = 'deny' | 'warn' | 'off';

export interface Policy {
  readonly version: string;
  readonly alerts: {
    /** Labels every alert must carry, non-empty. */
    readonly requiredLabels: readonly string[];
    readonly requiredLabelsSeverity: RuleSeverity;
    /** Alerts must have a runbook_url annotation; relative URLs must name a file of the artifact set. */
    readonly runbookUrlSeverity: RuleSeverity;
    /** At least one of these labels routes the alert (Alertmanager). */
    readonly routingLabels: readonly string[];
    readonly routingSeverity: RuleSeverity;
    /**
     * Label telling burn-rate alerts from no-data alerts (`burn-rate` | `no-data`); SLO alerts (those with the
     * objectives' id label) must carry it so inhibition and routing can key on it.
     */
    readonly kindLabel: string;
    readonly kindSeverity: RuleSeverity;
    /** Every SLO with burn-rate alerts needs a no-data alert (absent()/absent_over_time() with a `for`). */
    readonly noDataSeverity: RuleSeverity;
  };
  /**
   * Alertmanager inhibit rules in the set (`inhibit_rules:` in any YAML file): every alert a rule's source or target
   * matchers select must carry all its `equal` labels. Alertmanager treats two missing labels as equal, so without
   * them one SLO's page would silence every other SLO's tickets.
   */
  readonly inhibition: { readonly severity: RuleSeverity };
  /** Raw metrics the rules select must exist in the metric inventory (when one is given). */
  readonly inventory: { readonly severity: RuleSeverity };
  readonly cardinality: {
    /** Estimated series produced by all rules of the set. */
    readonly maxSeries: number;
    /** Assumed distinct values of a label kept by `by (...)` when the inventory does not say. */
    readonly defaultLabelValues: number;
    /** Assumed series of an expression over raw metrics with no aggregation. */
    readonly unaggregatedSeries: number;
    readonly severity: RuleSeverity;
  };
  readonly labels: {
    /** Label names never allowed in matchers, grouping clauses or rule labels (PII or unbounded). */
    readonly forbidden: readonly string[];
    /** Regular expressions (case-insensitive) over label names, same effect. */
    readonly forbiddenPatterns: readonly string[];
    readonly severity: RuleSeverity;
  };
  readonly objectives: {
    /** Recording rule holding the objective ratio as `vector(x)`. */
    readonly recordName: string;
    readonly idLabel: string;
    /** A label or annotation with value "true" on any rule of the SLO allows a stricter objective than history. */
    readonly overrideKey: string;
    readonly severity: RuleSeverity;
    /**
     * Severity when the recommendation itself already says history does not support any objective of its ladder
     * (the analysis fell back to its floor objective and recorded why): a known, documented gap rather than a
     * silent one. Set it to deny to block such sets too.
     */
    readonly acknowledgedSeverity: RuleSeverity;
  };
  readonly duplicates: { readonly severity: RuleSeverity };
  readonly dashboards: { readonly severity: RuleSeverity };
}

export const DEFAULT_POLICY: Policy = {
  version: 'slo-scout-default/1.1.0',
  alerts: {
    requiredLabels: ['severity', 'slo_id', 'service'],
    requiredLabelsSeverity: 'deny',
    runbookUrlSeverity: 'deny',
    routingLabels: ['team', 'severity'],
    routingSeverity: 'deny',
    kindLabel: 'slo_alert_kind',
    kindSeverity: 'warn',
    noDataSeverity: 'warn',
  },
  inhibition: { severity: 'deny' },
  inventory: { severity: 'warn' },
  cardinality: { maxSeries: 10_000, defaultLabelValues: 10, unaggregatedSeries: 100, severity: 'deny' },
  labels: {
    forbidden: [
      'user_id',
      'userid',
      'user',
      'email',
      'ip',
      'client_ip',
      'ip_address',
      'remote_addr',
      'net_peer_ip',
      'client_address',
      'session_id',
      'trace_id',
      'span_id',
      'request_id',
      'url',
      'url_full',
      'http_url',
      'http_target',
      'url_path',
      'path',
      'uri',
      'query',
    ],
    forbiddenPatterns: [
      '(^|_)(e_?mail|user_?id|session_?id|trace_?id|request_?id|ip_?addr(ess)?|phone|ssn)$',
    ],
    severity: 'deny',
  },
  objectives: {
    recordName: 'slo:objective:ratio',
    idLabel: 'slo_id',
    overrideKey: 'slo_scout_override',
    severity: 'deny',
    acknowledgedSeverity: 'warn',
  },
  duplicates: { severity: 'deny' },
  dashboards: { severity: 'deny' },
};
