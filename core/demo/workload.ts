/**
 * The built-in demo workload: a small online shop emitting OTLP-shaped traces, logs and metrics, deterministic for a
 * given seed and end time. Pure: no clock, no I/O, no global randomness.
 *
 * Topology: `frontend` (ingress, HTTP) calls `catalog`, `cart`, `checkout` and `users` over HTTP; `cart` calls
 * `catalog` and `checkout` calls `payment` and `shipping` over gRPC; `checkout` publishes to the `order-events`
 * Kafka topic, consumed by `order-worker` (PRODUCER/CONSUMER spans in the same trace). Every service also serves a
 * kubelet health check (/healthz) and a Prometheus scrape (/metrics), which analysis must exclude. Noise: bot 404s
 * on unrouted paths and unknown products, failed logins (401), and a rarely used admin endpoint.
 *
 * Incidents (positions relative to the range): a payment outage (gRPC UNAVAILABLE -> checkout 503) and a catalog
 * latency regression. Logs carry PII (emails, IPs, Luhn-valid card numbers, JWTs, phone numbers) for the redaction
 * stage to find. Metrics are `http.server.request.duration` histograms (seconds, delta, per minute) per
 * service/method/route/status, as OTel HTTP semantic conventions define them.
 */
import type {
  Attrs,
  ResourceLogsModel,
  ResourceMetricsModel,
  ResourceSpansModel,
  SpanModel,
  LogModel,
} from '../otlp/model.js';
import { SpanKind, StatusCode } from '../otlp/model.js';
import { rng } from '../random.js';

export interface DemoWorkloadOptions {
  readonly seed: number;
  /** End of the range (exclusive); aligned down to the minute. */
  readonly end: Date;
  /** Length of the range in hours. Default 6. */
  readonly hours?: number;
  /** Multiplies user traffic (not health checks or scrapes). Default 1. */
  readonly rpsScale?: number;
}

export interface DemoBatch {
  /** Start of the minute this batch covers (ms since the epoch). */
  readonly minuteStartMs: number;
  readonly traces: ResourceSpansModel[];
  readonly logs: ResourceLogsModel[];
  readonly metrics: ResourceMetricsModel[];
}

// ---- ground truth ----------------------------------------------------------------------------------------------------

export const DEMO_SERVICES = [
  'frontend',
  'catalog',
  'cart',
  'checkout',
  'payment',
  'shipping',
  'users',
  'order-worker',
] as const;
export type DemoService = (typeof DEMO_SERVICES)[number];

export interface DemoJourney {
  readonly id: string;
  readonly name: string;
  /** The ingress operation on `frontend`. */
  readonly method: string;
  readonly route: string;
  /** Every service the journey touches, in call order. */
  readonly services: readonly DemoService[];
  /** A user-facing, business-critical journey an SLO should cover. */
  readonly critical: boolean;
  /** Mean requests per minute at rpsScale 1 (before the daily cycle). */
  readonly ratePerMinute: number;
}

export const DEMO_JOURNEYS: readonly DemoJourney[] = [
  {
    id: 'browse-products',
    name: 'Browse products',
    method: 'GET',
    route: '/api/products',
    services: ['frontend', 'catalog'],
    critical: true,
    ratePerMinute: 8,
  },
  {
    id: 'view-product',
    name: 'View product',
    method: 'GET',
    route: '/api/products/{productId}',
    services: ['frontend', 'catalog'],
    critical: true,
    ratePerMinute: 6,
  },
  {
    id: 'view-cart',
    name: 'View cart',
    method: 'GET',
    route: '/api/cart',
    services: ['frontend', 'cart'],
    critical: true,
    ratePerMinute: 4,
  },
  {
    id: 'add-to-cart',
    name: 'Add to cart',
    method: 'POST',
    route: '/api/cart/items',
    services: ['frontend', 'cart', 'catalog'],
    critical: true,
    ratePerMinute: 3,
  },
  {
    id: 'checkout',
    name: 'Checkout',
    method: 'POST',
    route: '/api/checkout',
    services: ['frontend', 'checkout', 'cart', 'payment', 'shipping', 'order-worker'],
    critical: true,
    ratePerMinute: 1.5,
  },
  {
    id: 'order-history',
    name: 'Order details',
    method: 'GET',
    route: '/api/users/{userId}/orders/{orderId}',
    services: ['frontend', 'users'],
    critical: false,
    ratePerMinute: 2.5,
  },
  {
    id: 'login',
    name: 'Log in',
    method: 'POST',
    route: '/api/login',
    services: ['frontend', 'users'],
    critical: true,
    ratePerMinute: 1,
  },
  {
    id: 'admin-reports',
    name: 'Admin reports',
    method: 'GET',
    route: '/admin/reports',
    services: ['frontend', 'users'],
    critical: false,
    ratePerMinute: 0.07,
  },
];

/** Traffic analysis must exclude: present on every service. */
export const DEMO_EXCLUDED_ROUTES = [
  { route: '/healthz', reason: 'health check (kubelet probe every 30 s)' },
  { route: '/metrics', reason: 'Prometheus scrape (every 60 s)' },
] as const;

