/**
 * CloudEvents 1.0 codecs for the two transports we speak: the Kafka protocol binding (binary and structured mode)
 * and the HTTP protocol binding (binary, structured and batched mode, as a KafkaSource or broker delivers them).
 * Payloads always stay bytes here; decoding them is the registry's job (validate.ts).
 */
import { randomUUID } from 'node:crypto';
import { err, ok, type Result } from '../core/result.js';
import type { BusRecord } from '../core/ports.js';
import { encodePayload } from './validate.js';
import type { TopicDef } from './registry.js';

export interface CloudEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time?: string;
  readonly subject?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  /** Extension attributes (lower-case alphanumeric names), e.g. `partitionkey`, `signal`, `tenant`. */
  readonly extensions: Readonly<Record<string, string>>;
  readonly data: Uint8Array;
}

const CORE = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
]);
const EXT_NAME = /^[a-z0-9]{1,20}$/;

export interface NewEvent {
  readonly source: string;
  readonly data: unknown;
  readonly id?: string;
  readonly subject?: string;
  readonly time?: string;
  readonly extensions?: Readonly<Record<string, string>>;
}

/** Builds a validated CloudEvent for a registry topic. Invalid data is a producer bug and throws. */
export function newEvent(def: TopicDef, e: NewEvent): CloudEvent {
  for (const k of Object.keys(e.extensions ?? {})) {
    if (!EXT_NAME.test(k) || CORE.has(k)) throw new Error(`invalid CloudEvents extension name: ${k}`);
  }
  return {
    specversion: '1.0',
    id: e.id ?? randomUUID(),
    source: e.source,
    type: def.ceType,
    time: e.time ?? new Date().toISOString(),
    ...(e.subject !== undefined ? { subject: e.subject } : {}),
    datacontenttype: def.contentType,
    dataschema: `urn:slo-scout:schema:${def.name}:${def.schemaVersion}`,
    extensions: e.extensions ?? {},
    data: encodePayload(def, e.data),
  };
}

function attrsOf(ev: CloudEvent): [string, string][] {
  const a: [string, string][] = [
    ['specversion', ev.specversion],
    ['id', ev.id],
    ['source', ev.source],
    ['type', ev.type],
  ];
  if (ev.time) a.push(['time', ev.time]);
  if (ev.subject) a.push(['subject', ev.subject]);
  if (ev.dataschema) a.push(['dataschema', ev.dataschema]);
  for (const [k, v] of Object.entries(ev.extensions)) a.push([k, v]);
  return a;
}

// ---- Kafka binding ------------------------------------------------------------------------------------------------

/** Kafka binary mode: attributes in `ce_` headers, content type in `content-type`, value = data bytes. */
export function toBusRecord(ev: CloudEvent, key: string | null): BusRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of attrsOf(ev)) headers[`ce_${k}`] = v;
  if (ev.datacontenttype) headers['content-type'] = ev.datacontenttype;
  return { key, value: ev.data, headers };
}

const utf8 = new TextDecoder();

/** Reads a Kafka record in binary or structured mode. */
export function fromBusRecord(rec: Pick<BusRecord, 'headers' | 'value'>): Result<CloudEvent, string> {
  const h = lowerKeys(rec.headers);
  const ct = h['content-type'];
  if (ct && ct.startsWith('application/cloudevents+json')) return parseStructured(rec.value);
  if (!h['ce_specversion'])
    return err('record is not a CloudEvent: no ce_specversion header and not structured');
  return fromAttributeMap(h, 'ce_', ct, rec.value);
}

// ---- HTTP binding -------------------------------------------------------------------------------------------------

export type HttpHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Reads an HTTP request body as CloudEvents: binary, structured or batched mode. */
export function fromHttp(headers: HttpHeaders, body: Uint8Array): Result<CloudEvent[], string> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    h[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : (v as string);
  }
  const ct = h['content-type'] ?? '';
  if (ct.startsWith('application/cloudevents-batch+json')) {
    let arr: unknown;
    try {
      arr = JSON.parse(utf8.decode(body));
    } catch (e) {
      return err(`batched CloudEvents body is not JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(arr)) return err('batched CloudEvents body must be a JSON array');
    const out: CloudEvent[] = [];
    for (const [i, item] of arr.entries()) {
      const r = structuredFromObject(item);
      if (!r.ok) return err(`event #${i}: ${r.error}`);
      out.push(r.value);
    }
    return ok(out);
  }
  if (ct.startsWith('application/cloudevents+json')) {
    const r = parseStructured(body);
    return r.ok ? ok([r.value]) : r;
  }
  if (h['ce-specversion']) {
    const r = fromAttributeMap(h, 'ce-', h['content-type'], body);
    return r.ok ? ok([r.value]) : r;
  }
  return err(
    'not a CloudEvent: expected ce-* headers (binary mode) or application/cloudevents+json (structured)',
  );
}

