/**
 * Runtime configuration, read from the environment once at the edge (CLI, Knative main, Lambda init) and passed
 * down as data. Nothing below platform/ reads process.env. `describeConfig()` feeds the README table and --help.
 */
import {
  DEFAULT_KAFKA_COMPRESSION,
  isKafkaCompression,
  KAFKA_COMPRESSIONS,
  type KafkaCompression,
} from '../adapters/bus/kafka-compression.js';

export interface Config {
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly tenant: string;
  /** Directory for embedded state (PGlite data, filesystem object store). */
  readonly dataDir: string;
  readonly bus:
    | { readonly kind: 'memory' }
    | {
        readonly kind: 'kafka';
        readonly brokers: string[];
        readonly clientId: string;
        /** Record batch compression of everything SLO-Scout produces. */
        readonly compression: KafkaCompression;
      };
  readonly database:
    | { readonly kind: 'pglite'; readonly dataDir: string | null }
    | { readonly kind: 'postgres'; readonly url: string };
  readonly objects:
    | { readonly kind: 'fs'; readonly root: string; readonly bucket: string }
    | {
        readonly kind: 's3';
        readonly endpoint: string | undefined;
        readonly region: string;
        readonly bucket: string;
        readonly accessKeyId: string | undefined;
        readonly secretAccessKey: string | undefined;
      };
  readonly vectors:
    | { readonly kind: 'pgvector' }
    | { readonly kind: 'milvus'; readonly address: string; readonly token: string | undefined };
  readonly model: { readonly dir: string; readonly id: string; readonly allowRemote: boolean };
  readonly ports: {
    readonly otlpGrpc: number;
    readonly otlpHttp: number;
    readonly logHttp: number;
    /** Fluent Forward (TCP); 0 = ephemeral. */
    readonly forward: number;
    readonly api: number;
  };
  readonly host: string;
  /** Shared key the Forward listener requires (the protocol's HELO/PING/PONG handshake); unset: no handshake. */
  readonly forwardSharedKey?: string;
  /** Long-running Prometheus remote_read collector; present only when SLO_SCOUT_PROMETHEUS_URL is set. */
  readonly prometheus?: { readonly url: string; readonly intervalMs: number };
  /** A policy file for the Policy Guard (platform/platform.ts uploads it where the policy stage reads it). */
  readonly policyFile?: string;
}

interface Var {
  readonly name: string;
  readonly default: string;
  readonly help: string;
}

