/**
 * The `slo-scout` command line. Every subcommand has --help; errors are one clear line on stderr with a meaningful
 * exit code (see EXIT below).
 */
import { Command, CommanderError, Option } from 'commander';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { ALL_TOPICS, topicByName, TOPICS } from '../events/registry.js';
import { FUNCTIONS, functionByName } from '../functions/index.js';
import { ConfigError, describeConfig, loadConfig, type Config } from '../platform/config.js';
import { contextFor } from '../platform/context.js';
import { runDemo } from '../platform/demo.js';
import { startPlatform } from '../platform/platform.js';
import { buildPorts } from '../platform/ports.js';
import { createKnativeServer } from '../runtime/hosts/knative.js';
import { createLogger } from '../runtime/observability.js';
import { UnavailableError } from '../core/ports.js';
import { triggerTopics } from '../runtime/process.js';
import { printSummary } from './summary.js';
import { registerAll } from './commands/index.js';
import { EXIT, intOption, JobFailed, usageError, waitForSignal } from './commands/types.js';

export { EXIT };

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

const ENV_HELP = `\nEnvironment (defaults in brackets):\n${describeConfig()}\n`;

function build(out: (s: string) => void, errOut: (s: string) => void): Command {
  const program = new Command('slo-scout')
    .description(
      'Discover critical user journeys from telemetry, recommend SLIs/SLOs from history, and generate guarded Prometheus rules, Grafana dashboards and runbooks.',
    )
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: out, writeErr: errOut })
    .addHelpText('after', ENV_HELP)
    .exitOverride();

  program
    .command('demo')
    .description(
      'Run the whole pipeline on the embedded default with a built-in shop workload and write artifacts (what `npm start` runs).',
    )
    .option('-o, --out <dir>', 'output directory for the artifacts', './slo-scout-out')
    .option('--hours <n>', 'hours of history to replay', intOption('--hours', 1, 48), 6)
    .option('--seed <n>', 'workload seed', intOption('--seed', 0, 2 ** 31 - 1), 42)
    .option('--data-dir <dir>', 'embedded state directory (wiped at start)', './.slo-scout/demo')
    .addHelpText(
      'after',
      '\nStarts collectors, stages and API on loopback with ephemeral ports, PGlite and a filesystem object store.\nWrites at least: prometheus/*.rules.yaml, grafana/*.dashboard.json, runbooks/*.md, recommendations.json, policy-decision.json.\n',
    )
    .action(async (o: { out: string; hours: number; seed: number; dataDir: string }) => {
      const env = { ...process.env, SLO_SCOUT_LOG_LEVEL: process.env['SLO_SCOUT_LOG_LEVEL'] ?? 'warn' };
      const base = loadConfig(env);
      const cfg: Config = {
        ...base,
        dataDir: o.dataDir,
        bus: { kind: 'memory' },
        database: { kind: 'pglite', dataDir: null },
        objects: { kind: 'fs', root: `${o.dataDir}/objects`, bucket: 'slo-scout' },
        vectors: { kind: 'pgvector' },
        ports: { otlpGrpc: 0, otlpHttp: 0, logHttp: 0, forward: 0, api: 0 },
        host: '127.0.0.1',
      };
      const log = createLogger({ level: cfg.logLevel, name: 'demo' });
      const summary = await runDemo({
        cfg,
        outDir: resolve(o.out),
        hours: o.hours,
        seed: o.seed,
        log,
        progress: (l) => errOut(l + '\n'),
      });
      out(printSummary(summary, resolve(o.out)));
      const idle = Object.entries(summary.stageRuns).filter(([, n]) => n === 0);
      if (idle.length)
        throw new JobFailed(`demo incomplete: these stages never ran: ${idle.map(([s]) => s).join(', ')}`);
      if (summary.decision.decision === 'deny')
        throw new JobFailed(
          'demo incomplete: the Policy Guard denied the generated artifacts (see policy-decision.json)',
        );
    });

  program
    .command('up')
    .description(
      'Run the platform long-lived: collectors (OTLP gRPC/HTTP, Fluent Bit http and forward; Prometheus remote_read when SLO_SCOUT_PROMETHEUS_URL is set), every stage, and the API.',
    )
    .addHelpText(
      'after',
      `\nPoint OTLP exporters at grpc://HOST:4317 or http://HOST:4318, Fluent Bit's http output at HOST:9880, its forward output at HOST:24224.\nUses the embedded default unless Kafka/PostgreSQL/S3/Milvus are configured.${ENV_HELP}`,
    )
    .action(async () => {
      const cfg = loadConfig(process.env);
      const log = createLogger({ level: cfg.logLevel, name: 'up' });
      const platform = await startPlatform(cfg, { log });
      const e = platform.endpoints;
      out(
        `slo-scout is up: OTLP/gRPC ${cfg.host}:${e.otlpGrpc}, OTLP/HTTP ${cfg.host}:${e.otlpHttp}, Fluent Bit http ${cfg.host}:${e.logHttp}, Fluent Forward ${cfg.host}:${e.forward}, API http://${cfg.host}:${e.api} (Ctrl-C to stop)\n`,
      );
      const sig = await waitForSignal();
      out(`received ${sig}, draining...\n`);
      await platform.close();
    });

  program
    .command('migrate')
    .description(
      'Apply database migrations (idempotent): PostgreSQL when SLO_SCOUT_DATABASE_URL is set, else PGlite in the data dir.',
    )
    .action(async () => {
      const cfg = loadConfig(process.env);
      const log = createLogger({ level: cfg.logLevel, name: 'migrate' });
      const ports = await buildPorts(cfg, { needs: new Set(['db']), log });
      try {
        const r = await ports.db!.migrate();
        const f = await ports.db!.features();
        out(
          `migrations applied: ${r.applied.length ? r.applied.join(', ') : 'none'}; already present: ${r.skipped.length}; timescaledb: ${f.timescale ? 'yes' : 'no'}; pgvector: ${f.vector ? 'yes' : 'no'}\n`,
        );
      } finally {
        await ports.close();
      }
    });

  program
    .command('serve-function')
    .description(
      'Serve one function as a Knative service: CloudEvents over HTTP (binary/structured, as a KafkaSource delivers them).',
    )
    .argument('<name>', `function name: ${FUNCTIONS.map((f) => f.name).join(', ')}`)
    .option(
      '-p, --port <port>',
      'listen port (Knative sets PORT)',
      intOption('--port', 0, 65535),
      Number(process.env['PORT'] ?? 8080),
    )
    .option('--host <addr>', 'listen address', '0.0.0.0')
    .action(async (name: string, o: { port: number; host: string }) => {
      const fn = functionByName(name);
      if (!fn)
        throw usageError(`unknown function "${name}"; known: ${FUNCTIONS.map((f) => f.name).join(', ')}`);
      const cfg = loadConfig(process.env);
      const { ctx, ports } = await contextFor([fn], cfg);
      const server = createKnativeServer([fn], ctx, { port: o.port, host: o.host });
      const { port } = await server.listen();
      out(`function ${name} listening on ${o.host}:${port}\n`);
      await waitForSignal();
      await server.close();
      await ports.close();
    });

  const fns = program.command('functions').description('Inspect the function registry.');
  fns
    .command('list')
    .description('List every function with its trigger, ports and scaling.')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const rows = FUNCTIONS.map((f) => ({
        name: f.name,
        kind: f.kind,
        trigger:
          f.kind === 'http'
            ? f.routes.map((r) => `${r.method} ${r.path}`)
            : f.trigger.kind === 'object'
              ? [`object-created ${f.trigger.prefix}*`]
              : triggerTopics(f),
        needs: f.needs,
        scaling: f.scaling ?? null,
        description: f.description,
      }));
      if (o.json) out(JSON.stringify(rows, null, 2) + '\n');
      else
        for (const r of rows)
          out(
            `${r.name.padEnd(12)} ${r.kind.padEnd(6)} ${r.trigger.join(', ')}\n${' '.repeat(20)}${r.description}\n`,
          );
    });

  const ev = program
    .command('events')
    .description('Inspect the event contracts (topics, CloudEvents types, schemas).');
  ev.command('list')
    .description(
      'List every topic with key, partitions, retention, content type, schema version and CloudEvents type.',
    )
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const rows = ALL_TOPICS.map(({ schema: _s, checkBinary: _c, ...t }) => t);
      if (o.json) out(JSON.stringify(rows, null, 2) + '\n');
      else
        for (const t of rows)
          out(
            `${t.name.padEnd(34)} ${t.ceType.padEnd(36)} ${t.contentType.padEnd(23)} v${t.schemaVersion}  key: ${t.key}\n`,
          );
    });
  ev.command('schema')
    .description('Print the JSON Schema of a topic payload.')
    .argument('<topic>', `topic name or id, e.g. ${TOPICS.fingerprints.name}`)
    .action((name: string) => {
      const t = topicByName(name) ?? (TOPICS as Record<string, (typeof ALL_TOPICS)[number]>)[name];
      if (!t) throw usageError(`unknown topic "${name}"; run \`slo-scout events list\``);
      if (t.schema === null)
        out(
          JSON.stringify(
            {
              description: `${t.description} Binary payload (${t.contentType}); validated by a shallow protobuf walk.`,
            },
            null,
            2,
          ) + '\n',
        );
      else out(JSON.stringify(t.schema, null, 2) + '\n');
    });

  program
    .command('config')
    .description('Show the environment variables SLO-Scout reads, and the values it would use now.')
    .action(() => {
      const cfg = loadConfig(process.env);
      out(
        `${describeConfig()}\n\nEffective: bus=${cfg.bus.kind} database=${cfg.database.kind} objects=${cfg.objects.kind} vectors=${cfg.vectors.kind} model_dir=${cfg.model.dir}\n`,
      );
    });

  registerAll(program, { out, err: errOut });

  program.addOption(new Option('--no-color', 'accepted for compatibility; output is plain text').hideHelp());
  return program;
}

/** Runs the CLI; returns the exit code. */
export async function run(
  argv: readonly string[],
  io = { out: (s: string) => void process.stdout.write(s), err: (s: string) => void process.stderr.write(s) },
): Promise<number> {
  const program = build(io.out, io.err);
  if (argv.length === 0) {
    io.out(program.helpInformation());
    return EXIT.ok;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return EXIT.ok;
      if (e.code === 'slo-scout.usage') io.err(`slo-scout: ${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof ConfigError) {
      io.err(`slo-scout: configuration error: ${e.message}\n`);
      return EXIT.config;
    }
    if (e instanceof UnavailableError) {
      io.err(`slo-scout: ${e.service} is unavailable: ${e.message}\n`);
      return EXIT.unavailable;
    }
    if (e instanceof JobFailed) {
      io.err(`slo-scout: ${e.message}\n`);
      return EXIT.failed;
    }
    io.err(`slo-scout: ${(e as Error).message}\n`);
    if (process.env['SLO_SCOUT_LOG_LEVEL'] === 'debug') io.err(`${(e as Error).stack ?? ''}\n`);
    return EXIT.failed;
  }
}