/**
 * HTTP binding 3.1.3.2: space, '"', '%' and anything outside printable ASCII must be percent-encoded (as UTF-8) in
 * header values; `fromHttp` decodes them again.
 */
function encodeHeaderValue(v: string): string {
  let out = '';
  for (const ch of v) {
    const c = ch.codePointAt(0)!;
    if (c > 0x20 && c < 0x7f && ch !== '"' && ch !== '%') out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function toHttpBinary(ev: CloudEvent): { headers: Record<string, string>; body: Uint8Array } {
  const headers: Record<string, string> = {};
  for (const [k, v] of attrsOf(ev)) headers[`ce-${k}`] = encodeHeaderValue(v);
  if (ev.datacontenttype) headers['content-type'] = ev.datacontenttype;
  return { headers, body: ev.data };
}

export function toStructured(ev: CloudEvent): Record<string, unknown> {
  const o: Record<string, unknown> = Object.fromEntries(attrsOf(ev));
  if (ev.datacontenttype) o['datacontenttype'] = ev.datacontenttype;
  if (ev.datacontenttype?.includes('json')) o['data'] = JSON.parse(utf8.decode(ev.data));
  else o['data_base64'] = Buffer.from(ev.data).toString('base64');
  return o;
}

// ---- shared -------------------------------------------------------------------------------------------------------

function lowerKeys(h: Readonly<Record<string, string>>): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) o[k.toLowerCase()] = v;
  return o;
}

function fromAttributeMap(
  h: Record<string, string>,
  prefix: string,
  contentType: string | undefined,
  data: Uint8Array,
): Result<CloudEvent, string> {
  const get = (n: string) => {
    const v = h[prefix + n];
    // The HTTP binding percent-encodes header values.
    return v === undefined ? undefined : prefix === 'ce-' ? safeDecode(v) : v;
  };
  const specversion = get('specversion');
  if (specversion !== '1.0') return err(`unsupported CloudEvents specversion ${String(specversion)}`);
  const id = get('id');
  const source = get('source');
  const type = get('type');
  if (!id || !source || !type)
    return err('CloudEvent is missing one of the required attributes id, source, type');
  const extensions: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (!k.startsWith(prefix)) continue;
    const name = k.slice(prefix.length);
    if (!CORE.has(name)) extensions[name] = prefix === 'ce-' ? safeDecode(v) : v;
  }
  const time = get('time');
  const subject = get('subject');
  const dataschema = get('dataschema');
  return ok({
    specversion: '1.0',
    id,
    source,
    type,
    ...(time ? { time } : {}),
    ...(subject ? { subject } : {}),
    ...(dataschema ? { dataschema } : {}),
    ...(contentType ? { datacontenttype: contentType.split(';')[0]!.trim() } : {}),
    extensions,
    data,
  });
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function parseStructured(body: Uint8Array): Result<CloudEvent, string> {
  let o: unknown;
  try {
    o = JSON.parse(utf8.decode(body));
  } catch (e) {
    return err(`structured CloudEvent is not JSON: ${(e as Error).message}`);
  }
  return structuredFromObject(o);
}

function structuredFromObject(o: unknown): Result<CloudEvent, string> {
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    return err('structured CloudEvent must be a JSON object');
  const r = o as Record<string, unknown>;
  if (r['specversion'] !== '1.0')
    return err(`unsupported CloudEvents specversion ${String(r['specversion'])}`);
  for (const k of ['id', 'source', 'type'] as const) {
    if (typeof r[k] !== 'string' || r[k] === '')
      return err(`structured CloudEvent lacks string attribute "${k}"`);
  }
  let data: Uint8Array;
  if (typeof r['data_base64'] === 'string') data = new Uint8Array(Buffer.from(r['data_base64'], 'base64'));
  else if (r['data'] === undefined) data = new Uint8Array();
  else if (
    typeof r['data'] === 'string' &&
    !String(r['datacontenttype'] ?? 'application/json').includes('json')
  )
    data = new TextEncoder().encode(r['data']);
  else data = new TextEncoder().encode(JSON.stringify(r['data']));
  const extensions: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) {
    if (CORE.has(k) || k === 'data' || k === 'data_base64') continue;
    extensions[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const str = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const time = str('time');
  const subject = str('subject');
  const dataschema = str('dataschema');
  const dct = str('datacontenttype') ?? (r['data'] !== undefined ? 'application/json' : undefined);
  return ok({
    specversion: '1.0',
    id: r['id'] as string,
    source: r['source'] as string,
    type: r['type'] as string,
    ...(time ? { time } : {}),
    ...(subject ? { subject } : {}),
    ...(dataschema ? { dataschema } : {}),
    ...(dct ? { datacontenttype: dct } : {}),
    extensions,
    data,
  });
}
