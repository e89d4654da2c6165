/**
 * import: object-triggered backfill. An OTLP file dropped under `imports/` in the archive bucket (OTLP JSON lines as
 * the OpenTelemetry Collector's file exporter writes them, or binary protobuf, optionally gzip) is replayed into the
 * raw OTLP topics, one resource group per record, exactly as the collectors would have published it.
 */
import { gunzipSync } from 'node:zlib';
import { otlpJsonToProto } from '../core/otlp/json.js';
import { splitByResource } from '../core/otlp/split.js';
import { checkOtlpExportRequest } from '../events/registry.js';
import type { ObjectCreated } from '../events/schemas.js';
import { done, poison, port, retryable, type Emit, type EventStage } from '../runtime/stage.js';

export const IMPORT_PREFIX = 'imports/';
const MAX_OBJECT_BYTES = 256 * 1024 * 1024;
type Signal = 'traces' | 'metrics' | 'logs';
const TOPIC_OF = { traces: 'otlpTraces', metrics: 'otlpMetrics', logs: 'otlpLogs' } as const;

function signalOfJson(o: unknown): Signal | null {
  if (typeof o !== 'object' || o === null) return null;
  if ('resourceSpans' in o) return 'traces';
  if ('resourceMetrics' in o) return 'metrics';
  if ('resourceLogs' in o) return 'logs';
  return null;
}

function signalOfKey(key: string): Signal | null {
  const m = /(?:^|\/)(traces|metrics|logs)(?:\/|\.|$)/.exec(key);
  return m ? (m[1] as Signal) : null;
}

export const importer: EventStage<ObjectCreated> = {
  kind: 'event',
  name: 'import',
  description: 'Backfills OTLP files dropped under imports/ in the object store into the raw topics.',
  trigger: { kind: 'object', prefix: IMPORT_PREFIX },
  needs: ['objects'],
  scaling: { minScale: 0, maxScale: 4, concurrency: 1 },
  async handle(input, ctx) {
    const objects = port(ctx, 'objects');
    const { key } = input.data;
    let body = await objects.get(key);
    if (body === null) return retryable(`object ${key} is not readable yet`);
    if (body.length > MAX_OBJECT_BYTES)
      return poison(`object ${key} is ${body.length} bytes; the import limit is ${MAX_OBJECT_BYTES}`);
    if (key.endsWith('.gz') || (body[0] === 0x1f && body[1] === 0x8b)) {
      try {
        body = new Uint8Array(gunzipSync(body, { maxOutputLength: MAX_OBJECT_BYTES }));
      } catch (e) {
        return poison(`object ${key} is not valid gzip: ${(e as Error).message}`);
      }
    }
    const requests: { signal: Signal; bytes: Uint8Array }[] = [];
    const plain = key.replace(/\.gz$/, '');
    if (plain.endsWith('.json') || plain.endsWith('.jsonl') || plain.endsWith('.ndjson')) {
      const lines = new TextDecoder().decode(body).split('\n');
      for (const [i, line] of lines.entries()) {
        if (!line.trim()) continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch (e) {
          return poison(`${key} line ${i + 1}: not JSON (${(e as Error).message})`);
        }
        const signal = signalOfJson(parsed);
        if (!signal)
          return poison(
            `${key} line ${i + 1}: not an OTLP export request (no resourceSpans/resourceMetrics/resourceLogs)`,
          );
        const proto = otlpJsonToProto(signal, line);
        if (!proto.ok) return poison(`${key} line ${i + 1}: ${proto.error}`);
        requests.push({ signal, bytes: proto.value });
      }
    } else {
      const signal = signalOfKey(plain);
      if (!signal)
        return poison(
          `cannot tell the OTLP signal of ${key}: put binary files under imports/traces/, imports/metrics/ or imports/logs/`,
        );
      const check = checkOtlpExportRequest(body);
      if (!check.ok) return poison(`${key}: ${check.error}`);
      requests.push({ signal, bytes: body });
    }
    const emits: Emit[] = [];
    for (const r of requests) {
      const parts = splitByResource(r.bytes);
      if (!parts.ok) return poison(`${key}: ${parts.error}`);
      for (const p of parts.value) emits.push({ topic: TOPIC_OF[r.signal], key: p.service, data: p.bytes });
    }
    ctx.log.info('imported object', { key, requests: requests.length, records: emits.length });
    return done(emits);
  },
};
