/**
 * Renders the Knative manifests (knative/) from the deployment registry: per function a Knative Service
 * (serving.knative.dev/v1) and, for event functions, a KafkaSource (sources.knative.dev/v1beta1) with a dead-letter
 * sink on the API. Event-only functions are cluster-local. Pure: returns file names and YAML text.
 */
import { stringify } from 'yaml';
import {
  apiFunction,
  APP,
  deploymentRegistry,
  type DeploymentRegistry,
  type FunctionFacts,
} from './registry.js';

export interface KnativeOptions {
  readonly namespace: string;
  readonly image: string;
  readonly bootstrapServers: readonly string[];
  /** ConfigMap holding the non-secret SLO_SCOUT_* values. */
  readonly configMap: string;
  /** Secret holding the credential SLO_SCOUT_* values (keys named like the variables). */
  readonly secret: string;
  readonly serviceAccount: string;
}

export const KNATIVE_DEFAULTS: KnativeOptions = {
  namespace: APP,
  image: 'docker.io/slo-scout/slo-scout:0.1.0',
  bootstrapServers: [`${APP}-kafka-bootstrap:9092`],
  configMap: `${APP}-config`,
  secret: `${APP}-credentials`,
  serviceAccount: `${APP}-functions`,
};

/** Non-secret values in the ConfigMap (in-cluster service names as rendered by the Helm chart for release slo-scout). */
export const CONFIG_DEFAULTS: Readonly<Record<string, string>> = {
  SLO_SCOUT_LOG_LEVEL: 'info',
  SLO_SCOUT_TENANT: 'default',
  SLO_SCOUT_KAFKA_BROKERS: `${APP}-kafka-bootstrap:9092`,
  SLO_SCOUT_HOST: '0.0.0.0',
  SLO_SCOUT_S3_BUCKET: 'slo-scout-telemetry',
  SLO_SCOUT_S3_ENDPOINT: `http://minio.${APP}.svc:80`,
  SLO_SCOUT_S3_REGION: 'us-east-1',
  SLO_SCOUT_MILVUS_ADDRESS: `${APP}-milvus:19530`,
  SLO_SCOUT_MODEL_DIR: '/models',
  SLO_SCOUT_MODEL_ID: 'Xenova/all-MiniLM-L6-v2',
  SLO_SCOUT_ALLOW_MODEL_DOWNLOAD: 'false',
  SLO_SCOUT_API_PORT: '8080',
};

const labels = (f: FunctionFacts) => ({
  'app.kubernetes.io/name': APP,
  'app.kubernetes.io/component': f.name,
  'app.kubernetes.io/part-of': APP,
  'app.kubernetes.io/managed-by': 'slo-scout-manifests',
});

export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: 10001,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

function envEntries(f: FunctionFacts, o: KnativeOptions): unknown[] {
  return f.env.map((name) => {
    if (f.secretEnv.includes(name))
      return { name, valueFrom: { secretKeyRef: { name: o.secret, key: name, optional: true } } };
    // Knative sets PORT; the HTTP function listens on it (serve-function reads PORT).
    return { name, valueFrom: { configMapKeyRef: { name: o.configMap, key: name, optional: true } } };
  });
}

export function knativeService(f: FunctionFacts, o: KnativeOptions): Record<string, unknown> {
  const s = f.scaling;
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      name: f.resourceName,
      namespace: o.namespace,
      labels: {
        ...labels(f),
        ...(f.visibility === 'cluster-local' ? { 'networking.knative.dev/visibility': 'cluster-local' } : {}),
      },
      annotations: { 'slo-scout.io/description': f.description },
    },
    spec: {
      template: {
        metadata: {
          labels: labels(f),
          annotations: {
            'autoscaling.knative.dev/class': 'kpa.autoscaling.knative.dev',
            'autoscaling.knative.dev/metric': 'concurrency',
            'autoscaling.knative.dev/min-scale': String(s.minScale),
            'autoscaling.knative.dev/max-scale': String(s.maxScale),
            'autoscaling.knative.dev/target': String(s.concurrency),
          },
        },
        spec: {
          serviceAccountName: o.serviceAccount,
          automountServiceAccountToken: false,
          containerConcurrency: s.concurrency,
          timeoutSeconds: 300,
          securityContext: {
            runAsNonRoot: true,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'function',
              image: o.image,
              args: [...f.args],
              ports: [{ name: 'http1', containerPort: 8080 }],
              env: envEntries(f, o),
              readinessProbe: { httpGet: { path: '/readyz' } },
              livenessProbe: { httpGet: { path: '/healthz' } },
              resources: {
                requests: { cpu: '100m', memory: '256Mi' },
                limits: { memory: f.needs.includes('embedder') ? '2Gi' : '512Mi' },
              },
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

export function kafkaSource(
  f: FunctionFacts,
  api: FunctionFacts,
  reg: DeploymentRegistry,
  o: KnativeOptions,
): Record<string, unknown> {
  return {
    apiVersion: 'sources.knative.dev/v1beta1',
    kind: 'KafkaSource',
    metadata: { name: f.resourceName, namespace: o.namespace, labels: labels(f) },
    spec: {
      bootstrapServers: [...o.bootstrapServers],
      topics: [...f.topics],
      consumerGroup: f.consumerGroup,
      initialOffset: 'earliest',
      ordering: 'ordered',
      sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: f.resourceName } },
      delivery: {
        retry: 5,
        backoffPolicy: 'exponential',
        backoffDelay: 'PT0.5S',
        deadLetterSink: {
          ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: api.resourceName },
          uri: reg.deadLetterRoute,
        },
      },
    },
  };
}

export function configMap(o: KnativeOptions): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: o.configMap, namespace: o.namespace, labels: { 'app.kubernetes.io/name': APP } },
    data: { ...CONFIG_DEFAULTS },
  };
}

const HEADER =
  '# Generated by `slo-scout manifests knative --out knative` from functions/index.ts; do not edit by hand.\n';

/** File name -> YAML text. One file per function plus config.yaml. */
export function renderKnative(
  reg: DeploymentRegistry = deploymentRegistry(),
  o: KnativeOptions = KNATIVE_DEFAULTS,
): Map<string, string> {
  const api = apiFunction(reg);
  const files = new Map<string, string>();
  files.set('config.yaml', HEADER + stringify(configMap(o)));
  for (const f of reg.functions) {
    const docs = [knativeService(f, o)];
    if (f.kind === 'event') docs.push(kafkaSource(f, api, reg, o));
    files.set(`${f.name}.yaml`, HEADER + docs.map((d) => stringify(d)).join('---\n'));
  }
  return files;
}
