/**
 * Clients that speak the collectors' real protocols: OTLP/gRPC (raw protobuf over grpc-js), OTLP/HTTP and the
 * Fluent Bit `http` output (json format). The demo replays its workload through these.
 */
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer) => b;

export class OtlpGrpcSender {
  private readonly client: grpc.Client;
  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }
  export(signal: 'traces' | 'metrics' | 'logs', body: Uint8Array): Promise<void> {
    const svc = {
      traces: 'trace.v1.TraceService',
      metrics: 'metrics.v1.MetricsService',
      logs: 'logs.v1.LogsService',
    }[signal];
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `/opentelemetry.proto.collector.${svc}/Export`,
        identity,
        identity,
        Buffer.from(body),
        { deadline: Date.now() + 30_000 } as grpc.CallOptions,
        (e) =>
          e ? reject(new Error(`OTLP/gRPC ${signal} export failed: ${e.code} ${e.details}`)) : resolve(),
      );
    });
  }
  close(): void {
    this.client.close();
  }
}

async function post(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, { method: 'POST', body, headers });
    if (res.ok) {
      await res.arrayBuffer();
      return;
    }
    const text = await res.text();
    // Back-pressure is retryable, exactly as the OTel exporters and Fluent Bit treat it.
    if ((res.status === 429 || res.status === 503) && attempt < 10) {
      const after = Number(res.headers.get('retry-after') ?? '1');
      await new Promise((r) => setTimeout(r, Math.min(5, Math.max(0.05, after)) * 1000));
      continue;
    }
    throw new Error(`POST ${url} failed: ${res.status} ${text.slice(0, 300)}`);
  }
}

export function otlpHttpExport(
  baseUrl: string,
  signal: 'traces' | 'metrics' | 'logs',
  body: Uint8Array,
): Promise<void> {
  return post(`${baseUrl}/v1/${signal}`, body, { 'content-type': 'application/x-protobuf' });
}

export function fluentBitJsonPost(
  baseUrl: string,
  tag: string,
  records: readonly Record<string, unknown>[],
): Promise<void> {
  return post(`${baseUrl}/${encodeURIComponent(tag)}`, JSON.stringify(records), {
    'content-type': 'application/json',
  });
}
