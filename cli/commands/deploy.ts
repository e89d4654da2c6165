/**
 * CLI commands of the deploy area:
 *   slo-scout manifests registry [--json] [--out FILE]   deployment facts derived from the function registry
 *   slo-scout manifests knative [--out DIR] [...]        Knative Service + KafkaSource YAML per function
 *   slo-scout run-function NAME                          one event function consuming Kafka directly (no Knative)
 *   slo-scout run-collector otlp|log|prometheus          one collector (the chart's collector workloads; log = Fluent
 *                                                        Bit http + Forward)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { startCollectors, startPrometheusCollector } from '../../collectors/index.js';
import { prometheusCollectorName } from '../../collectors/prometheus.js';
import { TOPICS } from '../../events/registry.js';
import { deploymentRegistry } from '../../deploy/registry.js';
import { KNATIVE_DEFAULTS, renderKnative } from '../../deploy/knative.js';
import { functionByName, FUNCTIONS } from '../../functions/index.js';
import { ConfigError, loadConfig } from '../../platform/config.js';
import { contextFor } from '../../platform/context.js';
import { buildPorts } from '../../platform/ports.js';
import { startLocalHost } from '../../runtime/hosts/local.js';
import { createKnativeServer } from '../../runtime/hosts/knative.js';
import { createLogger, createMetrics } from '../../runtime/observability.js';
import { usageError, intOption, waitForSignal, type CliIo } from './types.js';

/**
 * The long-running Prometheus collector: pulls every SLO_SCOUT_PROMETHEUS_INTERVAL until SIGTERM/SIGINT, then lets
 * the pull in progress finish its window and checkpoint before exiting. Checkpoints and the inventory snapshot go to
 * the object store, the inventory also to the database (migrated by `slo-scout migrate`, the chart's init container).
 */
async function runPrometheusCollector(io: CliIo): Promise<void> {
  const cfg = loadConfig(process.env);
  if (!cfg.prometheus)
    throw new ConfigError(
      'run-collector prometheus needs SLO_SCOUT_PROMETHEUS_URL (the Prometheus to pull from)',
    );
  const log = createLogger({ level: cfg.logLevel, name: 'collector-prometheus' });
  const ports = await buildPorts(cfg, { needs: new Set(['objects', 'db']), log });
  try {
    // Embedded twins (no Kafka / PostgreSQL configured): nothing else creates the topic or the inventory table.
    if (cfg.bus.kind === 'memory') {
      const t = TOPICS.promSamples;
      await ports.bus.ensureTopics([{ name: t.name, partitions: t.partitions, retentionMs: t.retentionMs }]);
    }
    if (cfg.database.kind === 'pglite') await ports.db?.migrate();
    const c = await startPrometheusCollector({
      bus: ports.bus,
      objects: ports.objects!,
      // Replicas (the chart runs 2) elect the puller through the shared database.
      ...(ports.db ? { db: ports.db, leaderLock: (name: string) => ports.db!.tryLock(name) } : {}),
      metrics: createMetrics(),
      log,
      name: prometheusCollectorName(cfg.prometheus.url),
      url: cfg.prometheus.url,
      intervalMs: cfg.prometheus.intervalMs,
      opsPort: cfg.ports.api,
      host: cfg.host,
    });
    io.out(
      `collector prometheus up: pulling ${cfg.prometheus.url} every ${cfg.prometheus.intervalMs} ms, ops on :${c.opsPort}\n`,
    );
    const signal = await waitForSignal();
    log.info('draining the prometheus collector', { signal });
    await c.close();
  } finally {
    await ports.close();
  }
}

