/**
 * A stage is declared once (name, trigger, input contract, handler) and hosted three ways: in-process over the bus
 * (hosts/local.ts), as a Knative service fed by a KafkaSource (hosts/knative.ts) and as an AWS Lambda behind middy
 * (hosts/lambda.ts). Handlers return a per-record Outcome; hosts map it to their transport.
 */
import type { Bus, Database, Embedder, Logger, Metrics, ObjectStore, VectorStore } from '../core/ports.js';
import type { CloudEvent } from '../events/cloudevents.js';
import type { TopicId } from '../events/registry.js';

export type PortName = 'db' | 'objects' | 'vectors' | 'embedder';

export interface StageContext {
  /** Used by the runtime to publish emits and dead letters; stages normally emit through their Outcome. */
  readonly bus: Bus;
  readonly db?: Database;
  readonly objects?: ObjectStore;
  readonly vectors?: VectorStore;
  readonly embedder?: Embedder;
  readonly metrics: Metrics;
  readonly log: Logger;
  now(): Date;
}

/** Narrows a context to a stage's declared ports; a missing declared port is a wiring bug and throws. */
export function port<K extends PortName>(ctx: StageContext, name: K): NonNullable<StageContext[K]> {
  const p = ctx[name];
  if (p === undefined)
    throw new Error(`stage context has no "${name}" port; declare it in the stage's needs`);
  return p as NonNullable<StageContext[K]>;
}

export type Transport = 'bus' | 'knative' | 'lambda' | 'http';

export interface Inbound<T> {
  readonly event: CloudEvent;
  /** Validated payload (parsed JSON, the raw bytes for binary topics, or a normalised ObjectCreated). */
  readonly data: T;
  readonly topic: string;
  readonly key: string | null;
  readonly transport: Transport;
  readonly partition?: number;
  readonly offset?: string;
  /** 1 for the first delivery the host knows of. */
  readonly attempt: number;
}

export interface Emit {
  readonly topic: TopicId;
  readonly key: string | null;
  readonly data: unknown;
  readonly subject?: string;
  readonly extensions?: Readonly<Record<string, string>>;
}

export type Outcome =
  | { readonly status: 'done'; readonly emit?: readonly Emit[] }
  | { readonly status: 'retryable'; readonly reason: string }
  | { readonly status: 'poison'; readonly reason: string };

export const done = (emit?: readonly Emit[]): Outcome =>
  emit && emit.length ? { status: 'done', emit } : { status: 'done' };
export const retryable = (reason: string): Outcome => ({ status: 'retryable', reason });
export const poison = (reason: string): Outcome => ({ status: 'poison', reason });

export interface Scaling {
  readonly minScale: number;
  readonly maxScale: number;
  /** Concurrent requests per instance (Knative containerConcurrency; Lambda batch size hint). */
  readonly concurrency: number;
}

export type EventTrigger =
  | { readonly kind: 'topic'; readonly topics: readonly TopicId[] }
  /** Consumes object-created notifications (topic objectsCreated, or S3 events on Lambda) under a key prefix. */
  | { readonly kind: 'object'; readonly prefix: string };

export interface EventStage<T = unknown> {
  readonly kind: 'event';
  readonly name: string;
  readonly description: string;
  readonly trigger: EventTrigger;
  readonly needs: readonly PortName[];
  readonly scaling?: Scaling;
  handle(input: Inbound<T>, ctx: StageContext): Promise<Outcome>;
}

export interface HttpRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string | object;
}

export interface HttpRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Exact path or a prefix ending in `/*`. */
  readonly path: string;
}

export interface HttpStage {
  readonly kind: 'http';
  readonly name: string;
  readonly description: string;
  readonly routes: readonly HttpRoute[];
  readonly needs: readonly PortName[];
  readonly scaling?: Scaling;
  handle(req: HttpRequest, ctx: StageContext): Promise<HttpResponse>;
}

export type Stage = EventStage<any> | HttpStage; // eslint-disable-line @typescript-eslint/no-explicit-any

export function matchRoute(
  routes: readonly HttpRoute[],
  method: string,
  path: string,
): HttpRoute | undefined {
  return routes.find(
    (r) =>
      r.method === method && (r.path.endsWith('/*') ? path.startsWith(r.path.slice(0, -1)) : r.path === path),
  );
}
