/**
 * CLI commands of the deploy area:
 *   slo-scout manifests registry [--json] [--out FILE]   deployment facts derived from the function registry
 *   slo-scout manifests knative [--out DIR] [...]        Knative Service + KafkaSource YAML per function
 *   slo-scout run-function NAME                          one event function consuming Kafka directly (no Knative)
 *   slo-scout run-collector otlp|log                     one collector (the chart's collector workloads)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { startCollectors } from '../../collectors/index.js';
import { deploymentRegistry } from '../../deploy/registry.js';
import { KNATIVE_DEFAULTS, renderKnative } from '../../deploy/knative.js';
import { functionByName, FUNCTIONS } from '../../functions/index.js';
import { loadConfig } from '../../platform/config.js';
import { contextFor } from '../../platform/context.js';
import { buildPorts } from '../../platform/ports.js';
import { startLocalHost } from '../../runtime/hosts/local.js';
import { createKnativeServer } from '../../runtime/hosts/knative.js';
import { createLogger, createMetrics } from '../../runtime/observability.js';
import { usageError, intOption, type CliIo } from './types.js';

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (s: string) => () => resolve(s);
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
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
    .description('Run one collector: otlp (OTLP gRPC :4317 + HTTP :4318) or log (Fluent Bit http :9880).')
    .argument('<kind>', 'otlp or log')
    .action(async (kind: string) => {
      if (kind === 'prometheus')
        throw usageError(
          'the long-running Prometheus remote_read collector is not part of this build; `slo-scout collect prometheus` does one-shot pulls',
        );
      if (kind !== 'otlp' && kind !== 'log')
        throw usageError(`unknown collector "${kind}"; known: otlp, log`);
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
      });
      io.out(`collector ${kind} up: ${JSON.stringify(c.ports)}\n`);
      await waitForSignal();
      await c.close();
      await ports.close();
    });
}
