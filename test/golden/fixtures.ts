/**
 * Deterministic analysis input shared by the analysis and generate tests: six hours of per-minute rollups for a
 * small shop (checkout -> payments -> fraud, checkout -> inventory (gRPC), checkout -> order-events -> orders-worker,
 * catalog with little traffic), plus health checks and probes that must not become journeys.
 */
import type { Rollup } from '../../events/schemas.js';
import type { AnalysisInput, CallEdge, InventoryMetric, OperationInfo } from '../../core/analysis/index.js';

export const BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
export const WINDOW = {
  start: new Date('2026-03-01T00:00:00.000Z'),
  end: new Date('2026-03-01T06:00:00.000Z'),
};

interface OpSpec {
  service: string;
  key: string;
  /** Requests in minute i. */
  count: (i: number) => number;
  errors: (i: number) => number;
  /** Per-bucket shape for 30 requests (12 entries); scaled for other counts. */
  shape: number[];
}

const SHAPES = {
  checkout: [0, 2, 5, 10, 8, 3, 1, 1, 0, 0, 0, 0],
  fast: [0, 5, 10, 10, 5, 0, 0, 0, 0, 0, 0, 0],
  worker: [0, 0, 0, 5, 10, 10, 4, 1, 0, 0, 0, 0],
};

const OPS: OpSpec[] = [
  {
    service: 'checkout',
    key: 'POST /api/checkout',
    count: () => 30,
    errors: (i) => (i % 20 === 0 ? 1 : 0),
    shape: SHAPES.checkout,
  },
  { service: 'checkout', key: 'GET /healthz', count: () => 6, errors: () => 0, shape: SHAPES.fast },
  { service: 'checkout', key: 'GET /internal/warmup', count: () => 2, errors: () => 0, shape: SHAPES.fast },
  { service: 'checkout', key: 'SELECT orders', count: () => 30, errors: () => 0, shape: SHAPES.fast },
  {
    service: 'payments',
    key: 'POST /charge',
    count: () => 30,
    errors: (i) => (i === 100 ? 1 : 0),
    shape: SHAPES.fast,
  },
  {
    service: 'fraud',
    key: 'POST /score',
    count: () => 30,
    errors: (i) => (i % 60 === 30 ? 2 : 0),
    shape: SHAPES.fast,
  },
  {
    service: 'catalog',
    key: 'GET /api/products/{id}',
    count: (i) => (i % 3 === 0 ? 1 : 0),
    errors: () => 0,
    shape: SHAPES.fast,
  },
  {
    service: 'orders-worker',
    key: 'process order-events',
    count: () => 30,
    errors: () => 0,
    shape: SHAPES.worker,
  },
  {
    service: 'inventory',
    key: 'inventory.v1.InventoryService/Reserve',
    count: () => 30,
    errors: () => 0,
    shape: SHAPES.fast,
  },
];

function scaled(shape: number[], n: number): number[] {
  if (n === 30) return [...shape];
  // Put all n observations in the shape's median bucket.
  const out = new Array<number>(shape.length).fill(0);
  out[3] = n;
  return out;
}

