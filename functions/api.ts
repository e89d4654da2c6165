/**
 * api: the HTTP control plane. Starts analyses, serves recommendations, artifact sets and policy decisions.
 * Hosted like every other function: in-process, on Knative, or on Lambda behind a function URL.
 */
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { getArtifactSet, latestRecommendations } from '../adapters/db/repo.js';
import { CE_SOURCE } from '../events/registry.js';
import { validate } from '../events/validate.js';
import { publishEvent } from '../runtime/publish.js';
import { port, type HttpRequest, type HttpResponse, type HttpStage } from '../runtime/stage.js';

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

export const api: HttpStage = {
  kind: 'http',
  name: 'api',
  description: 'HTTP API: start analyses, read recommendations, artifact sets and policy decisions.',
  routes: [
    { method: 'GET', path: '/healthz' },
    { method: 'POST', path: '/api/v1/analyses' },
    { method: 'GET', path: '/api/v1/recommendations/latest' },
    { method: 'GET', path: '/api/v1/artifact-sets/*' },
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
    return problem(404, `no route for ${req.method} ${req.path}`);
  },
};
