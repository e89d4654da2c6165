/**
 * The Helm chart, offline: helm lint --strict on every values file, the seed's install commands, every seed parameter
 * present with its default and taking effect, and the chart agreeing with the function registry.
 * Schema validation of the rendered manifests against ../shared/k8s-schemas is in test/integration/deploy.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deploymentRegistry } from '../../deploy/registry.js';
import {
  CHART,
  EXTERNAL_VALUES,
  helm,
  parseManifests,
  SEED_COMMANDS,
  SNIPPET_VALUES,
  template,
  type Manifest,
} from './helm.js';

const reg = deploymentRegistry();
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;

function get(o: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((a, k) => (a as Record<string, unknown> | undefined)?.[k], o);
}
const find = (ms: Manifest[], kind: string, name: string) =>
  ms.find((m) => m.kind === kind && m.metadata.name === name);

/** The seed README's parameter tables: name -> default. */
const SEED_PARAMS: Record<string, unknown> = {
  'global.environment': 'production',
  'global.imageRegistry': 'docker.io',
  namespaceOverride: 'slo-scout',
  'collectors.prometheus.enabled': true,
  'collectors.prometheus.replicaCount': 2,
  'collectors.prometheus.config.prometheusUrl': 'http://prometheus:9090',
  'collectors.otlp.enabled': true,
  'collectors.otlp.replicaCount': 3,
  'collectors.otlp.autoscaling.enabled': true,
  'collectors.log.enabled': true,
  'flink.jobmanager.enabled': true,
  'flink.taskmanager.replicaCount': 3,
  'flink.jobs.fingerprinting.enabled': true,
  'flink.jobs.fingerprinting.config.parallelism': 10,
  'flink.jobs.embedding.enabled': true,
  'backend.enabled': true,
  'backend.replicaCount': 3,
  'backend.ingress.enabled': true,
  'backend.ingress.className': 'nginx',
  'backend.llm.provider': 'local',
  'backend.llm.model': 'all-MiniLM-L6-v2',
  'backend.autoscaling.enabled': true,
  'kafka.enabled': true,
  'kafka.replicaCount': 3,
  'timescaledb.enabled': true,
  'timescaledb.readReplicas.replicaCount': 2,
  'minio.enabled': true,
  'minio.mode': 'distributed',
  'milvus.enabled': true,
  'prometheus.enabled': true,
  'grafana.enabled': true,
};

/** A different value for each seed parameter (--set form). */
function altered(name: string, def: unknown): string {
  if (typeof def === 'boolean') return String(!def);
  if (typeof def === 'number') return String(def + 4);
  const alt: Record<string, string> = {
    'global.environment': 'staging',
    'global.imageRegistry': 'registry.example.com',
    namespaceOverride: 'observability',
    'collectors.prometheus.config.prometheusUrl': 'http://thanos:9090',
    'backend.ingress.className': 'traefik',
    'backend.llm.provider': 'openai',
    'backend.llm.model': 'paraphrase-MiniLM-L3-v2',
    'minio.mode': 'standalone',
  };
  return alt[name] ?? `${String(def)}-x`;
}

/** Switching a bundled dependency off requires its external counterpart (the chart says so with `required`). */
const REQUIRES: Record<string, string[]> = {
  'kafka.enabled': ['--set', 'externalKafka.bootstrapServers=kafka-broker-1:9092'],
  'timescaledb.enabled': ['--set', 'externalDatabase.host=postgres.example.com'],
};

describe('chart: lint', () => {
  for (const f of ['values.yaml', 'values-dev.yaml', 'values-staging.yaml', 'values-production.yaml'])
    it(`helm lint --strict with ${f}`, () => {
      const out = helm(['lint', '--strict', './slo-scout', '--values', `slo-scout/${f}`]);
      expect(out).toContain('0 chart(s) failed');
    });
  it('helm lint --strict with the external-dependency and seed-snippet values', () => {
    expect(helm(['lint', '--strict', './slo-scout', '-f', EXTERNAL_VALUES, '-f', SNIPPET_VALUES])).toContain(
      '0 chart(s) failed',
    );
  });
  it('the strict values schema rejects unknown keys and bad enums', () => {
    expect(() => helm(['template', 'x', './slo-scout', '--set', 'backend.replicas=2'])).toThrow(
      /additional properties/,
    );
    expect(() => helm(['template', 'x', './slo-scout', '--set', 'minio.mode=cluster'])).toThrow(/standalone/);
  });
});

