/**
 * ObjectStore contract against a real S3-compatible server (MinIO or moto).
 * Needs SLO_SCOUT_S3_ENDPOINT (see scripts/services/env.sh); bucket slo-scout-test, credentials test/test.
 */
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../core/ports.js';
import { S3ObjectStore } from '../../adapters/objects/s3.js';
import { objectsContract } from './objects.contract.js';

const endpoint = process.env.SLO_SCOUT_S3_ENDPOINT;
if (!endpoint) {
  throw new Error(
    'SLO_SCOUT_S3_ENDPOINT is not set: start the S3 service (scripts/services/) and source scripts/services/env.sh',
  );
}
const bucket = process.env.SLO_SCOUT_S3_BUCKET ?? 'slo-scout-test';
const creds = {
  region: process.env.SLO_SCOUT_S3_REGION ?? 'us-east-1',
  accessKeyId: process.env.SLO_SCOUT_S3_ACCESS_KEY_ID ?? 'test',
  secretAccessKey: process.env.SLO_SCOUT_S3_SECRET_ACCESS_KEY ?? 'test',
};

objectsContract('s3', async () => new S3ObjectStore({ endpoint, bucket, createBucket: true, ...creds }));

describe('S3ObjectStore specifics', () => {
  it('maps an unreachable endpoint to UnavailableError', async () => {
    const s = new S3ObjectStore({
      endpoint: 'http://127.0.0.1:9',
      bucket,
      maxAttempts: 1,
      requestTimeoutMs: 2000,
      ...creds,
    });
    const p = s.get('x');
    await expect(p).rejects.toBeInstanceOf(UnavailableError);
    await expect(p).rejects.toMatchObject({ service: 's3' });
    await s.close();
  });

  it('creates a missing bucket when asked to', async () => {
    const name = `slo-scout-ct-${Date.now().toString(36)}`;
    const s = new S3ObjectStore({ endpoint, bucket: name, createBucket: true, ...creds });
    expect((await s.put('k', new Uint8Array([1]))).created).toBe(true);
    expect(Array.from((await s.get('k'))!)).toEqual([1]);
    await s.delete('k');
    await s.close();
    const admin = new S3Client({
      endpoint,
      region: creds.region,
      forcePathStyle: true,
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
    });
    await admin.send(new DeleteBucketCommand({ Bucket: name }));
    admin.destroy();
    const noCreate = new S3ObjectStore({ endpoint, bucket: `${name}-absent`, ...creds });
    await expect(noCreate.get('k')).rejects.toThrow(/does not exist/);
    await noCreate.close();
  });
});