export const CONFIG_VARS: readonly Var[] = [
  {
    name: 'SLO_SCOUT_LOG_LEVEL',
    default: 'info',
    help: 'debug, info, warn or error (logs are JSON lines on stderr)',
  },
  { name: 'SLO_SCOUT_TENANT', default: 'default', help: 'Tenant id stamped on every ingested batch' },
  {
    name: 'SLO_SCOUT_DATA_DIR',
    default: './.slo-scout',
    help: 'Embedded state: PGlite data and the filesystem object store',
  },
  {
    name: 'SLO_SCOUT_KAFKA_BROKERS',
    default: '(unset: in-process bus)',
    help: 'Comma-separated Kafka bootstrap servers; set to use Kafka',
  },
  {
    name: 'SLO_SCOUT_KAFKA_COMPRESSION',
    default: DEFAULT_KAFKA_COMPRESSION,
    help: `Compression of produced Kafka record batches: ${KAFKA_COMPRESSIONS.join(', ')}`,
  },
  {
    name: 'SLO_SCOUT_DATABASE_URL',
    default: '(unset: PGlite in the data dir)',
    help: 'PostgreSQL connection URL; set to use PostgreSQL/TimescaleDB',
  },
  {
    name: 'SLO_SCOUT_S3_BUCKET',
    default: '(unset: filesystem store)',
    help: 'Archive bucket; set to use S3/MinIO',
  },
  {
    name: 'SLO_SCOUT_S3_ENDPOINT',
    default: '(AWS default)',
    help: 'S3-compatible endpoint, e.g. http://minio:9000 (path-style)',
  },
  { name: 'SLO_SCOUT_S3_REGION', default: 'us-east-1', help: 'S3 region' },
  {
    name: 'SLO_SCOUT_S3_ACCESS_KEY_ID',
    default: '(SDK default chain)',
    help: 'S3 access key (else the AWS SDK credential chain)',
  },
  { name: 'SLO_SCOUT_S3_SECRET_ACCESS_KEY', default: '(SDK default chain)', help: 'S3 secret key' },
  {
    name: 'SLO_SCOUT_MILVUS_ADDRESS',
    default: '(unset: pgvector)',
    help: 'Milvus gRPC address host:port; set to use Milvus',
  },
  { name: 'SLO_SCOUT_MILVUS_TOKEN', default: '(none)', help: 'Milvus token (user:password or API key)' },
  {
    name: 'SLO_SCOUT_MODEL_DIR',
    default: './models',
    help: 'Local Transformers.js model directory (holds Xenova/all-MiniLM-L6-v2)',
  },
  {
    name: 'SLO_SCOUT_MODEL_ID',
    default: 'Xenova/all-MiniLM-L6-v2',
    help: 'Embedding model id inside the model directory',
  },
  {
    name: 'SLO_SCOUT_ALLOW_MODEL_DOWNLOAD',
    default: 'false',
    help: 'Allow Transformers.js to download the model where a network exists',
  },
  {
    name: 'SLO_SCOUT_HOST',
    default: '127.0.0.1',
    help: 'Listen address for collectors and the API (0.0.0.0 in containers)',
  },
  { name: 'SLO_SCOUT_OTLP_GRPC_PORT', default: '4317', help: 'OTLP/gRPC port' },
  { name: 'SLO_SCOUT_OTLP_HTTP_PORT', default: '4318', help: 'OTLP/HTTP port' },
  { name: 'SLO_SCOUT_LOG_HTTP_PORT', default: '9880', help: 'Fluent Bit http-output port' },
  {
    name: 'SLO_SCOUT_FORWARD_PORT',
    default: '24224',
    help: 'Fluent Forward (TCP) port, for Fluent Bit/Fluentd forward outputs',
  },
  {
    name: 'SLO_SCOUT_FORWARD_SHARED_KEY',
    default: '(unset: no authentication)',
    help: 'Shared key Forward clients must prove (Fluent Bit Shared_Key, Fluentd <security> shared_key)',
  },
  { name: 'SLO_SCOUT_API_PORT', default: '8000', help: 'HTTP API port (also /metrics, /healthz)' },
  {
    name: 'SLO_SCOUT_PROMETHEUS_URL',
    default: '(unset: no Prometheus collector)',
    help: 'Prometheus base URL to pull through remote_read (run-collector prometheus; also started by up)',
  },
  {
    name: 'SLO_SCOUT_PROMETHEUS_INTERVAL',
    default: '30s',
    help: 'How often the Prometheus collector pulls (e.g. 30s, 1m, 1m30s; a bare number is seconds)',
  },
  {
    name: 'SLO_SCOUT_POLICY_FILE',
    default: '(unset: the built-in policy)',
    help: 'Policy Guard policy (YAML/JSON); uploaded to the object store as policy/policy.yaml at start',
  },
];

/** A Prometheus-style duration (1h30m, 45s, 500ms; a bare number is seconds) in ms; null when malformed or 0. */
export function parseIntervalMs(text: string): number | null {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const ms = Math.round(Number(t) * 1000);
    return ms > 0 ? ms : null;
  }
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * unit[m[2]!]!;
    at = re.lastIndex;
  }
  return at === t.length && t.length > 0 && total > 0 ? total : null;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function port(env: Readonly<Record<string, string | undefined>>, name: string, def: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError(`${name} must be a port number 0-65535, got "${raw}"`);
  return n;
}