export function fixtureRollups(): Rollup[] {
  const rows: Rollup[] = [];
  const minutes = (WINDOW.end.getTime() - WINDOW.start.getTime()) / 60_000;
  for (let i = 0; i < minutes; i++) {
    const minute = new Date(WINDOW.start.getTime() + i * 60_000).toISOString();
    for (const op of OPS) {
      const count = op.count(i);
      if (count === 0) continue;
      const counts = scaled(op.shape, count);
      rows.push({
        minute,
        service: op.service,
        kind: 'operation',
        key: op.key,
        count,
        errors: op.errors(i),
        sum_ms: counts.reduce((a, c, j) => a + c * (BOUNDS_MS[j] ?? 10000) * 0.6, 0),
        latency: { bounds_ms: BOUNDS_MS, counts },
      });
    }
  }
  // A rollup outside the window must be ignored.
  rows.push({
    minute: '2026-03-01T06:00:00.000Z',
    service: 'checkout',
    kind: 'operation',
    key: 'POST /api/checkout',
    count: 1000,
    errors: 1000,
    sum_ms: 0,
    latency: { bounds_ms: BOUNDS_MS, counts: [1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
  });
  return rows;
}

export const OPERATIONS: OperationInfo[] = [
  { service: 'checkout', operation: 'POST /api/checkout', spanKind: 'server', isEntry: true, isRoot: true },
  { service: 'checkout', operation: 'GET /healthz', spanKind: 'server', isEntry: true, isRoot: true },
  {
    service: 'checkout',
    operation: 'GET /internal/warmup',
    spanKind: 'server',
    isEntry: true,
    isRoot: true,
    userAgents: ['kube-probe/1.29'],
  },
  { service: 'checkout', operation: 'SELECT orders', spanKind: 'client', isEntry: false, isRoot: false },
  {
    service: 'checkout',
    operation: 'publish order-events',
    spanKind: 'producer',
    isEntry: false,
    isRoot: false,
  },
  { service: 'checkout', operation: 'cleanup carts', spanKind: 'internal', isEntry: true, isRoot: true },
  { service: 'payments', operation: 'POST /charge', spanKind: 'server', isEntry: true, isRoot: false },
  { service: 'fraud', operation: 'POST /score', spanKind: 'server', isEntry: true, isRoot: false },
  {
    service: 'catalog',
    operation: 'GET /api/products/{id}',
    spanKind: 'server',
    isEntry: true,
    isRoot: true,
  },
  {
    service: 'orders-worker',
    operation: 'process order-events',
    spanKind: 'consumer',
    isEntry: true,
    isRoot: false,
  },
  {
    service: 'inventory',
    operation: 'inventory.v1.InventoryService/Reserve',
    spanKind: 'server',
    isEntry: true,
    isRoot: false,
  },
  {
    service: 'inventory',
    operation: 'grpc.health.v1.Health/Check',
    spanKind: 'server',
    isEntry: true,
    isRoot: true,
  },
];

export const EDGES: CallEdge[] = [
  {
    service: 'checkout',
    operation: 'POST /api/checkout',
    parentService: '',
    parentOperation: '',
    count: 10800,
  },
  {
    service: 'checkout',
    operation: 'SELECT orders',
    parentService: 'checkout',
    parentOperation: 'POST /api/checkout',
    count: 10800,
  },
  {
    service: 'checkout',
    operation: 'publish order-events',
    parentService: 'checkout',
    parentOperation: 'POST /api/checkout',
    count: 10800,
  },
  {
    service: 'payments',
    operation: 'POST /charge',
    parentService: 'checkout',
    parentOperation: 'POST /api/checkout',
    count: 10800,
  },
  {
    service: 'fraud',
    operation: 'POST /score',
    parentService: 'payments',
    parentOperation: 'POST /charge',
    count: 10800,
  },
  {
    service: 'inventory',
    operation: 'inventory.v1.InventoryService/Reserve',
    parentService: 'checkout',
    parentOperation: 'POST /api/checkout',
    count: 10800,
  },
  {
    service: 'orders-worker',
    operation: 'process order-events',
    parentService: 'checkout',
    parentOperation: 'publish order-events',
    count: 10800,
  },
  // A cycle must not loop forever.
  {
    service: 'payments',
    operation: 'POST /charge',
    parentService: 'fraud',
    parentOperation: 'POST /score',
    count: 1,
  },
];

export const INVENTORY: InventoryMetric[] = [
  {
    name: 'http_server_request_duration_seconds',
    type: 'histogram',
    labels: ['http_request_method', 'http_response_status_code', 'http_route', 'service_name'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    services: ['checkout', 'catalog'],
  },
  {
    name: 'http_requests_total',
    type: 'counter',
    labels: ['code', 'handler', 'job', 'method'],
    services: ['payments'],
  },
  {
    name: 'http_request_duration_seconds',
    type: 'histogram',
    labels: ['handler', 'job', 'le', 'method'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1],
    services: ['payments'],
  },
  {
    name: 'grpc_server_handled_total',
    type: 'counter',
    labels: ['grpc_code', 'grpc_method', 'grpc_service', 'job'],
    services: ['inventory'],
  },
  { name: 'kafka_consumergroup_lag', type: 'gauge', labels: ['consumergroup', 'partition', 'topic'] },
];

export function analysisFixture(): AnalysisInput {
  return {
    window: WINDOW,
    rollups: fixtureRollups(),
    operations: OPERATIONS,
    edges: EDGES,
    inventory: INVENTORY,
    templates: [
      {
        service: 'checkout',
        templateId: 't-created',
        template: 'order <*> created for cart <*>',
        count: 10800,
        errors: 0,
      },
      {
        service: 'checkout',
        templateId: 't-declined',
        template: 'payment declined for order <*>: <*>',
        count: 40,
        errors: 18,
      },
      {
        service: 'payments',
        templateId: 't-charge',
        template: 'charge <*> captured',
        count: 10800,
        errors: 0,
      },
    ],
  };
}
