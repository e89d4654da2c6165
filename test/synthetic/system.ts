/**
 * Synthetic distributed systems with known ground truth, randomized by seed: ingress services with HTTP and gRPC
 * endpoints fanning out to internal-only services (depth up to 3), async consumers fed through a topic, health
 * checks / readiness probes / metric scrapes, a low-traffic endpoint, an endpoint with noisy 4xx (some with an ERROR
 * span status, as some instrumentations set), client cancellations (499 / gRPC CANCELLED), and one incident (a burst
 * of 5xx in one internal service that propagates to its callers). Spans are emitted per minute and per service,
 * children before parents, as SDK batch exporters send them.
 */
import type { StreamSpan } from '../../core/stream/spans.js';
import type { Attrs } from '../../core/otlp/model.js';
import { SpanKind, StatusCode } from '../../core/otlp/model.js';
import { rng } from '../../core/random.js';

export interface SyntheticOptions {
  readonly seed: number;
  readonly minutes?: number;
  readonly start?: Date;
}

export interface TruthJourney {
  readonly service: string;
  readonly entrypoint: string;
  readonly type: 'request' | 'consumer';
  readonly userFacing: boolean;
  readonly lowTraffic: boolean;
  /** Transitive downstream services. */
  readonly dependencyServices: readonly string[];
  /** Whether the incident's 5xx reach this journey. */
  readonly incident: boolean;
  readonly noisy4xx: boolean;
  readonly baseErrorRatio: number;
}

export interface GroundTruth {
  readonly start: Date;
  readonly minutes: number;
  readonly journeys: readonly TruthJourney[];
  /** Operations that must never be journeys (probes, scrapes). */
  readonly excluded: readonly { service: string; entrypoint: string }[];
  readonly incident: { readonly service: string; readonly startMinute: number; readonly endMinute: number };
}

interface Endpoint {
  service: string;
  op: string;
  proto: 'http' | 'grpc' | 'consumer';
  method?: string;
  route?: string;
  rpc?: { service: string; method: string };
  topic?: string;
  rpm: number;
  baseMs: number;
  errorRatio: number;
  calls: Endpoint[];
  publishes?: Endpoint;
  noisy4xx?: boolean;
  cancels?: boolean;
}

const NOUNS = [
  'orders',
  'users',
  'carts',
  'payments',
  'search',
  'reviews',
  'profiles',
  'invoices',
  'shipments',
];
const SVC = ['auth', 'ledger', 'pricing', 'stock', 'geo', 'mailer', 'risk', 'catalog', 'tax', 'rates'];

export interface SyntheticSystem {
  readonly truth: GroundTruth;
  /** Emits every span, minute by minute; `flush` marks the end of one (minute, service) export batch. */
  run(onSpan: (service: string, span: StreamSpan) => void, onBatchEnd?: (service: string) => void): void;
}

