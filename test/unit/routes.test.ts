import { describe, expect, it } from 'vitest';
import type { SpanModel } from '../../core/otlp/model.js';
import { SpanKind } from '../../core/otlp/model.js';
import {
  RouteFolder,
  classifySegment,
  httpRoute,
  normaliseName,
  normalisePath,
  spanOperation,
} from '../../core/fingerprint/routes.js';

describe('normalisePath', () => {
  it.each([
    ['/users/123/orders/9f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f', '/users/{id}/orders/{uuid}'],
    ['/users/123?expand=true#frag', '/users/{id}'],
    ['//api///v1//items/', '/api/v1/items'],
    ['/', '/'],
    ['', '/'],
    ['/blobs/e3b0c44298fc1c149afbf4c8996fb924', '/blobs/{hash}'],
    ['/users/jo.doe@example.com/profile', '/users/{email}/profile'],
    ['/users/jo.doe%40example.com', '/users/{email}'],
    ['/reports/2024-01-31', '/reports/{date}'],
    ['/reports/20240131/summary', '/reports/{date}/summary'],
    ['/reports/20241399', '/reports/{id}'],
    ['/sessions/aGVsbG8gd29ybGQxMjM0NTY3', '/sessions/{token}'],
    ['/charges/ch_3MmlLrLkdIwHu7ix0snN0B15', '/charges/{token}'],
    ['/k/x9f3k2l1', '/k/{token}'],
    ['/hosts/10.0.0.12/metrics', '/hosts/{ip}/metrics'],
    ['/files/12345.json', '/files/{id}.json'],
    ['/orders/order-42', '/orders/order-{id}'],
    ['/api/v2/oauth2/token', '/api/v2/oauth2/token'],
    ['/api/getUserProfileByIdAndName', '/api/getUserProfileByIdAndName'],
    ['/static/app.min.js', '/static/app.min.js'],
    ['https://shop.example.com:8443/cart/77?x=1', '/cart/{id}'],
    ['/users/{id}/orders/:orderId', '/users/{id}/orders/:orderId'],
    ['/releases/1.2.3', '/releases/{id}'],
  ])('%s -> %s', (input, expected) => {
    expect(normalisePath(input)).toBe(expected);
  });

  it('keeps static words and short mixed words', () => {
    for (const s of ['users', 'v1', 'abc123', 'health', 'x86']) expect(classifySegment(s)).toBeNull();
  });
});

describe('normaliseName', () => {
  it('replaces variable words and path words', () => {
    expect(normaliseName('GET /users/42')).toBe('GET /users/{id}');
    expect(normaliseName('process job 12345 for 550e8400-e29b-41d4-a716-446655440000')).toBe(
      'process job {id} for {uuid}',
    );
    expect(normaliseName('SELECT orders')).toBe('SELECT orders');
  });
});

