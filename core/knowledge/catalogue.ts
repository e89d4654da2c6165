/**
 * The curated SLI pattern catalogue. Metric names are the Prometheus family names as scraped (or as Prometheus names
 * OTLP metrics: dots to underscores, unit suffix, `_total` on monotonic sums). Sources: OpenTelemetry semantic
 * conventions (HTTP, RPC, messaging, database), Prometheus client-library / framework defaults (promhttp, Micrometer,
 * go-grpc-prometheus), and the de-facto exporters (kube-state-metrics, cAdvisor, postgres/mysql/redis exporters,
 * kafka-exporter, rabbitmq, ingress-nginx, Istio standard metrics).
 *
 * Changing a pattern's meaning or queries: bump its `version` and CATALOGUE_VERSION.
 */
import type { SliCatalogue, SliPattern } from './types.js';

export const CATALOGUE_VERSION = '2025.06.1';

const W = '{{.window}}';

/** good/total for a histogram latency SLI: requests faster than $LE (in the metric's unit). */
function latency(family: string, extra = ''): { good: string; total: string } {
  return {
    good: `sum(rate(${family}_bucket{$SEL${extra},le="$LE"}[${W}]))`,
    total: `sum(rate(${family}_count{$SEL${extra}}[${W}]))`,
  };
}

/** good/total for a "fraction of minutes in which CONDITION held" SLI. */
function minutesWhere(condition: string): { good: string; total: string } {
  return {
    good: `sum_over_time((${condition})[${W}:1m])`,
    total: `count_over_time((${condition})[${W}:1m])`,
  };
}

const HTTP_AVAIL = { typical: 0.999, min: 0.99, max: 0.9999 };
const LAT_OBJ = { typical: 0.99, min: 0.9, max: 0.999 };

