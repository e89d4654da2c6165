/**
 * OpenSLO import (v1alpha and v1) and export (v1). Only what Prometheus can evaluate maps onto SpecSlo: ratio
 * metrics whose queries are PromQL (good/total, bad/total, or a raw ratio). Each objective of an OpenSLO SLO
 * becomes one SpecSlo named `<slo>-<index>` (Sloth's convention), except when the SLO has one objective and came
 * from v1 with a `slo-scout/name` annotation, which keeps the original name so export/import round-trips.
 */
import { err, ok, type Result } from '../result.js';
import { goodTotalErrorRatio, isObj, num, str, strMap, type Obj } from './sloth.js';
import type { SpecDocument, SpecSli, SpecSlo } from './types.js';

export const OPENSLO_V1ALPHA = 'openslo/v1alpha';
export const OPENSLO_V1 = 'openslo/v1';

const UNIT_DAYS: Record<string, number> = { day: 1, week: 7, month: 30, quarter: 90, year: 365 };
const disabled = { disable: true, labels: {}, annotations: {} };

/** OpenSLO alert policies do not map onto Prometheus rules: SLOs from OpenSLO get no alerts (as in Sloth). */
function noAlerting(): SpecSlo['alerting'] {
  return { name: '', labels: {}, annotations: {}, page: disabled, ticket: disabled };
}

/** Annotation carrying Sloth alerting settings through OpenSLO, so export/import round-trips. */
export const ALERTING_ANNOTATION = 'slo-scout/sloth-alerting';

function alertingFrom(
  annotation: string | undefined,
  where: string,
  problems: string[],
): SpecSlo['alerting'] {
  if (!annotation) return noAlerting();
  try {
    const v = JSON.parse(annotation) as SpecSlo['alerting'];
    if (!isObj(v) || typeof v.name !== 'string' || !isObj(v.page) || !isObj(v.ticket))
      throw new Error('bad shape');
    return v;
  } catch {
    problems.push(`${where}: annotation ${ALERTING_ANNOTATION} is not valid alerting JSON`);
    return noAlerting();
  }
}

/** Reads an OpenSLO v1alpha SLO (what Sloth supports: Occurrences ratio metrics over a 30-day window). */
export function readOpenSloV1alpha(doc: Obj): Result<SpecDocument, string> {
  const problems: string[] = [];
  if (doc.kind !== 'SLO') return err(`OpenSLO v1alpha kind "${str(doc.kind)}" is not supported (only SLO)`);
  const meta = isObj(doc.metadata) ? doc.metadata : {};
  const spec = isObj(doc.spec) ? doc.spec : {};
  const service = str(spec.service);
  const name = str(meta.name);
  if (!name) problems.push('metadata.name is required');
  const tws = Array.isArray(spec.timeWindows) ? spec.timeWindows : [];
  if (tws.length !== 1 || !isObj(tws[0])) problems.push('exactly one time window is required');
  const tw = isObj(tws[0]) ? tws[0] : {};
  const count = num(tw.count, 'timeWindows[0].count', problems);
  const unit = str(tw.unit).toLowerCase();
  // Sloth reads OpenSLO v1alpha time windows only as 30 days.
  if (unit !== 'day' || count !== 30)
    problems.push(`only 30 day time windows are supported, got ${str(tw.count)} ${str(tw.unit)}`);
  const objectives = Array.isArray(spec.objectives) ? spec.objectives : [];
  if (!objectives.length) problems.push('at least one objective is required');
  const slos: SpecSlo[] = [];
  objectives.forEach((o, i) => {
    const where = `objectives[${i}]`;
    const rm = isObj(o) && isObj(o.ratioMetrics) ? o.ratioMetrics : undefined;
    if (!isObj(o) || !rm) {
      problems.push(`${where}: only ratioMetrics are supported`);
      return;
    }
    const q = (x: unknown, w: string) => {
      if (!isObj(x) || !str(x.query)) problems.push(`${where}.ratioMetrics.${w}.query is required`);
      else if (str(x.queryType) && str(x.queryType) !== 'promql')
        problems.push(`${where}.ratioMetrics.${w}: queryType must be promql`);
      return isObj(x) ? str(x.query) : '';
    };
    const good = q(rm.good, 'good');
    const total = q(rm.total, 'total');
    const target = num(o.target, `${where}.target`, problems);
    slos.push({
      id: `${service}-${name}-${i}`,
      name: `${name}-${i}`,
      service,
      description: str(spec.description),
      objective: target * 100,
      timeWindow: `${count}d`,
      labels: {},
      sli: { kind: 'good-total', goodQuery: good, totalQuery: total },
      alerting: noAlerting(),
      plugins: [],
      ...(str(meta.displayName) ? { displayName: str(meta.displayName) } : {}),
      ...(str(spec.budgetingMethod) ? { budgetingMethod: str(spec.budgetingMethod) } : {}),
    });
  });
  if (problems.length) return err(problems.join('; '));
  return ok({
    format: 'openslo-v1alpha',
    specVersion: OPENSLO_V1ALPHA,
    service,
    slos,
    plugins: [],
    overridePreviousPlugins: false,
  });
}

