/**
 * Collectors on a real Kafka:
 * - an acknowledged export is already durable: a fresh consumer reads every record right after the ack;
 * - a Kafka outage (a private second broker, started and stopped here, never the shared one) turns into
 *   back-pressure (gRPC UNAVAILABLE, HTTP 503 + Retry-After, Forward: no ack) with bounded memory, and after the
 *   broker is back every acknowledged record is there: nothing acknowledged is lost.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Packr } from 'msgpackr';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaBus } from '../../adapters/bus/kafka.js';
import { withTopicPrefix } from '../../adapters/bus/prefixed.js';
import { encodeTraces } from '../../core/otlp/encode.js';
import { ALL_TOPICS, TOPICS } from '../../events/registry.js';
import { rawExportService, startOtlpCollector } from '../../collectors/otlp.js';
import { startForwardCollector } from '../../collectors/forward.js';
import { requireService } from './services.js';

const run = promisify(execFile);
const sharedBrokers = requireService('kafka');
const packr = new Packr({ useRecords: false });

const body = (service: string) =>
  encodeTraces([
    {
      resource: { 'service.name': service },
      scope: 'it',
      spans: [
        {
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: '00f067aa0ba902b7',
          parentSpanId: '',
          name: 'GET /',
          kind: 2,
          startTimeUnixNano: '1717171717000000000',
          endTimeUnixNano: '1717171717050000000',
          statusCode: 0,
          statusMessage: '',
          attributes: {},
        },
      ],
    },
  ]);

function grpcExport(port: number, b: Uint8Array): Promise<grpc.ServiceError | null> {
  const Client = grpc.makeGenericClientConstructor(rawExportService('traces'), 'Export');
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Export: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void;
  };
  return new Promise((r) =>
    c.Export(Buffer.from(b), (e) => {
      c.close();
      r(e);
    }),
  );
}

/** Every record on a topic, read by a fresh consumer from the beginning. */
async function readAll(brokers: string, topic: string, want: number, timeoutMs = 30_000): Promise<string[]> {
  const kafka = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING, clientId: 'it-reader' });
  const consumer = kafka.consumer({ groupId: `it-reader-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const keys: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachMessage: async ({ message }) => {
      keys.push(message.key?.toString() ?? '');
      if (keys.length >= want) done();
    },
  });
  await Promise.race([finished, new Promise((r) => setTimeout(r, timeoutMs))]);
  await consumer.disconnect();
  return keys;
}

describe('collectors on real Kafka', () => {
  it('acknowledges an export only once its records are durable', async () => {
    const prefix = `it-ack-${Date.now()}.`;
    const kbus = new KafkaBus({ brokers: sharedBrokers.split(','), clientId: 'it-ack', logLevel: 'error' });
    const bus = withTopicPrefix(kbus, prefix);
    await bus.ensureTopics(ALL_TOPICS.map((t) => ({ name: t.name, partitions: 1, retentionMs: 3_600_000 })));
    const c = await startOtlpCollector({ bus, objects: null, grpcPort: 0, httpPort: 0 });
    try {
      const services = ['a', 'b', 'c', 'd', 'e'];
      for (const s of services) expect(await grpcExport(c.grpcPort, body(s))).toBeNull();
      // Right after the acks: a brand-new consumer finds every record.
      const keys = await readAll(sharedBrokers, `${prefix}${TOPICS.otlpTraces.name}`, services.length);
      expect(keys.sort()).toEqual(services);
    } finally {
      await c.close();
      await kbus.close();
    }
  });

  describe('outage of a private Kafka', () => {
    const state = mkdtempSync(join(tmpdir(), 'slo-scout-kafka-outage-'));
    const env = { ...process.env, SLO_SCOUT_PORT_OFFSET: '200', SLO_SCOUT_STATE_DIR: state };
    const brokers = '127.0.0.1:19292';
    const kafka = (cmd: 'start' | 'stop') =>
      run('bash', ['scripts/services/kafka.sh', cmd], { env, timeout: 170_000 }).catch((e: unknown) => {
        throw new Error(`kafka.sh ${cmd} failed: ${(e as { stderr?: string }).stderr ?? String(e)}`);
      });
    afterAll(async () => {
      await kafka('stop').catch(() => undefined);
      rmSync(state, { recursive: true, force: true });
    }, 60_000);

    it('gives UNAVAILABLE / 503 / no ack while down, keeps memory bounded, and loses nothing acknowledged', async () => {
      await kafka('start');
      const kbus = new KafkaBus({
        brokers: [brokers],
        clientId: 'it-outage',
        logLevel: 'nothing',
        retries: 1,
        connectionTimeoutMs: 1000,
        requestTimeoutMs: 3000,
      });
      await kbus.ensureTopics(
        ALL_TOPICS.map((t) => ({ name: t.name, partitions: 1, retentionMs: 3_600_000 })),
      );
      const c = await startOtlpCollector({ bus: kbus, objects: null, grpcPort: 0, httpPort: 0 });
      const fwd = await startForwardCollector({ bus: kbus, objects: null, port: 0 });
      const acked: string[] = [];
      try {
        expect(await grpcExport(c.grpcPort, body('before'))).toBeNull();
        acked.push('before');

        await kafka('stop');
        const rssBefore = process.memoryUsage().rss;
        // A burst while the broker is down: each is refused with a retryable status, none is acked.
        const big = body('x'.repeat(10));
        const results = await Promise.all(Array.from({ length: 20 }, () => grpcExport(c.grpcPort, big)));
        for (const e of results)
          expect([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED]).toContain(e?.code);
        const res = await fetch(`http://127.0.0.1:${c.httpPort}/v1/traces`, {
          method: 'POST',
          body: body('http-down'),
          headers: { 'content-type': 'application/x-protobuf' },
        });
        expect([503, 429]).toContain(res.status);
        expect(res.headers.get('retry-after')).toBeTruthy();
        const fwdAcked = await new Promise<boolean>((resolve) => {
          const s = connect(fwd.port, '127.0.0.1', () =>
            s.write(packr.pack(['t', 1700000000, { log: 'down' }, { chunk: 'down-1' }])),
          );
          s.on('data', () => resolve(true));
          s.on('close', () => resolve(false));
          s.on('error', () => undefined);
        });
        expect(fwdAcked).toBe(false);
        expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);

        await kafka('start');
        // The retry after recovery succeeds (kafkajs reconnects on its own).
        let err: grpc.ServiceError | null = null;
        for (let i = 0; i < 30; i++) {
          err = await grpcExport(c.grpcPort, body('after'));
          if (!err) break;
          await new Promise((r) => setTimeout(r, 1000));
        }
        expect(err).toBeNull();
        acked.push('after');
        const keys = await readAll(brokers, TOPICS.otlpTraces.name, acked.length);
        for (const k of acked) expect(keys).toContain(k);
        expect(keys).not.toContain('http-down');
      } finally {
        await c.close();
        await fwd.close();
        await kbus.close().catch(() => undefined);
      }
    }, 400_000);
  });
});
