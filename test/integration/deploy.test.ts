/**
 * Every rendered manifest validated against strict JSON schemas from ../shared/k8s-schemas (Kubernetes 1.34 and the
 * CRDs), and cfn-lint on the synthesized CloudFormation template. Needs ../shared (or SLO_SCOUT_SHARED_DIR) and cfn-lint
 * on PATH; either missing fails the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { renderKnative } from '../../deploy/knative.js';
import { buildApp } from '../../infra/app.js';
import { bundleLambda } from '../../infra/bundle.js';
import {
  EXTERNAL_VALUES,
  helm,
  parseManifests,
  ROOT,
  SEED_COMMANDS,
  SNIPPET_VALUES,
  type Manifest,
} from '../deploy/helm.js';

const SHARED = resolve(process.env['SLO_SCOUT_SHARED_DIR'] ?? join(ROOT, '..', 'shared'));
const SCHEMAS = join(SHARED, 'k8s-schemas');
if (!existsSync(join(SCHEMAS, 'k8s-v1.34.0')))
  throw new Error(
    `Kubernetes schemas not found at ${SCHEMAS}: put the shared folder beside the repo or set SLO_SCOUT_SHARED_DIR`,
  );

type Schema = Record<string, unknown>;
/** ObjectMeta as the Kubernetes schemas define it (the KafkaSource CRD schema $refs a file that is not shipped). */
const OBJECT_META = (
  JSON.parse(readFileSync(join(SCHEMAS, 'k8s-v1.34.0', 'configmap-v1.json'), 'utf8')) as {
    properties: { metadata: Schema };
  }
).properties.metadata;

/** CRD schemas allow unknown fields unless told otherwise; the API server prunes them. Make them strict. */
function strictify(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(strictify);
  if (s === null || typeof s !== 'object') return s;
  if (typeof (s as Schema)['$ref'] === 'string' && String((s as Schema)['$ref']).includes('objectmeta'))
    return OBJECT_META;
  const o: Schema = {};
  for (const [k, v] of Object.entries(s))
    o[k] = k === 'enum' || k === 'default' || k === 'example' ? v : strictify(v);
  if (
    o['properties'] &&
    o['additionalProperties'] === undefined &&
    o['x-kubernetes-preserve-unknown-fields'] !== true
  )
    o['additionalProperties'] = false;
  return o;
}

/** Go's RE2 patterns in CRDs may carry (?i); JavaScript spells that as the i flag. */
const re2 = (pattern: string, flags: string): RegExp =>
  pattern.includes('(?i)')
    ? new RegExp(pattern.replaceAll('(?i)', ''), flags + 'i')
    : new RegExp(pattern, flags);
re2.code = 'RegExp';
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true, code: { regExp: re2 } });
const addFormats = addFormatsModule as unknown as (a: Ajv) => void;
addFormats(ajv);
ajv.addFormat('int32', {
  type: 'number',
  validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31,
});
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
ajv.addKeyword({ keyword: 'x-kubernetes-int-or-string' });

const cache = new Map<string, ValidateFunction>();
function schemaPath(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const k = kind.toLowerCase();
  if (group === '' || group!.endsWith('.k8s.io') || !group!.includes('.')) {
    const g = group === '' ? '' : `-${group!.split('.')[0]}`;
    return join(SCHEMAS, 'k8s-v1.34.0', `${k}${g}-${version}.json`);
  }
  return join(SCHEMAS, 'crds', group!, `${k}_${version}.json`);
}
function validatorFor(m: Manifest): ValidateFunction {
  const p = schemaPath(m.apiVersion, m.kind);
  let v = cache.get(p);
  if (!v) {
    if (!existsSync(p)) throw new Error(`unknown kind ${m.apiVersion} ${m.kind}: no schema at ${p}`);
    const raw = JSON.parse(readFileSync(p, 'utf8')) as Schema;
    v = ajv.compile(p.includes('/crds/') ? (strictify(raw) as Schema) : raw);
    cache.set(p, v);
  }
  return v;
}
function validate(ms: Manifest[]): string[] {
  const errors: string[] = [];
  for (const m of ms) {
    const v = validatorFor(m);
    const ok = v(m as unknown);
    if (!ok)
      errors.push(
        `${m.kind}/${m.metadata.name}: ${ajv.errorsText(v.errors?.slice(0, 5), { separator: '; ' })} ${JSON.stringify(v.errors?.slice(0, 2).map((e) => e.params))}`,
      );
  }
  return errors;
}