export function syntheticSystem(opts: SyntheticOptions): SyntheticSystem {
  const r = rng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const minutes = opts.minutes ?? 240;
  const start = opts.start ?? new Date(Date.UTC(2026, 2, 1, 0, 0));
  const names = [...SVC].sort(() => r() - 0.5);
  const nouns = [...NOUNS].sort(() => r() - 0.5);

  // internal services (1..3 endpoints each), layered so calls go to deeper layers only
  const internal: Endpoint[][] = [];
  const nInternal = 3 + Math.floor(r() * 3);
  for (let i = 0; i < nInternal; i++) {
    const svc = names[i]!;
    const grpc = r() < 0.4;
    const eps: Endpoint[] = [];
    for (let k = 0; k < 1 + Math.floor(r() * 2); k++) {
      const noun = nouns[(i + k) % nouns.length]!;
      if (grpc) {
        const rs = `${svc}.v1.${svc[0]!.toUpperCase()}${svc.slice(1)}Service`;
        const m = ['Get', 'Check', 'Reserve', 'Quote'][k]!;
        eps.push(ep(svc, `${rs}/${m}`, 'grpc', { rpc: { service: rs, method: m } }));
      } else {
        const method = k === 0 ? 'GET' : 'POST';
        const route = `/v1/${noun}/{id}`;
        eps.push(ep(svc, `${method} ${route}`, 'http', { method, route }));
      }
    }
    internal.push(eps);
  }
  function ep(service: string, op: string, proto: Endpoint['proto'], extra: Partial<Endpoint>): Endpoint {
    return {
      service,
      op,
      proto,
      rpm: 0,
      baseMs: 5 + r() * 60,
      errorRatio: 0.0001 + r() * 0.0003,
      calls: [],
      ...extra,
    };
  }
  // fan-out among internal layers
  for (let i = 0; i < internal.length; i++) {
    for (const e of internal[i]!) {
      for (let j = i + 1; j < internal.length; j++) {
        if (r() < 0.35) e.calls.push(pick(internal[j]!));
      }
    }
  }
  // async consumer service
  const topic = `${nouns[0]}-events`;
  const consumerSvc = `${names[nInternal]!}-worker`;
  const consumer = ep(consumerSvc, `process ${topic}`, 'consumer', { topic });
  if (r() < 0.7) consumer.calls.push(pick(internal[internal.length - 1]!));

  // ingress services
  const fronts: Endpoint[] = [];
  const nFront = 1 + Math.floor(r() * 2);
  for (let f = 0; f < nFront; f++) {
    const svc = f === 0 ? 'web' : 'mobile-bff';
    for (let k = 0; k < 2 + Math.floor(r() * 2); k++) {
      const noun = nouns[(f * 3 + k) % nouns.length]!;
      const method = k % 2 === 0 ? 'GET' : 'POST';
      const route = k % 2 === 0 ? `/api/${noun}/{id}` : `/api/${noun}`;
      const e = ep(svc, `${method} ${route}`, 'http', { method, route, rpm: 10 + Math.floor(r() * 25) });
      const fan = 1 + Math.floor(r() * 3);
      for (let c = 0; c < fan; c++) {
        const layer = internal[Math.floor(r() * Math.min(2, internal.length))]!;
        const t = pick(layer);
        if (!e.calls.includes(t)) e.calls.push(t);
      }
      fronts.push(e);
    }
  }
  fronts[0]!.publishes = consumer;
  fronts[fronts.length - 1]!.noisy4xx = true;
  fronts[0]!.cancels = true;
  // low traffic endpoint (about one request every 5 minutes), calling nothing new
  const low = ep('web', 'GET /api/admin/report', 'http', {
    method: 'GET',
    route: '/api/admin/report',
    rpm: 0.2,
  });
  fronts.push(low);

  // rates propagate
  const rate = new Map<Endpoint, number>();
  const addRate = (e: Endpoint, v: number) => {
    rate.set(e, (rate.get(e) ?? 0) + v);
    for (const c of e.calls) addRate(c, v);
    if (e.publishes) addRate(e.publishes, v);
  };
  for (const f of fronts) addRate(f, f.rpm);

  // incident: one internal endpoint reached by the first front (so it is user-visible)
  const reach = (e: Endpoint, acc = new Set<Endpoint>()): Set<Endpoint> => {
    for (const c of [...e.calls, ...(e.publishes ? [e.publishes] : [])]) {
      if (!acc.has(c)) {
        acc.add(c);
        reach(c, acc);
      }
    }
    return acc;
  };
  const victims = [...reach(fronts[0]!)].filter((e) => e.proto !== 'consumer');
  const incidentEp = victims.length ? pick(victims) : fronts[0]!;
  const incStart = Math.floor(minutes * (0.4 + r() * 0.3));
  const incEnd = incStart + 20 + Math.floor(r() * 15);
  const incidentHit = (e: Endpoint): boolean => e === incidentEp || e.calls.some(incidentHit);

  const all = new Set<Endpoint>([...fronts]);
  for (const f of fronts) for (const e of reach(f)) all.add(e);
  const services = [...new Set([...all].map((e) => e.service))].sort();
  const journeys: TruthJourney[] = [...all].map((e) => ({
    service: e.service,
    entrypoint: e.op,
    type: e.proto === 'consumer' ? 'consumer' : 'request',
    userFacing: fronts.includes(e),
    lowTraffic: (rate.get(e) ?? 0) < 1,
    dependencyServices: [
      ...new Set([...reach(e)].map((d) => d.service).filter((s) => s !== e.service)),
    ].sort(),
    incident: incidentHit(e),
    noisy4xx: e.noisy4xx === true,
    baseErrorRatio: e.errorRatio,
  }));
  const excluded = services.flatMap((s) => [
    { service: s, entrypoint: 'GET /healthz' },
    { service: s, entrypoint: 'GET /metrics' },
  ]);

  const truth: GroundTruth = {
    start,
    minutes,
    journeys,
    excluded,
    incident: { service: incidentEp.service, startMinute: incStart, endMinute: incEnd },
  };

  let ids = 0;
  const id = () => (++ids).toString(16).padStart(16, '0');

  function run(
    onSpan: (service: string, span: StreamSpan) => void,
    onBatchEnd?: (service: string) => void,
  ): void {
    const gen = rng(opts.seed * 7919 + 1);
    for (let m = 0; m < minutes; m++) {
      const batches = new Map<string, [StreamSpan][]>();
      const emit = (svc: string, s: StreamSpan) => {
        let b = batches.get(svc);
        if (!b) batches.set(svc, (b = []));
        b.push([s]);
      };
      const t0 = start.getTime() + m * 60_000;
      const inIncident = m >= incStart && m < incEnd;
      // one request through an endpoint; returns [durationMs, failed]
      const call = (e: Endpoint, parent: string, at: number): [number, boolean] => {
        const sid = id();
        let dur = e.baseMs * (0.6 + gen() * 0.8) * (gen() < 0.01 ? 4 : 1);
        let failed = gen() < e.errorRatio || (e === incidentEp && inIncident && gen() < 0.9);
        let t = at + 1;
        for (const c of e.calls) {
          // client span, then the callee's server span
          const cid = id();
          const [d, f] = call(c, cid, t);
          emit(e.service, {
            spanId: cid,
            parentSpanId: sid,
            name: c.proto === 'grpc' ? c.op : `${c.method}`,
            kind: SpanKind.CLIENT,
            startMs: t,
            durationMs: d + 0.5,
            statusCode: f ? StatusCode.ERROR : StatusCode.UNSET,
            attributes:
              c.proto === 'grpc'
                ? { 'rpc.system': 'grpc', 'rpc.service': c.rpc!.service, 'rpc.method': c.rpc!.method, 'rpc.grpc.status_code': f ? 14 : 0 } // prettier-ignore
                : { 'http.request.method': c.method!, 'url.full': `http://${c.service}${c.route!.replace('{id}', String(Math.floor(gen() * 1e6)))}`, 'http.response.status_code': f ? 503 : 200 }, // prettier-ignore
          });
          dur += d + 0.5;
          t += d + 0.5;
          if (f) failed = true;
        }
        // a DB call: a client span that is never a journey
        emit(e.service, {
          spanId: id(),
          parentSpanId: sid,
          name: 'SELECT app.items',
          kind: SpanKind.CLIENT,
          startMs: t,
          durationMs: 1,
          statusCode: StatusCode.UNSET,
          attributes: { 'db.system': 'postgresql' },
        });
        if (e.publishes) {
          const pid = id();
          emit(e.service, {
            spanId: pid,
            parentSpanId: sid,
            name: `${e.publishes.topic} publish`,
            kind: SpanKind.PRODUCER,
            startMs: t,
            durationMs: 1,
            statusCode: StatusCode.UNSET,
            attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': e.publishes.topic! },
          });
          const [, f] = call(e.publishes, pid, t + 50 + gen() * 200);
          void f; // async: the consumer's failures do not fail the request
        }
        const attrs: Attrs = {};
        let status: number = StatusCode.UNSET;
        if (e.proto === 'http') {
          let code = failed ? 500 : 200;
          if (!failed && e.noisy4xx && gen() < 0.25) {
            code = gen() < 0.5 ? 404 : 400;
            if (gen() < 0.5) status = StatusCode.ERROR; // some instrumentations mark 4xx as errors
          }
          if (!failed && e.cancels && gen() < 0.02) code = 499;
          if (failed) status = StatusCode.ERROR;
          Object.assign(attrs, {
            'http.request.method': e.method!,
            'http.route': e.route!,
            'url.path': e.route!.replace('{id}', String(Math.floor(gen() * 1e6))),
            'http.response.status_code': code,
            'user_agent.original': 'Mozilla/5.0',
          });
        } else if (e.proto === 'grpc') {
          let code = failed ? 14 : 0;
          if (!failed && gen() < 0.03) code = gen() < 0.5 ? 5 : 1; // NOT_FOUND, CANCELLED: caller-side
          if (code !== 0) status = StatusCode.ERROR;
          Object.assign(attrs, {
            'rpc.system': 'grpc',
            'rpc.service': e.rpc!.service,
            'rpc.method': e.rpc!.method,
            'rpc.grpc.status_code': code,
          });
        } else {
          if (failed) status = StatusCode.ERROR;
          Object.assign(attrs, {
            'messaging.system': 'kafka',
            'messaging.destination.name': e.topic!,
            'messaging.operation': 'process',
          });
        }
        emit(e.service, {
          spanId: sid,
          parentSpanId: parent,
          name:
            e.proto === 'http' ? `${e.method} ${e.route}` : e.proto === 'grpc' ? e.op : `${e.topic} process`,
          kind: e.proto === 'consumer' ? SpanKind.CONSUMER : SpanKind.SERVER,
          startMs: at,
          durationMs: dur,
          statusCode: status,
          attributes: attrs,
        });
        return [dur, failed];
      };
      for (const f of fronts) {
        let n = Math.floor(f.rpm);
        if (gen() < f.rpm - n) n++;
        for (let k = 0; k < n; k++) call(f, '', t0 + gen() * 59_000);
      }
      // probes and scrapes on every service, every 10 s
      for (const svc of services) {
        for (let k = 0; k < 6; k++) {
          emit(svc, probe(id(), t0 + k * 10_000, 'GET /healthz', 'kube-probe/1.29'));
        }
        emit(svc, probe(id(), t0 + 5_000, 'GET /metrics', 'Prometheus/2.53.0'));
      }
      for (const [svc, spans] of [...batches].sort(() => gen() - 0.5)) {
        for (const [s] of spans) onSpan(svc, s);
        onBatchEnd?.(svc);
      }
    }
  }
  return { truth, run };
}

