/**
 * The embedded platform: collectors, every event stage on the in-process host, and the API, in one process.
 * `slo-scout demo` and `slo-scout up` run this; with Kafka/PostgreSQL/S3/Milvus configured it runs the same code
 * against real infrastructure.
 */
import type { Logger, ObjectInfo, ObjectStore } from '../core/ports.js';
import { ALL_TOPICS, CE_SOURCE } from '../events/registry.js';
import { s3NotificationFor } from '../adapters/objects/archive-keys.js';
import { FUNCTIONS } from '../functions/index.js';
import { startCollectors } from '../collectors/index.js';
import { prometheusCollectorName, startPrometheusCollector } from '../collectors/prometheus.js';
import { startLocalHost } from '../runtime/hosts/local.js';
import { createKnativeServer } from '../runtime/hosts/knative.js';
import { createLogger, createMetrics } from '../runtime/observability.js';
import { publishEvent } from '../runtime/publish.js';
import type { EventStage, HttpStage, PortName, StageContext } from '../runtime/stage.js';
import { ConfigError, type Config } from './config.js';
import { readFile } from 'node:fs/promises';
import { parsePolicyText } from '../core/policy/index.js';
import { POLICY_KEY } from '../functions/policy.js';
import { buildPorts, stageContext, type Ports } from './ports.js';

export interface Platform {
  readonly ports: Ports;
  readonly ctx: StageContext;
  readonly metrics: ReturnType<typeof createMetrics>;
  readonly endpoints: {
    readonly otlpGrpc: number;
    readonly otlpHttp: number;
    readonly logHttp: number;
    readonly forward: number;
    readonly api: number;
  };
  close(): Promise<void>;
}

export interface PlatformOptions {
  readonly log?: Logger;
  /** Start the collectors (default true). */
  readonly collectors?: boolean;
}

/** Validates a policy file and puts it where the policy stage reads it (functions/policy.ts POLICY_KEY). */
async function installPolicy(file: string, objects: ObjectStore): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`SLO_SCOUT_POLICY_FILE ${file} cannot be read: ${(e as Error).message}`);
  }
  const parsed = parsePolicyText(text);
  if (!parsed.ok)
    throw new ConfigError(`SLO_SCOUT_POLICY_FILE ${file} is not a valid policy: ${parsed.error}`);
  await objects.put(POLICY_KEY, new TextEncoder().encode(text), { contentType: 'application/yaml' });
}

export async function startPlatform(cfg: Config, opts: PlatformOptions = {}): Promise<Platform> {
  const log = opts.log ?? createLogger({ level: cfg.logLevel, name: 'slo-scout' });
  const metrics = createMetrics();
  const needs = new Set<PortName>(FUNCTIONS.flatMap((f) => [...f.needs]));
  needs.add('objects'); // collectors archive raw batches
  let ctxRef: StageContext | undefined;
  const onObjectCreated = async (info: ObjectInfo) => {
    // The filesystem store has no notification service of its own: publish what S3 would send.
    if (!ctxRef || cfg.objects.kind !== 'fs') return;
    await publishEvent(ctxRef.bus, 'objectsCreated', `${cfg.objects.bucket}/${info.key}`, {
      source: CE_SOURCE.collector('object-store'),
      data: s3NotificationFor(cfg.objects.bucket, info, 'aws'),
    });
  };
  const ports = await buildPorts(cfg, { needs, log, onObjectCreated });
  const closers: (() => Promise<void>)[] = [() => ports.close()];
  const close = async () => {
    for (const c of closers.reverse())
      await c().catch((e: unknown) => log.warn('shutdown step failed', { error: String(e) }));
  };
  try {
    for (const n of ports.notices) log.warn(n);
    if (ports.db) {
      const report = await ports.db.migrate();
      log.info('database migrated', { applied: report.applied.length, skipped: report.skipped.length });
    }
    if (cfg.policyFile) await installPolicy(cfg.policyFile, ports.objects!);
    await ports.bus.ensureTopics(
      ALL_TOPICS.map((t) => ({
        name: t.name,
        partitions: cfg.bus.kind === 'memory' ? Math.min(t.partitions, 3) : t.partitions,
        retentionMs: t.retentionMs,
        maxMessageBytes: t.maxMessageBytes,
      })),
    );
    const ctx = stageContext(ports, metrics, log);
    ctxRef = ctx;
    const eventStages = FUNCTIONS.filter((f): f is EventStage => f.kind === 'event');
    const httpStages = FUNCTIONS.filter((f): f is HttpStage => f.kind === 'http');
    const host = await startLocalHost(eventStages, ctx, {});
    closers.push(() => host.close());
    const apiServer = createKnativeServer(httpStages, ctx, { port: cfg.ports.api, host: cfg.host });
    const { port: apiPort } = await apiServer.listen();
    closers.push(() => apiServer.close());
    let endpoints = { otlpGrpc: 0, otlpHttp: 0, logHttp: 0, forward: 0, api: apiPort };
    if (opts.collectors !== false) {
      const c = await startCollectors({
        bus: ports.bus,
        objects: ports.objects!,
        metrics,
        log,
        host: cfg.host,
        tenant: cfg.tenant,
        otlp: { grpcPort: cfg.ports.otlpGrpc, httpPort: cfg.ports.otlpHttp },
        logs: { port: cfg.ports.logHttp },
        forward: {
          port: cfg.ports.forward,
          ...(cfg.forwardSharedKey ? { security: { sharedKey: cfg.forwardSharedKey } } : {}),
        },
      });
      closers.push(() => c.close());
      endpoints = {
        ...endpoints,
        otlpGrpc: c.ports.otlpGrpc,
        otlpHttp: c.ports.otlpHttp,
        logHttp: c.ports.logs,
        forward: c.ports.forward,
      };
      if (cfg.prometheus) {
        // SLO_SCOUT_PROMETHEUS_URL set: also pull that Prometheus through remote_read (its metrics join /metrics).
        const prom = await startPrometheusCollector({
          bus: ports.bus,
          objects: ports.objects!,
          ...(ports.db ? { db: ports.db } : {}),
          metrics,
          log,
          name: prometheusCollectorName(cfg.prometheus.url),
          url: cfg.prometheus.url,
          intervalMs: cfg.prometheus.intervalMs,
        });
        closers.push(() => prom.close());
      }
    }
    return { ports, ctx, metrics, endpoints, close };
  } catch (e) {
    await close();
    throw e;
  }
}