const template = (args: string[]) =>
  parseManifests(helm(['template', 'slo-scout', './slo-scout', '--namespace', 'slo-scout', ...args]));
const VARIANTS: Record<string, () => Manifest[]> = {
  'values.yaml (production defaults)': () => template([]),
  'values-dev.yaml': () => template(['-f', 'slo-scout/values-dev.yaml']),
  'values-staging.yaml': () => template(['-f', 'slo-scout/values-staging.yaml']),
  'values-production.yaml': () => template(['-f', 'slo-scout/values-production.yaml']),
  'external dependencies + external-secrets': () => template(['-f', EXTERNAL_VALUES]),
  'seed snippets (tuning, debug, monitoring, network policy)': () => template(['-f', SNIPPET_VALUES]),
  'knative disabled': () => template(['--set', 'knative.enabled=false']),
  'vault external-secrets': () =>
    template(['--set', 'externalSecrets.enabled=true', '--set', 'externalSecrets.backend=vault']),
  ...Object.fromEntries(
    Object.entries(SEED_COMMANDS).map(([name, args]) => [
      `seed command: ${name}`,
      () => parseManifests(helm(['template', ...args.slice(1)])),
    ]),
  ),
  'knative/ (rendered from the registry)': () => [...renderKnative().values()].flatMap(parseManifests),
};

const counts: Record<string, number> = {};
afterAll(() => console.log('validated manifests per variant:', JSON.stringify(counts, null, 2)));

describe('rendered manifests validate against strict Kubernetes 1.34 and CRD schemas', () => {
  for (const [name, render] of Object.entries(VARIANTS))
    it(name, () => {
      const ms = render();
      counts[name] = ms.length;
      expect(ms.length).toBeGreaterThan(0);
      expect(validate(ms)).toEqual([]);
    });
  it('the validator rejects unknown fields, unknown kinds and wrong types', () => {
    const good = template([]).find((m) => m.kind === 'KafkaSource')!;
    const bad = { ...good, spec: { ...(good['spec'] as object), bogus: true } } as Manifest;
    expect(validate([bad]).join()).toMatch(/additional properties/);
    const ksvc = template([]).find((m) => m.apiVersion === 'serving.knative.dev/v1')!;
    const spec = ksvc['spec'] as { template: { spec: Record<string, unknown> } };
    const badSvc = {
      ...ksvc,
      spec: { template: { ...spec.template, spec: { ...spec.template.spec, hostPort: 1 } } },
    };
    expect(validate([badSvc as Manifest]).join()).toMatch(/additional properties/);
    const dep = template([]).find((m) => m.kind === 'Deployment')!;
    expect(
      validate([{ ...dep, spec: { ...(dep['spec'] as object), replicas: 'three' } } as Manifest]).length,
    ).toBe(1);
    expect(() =>
      validate([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } }]),
    ).toThrow(/unknown kind/);
  });
});

describe('CloudFormation', () => {
  it('cfn-lint finds no errors in the synthesized template', () => {
    const which = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
    if (which.status !== 0) throw new Error('cfn-lint is not installed: pip install cfn-lint');
    const dir = mkdtempSync(join(tmpdir(), 'slo-scout-cfn-'));
    try {
      const { app } = buildApp(new App({ outdir: join(dir, 'cdk.out') }), bundleLambda(join(dir, 'bundle')));
      app.synth();
      const tpl = join(dir, 'cdk.out', 'SloScout.template.json');
      // W3005 (redundant DependsOn) and W3045 (AccessControl on the log bucket) come from aws-cdk-lib's own L2 output.
      const r = spawnSync('cfn-lint', ['--ignore-checks', 'W3005', 'W3045', '--', tpl], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
