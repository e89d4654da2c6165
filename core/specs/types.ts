/**
 * The neutral SLO spec model every importer produces and every exporter reads. It follows Sloth's model (service,
 * SLO name, objective in percent, events/raw SLI, page/ticket alerting) because Sloth, its Kubernetes CRD and the
 * OpenSLO ratio metrics all map onto it without loss for the fields SLO generation needs.
 */

/** Which document format a spec was read from. */
export type SpecFormat = 'sloth-prometheus-v1' | 'sloth-k8s-v1' | 'openslo-v1alpha' | 'openslo-v1';

export interface SpecAlert {
  readonly disable: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface SpecPlugin {
  readonly id: string;
  readonly priority: number;
  readonly config: unknown;
}

export type SpecSli =
  | { readonly kind: 'events'; readonly errorQuery: string; readonly totalQuery: string }
  | { readonly kind: 'raw'; readonly errorRatioQuery: string }
  /** OpenSLO good/total ratio (kept as such so OpenSLO round-trips; Sloth sees a raw error ratio). */
  | { readonly kind: 'good-total'; readonly goodQuery: string; readonly totalQuery: string }
  | { readonly kind: 'plugin'; readonly id: string; readonly options: Readonly<Record<string, string>> };

export interface SpecSlo {
  /** `<service>-<name>`: Sloth's SLO id. */
  readonly id: string;
  readonly name: string;
  readonly service: string;
  readonly description: string;
  /** Percent, (0, 100]. */
  readonly objective: number;
  /** Prometheus duration of the SLO period; undefined = the generator's default period. */
  readonly timeWindow?: string;
  /** Global labels merged with the SLO's own (SLO wins). */
  readonly labels: Readonly<Record<string, string>>;
  readonly sli: SpecSli;
  readonly alerting: {
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
    readonly page: SpecAlert;
    readonly ticket: SpecAlert;
  };
  /** SLO plugin chain (Sloth); SLO-Scout only runs the built-in plugins whose effect it knows. */
  readonly plugins: readonly SpecPlugin[];
  /** OpenSLO extras kept for round-trips. */
  readonly displayName?: string;
  readonly budgetingMethod?: string;
}

export interface SpecDocument {
  readonly format: SpecFormat;
  /** The `sloth_spec` value: prometheus/v1, sloth.slok.dev/v1, openslo/v1alpha or openslo/v1. */
  readonly specVersion: string;
  readonly service: string;
  readonly slos: readonly SpecSlo[];
  /** Service-level SLO plugins (Sloth). */
  readonly plugins: readonly SpecPlugin[];
  readonly overridePreviousPlugins: boolean;
  /** Kubernetes object metadata (PrometheusServiceLevel). */
  readonly k8s?: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
}
