import { describe, expect, it } from 'vitest';
import type { LogModel, SpanModel } from '../../core/otlp/model.js';
import { SpanKind, StatusCode } from '../../core/otlp/model.js';
import {
  RouteFolder,
  TemplateMiner,
  createRedactor,
  fingerprintLog,
  fingerprintRawLog,
  fingerprintSpan,
  severityNumberFromText,
} from '../../core/fingerprint/index.js';
import { fnv1a32, fnv1a64, stableId } from '../../core/hash.js';
import { FingerprintBatch, FingerprintedRecord } from '../../events/schemas.js';
import { validate } from '../../events/validate.js';

const spanDeps = () => ({ redactor: createRedactor(), routes: new RouteFolder() });
const logDeps = () => ({ redactor: createRedactor(), miner: new TemplateMiner() });

function span(over: Partial<SpanModel> = {}): SpanModel {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '00f067aa0ba902b7',
    name: 'GET',
    kind: SpanKind.SERVER,
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000250500000',
    statusCode: StatusCode.UNSET,
    statusMessage: '',
    attributes: {
      'http.request.method': 'GET',
      'url.path': '/users/42/orders',
      'http.response.status_code': 200,
    },
    resource: { 'service.name': 'checkout' },
    scope: 'test',
    ...over,
  };
}

function log(over: Partial<LogModel> = {}): LogModel {
  return {
    timeUnixNano: '1700000000000000000',
    observedTimeUnixNano: '1700000000100000000',
    severityNumber: 9,
    severityText: 'INFO',
    body: 'user jo@example.com logged in from 10.1.2.3',
    attributes: {},
    resource: { 'service.name': 'auth' },
    traceId: '',
    spanId: '',
    ...over,
  };
}

function expectValid(rec: FingerprintedRecord): void {
  const v = validate(FingerprintedRecord, rec);
  expect(v.ok, v.ok ? '' : v.error).toBe(true);
}

