/**
 * Deployment facts derived from the one function registry (functions/index.ts), the topic registry
 * (events/registry.ts) and the configuration variables (platform/config.ts). The Helm chart (through
 * charts/slo-scout/files/registry.json), the Knative manifests (knative/) and the CDK app (infra/) are all rendered
 * from `deploymentRegistry()`, so they cannot drift from the code. Pure: no I/O, no environment.
 */
import { ALL_TOPICS, TOPICS } from '../events/registry.js';
import { FUNCTIONS } from '../functions/index.js';
import { CONFIG_VARS } from '../platform/config.js';
import { triggerTopics } from '../runtime/process.js';
import type { PortName, Scaling, Stage } from '../runtime/stage.js';

export const APP = 'slo-scout';
/** Where the API accepts KafkaSource dead letters (CloudEvents). See knative/README.md. */
export const DEAD_LETTER_ROUTE = '/api/v1/dead-letters';
/** Scaling for a function that declares none. */
export const DEFAULT_SCALING: Scaling = { minScale: 0, maxScale: 4, concurrency: 1 };

export type Visibility = 'cluster-local' | 'public';

export interface FunctionFacts {
  readonly name: string;
  /** Kubernetes/Lambda resource name: slo-scout-<name>. */
  readonly resourceName: string;
  readonly kind: 'event' | 'http';
  readonly description: string;
  /** Kafka topic names the function consumes (object triggers consume the object-created topic). */
  readonly topics: readonly string[];
  /** Object key prefix for object-triggered functions (S3 notifications on AWS). */
  readonly objectPrefix: string | null;
  readonly routes: readonly { readonly method: string; readonly path: string }[];
  /** Ports the function's host builds (its declared needs, plus objects for event functions). */
  readonly needs: readonly PortName[];
  readonly scaling: Scaling;
  /** Configuration variables the function reads (all in CONFIG_VARS). */
  readonly env: readonly string[];
  /** Of `env`, those holding credentials (from a Secret / Secrets Manager, never a literal). */
  readonly secretEnv: readonly string[];
  readonly visibility: Visibility;
  readonly consumerGroup: string | null;
  /** Knative container command and Lambda handler export. */
  readonly args: readonly string[];
  readonly lambdaHandler: string;
}

export interface TopicFacts {
  readonly id: string;
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
  readonly maxMessageBytes: number;
}

export interface DeploymentRegistry {
  readonly app: string;
  readonly deadLetterRoute: string;
  readonly deadLetterTopic: string;
  readonly functions: readonly FunctionFacts[];
  readonly topics: readonly TopicFacts[];
}

const BASE_ENV = ['SLO_SCOUT_LOG_LEVEL', 'SLO_SCOUT_TENANT', 'SLO_SCOUT_KAFKA_BROKERS', 'SLO_SCOUT_HOST'];
const PORT_ENV: Record<PortName, readonly string[]> = {
  db: ['SLO_SCOUT_DATABASE_URL'],
  objects: [
    'SLO_SCOUT_S3_BUCKET',
    'SLO_SCOUT_S3_ENDPOINT',
    'SLO_SCOUT_S3_REGION',
    'SLO_SCOUT_S3_ACCESS_KEY_ID',
    'SLO_SCOUT_S3_SECRET_ACCESS_KEY',
  ],
  vectors: ['SLO_SCOUT_MILVUS_ADDRESS', 'SLO_SCOUT_MILVUS_TOKEN'],
  embedder: ['SLO_SCOUT_MODEL_DIR', 'SLO_SCOUT_MODEL_ID', 'SLO_SCOUT_ALLOW_MODEL_DOWNLOAD'],
};
const SECRET_ENV = new Set([
  'SLO_SCOUT_DATABASE_URL',
  'SLO_SCOUT_S3_ACCESS_KEY_ID',
  'SLO_SCOUT_S3_SECRET_ACCESS_KEY',
  'SLO_SCOUT_MILVUS_TOKEN',
]);

/** Ports the host builds for a stage: its needs, plus the object store for event stages (claim checks). */
export function effectivePorts(stage: Stage): PortName[] {
  const ports = new Set<PortName>(stage.needs);
  if (stage.kind === 'event') ports.add('objects');
  return [...ports];
}

function envOf(stage: Stage): string[] {
  const names = [...BASE_ENV, ...effectivePorts(stage).flatMap((p) => PORT_ENV[p])];
  if (stage.kind === 'http') names.push('SLO_SCOUT_API_PORT');
  const known = new Set(CONFIG_VARS.map((v) => v.name));
  for (const n of names)
    if (!known.has(n)) throw new Error(`deploy registry: ${n} is not a configuration variable`);
  return [...new Set(names)];
}

export function functionFacts(stage: Stage): FunctionFacts {
  const env = envOf(stage);
  const resourceName = `${APP}-${stage.name}`;
  return {
    name: stage.name,
    resourceName,
    kind: stage.kind,
    description: stage.description,
    topics: stage.kind === 'event' ? triggerTopics(stage) : [],
    objectPrefix: stage.kind === 'event' && stage.trigger.kind === 'object' ? stage.trigger.prefix : null,
    routes: stage.kind === 'http' ? stage.routes.map((r) => ({ method: r.method, path: r.path })) : [],
    needs: effectivePorts(stage),
    scaling: stage.scaling ?? DEFAULT_SCALING,
    env,
    secretEnv: env.filter((n) => SECRET_ENV.has(n)),
    visibility: stage.kind === 'http' ? 'public' : 'cluster-local',
    consumerGroup: stage.kind === 'event' ? `${APP}.${stage.name}` : null,
    args: ['serve-function', stage.name],
    lambdaHandler: `handlers.${stage.name}`,
  };
}

export function deploymentRegistry(stages: readonly Stage[] = FUNCTIONS): DeploymentRegistry {
  return {
    app: APP,
    deadLetterRoute: DEAD_LETTER_ROUTE,
    deadLetterTopic: TOPICS.deadLetters.name,
    functions: stages.map(functionFacts),
    topics: ALL_TOPICS.map((t) => ({
      id: t.id,
      name: t.name,
      partitions: t.partitions,
      retentionMs: t.retentionMs,
      maxMessageBytes: t.maxMessageBytes,
    })),
  };
}

/** The HTTP function that fronts the API (and accepts dead letters). Exactly one is expected. */
export function apiFunction(reg: DeploymentRegistry): FunctionFacts {
  const http = reg.functions.filter((f) => f.kind === 'http');
  if (http.length !== 1) throw new Error(`expected exactly one http function, found ${http.length}`);
  return http[0]!;
}