function metricQuery(m: unknown, where: string, problems: string[]): string {
  const ms = isObj(m) && isObj(m.metricSource) ? m.metricSource : undefined;
  const spec = ms && isObj(ms.spec) ? ms.spec : undefined;
  const type = ms ? str(ms.type) : '';
  if (type && type.toLowerCase() !== 'prometheus') {
    problems.push(`${where}: metric source type ${type} is not Prometheus`);
    return '';
  }
  const q = spec ? str(spec.query ?? spec.promql) : '';
  if (!q) problems.push(`${where}.metricSource.spec.query is required`);
  return q;
}

function v1Sli(indicatorSpec: unknown, where: string, problems: string[]): SpecSli {
  const spec = isObj(indicatorSpec) ? indicatorSpec : {};
  const rm = isObj(spec.ratioMetric) ? spec.ratioMetric : undefined;
  if (!rm) {
    problems.push(`${where}: only ratioMetric indicators can be evaluated by Prometheus`);
    return { kind: 'raw', errorRatioQuery: '' };
  }
  if (rm.raw !== undefined) {
    const q = metricQuery(rm.raw, `${where}.ratioMetric.raw`, problems);
    const failure = str(rm.rawType) === 'failure';
    return { kind: 'raw', errorRatioQuery: failure ? q : `1 - (${q})` };
  }
  const total = metricQuery(rm.total, `${where}.ratioMetric.total`, problems);
  if (rm.bad !== undefined)
    return {
      kind: 'events',
      errorQuery: metricQuery(rm.bad, `${where}.ratioMetric.bad`, problems),
      totalQuery: total,
    };
  return {
    kind: 'good-total',
    goodQuery: metricQuery(rm.good, `${where}.ratioMetric.good`, problems),
    totalQuery: total,
  };
}

/**
 * Reads the OpenSLO v1 documents of one input (SLOs, plus the SLI objects they reference by indicatorRef). Returns
 * one SpecDocument per SLO object.
 */
