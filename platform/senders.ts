/**
 * Clients that speak the collectors' real protocols: OTLP/gRPC (raw protobuf over grpc-js), OTLP/HTTP and the
 * Fluent Bit `http` output (json format). The demo replays its workload through these.
 */
import * as grpc from '@grpc/grpc-js';
import { createConnection, type Socket } from 'node:net';
import { pack, Unpackr } from 'msgpackr';

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

/**
 * A Fluent Forward client (Forward mode with `chunk` acks), as Fluent Bit's forward output speaks it: the promise
 * resolves only when the collector acknowledged the chunk, i.e. after its Kafka write.
 */
export class ForwardSender {
  private socket: Socket | null = null;
  private buffer = Buffer.alloc(0);
  private readonly waiting = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  private seq = 0;
  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  private async connect(): Promise<Socket> {
    if (this.socket) return this.socket;
    const s = await new Promise<Socket>((resolve, reject) => {
      const sock = createConnection({ host: this.host, port: this.port }, () => resolve(sock));
      sock.once('error', reject);
    });
    s.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      for (;;) {
        let msg: unknown;
        try {
          const { value, end } = unpackOne(this.buffer);
          msg = value;
          this.buffer = this.buffer.subarray(end);
        } catch {
          return; // incomplete frame: wait for more bytes
        }
        const ack = (msg as { ack?: string } | null)?.ack;
        if (ack !== undefined) {
          this.waiting.get(ack)?.resolve();
          this.waiting.delete(ack);
        }
        if (this.buffer.length === 0) return;
      }
    });
    const fail = (e: Error) => {
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
      this.socket = null;
    };
    s.on('error', fail);
    s.on('close', () => fail(new Error('forward connection closed before the ack')));
    this.socket = s;
    return s;
  }

  /** Sends one chunk of records for a tag; resolves on the collector's ack. */
  async send(
    tag: string,
    entries: readonly { time: number; record: Record<string, unknown> }[],
  ): Promise<void> {
    const s = await this.connect();
    const chunk = `demo-${process.pid}-${++this.seq}`;
    const frame = pack([tag, entries.map((e) => [Math.floor(e.time), e.record]), { chunk }]);
    const acked = new Promise<void>((resolve, reject) => this.waiting.set(chunk, { resolve, reject }));
    s.write(frame);
    await acked;
  }

  close(): void {
    this.socket?.end();
    this.socket = null;
  }
}

function unpackOne(buf: Buffer): { value: unknown; end: number } {
  if (buf.length === 0) throw new Error('empty');
  const u = new Unpackr({ useRecords: false });
  let end = 0;
  let value: unknown;
  u.unpackMultiple(buf, (v: unknown, _start?: number, stop?: number) => {
    value = v;
    end = stop ?? buf.length;
    return false;
  });
  if (end === 0) throw new Error('incomplete');
  return { value, end };
}
