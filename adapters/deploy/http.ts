/**
 * A small JSON-over-HTTP(S) client for the deploy targets: node:http/https so a cluster CA can be trusted without an
 * extra HTTP library. Network failures are values (the API server may be unreachable); bodies are parsed as JSON
 * when they are JSON.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { err, ok, type Result } from '../../core/result.js';

export interface HttpTarget {
  /** Base URL, e.g. https://kubernetes.default.svc or http://grafana:3000. */
  readonly server: string;
  /** Bearer token. */
  readonly token?: string;
  /** PEM CA bundle to trust (https only). */
  readonly ca?: string | Buffer;
  /** Skip TLS verification (tests against self-signed servers only). */
  readonly insecureSkipTlsVerify?: boolean;
  readonly timeoutMs?: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
}

export function callJson(
  t: HttpTarget,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Result<HttpResponse, string>> {
  const url = new URL(path, t.server.endsWith('/') ? t.server : `${t.server}/`);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (t.token) headers.authorization = `Bearer ${t.token}`;
  if (payload) {
    headers['content-type'] = contentType;
    headers['content-length'] = String(payload.length);
  }
  const https = url.protocol === 'https:';
  return new Promise((resolvePromise) => {
    const req = (https ? httpsRequest : httpRequest)(
      url,
      {
        method,
        headers,
        timeout: t.timeoutMs ?? 15_000,
        ...(https && t.ca ? { ca: t.ca } : {}),
        ...(https && t.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolvePromise(ok({ status: res.statusCode ?? 0, body: parsed, text }));
        });
        res.on('error', (e) => resolvePromise(err(`${method} ${url.pathname}: ${e.message}`)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${t.timeoutMs ?? 15_000} ms`)));
    req.on('error', (e) => resolvePromise(err(`${method} ${url.origin}${url.pathname}: ${e.message}`)));
    if (payload) req.write(payload);
    req.end();
  });
}

/** The API's own error message when it sent one (Kubernetes Status.message, Grafana {message}). */
export function apiMessage(r: HttpResponse): string {
  const b = r.body as { message?: unknown } | undefined;
  return typeof b?.message === 'string' ? b.message : r.text.slice(0, 300) || `HTTP ${r.status}`;
}
