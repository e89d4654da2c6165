import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../../core/ports.js';
import { ObjectCreatedNotification } from '../../events/schemas.js';
import { validate } from '../../events/validate.js';
import {
  archiveKey,
  checkObjectKey,
  encodeNotificationKey,
  s3NotificationFor,
} from '../../adapters/objects/archive-keys.js';
import { FsObjectStore } from '../../adapters/objects/fs.js';
import { objectsContract } from './objects.contract.js';

const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'slo-scout-objects-'));
  roots.push(d);
  return d;
}
afterAll(async () => {
  for (const d of roots) await rm(d, { recursive: true, force: true });
});

objectsContract('fs', async () => new FsObjectStore({ root: await tempRoot(), bucket: 'slo-scout-test' }));

const enc = new TextEncoder();

describe('FsObjectStore specifics', () => {
  it('keeps its bookkeeping out of list() and stores bodies as plain files', async () => {
    const root = await tempRoot();
    const s = new FsObjectStore({ root, bucket: 'b-1' });
    await s.put('a/b.txt', enc.encode('hello'), { contentType: 'text/plain', metadata: { K: 'v' } });
    const listed: string[] = [];
    for await (const i of s.list('')) listed.push(i.key);
    expect(listed).toEqual(['a/b.txt']);
    expect((await s.head('a/b.txt'))!.metadata).toEqual({ k: 'v' });
    expect(await readdir(join(root, 'b-1', 'a'))).toEqual(['b.txt']);
    await expect(s.put('.slo-scout/meta/x', enc.encode('x'))).rejects.toThrow(/reserved prefix/);
    await s.close();
    await expect(s.get('a/b.txt')).rejects.toThrow(/closed/);
  });

  it('calls onCreated for each written object and not for an ifAbsent no-op', async () => {
    const seen: ObjectInfo[] = [];
    const s = new FsObjectStore({
      root: await tempRoot(),
      bucket: 'b-2',
      onCreated: async (i) => void seen.push(i),
    });
    await s.put('k', enc.encode('1'), { ifAbsent: true });
    await s.put('k', enc.encode('2'), { ifAbsent: true });
    expect(seen.map((i) => [i.key, i.size])).toEqual([['k', 1]]);
    expect('created' in seen[0]!).toBe(false);
    await s.close();
  });

  it('recomputes etag and size when the sidecar is stale (e.g. a foreign writer replaced the body)', async () => {
    const root = await tempRoot();
    const s = new FsObjectStore({ root, bucket: 'b-3' });
    await s.put('k', enc.encode('short'));
    await writeFile(join(root, 'b-3', 'k'), 'a much longer body');
    const h = await s.head('k');
    expect(h!.size).toBe('a much longer body'.length);
    expect(h!.etag).toBe(createHash('md5').update('a much longer body').digest('hex'));
    await s.close();
  });

  it('explains the file-versus-prefix limitation', async () => {
    const s = new FsObjectStore({ root: await tempRoot(), bucket: 'b-4' });
    await s.put('a', enc.encode('file'));
    await expect(s.put('a/b', enc.encode('x'))).rejects.toThrow(/also a prefix of another key/);
    await s.put('c/d', enc.encode('x'));
    await expect(s.put('c', enc.encode('x'))).rejects.toThrow(/also a prefix of another key/);
    expect(await s.get('c')).toBeNull();
    await s.close();
  });

  it('rejects a bad bucket name', () => {
    expect(() => new FsObjectStore({ root: '/tmp', bucket: '../x' })).toThrow(/invalid bucket name/);
  });
});

