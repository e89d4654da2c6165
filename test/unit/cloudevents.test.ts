import { describe, expect, it } from 'vitest';
import {
  fromBusRecord,
  fromHttp,
  newEvent,
  toBusRecord,
  toHttpBinary,
  toStructured,
  type CloudEvent,
} from '../../events/cloudevents.js';
import { TOPICS } from '../../events/registry.js';

const logs = {
  source: 'fluentbit-http',
  tag: 'web',
  records: [
    {
      time_unix_nano: '1717243200000000000',
      body: 'hello',
      attributes: {},
      resource: { 'service.name': 'web' },
    },
  ],
};
/** A minimal well-formed OTLP export request: field 1, length-delimited, empty. */
const OTLP = new Uint8Array([0x0a, 0x00]);

function sample(over: Partial<Parameters<typeof newEvent>[1]> = {}): CloudEvent {
  return newEvent(TOPICS.rawLogs, {
    source: '/slo-scout/collectors/fluentbit',
    data: logs,
    subject: 'web',
    time: '2024-06-01T12:00:00.000Z',
    extensions: { tenant: 'acme', partitionkey: 'web' },
    ...over,
  });
}

const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

describe('newEvent', () => {
  it('fills the registry attributes and encodes the payload', () => {
    const ev = sample();
    expect(ev).toMatchObject({
      specversion: '1.0',
      type: 'io.sloscout.logs.raw.v1',
      datacontenttype: 'application/json',
      dataschema: 'urn:slo-scout:schema:slo-scout.logs.raw.v1:1.0.0',
    });
    expect(JSON.parse(new TextDecoder().decode(ev.data))).toEqual(logs);
  });

  it('refuses invalid extension names and invalid payloads', () => {
    expect(() => sample({ extensions: { 'Bad-Name': 'x' } })).toThrow(
      /invalid CloudEvents extension name: Bad-Name/,
    );
    expect(() => sample({ extensions: { type: 'x' } })).toThrow(/invalid CloudEvents extension name: type/);
    expect(() => sample({ data: { source: 'nope', records: [] } })).toThrow(
      /refusing to publish to slo-scout.logs.raw.v1/,
    );
  });
});

describe('Kafka binding', () => {
  it('binary mode round-trips attributes, extensions and data', () => {
    const ev = sample();
    const rec = toBusRecord(ev, 'web');
    expect(rec.key).toBe('web');
    expect(rec.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: ev.id,
      ce_type: ev.type,
      ce_subject: 'web',
      ce_tenant: 'acme',
      'content-type': 'application/json',
    });
    expect(fromBusRecord(rec)).toEqual({ ok: true, value: ev });
  });

  it('binary mode keeps protobuf bytes untouched', () => {
    const ev = newEvent(TOPICS.otlpTraces, { source: '/c', data: OTLP, extensions: { signal: 'traces' } });
    const back = fromBusRecord(toBusRecord(ev, null));
    expect(back.ok && back.value.data).toEqual(OTLP);
    expect(back.ok && back.value.datacontenttype).toBe('application/x-protobuf');
  });

  it('structured mode (application/cloudevents+json) is read too', () => {
    const ev = sample();
    const back = fromBusRecord({
      headers: { 'Content-Type': 'application/cloudevents+json; charset=utf-8' },
      value: json(toStructured(ev)),
    });
    expect(back).toEqual({ ok: true, value: ev });
  });

  it('says why a record is not a CloudEvent', () => {
    expect(fromBusRecord({ headers: {}, value: json({ a: 1 }) })).toEqual({
      ok: false,
      error: 'record is not a CloudEvent: no ce_specversion header and not structured',
    });
    const r = fromBusRecord({
      headers: { ce_specversion: '0.3', ce_id: '1', ce_source: 's', ce_type: 't' },
      value: OTLP,
    });
    expect(r).toEqual({ ok: false, error: 'unsupported CloudEvents specversion 0.3' });
    const m = fromBusRecord({ headers: { ce_specversion: '1.0', ce_id: '1', ce_type: 't' }, value: OTLP });
    expect(!m.ok && m.error).toBe('CloudEvent is missing one of the required attributes id, source, type');
  });
});