export function readOpenSloV1(docs: readonly Obj[]): Result<SpecDocument[], string> {
  const problems: string[] = [];
  const slis = new Map<string, Obj>();
  for (const d of docs) if (d.kind === 'SLI' && isObj(d.metadata)) slis.set(str(d.metadata.name), d);
  const out: SpecDocument[] = [];
  for (const d of docs) {
    if (d.kind !== 'SLO') continue;
    const meta = isObj(d.metadata) ? d.metadata : {};
    const spec = isObj(d.spec) ? d.spec : {};
    const name = str(meta.name);
    const where = `SLO ${name || '?'}`;
    const service = str(spec.service);
    let indicator: unknown;
    if (isObj(spec.indicator)) indicator = spec.indicator.spec;
    else if (str(spec.indicatorRef)) {
      const ref = slis.get(str(spec.indicatorRef));
      if (!ref) problems.push(`${where}: indicatorRef ${str(spec.indicatorRef)} names no SLI in the input`);
      indicator = ref?.spec;
    } else problems.push(`${where}: indicator or indicatorRef is required`);
    const sli = v1Sli(indicator, where, problems);
    const tws = Array.isArray(spec.timeWindow) ? spec.timeWindow : [];
    let timeWindow: string | undefined;
    const tw = tws[0];
    if (isObj(tw)) {
      if (str(tw.duration)) {
        const m = /^(\d+)([mhdwMQY])$/.exec(str(tw.duration));
        if (!m) problems.push(`${where}: timeWindow duration ${str(tw.duration)} is not supported`);
        else {
          const unit = m[2]!;
          const days = { M: 30, Q: 90, Y: 365 }[unit as 'M' | 'Q' | 'Y'];
          timeWindow = days ? `${Number(m[1]) * days}d` : `${m[1]}${unit}`;
        }
      } else if (tw.count !== undefined) {
        const d = UNIT_DAYS[str(tw.unit).toLowerCase()];
        if (!d) problems.push(`${where}: time window unit ${str(tw.unit)} is not supported`);
        else timeWindow = `${num(tw.count, `${where}.timeWindow.count`, problems) * d}d`;
      }
    }
    const annotations = strMap(meta.annotations, `${where}.metadata.annotations`, problems);
    const labels = strMap(meta.labels, `${where}.metadata.labels`, problems);
    const objectives = Array.isArray(spec.objectives) ? spec.objectives : [];
    if (!objectives.length) problems.push(`${where}: at least one objective is required`);
    const keepName = objectives.length === 1 && annotations['slo-scout/name'];
    const slos: SpecSlo[] = objectives.map((o, i) => {
      const ob = isObj(o) ? o : {};
      const sloName = keepName ? annotations['slo-scout/name']! : `${name}-${i}`;
      const target = num(ob.target ?? ob.targetPercent, `${where}.objectives[${i}].target`, problems);
      return {
        id: `${service}-${sloName}`,
        name: sloName,
        service,
        description: str(spec.description),
        objective: ob.targetPercent !== undefined ? target : Math.round(target * 100 * 1e9) / 1e9,
        ...(timeWindow ? { timeWindow } : {}),
        labels,
        sli,
        alerting: alertingFrom(annotations[ALERTING_ANNOTATION], where, problems),
        plugins: [],
        ...(str(meta.displayName) ? { displayName: str(meta.displayName) } : {}),
        ...(str(spec.budgetingMethod) ? { budgetingMethod: str(spec.budgetingMethod) } : {}),
      };
    });
    out.push({
      format: 'openslo-v1',
      specVersion: OPENSLO_V1,
      service,
      slos,
      plugins: [],
      overridePreviousPlugins: false,
    });
  }
  if (problems.length) return err(problems.join('; '));
  if (!out.length) return err('no OpenSLO v1 SLO objects found');
  return ok(out);
}

const metric = (query: string) => ({ metricSource: { type: 'Prometheus', spec: { query } } });

/** Exports one SpecSlo as an OpenSLO v1 SLO with an inline ratio indicator. */
export function toOpenSloV1(s: SpecSlo): Obj {
  const ratioMetric: Obj =
    s.sli.kind === 'events'
      ? { counter: true, bad: metric(s.sli.errorQuery), total: metric(s.sli.totalQuery) }
      : s.sli.kind === 'good-total'
        ? { counter: true, good: metric(s.sli.goodQuery), total: metric(s.sli.totalQuery) }
        : s.sli.kind === 'raw'
          ? { counter: false, rawType: 'failure', raw: metric(s.sli.errorRatioQuery) }
          : {};
  const annotations: Record<string, string> = { 'slo-scout/name': s.name };
  const a = s.alerting;
  if (a.name || !a.page.disable || !a.ticket.disable) annotations[ALERTING_ANNOTATION] = JSON.stringify(a);
  const metaName = s.id
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return {
    apiVersion: OPENSLO_V1,
    kind: 'SLO',
    metadata: {
      name: metaName,
      ...(s.displayName ? { displayName: s.displayName } : {}),
      ...(Object.keys(s.labels).length ? { labels: { ...s.labels } } : {}),
      annotations,
    },
    spec: {
      ...(s.description ? { description: s.description } : {}),
      service: s.service,
      indicator: { metadata: { name: `${metaName}-sli` }, spec: { ratioMetric } },
      timeWindow: [{ duration: s.timeWindow ?? '30d', isRolling: true }],
      budgetingMethod: s.budgetingMethod ?? 'Occurrences',
      objectives: [{ displayName: s.name, target: Math.round(s.objective * 1e7) / 1e9 }],
    },
  };
}

export { goodTotalErrorRatio };
