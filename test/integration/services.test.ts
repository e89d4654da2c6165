// Smoke tests of the integration-tier services: each one must be reachable and
// answer a real request. Run after scripts/services/up.sh + source scripts/services/env.sh.
import net from 'node:net';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  S3_TEST_BUCKET,
  S3_TEST_CREDENTIALS,
  S3_TEST_REGION,
  assertReachable,
  endpointAddresses,
  requireService,
} from './services.js';

describe('integration services', () => {
  it('kafka: reachable and a broker answers admin requests', async () => {
    await assertReachable('kafka');
    const brokers = requireService('kafka').split(',');
    const admin = new Kafka({
      clientId: 'slo-scout-services-test',
      brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    }).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.length).toBeGreaterThanOrEqual(1);
      expect(Array.isArray(await admin.listTopics())).toBe(true);
    } finally {
      await admin.disconnect();
    }
  });

  it('postgres: reachable and the slo_scout role can query', async () => {
    await assertReachable('postgres');
    const client = new pg.Client({ connectionString: requireService('postgres') });
    await client.connect();
    try {
      const res = await client.query<{ user: string; one: number }>('SELECT current_user AS user, 1 AS one');
      expect(res.rows[0]).toEqual({ user: 'slo_scout', one: 1 });
    } finally {
      await client.end();
    }
  });

  it('s3: reachable and bucket slo-scout-test exists', async () => {
    await assertReachable('s3');
    const s3 = new S3Client({
      endpoint: requireService('s3'),
      region: S3_TEST_REGION,
      credentials: S3_TEST_CREDENTIALS,
      forcePathStyle: true,
    });
    try {
      const head = await s3.send(new HeadBucketCommand({ Bucket: S3_TEST_BUCKET }));
      expect(head.$metadata.httpStatusCode).toBe(200);
    } finally {
      s3.destroy();
    }
  });

  it('milvus: reachable and lists collections', async () => {
    await assertReachable('milvus');
    const client = new MilvusClient({
      address: requireService('milvus'),
      timeout: 10_000,
      logLevel: 'error',
    });
    try {
      const res = await client.listCollections();
      expect(res.status.error_code).toBe('Success');
      expect(Array.isArray(res.data)).toBe(true);
    } finally {
      await client.closeConnection();
    }
  });

  it('prometheus: reachable and /-/ready returns 200', async () => {
    await assertReachable('prometheus');
    const res = await fetch(new URL('/-/ready', requireService('prometheus')));
    expect(res.status).toBe(200);
  });
});

describe('service endpoint helpers', () => {
  const saved = process.env['SLO_SCOUT_MILVUS_ADDRESS'];
  afterEach(() => {
    if (saved === undefined) delete process.env['SLO_SCOUT_MILVUS_ADDRESS'];
    else process.env['SLO_SCOUT_MILVUS_ADDRESS'] = saved;
  });

  it('requireService names the missing variable', () => {
    delete process.env['SLO_SCOUT_MILVUS_ADDRESS'];
    expect(() => requireService('milvus')).toThrow(/SLO_SCOUT_MILVUS_ADDRESS is not set/);
  });

  it('parses host:port lists and URLs', () => {
    expect(endpointAddresses('kafka', '127.0.0.1:19092, localhost:9093')).toEqual([
      { host: '127.0.0.1', port: 19092 },
      { host: 'localhost', port: 9093 },
    ]);
    expect(endpointAddresses('postgres', 'postgres://u:p@db.local/x')).toEqual([
      { host: 'db.local', port: 5432 },
    ]);
    expect(endpointAddresses('s3', 'http://127.0.0.1:19000')).toEqual([{ host: '127.0.0.1', port: 19000 }]);
    expect(() => endpointAddresses('milvus', 'nohost')).toThrow(/not a valid milvus endpoint/);
  });

  it('assertReachable fails with a start hint when nothing listens', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    process.env['SLO_SCOUT_MILVUS_ADDRESS'] = `127.0.0.1:${address.port}`;
    await expect(assertReachable('milvus')).rejects.toThrow(
      `milvus is not reachable at 127.0.0.1:${address.port}: start it with scripts/services/up.sh milvus`,
    );
  });
});
