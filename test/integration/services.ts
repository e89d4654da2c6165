// Endpoints of the integration-tier services (started by scripts/services/up.sh,
// exported by scripts/services/env.sh). Integration tests must FAIL, not skip,
// when a service is missing: use requireService()/assertReachable() in them.
import net from 'node:net';

export type ServiceName = 'kafka' | 'postgres' | 's3' | 'milvus' | 'prometheus';

export const SERVICE_ENV: Readonly<Record<ServiceName, string>> = {
  kafka: 'SLO_SCOUT_KAFKA_BROKERS',
  postgres: 'SLO_SCOUT_DATABASE_URL',
  s3: 'SLO_SCOUT_S3_ENDPOINT',
  milvus: 'SLO_SCOUT_MILVUS_ADDRESS',
  prometheus: 'SLO_SCOUT_PROMETHEUS_URL',
};

/** Bucket, credentials and region of the S3 (moto) service. */
export const S3_TEST_BUCKET = process.env['SLO_SCOUT_S3_BUCKET'] ?? 'slo-scout-test';
export const S3_TEST_REGION = process.env['SLO_SCOUT_S3_REGION'] ?? 'us-east-1';
export const S3_TEST_CREDENTIALS = {
  accessKeyId: process.env['SLO_SCOUT_S3_ACCESS_KEY_ID'] ?? 'test',
  secretAccessKey: process.env['SLO_SCOUT_S3_SECRET_ACCESS_KEY'] ?? 'test',
} as const;

const CONNECT_TIMEOUT_MS = 3000;

function isServiceName(name: string): name is ServiceName {
  return Object.hasOwn(SERVICE_ENV, name);
}

/**
 * The endpoint of a service as configured in the environment (e.g. "127.0.0.1:19092",
 * "postgres://…", "http://127.0.0.1:19000"). Throws a clear error when the variable is unset.
 */
export function requireService(name: ServiceName): string {
  if (!isServiceName(name)) {
    throw new Error(`unknown service '${String(name)}' (known: ${Object.keys(SERVICE_ENV).join(', ')})`);
  }
  const variable = SERVICE_ENV[name];
  const value = process.env[variable]?.trim();
  if (value === undefined || value === '') {
    throw new Error(
      `${variable} is not set: the ${name} integration tests need it. ` +
        `Start the service with scripts/services/up.sh ${name} and run 'source scripts/services/env.sh'.`,
    );
  }
  return value;
}

/** host:port pairs to dial for a service endpoint (Kafka may list several brokers). */
export function endpointAddresses(name: ServiceName, endpoint: string): { host: string; port: number }[] {
  const parts =
    name === 'kafka'
      ? endpoint
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : [endpoint];
  return parts.map((part) => parseHostPort(name, part));
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'http:': 80,
  'https:': 443,
  'postgres:': 5432,
  'postgresql:': 5432,
};

function parseHostPort(name: ServiceName, value: string): { host: string; port: number } {
  let host: string;
  let portText: string;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    const url = new URL(value);
    host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    portText = url.port !== '' ? url.port : String(DEFAULT_PORTS[url.protocol] ?? '');
  } else {
    const idx = value.lastIndexOf(':');
    host = idx > 0 ? value.slice(0, idx).replace(/^\[(.*)\]$/, '$1') : value;
    portText = idx > 0 ? value.slice(idx + 1) : '';
  }
  const port = Number(portText);
  if (host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(
      `${SERVICE_ENV[name]}='${value}' is not a valid ${name} endpoint (need host:port or a URL)`,
    );
  }
  return { host, port };
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out after ${timeoutMs}ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

/**
 * Throws "<name> is not reachable at <addr>: start it with scripts/services/up.sh <name>"
 * unless every address of the service accepts a TCP connection within 3s.
 */
export async function assertReachable(name: ServiceName): Promise<void> {
  const endpoint = requireService(name);
  for (const { host, port } of endpointAddresses(name, endpoint)) {
    const addr = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    try {
      await tcpConnect(host, port, CONNECT_TIMEOUT_MS);
    } catch (err) {
      throw new Error(`${name} is not reachable at ${addr}: start it with scripts/services/up.sh ${name}`, {
        cause: err,
      });
    }
  }
}