describe('HTTP binding', () => {
  it('binary mode percent-encodes header values and decodes them back', () => {
    const ev = sample({ subject: 'café "menu" 100% done', extensions: { tenant: 'a b/ü' } });
    const { headers, body } = toHttpBinary(ev);
    // Every header value is printable ASCII without space, '"' or a bare '%' sequence that is not an escape.
    for (const v of Object.values(headers)) expect(v).toMatch(/^[\x21-\x7e]*$/);
    expect(headers['ce-subject']).toBe('caf%C3%A9%20%22menu%22%20100%25%20done');
    expect(() => new Headers(headers)).not.toThrow();
    expect(fromHttp(headers, body)).toEqual({ ok: true, value: [ev] });
  });

  it('binary mode decodes percent-encoded values from other producers, and joins repeated headers', () => {
    const r = fromHttp(
      {
        'CE-SpecVersion': '1.0',
        'ce-id': 'x1',
        'ce-source': '/a%2Fb',
        'ce-type': TOPICS.rawLogs.ceType,
        'ce-tags': ['a', 'b'],
        'content-type': 'application/json; charset=utf-8',
      },
      json(logs),
    );
    expect(r.ok && r.value[0]).toMatchObject({
      source: '/a/b',
      extensions: { tags: 'a,b' },
      datacontenttype: 'application/json',
    });
  });

  it('structured mode round-trips JSON data and base64 data', () => {
    const ev = sample();
    const s = fromHttp({ 'content-type': 'application/cloudevents+json' }, json(toStructured(ev)));
    expect(s).toEqual({ ok: true, value: [ev] });
    const bin = newEvent(TOPICS.otlpLogs, { source: '/c', data: OTLP, time: '2024-06-01T00:00:00.000Z' });
    const st = toStructured(bin);
    expect(st['data_base64']).toBe(Buffer.from(OTLP).toString('base64'));
    expect(fromHttp({ 'content-type': 'application/cloudevents+json' }, json(st))).toEqual({
      ok: true,
      value: [bin],
    });
  });

  it('batched mode yields every event in order', () => {
    const a = sample();
    const b = sample({ subject: 'other' });
    const r = fromHttp(
      { 'content-type': 'application/cloudevents-batch+json' },
      json([toStructured(a), toStructured(b)]),
    );
    expect(r).toEqual({ ok: true, value: [a, b] });
  });

  it('bad inputs give clear errors', () => {
    const cases: [Record<string, string>, Uint8Array, string][] = [
      [{ 'content-type': 'application/json' }, json(logs), 'not a CloudEvent: expected ce-* headers'],
      [
        { 'content-type': 'application/cloudevents+json' },
        new TextEncoder().encode('{'),
        'structured CloudEvent is not JSON',
      ],
      [
        { 'content-type': 'application/cloudevents+json' },
        json([1]),
        'structured CloudEvent must be a JSON object',
      ],
      [
        { 'content-type': 'application/cloudevents+json' },
        json({ specversion: '1.0', id: 'x', type: 't' }),
        'structured CloudEvent lacks string attribute "source"',
      ],
      [
        { 'content-type': 'application/cloudevents+json' },
        json({ specversion: '0.3' }),
        'unsupported CloudEvents specversion 0.3',
      ],
      [
        { 'content-type': 'application/cloudevents-batch+json' },
        json({}),
        'batched CloudEvents body must be a JSON array',
      ],
      [
        { 'content-type': 'application/cloudevents-batch+json' },
        new TextEncoder().encode('[{'),
        'batched CloudEvents body is not JSON',
      ],
      [
        { 'content-type': 'application/cloudevents-batch+json' },
        json([toStructured(sample()), { specversion: '1.0' }]),
        'event #1: structured CloudEvent lacks string attribute "id"',
      ],
      [
        { 'ce-specversion': '1.0', 'ce-source': 's', 'ce-type': 't' },
        json(logs),
        'missing one of the required attributes',
      ],
    ];
    for (const [headers, body, msg] of cases) {
      const r = fromHttp(headers, body);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toContain(msg);
    }
  });
});
