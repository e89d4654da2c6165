/** Starts every collector (OTLP gRPC + HTTP, Fluent Bit-compatible HTTP logs) over the same bus and archive. */
import type { Bus, Logger, Metrics, ObjectStore } from '../core/ports.js';
import { startLogCollector, type LogCollector, type LogCollectorOptions } from './logs.js';
import { startOtlpCollector, type OtlpCollector, type OtlpCollectorOptions } from './otlp.js';

export { startOtlpCollector, type OtlpCollector, type OtlpCollectorOptions } from './otlp.js';
export { startLogCollector, type LogCollector, type LogCollectorOptions } from './logs.js';

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
}

export interface Collectors {
  /** -1 for disabled listeners. */
  readonly ports: { readonly otlpGrpc: number; readonly otlpHttp: number; readonly logs: number };
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
  try {
    if (opts.otlp !== false) otlp = await startOtlpCollector({ ...(opts.otlp ?? {}), ...shared });
    if (opts.logs !== false) logs = await startLogCollector({ ...(opts.logs ?? {}), ...shared });
  } catch (e) {
    await otlp?.close();
    throw e;
  }
  return {
    ports: { otlpGrpc: otlp?.grpcPort ?? -1, otlpHttp: otlp?.httpPort ?? -1, logs: logs?.port ?? -1 },
    async close() {
      await Promise.all([otlp?.close(), logs?.close()]);
    },
  };
}