function writeOut(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

export function register(program: Command, io: CliIo): void {
  const m = program
    .command('manifests')
    .description('Render deployment manifests from the function registry (Knative, Helm chart data).');

  m.command('registry')
    .description('Deployment facts per function (triggers, routes, scaling, env, visibility) and topics.')
    .option('--json', 'JSON output (the default; the chart reads files/registry.json)')
    .option('--out <file>', 'write to FILE instead of stdout')
    .action((o: { json?: boolean; out?: string }) => {
      const text = JSON.stringify(deploymentRegistry(), null, 2) + '\n';
      if (o.out) {
        writeOut(o.out, text);
        io.out(`wrote ${o.out}\n`);
      } else io.out(text);
    });

  m.command('knative')
    .description('Knative Service and KafkaSource YAML for every function (one file per function).')
    .option('--out <dir>', 'write the files into DIR instead of printing one multi-document stream')
    .option('--namespace <ns>', 'namespace', KNATIVE_DEFAULTS.namespace)
    .option('--image <ref>', 'container image', KNATIVE_DEFAULTS.image)
    .option(
      '--bootstrap-servers <list>',
      'comma-separated Kafka bootstrap servers for the KafkaSources',
      KNATIVE_DEFAULTS.bootstrapServers.join(','),
    )
    .action((o: { out?: string; namespace: string; image: string; bootstrapServers: string }) => {
      const files = renderKnative(deploymentRegistry(), {
        ...KNATIVE_DEFAULTS,
        namespace: o.namespace,
        image: o.image,
        bootstrapServers: o.bootstrapServers.split(',').filter((s) => s.length > 0),
      });
      if (o.out) {
        for (const [name, text] of files) writeOut(join(o.out, name), text);
        io.out(`wrote ${files.size} files to ${o.out}\n`);
      } else io.out([...files.values()].join('---\n'));
    });

  program
    .command('run-function')
    .description(
      'Run one event function consuming its topics directly from Kafka (the chart uses this when Knative is disabled).',
    )
    .argument(
      '<name>',
      `event function: ${FUNCTIONS.filter((f) => f.kind === 'event')
        .map((f) => f.name)
        .join(', ')}`,
    )
    .option(
      '--metrics-port <port>',
      'serve /healthz /readyz /metrics on this port',
      intOption('--metrics-port', 0, 65535),
      Number(process.env['PORT'] ?? 8080),
    )
    .action(async (name: string, o: { metricsPort: number }) => {
      const fn = functionByName(name);
      if (!fn || fn.kind !== 'event')
        throw usageError(
          `unknown event function "${name}"; known: ${FUNCTIONS.filter((f) => f.kind === 'event')
            .map((f) => f.name)
            .join(', ')}`,
        );
      const cfg = loadConfig(process.env);
      const { ctx, ports } = await contextFor([fn], cfg);
      const host = await startLocalHost([fn], ctx, {});
      // /healthz /readyz /metrics for probes and scraping, served by the Knative host (its event route is unused).
      const probes = createKnativeServer([fn], ctx, { port: o.metricsPort, host: cfg.host });
      const { port } = await probes.listen();
      io.out(
        `function ${name} consuming ${fn.trigger.kind === 'topic' ? fn.trigger.topics.join(', ') : 'objectsCreated'}; probes on ${cfg.host}:${port}\n`,
      );
      await waitForSignal();
      await probes.close();
      await host.close();
      await ports.close();
    });

  program
    .command('run-collector')
    .description(
      'Run one collector: otlp (OTLP gRPC :4317 + HTTP :4318), log (Fluent Bit http :9880 + Forward :24224) or ' +
        'prometheus ' +
        '(remote_read pulls from SLO_SCOUT_PROMETHEUS_URL every SLO_SCOUT_PROMETHEUS_INTERVAL; replicas sharing ' +
        'SLO_SCOUT_DATABASE_URL elect one puller; /metrics, /healthz, /readyz on SLO_SCOUT_API_PORT).',
    )
    .argument('<kind>', 'otlp, log or prometheus')
    .action(async (kind: string) => {
      if (kind === 'prometheus') {
        await runPrometheusCollector(io);
        return;
      }
      if (kind !== 'otlp' && kind !== 'log')
        throw usageError(`unknown collector "${kind}"; known: otlp, log, prometheus`);
      const cfg = loadConfig(process.env);
      const log = createLogger({ level: cfg.logLevel, name: `collector-${kind}` });
      const ports = await buildPorts(cfg, { needs: new Set(['objects']), log });
      const c = await startCollectors({
        bus: ports.bus,
        objects: ports.objects!,
        metrics: createMetrics(),
        log,
        host: cfg.host,
        tenant: cfg.tenant,
        otlp: kind === 'otlp' ? { grpcPort: cfg.ports.otlpGrpc, httpPort: cfg.ports.otlpHttp } : false,
        logs: kind === 'log' ? { port: cfg.ports.logHttp } : false,
        forward:
          kind === 'log'
            ? {
                port: cfg.ports.forward,
                ...(cfg.forwardSharedKey ? { security: { sharedKey: cfg.forwardSharedKey } } : {}),
              }
            : false,
      });
      io.out(`collector ${kind} up: ${JSON.stringify(c.ports)}\n`);
      await waitForSignal();
      await c.close();
      await ports.close();
    });
}
