/**
 * CLI commands of the generate area:
 *   slo-scout generate --spec FILE... --out DIR|- [--format prometheus|prometheus-operator|sloth|openslo] [--sloth-compatible]
 *   slo-scout validate FILE...
 *   slo-scout policy check DIR
 *   slo-scout deploy DIR --target files|kubernetes|grafana [--dry-run]
 * In Sloth-compatible mode `generate` takes Sloth's generate flags under the same names.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import {
  generateArtifacts,
  MEDIA_TYPES,
  parseAlertWindows,
  slothRuleGroups,
  slothYaml,
  tryGenerateArtifacts,
  type AlertWindows,
} from '../../core/generate/index.js';
import {
  evaluatePolicy,
  parsePolicyText,
  DEFAULT_POLICY,
  type PolicyContext,
} from '../../core/policy/index.js';
import {
  exportSpecs,
  parseSpecs,
  specsToRecommendations,
  validateSpecs,
  type SpecDocument,
} from '../../core/specs/index.js';
import type { ArtifactSet, Recommendations } from '../../events/schemas.js';
import { deployToDirectory } from '../../adapters/deploy/files.js';
import { deployDashboards } from '../../adapters/deploy/grafana.js';
import { deployPrometheusRules } from '../../adapters/deploy/kubernetes.js';
import { UnavailableError } from '../../core/ports.js';
import { JobFailed, usageError, type CliIo } from './types.js';

const FORMATS = ['prometheus', 'prometheus-operator', 'sloth', 'openslo'] as const;
type Format = (typeof FORMATS)[number];

/** Spec files: plain files, or every .yaml/.yml under a directory (like Sloth's -i DIR). */
function specFiles(inputs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) throw usageError(`spec file not found: ${p}`);
    if (st.isDirectory()) {
      for (const f of readdirSync(p).sort()) {
        const q = join(p, f);
        if (statSync(q).isDirectory()) walk(q);
        else if (/\.ya?ml$/.test(f)) out.push(q);
      }
    } else out.push(p);
  };
  inputs.forEach(walk);
  return out;
}