function probe(spanId: string, at: number, op: string, ua: string): StreamSpan {
  const [method, route] = op.split(' ') as [string, string];
  return {
    spanId,
    parentSpanId: '',
    name: op,
    kind: SpanKind.SERVER,
    startMs: at,
    durationMs: 0.4,
    statusCode: StatusCode.UNSET,
    attributes: {
      'http.request.method': method,
      'http.route': route,
      'http.response.status_code': 200,
      'user_agent.original': ua,
    },
  };
}

/** One OTLP/JSON ExportTraceServiceRequest (as the Collector's file exporter writes a line) for spans of a service. */
export function otlpJsonLine(
  service: string,
  spans: readonly StreamSpan[],
  traceId = '0'.repeat(31) + '1',
): string {
  const v = (x: string | number | boolean) =>
    typeof x === 'string'
      ? { stringValue: x }
      : typeof x === 'boolean'
        ? { boolValue: x }
        : Number.isInteger(x)
          ? { intValue: String(x) }
          : { doubleValue: x };
  const nano = (ms: number) => `${Math.floor(ms)}${String(Math.round((ms % 1) * 1e6)).padStart(6, '0')}`;
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'synthetic' },
            spans: spans.map((s) => ({
              traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: nano(s.startMs),
              endTimeUnixNano: nano(s.startMs + s.durationMs),
              attributes: Object.entries(s.attributes).map(([key, x]) => ({ key, value: v(x) })),
              status: s.statusCode ? { code: s.statusCode } : {},
            })),
          },
        ],
      },
    ],
  });
}
