/**
 * Sloth specs: `prometheus/v1` (snake_case keys) and the Kubernetes `sloth.slok.dev/v1` PrometheusServiceLevel
 * (camelCase keys), both read from data parsed with YAML's failsafe schema (every scalar a string, exactly as
 * written, which is how Sloth's string maps see label values). Unknown keys are ignored, as Sloth's loader does.
 */
import { err, ok, type Result } from '../result.js';
import type { SpecAlert, SpecDocument, SpecPlugin, SpecSli, SpecSlo } from './types.js';

export const SLOTH_PROM_VERSION = 'prometheus/v1';
export const SLOTH_K8S_API_VERSION = 'sloth.slok.dev/v1';
export const SLOTH_K8S_KIND = 'PrometheusServiceLevel';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);

export function strMap(v: unknown, where: string, problems: string[]): Record<string, string> {
  if (v === undefined || v === null || v === '') return {};
  if (!isObj(v)) {
    problems.push(`${where} must be a map of strings`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (isObj(x) || Array.isArray(x)) problems.push(`${where}.${k} must be a scalar`);
    else out[k] = str(x);
  }
  return out;
}

export function num(v: unknown, where: string, problems: string[]): number {
  const s = str(v).trim();
  const n = s === '' ? NaN : Number(s);
  if (!Number.isFinite(n)) problems.push(`${where} must be a number, got "${s}"`);
  return n;
}

const bool = (v: unknown) => str(v).toLowerCase() === 'true';

/** Picks the first present key among camelCase and snake_case spellings. */
const pick = (o: Obj, ...keys: string[]): unknown => {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
};

function plugins(v: unknown, where: string, problems: string[]): { chain: SpecPlugin[]; override: boolean } {
  if (v === undefined || v === null || v === '') return { chain: [], override: false };
  if (!isObj(v)) {
    problems.push(`${where} must be an object`);
    return { chain: [], override: false };
  }
  const chain: SpecPlugin[] = [];
  const raw = v.chain;
  if (raw !== undefined && !Array.isArray(raw)) problems.push(`${where}.chain must be a list`);
  for (const [i, p] of (Array.isArray(raw) ? raw : []).entries()) {
    if (!isObj(p) || !str(p.id)) {
      problems.push(`${where}.chain[${i}] needs an id`);
      continue;
    }
    chain.push({
      id: str(p.id),
      priority: p.priority === undefined ? 0 : num(p.priority, `${where}.chain[${i}].priority`, problems),
      config: p.config ?? null,
    });
  }
  return { chain, override: bool(pick(v, 'overridePrevious', 'override_previous')) };
}

function alert(v: unknown, where: string, problems: string[]): SpecAlert {
  if (v === undefined || v === null || v === '') return { disable: false, labels: {}, annotations: {} };
  if (!isObj(v)) {
    problems.push(`${where} must be an object`);
    return { disable: false, labels: {}, annotations: {} };
  }
  return {
    disable: bool(v.disable),
    labels: strMap(v.labels, `${where}.labels`, problems),
    annotations: strMap(v.annotations, `${where}.annotations`, problems),
  };
}

function sli(v: unknown, k8s: boolean, where: string, problems: string[]): SpecSli {
  const o = isObj(v) ? v : {};
  const events = o.events;
  const raw = o.raw;
  const plugin = o.plugin;
  const set = [events, raw, plugin].filter((x) => x !== undefined && x !== null).length;
  if (set !== 1) problems.push(`${where}: exactly one of events, raw or plugin is required`);
  if (isObj(events))
    return {
      kind: 'events',
      errorQuery: str(k8s ? events.errorQuery : pick(events, 'error_query', 'errorQuery')),
      totalQuery: str(k8s ? events.totalQuery : pick(events, 'total_query', 'totalQuery')),
    };
  if (isObj(raw))
    return {
      kind: 'raw',
      errorRatioQuery: str(k8s ? raw.errorRatioQuery : pick(raw, 'error_ratio_query', 'errorRatioQuery')),
    };
  if (isObj(plugin))
    return {
      kind: 'plugin',
      id: str(plugin.id),
      options: strMap(plugin.options, `${where}.plugin.options`, problems),
    };
  return { kind: 'raw', errorRatioQuery: '' };
}

/** Reads a Sloth prometheus/v1 document or a PrometheusServiceLevel object. */
export function readSloth(doc: Obj): Result<SpecDocument, string> {
  const problems: string[] = [];
  const k8s = doc.kind === SLOTH_K8S_KIND;
  let spec: Obj;
  let k8sMeta: SpecDocument['k8s'];
  if (k8s) {
    if (str(doc.apiVersion) !== SLOTH_K8S_API_VERSION)
      return err(`unsupported PrometheusServiceLevel apiVersion "${str(doc.apiVersion)}"`);
    const meta = isObj(doc.metadata) ? doc.metadata : {};
    spec = isObj(doc.spec) ? doc.spec : {};
    k8sMeta = {
      name: str(meta.name),
      ...(str(meta.namespace) ? { namespace: str(meta.namespace) } : {}),
      labels: strMap(meta.labels, 'metadata.labels', problems),
      annotations: strMap(meta.annotations, 'metadata.annotations', problems),
    };
    if (!k8sMeta.name) problems.push('metadata.name is required');
  } else {
    if (str(doc.version) !== SLOTH_PROM_VERSION)
      return err(`unsupported Sloth spec version "${str(doc.version)}" (expected ${SLOTH_PROM_VERSION})`);
    spec = doc;
  }
  const service = str(spec.service);
  const globalLabels = strMap(spec.labels, 'labels', problems);
  const svcPlugins = plugins(pick(spec, k8s ? 'sloPlugins' : 'slo_plugins'), 'slo_plugins', problems);
  const rawSlos = spec.slos;
  if (!Array.isArray(rawSlos) || rawSlos.length === 0) problems.push('at least one SLO is required');
  const slos: SpecSlo[] = [];
  for (const [i, s] of (Array.isArray(rawSlos) ? rawSlos : []).entries()) {
    const where = `slos[${i}]`;
    if (!isObj(s)) {
      problems.push(`${where} must be an object`);
      continue;
    }
    const name = str(s.name);
    const al = isObj(s.alerting) ? s.alerting : {};
    const p = plugins(s.plugins, `${where}.plugins`, problems);
    const tw = str(pick(s, k8s ? 'timeWindow' : 'time_window'));
    slos.push({
      id: `${service}-${name}`,
      name,
      service,
      description: str(s.description),
      objective: num(s.objective, `${where}.objective`, problems),
      ...(tw ? { timeWindow: tw } : {}),
      labels: { ...globalLabels, ...strMap(s.labels, `${where}.labels`, problems) },
      sli: sli(s.sli, k8s, `${where}.sli`, problems),
      alerting: {
        name: str(al.name),
        labels: strMap(al.labels, `${where}.alerting.labels`, problems),
        annotations: strMap(al.annotations, `${where}.alerting.annotations`, problems),
        page: alert(k8s ? al.pageAlert : al.page_alert, `${where}.alerting.page_alert`, problems),
        ticket: alert(k8s ? al.ticketAlert : al.ticket_alert, `${where}.alerting.ticket_alert`, problems),
      },
      plugins: p.chain,
    });
  }
  if (problems.length) return err(problems.join('; '));
  return ok({
    format: k8s ? 'sloth-k8s-v1' : 'sloth-prometheus-v1',
    specVersion: k8s ? SLOTH_K8S_API_VERSION : SLOTH_PROM_VERSION,
    service,
    slos,
    plugins: svcPlugins.chain,
    overridePreviousPlugins: svcPlugins.override,
    ...(k8sMeta ? { k8s: k8sMeta } : {}),
  });
}

const nonEmpty = <T extends object>(o: T) => Object.keys(o).length > 0;

function alertOut(a: SpecAlert): Obj | undefined {
  const o: Obj = {};
  if (a.disable) o.disable = true;
  if (nonEmpty(a.labels)) o.labels = { ...a.labels };
  if (nonEmpty(a.annotations)) o.annotations = { ...a.annotations };
  return nonEmpty(o) ? o : undefined;
}

/** Writes one service's SLOs as a Sloth prometheus/v1 document (labels common to every SLO become global). */
export function toSlothSpec(service: string, slos: readonly SpecSlo[]): Obj {
  const common: Record<string, string> = {};
  const first = slos[0]?.labels ?? {};
  for (const [k, v] of Object.entries(first)) if (slos.every((s) => s.labels[k] === v)) common[k] = v;
  return {
    version: SLOTH_PROM_VERSION,
    service,
    ...(nonEmpty(common) ? { labels: common } : {}),
    slos: slos.map((s) => {
      const own = Object.fromEntries(Object.entries(s.labels).filter(([k]) => !(k in common)));
      const sliOut: Obj =
        s.sli.kind === 'events'
          ? { events: { error_query: s.sli.errorQuery, total_query: s.sli.totalQuery } }
          : s.sli.kind === 'raw'
            ? { raw: { error_ratio_query: s.sli.errorRatioQuery } }
            : s.sli.kind === 'good-total'
              ? { raw: { error_ratio_query: goodTotalErrorRatio(s.sli.goodQuery, s.sli.totalQuery) } }
              : { plugin: { id: s.sli.id, options: { ...s.sli.options } } };
      const alerting: Obj = {};
      if (s.alerting.name) alerting.name = s.alerting.name;
      if (nonEmpty(s.alerting.labels)) alerting.labels = { ...s.alerting.labels };
      if (nonEmpty(s.alerting.annotations)) alerting.annotations = { ...s.alerting.annotations };
      const page = alertOut(s.alerting.page);
      const ticket = alertOut(s.alerting.ticket);
      if (page) alerting.page_alert = page;
      if (ticket) alerting.ticket_alert = ticket;
      return {
        name: s.name,
        objective: s.objective,
        ...(s.description ? { description: s.description } : {}),
        ...(s.timeWindow ? { time_window: s.timeWindow } : {}),
        ...(nonEmpty(own) ? { labels: own } : {}),
        sli: sliOut,
        ...(nonEmpty(alerting) ? { alerting } : {}),
        ...(s.plugins.length
          ? {
              plugins: {
                chain: s.plugins.map((p) => ({ id: p.id, priority: p.priority, config: p.config })),
              },
            }
          : {}),
      };
    }),
  };
}

/** The error-ratio query Sloth derives from an OpenSLO good/total ratio. */
export function goodTotalErrorRatio(good: string, total: string): string {
  return `\n  1 - (\n    (\n      ${good}\n    )\n    /\n    (\n      ${total}\n    )\n  )\n`;
}