describe('fingerprintSpan', () => {
  it('builds a normalised, validated record', () => {
    const rec = fingerprintSpan(span(), spanDeps());
    expectValid(rec);
    expect(rec).toMatchObject({
      kind: 'span',
      service: 'checkout',
      operation: 'GET /users/{id}/orders',
      template: 'GET /users/{id}/orders',
      template_id: stableId('op_', 'checkout\u0000GET /users/{id}/orders'),
      time_unix_nano: '1700000000000000000',
      duration_ms: 250.5,
      status: 'ok',
      http_status: 200,
      span_kind: 'server',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
      parent_span_id: '00f067aa0ba902b7',
    });
    expect(rec.attributes['url.path']).toBe('/users/{id}/orders');
    expect(rec.redactions).toBeUndefined();
  });

  it('uses unknown_service, omits the root parent id and clamps negative durations', () => {
    const rec = fingerprintSpan(
      span({ resource: {}, parentSpanId: '', endTimeUnixNano: '1699999999000000000' }),
      spanDeps(),
    );
    expect(rec.service).toBe('unknown_service');
    expect(rec.parent_span_id).toBeUndefined();
    expect(rec.duration_ms).toBe(0);
    expectValid(rec);
  });

  it('computes durations exactly from nanosecond strings beyond 2^53', () => {
    const rec = fingerprintSpan(
      span({ startTimeUnixNano: '1700000000000000001', endTimeUnixNano: '1700000000000000002' }),
      spanDeps(),
    );
    expect(rec.duration_ms).toBe(0.000001);
  });

  it.each([
    [{ statusCode: StatusCode.ERROR }, {}, 'error'],
    [{}, { 'http.response.status_code': 503 }, 'error'],
    [{}, { 'http.status_code': '500' }, 'error'],
    [{}, { 'http.response.status_code': 404 }, 'ok'],
    // One definition of a fault for every span kind: a 5xx answer is a failed call for the client too.
    [{ kind: SpanKind.CLIENT }, { 'http.response.status_code': 503 }, 'error'],
    // 4xx and cancellations are never bad, even when the instrumentation set an ERROR status.
    [{ statusCode: StatusCode.ERROR }, { 'http.response.status_code': 404 }, 'ok'],
    [{ statusCode: StatusCode.ERROR }, { 'rpc.grpc.status_code': 1 }, 'ok'],
    [{ statusCode: StatusCode.ERROR }, { 'error.type': 'RequestCancelled' }, 'unset'],
    [{}, { 'rpc.grpc.status_code': 14 }, 'error'],
    [{}, { 'rpc.grpc.status_code': 13 }, 'error'],
    [{}, { 'rpc.grpc.status_code': 4 }, 'error'],
    [{}, { 'rpc.grpc.status_code': 1 }, 'ok'],
    [{}, { 'rpc.grpc.status_code': 5 }, 'ok'],
    [{}, { 'rpc.response.status_code': 'UNAVAILABLE' }, 'error'],
    [{ statusCode: StatusCode.OK }, {}, 'ok'],
  ] as [Partial<SpanModel>, Record<string, string | number>, string][])(
    'status %j %j -> %s',
    (over, attrs, want) => {
      const s = span({ ...over, attributes: { 'http.request.method': 'GET', 'url.path': '/x', ...attrs } });
      const attrsOnly = { ...s.attributes };
      if (!('http.response.status_code' in attrs) && !('http.status_code' in attrs))
        delete attrsOnly['http.response.status_code'];
      expect(fingerprintSpan({ ...s, attributes: attrsOnly }, spanDeps()).status).toBe(want);
    },
  );

  it('reports unset when nothing says ok or error', () => {
    const rec = fingerprintSpan(
      span({ kind: SpanKind.INTERNAL, name: 'compute', attributes: {} }),
      spanDeps(),
    );
    expect(rec.status).toBe('unset');
    expect(rec.span_kind).toBe('internal');
    expect(rec.operation).toBe('compute');
  });

  it('redacts attributes, drops raw URLs and counts redactions', () => {
    const rec = fingerprintSpan(
      span({
        attributes: {
          'http.request.method': 'POST',
          'url.full': 'https://bob:pw@shop.example.com/users/jo@example.com?token=abc',
          'url.path': '/users/jo@example.com',
          'url.query': 'token=abc',
          'enduser.email': 'jo@example.com',
          'http.request.header.authorization': 'Bearer xyz',
        },
      }),
      spanDeps(),
    );
    expectValid(rec);
    expect(rec.operation).toBe('POST /users/{email}');
    expect(rec.attributes['url.full']).toBeUndefined();
    expect(rec.attributes['url.query']).toBeUndefined();
    expect(rec.attributes['url.path']).toBe('/users/{email}');
    expect(rec.attributes['enduser.email']).toBe('<EMAIL>');
    expect(rec.attributes['http.request.header.authorization']).toBe('<SECRET>');
    expect(JSON.stringify(rec)).not.toContain('jo@example.com');
    expect(rec.redactions).toEqual({ secret_attr: 1, email: 1 });
  });

  it('folds exploding routes through the RouteFolder', () => {
    const deps = { redactor: createRedactor(), routes: new RouteFolder({ cap: 2 }) };
    const ops = ['alpha', 'beta', 'gamma'].map(
      (w) =>
        fingerprintSpan(span({ attributes: { 'http.request.method': 'GET', 'url.path': `/p/${w}` } }), deps)
          .operation,
    );
    expect(ops).toEqual(['GET /p/alpha', 'GET /p/beta', 'GET /p/{var}']);
  });

  it('names gRPC and messaging spans', () => {
    const grpc = fingerprintSpan(
      span({
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': 'cart.Cart',
          'rpc.method': 'Get',
          'rpc.grpc.status_code': 0,
        },
      }),
      spanDeps(),
    );
    expect(grpc.operation).toBe('cart.Cart/Get');
    expect(grpc.rpc_code).toBe(0);
    expect(grpc.status).toBe('ok');
    const msg = fingerprintSpan(
      span({
        kind: SpanKind.CONSUMER,
        attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' },
      }),
      spanDeps(),
    );
    expect(msg.operation).toBe('process orders');
    expect(msg.span_kind).toBe('consumer');
  });
});

