/**
 * FsObjectStore: a directory as a bucket, the embedded twin of S3ObjectStore.
 *
 * Layout under `root/<bucket>/`:
 *   <key>                            the object body, byte-exact (so the archive is browsable with plain tools)
 *   .slo-scout/meta/<key>.json       sidecar: etag, size, content type/encoding, user metadata
 *   .slo-scout/tmp/<random>          staging for atomic writes
 *
 * Writes are atomic: the body is written to a temp file and renamed into place (readers see the old or the new
 * body, never a torn one). `ifAbsent` links the temp file into place with link(2), which fails if the key exists, so
 * of two concurrent creators (even in different processes) exactly one wins. Within one process, puts and deletes of
 * the same key are serialised so body and sidecar stay consistent; across processes a concurrent overwrite of the
 * same key may briefly leave a sidecar from the other writer — head() then notices the size/mtime mismatch and
 * recomputes etag and size from the body (content type and user metadata are lost in that case).
 *
 * Filesystem limitation: a key cannot be both an object and a prefix of another key ('a' and 'a/b'); such a put
 * fails with a clear error. S3 allows it.
 *
 * ETag = hex MD5 of the body, as S3 computes for single-part uploads. User metadata keys are lower-cased, as S3 does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ObjectInfo, ObjectStore, PutOptions } from '../../core/ports.js';
import { assertObjectKey, RESERVED_KEY_SEGMENT } from './archive-keys.js';

export interface FsObjectStoreOptions {
  /** Directory holding one sub-directory per bucket. */
  readonly root: string;
  readonly bucket: string;
  /**
   * Called after every put that wrote an object (`created: true`), with its info. The platform uses it to publish
   * object-created events (see s3NotificationFor). If it rejects, put() rejects too, although the object was written.
   */
  readonly onCreated?: (info: ObjectInfo) => Promise<void>;
}

interface Sidecar {
  readonly etag: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly metadata?: Record<string, string>;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const md5 = (body: Uint8Array): string => createHash('md5').update(body).digest('hex');

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | null)?.code;