describe('RouteFolder', () => {
  it('folds a position once its distinct children exceed the cap', () => {
    const f = new RouteFolder({ cap: 3 });
    expect(f.fold('svc', 'GET', '/u/alice/profile')).toBe('/u/alice/profile');
    expect(f.fold('svc', 'GET', '/u/bob/profile')).toBe('/u/bob/profile');
    expect(f.fold('svc', 'GET', '/u/carol/profile')).toBe('/u/carol/profile');
    expect(f.fold('svc', 'GET', '/u/dave/profile')).toBe('/u/{var}/profile');
    // once folded, every child (old or new) folds
    expect(f.fold('svc', 'GET', '/u/alice/profile')).toBe('/u/{var}/profile');
    expect(f.fold('svc', 'GET', '/u/erin/settings')).toBe('/u/{var}/settings');
    expect(f.foldedCount()).toBe(1);
    // other service / method keep their own budget
    expect(f.fold('svc', 'POST', '/u/dave/profile')).toBe('/u/dave/profile');
    expect(f.fold('other', 'GET', '/u/dave/profile')).toBe('/u/dave/profile');
  });

  it('never counts placeholders as distinct children', () => {
    const f = new RouteFolder({ cap: 2 });
    for (let i = 0; i < 10; i++) expect(f.fold('s', 'GET', '/items/{id}')).toBe('/items/{id}');
    expect(f.foldedCount()).toBe(0);
  });

  it('bounds the number of templates under a route explosion', () => {
    const f = new RouteFolder({ cap: 50 });
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++)
      seen.add(f.fold('s', 'GET', `/search/term${String.fromCharCode(97 + (i % 26))}${i}x/page`));
    expect(seen.size).toBeLessThanOrEqual(51);
  });

  it('is deterministic and survives snapshot/restore', () => {
    const paths = Array.from({ length: 80 }, (_, i) => `/t/w${String.fromCharCode(97 + (i % 26))}${i}q/x`);
    const a = new RouteFolder({ cap: 10 });
    const b = new RouteFolder({ cap: 10 });
    const outA = paths.map((p) => a.fold('s', 'GET', p));
    const outB = paths.map((p) => b.fold('s', 'GET', p));
    expect(outA).toEqual(outB);
    const c = RouteFolder.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(c.fold('s', 'GET', '/t/new/x')).toBe(a.fold('s', 'GET', '/t/new/x'));
  });

  it('rejects a bad cap', () => {
    expect(() => new RouteFolder({ cap: 0 })).toThrow(/cap/);
  });
});

function span(over: Partial<SpanModel>): SpanModel {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    name: 'span',
    kind: SpanKind.SERVER,
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000250000000',
    statusCode: 0,
    statusMessage: '',
    attributes: {},
    resource: { 'service.name': 'checkout' },
    scope: 'test',
    ...over,
  };
}

describe('spanOperation', () => {
  it('uses http.route when present', () => {
    expect(
      spanOperation(span({ attributes: { 'http.request.method': 'get', 'http.route': '/users/:id' } })),
    ).toBe('GET /users/:id');
  });
  it('normalises url.path / http.target / url.full otherwise', () => {
    expect(
      spanOperation(span({ attributes: { 'http.method': 'POST', 'http.target': '/orders/42?x=1' } })),
    ).toBe('POST /orders/{id}');
    expect(
      spanOperation(
        span({
          attributes: { 'http.request.method': 'GET', 'url.full': 'https://a.b/c/7f9a1b2c3d4e5f60718293a4' },
        }),
      ),
    ).toBe('GET /c/{hash}');
    expect(spanOperation(span({ name: 'GET /things/9', attributes: { 'http.method': 'GET' } }))).toBe(
      'GET /things/{id}',
    );
    expect(httpRoute(span({ attributes: {} }))).toBeNull();
  });
  it('names gRPC spans service/method', () => {
    expect(
      spanOperation(
        span({ attributes: { 'rpc.system': 'grpc', 'rpc.service': 'shop.Cart', 'rpc.method': 'AddItem' } }),
      ),
    ).toBe('shop.Cart/AddItem');
    expect(spanOperation(span({ name: 'shop.Cart/Get', attributes: { 'rpc.system': 'grpc' } }))).toBe(
      'shop.Cart/Get',
    );
  });
  it('names messaging spans by destination', () => {
    expect(
      spanOperation(
        span({
          kind: SpanKind.CONSUMER,
          attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' },
        }),
      ),
    ).toBe('process orders');
    expect(
      spanOperation(
        span({
          kind: SpanKind.PRODUCER,
          attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' },
        }),
      ),
    ).toBe('publish orders');
  });
  it('normalises other span names', () => {
    expect(spanOperation(span({ kind: SpanKind.INTERNAL, name: 'load cart 12345' }))).toBe('load cart {id}');
  });
});

describe('letters-only tokens', () => {
  it('tells random base64 from camelCase', () => {
    expect(classifySegment('kHqWzPxRtYbNmLcVgFdSjQwE')).toBe('{token}');
    expect(classifySegment('getUserProfileByIdAndName')).toBeNull();
  });
});
