/**
 * api: the HTTP control plane. Starts analyses, serves recommendations, artifact sets and policy decisions.
 * Hosted like every other function: in-process, on Knative, or on Lambda behind a function URL.
 */
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { getArtifactSet, latestRecommendations } from '../adapters/db/repo.js';
import { fromHttp, toBusRecord } from '../events/cloudevents.js';
import { CE_SOURCE } from '../events/registry.js';
import { validate } from '../events/validate.js';
import { publishEvent } from '../runtime/publish.js';
import {
  port,
  type HttpRequest,
  type HttpResponse,
  type HttpStage,
  type StageContext,
} from '../runtime/stage.js';

const StartAnalysis = Type.Object(
  {
    window: Type.Optional(
      Type.Object(
        { start: Type.String({ format: 'date-time' }), end: Type.String({ format: 'date-time' }) },
        { additionalProperties: false },
      ),
    ),
    hours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 24 * 90 })),
    services: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  },
  { additionalProperties: false, $id: 'slo-scout/api/analyses.post' },
);

const problem = (status: number, title: string, detail?: string): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/problem+json' },
  body: { title, status, ...(detail ? { detail } : {}) },
});

function parseJson(req: HttpRequest): { ok: true; value: unknown } | { ok: false; res: HttpResponse } {
  if (req.body.length === 0) return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(new TextDecoder().decode(req.body)) };
  } catch (e) {
    return { ok: false, res: problem(400, 'request body is not JSON', (e as Error).message) };
  }
}

/**
 * The dead-letter sink of every KafkaSource (knative/*.yaml): Knative delivers an event here, with the
 * `knativeerrorcode`, `knativeerrordest` and `knativeerrordata` extensions, once its retries are exhausted. It is kept
 * on the dead-letter topic with the reason and the original bytes, like the records stages dead-letter themselves.
 */
async function deadLetterSink(req: HttpRequest, ctx: StageContext): Promise<HttpResponse> {
  const events = fromHttp(req.headers, req.body);
  if (!events.ok) return problem(400, 'dead letter is not a CloudEvent', events.error);
  for (const ev of events.value) {
    const ext = ev.extensions;
    const dest = ext['knativeerrordest'] ?? 'unknown destination';
    const body = ext['knativeerrordata']
      ? Buffer.from(ext['knativeerrordata'], 'base64').toString('utf8')
      : '';
    const stage = /slo-scout-([a-z-]+)/.exec(dest)?.[1] ?? 'unknown';
    const key = ext['key'] ?? ext['partitionkey'] ?? null;
    await publishEvent(ctx.bus, 'deadLetters', stage, {
      source: CE_SOURCE.stage('api'),
      data: {
        stage,
        reason: `delivery failed after retries: HTTP ${ext['knativeerrorcode'] ?? '?'} from ${dest}${body ? `: ${body.slice(0, 2000)}` : ''}`,
        failed_at: ctx.now().toISOString(),
        source: { transport: 'knative' },
        original: {
          key,
          headers: { ...toBusRecord(ev, key).headers },
          value_base64: Buffer.from(ev.data).toString('base64'),
        },
      },
    });
  }
  return { status: 202, body: { dead_lettered: events.value.length } };
}

export const api: HttpStage = {
  kind: 'http',
  name: 'api',
  description:
    'HTTP API: start analyses, read recommendations and artifact sets; dead-letter sink for KafkaSources.',
  routes: [
    { method: 'GET', path: '/healthz' },
    { method: 'POST', path: '/api/v1/analyses' },
    { method: 'GET', path: '/api/v1/recommendations/latest' },
    { method: 'GET', path: '/api/v1/artifact-sets/*' },
    { method: 'POST', path: '/api/v1/dead-letters' },
  ],
  needs: ['db'],
  scaling: { minScale: 1, maxScale: 10, concurrency: 50 },
  async handle(req, ctx) {
    const db = port(ctx, 'db');
    if (req.method === 'GET' && req.path === '/healthz') return { status: 200, body: { status: 'ok' } };
    if (req.method === 'POST' && req.path === '/api/v1/analyses') {
      const parsed = parseJson(req);
      if (!parsed.ok) return parsed.res;
      const body = validate(StartAnalysis, parsed.value);
      if (!body.ok) return problem(400, 'invalid analysis request', body.error);
      const end = body.value.window ? new Date(body.value.window.end) : ctx.now();
      const start = body.value.window
        ? new Date(body.value.window.start)
        : new Date(end.getTime() - (body.value.hours ?? 24) * 3_600_000);
      if (!(start < end))
        return problem(400, 'invalid analysis request', 'window.start must be before window.end');
      const requestId = randomUUID();
      await publishEvent(ctx.bus, 'analysisRequests', requestId, {
        source: CE_SOURCE.stage('api'),
        data: {
          request_id: requestId,
          window: { start: start.toISOString(), end: end.toISOString() },
          ...(body.value.services ? { services: body.value.services } : {}),
          reason: 'api',
        },
      });
      return {
        status: 202,
        body: { request_id: requestId, window: { start: start.toISOString(), end: end.toISOString() } },
      };
    }
    if (req.method === 'GET' && req.path === '/api/v1/recommendations/latest') {
      const rec = await latestRecommendations(db);
      return rec ? { status: 200, body: rec } : problem(404, 'no recommendations yet');
    }
    if (req.method === 'GET' && req.path.startsWith('/api/v1/artifact-sets/')) {
      const id = decodeURIComponent(req.path.slice('/api/v1/artifact-sets/'.length));
      const set = await getArtifactSet(db, id);
      return set ? { status: 200, body: set } : problem(404, `artifact set ${id} not found`);
    }
    if (req.method === 'POST' && req.path === '/api/v1/dead-letters') return deadLetterSink(req, ctx);
    return problem(404, `no route for ${req.method} ${req.path}`);
  },
};