describe('archive keys and notifications', () => {
  const sha = 'ab'.repeat(32);

  it('builds Hive-style UTC keys, the same for the same content', () => {
    const at = new Date('2026-11-26T09:59:59.999Z');
    const k = archiveKey({ signal: 'traces', tenant: 'acme', receivedAt: at, sha256hex: sha, ext: 'pb' });
    expect(k).toBe(`raw/signal=traces/tenant=acme/dt=2026-11-26/hour=09/${sha}.pb`);
    expect(archiveKey({ signal: 'traces', tenant: 'acme', receivedAt: at, sha256hex: sha, ext: 'pb' })).toBe(
      k,
    );
    expect(checkObjectKey(k).ok).toBe(true);
    expect(
      archiveKey({
        signal: 'logs',
        tenant: 't',
        receivedAt: new Date('2026-01-02T23:00:00+02:00'),
        sha256hex: sha,
        ext: 'json.gz',
      }),
    ).toBe(`raw/signal=logs/tenant=t/dt=2026-01-02/hour=21/${sha}.json.gz`);
  });

  it('rejects values that would break the layout', () => {
    const base = { signal: 'traces', tenant: 'acme', receivedAt: new Date(0), sha256hex: sha, ext: 'pb' };
    expect(() => archiveKey({ ...base, tenant: '../x' })).toThrow(/tenant/);
    expect(() => archiveKey({ ...base, tenant: 'a/b' })).toThrow(/tenant/);
    expect(() => archiveKey({ ...base, sha256hex: 'XYZ' })).toThrow(/sha256hex/);
    expect(() => archiveKey({ ...base, receivedAt: new Date(NaN) })).toThrow(/receivedAt/);
    expect(() => archiveKey({ ...base, ext: '.pb' })).toThrow(/ext/);
  });

  it('encodes keys as S3 notifications do', () => {
    expect(encodeNotificationKey('raw/dt=2026-11-26/red flower.jpg', 'aws')).toBe(
      'raw/dt%3D2026-11-26/red+flower.jpg',
    );
    expect(encodeNotificationKey('raw/dt=1/a b', 'minio')).toBe('raw%2Fdt%3D1%2Fa+b');
    const k = 'x/é (1)*.pb';
    expect(decodeURIComponent(encodeNotificationKey(k, 'aws').replace(/\+/g, ' '))).toBe(k);
    expect(decodeURIComponent(encodeNotificationKey(k, 'minio').replace(/\+/g, ' '))).toBe(k);
  });

  it('produces AWS and MinIO notifications that validate against ObjectCreatedNotification', () => {
    const info: ObjectInfo = {
      key: `raw/signal=traces/tenant=acme/dt=2026-11-26/hour=09/${sha}.pb`,
      size: 42,
      etag: 'd41d8cd98f00b204e9800998ecf8427e',
      lastModified: new Date('2026-11-26T09:10:11.123Z'),
      contentType: 'application/x-protobuf',
    };
    const aws = s3NotificationFor('archive', info, 'aws');
    expect(validate(ObjectCreatedNotification, aws).ok).toBe(true);
    const r = aws.Records[0]!;
    expect(r).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      eventTime: '2026-11-26T09:10:11.123Z',
    });
    expect(r.s3.bucket).toMatchObject({ name: 'archive', arn: 'arn:aws:s3:::archive' });
    expect(r.s3.object).toMatchObject({ key: info.key.replace(/=/g, '%3D'), size: 42, eTag: info.etag });
    expect(r.s3.object.sequencer).toMatch(/^[0-9A-F]{16,}$/);
    expect('EventName' in aws).toBe(false);

    const minio = s3NotificationFor('archive', info, 'minio');
    expect(validate(ObjectCreatedNotification, minio).ok).toBe(true);
    expect(minio.EventName).toBe('s3:ObjectCreated:Put');
    expect(minio.Key).toBe(`archive/${info.key}`);
    expect(minio.Records[0]).toMatchObject({ eventSource: 'minio:s3', eventName: 's3:ObjectCreated:Put' });
    const again = s3NotificationFor('archive', info, 'minio');
    expect(
      BigInt(`0x${again.Records[0]!.s3.object.sequencer!}`) >
        BigInt(`0x${minio.Records[0]!.s3.object.sequencer!}`),
    ).toBe(true);
  });
});