/** Binary (UTF-8 byte) order, as S3 lists keys. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function lowerKeys(m: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string') throw new Error(`metadata ${k} must be a string`);
    out[k.toLowerCase()] = v;
  }
  return out;
}

export class FsObjectStore implements ObjectStore {
  readonly kind = 'fs';
  readonly bucket: string;
  private readonly dir: string;
  private readonly metaDir: string;
  private readonly tmpDir: string;
  private readonly onCreated: FsObjectStoreOptions['onCreated'];
  private readonly locks = new Map<string, Promise<unknown>>();
  private closed = false;
  private ready: Promise<void> | null = null;

  constructor(options: FsObjectStoreOptions) {
    if (!BUCKET_NAME.test(options.bucket))
      throw new Error(
        `invalid bucket name ${JSON.stringify(options.bucket)} (S3 rules: 3-63 of a-z 0-9 . -)`,
      );
    if (!options.root) throw new Error('FsObjectStore: root directory is required');
    this.bucket = options.bucket;
    this.dir = join(options.root, options.bucket);
    this.metaDir = join(this.dir, RESERVED_KEY_SEGMENT, 'meta');
    this.tmpDir = join(this.dir, RESERVED_KEY_SEGMENT, 'tmp');
    this.onCreated = options.onCreated;
  }

  async put(
    key: string,
    body: Uint8Array,
    options: PutOptions = {},
  ): Promise<ObjectInfo & { readonly created: boolean }> {
    this.assertOpen();
    assertObjectKey(key);
    if (!(body instanceof Uint8Array)) throw new TypeError('put: body must be a Uint8Array');
    await this.init();
    const result = await this.withLock(key, async () => {
      const path = this.dataPath(key);
      const tmp = join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}`);
      await writeFile(tmp, body, { flag: 'wx' });
      try {
        // A delete of a sibling key may prune the parent directory between mkdir and link/rename: retry then.
        for (let attempt = 1; ; attempt++) {
          await this.ensureParent(path, key);
          try {
            if (options.ifAbsent) await link(tmp, path);
            else await rename(tmp, path);
            break;
          } catch (e) {
            if (code(e) === 'ENOENT' && attempt < 5) continue;
            if (options.ifAbsent && code(e) === 'EEXIST') {
              const existing = await this.headUnlocked(key);
              if (existing) return { ...existing, created: false };
            }
            throw this.conflict(e, key);
          }
        }
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
      const st = await stat(path);
      const meta = lowerKeys(options.metadata);
      const sidecar: Sidecar = {
        etag: md5(body),
        size: body.length,
        mtimeMs: st.mtimeMs,
        ...(options.contentType !== undefined ? { contentType: options.contentType } : {}),
        ...(options.contentEncoding !== undefined ? { contentEncoding: options.contentEncoding } : {}),
        ...(meta !== undefined ? { metadata: meta } : {}),
      };
      await this.writeSidecar(key, sidecar);
      return { ...this.toInfo(key, sidecar, st.mtime), created: true };
    });
    if (result.created && this.onCreated) {
      const { created: _created, ...info } = result;
      await this.onCreated(info);
    }
    return result;
  }

  async get(key: string): Promise<Uint8Array | null> {
    this.assertOpen();
    assertObjectKey(key);
    try {
      const buf = await readFile(this.dataPath(key));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR' || code(e) === 'EISDIR') return null;
      throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    this.assertOpen();
    assertObjectKey(key);
    return this.headUnlocked(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.assertOpen();
    if (typeof prefix !== 'string') throw new TypeError('list: prefix must be a string');
    // Walk only the deepest directory the prefix pins down, then filter and sort the full keys (S3 order).
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash >= 0 ? prefix.slice(0, slash) : '';
    if (baseKey !== '' && !baseKey.split('/').every((s) => s !== '' && s !== '.' && s !== '..')) return;
    const keys: string[] = [];
    await this.walk(baseKey, keys);
    const matching = keys.filter((k) => k.startsWith(prefix)).sort(compareKeys);
    for (const k of matching) {
      const info = await this.headUnlocked(k);
      if (info) yield info;
    }
  }

  async delete(key: string): Promise<void> {
    this.assertOpen();
    assertObjectKey(key);
    await this.withLock(key, async () => {
      try {
        await unlink(this.dataPath(key));
      } catch (e) {
        if (code(e) !== 'ENOENT' && code(e) !== 'ENOTDIR' && code(e) !== 'EISDIR') throw e;
      }
      await unlink(this.sidecarPath(key)).catch(() => undefined);
      await this.pruneEmptyDirs(dirname(this.dataPath(key)), this.dir);
      await this.pruneEmptyDirs(dirname(this.sidecarPath(key)), this.metaDir);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.locks.values()]);
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error('FsObjectStore is closed');
  }

  private init(): Promise<void> {
    this.ready ??= Promise.all([
      mkdir(this.metaDir, { recursive: true }),
      mkdir(this.tmpDir, { recursive: true }),
    ]).then(
      () => undefined,
      (e: unknown) => {
        this.ready = null;
        throw e;
      },
    );
    return this.ready;
  }

  private dataPath(key: string): string {
    return join(this.dir, ...key.split('/'));
  }

  private sidecarPath(key: string): string {
    return join(this.metaDir, ...key.split('/')) + '.json';
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }

  private conflict(e: unknown, key: string): unknown {
    const c = code(e);
    if (c === 'EISDIR' || c === 'ENOTDIR' || c === 'EEXIST' || c === 'EPERM') {
      return new Error(
        `cannot store object ${JSON.stringify(key)}: the filesystem store cannot hold a key that is also a prefix of another key (${c})`,
        { cause: e },
      );
    }
    return e;
  }

  private async ensureParent(path: string, key: string): Promise<void> {
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (e) {
      throw this.conflict(e, key);
    }
  }

  private async writeSidecar(key: string, sidecar: Sidecar): Promise<void> {
    const path = this.sidecarPath(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.json`);
    await writeFile(tmp, JSON.stringify(sidecar), { flag: 'wx' });
    await rename(tmp, path);
  }

  private async readSidecar(key: string): Promise<Sidecar | null> {
    try {
      return JSON.parse(await readFile(this.sidecarPath(key), 'utf8')) as Sidecar;
    } catch {
      return null;
    }
  }

  private toInfo(key: string, s: Sidecar, lastModified: Date): ObjectInfo {
    return {
      key,
      size: s.size,
      etag: s.etag,
      lastModified,
      ...(s.contentType !== undefined ? { contentType: s.contentType } : {}),
      ...(s.metadata !== undefined ? { metadata: s.metadata } : {}),
    };
  }

  private async headUnlocked(key: string): Promise<ObjectInfo | null> {
    const path = this.dataPath(key);
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return null;
      throw e;
    }
    if (!st.isFile()) return null;
    const side = await this.readSidecar(key);
    if (side && side.size === st.size && side.mtimeMs === st.mtimeMs) return this.toInfo(key, side, st.mtime);
    // Sidecar missing (a creator between link and sidecar write) or stale (cross-process overwrite): trust the body.
    const body = await readFile(path);
    return { key, size: body.length, etag: md5(body), lastModified: st.mtime };
  }

  private async walk(relDir: string, out: string[]): Promise<void> {
    const abs = relDir === '' ? this.dir : join(this.dir, ...relDir.split('/'));
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch (e) {
      if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return;
      throw e;
    }
    for (const ent of entries) {
      if (relDir === '' && ent.name === RESERVED_KEY_SEGMENT) continue;
      const rel = relDir === '' ? ent.name : `${relDir}/${ent.name}`;
      if (ent.isDirectory()) await this.walk(rel, out);
      else if (ent.isFile()) out.push(rel);
    }
  }

  private async pruneEmptyDirs(from: string, stopAt: string): Promise<void> {
    let d = from;
    while (d.length > stopAt.length && d.startsWith(stopAt)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or gone): stop
      }
      d = dirname(d);
    }
  }
}
