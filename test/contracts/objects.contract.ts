/**
 * The ObjectStore contract: every ObjectStore adapter (FsObjectStore, S3ObjectStore) must pass this suite.
 * Keys live under a prefix unique to the run, so runs against a shared bucket never collide.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectInfo, ObjectStore } from '../../core/ports.js';

const enc = new TextEncoder();
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

async function all(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const i of it) out.push(i);
  return out;
}

export function objectsContract(
  name: string,
  make: () => Promise<ObjectStore>,
  cleanup?: (store: ObjectStore) => Promise<void>,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    const run = `ct-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    let store: ObjectStore;
    let seq = 0;
    const prefix = (): string => `${run}/t${++seq}/`;

    beforeAll(async () => {
      store = await make();
    });
    afterAll(async () => {
      if (!store) return;
      for (const info of await all(store.list(`${run}/`))) await store.delete(info.key);
      expect(await all(store.list(`${run}/`))).toEqual([]);
      if (cleanup) await cleanup(store);
      await store.close();
    });

    it('round-trips a binary body byte-exact with size and MD5 etag', async () => {
      const key = `${prefix()}bin.dat`;
      const body = new Uint8Array(1024).map((_, i) => (i * 7) % 256);
      body[0] = 0;
      body[1023] = 0;
      const put = await store.put(key, body);
      expect(put.created).toBe(true);
      expect(put.key).toBe(key);
      expect(put.size).toBe(1024);
      expect(put.etag).toBe(md5(body));
      const got = await store.get(key);
      expect(got).not.toBeNull();
      expect(Buffer.from(got!).equals(Buffer.from(body))).toBe(true);
      const head = await store.head(key);
      expect(head).toMatchObject({ key, size: 1024, etag: md5(body) });
      expect(head!.lastModified).toBeInstanceOf(Date);
      expect(Math.abs(head!.lastModified.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    });

    it('stores an empty body', async () => {
      const key = `${prefix()}empty`;
      const put = await store.put(key, new Uint8Array(0));
      expect(put.size).toBe(0);
      expect(put.etag).toBe('d41d8cd98f00b204e9800998ecf8427e');
      expect((await store.get(key))!.length).toBe(0);
    });

    it('round-trips content type and metadata', async () => {
      const key = `${prefix()}with meta.json`;
      await store.put(key, enc.encode('{"a":1}'), {
        contentType: 'application/json',
        metadata: { tenant: 'acme', 'sha-256': 'abc123', signal: 'traces' },
      });
      const head = await store.head(key);
      expect(head!.contentType).toBe('application/json');
      expect(head!.metadata).toEqual({ tenant: 'acme', 'sha-256': 'abc123', signal: 'traces' });
    });

    it('returns null for a missing object', async () => {
      const p = prefix();
      expect(await store.get(`${p}missing`)).toBeNull();
      expect(await store.head(`${p}missing`)).toBeNull();
    });

    it('overwrites without ifAbsent', async () => {
      const key = `${prefix()}over`;
      await store.put(key, enc.encode('one'));
      const second = await store.put(key, enc.encode('two'), { contentType: 'text/plain' });
      expect(second.created).toBe(true);
      expect(new TextDecoder().decode((await store.get(key))!)).toBe('two');
      expect((await store.head(key))!.etag).toBe(md5(enc.encode('two')));
    });

    it('ifAbsent writes once and returns the existing object afterwards', async () => {
      const key = `${prefix()}once`;
      const first = await store.put(key, enc.encode('first'), { ifAbsent: true, contentType: 'text/plain' });
      expect(first.created).toBe(true);
      const again = await store.put(key, enc.encode('second, longer'), { ifAbsent: true });
      expect(again.created).toBe(false);
      expect(again.etag).toBe(md5(enc.encode('first')));
      expect(again.size).toBe(5);
      expect(new TextDecoder().decode((await store.get(key))!)).toBe('first');
    });

    it('ifAbsent lets exactly one of several concurrent writers create', async () => {
      const key = `${prefix()}race`;
      const bodies = [0, 1, 2, 3, 4].map((i) => enc.encode(`writer-${i}`));
      const results = await Promise.all(bodies.map((b) => store.put(key, b, { ifAbsent: true })));
      const winners = results.filter((r) => r.created);
      expect(winners).toHaveLength(1);
      const stored = await store.get(key);
      expect(md5(stored!)).toBe(winners[0]!.etag);
      for (const r of results) expect(r.etag).toBe(winners[0]!.etag);
    });

    it('lists by prefix in lexicographic (byte) order with sizes', async () => {
      const p = prefix();
      const keys = ['b', 'a-c', 'a/b', 'a/c/d', 'ab', 'A', 'a/c/e.json', 'z/y/x'];
      for (const k of keys) await store.put(`${p}${k}`, enc.encode(k.repeat(2)));
      const listed = await all(store.list(p));
      const expected = [...keys]
        .map((k) => `${p}${k}`)
        .sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(listed.map((i) => i.key)).toEqual(expected);
      for (const i of listed) expect(i.size).toBe(2 * i.key.slice(p.length).length);
      expect((await all(store.list(`${p}a/`))).map((i) => i.key.slice(p.length))).toEqual([
        'a/b',
        'a/c/d',
        'a/c/e.json',
      ]);
      expect((await all(store.list(`${p}a/c/`))).map((i) => i.key.slice(p.length))).toEqual([
        'a/c/d',
        'a/c/e.json',
      ]);
      expect((await all(store.list(`${p}a`))).map((i) => i.key.slice(p.length))).toEqual([
        'a-c',
        'a/b',
        'a/c/d',
        'a/c/e.json',
        'ab',
      ]);
      expect(await all(store.list(`${p}nothing-here/`))).toEqual([]);
    });

    it('deletes, and deleting a missing key is fine', async () => {
      const p = prefix();
      await store.put(`${p}x/y`, enc.encode('1'));
      await store.put(`${p}x/z`, enc.encode('2'));
      await store.delete(`${p}x/y`);
      expect(await store.get(`${p}x/y`)).toBeNull();
      expect(await store.head(`${p}x/y`)).toBeNull();
      expect((await all(store.list(p))).map((i) => i.key)).toEqual([`${p}x/z`]);
      await store.delete(`${p}x/y`);
      await store.delete(`${p}never`);
      // a deleted key can be created again with ifAbsent
      expect((await store.put(`${p}x/y`, enc.encode('3'), { ifAbsent: true })).created).toBe(true);
    });

    it('rejects invalid keys with a clear error', async () => {
      const bad = ['', '../escape', 'a/../b', 'a/./b', '/abs', 'a//b', 'trailing/', 'nul\u0000byte', 'a/..'];
      for (const k of bad) {
        await expect(store.put(k, enc.encode('x')), JSON.stringify(k)).rejects.toThrow(/invalid object key/);
        await expect(store.get(k), JSON.stringify(k)).rejects.toThrow(/invalid object key/);
        await expect(store.head(k), JSON.stringify(k)).rejects.toThrow(/invalid object key/);
        await expect(store.delete(k), JSON.stringify(k)).rejects.toThrow(/invalid object key/);
      }
    });

    it('accepts archive-style keys with = and unicode', async () => {
      const key = `${prefix()}raw/signal=traces/tenant=acme/dt=2026-11-26/hour=09/é ✓+x.pb`;
      const put = await store.put(key, new Uint8Array([0x0a, 0x00, 0xff]));
      expect(put.created).toBe(true);
      expect(Array.from((await store.get(key))!)).toEqual([0x0a, 0x00, 0xff]);
      expect((await all(store.list(key))).map((i) => i.key)).toEqual([key]);
    });
  });
}