describe('fingerprintLog', () => {
  it('redacts before mining, so neither template nor params hold PII', () => {
    const deps = logDeps();
    const a = fingerprintLog(log(), deps);
    const b = fingerprintLog(log({ body: 'user al@example.org logged in from 10.9.8.7' }), deps);
    expectValid(a);
    expect(a.template).toBe('user <EMAIL> logged in from <IP>');
    expect(b.template_id).toBe(a.template_id);
    expect(a.operation).toBe(a.template_id);
    expect(a.redactions).toEqual({ email: 1, ipv4: 1 });
    expect(JSON.stringify([a, b])).not.toMatch(/example\.(com|org)|10\.1\.2\.3/);
  });

  it('returns the params of the masked parts', () => {
    const deps = logDeps();
    fingerprintLog(log({ body: 'took 12ms for order 991' }), deps);
    const r = fingerprintLog(log({ body: 'took 30ms for order 1234' }), deps);
    expect(r.template).toBe('took <*> for order <*>');
    expect(r.params).toEqual(['30ms', '1234']);
  });

  it.each([
    [17, '', 'error'],
    [21, 'FATAL', 'error'],
    [0, 'error', 'error'],
    [0, 'Fatal', 'error'],
    [13, 'WARN', 'ok'],
    [9, 'INFO', 'ok'],
    [0, '', 'unset'],
  ] as [number, string, string][])('severity %d %j -> %s', (severityNumber, severityText, want) => {
    expect(fingerprintLog(log({ severityNumber, severityText }), logDeps()).status).toBe(want);
  });

  it('falls back to the observed time and copies trace context', () => {
    const rec = fingerprintLog(
      log({ timeUnixNano: '0', traceId: 'aa'.repeat(16), spanId: 'bb'.repeat(8) }),
      logDeps(),
    );
    expect(rec.time_unix_nano).toBe('1700000000100000000');
    expect(rec.trace_id).toBe('aa'.repeat(16));
    expect(rec.span_id).toBe('bb'.repeat(8));
  });
});

describe('fingerprintRawLog', () => {
  it('maps Fluent Bit records: severity from the field, an attribute or the body', () => {
    const deps = logDeps();
    const base = {
      time_unix_nano: '1700000000000000000',
      attributes: {},
      resource: { 'service.name': 'web' },
    };
    const a = fingerprintRawLog({ ...base, body: 'disk full on /dev/sda1', severity: 'error' }, deps);
    expect(a.status).toBe('error');
    expect(a.service).toBe('web');
    const b = fingerprintRawLog(
      { ...base, body: 'cache warmed', attributes: { level: 'warning', service: 'x' } },
      deps,
    );
    expect(b.status).toBe('ok');
    const c = fingerprintRawLog(
      {
        ...base,
        body: '2024-01-31 10:00:00,123 ERROR [main] boom',
        resource: {},
        attributes: { service: 'batch' },
      },
      deps,
    );
    expect(c.status).toBe('error');
    expect(c.service).toBe('batch');
    const d = fingerprintRawLog(
      { ...base, body: 'hello', attributes: { password: 'hunter2', trace_id: 'ABCDEF01' } },
      deps,
    );
    expect(d.attributes['password']).toBe('<SECRET>');
    expect(d.trace_id).toBe('abcdef01');
    expect(d.status).toBe('unset');
    const batch = validate(FingerprintBatch, { records: [a, b, c, d] });
    expect(batch.ok, batch.ok ? '' : batch.error).toBe(true);
  });

  it('maps severity words to OTLP numbers', () => {
    expect(severityNumberFromText('debug')).toBe(5);
    expect(severityNumberFromText('WARNING')).toBe(13);
    expect(severityNumberFromText('critical')).toBe(21);
    expect(severityNumberFromText('chatty')).toBe(0);
  });
});

describe('core/hash', () => {
  it('stableId is prefix + 16 hex of sha256', () => {
    expect(stableId('tpl_', 'x')).toBe('tpl_2d711642b726b044');
    expect(stableId('op_', 'a')).toMatch(/^op_[0-9a-f]{16}$/);
  });
  it('FNV-1a matches the published test vectors (UTF-8 bytes)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
    expect(fnv1a32('é')).not.toBe(fnv1a32('e'));
  });
});
