/**
 * Starts the push collectors (OTLP gRPC + HTTP, Fluent Bit-compatible HTTP logs, and — when asked — the Forward
 * protocol) over the same bus and archive. The Prometheus remote-read collector is a puller: startPrometheusCollector.
 */
import type { Bus, Logger, Metrics, ObjectStore } from '../core/ports.js';
import { startLogCollector, type LogCollector, type LogCollectorOptions } from './logs.js';
import { startOtlpCollector, type OtlpCollector, type OtlpCollectorOptions } from './otlp.js';
import { startForwardCollector, type ForwardCollector, type ForwardCollectorOptions } from './forward.js';

export { startOtlpCollector, type OtlpCollector, type OtlpCollectorOptions } from './otlp.js';
export { startLogCollector, type LogCollector, type LogCollectorOptions } from './logs.js';
export { startForwardCollector, type ForwardCollector, type ForwardCollectorOptions } from './forward.js';
export {
  startPrometheusCollector,
  gatherPrometheusInventory,
  type PrometheusCollector,
  type PrometheusCollectorOptions,
} from './prometheus.js';

type Shared = 'bus' | 'objects' | 'metrics' | 'log' | 'host' | 'tenant' | 'now';

export interface CollectorsOptions {
  readonly bus: Bus;
  readonly objects: ObjectStore | null;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  readonly host?: string;
  readonly tenant?: string;
  readonly now?: () => Date;
  /** OTLP settings (ports default 4317/4318); false disables the OTLP collector. */
  readonly otlp?: Omit<OtlpCollectorOptions, Shared> | false;
  /** Fluent Bit log collector settings (port default 9880); false disables it. */
  readonly logs?: Omit<LogCollectorOptions, Shared> | false;
  /** Forward protocol (TCP) settings; started only when given (port default 24224). */
  readonly forward?: Omit<ForwardCollectorOptions, Shared> | false;
}

export interface Collectors {
  /** -1 for disabled listeners. */
  readonly ports: {
    readonly otlpGrpc: number;
    readonly otlpHttp: number;
    readonly logs: number;
    readonly forward: number;
  };
  close(): Promise<void>;
}

export async function startCollectors(opts: CollectorsOptions): Promise<Collectors> {
  const shared = {
    bus: opts.bus,
    objects: opts.objects,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.tenant ? { tenant: opts.tenant } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  };
  let otlp: OtlpCollector | null = null;
  let logs: LogCollector | null = null;
  let forward: ForwardCollector | null = null;
  try {
    if (opts.otlp !== false) otlp = await startOtlpCollector({ ...(opts.otlp ?? {}), ...shared });
    if (opts.logs !== false) logs = await startLogCollector({ ...(opts.logs ?? {}), ...shared });
    if (opts.forward) forward = await startForwardCollector({ ...opts.forward, ...shared });
  } catch (e) {
    await Promise.all([otlp?.close(), logs?.close()]);
    throw e;
  }
  return {
    ports: {
      otlpGrpc: otlp?.grpcPort ?? -1,
      otlpHttp: otlp?.httpPort ?? -1,
      logs: logs?.port ?? -1,
      forward: forward?.port ?? -1,
    },
    /** Graceful drain: stop accepting, finish (and acknowledge) what is in flight, then close. */
    async close() {
      await Promise.all([otlp?.close(), logs?.close(), forward?.close()]);
    },
  };
}
