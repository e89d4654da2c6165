/**
 * Raw-batch archive: every accepted batch is gzipped and written to the object store at an idempotent key derived
 * from its content (same bytes, same hour -> same key), with ifAbsent so retries never rewrite an object.
 */
import { createHash } from 'node:crypto';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { ObjectStore } from '../core/ports.js';
import { archiveKey } from '../adapters/objects/archive-keys.js';

const gzipAsync = promisify(gzip);

export type ArchiveFormat = 'pb' | 'json' | 'msgpack';

const CONTENT_TYPES: Record<ArchiveFormat, string> = {
  pb: 'application/x-protobuf',
  json: 'application/json',
  msgpack: 'application/msgpack',
};

export interface ArchiveInput {
  /** Signal segment of the key: traces | metrics | logs | fluentbit. */
  readonly signal: string;
  readonly tenant: string;
  /** The batch as received (after transport decompression). */
  readonly body: Uint8Array;
  readonly format: ArchiveFormat;
  readonly receivedAt: Date;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ArchiveResult {
  readonly key: string;
  /** False when the same batch was already archived. */
  readonly created: boolean;
}

export function sha256Hex(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The key a batch is archived under: raw/signal=<s>/tenant=<t>/dt=YYYY-MM-DD/hour=HH/<sha256>.<fmt>.gz */
export function rawArchiveKey(input: Omit<ArchiveInput, 'metadata'>): string {
  return archiveKey({
    signal: input.signal,
    tenant: input.tenant,
    receivedAt: input.receivedAt,
    sha256hex: sha256Hex(input.body),
    ext: `${input.format}.gz`,
  });
}

/** Gzips and stores the batch; resolves once the object is durable (or already existed). */
export async function archiveRaw(objects: ObjectStore, input: ArchiveInput): Promise<ArchiveResult> {
  const key = rawArchiveKey(input);
  const gz = await gzipAsync(input.body);
  const info = await objects.put(key, new Uint8Array(gz.buffer, gz.byteOffset, gz.byteLength), {
    contentType: CONTENT_TYPES[input.format],
    contentEncoding: 'gzip',
    ifAbsent: true,
    metadata: { signal: input.signal, tenant: input.tenant, ...(input.metadata ?? {}) },
  });
  return { key, created: info.created };
}