/** Paths bots probe; they have no http.route and always 404. */
export const DEMO_NOISE_PATHS = ['/wp-login.php', '/.env', '/admin.php', '/xmlrpc.php'] as const;

export interface DemoIncident {
  readonly id: 'payment-outage' | 'catalog-latency';
  readonly service: DemoService;
  readonly description: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Journeys whose SLIs the incident degrades. */
  readonly affects: readonly string[];
}

export interface DemoGroundTruth {
  readonly startMs: number;
  readonly endMs: number;
  readonly services: readonly DemoService[];
  readonly journeys: readonly DemoJourney[];
  readonly excludedRoutes: typeof DEMO_EXCLUDED_ROUTES;
  readonly noisePaths: typeof DEMO_NOISE_PATHS;
  readonly incidents: readonly DemoIncident[];
  /** The messaging hop: producer service, destination, consumer service. */
  readonly messaging: {
    readonly producer: 'checkout';
    readonly destination: 'order-events';
    readonly consumer: 'order-worker';
  };
}

const MINUTE = 60_000;

function range(opts: DemoWorkloadOptions): { startMs: number; endMs: number; minutes: number } {
  const hours = opts.hours ?? 6;
  if (!(hours > 0) || hours > 24 * 31)
    throw new Error(`demoWorkload: hours must be in (0, 744], got ${hours}`);
  if (Number.isNaN(opts.end.getTime())) throw new Error('demoWorkload: end must be a valid Date');
  const endMs = Math.floor(opts.end.getTime() / MINUTE) * MINUTE;
  const minutes = Math.max(1, Math.round(hours * 60));
  return { startMs: endMs - minutes * MINUTE, endMs, minutes };
}

/** Incident windows, placed at fixed fractions of the range so every range length has both. */
export function demoGroundTruth(opts: DemoWorkloadOptions): DemoGroundTruth {
  const { startMs, endMs, minutes } = range(opts);
  const at = (fraction: number) => startMs + Math.floor(minutes * fraction) * MINUTE;
  const len = (m: number) => Math.max(1, Math.min(m, Math.floor(minutes / 8))) * MINUTE;
  const pStart = at(0.62);
  const cStart = at(0.3);
  return {
    startMs,
    endMs,
    services: DEMO_SERVICES,
    journeys: DEMO_JOURNEYS,
    excludedRoutes: DEMO_EXCLUDED_ROUTES,
    noisePaths: DEMO_NOISE_PATHS,
    incidents: [
      {
        id: 'payment-outage',
        service: 'payment',
        description:
          'payment processor unreachable: Charge fails with gRPC UNAVAILABLE, checkout answers 503',
        startMs: pStart,
        endMs: pStart + len(20),
        affects: ['checkout'],
      },
      {
        id: 'catalog-latency',
        service: 'catalog',
        description: 'catalog latency regression (slow product queries, ~4x latency)',
        startMs: cStart,
        endMs: cStart + len(45),
        affects: ['browse-products', 'view-product', 'add-to-cart'],
      },
    ],
    messaging: { producer: 'checkout', destination: 'order-events', consumer: 'order-worker' },
  };
}

// ---- deterministic randomness ----------------------------------------------------------------------------------------