const PATTERNS: readonly SliPattern[] = [
  // ---- HTTP servers --------------------------------------------------------------------------------------------
  {
    id: 'http-server.availability.otel',
    version: 1,
    title: 'HTTP server availability (OpenTelemetry semantic conventions)',
    category: 'http-server',
    sliKind: 'availability',
    source: 'OpenTelemetry HTTP semconv (stable): http.server.request.duration',
    description:
      'Share of HTTP requests answered without a server error (status 5xx) by the service. Covers REST and web endpoints: GET, POST, PUT, DELETE on a route; request failed, internal server error, 500, 502, 503 responses.',
    keywords: ['http', 'request', 'route', 'status code', '5xx', 'error', 'endpoint', 'api'],
    journeyKinds: ['request'],
    metrics: [
      {
        name: 'http_server_request_duration_seconds',
        type: 'histogram',
        labels: ['http_response_status_code'],
      },
    ],
    journeyLabels: ['http_route', 'http_request_method', 'service_name', 'job'],
    semantics: {
      good: 'requests whose http.response.status_code is not 5xx',
      total: 'all server requests',
    },
    promql: {
      good: `sum(rate(http_server_request_duration_seconds_count{$SEL,http_response_status_code!~"5.."}[${W}]))`,
      total: `sum(rate(http_server_request_duration_seconds_count{$SEL}[${W}]))`,
    },
    objective: HTTP_AVAIL,
  },
  {
    id: 'http-server.latency.otel',
    version: 1,
    title: 'HTTP server latency (OpenTelemetry semantic conventions)',
    category: 'http-server',
    sliKind: 'latency',
    source: 'OpenTelemetry HTTP semconv (stable): http.server.request.duration in seconds',
    description:
      'Share of HTTP requests served faster than a threshold. Slow responses, request took too long, timeout, p99 latency of an endpoint route.',
    keywords: ['http', 'latency', 'duration', 'slow', 'response time', 'timeout'],
    journeyKinds: ['request'],
    metrics: [{ name: 'http_server_request_duration_seconds', type: 'histogram', labels: [] }],
    journeyLabels: ['http_route', 'http_request_method', 'service_name', 'job'],
    semantics: { good: 'requests completed within $LE seconds', total: 'all server requests' },
    promql: latency('http_server_request_duration_seconds'),
    params: { LE: 0.5 },
    objective: LAT_OBJ,
  },
  {
    id: 'http-server.availability.otel-legacy',
    version: 1,
    title: 'HTTP server availability (OpenTelemetry semconv before 1.23)',
    category: 'http-server',
    sliKind: 'availability',
    source: 'OpenTelemetry HTTP semconv (experimental): http.server.duration in milliseconds',
    description:
      'Share of HTTP requests without a 5xx server error, from older OpenTelemetry SDKs that emit http.server.duration with http.status_code.',
    keywords: ['http', 'request', 'status code', '5xx', 'error'],
    journeyKinds: ['request'],
    metrics: [{ name: 'http_server_duration_milliseconds', type: 'histogram', labels: ['http_status_code'] }],
    journeyLabels: ['http_route', 'http_target', 'http_method', 'service_name', 'job'],
    semantics: { good: 'requests whose http.status_code is not 5xx', total: 'all server requests' },
    promql: {
      good: `sum(rate(http_server_duration_milliseconds_count{$SEL,http_status_code!~"5.."}[${W}]))`,
      total: `sum(rate(http_server_duration_milliseconds_count{$SEL}[${W}]))`,
    },
    objective: HTTP_AVAIL,
  },
  {
    id: 'http-server.latency.otel-legacy',
    version: 1,
    title: 'HTTP server latency (OpenTelemetry semconv before 1.23)',
    category: 'http-server',
    sliKind: 'latency',
    source: 'OpenTelemetry HTTP semconv (experimental): http.server.duration in milliseconds',
    description: 'Share of HTTP requests faster than a threshold in milliseconds; slow endpoint responses.',
    keywords: ['http', 'latency', 'slow', 'milliseconds'],
    journeyKinds: ['request'],
    metrics: [{ name: 'http_server_duration_milliseconds', type: 'histogram', labels: [] }],
    journeyLabels: ['http_route', 'http_target', 'http_method', 'service_name', 'job'],
    semantics: { good: 'requests completed within $LE ms', total: 'all server requests' },
    promql: latency('http_server_duration_milliseconds'),
    params: { LE: 500 },
    objective: LAT_OBJ,
  },
  {
    id: 'http-server.availability.promhttp',
    version: 1,
    title: 'HTTP server availability (Prometheus client promhttp conventions)',
    category: 'http-server',
    sliKind: 'availability',
    source:
      'Prometheus client libraries: http_requests_total{code,method} (promhttp InstrumentHandlerCounter)',
    description:
      'Share of HTTP requests that did not fail with a 5xx status code, counted by the http_requests_total counter of a Prometheus-instrumented web server.',
    keywords: ['http', 'requests total', 'code', '5xx', 'handler'],
    journeyKinds: ['request'],
    metrics: [{ name: 'http_requests_total', type: 'counter', labels: ['code'] }],
    journeyLabels: ['handler', 'path', 'route', 'method', 'job'],
    semantics: { good: 'requests with a code other than 5xx', total: 'all requests' },
    promql: {
      good: `sum(rate(http_requests_total{$SEL,code!~"5.."}[${W}]))`,
      total: `sum(rate(http_requests_total{$SEL}[${W}]))`,
    },
    objective: HTTP_AVAIL,
  },
  {
    id: 'http-server.latency.promhttp',
    version: 1,
    title: 'HTTP server latency (Prometheus client http_request_duration_seconds)',
    category: 'http-server',
    sliKind: 'latency',
    source: 'Prometheus client libraries: http_request_duration_seconds histogram',
    description:
      'Share of HTTP requests served within a latency threshold, from the client-library histogram.',
    keywords: ['http', 'latency', 'duration', 'seconds', 'slow'],
    journeyKinds: ['request'],
    metrics: [{ name: 'http_request_duration_seconds', type: 'histogram', labels: [] }],
    journeyLabels: ['handler', 'path', 'route', 'method', 'job'],
    semantics: { good: 'requests completed within $LE seconds', total: 'all requests' },
    promql: latency('http_request_duration_seconds'),
    params: { LE: 0.5 },
    objective: LAT_OBJ,
  },
  {
    id: 'http-server.availability.micrometer',
    version: 1,
    title: 'HTTP server availability (Spring Boot / Micrometer)',
    category: 'http-server',
    sliKind: 'availability',
    source: 'Micrometer http.server.requests: http_server_requests_seconds{status,uri,outcome}',
    description:
      'Share of Spring MVC / WebFlux requests whose outcome is not SERVER_ERROR. Java controller endpoints, exceptions resolved to 500.',
    keywords: ['spring', 'java', 'http', 'outcome', 'server error', 'uri'],
    journeyKinds: ['request'],
    metrics: [{ name: 'http_server_requests_seconds', type: 'histogram', labels: ['outcome'] }],
    journeyLabels: ['uri', 'method', 'application', 'job'],
    semantics: { good: 'requests whose outcome is not SERVER_ERROR', total: 'all requests' },
    promql: {
      good: `sum(rate(http_server_requests_seconds_count{$SEL,outcome!="SERVER_ERROR"}[${W}]))`,
      total: `sum(rate(http_server_requests_seconds_count{$SEL}[${W}]))`,
    },
    objective: HTTP_AVAIL,
  },
  {
    id: 'http-server.latency.micrometer',
    version: 1,
    title: 'HTTP server latency (Spring Boot / Micrometer histogram)',
    category: 'http-server',
    sliKind: 'latency',
    source: 'Micrometer http.server.requests with percentiles-histogram enabled',
    description: 'Share of Spring requests faster than a threshold; slow Java endpoints.',
    keywords: ['spring', 'java', 'latency', 'slow'],
    journeyKinds: ['request'],
    metrics: [{ name: 'http_server_requests_seconds', type: 'histogram', labels: [] }],
    journeyLabels: ['uri', 'method', 'application', 'job'],
    semantics: { good: 'requests completed within $LE seconds', total: 'all requests' },
    promql: latency('http_server_requests_seconds'),
    params: { LE: 0.5 },
    objective: LAT_OBJ,
  },
  // ---- gRPC servers --------------------------------------------------------------------------------------------
  {
    id: 'grpc-server.availability.go-grpc-prometheus',
    version: 1,
    title: 'gRPC server availability (grpc-ecosystem go-grpc-prometheus)',
    category: 'grpc-server',
    sliKind: 'availability',
    source:
      'go-grpc-prometheus / go-grpc-middleware: grpc_server_handled_total{grpc_code,grpc_service,grpc_method}',
    description:
      'Share of gRPC calls that did not end with a server-side failure code (Unknown, DeadlineExceeded, Unimplemented, Internal, Unavailable, DataLoss). RPC method calls, status codes.',
    keywords: ['grpc', 'rpc', 'method', 'status', 'unavailable', 'internal', 'deadline exceeded'],
    journeyKinds: ['request'],
    metrics: [{ name: 'grpc_server_handled_total', type: 'counter', labels: ['grpc_code'] }],
    journeyLabels: ['grpc_service', 'grpc_method', 'job'],
    semantics: {
      good: 'calls whose grpc_code is not a server fault',
      total: 'all handled calls',
    },
    promql: {
      good: `sum(rate(grpc_server_handled_total{$SEL,grpc_code!~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"}[${W}]))`,
      total: `sum(rate(grpc_server_handled_total{$SEL}[${W}]))`,
    },
    objective: HTTP_AVAIL,
  },
  {
    id: 'grpc-server.latency.go-grpc-prometheus',
    version: 1,
    title: 'gRPC server latency (go-grpc-prometheus handling histogram)',
    category: 'grpc-server',
    sliKind: 'latency',
    source: 'go-grpc-prometheus with handling-time histogram: grpc_server_handling_seconds',
    description: 'Share of gRPC calls handled within a threshold; slow RPC methods.',
    keywords: ['grpc', 'rpc', 'latency', 'handling time'],
    journeyKinds: ['request'],
    metrics: [{ name: 'grpc_server_handling_seconds', type: 'histogram', labels: [] }],
    journeyLabels: ['grpc_service', 'grpc_method', 'job'],
    semantics: { good: 'calls handled within $LE seconds', total: 'all calls' },
    promql: latency('grpc_server_handling_seconds'),
    params: { LE: 0.25 },
    objective: LAT_OBJ,
  },
  {
    id: 'grpc-server.availability.otel',
    version: 1,
    title: 'gRPC server availability (OpenTelemetry RPC semantic conventions)',
    category: 'grpc-server',
    sliKind: 'availability',
    source: 'OpenTelemetry RPC semconv: rpc.server.duration with rpc.grpc.status_code',
    description:
      'Share of gRPC server calls whose numeric status code is not a server fault (2 UNKNOWN, 4 DEADLINE_EXCEEDED, 12 UNIMPLEMENTED, 13 INTERNAL, 14 UNAVAILABLE, 15 DATA_LOSS).',
    keywords: ['grpc', 'rpc', 'status code', 'server call'],
    journeyKinds: ['request'],
    metrics: [
      { name: 'rpc_server_duration_milliseconds', type: 'histogram', labels: ['rpc_grpc_status_code'] },
    ],
    journeyLabels: ['rpc_service', 'rpc_method', 'service_name', 'job'],
    semantics: { good: 'calls whose rpc.grpc.status_code is not a server fault', total: 'all calls' },
    promql: {
      good: `sum(rate(rpc_server_duration_milliseconds_count{$SEL,rpc_grpc_status_code!~"2|4|12|13|14|15"}[${W}]))`,
      total: `sum(rate(rpc_server_duration_milliseconds_count{$SEL}[${W}]))`,
    },
    objective: HTTP_AVAIL,
  },
  {
    id: 'grpc-server.latency.otel',
    version: 1,
    title: 'gRPC server latency (OpenTelemetry RPC semantic conventions)',
    category: 'grpc-server',
    sliKind: 'latency',
    source: 'OpenTelemetry RPC semconv: rpc.server.duration in milliseconds',
    description: 'Share of gRPC calls faster than a threshold in milliseconds.',
    keywords: ['grpc', 'rpc', 'latency'],
    journeyKinds: ['request'],
    metrics: [{ name: 'rpc_server_duration_milliseconds', type: 'histogram', labels: [] }],
    journeyLabels: ['rpc_service', 'rpc_method', 'service_name', 'job'],
    semantics: { good: 'calls completed within $LE ms', total: 'all calls' },
    promql: latency('rpc_server_duration_milliseconds'),
    params: { LE: 250 },
    objective: LAT_OBJ,
  },
  // ---- messaging consumers -------------------------------------------------------------------------------------
  {
    id: 'messaging-consumer.lag.kafka-exporter',
    version: 1,
    title: 'Kafka consumer lag below a bound (kafka-exporter)',
    category: 'messaging-consumer',
    sliKind: 'lag',
    source: 'danielqsj/kafka-exporter: kafka_consumergroup_lag{consumergroup,topic,partition}',
    description:
      'Share of minutes in which the consumer group lag (messages behind the latest offset) stays below a bound. Kafka consumer falling behind, backlog of records, offset lag, rebalance.',
    keywords: ['kafka', 'consumer', 'lag', 'offset', 'consumer group', 'backlog', 'topic'],
    journeyKinds: ['async'],
    metrics: [{ name: 'kafka_consumergroup_lag', type: 'gauge', labels: ['consumergroup'] }],
    journeyLabels: ['consumergroup', 'topic'],
    semantics: { good: 'minutes with total lag below $MAX_LAG messages', total: 'all minutes' },
    promql: minutesWhere('sum(kafka_consumergroup_lag{$SEL}) < bool $MAX_LAG'),
    params: { MAX_LAG: 1000 },
    objective: { typical: 0.99, min: 0.95, max: 0.999 },
  },
  {
    id: 'messaging-consumer.lag.micrometer',
    version: 1,
    title: 'Kafka consumer records lag (Kafka client metrics via Micrometer / JMX)',
    category: 'messaging-consumer',
    sliKind: 'lag',
    source: 'Kafka consumer fetch-manager metric records-lag-max (Micrometer KafkaClientMetrics)',
    description:
      'Share of minutes in which the maximum records lag reported by the Kafka consumer client stays below a bound; consumer behind, slow processing of messages.',
    keywords: ['kafka', 'consumer', 'records lag', 'fetch manager'],
    journeyKinds: ['async'],
    metrics: [{ name: 'kafka_consumer_fetch_manager_records_lag_max', type: 'gauge', labels: [] }],
    journeyLabels: ['client_id', 'topic', 'application', 'job'],
    semantics: { good: 'minutes with records-lag-max below $MAX_LAG', total: 'all minutes' },
    promql: minutesWhere('max(kafka_consumer_fetch_manager_records_lag_max{$SEL}) < bool $MAX_LAG'),
    params: { MAX_LAG: 1000 },
    objective: { typical: 0.99, min: 0.95, max: 0.999 },
  },
  {
    id: 'messaging-consumer.availability.otel',
    version: 1,
    title: 'Message processing success (OpenTelemetry messaging semantic conventions)',
    category: 'messaging-consumer',
    sliKind: 'availability',
    source: 'OpenTelemetry messaging semconv: messaging.process.duration with error.type',
    description:
      'Share of consumed messages processed without an error: handler failed, message rejected, dead letter, retry exhausted, poison message.',
    keywords: ['message', 'consumer', 'process', 'dead letter', 'retry', 'handler failed', 'queue', 'event'],
    journeyKinds: ['async'],
    metrics: [{ name: 'messaging_process_duration_seconds', type: 'histogram', labels: [] }],
    journeyLabels: ['messaging_destination_name', 'messaging_consumer_group_name', 'service_name'],
    semantics: { good: 'messages processed without error.type', total: 'all processed messages' },
    promql: {
      good: `sum(rate(messaging_process_duration_seconds_count{$SEL,error_type=""}[${W}]))`,
      total: `sum(rate(messaging_process_duration_seconds_count{$SEL}[${W}]))`,
    },
    objective: { typical: 0.999, min: 0.99, max: 0.9999 },
  },
  {
    id: 'messaging-consumer.freshness.otel',
    version: 1,
    title: 'Message processing time (OpenTelemetry messaging semantic conventions)',
    category: 'messaging-consumer',
    sliKind: 'freshness',
    source: 'OpenTelemetry messaging semconv: messaging.process.duration',
    description:
      'Share of messages processed within a threshold, so downstream data stays fresh; slow consumer handler, processing took too long.',
    keywords: ['message', 'consumer', 'processing time', 'freshness', 'slow'],
    journeyKinds: ['async'],
    metrics: [{ name: 'messaging_process_duration_seconds', type: 'histogram', labels: [] }],
    journeyLabels: ['messaging_destination_name', 'messaging_consumer_group_name', 'service_name'],
    semantics: { good: 'messages processed within $LE seconds', total: 'all processed messages' },
    promql: latency('messaging_process_duration_seconds'),
    params: { LE: 5 },
    objective: LAT_OBJ,
  },
  // ---- batch jobs ----------------------------------------------------------------------------------------------
  {
    id: 'batch-job.freshness.last-success',
    version: 1,
    title: 'Batch job freshness (last success timestamp)',
    category: 'batch-job',
    sliKind: 'freshness',
    source:
      'Prometheus batch-job convention (Pushgateway): <job>_last_success_timestamp_seconds / _last_success_unixtime',
    description:
      'Share of minutes in which the last successful run of a batch job, cron job or ETL export is younger than a maximum age. Job completed, nightly import finished, report generated, stale data.',
    keywords: ['batch', 'job', 'cron', 'last success', 'freshness', 'etl', 'nightly', 'stale'],
    journeyKinds: ['job'],
    metrics: [
      {
        pattern: '.*_last_success(_timestamp_seconds|_time_seconds|_unixtime)',
        type: 'gauge',
        labels: [],
      },
    ],
    journeyLabels: ['job', 'instance'],
    semantics: { good: 'minutes in which the last success is younger than $MAX_AGE s', total: 'all minutes' },
    promql: minutesWhere('time() - max($METRIC{$SEL}) < bool $MAX_AGE'),
    params: { MAX_AGE: 93_600 },
    objective: { typical: 0.99, min: 0.95, max: 0.999 },
  },
  {
    id: 'batch-job.freshness.kube-cronjob',
    version: 1,
    title: 'Kubernetes CronJob freshness (kube-state-metrics)',
    category: 'batch-job',
    sliKind: 'freshness',
    source: 'kube-state-metrics: kube_cronjob_status_last_successful_time',
    description:
      'Share of minutes in which a Kubernetes CronJob last succeeded less than a maximum age ago; scheduled job missed, job failed, backoff limit exceeded.',
    keywords: ['cronjob', 'kubernetes', 'scheduled', 'job', 'last successful'],
    journeyKinds: ['job'],
    metrics: [{ name: 'kube_cronjob_status_last_successful_time', type: 'gauge', labels: ['cronjob'] }],
    journeyLabels: ['cronjob', 'namespace'],
    semantics: { good: 'minutes in which the last success is younger than $MAX_AGE s', total: 'all minutes' },
    promql: minutesWhere('time() - max(kube_cronjob_status_last_successful_time{$SEL}) < bool $MAX_AGE'),
    params: { MAX_AGE: 93_600 },
    objective: { typical: 0.99, min: 0.95, max: 0.999 },
  },
  {
    id: 'batch-job.success.kube-job',
    version: 1,
    title: 'Kubernetes Job success ratio (kube-state-metrics)',
    category: 'batch-job',
    sliKind: 'availability',
    source: 'kube-state-metrics: kube_job_status_succeeded / kube_job_status_failed',
    description: 'Share of Kubernetes Job runs that completed successfully rather than failing.',
    keywords: ['job', 'kubernetes', 'succeeded', 'failed', 'batch'],
    journeyKinds: ['job'],
    metrics: [
      { name: 'kube_job_status_succeeded', type: 'gauge', labels: ['job_name'] },
      { name: 'kube_job_status_failed', type: 'gauge', labels: ['job_name'] },
    ],
    journeyLabels: ['job_name', 'namespace'],
    semantics: { good: 'jobs that succeeded in the window', total: 'jobs that succeeded or failed' },
    promql: {
      good: `sum(max_over_time(kube_job_status_succeeded{$SEL}[${W}]))`,
      total: `sum(max_over_time(kube_job_status_succeeded{$SEL}[${W}])) + sum(max_over_time(kube_job_status_failed{$SEL}[${W}]))`,
    },
    objective: { typical: 0.99, min: 0.9, max: 0.999 },
  },
  // ---- databases -----------------------------------------------------------------------------------------------
  {
    id: 'database.client.availability.otel',
    version: 1,
    title: 'Database client operation success (OpenTelemetry database semconv)',
    category: 'database',
    sliKind: 'availability',
    source: 'OpenTelemetry database semconv: db.client.operation.duration with error.type',
    description:
      'Share of database queries and statements (SELECT, INSERT, UPDATE) that completed without an error: connection refused, deadlock, query failed, too many connections, SQL exception.',
    keywords: ['database', 'sql', 'query', 'postgres', 'mysql', 'deadlock', 'connection', 'statement'],
    journeyKinds: ['request', 'async', 'infra'],
    metrics: [{ name: 'db_client_operation_duration_seconds', type: 'histogram', labels: [] }],
    journeyLabels: ['db_system_name', 'db_operation_name', 'db_collection_name', 'service_name'],
    semantics: { good: 'operations without error.type', total: 'all operations' },
    promql: {
      good: `sum(rate(db_client_operation_duration_seconds_count{$SEL,error_type=""}[${W}]))`,
      total: `sum(rate(db_client_operation_duration_seconds_count{$SEL}[${W}]))`,
    },
    objective: { typical: 0.999, min: 0.99, max: 0.9999 },
  },
  {
    id: 'database.client.latency.otel',
    version: 1,
    title: 'Database client operation latency (OpenTelemetry database semconv)',
    category: 'database',
    sliKind: 'latency',
    source: 'OpenTelemetry database semconv: db.client.operation.duration',
    description: 'Share of database operations faster than a threshold; slow query, long-running statement.',
    keywords: ['database', 'query', 'slow query', 'latency', 'sql'],
    journeyKinds: ['request', 'async', 'infra'],
    metrics: [{ name: 'db_client_operation_duration_seconds', type: 'histogram', labels: [] }],
    journeyLabels: ['db_system_name', 'db_operation_name', 'db_collection_name', 'service_name'],
    semantics: { good: 'operations completed within $LE seconds', total: 'all operations' },
    promql: latency('db_client_operation_duration_seconds'),
    params: { LE: 0.1 },
    objective: LAT_OBJ,
  },
  {
    id: 'database.postgres.up',
    version: 1,
    title: 'PostgreSQL reachable (postgres_exporter)',
    category: 'database',
    sliKind: 'availability',
    source: 'prometheus-community postgres_exporter: pg_up',
    description:
      'Share of scrapes in which the PostgreSQL server was reachable; database down, connection refused.',
    keywords: ['postgres', 'postgresql', 'database', 'up', 'down'],
    journeyKinds: ['infra'],
    metrics: [{ name: 'pg_up', type: 'gauge', labels: [] }],
    journeyLabels: ['instance', 'job'],
    semantics: { good: 'scrapes with pg_up = 1', total: 'all scrapes' },
    promql: {
      good: `sum(sum_over_time(pg_up{$SEL}[${W}]))`,
      total: `sum(count_over_time(pg_up{$SEL}[${W}]))`,
    },
    objective: { typical: 0.999, min: 0.99, max: 0.9999 },
  },
  {
    id: 'database.mysql.up',
    version: 1,
    title: 'MySQL reachable (mysqld_exporter)',
    category: 'database',
    sliKind: 'availability',
    source: 'prometheus mysqld_exporter: mysql_up',
    description: 'Share of scrapes in which the MySQL server answered; database unavailable.',
    keywords: ['mysql', 'mariadb', 'database', 'up'],
    journeyKinds: ['infra'],
    metrics: [{ name: 'mysql_up', type: 'gauge', labels: [] }],
    journeyLabels: ['instance', 'job'],
    semantics: { good: 'scrapes with mysql_up = 1', total: 'all scrapes' },
    promql: {
      good: `sum(sum_over_time(mysql_up{$SEL}[${W}]))`,
      total: `sum(count_over_time(mysql_up{$SEL}[${W}]))`,
    },
    objective: { typical: 0.999, min: 0.99, max: 0.9999 },
  },
  // ---- caches --------------------------------------------------------------------------------------------------
  {
    id: 'cache.redis.hit-ratio',
    version: 1,
    title: 'Redis cache hit ratio (redis_exporter)',
    category: 'cache',
    sliKind: 'hit_ratio',
    source: 'oliver006/redis_exporter: redis_keyspace_hits_total / redis_keyspace_misses_total',
    description:
      'Share of cache lookups served from Redis (hits) rather than missing; cache miss, key not found, cold cache, eviction.',
    keywords: ['redis', 'cache', 'hit', 'miss', 'keyspace', 'eviction'],
    journeyKinds: ['infra', 'request'],
    metrics: [
      { name: 'redis_keyspace_hits_total', type: 'counter', labels: [] },
      { name: 'redis_keyspace_misses_total', type: 'counter', labels: [] },
    ],
    journeyLabels: ['instance', 'job'],
    semantics: { good: 'keyspace hits', total: 'hits plus misses' },
    promql: {
      good: `sum(rate(redis_keyspace_hits_total{$SEL}[${W}]))`,
      total: `sum(rate(redis_keyspace_hits_total{$SEL}[${W}])) + sum(rate(redis_keyspace_misses_total{$SEL}[${W}]))`,
    },
    objective: { typical: 0.9, min: 0.5, max: 0.99 },
  },
  {
    id: 'cache.redis.up',
    version: 1,
    title: 'Redis reachable (redis_exporter)',
    category: 'cache',
    sliKind: 'availability',
    source: 'oliver006/redis_exporter: redis_up',
    description: 'Share of scrapes in which Redis answered; cache unavailable, connection refused.',
    keywords: ['redis', 'cache', 'up', 'unavailable'],
    journeyKinds: ['infra'],
    metrics: [{ name: 'redis_up', type: 'gauge', labels: [] }],
    journeyLabels: ['instance', 'job'],
    semantics: { good: 'scrapes with redis_up = 1', total: 'all scrapes' },
    promql: {
      good: `sum(sum_over_time(redis_up{$SEL}[${W}]))`,
      total: `sum(count_over_time(redis_up{$SEL}[${W}]))`,
    },
    objective: { typical: 0.999, min: 0.99, max: 0.9999 },
  },
  {
    id: 'cache.memcached.hit-ratio',
    version: 1,
    title: 'Memcached hit ratio (memcached_exporter)',
    category: 'cache',
    sliKind: 'hit_ratio',
    source: 'prometheus memcached_exporter: memcached_commands_total{command,status}',
    description: 'Share of memcached get commands that hit; cache miss rate.',
    keywords: ['memcached', 'cache', 'get', 'hit', 'miss'],
    journeyKinds: ['infra'],
    metrics: [{ name: 'memcached_commands_total', type: 'counter', labels: ['command', 'status'] }],
    journeyLabels: ['instance', 'job'],
    semantics: { good: 'get commands with status hit', total: 'all get commands' },
    promql: {
      good: `sum(rate(memcached_commands_total{$SEL,command="get",status="hit"}[${W}]))`,
      total: `sum(rate(memcached_commands_total{$SEL,command="get"}[${W}]))`,
    },
    objective: { typical: 0.9, min: 0.5, max: 0.99 },
  },
  // ---- queues --------------------------------------------------------------------------------------------------
  {
    id: 'queue.rabbitmq.backlog',
    version: 1,
    title: 'RabbitMQ queue backlog below a bound (rabbitmq_prometheus)',
    category: 'queue',
    sliKind: 'lag',
    source: 'RabbitMQ rabbitmq_prometheus plugin: rabbitmq_queue_messages_ready',
    description:
      'Share of minutes in which the number of ready messages waiting in a RabbitMQ queue stays below a bound; queue backlog growing, consumers not keeping up.',
    keywords: ['rabbitmq', 'queue', 'backlog', 'messages ready', 'amqp'],
    journeyKinds: ['async', 'infra'],
    metrics: [{ name: 'rabbitmq_queue_messages_ready', type: 'gauge', labels: [] }],
    journeyLabels: ['queue', 'vhost'],
    semantics: { good: 'minutes with fewer than $MAX_READY ready messages', total: 'all minutes' },
    promql: minutesWhere('sum(rabbitmq_queue_messages_ready{$SEL}) < bool $MAX_READY'),
    params: { MAX_READY: 1000 },
    objective: { typical: 0.99, min: 0.95, max: 0.999 },
  },
  {
    id: 'queue.sqs.oldest-message-age',
    version: 1,
    title: 'SQS oldest message age (CloudWatch exporter / YACE)',
    category: 'queue',
    sliKind: 'freshness',
    source: 'CloudWatch AWS/SQS ApproximateAgeOfOldestMessage via yet-another-cloudwatch-exporter',
    description:
      'Share of minutes in which the oldest message waiting in an SQS queue is younger than a bound; messages stuck in the queue, stale queue.',
    keywords: ['sqs', 'aws', 'queue', 'age of oldest message', 'stuck'],
    journeyKinds: ['async', 'infra'],
    metrics: [{ name: 'aws_sqs_approximate_age_of_oldest_message_maximum', type: 'gauge', labels: [] }],
    journeyLabels: ['dimension_QueueName', 'name'],
    semantics: { good: 'minutes with the oldest message younger than $MAX_AGE s', total: 'all minutes' },
    promql: minutesWhere('max(aws_sqs_approximate_age_of_oldest_message_maximum{$SEL}) < bool $MAX_AGE'),
    params: { MAX_AGE: 300 },
    objective: { typical: 0.99, min: 0.95, max: 0.999 },
  },
  // ---- ingress-nginx -------------------------------------------------------------------------------------------
  {
    id: 'ingress-nginx.availability',
    version: 1,
    title: 'Ingress availability (ingress-nginx controller)',
    category: 'ingress-nginx',
    sliKind: 'availability',
    source: 'ingress-nginx: nginx_ingress_controller_requests{status,ingress,host,path}',
    description:
      'Share of requests through the NGINX ingress controller answered without a 5xx status: edge availability as users see it, upstream errors, bad gateway 502, 503 service unavailable, 504 gateway timeout.',
    keywords: ['ingress', 'nginx', 'edge', 'gateway', '502', '503', '504', 'upstream'],
    journeyKinds: ['request'],
    metrics: [{ name: 'nginx_ingress_controller_requests', type: 'counter', labels: ['status'] }],
    journeyLabels: ['ingress', 'host', 'path', 'exported_namespace', 'namespace'],
    semantics: { good: 'requests with a status other than 5xx', total: 'all requests' },
    promql: {
      good: `sum(rate(nginx_ingress_controller_requests{$SEL,status!~"5.."}[${W}]))`,
      total: `sum(rate(nginx_ingress_controller_requests{$SEL}[${W}]))`,
    },
    objective: HTTP_AVAIL,
  },
  {
    id: 'ingress-nginx.latency',
    version: 1,
    title: 'Ingress latency (ingress-nginx controller)',
    category: 'ingress-nginx',
    sliKind: 'latency',
    source: 'ingress-nginx: nginx_ingress_controller_request_duration_seconds',
    description: 'Share of ingress requests answered within a threshold, measured at the edge.',
    keywords: ['ingress', 'nginx', 'edge', 'latency', 'request duration'],
    journeyKinds: ['request'],
    metrics: [{ name: 'nginx_ingress_controller_request_duration_seconds', type: 'histogram', labels: [] }],
    journeyLabels: ['ingress', 'host', 'path', 'exported_namespace', 'namespace'],
    semantics: { good: 'requests completed within $LE seconds', total: 'all requests' },
    promql: latency('nginx_ingress_controller_request_duration_seconds'),
    params: { LE: 1 },
    objective: LAT_OBJ,
  },
  // ---- Istio ---------------------------------------------------------------------------------------------------
  {
    id: 'istio.availability',
    version: 1,
    title: 'Service availability from the Istio mesh (standard metrics)',
    category: 'istio',
    sliKind: 'availability',
    source: 'Istio standard metrics: istio_requests_total{response_code,destination_service_name,reporter}',
    description:
      'Share of requests to a mesh service answered without a 5xx response code, reported by the destination sidecar (Envoy). Service mesh, sidecar proxy, upstream connect error.',
    keywords: ['istio', 'mesh', 'envoy', 'sidecar', 'destination service', '5xx'],
    journeyKinds: ['request'],
    metrics: [{ name: 'istio_requests_total', type: 'counter', labels: ['response_code', 'reporter'] }],
    journeyLabels: ['destination_service_name', 'destination_workload', 'request_path'],
    semantics: { good: 'destination-reported requests with a non-5xx response_code', total: 'all of them' },
    promql: {
      good: `sum(rate(istio_requests_total{$SEL,reporter="destination",response_code!~"5.."}[${W}]))`,
      total: `sum(rate(istio_requests_total{$SEL,reporter="destination"}[${W}]))`,
    },
    objective: HTTP_AVAIL,
  },
  {
    id: 'istio.latency',
    version: 1,
    title: 'Service latency from the Istio mesh (standard metrics)',
    category: 'istio',
    sliKind: 'latency',
    source: 'Istio standard metrics: istio_request_duration_milliseconds',
    description:
      'Share of mesh requests faster than a threshold in milliseconds, reported by the destination sidecar.',
    keywords: ['istio', 'mesh', 'envoy', 'latency'],
    journeyKinds: ['request'],
    metrics: [{ name: 'istio_request_duration_milliseconds', type: 'histogram', labels: ['reporter'] }],
    journeyLabels: ['destination_service_name', 'destination_workload'],
    semantics: { good: 'requests completed within $LE ms', total: 'all requests' },
    promql: latency('istio_request_duration_milliseconds', ',reporter="destination"'),
    params: { LE: 500 },
    objective: LAT_OBJ,
  },
  // ---- Kubernetes workloads ------------------------------------------------------------------------------------
  {
    id: 'kubernetes.deployment.replicas-available',
    version: 1,
    title: 'Deployment fully available (kube-state-metrics)',
    category: 'kubernetes',
    sliKind: 'availability',
    source: 'kube-state-metrics: kube_deployment_status_replicas_available / kube_deployment_spec_replicas',
    description:
      'Share of minutes in which a Kubernetes Deployment has all desired replicas available; pods not ready, rollout stuck, crash loop, evicted.',
    keywords: ['kubernetes', 'deployment', 'replicas', 'pod', 'ready', 'rollout'],
    journeyKinds: ['infra'],
    metrics: [
      { name: 'kube_deployment_status_replicas_available', type: 'gauge', labels: ['deployment'] },
      { name: 'kube_deployment_spec_replicas', type: 'gauge', labels: ['deployment'] },
    ],
    journeyLabels: ['deployment', 'namespace'],
    semantics: { good: 'minutes with available >= desired replicas', total: 'all minutes' },
    promql: minutesWhere(
      'min(kube_deployment_status_replicas_available{$SEL}) >= bool min(kube_deployment_spec_replicas{$SEL})',
    ),
    objective: { typical: 0.99, min: 0.95, max: 0.999 },
  },
  {
    id: 'kubernetes.pod.restarts',
    version: 1,
    title: 'Pods not restarting (kube-state-metrics)',
    category: 'kubernetes',
    sliKind: 'availability',
    source: 'kube-state-metrics: kube_pod_container_status_restarts_total',
    description:
      'Share of minutes without a container restart in the workload; OOMKilled, CrashLoopBackOff, liveness probe failed, container restarted.',
    keywords: ['kubernetes', 'pod', 'restart', 'oomkilled', 'crashloopbackoff', 'liveness'],
    journeyKinds: ['infra'],
    metrics: [{ name: 'kube_pod_container_status_restarts_total', type: 'counter', labels: ['pod'] }],
    journeyLabels: ['namespace', 'pod', 'container'],
    semantics: { good: 'minutes without a restart', total: 'all minutes' },
    promql: minutesWhere('sum(increase(kube_pod_container_status_restarts_total{$SEL}[1m])) == bool 0'),
    objective: { typical: 0.999, min: 0.99, max: 0.9999 },
  },
  {
    id: 'kubernetes.container.cpu-throttling',
    version: 1,
    title: 'CPU periods not throttled (cAdvisor)',
    category: 'kubernetes',
    sliKind: 'saturation',
    source: 'cAdvisor (kubelet): container_cpu_cfs_throttled_periods_total / container_cpu_cfs_periods_total',
    description:
      'Share of CFS scheduling periods in which the container was not CPU throttled; CPU limit too low, throttling causing latency.',
    keywords: ['cpu', 'throttling', 'cfs', 'container', 'limit', 'kubernetes'],
    journeyKinds: ['infra'],
    metrics: [
      { name: 'container_cpu_cfs_throttled_periods_total', type: 'counter', labels: [] },
      { name: 'container_cpu_cfs_periods_total', type: 'counter', labels: [] },
    ],
    journeyLabels: ['namespace', 'pod', 'container'],
    semantics: { good: 'periods not throttled', total: 'all CFS periods' },
    promql: {
      good: `sum(rate(container_cpu_cfs_periods_total{$SEL}[${W}])) - sum(rate(container_cpu_cfs_throttled_periods_total{$SEL}[${W}]))`,
      total: `sum(rate(container_cpu_cfs_periods_total{$SEL}[${W}]))`,
    },
    objective: { typical: 0.95, min: 0.75, max: 0.99 },
  },
];