export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<Config> = {},
): Config {
  const get = (n: string) => (env[n] === undefined || env[n] === '' ? undefined : env[n]);
  const level = get('SLO_SCOUT_LOG_LEVEL') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw new ConfigError(`SLO_SCOUT_LOG_LEVEL must be debug, info, warn or error, got "${level}"`);
  const dataDir = get('SLO_SCOUT_DATA_DIR') ?? './.slo-scout';
  const brokers = get('SLO_SCOUT_KAFKA_BROKERS');
  const compression = get('SLO_SCOUT_KAFKA_COMPRESSION') ?? DEFAULT_KAFKA_COMPRESSION;
  if (!isKafkaCompression(compression))
    throw new ConfigError(
      `SLO_SCOUT_KAFKA_COMPRESSION must be one of ${KAFKA_COMPRESSIONS.join(', ')}, got "${compression}"`,
    );
  const dbUrl = get('SLO_SCOUT_DATABASE_URL');
  if (dbUrl && !/^postgres(ql)?:\/\//.test(dbUrl))
    throw new ConfigError('SLO_SCOUT_DATABASE_URL must start with postgres:// or postgresql://');
  const bucket = get('SLO_SCOUT_S3_BUCKET');
  const milvus = get('SLO_SCOUT_MILVUS_ADDRESS');
  const cfg: Config = {
    logLevel: level as Config['logLevel'],
    tenant: get('SLO_SCOUT_TENANT') ?? 'default',
    dataDir,
    bus: brokers
      ? {
          kind: 'kafka',
          brokers: brokers
            .split(',')
            .map((b) => b.trim())
            .filter(Boolean),
          clientId: 'slo-scout',
          compression,
        }
      : { kind: 'memory' },
    database: dbUrl ? { kind: 'postgres', url: dbUrl } : { kind: 'pglite', dataDir: `${dataDir}/pglite` },
    objects: bucket
      ? {
          kind: 's3',
          endpoint: get('SLO_SCOUT_S3_ENDPOINT'),
          region: get('SLO_SCOUT_S3_REGION') ?? 'us-east-1',
          bucket,
          accessKeyId: get('SLO_SCOUT_S3_ACCESS_KEY_ID'),
          secretAccessKey: get('SLO_SCOUT_S3_SECRET_ACCESS_KEY'),
        }
      : { kind: 'fs', root: `${dataDir}/objects`, bucket: 'slo-scout' },
    vectors: milvus
      ? { kind: 'milvus', address: milvus, token: get('SLO_SCOUT_MILVUS_TOKEN') }
      : { kind: 'pgvector' },
    model: {
      dir: get('SLO_SCOUT_MODEL_DIR') ?? './models',
      id: get('SLO_SCOUT_MODEL_ID') ?? 'Xenova/all-MiniLM-L6-v2',
      allowRemote: get('SLO_SCOUT_ALLOW_MODEL_DOWNLOAD') === 'true',
    },
    ports: {
      otlpGrpc: port(env, 'SLO_SCOUT_OTLP_GRPC_PORT', 4317),
      otlpHttp: port(env, 'SLO_SCOUT_OTLP_HTTP_PORT', 4318),
      logHttp: port(env, 'SLO_SCOUT_LOG_HTTP_PORT', 9880),
      forward: port(env, 'SLO_SCOUT_FORWARD_PORT', 24224),
      api: port(env, 'SLO_SCOUT_API_PORT', 8000),
    },
    host: get('SLO_SCOUT_HOST') ?? '127.0.0.1',
    ...(get('SLO_SCOUT_FORWARD_SHARED_KEY') !== undefined
      ? { forwardSharedKey: get('SLO_SCOUT_FORWARD_SHARED_KEY')! }
      : {}),
    ...(get('SLO_SCOUT_POLICY_FILE') !== undefined ? { policyFile: get('SLO_SCOUT_POLICY_FILE')! } : {}),
  };
  const promUrl = get('SLO_SCOUT_PROMETHEUS_URL');
  if (promUrl !== undefined) {
    if (!/^https?:\/\//.test(promUrl))
      throw new ConfigError(`SLO_SCOUT_PROMETHEUS_URL must start with http:// or https://, got "${promUrl}"`);
    const rawInterval = get('SLO_SCOUT_PROMETHEUS_INTERVAL') ?? '30s';
    const intervalMs = parseIntervalMs(rawInterval);
    if (intervalMs === null)
      throw new ConfigError(
        `SLO_SCOUT_PROMETHEUS_INTERVAL must be a positive duration like 30s or 1m, got "${rawInterval}"`,
      );
    return { ...cfg, prometheus: { url: promUrl.replace(/\/+$/, ''), intervalMs }, ...overrides };
  }
  return { ...cfg, ...overrides };
}

export function describeConfig(): string {
  const w = Math.max(...CONFIG_VARS.map((v) => v.name.length));
  return CONFIG_VARS.map((v) => `  ${v.name.padEnd(w)}  ${v.help} [default: ${v.default}]`).join('\n');
}
