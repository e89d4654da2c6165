/**
 * What KafkaBus relies on in its two Kafka clients without a broker: the producer's (@platformatic/kafka) codec table
 * and partitioner, the consumer's (kafkajs) codec registrations, and the mapping of producer errors.
 */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import kafkajs, { CompressionTypes, Partitioners } from 'kafkajs';
import {
  compatibilityPartitioner,
  compressionsAlgorithms,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  TimeoutError,
  UserError,
} from '@platformatic/kafka';
import { UnavailableError } from '../../core/ports.js';
import { mapKafkaError, ZSTD_LEVEL } from '../../adapters/bus/kafka.js';
import { DEFAULT_KAFKA_COMPRESSION, KAFKA_COMPRESSIONS } from '../../adapters/bus/kafka-compression.js';

type Codec = { compressSync: (d: unknown) => Buffer; decompressSync: (d: Buffer) => Buffer };
const table = compressionsAlgorithms as unknown as Record<string, Codec>;

/** OTLP-like bytes: repetitive field names and routes, random ids. */
function sample(n: number): Buffer {
  let x = 7;
  const rnd = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const parts: string[] = [];
  for (let i = 0; i < n; i++)
    parts.push(
      `span{trace=${Math.floor(rnd() * 2 ** 32).toString(16)} route=/api/items/:id status=${rnd() < 0.02 ? 500 : 200}}`,
    );
  return Buffer.from(parts.join(';'));
}

describe('Kafka codecs', () => {
  it('every configurable compression exists in the producer table and round-trips', () => {
    const data = sample(2000);
    for (const c of KAFKA_COMPRESSIONS.filter((k) => k !== 'none')) {
      const codec = table[c];
      expect(codec, c).toBeDefined();
      const packed = codec!.compressSync(data);
      expect(packed.length, c).toBeLessThan(data.length / 2);
      expect(codec!.decompressSync(packed).equals(data), c).toBe(true);
    }
    expect(KAFKA_COMPRESSIONS).toContain(DEFAULT_KAFKA_COMPRESSION);
  });

  it(`the producer compresses zstd at level ${ZSTD_LEVEL}, not the library default`, () => {
    const data = sample(5000);
    const ours = table['zstd']!.compressSync(data);
    const expected = zlib.zstdCompressSync(data, {
      pledgedSrcSize: data.length,
      params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL },
    });
    expect(ours.equals(expected)).toBe(true);
    const level3 = zlib.zstdCompressSync(data, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 3 } });
    expect(ours.equals(level3)).toBe(false);
  });

  it('kafkajs consumers decode what the producer codecs write (snappy, lz4, zstd, gzip)', async () => {
    const data = sample(3000);
    const types = {
      snappy: CompressionTypes.Snappy,
      lz4: CompressionTypes.LZ4,
      zstd: CompressionTypes.ZSTD,
      gzip: CompressionTypes.GZIP,
    } as const;
    for (const [name, type] of Object.entries(types)) {
      const codec = (
        kafkajs.CompressionCodecs as Record<number, () => { decompress: (b: Buffer) => Promise<Buffer> }>
      )[type];
      expect(codec, name).toBeTypeOf('function');
      const out = await codec!().decompress(table[name]!.compressSync(data));
      expect(Buffer.from(out).equals(data), name).toBe(true);
    }
  });

  it('keys land on the partitions the Java client and kafkajs choose', () => {
    const kafkajsPartitioner = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 12, 48]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (let i = 0; i < 300; i++) {
        const key = `svc-${i}-${'é'.repeat(i % 3)}`;
        const expected = kafkajsPartitioner({ topic: 't', partitionMetadata, message: { key, value: 'x' } });
        const ours =
          compatibilityPartitioner({ topic: 't', key: Buffer.from(key) } as never, Buffer.from(key)) %
          partitions;
        expect(ours, `${key} of ${partitions}`).toBe(expected);
      }
    }
  });
});

describe('mapKafkaError (@platformatic/kafka errors)', () => {
  it('maps network failures, timeouts and retriable broker errors, also inside aggregates, to UnavailableError', () => {
    const cases: unknown[] = [
      new NetworkError('Connection to 127.0.0.1:9 failed.'),
      new TimeoutError('Request timed out'),
      new MultipleErrors('Producing messages failed.', [new ProtocolError('NOT_LEADER_OR_FOLLOWER')]),
      new MultipleErrors('outer', [new MultipleErrors('inner', [new ProtocolError('NOT_ENOUGH_REPLICAS')])]),
    ];
    for (const e of cases) {
      const m = mapKafkaError(e, 'publish');
      expect(m, String(e)).toBeInstanceOf(UnavailableError);
      expect((m as UnavailableError).service).toBe('kafka');
    }
  });

  it('maps a missing topic to a clear error and leaves other failures alone', () => {
    expect(String(mapKafkaError(new UserError('Unknown topic t1.'), 'publish to t1'))).toMatch(
      /unknown topic/,
    );
    expect(
      String(mapKafkaError(new MultipleErrors('x', [new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION')]), 'p')),
    ).toMatch(/unknown topic/);
    const tooLarge = new MultipleErrors('x', [new ProtocolError('MESSAGE_TOO_LARGE')]);
    expect(mapKafkaError(tooLarge, 'p')).toBe(tooLarge);
    const user = new UserError('Failed to serialize a message.');
    expect(mapKafkaError(user, 'p')).toBe(user);
  });
});