export const SLI_CATALOGUE: SliCatalogue = { version: CATALOGUE_VERSION, patterns: PATTERNS };

/** The text embedded for a pattern (what retrieval compares journeys and log templates against). */
export function patternText(p: SliPattern): string {
  const metrics = p.metrics.map((m) => m.name ?? m.pattern ?? '').join(', ');
  return `${p.title}. ${p.description} Good: ${p.semantics.good}; total: ${p.semantics.total}. Metrics: ${metrics}. ${p.keywords.join(', ')}.`;
}

export function findPattern(id: string, catalogue: SliCatalogue = SLI_CATALOGUE): SliPattern | undefined {
  return catalogue.patterns.find((p) => p.id === id);
}

/**
 * Fill a pattern's PromQL templates: `$SEL` with the given matchers (empty allowed), `$METRIC` with the matched family
 * name, `$<PARAM>` with parameters (defaults from the pattern). `{{.window}}` is left for the rule generator.
 */
export function renderPromql(
  p: SliPattern,
  options: {
    readonly matchers?: readonly string[];
    readonly metric?: string;
    readonly params?: Readonly<Record<string, number>>;
  } = {},
): { good: string; total: string } {
  const sel = (options.matchers ?? []).join(',');
  const params = { ...(p.params ?? {}), ...(options.params ?? {}) };
  const fill = (t: string): string => {
    let out = t.replace(/\$SEL/g, sel).replace(/\$METRIC/g, options.metric ?? p.metrics[0]?.name ?? '');
    for (const [k, v] of Object.entries(params)) out = out.replace(new RegExp(`\\$${k}\\b`, 'g'), String(v));
    // tidy selectors left with a dangling comma or empty braces
    return out.replace(/\{,/g, '{').replace(/,\}/g, '}').replace(/\{\}/g, '');
  };
  return { good: fill(p.promql.good), total: fill(p.promql.total) };
}
