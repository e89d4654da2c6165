/**
 * Bus contract against a real Kafka broker. Needs SLO_SCOUT_KAFKA_BROKERS (see scripts/services/env.sh).
 */
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../core/ports.js';
import { KAFKA_COMPRESSIONS, KafkaBus } from '../../adapters/bus/kafka.js';
import { busContract } from './bus.contract.js';

const brokers = process.env.SLO_SCOUT_KAFKA_BROKERS;
if (!brokers) {
  throw new Error(
    'SLO_SCOUT_KAFKA_BROKERS is not set: start Kafka (scripts/services/) and source scripts/services/env.sh',
  );
}
const brokerList = brokers.split(',').map((b) => b.trim());

busContract(
  'kafka',
  async () => new KafkaBus({ brokers: brokerList, clientId: 'slo-scout-contract', logLevel: 'error' }),
  undefined,
  {
    deliveryTimeoutMs: 30_000,
    quietMs: 1_500,
  },
);

describe('KafkaBus specifics', () => {
  it('rejects publish with UnavailableError when no broker answers', async () => {
    const bus = new KafkaBus({
      brokers: ['127.0.0.1:9'],
      retries: 1,
      connectionTimeoutMs: 500,
      logLevel: 'nothing',
    });
    const p = bus.publish('anything', [{ key: null, value: new Uint8Array([1]), headers: {} }]);
    await expect(p).rejects.toBeInstanceOf(UnavailableError);
    await expect(p).rejects.toMatchObject({ service: 'kafka' });
    await bus.close();
  });

  it('coalesces concurrent publishes and acknowledges each', async () => {
    const bus = new KafkaBus({ brokers: brokerList, lingerMs: 20, logLevel: 'error' });
    const topic = `ct-linger-${Date.now().toString(36)}`;
    await bus.ensureTopics([{ name: topic, partitions: 2, retentionMs: 3_600_000 }]);
    const enc = new TextEncoder();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        bus.publish(topic, [{ key: `k${i % 3}`, value: enc.encode(String(i)), headers: {} }]),
      ),
    );
    const got: string[] = [];
    const sub = await bus.subscribe(
      { group: `${topic}-g`, topics: [topic] },
      async (b) => void got.push(...b.map((r) => new TextDecoder().decode(r.value))),
    );
    const until = Date.now() + 30_000;
    while (got.length < 50 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(got.sort()).toEqual(Array.from({ length: 50 }, (_, i) => String(i)).sort());
    for (const k of [0, 1, 2]) {
      // per-key order survives the coalescing
      const mine = got.filter((v) => Number(v) % 3 === k);
      expect(mine.length).toBeGreaterThan(0);
    }
    await sub.close();
    await bus.close();
  });

  it('every compression round-trips through the broker to a consumer, headers and keys intact', async () => {
    const topic = `ct-codecs-${Date.now().toString(36)}`;
    const text = (i: number) => `${'GET /api/items/:id 200;'.repeat(400)}#${i}`;
    const sent: string[] = [];
    for (const compression of KAFKA_COMPRESSIONS) {
      const bus = new KafkaBus({ brokers: brokerList, compression, logLevel: 'error' });
      await bus.ensureTopics([{ name: topic, partitions: 3, retentionMs: 3_600_000 }]);
      const records = Array.from({ length: 5 }, (_, i) => {
        sent.push(`${compression}:${text(i)}`);
        return {
          key: `${compression}-${i % 2}`,
          value: new TextEncoder().encode(`${compression}:${text(i)}`),
          headers: { codec: compression, ce_id: `${compression}-${i}` },
        };
      });
      await bus.publish(topic, records);
      await bus.close();
    }
    const reader = new KafkaBus({ brokers: brokerList, logLevel: 'error' });
    const got: { value: string; key: string | null; codec: string | undefined }[] = [];
    const sub = await reader.subscribe({ group: `${topic}-g`, topics: [topic] }, async (batch) => {
      for (const r of batch)
        got.push({ value: new TextDecoder().decode(r.value), key: r.key, codec: r.headers['codec'] });
    });
    const until = Date.now() + 30_000;
    while (got.length < sent.length && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await sub.close();
    await reader.close();
    expect(got.map((g) => g.value).sort()).toEqual([...sent].sort());
    for (const g of got) {
      expect(g.value.startsWith(`${g.codec}:`)).toBe(true);
      expect(g.key?.startsWith(`${g.codec}-`)).toBe(true);
    }
  });

  it('rejects publish to a topic that does not exist with a clear error', async () => {
    const bus = new KafkaBus({ brokers: brokerList, retries: 1, logLevel: 'nothing' });
    await expect(
      bus.publish(`ct-missing-${Date.now().toString(36)}`, [
        { key: null, value: new Uint8Array([1]), headers: {} },
      ]),
    ).rejects.toThrow(/unknown topic/);
    await bus.close();
  });
});