describe('chart: the seed commands', () => {
  for (const args of Object.values(SEED_COMMANDS))
    it(`renders: helm ${args.join(' ')} --dry-run=client`, () => {
      const out = helm([...args, '--dry-run=client']);
      expect(out).toContain('STATUS: pending-install');
      const ms = parseManifests(out.slice(out.indexOf('---')).split('\nNOTES:')[0]!);
      expect(ms.length).toBeGreaterThan(20);
      expect(find(ms, 'Deployment', 'slo-scout-backend')).toBeDefined();
    });
  it('the production command sets both ingress hosts', () => {
    const ms = template(SEED_COMMANDS['production']!.slice(5));
    const api = find(ms, 'Ingress', 'slo-scout-backend') as unknown as {
      spec: { rules: { host: string }[] };
    };
    const gr = find(ms, 'Ingress', 'slo-scout-grafana') as unknown as { spec: { rules: { host: string }[] } };
    expect(api.spec.rules[0]!.host).toBe('api.slo-scout.example.com');
    expect(gr.spec.rules[0]!.host).toBe('grafana.slo-scout.example.com');
  });
  it('staging installs into the release namespace; dev generates secrets', () => {
    const st = parseManifests(
      helm([
        'template',
        'slo-scout',
        './slo-scout',
        '-n',
        'slo-scout-staging',
        '-f',
        'slo-scout/values-staging.yaml',
      ]),
    );
    expect(new Set(st.map((m) => m.metadata.namespace))).toEqual(new Set(['slo-scout-staging']));
    expect(find(st, 'KafkaNodePool', 'slo-scout-brokers')!['spec']).toMatchObject({ replicas: 2 });
    const dev = template(['--set', 'global.environment=dev']);
    expect(dev.filter((m) => m.kind === 'Secret').map((m) => m.metadata.name)).toContain(
      'slo-scout-jwt-secret',
    );
    const prod = template(['-f', 'slo-scout/values-production.yaml']);
    expect(prod.filter((m) => m.kind === 'Secret')).toEqual([]);
  });
});

describe('chart: every seed parameter', () => {
  for (const [name, def] of Object.entries(SEED_PARAMS))
    it(`${name} exists with default ${JSON.stringify(def)} and takes effect`, () => {
      expect(get(values, name)).toEqual(def);
      const base = helm(['template', 'slo-scout', './slo-scout', '-n', 'slo-scout']);
      const extra = REQUIRES[name] ?? [];
      const changed = helm([
        'template',
        'slo-scout',
        './slo-scout',
        '-n',
        'slo-scout',
        ...extra,
        '--set',
        `${name}=${altered(name, def)}`,
      ]);
      expect(changed).not.toEqual(base);
    });
  it('the seed snippets (tuning, debug, monitoring, network policy) take effect', () => {
    const ms = template(['-f', SNIPPET_VALUES]);
    expect(find(ms, 'ServiceMonitor', 'slo-scout-backend')!.metadata.labels!['release']).toBe(
      'prometheus-operator',
    );
    expect(find(ms, 'Cluster', 'slo-scout-timescaledb')!['spec']).toMatchObject({
      instances: 6,
      resources: { limits: { memory: '16Gi' } },
    });
    expect(find(ms, 'Kafka', 'slo-scout')!['spec']).toMatchObject({
      kafka: { config: { 'log.retention.bytes': 2147483648 } },
    });
    expect(find(ms, 'HorizontalPodAutoscaler', 'slo-scout-otlp-collector')!['spec']).toMatchObject({
      minReplicas: 10,
      maxReplicas: 50,
    });
    const fp = find(ms, 'Service', 'slo-scout-fingerprint') as unknown as {
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    };
    expect(fp.spec.template.metadata.annotations['autoscaling.knative.dev/max-scale']).toBe('50');
    expect(JSON.stringify(find(ms, 'Deployment', 'slo-scout-prometheus-collector'))).toContain('"LOG_LEVEL"');
  });
});

