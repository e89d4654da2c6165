/**
 * Deploy target "kubernetes": PrometheusRule objects (prometheus-operator CRD monitoring.coreos.com/v1) created or
 * replaced through the Kubernetes API, optionally as a server-side dry run (`?dryRun=All`: the API server validates
 * and runs admission, then stores nothing). Plain JSON over HTTPS with a bearer token; no Kubernetes client library.
 *
 * The rules come from the set's `kubernetes/*.prometheusrule.yaml` files, or, when the set has none, from its plain
 * `prometheus/<service>.rules.yaml` files wrapped as PrometheusRule objects named `slo-scout-<service>`.
 */
import { parse as parseYaml } from 'yaml';
import type { ArtifactSet } from '../../events/schemas.js';
import { prometheusRule, type RuleFile } from '../../core/generate/index.js';
import { err, ok, type Result } from '../../core/result.js';
import { apiMessage, callJson, type HttpTarget } from './http.js';

export interface KubernetesTarget extends HttpTarget {
  readonly namespace: string;
}

export interface ObjectReport {
  readonly kind: string;
  readonly name: string;
  readonly action: 'created' | 'replaced';
  readonly dryRun: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The PrometheusRule objects an artifact set deploys, in the target namespace. */
export function prometheusRuleObjects(set: ArtifactSet, namespace: string): Result<Obj[], string> {
  const out: Obj[] = [];
  const problems: string[] = [];
  const crs = set.files.filter((f) => /^kubernetes\/.*\.prometheusrule\.ya?ml$/.test(f.path));
  const sources = crs.length ? crs : set.files.filter((f) => /^prometheus\/.*\.rules\.ya?ml$/.test(f.path));
  for (const f of sources) {
    let doc: unknown;
    try {
      doc = parseYaml(f.content);
    } catch (e) {
      problems.push(`${f.path}: not YAML: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    let obj: Obj;
    if (crs.length) {
      if (!isObj(doc) || doc.kind !== 'PrometheusRule' || !isObj(doc.metadata)) {
        problems.push(`${f.path}: not a PrometheusRule`);
        continue;
      }
      obj = { ...doc, metadata: { ...doc.metadata, namespace } };
    } else {
      if (!isObj(doc) || !Array.isArray(doc.groups)) {
        problems.push(`${f.path}: no rule groups`);
        continue;
      }
      const svc = f.path.replace(/^prometheus\//, '').replace(/\.rules\.ya?ml$/, '');
      obj = prometheusRule(doc as unknown as RuleFile, {
        name: `slo-scout-${svc.replace(/[^a-z0-9.-]+/g, '-')}`,
        namespace,
      }) as unknown as Obj;
    }
    const name = String((obj.metadata as Obj).name ?? '');
    if (!NAME_RE.test(name) || name.length > 253)
      problems.push(`${f.path}: "${name}" is not a valid object name`);
    else out.push(obj);
  }
  if (problems.length) return err(problems.join('; '));
  if (!out.length) return err(`artifact set ${set.id} has no Prometheus rules to deploy`);
  return ok(out);
}

const collection = (ns: string) =>
  `/apis/monitoring.coreos.com/v1/namespaces/${encodeURIComponent(ns)}/prometheusrules`;

/** Creates or replaces every PrometheusRule of the set; `dryRun` asks the API server to validate without storing. */
export async function deployPrometheusRules(
  set: ArtifactSet,
  target: KubernetesTarget,
  opts: { readonly dryRun?: boolean } = {},
): Promise<Result<ObjectReport[], string>> {
  const objs = prometheusRuleObjects(set, target.namespace);
  if (!objs.ok) return objs;
  const q = opts.dryRun ? '?dryRun=All' : '';
  const reports: ObjectReport[] = [];
  const failures: string[] = [];
  for (const o of objs.value) {
    const name = String((o.metadata as Obj).name);
    const item = `${collection(target.namespace)}/${encodeURIComponent(name)}`;
    const cur = await callJson(target, 'GET', item);
    if (!cur.ok) return cur; // unreachable API server: nothing else will work either
    let res;
    let action: ObjectReport['action'];
    if (cur.value.status === 404) {
      action = 'created';
      res = await callJson(target, 'POST', `${collection(target.namespace)}${q}`, o);
    } else if (cur.value.status === 200 && isObj(cur.value.body) && isObj(cur.value.body.metadata)) {
      action = 'replaced';
      const rv = cur.value.body.metadata.resourceVersion;
      res = await callJson(target, 'PUT', `${item}${q}`, {
        ...o,
        metadata: { ...(o.metadata as Obj), ...(typeof rv === 'string' ? { resourceVersion: rv } : {}) },
      });
    } else {
      failures.push(`GET PrometheusRule ${name}: HTTP ${cur.value.status}: ${apiMessage(cur.value)}`);
      continue;
    }
    if (!res.ok) return res;
    if (res.value.status === 200 || res.value.status === 201)
      reports.push({ kind: 'PrometheusRule', name, action, dryRun: !!opts.dryRun });
    else
      failures.push(
        `${action === 'created' ? 'POST' : 'PUT'} PrometheusRule ${name}: HTTP ${res.value.status}: ${apiMessage(res.value)}`,
      );
  }
  return failures.length ? err(failures.join('; ')) : ok(reports);
}
