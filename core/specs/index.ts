/**
 * SLO spec import and export, pure: text in, SpecDocuments out (and back). Formats: Sloth prometheus/v1, Sloth's
 * Kubernetes PrometheusServiceLevel, OpenSLO v1alpha and OpenSLO v1 (import); OpenSLO v1 and Sloth prometheus/v1
 * (export). A file may hold several YAML documents; each is detected by its version / apiVersion and kind.
 */
import { parseAllDocuments, stringify } from 'yaml';
import { err, ok, type Result } from '../result.js';
import { OPENSLO_V1, OPENSLO_V1ALPHA, readOpenSloV1, readOpenSloV1alpha, toOpenSloV1 } from './openslo.js';
import { isObj, readSloth, SLOTH_K8S_KIND, SLOTH_PROM_VERSION, toSlothSpec, type Obj } from './sloth.js';
import type { SpecDocument, SpecSlo } from './types.js';

export * from './types.js';
export { goodTotalErrorRatio, SLOTH_K8S_API_VERSION, SLOTH_K8S_KIND, SLOTH_PROM_VERSION } from './sloth.js';
export { OPENSLO_V1, OPENSLO_V1ALPHA } from './openslo.js';
export * from './validate.js';

/** Parses YAML documents with the failsafe schema: scalars stay strings exactly as written. */
export function parseYamlDocuments(text: string): Result<Obj[], string> {
  const docs = parseAllDocuments(text, { schema: 'failsafe' });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: Obj[] = [];
  for (const d of list) {
    if (d.errors.length) return err(`not valid YAML: ${d.errors[0]!.message.split('\n')[0]}`);
    const v: unknown = d.toJS();
    if (v === null || v === undefined || v === '') continue;
    if (!isObj(v)) return err('every YAML document must be a mapping');
    out.push(v);
  }
  return ok(out);
}

/** Reads every spec document of one input text. */
export function parseSpecs(text: string): Result<SpecDocument[], string> {
  const parsed = parseYamlDocuments(text);
  if (!parsed.ok) return parsed;
  if (!parsed.value.length) return err('no spec documents found');
  const out: SpecDocument[] = [];
  const v1: Obj[] = [];
  for (const [i, d] of parsed.value.entries()) {
    const where = parsed.value.length > 1 ? `document ${i + 1}: ` : '';
    let r: Result<SpecDocument, string>;
    if (d.kind === SLOTH_K8S_KIND || d.version !== undefined) r = readSloth(d);
    else if (d.apiVersion === OPENSLO_V1ALPHA) r = readOpenSloV1alpha(d);
    else if (d.apiVersion === OPENSLO_V1) {
      v1.push(d);
      continue;
    } else
      r = err(
        `unknown spec (expected version: ${SLOTH_PROM_VERSION}, kind: ${SLOTH_K8S_KIND}, apiVersion: ${OPENSLO_V1ALPHA} or ${OPENSLO_V1})`,
      );
    if (!r.ok) return err(`${where}${r.error}`);
    out.push(r.value);
  }
  if (v1.length) {
    const r = readOpenSloV1(v1);
    if (!r.ok) return r;
    out.push(...r.value);
  }
  return ok(out);
}

export type ExportFormat = 'sloth' | 'openslo';

/** Exports SLOs as one YAML stream: a Sloth prometheus/v1 document per service, or an OpenSLO v1 SLO per SLO. */
export function exportSpecs(slos: readonly SpecSlo[], format: ExportFormat): Result<string, string> {
  const plugin = slos.find((s) => s.sli.kind === 'plugin');
  if (plugin) return err(`SLO ${plugin.id}: SLI plugins cannot be exported`);
  const docs: Obj[] = [];
  if (format === 'openslo') for (const s of slos) docs.push(toOpenSloV1(s));
  else {
    const byService = new Map<string, SpecSlo[]>();
    for (const s of slos) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
    for (const [svc, list] of byService) docs.push(toSlothSpec(svc, list));
  }
  return ok(docs.map((d) => `---\n${stringify(d, { lineWidth: 0 })}`).join(''));
}
export { specsToRecommendations } from './recommendations.js';