describe('chart: agrees with the function registry', () => {
  it('renders one Knative Service and KafkaSource per event function, with registry topics and scaling', () => {
    const ms = template();
    for (const f of reg.functions.filter((x) => x.kind === 'event')) {
      const ks = find(ms, 'KafkaSource', f.resourceName) as unknown as {
        spec: { topics: string[]; consumerGroup: string; delivery: { deadLetterSink: { uri: string } } };
      };
      expect(ks.spec.topics).toEqual(f.topics);
      expect(ks.spec.consumerGroup).toBe(f.consumerGroup);
      expect(ks.spec.delivery.deadLetterSink.uri).toBe(reg.deadLetterRoute);
      const svc = find(ms, 'Service', f.resourceName)!;
      expect(svc.apiVersion).toBe('serving.knative.dev/v1');
      expect(svc.metadata.labels!['networking.knative.dev/visibility']).toBe('cluster-local');
    }
    const analyze = find(ms, 'Service', 'slo-scout-analyze') as unknown as {
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    };
    const a = reg.functions.find((f) => f.name === 'analyze')!;
    expect(analyze.spec.template.metadata.annotations['autoscaling.knative.dev/max-scale']).toBe(
      String(a.scaling.maxScale),
    );
    expect(
      ms
        .filter((m) => m.kind === 'KafkaTopic')
        .map((m) => (m['spec'] as { topicName: string }).topicName)
        .sort(),
    ).toEqual(reg.topics.map((t) => t.name).sort());
  });
  it('the api function is the backend Deployment with a migrate init container', () => {
    const d = find(template(), 'Deployment', 'slo-scout-backend') as unknown as {
      spec: {
        template: { spec: { initContainers: { args: string[] }[]; containers: { args: string[] }[] } };
      };
    };
    expect(d.spec.template.spec.initContainers[0]!.args).toEqual(['migrate']);
    expect(d.spec.template.spec.containers[0]!.args.slice(0, 2)).toEqual(['serve-function', 'api']);
  });
  it('without Knative every event function is a Deployment running run-function', () => {
    const ms = template(['--set', 'knative.enabled=false']);
    expect(ms.filter((m) => m.kind === 'KafkaSource')).toEqual([]);
    for (const f of reg.functions.filter((x) => x.kind === 'event'))
      expect(JSON.stringify(find(ms, 'Deployment', f.resourceName))).toContain(`"run-function","${f.name}"`);
  });
  it('flink aliases switch the stage functions', () => {
    const off = template([
      '--set',
      'flink.jobs.embedding.enabled=false',
      '--set',
      'flink.jobs.fingerprinting.enabled=false',
    ]);
    expect(find(off, 'KafkaSource', 'slo-scout-embed')).toBeUndefined();
    expect(find(off, 'KafkaSource', 'slo-scout-fingerprint')).toBeUndefined();
    expect(find(off, 'KafkaSource', 'slo-scout-rollup')).toBeDefined();
    expect(
      template(['--set', 'flink.jobmanager.enabled=false']).filter((m) => m.kind === 'KafkaSource'),
    ).toEqual([]);
  });
  it('values.yaml and the schema list exactly the registry functions', () => {
    const names = reg.functions.map((f) => f.name).sort();
    expect(Object.keys(values['functions'] as object).sort()).toEqual(names);
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as {
      properties: { functions: { properties: object } };
    };
    expect(Object.keys(schema.properties.functions.properties).sort()).toEqual(names);
  });
  it('every workload meets Pod Security Standards "restricted" basics', () => {
    for (const m of template(['-f', 'slo-scout/values-dev.yaml'])) {
      const spec = (
        m['spec'] as
          { template?: { spec?: { containers?: unknown[]; initContainers?: unknown[] } } } | undefined
      )?.template?.spec;
      if (!spec?.containers) continue;
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])] as {
        name: string;
        securityContext?: Record<string, unknown>;
      }[]) {
        expect(
          c.securityContext?.['allowPrivilegeEscalation'],
          `${m.kind}/${m.metadata.name}/${c.name}`,
        ).toBe(false);
        expect(c.securityContext?.['capabilities']).toEqual({ drop: ['ALL'] });
      }
    }
  });
});