class Rand {
  constructor(readonly next: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  hex(bytes: number): string {
    let s = '';
    for (let i = 0; i < bytes; i++)
      s += Math.floor(this.next() * 256)
        .toString(16)
        .padStart(2, '0');
    return s === '0'.repeat(bytes * 2) ? this.hex(bytes) : s;
  }
  /** Log-normal around a median (ms). */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.gaussian());
  }
  gaussian(): number {
    const u1 = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * this.next());
  }
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.gaussian()));
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= this.next();
    } while (p > l);
    return k - 1;
  }
  uuid(): string {
    const h = this.hex(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-1${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

// ---- synthetic users (the PII) ---------------------------------------------------------------------------------------

interface DemoUser {
  readonly id: number;
  readonly email: string;
  readonly phone: string;
  readonly ip: string;
  readonly card: string;
  readonly name: string;
}

const FIRST = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'oscar',
];
const LAST = ['smith', 'jones', 'garcia', 'miller', 'davis', 'martin', 'lee', 'walker', 'young', 'king'];
const DOMAINS = ['example.com', 'mail.example.org', 'example.net'];

/** A 16-digit Visa-style number that passes the Luhn check. */
export function luhnCard(r: Rand | (() => number)): string {
  const rand = r instanceof Rand ? r : new Rand(r);
  const digits = [4];
  while (digits.length < 15) digits.push(rand.int(0, 9));
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    // Position from the right in the final 16-digit number is 16 - i; double every second one from the right.
    let d = digits[i]!;
    if ((15 - i) % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  digits.push((10 - (sum % 10)) % 10);
  return digits.join('');
}

export function luhnValid(number: string): boolean {
  const ds = number.replace(/[\s-]/g, '');
  if (!/^\d{12,19}$/.test(ds)) return false;
  let sum = 0;
  for (let i = 0; i < ds.length; i++) {
    let d = Number(ds[ds.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function makeUsers(r: Rand, n: number): DemoUser[] {
  const users: DemoUser[] = [];
  const seen = new Set<number>();
  while (users.length < n) {
    const id = r.int(1000, 99999);
    if (seen.has(id)) continue;
    seen.add(id);
    const first = r.pick(FIRST);
    const last = r.pick(LAST);
    users.push({
      id,
      name: `${first} ${last}`,
      email: `${first}.${last}${r.int(1, 99)}@${r.pick(DOMAINS)}`,
      phone: r.chance(0.7)
        ? `+1-415-555-${String(r.int(100, 199)).padStart(4, '0')}`
        : `+44 20 7946 ${String(r.int(0, 999)).padStart(4, '0')}`,
      ip: r.chance(0.5) ? `203.0.113.${r.int(1, 254)}` : `198.51.100.${r.int(1, 254)}`,
      card: luhnCard(r),
    });
  }
  return users;
}

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

function jwt(r: Rand, u: DemoUser, iat: number): string {
  const header = b64url('{"alg":"HS256","typ":"JWT"}');
  const payload = b64url(JSON.stringify({ sub: `user-${u.id}`, email: u.email, iat, exp: iat + 3600 }));
  const sig = Buffer.from(r.hex(32), 'hex').toString('base64url');
  return `${header}.${payload}.${sig}`;
}

// ---- span building ---------------------------------------------------------------------------------------------------

type OutSpan = Omit<SpanModel, 'resource' | 'scope'>;
type OutLog = Omit<LogModel, 'resource'>;

const GRPC = { OK: 0, NOT_FOUND: 5, DEADLINE_EXCEEDED: 4, UNAVAILABLE: 14 } as const;

interface Sample {
  readonly service: DemoService;
  readonly method: string;
  readonly route: string | undefined;
  readonly status: number;
  readonly seconds: number;
}

/** Milliseconds (float) since the epoch -> integer nanoseconds as a decimal string. */
function ns(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(frac)).toString();
}

class MinuteBuilder {
  readonly spans = new Map<DemoService, OutSpan[]>();
  readonly logs = new Map<DemoService, OutLog[]>();
  readonly samples: Sample[] = [];

  constructor(
    readonly r: Rand,
    readonly truth: DemoGroundTruth,
    readonly users: readonly DemoUser[],
  ) {}

  span(service: DemoService, s: OutSpan): void {
    const list = this.spans.get(service) ?? [];
    list.push(s);
    this.spans.set(service, list);
  }

  log(
    service: DemoService,
    atMs: number,
    severity: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR',
    body: string,
    attributes: Attrs,
    trace?: { traceId: string; spanId: string },
  ): void {
    const list = this.logs.get(service) ?? [];
    list.push({
      timeUnixNano: ns(atMs),
      observedTimeUnixNano: ns(atMs + 2 + this.r.next() * 50),
      severityNumber: { DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17 }[severity],
      severityText: severity,
      body,
      attributes,
      traceId: trace?.traceId ?? '',
      spanId: trace?.spanId ?? '',
    });
    this.logs.set(service, list);
  }

  inIncident(id: DemoIncident['id'], atMs: number): boolean {
    const i = this.truth.incidents.find((x) => x.id === id)!;
    return atMs >= i.startMs && atMs < i.endMs;
  }
}

interface Ctx {
  readonly b: MinuteBuilder;
  readonly traceId: string;
}

interface Result {
  readonly end: number;
  readonly status: number;
}

type Handler = (spanId: string, start: number) => Result;

interface HttpServerSpec {
  readonly service: DemoService;
  readonly method: string;
  /** Undefined for unrouted requests (404s on unknown paths). */
  readonly route: string | undefined;
  readonly path: string;
  /** users runs an older instrumentation that does not report http.route. */
  readonly reportRoute?: boolean;
  readonly extra?: Attrs;
}

function httpStatusError(status: number, server: boolean): number {
  return status >= 500 || (!server && status >= 400) ? StatusCode.ERROR : StatusCode.UNSET;
}

/** SERVER span for an HTTP request; the handler runs the work and decides the status. */
function httpServer(
  c: Ctx,
  parentSpanId: string,
  spec: HttpServerSpec,
  start: number,
  handler: Handler,
): Result {
  const spanId = c.b.r.hex(8);
  const res = handler(spanId, start);
  const attributes: Attrs = {
    'http.request.method': spec.method,
    'url.path': spec.path,
    'url.scheme': 'http',
    'server.address': spec.service,
    'server.port': 8080,
    'network.protocol.version': '1.1',
    'http.response.status_code': res.status,
    ...(spec.route && spec.reportRoute !== false ? { 'http.route': spec.route } : {}),
    ...(spec.extra ?? {}),
  };
  c.b.span(spec.service, {
    traceId: c.traceId,
    spanId,
    parentSpanId,
    name: spec.route && spec.reportRoute !== false ? `${spec.method} ${spec.route}` : spec.method,
    kind: SpanKind.SERVER,
    startTimeUnixNano: ns(start),
    endTimeUnixNano: ns(res.end),
    statusCode: httpStatusError(res.status, true),
    statusMessage: '',
    attributes,
  });
  c.b.samples.push({
    service: spec.service,
    method: spec.method,
    route: spec.reportRoute === false ? undefined : spec.route,
    status: res.status,
    seconds: (res.end - start) / 1000,
  });
  return res;
}

/** CLIENT span in `from` + SERVER span in the callee. */
function httpCall(
  c: Ctx,
  from: DemoService,
  parentSpanId: string,
  spec: HttpServerSpec,
  start: number,
  handler: Handler,
): Result {
  const clientId = c.b.r.hex(8);
  const net = () => 0.2 + c.b.r.next() * 0.8;
  const res = httpServer(c, clientId, spec, start + net(), handler);
  const end = res.end + net();
  c.b.span(from, {
    traceId: c.traceId,
    spanId: clientId,
    parentSpanId,
    name: spec.route ? `${spec.method} ${spec.route}` : spec.method,
    kind: SpanKind.CLIENT,
    startTimeUnixNano: ns(start),
    endTimeUnixNano: ns(end),
    statusCode: httpStatusError(res.status, false),
    statusMessage: '',
    attributes: {
      'http.request.method': spec.method,
      'url.full': `http://${spec.service}:8080${spec.path}`,
      ...(spec.route ? { 'url.template': spec.route } : {}),
      'server.address': spec.service,
      'server.port': 8080,
      'http.response.status_code': res.status,
    },
  });
  return { end, status: res.status };
}

const GRPC_SERVER_ERRORS = new Set<number>([2, 4, 12, 13, 14, 15]);

/** CLIENT + SERVER spans of a unary gRPC call; the handler's status is the gRPC status code. */
function grpcCall(
  c: Ctx,
  from: DemoService,
  parentSpanId: string,
  to: DemoService,
  rpcService: string,
  rpcMethod: string,
  start: number,
  handler: Handler,
): Result {
  const clientId = c.b.r.hex(8);
  const serverId = c.b.r.hex(8);
  const net = () => 0.2 + c.b.r.next() * 0.6;
  const sStart = start + net();
  const res = handler(serverId, sStart);
  const end = res.end + net();
  const name = `${rpcService}/${rpcMethod}`;
  const common = {
    'rpc.system': 'grpc',
    'rpc.service': rpcService,
    'rpc.method': rpcMethod,
    'rpc.grpc.status_code': res.status,
  };
  const message =
    res.status === GRPC.UNAVAILABLE ? 'upstream connect error: payment processor unreachable' : '';
  c.b.span(to, {
    traceId: c.traceId,
    spanId: serverId,
    parentSpanId: clientId,
    name,
    kind: SpanKind.SERVER,
    startTimeUnixNano: ns(sStart),
    endTimeUnixNano: ns(res.end),
    statusCode: GRPC_SERVER_ERRORS.has(res.status) ? StatusCode.ERROR : StatusCode.UNSET,
    statusMessage: GRPC_SERVER_ERRORS.has(res.status) ? message : '',
    attributes: { ...common, 'server.address': to, 'server.port': 50051 },
  });
  c.b.span(from, {
    traceId: c.traceId,
    spanId: clientId,
    parentSpanId,
    name,
    kind: SpanKind.CLIENT,
    startTimeUnixNano: ns(start),
    endTimeUnixNano: ns(end),
    statusCode: res.status === 0 ? StatusCode.UNSET : StatusCode.ERROR,
    statusMessage: res.status === 0 ? '' : message,
    attributes: { ...common, 'server.address': to, 'server.port': 50051 },
  });
  return { end, status: res.status };
}

/** A database CLIENT span (the database itself is not instrumented). */
function dbCall(
  c: Ctx,
  service: DemoService,
  parentSpanId: string,
  table: string,
  op: string,
  start: number,
  ms: number,
): number {
  const end = start + ms;
  c.b.span(service, {
    traceId: c.traceId,
    spanId: c.b.r.hex(8),
    parentSpanId,
    name: `${op} ${table}`,
    kind: SpanKind.CLIENT,
    startTimeUnixNano: ns(start),
    endTimeUnixNano: ns(end),
    statusCode: StatusCode.UNSET,
    statusMessage: '',
    attributes: {
      'db.system': 'postgresql',
      'db.operation.name': op,
      'db.collection.name': table,
      'db.namespace': 'shop',
      'server.address': 'postgres',
      'server.port': 5432,
    },
  });
  return end;
}

// ---- journeys --------------------------------------------------------------------------------------------------------

const PRODUCTS = Array.from({ length: 60 }, (_, i) => `P${String(1000 + i * 7)}`);
const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'ShopApp/3.2.1 (iPhone; iOS 17.4)',
];

function ingress(
  c: Ctx,
  u: DemoUser,
  method: string,
  route: string | undefined,
  path: string,
  start: number,
  handler: Handler,
  userAgent?: string,
): Result {
  const res = httpServer(
    c,
    '',
    {
      service: 'frontend',
      method,
      route,
      path,
      extra: { 'client.address': u.ip, 'user_agent.original': userAgent ?? c.b.r.pick(USER_AGENTS) },
    },
    start,
    handler,
  );
  // Access log for a sample of requests and every failure (IPs are PII).
  if (res.status >= 400 || c.b.r.chance(0.25)) {
    const ms = Math.round(res.end - start);
    c.b.log(
      'frontend',
      res.end,
      res.status >= 500 ? 'ERROR' : res.status >= 400 ? 'WARN' : 'INFO',
      `${u.ip} - "${method} ${path} HTTP/1.1" ${res.status} ${ms}ms`,
      {
        'client.address': u.ip,
        'http.request.method': method,
        'url.path': path,
        'http.response.status_code': res.status,
      },
      { traceId: c.traceId, spanId: lastSpanId(c, 'frontend') },
    );
  }
  return res;
}

function lastSpanId(c: Ctx, service: DemoService): string {
  const list = c.b.spans.get(service);
  return list?.[list.length - 1]?.spanId ?? '';
}

function catalogLatency(c: Ctx, at: number, median: number): number {
  const slow = c.b.inIncident('catalog-latency', at) ? 4 : 1;
  return c.b.r.lognormal(median * slow, 0.45);
}

function catalogHttp(
  c: Ctx,
  parent: string,
  route: string,
  path: string,
  start: number,
  notFound: boolean,
): Result {
  return httpCall(
    c,
    'frontend',
    parent,
    { service: 'catalog', method: 'GET', route, path },
    start,
    (sid, t) => {
      const q = catalogLatency(c, t, route.includes('{') ? 6 : 14);
      const end = dbCall(c, 'catalog', sid, 'products', 'SELECT', t + 0.5, q) + 1 + c.b.r.next() * 2;
      if (q > 400) {
        c.b.log(
          'catalog',
          end,
          'WARN',
          `slow query on products took ${Math.round(q)}ms`,
          { 'db.collection.name': 'products' },
          { traceId: c.traceId, spanId: sid },
        );
      }
      return { end, status: notFound ? 404 : 200 };
    },
  );
}

function browseProducts(c: Ctx, u: DemoUser, start: number): void {
  const page = c.b.r.int(1, 5);
  ingress(c, u, 'GET', '/api/products', `/api/products?page=${page}`, start, (sid, t) => {
    const r = catalogHttp(c, sid, '/products', '/products', t + 1, false);
    return { end: r.end + 1 + c.b.r.next() * 2, status: r.status >= 500 ? 502 : 200 };
  });
}

function viewProduct(c: Ctx, u: DemoUser, start: number): void {
  const bot = c.b.r.chance(0.06);
  const id = bot ? `P${c.b.r.int(90000, 99999)}` : c.b.r.pick(PRODUCTS);
  ingress(
    c,
    u,
    'GET',
    '/api/products/{productId}',
    `/api/products/${id}`,
    start,
    (sid, t) => {
      const r = catalogHttp(c, sid, '/products/{productId}', `/products/${id}`, t + 1, bot);
      return { end: r.end + 1 + c.b.r.next() * 2, status: r.status };
    },
    bot ? 'python-requests/2.31.0' : undefined,
  );
}

function viewCart(c: Ctx, u: DemoUser, start: number): void {
  ingress(c, u, 'GET', '/api/cart', '/api/cart', start, (sid, t) => {
    const r = httpCall(
      c,
      'frontend',
      sid,
      { service: 'cart', method: 'GET', route: '/carts/{userId}', path: `/carts/${u.id}` },
      t + 1,
      (_csid, ct) => ({ end: ct + c.b.r.lognormal(6, 0.4), status: 200 }),
    );
    return { end: r.end + 1 + c.b.r.next() * 2, status: r.status };
  });
}

function addToCart(c: Ctx, u: DemoUser, start: number): void {
  const product = c.b.r.pick(PRODUCTS);
  ingress(c, u, 'POST', '/api/cart/items', '/api/cart/items', start, (sid, t) => {
    const r = httpCall(
      c,
      'frontend',
      sid,
      { service: 'cart', method: 'POST', route: '/carts/{userId}/items', path: `/carts/${u.id}/items` },
      t + 1,
      (csid, ct) => {
        const g = grpcCall(
          c,
          'cart',
          csid,
          'catalog',
          'shop.CatalogService',
          'GetProduct',
          ct + 1,
          (gsid, gt) => ({
            end: dbCall(c, 'catalog', gsid, 'products', 'SELECT', gt + 0.3, catalogLatency(c, gt, 4)) + 0.5,
            status: GRPC.OK,
          }),
        );
        const end = g.end + c.b.r.lognormal(4, 0.3);
        c.b.log(
          'cart',
          end,
          'INFO',
          `added ${product} to cart of user ${u.id}`,
          { 'enduser.id': String(u.id), 'product.id': product },
          { traceId: c.traceId, spanId: csid },
        );
        return { end, status: 201 };
      },
    );
    return { end: r.end + 1, status: r.status };
  });
}

function checkout(c: Ctx, u: DemoUser, start: number): void {
  const orderId = c.b.r.uuid();
  const amount = (c.b.r.int(500, 40000) / 100).toFixed(2);
  ingress(c, u, 'POST', '/api/checkout', '/api/checkout', start, (sid, t) => {
    const r = httpCall(
      c,
      'frontend',
      sid,
      { service: 'checkout', method: 'POST', route: '/checkout', path: '/checkout' },
      t + 1,
      (csid, ct) => {
        let now = ct + 1;
        now = httpCall(
          c,
          'checkout',
          csid,
          { service: 'cart', method: 'GET', route: '/carts/{userId}', path: `/carts/${u.id}` },
          now,
          (_s, t2) => ({ end: t2 + c.b.r.lognormal(6, 0.4), status: 200 }),
        ).end;
        const outage = c.b.inIncident('payment-outage', now);
        const pay = grpcCall(
          c,
          'checkout',
          csid,
          'payment',
          'shop.PaymentService',
          'Charge',
          now + 0.5,
          (psid, pt) => {
            if (outage && c.b.r.chance(0.8)) {
              const timeout = c.b.r.chance(0.3);
              const end = pt + (timeout ? 2000 + c.b.r.next() * 50 : c.b.r.lognormal(4, 0.3));
              c.b.log(
                'payment',
                end,
                'ERROR',
                `charge failed for order ${orderId}: processor unavailable (connect ECONNREFUSED 10.0.3.7:443)`,
                { 'order.id': orderId },
                { traceId: c.traceId, spanId: psid },
              );
              return { end, status: timeout ? GRPC.DEADLINE_EXCEEDED : GRPC.UNAVAILABLE };
            }
            const end = pt + c.b.r.lognormal(110, 0.35);
            c.b.log(
              'payment',
              end,
              'INFO',
              `charging card ${u.card} amount ${amount} EUR for ${u.email}`,
              { 'order.id': orderId, 'payment.amount': Number(amount) },
              { traceId: c.traceId, spanId: psid },
            );
            return { end, status: GRPC.OK };
          },
        );
        if (pay.status !== GRPC.OK) {
          c.b.log(
            'checkout',
            pay.end,
            'ERROR',
            `checkout failed for order ${orderId}: payment status ${pay.status}`,
            { 'order.id': orderId, 'enduser.id': String(u.id) },
            { traceId: c.traceId, spanId: csid },
          );
          return { end: pay.end + 1, status: 503 };
        }
        now = pay.end + 0.5;
        now = grpcCall(
          c,
          'checkout',
          csid,
          'shipping',
          'shop.ShippingService',
          'ShipOrder',
          now,
          (ssid, st) => {
            const end = st + c.b.r.lognormal(35, 0.3);
            c.b.log(
              'shipping',
              end,
              'INFO',
              `shipment created for order ${orderId}, contact ${u.phone}`,
              { 'order.id': orderId },
              { traceId: c.traceId, spanId: ssid },
            );
            return { end, status: GRPC.OK };
          },
        ).end;
        // Publish the order event; the worker consumes it asynchronously in the same trace.
        const prodId = c.b.r.hex(8);
        const pubEnd = now + 0.5 + c.b.r.lognormal(2, 0.3);
        const messaging = { 'messaging.system': 'kafka', 'messaging.destination.name': 'order-events' };
        c.b.span('checkout', {
          traceId: c.traceId,
          spanId: prodId,
          parentSpanId: csid,
          name: 'publish order-events',
          kind: SpanKind.PRODUCER,
          startTimeUnixNano: ns(now + 0.5),
          endTimeUnixNano: ns(pubEnd),
          statusCode: StatusCode.UNSET,
          statusMessage: '',
          attributes: {
            ...messaging,
            'messaging.operation.type': 'publish',
            'messaging.operation.name': 'send',
            'messaging.message.id': orderId,
          },
        });
        const consStart = pubEnd + 20 + c.b.r.next() * 400;
        const consId = c.b.r.hex(8);
        const emailStart = consStart + 2;
        const emailEnd = emailStart + c.b.r.lognormal(25, 0.4);
        c.b.span('order-worker', {
          traceId: c.traceId,
          spanId: c.b.r.hex(8),
          parentSpanId: consId,
          name: 'send order confirmation',
          kind: SpanKind.INTERNAL,
          startTimeUnixNano: ns(emailStart),
          endTimeUnixNano: ns(emailEnd),
          statusCode: StatusCode.UNSET,
          statusMessage: '',
          attributes: { 'order.id': orderId },
        });
        c.b.span('order-worker', {
          traceId: c.traceId,
          spanId: consId,
          parentSpanId: prodId,
          name: 'process order-events',
          kind: SpanKind.CONSUMER,
          startTimeUnixNano: ns(consStart),
          endTimeUnixNano: ns(emailEnd + 1),
          statusCode: StatusCode.UNSET,
          statusMessage: '',
          attributes: {
            ...messaging,
            'messaging.operation.type': 'process',
            'messaging.operation.name': 'poll',
            'messaging.consumer.group.name': 'order-worker',
            'messaging.message.id': orderId,
          },
        });
        c.b.log(
          'order-worker',
          emailEnd,
          'INFO',
          `sent order confirmation ${orderId} to ${u.email}`,
          { 'order.id': orderId, 'user.email': u.email },
          { traceId: c.traceId, spanId: consId },
        );
        return { end: pubEnd + 1, status: 200 };
      },
    );
    return { end: r.end + 1, status: r.status >= 500 ? 503 : r.status };
  });
}

function orderHistory(c: Ctx, u: DemoUser, start: number): void {
  const orderId = c.b.r.uuid();
  const path = `/api/users/${u.id}/orders/${orderId}`;
  ingress(c, u, 'GET', '/api/users/{userId}/orders/{orderId}', path, start, (sid, t) => {
    const r = httpCall(
      c,
      'frontend',
      sid,
      {
        service: 'users',
        method: 'GET',
        route: '/users/{userId}/orders/{orderId}',
        path: `/users/${u.id}/orders/${orderId}`,
        reportRoute: false,
      },
      t + 1,
      (usid, ut) => ({
        end: dbCall(c, 'users', usid, 'orders', 'SELECT', ut + 0.5, c.b.r.lognormal(9, 0.4)) + 1,
        status: 200,
      }),
    );
    return { end: r.end + 1, status: r.status };
  });
}

function login(c: Ctx, u: DemoUser, start: number): void {
  const failed = c.b.r.chance(0.07);
  ingress(c, u, 'POST', '/api/login', '/api/login', start, (sid, t) => {
    const r = httpCall(
      c,
      'frontend',
      sid,
      { service: 'users', method: 'POST', route: '/login', path: '/login', reportRoute: false },
      t + 1,
      (usid, ut) => {
        const end =
          dbCall(c, 'users', usid, 'users', 'SELECT', ut + 0.5, c.b.r.lognormal(6, 0.3)) +
          c.b.r.lognormal(60, 0.2);
        if (failed) {
          c.b.log(
            'users',
            end,
            'WARN',
            `login failed for ${u.email} from ${u.ip}: bad password`,
            { 'user.email': u.email, 'client.address': u.ip },
            { traceId: c.traceId, spanId: usid },
          );
          return { end, status: 401 };
        }
        const token = jwt(c.b.r, u, Math.floor(ut / 1000));
        c.b.log(
          'users',
          end,
          'INFO',
          `login ok for ${u.email}; issued token Bearer ${token}`,
          { 'enduser.id': String(u.id), 'user.phone': u.phone },
          { traceId: c.traceId, spanId: usid },
        );
        return { end, status: 200 };
      },
    );
    return { end: r.end + 1, status: r.status };
  });
}

function adminReports(c: Ctx, u: DemoUser, start: number): void {
  ingress(c, u, 'GET', '/admin/reports', `/admin/reports?month=${c.b.r.int(1, 12)}`, start, (sid, t) => {
    const r = httpCall(
      c,
      'frontend',
      sid,
      {
        service: 'users',
        method: 'GET',
        route: '/admin/reports',
        path: '/admin/reports',
        reportRoute: false,
      },
      t + 1,
      (usid, ut) => ({
        end: dbCall(c, 'users', usid, 'orders', 'SELECT', ut + 1, c.b.r.lognormal(600, 0.5)) + 5,
        status: 200,
      }),
    );
    return { end: r.end + 2, status: r.status };
  });
}

function botProbe(c: Ctx, u: DemoUser, start: number): void {
  const path = c.b.r.pick(DEMO_NOISE_PATHS);
  ingress(
    c,
    u,
    'GET',
    undefined,
    path,
    start,
    (_sid, t) => ({ end: t + c.b.r.lognormal(0.6, 0.3), status: 404 }),
    'Mozilla/5.0 (compatible; zgrab/0.x)',
  );
}

/** Health checks and scrapes: single SERVER spans without a parent. */
function probe(c: Ctx, service: DemoService, route: '/healthz' | '/metrics', start: number): void {
  httpServer(
    c,
    '',
    {
      service,
      method: 'GET',
      route,
      path: route,
      extra: {
        'client.address': route === '/healthz' ? '10.0.0.1' : '10.0.9.12',
        'user_agent.original': route === '/healthz' ? 'kube-probe/1.30' : 'Prometheus/2.51.0',
      },
    },
    start,
    (_sid, t) => ({ end: t + c.b.r.lognormal(route === '/healthz' ? 0.4 : 3, 0.3), status: 200 }),
  );
}

const JOURNEY_FNS: Record<string, (c: Ctx, u: DemoUser, start: number) => void> = {
  'browse-products': browseProducts,
  'view-product': viewProduct,
  'view-cart': viewCart,
  'add-to-cart': addToCart,
  checkout,
  'order-history': orderHistory,
  login,
  'admin-reports': adminReports,
};

// ---- assembly --------------------------------------------------------------------------------------------------------

export const HTTP_DURATION_BOUNDS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;

const VERSIONS: Record<DemoService, string> = {
  frontend: '2.14.0',
  catalog: '1.9.3',
  cart: '1.4.1',
  checkout: '3.0.2',
  payment: '1.12.0',
  shipping: '0.8.5',
  users: '4.2.0',
  'order-worker': '1.1.0',
};
const LANGUAGES: Record<DemoService, string> = {
  frontend: 'nodejs',
  catalog: 'go',
  cart: 'java',
  checkout: 'go',
  payment: 'java',
  shipping: 'python',
  users: 'python',
  'order-worker': 'nodejs',
};

export function demoResource(service: DemoService): Attrs {
  return {
    'service.name': service,
    'service.namespace': 'shop',
    'service.version': VERSIONS[service],
    'deployment.environment.name': 'demo',
    'k8s.namespace.name': 'shop',
    'k8s.pod.name': `${service}-6d8f7b9c4-x2k9p`,
    'telemetry.sdk.language': LANGUAGES[service],
  };
}

function histogramPoints(
  samples: readonly Sample[],
  timeNs: string,
): Map<DemoService, ResourceMetricsModel['points'][number][]> {
  const groups = new Map<string, { s: Sample; values: number[] }>();
  for (const s of samples) {
    const k = `${s.service}\u0000${s.method}\u0000${s.route ?? ''}\u0000${s.status}`;
    const g = groups.get(k) ?? { s, values: [] };
    g.values.push(s.seconds);
    groups.set(k, g);
  }
  const out = new Map<DemoService, ResourceMetricsModel['points'][number][]>();
  for (const { s, values } of groups.values()) {
    const counts = new Array<number>(HTTP_DURATION_BOUNDS.length + 1).fill(0);
    for (const v of values) {
      let i = HTTP_DURATION_BOUNDS.findIndex((b) => v <= b);
      if (i < 0) i = HTTP_DURATION_BOUNDS.length;
      counts[i]!++;
    }
    const list = out.get(s.service) ?? [];
    list.push({
      name: 'http.server.request.duration',
      description: 'Duration of HTTP server requests.',
      unit: 's',
      type: 'histogram',
      monotonic: false,
      timeUnixNano: timeNs,
      attributes: {
        'http.request.method': s.method,
        'http.response.status_code': s.status,
        'url.scheme': 'http',
        ...(s.route ? { 'http.route': s.route } : {}),
      },
      histogram: {
        explicitBounds: [...HTTP_DURATION_BOUNDS],
        bucketCounts: counts,
        count: values.length,
        sum: Math.round(values.reduce((a, b) => a + b, 0) * 1e6) / 1e6,
      },
    });
    out.set(s.service, list);
  }
  return out;
}

/** Daily traffic cycle: quiet at night (UTC), busy in the evening. */
function diurnal(ms: number): number {
  const minuteOfDay = (ms / MINUTE) % 1440;
  return 1 + 0.35 * Math.sin(((minuteOfDay - 660) / 1440) * 2 * Math.PI);
}

/**
 * Per-minute batches over the range, in time order. Each batch holds the spans of the traces that start in that
 * minute (grouped per service), their logs, and that minute's request-duration histograms.
 */
export function* demoWorkload(opts: DemoWorkloadOptions): Generator<DemoBatch> {
  const truth = demoGroundTruth(opts);
  const { startMs, minutes } = range(opts);
  const scale = opts.rpsScale ?? 1;
  if (!(scale >= 0)) throw new Error(`demoWorkload: rpsScale must be >= 0, got ${scale}`);
  const r = new Rand(rng(opts.seed));
  const users = makeUsers(r, 200);
  for (let m = 0; m < minutes; m++) {
    const t0 = startMs + m * MINUTE;
    const b = new MinuteBuilder(r, truth, users);
    const newTrace = (): Ctx => ({ b, traceId: r.hex(16) });
    // Probes: every service, /healthz every 30 s, /metrics every 60 s (fixed phase per service).
    DEMO_SERVICES.forEach((svc, i) => {
      probe(newTrace(), svc, '/healthz', t0 + 1000 * (i + 1));
      probe(newTrace(), svc, '/healthz', t0 + 30_000 + 1000 * (i + 1));
      probe(newTrace(), svc, '/metrics', t0 + 15_000 + 1000 * i);
    });
    const load = diurnal(t0) * scale;
    for (const j of DEMO_JOURNEYS) {
      const n = r.poisson(j.ratePerMinute * load);
      for (let k = 0; k < n; k++)
        JOURNEY_FNS[j.id]!(newTrace(), r.pick(users), t0 + r.next() * (MINUTE - 3000));
    }
    const bots = r.poisson(0.8 * scale);
    for (let k = 0; k < bots; k++) botProbe(newTrace(), r.pick(users), t0 + r.next() * (MINUTE - 1000));

    const traces: ResourceSpansModel[] = [];
    const logs: ResourceLogsModel[] = [];
    for (const svc of DEMO_SERVICES) {
      const spans = b.spans.get(svc);
      if (spans?.length) traces.push({ resource: demoResource(svc), scope: `shop.${svc}`, spans });
      const ls = b.logs.get(svc);
      if (ls?.length) logs.push({ resource: demoResource(svc), scope: `shop.${svc}.log`, logs: ls });
    }
    const points = histogramPoints(b.samples, ns(t0 + MINUTE));
    const metrics: ResourceMetricsModel[] = [];
    for (const svc of DEMO_SERVICES) {
      const p = points.get(svc);
      if (p?.length) metrics.push({ resource: demoResource(svc), scope: 'io.opentelemetry.http', points: p });
    }
    yield { minuteStartMs: t0, traces, logs, metrics };
  }
}