function readSpecs(inputs: readonly string[]): { file: string; docs: SpecDocument[] }[] {
  return specFiles(inputs).map((file) => {
    const r = parseSpecs(readFileSync(file, 'utf8'));
    if (!r.ok) throw new JobFailed(`${file}: ${r.error}`);
    return { file, docs: r.value };
  });
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function labels(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw usageError(`--extra-labels wants k=v, got "${p}"`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

function loadWindows(dir: string): AlertWindows[] {
  const out: AlertWindows[] = [];
  for (const f of specFiles([dir])) {
    const r = parseAlertWindows(readFileSync(f, 'utf8'), f);
    if (!r.ok) throw new JobFailed(r.error);
    out.push(...r.value);
  }
  if (!out.length) throw new JobFailed(`no AlertWindows found under ${dir}`);
  return out;
}

function writeFiles(dir: string, files: readonly { path: string; content: string }[]) {
  for (const f of files) {
    const p = join(dir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
  }
}

interface GenerateOpts {
  spec?: string[];
  recommendations?: string;
  out: string;
  format: Format;
  slothCompatible?: boolean;
  disableAlerts?: boolean;
  disableRecordings?: boolean;
  extraLabels?: string[];
  defaultSloPeriod: string;
  sloPeriodWindowsPath?: string;
  ignoreSloDuplicates?: boolean;
  runbookBaseUrl?: string;
  grafanaBaseUrl?: string;
  namespace?: string;
}

const VERSION = 'slo-scout-0.1.0';

function generate(o: GenerateOpts, io: CliIo) {
  if (!o.spec?.length && !o.recommendations)
    throw usageError('give --spec FILE... or --recommendations FILE');
  const extra = labels(o.extraLabels ?? []);
  const toStdout = o.out === '-';
  const inputs = o.spec?.length ? readSpecs(o.spec) : [];
  const allDocs = inputs.flatMap((i) => i.docs);

  if (o.slothCompatible) {
    if (o.format === 'sloth' || o.format === 'openslo')
      throw usageError('--sloth-compatible writes rules: use --format prometheus or prometheus-operator');
    if (!inputs.length) throw usageError('--sloth-compatible needs --spec');
    const windows = o.sloPeriodWindowsPath ? loadWindows(o.sloPeriodWindowsPath) : undefined;
    const opts = {
      version: VERSION,
      extraLabels: extra,
      disableAlerts: o.disableAlerts ?? false,
      disableRecordings: o.disableRecordings ?? false,
      defaultPeriod: o.defaultSloPeriod,
      ...(windows ? { windows } : {}),
      forceKubernetes: o.format === 'prometheus-operator',
      ignoreDuplicates: o.ignoreSloDuplicates ?? false,
    };
    const all = slothRuleGroups(allDocs, opts);
    if (!all.ok) throw new JobFailed(all.error);
    if (toStdout) {
      io.out(slothYaml(all.value, VERSION));
      return;
    }
    const files = inputs.map((i) => {
      const r = slothRuleGroups(i.docs, { ...opts, ignoreDuplicates: true });
      if (!r.ok) throw new JobFailed(`${i.file}: ${r.error}`);
      return { path: `${basename(i.file, extname(i.file))}.yaml`, content: slothYaml(r.value, VERSION) };
    });
    writeFiles(o.out, files);
    io.err(`wrote ${files.length} Sloth-compatible rule file(s) to ${o.out}`);
    return;
  }

  if (o.format === 'sloth' || o.format === 'openslo') {
    if (!inputs.length) throw usageError(`--format ${o.format} exports specs: give --spec`);
    const problems = validateSpecs(allDocs, { ignoreDuplicates: o.ignoreSloDuplicates ?? false });
    if (problems.length) throw new JobFailed(problems.join('; '));
    const r = exportSpecs(
      allDocs.flatMap((d) => d.slos),
      o.format,
    );
    if (!r.ok) throw new JobFailed(r.error);
    if (toStdout) io.out(r.value);
    else {
      writeFiles(o.out, [
        { path: o.format === 'sloth' ? 'sloth.slos.yaml' : 'openslo.slos.yaml', content: r.value },
      ]);
      io.err(`wrote ${o.format} specs to ${o.out}`);
    }
    return;
  }

  // Native SLO-Scout generation (rules, PrometheusRule CRs, dashboards, runbooks, promtool tests).
  let rec: Recommendations;
  if (o.recommendations) rec = JSON.parse(readFileSync(o.recommendations, 'utf8')) as Recommendations;
  else {
    const problems = validateSpecs(allDocs, { ignoreDuplicates: o.ignoreSloDuplicates ?? false });
    if (problems.length) throw new JobFailed(problems.join('; '));
    rec = specsToRecommendations(
      allDocs.flatMap((d) => d.slos),
      { requestId: 'cli-specs', generatedAt: new Date().toISOString(), defaultPeriod: o.defaultSloPeriod },
    );
  }
  const r = tryGenerateArtifacts(rec, {
    setId: `as-cli-${rec.request_id}`,
    generatedAt: rec.generated_at,
    ...(Object.keys(extra).length ? { labels: extra } : {}),
    ...(o.runbookBaseUrl ? { runbookBaseUrl: o.runbookBaseUrl } : {}),
    ...(o.grafanaBaseUrl ? { grafanaBaseUrl: o.grafanaBaseUrl } : {}),
    ...(o.format === 'prometheus-operator'
      ? { prometheusOperator: o.namespace ? { namespace: o.namespace } : {} }
      : {}),
  });
  if (!r.ok) throw new JobFailed(r.error);
  const set = r.value;
  if (toStdout) {
    const wanted = o.format === 'prometheus-operator' ? /^kubernetes\// : /^prometheus\//;
    io.out(
      set.files
        .filter((f) => wanted.test(f.path))
        .map((f) => `---\n${f.content}`)
        .join(''),
    );
    return;
  }
  writeFiles(o.out, set.files);
  io.err(`wrote ${set.files.length} artifact(s) to ${o.out}`);
}

function mediaType(path: string): string {
  if (/\.ya?ml$/.test(path)) return MEDIA_TYPES.yaml;
  if (path.endsWith('.json')) return MEDIA_TYPES.json;
  if (path.endsWith('.md')) return MEDIA_TYPES.markdown;
  return 'text/plain';
}

/** Reads a directory of artifacts (as `generate --out DIR` wrote it) into an ArtifactSet. */
export function readArtifactDir(dir: string): ArtifactSet {
  const files: ArtifactSet['files'] = [];
  const walk = (p: string) => {
    for (const f of readdirSync(p).sort()) {
      const q = join(p, f);
      const st = statSync(q);
      if (st.isDirectory()) walk(q);
      else if (/\.(ya?ml|json|md)$/.test(f) && st.size < 16 * 1024 * 1024)
        files.push({
          path: relative(dir, q).split('\\').join('/'),
          media_type: mediaType(f),
          content: readFileSync(q, 'utf8'),
        });
    }
  };
  walk(dir);
  return { id: basename(resolve(dir)), request_id: 'cli', generated_at: new Date().toISOString(), files };
}

export function register(program: Command, io: CliIo): void {
  program
    .command('generate')
    .description(
      'Generate Prometheus rules (or PrometheusRule CRs), Grafana dashboards, runbooks and promtool tests from SLO specs ' +
        '(Sloth prometheus/v1, PrometheusServiceLevel, OpenSLO v1/v1alpha) or recommendations; export specs as Sloth or OpenSLO.',
    )
    .option('--spec <file...>', 'SLO spec files or directories')
    .option('--recommendations <file>', 'a recommendations.json written by the analysis stage')
    .requiredOption('-o, --out <dir>', 'output directory, or - for one YAML stream on stdout')
    .addOption(new Option('--format <format>', 'output format').choices([...FORMATS]).default('prometheus'))
    .option('--sloth-compatible', "write exactly Sloth's rules (sloth_* labels and names)")
    .option('--disable-alerts', 'Sloth-compatible: no alert rules')
    .option('--disable-recordings', 'Sloth-compatible: no recording rules')
    .option('-l, --extra-labels <k=v>', 'extra label on every rule (repeatable)', collect)
    .option('--default-slo-period <period>', 'SLO period for specs without one', '30d')
    .option(
      '--slo-period-windows-path <dir>',
      'directory of Sloth AlertWindows catalogues (replaces the defaults)',
    )
    .option('--ignore-slo-duplicates', 'allow the same SLO id in several inputs')
    .option('--runbook-base-url <url>', 'absolute base URL for runbook links')
    .option('--grafana-base-url <url>', 'Grafana base URL for dashboard links')
    .option('--namespace <ns>', 'namespace of PrometheusRule objects (--format prometheus-operator)')
    .action((o: GenerateOpts) => generate(o, io));

  program
    .command('validate')
    .description('Validate SLO specs with Sloth rules (files or directories)')
    .argument('<file...>', 'spec files or directories')
    .option('--ignore-slo-duplicates', 'allow the same SLO id in several inputs')
    .action((files: string[], o: { ignoreSloDuplicates?: boolean }) => {
      const inputs = readSpecs(files);
      const docs = inputs.flatMap((i) => i.docs);
      const problems = validateSpecs(docs, { ignoreDuplicates: o.ignoreSloDuplicates ?? false });
      if (problems.length) throw new JobFailed(`invalid specs: ${problems.join('; ')}`);
      io.out(`valid: ${docs.reduce((a, d) => a + d.slos.length, 0)} SLO(s) in ${inputs.length} file(s)\n`);
    });

  registerDeploy(program, io);

  const policy = program.command('policy').description('Policy Guard');
  policy
    .command('check')
    .description('Evaluate the Policy Guard over a directory of generated artifacts; exit 1 when denied')
    .argument('<dir>', 'artifact directory (as written by generate --out)')
    .option('--policy <file>', 'policy file (YAML/JSON), merged over the default policy')
    .option('--history <file>', 'JSON {sloId: {maxSupportedObjective}} of what history supports')
    .option('--inventory <file>', 'JSON {labelValues: {label: distinct values}} for the cardinality estimate')
    .option('--json', 'print the decision as JSON')
    .action((dir: string, o: { policy?: string; history?: string; inventory?: string; json?: boolean }) => {
      const st = statSync(dir, { throwIfNoEntry: false });
      if (!st?.isDirectory()) throw usageError(`not a directory: ${dir}`);
      let pol = DEFAULT_POLICY;
      if (o.policy) {
        const p = parsePolicyText(readFileSync(o.policy, 'utf8'));
        if (!p.ok) throw new JobFailed(p.error);
        pol = p.value;
      }
      const ctx: PolicyContext = {
        now: new Date(),
        ...(o.history
          ? { history: JSON.parse(readFileSync(o.history, 'utf8')) as PolicyContext['history'] }
          : {}),
        ...(o.inventory
          ? {
              inventory: JSON.parse(readFileSync(o.inventory, 'utf8')) as NonNullable<
                PolicyContext['inventory']
              >,
            }
          : {}),
      };
      const d = evaluatePolicy(readArtifactDir(dir), pol, ctx);
      if (o.json) io.out(`${JSON.stringify(d, null, 2)}\n`);
      else {
        io.out(`${d.decision.toUpperCase()} ${d.artifact_set_id} (policy ${d.policy_version})\n`);
        for (const r of d.reasons)
          io.out(`  ${r.severity} ${r.rule}${r.path ? ` ${r.path}` : ''}: ${r.message}\n`);
      }
      if (d.decision === 'deny')
        throw new JobFailed(
          `the Policy Guard denied ${dir}: ${d.reasons.filter((r) => r.severity === 'deny').length} deny finding(s)`,
        );
    });
}

/** Where a pod finds its service-account credentials. */
export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const DEPLOY_TARGETS = ['files', 'kubernetes', 'grafana'] as const;

interface DeployOpts {
  target: (typeof DEPLOY_TARGETS)[number];
  dryRun?: boolean;
  dest?: string;
  server?: string;
  namespace?: string;
  tokenFile?: string;
  caFile?: string;
  inCluster?: boolean;
  insecureSkipTlsVerify?: boolean;
  folderUid?: string;
  policy?: string;
}

const readText = (f: string, what: string) => {
  try {
    return readFileSync(f, 'utf8').trim();
  } catch (e) {
    throw usageError(`cannot read ${what} ${f}: ${(e as Error).message}`);
  }
};

async function deploy(dir: string, o: DeployOpts, io: CliIo) {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw usageError(`not a directory: ${dir}`);
  const set = readArtifactDir(dir);
  // The Policy Guard runs first: a denied set is never deployed.
  let pol = DEFAULT_POLICY;
  if (o.policy) {
    const p = parsePolicyText(readText(o.policy, 'policy file'));
    if (!p.ok) throw new JobFailed(p.error);
    pol = p.value;
  }
  const decision = evaluatePolicy(set, pol, { now: new Date() });
  if (decision.decision === 'deny')
    throw new JobFailed(
      `the Policy Guard denied ${dir}; nothing deployed: ${decision.reasons
        .filter((r) => r.severity === 'deny')
        .map((r) => `${r.rule}${r.path ? ` ${r.path}` : ''}: ${r.message}`)
        .join('; ')}`,
    );
  const dry = o.dryRun ? ' (dry run)' : '';
  const unavailable = (service: string, e: string) =>
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|timed out|ECONNRESET/.test(e)
      ? new UnavailableError(e, service)
      : new JobFailed(e);
  switch (o.target) {
    case 'files': {
      if (!o.dest) throw usageError('--target files needs --dest DIR');
      const r = deployToDirectory(set, o.dest, { dryRun: !!o.dryRun });
      if (!r.ok) throw new JobFailed(r.error);
      io.out(`${r.value.replaced ? 'replaced' : 'wrote'} ${r.value.files} file(s) in ${r.value.dir}${dry}\n`);
      return;
    }
    case 'kubernetes': {
      let server = o.server;
      let token = o.tokenFile ? readText(o.tokenFile, 'token file') : undefined;
      let caFile = o.caFile;
      let namespace = o.namespace;
      if (o.inCluster) {
        const host = process.env['KUBERNETES_SERVICE_HOST'];
        const port = process.env['KUBERNETES_SERVICE_PORT'] ?? '443';
        if (!server && host) server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
        token ??= readText(join(IN_CLUSTER_DIR, 'token'), 'service-account token');
        caFile ??= join(IN_CLUSTER_DIR, 'ca.crt');
        namespace ??= readText(join(IN_CLUSTER_DIR, 'namespace'), 'service-account namespace');
      }
      if (!server) throw usageError('--target kubernetes needs --server URL (or --in-cluster)');
      if (!namespace) throw usageError('--target kubernetes needs --namespace NS (or --in-cluster)');
      const r = await deployPrometheusRules(
        set,
        {
          server,
          namespace,
          ...(token ? { token } : {}),
          ...(caFile ? { ca: readText(caFile, 'CA file') } : {}),
          ...(o.insecureSkipTlsVerify ? { insecureSkipTlsVerify: true } : {}),
        },
        { dryRun: !!o.dryRun },
      );
      if (!r.ok) throw unavailable('kubernetes', r.error);
      for (const x of r.value) io.out(`PrometheusRule ${namespace}/${x.name} ${x.action}${dry}\n`);
      return;
    }
    case 'grafana': {
      if (!o.server) throw usageError('--target grafana needs --server URL');
      const token = o.tokenFile ? readText(o.tokenFile, 'token file') : undefined;
      const r = await deployDashboards(
        set,
        {
          server: o.server,
          ...(token ? { token } : {}),
          ...(o.caFile ? { ca: readText(o.caFile, 'CA file') } : {}),
          ...(o.folderUid ? { folderUid: o.folderUid } : {}),
          ...(o.insecureSkipTlsVerify ? { insecureSkipTlsVerify: true } : {}),
        },
        { dryRun: !!o.dryRun },
      );
      if (!r.ok) throw unavailable('grafana', r.error);
      for (const x of r.value)
        io.out(
          `dashboard ${x.uid} ${o.dryRun ? `would be ${x.action}` : x.action}${x.url ? ` ${x.url}` : ''}${dry}\n`,
        );
      return;
    }
  }
}

export function registerDeploy(program: Command, io: CliIo): void {
  program
    .command('deploy')
    .description(
      'Deploy a generated artifact directory after the Policy Guard allows it: to a directory (atomically), as ' +
        'PrometheusRule objects through the Kubernetes API, or as dashboards through the Grafana API',
    )
    .argument('<dir>', 'artifact directory (as written by generate --out)')
    .addOption(
      new Option('--target <target>', 'where to deploy').choices([...DEPLOY_TARGETS]).makeOptionMandatory(),
    )
    .option(
      '--dry-run',
      'validate only: Kubernetes server-side dry run (dryRun=All); Grafana: report, write nothing',
    )
    .option('--dest <dir>', 'files: the directory to (re)place')
    .option('--server <url>', 'kubernetes: API server URL; grafana: Grafana URL')
    .option('--namespace <ns>', 'kubernetes: namespace of the PrometheusRule objects')
    .option(
      '--token-file <file>',
      'bearer token file (Kubernetes service-account token, Grafana service-account token)',
    )
    .option('--ca-file <file>', 'PEM CA bundle to trust')
    .option('--in-cluster', `kubernetes: server, token, CA and namespace from the pod (${IN_CLUSTER_DIR})`)
    .option('--insecure-skip-tls-verify', 'do not verify the server certificate (testing only)')
    .option('--folder-uid <uid>', 'grafana: folder to put the dashboards in')
    .option('--policy <file>', 'policy file (YAML/JSON) for the guard, merged over the default policy')
    .action((dir: string, o: DeployOpts) => deploy(dir, o, io));
}

export { generateArtifacts };
