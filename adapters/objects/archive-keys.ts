/**
 * Pure helpers for the raw-data archive: object keys, key validation shared by every ObjectStore adapter, and the
 * object-created notification documents (AWS S3 and MinIO dialects) that the platform publishes for new objects.
 * No I/O here.
 */
import { err, ok, type Result } from '../../core/result.js';
import type { ObjectInfo } from '../../core/ports.js';
import type { ObjectCreatedNotification } from '../../events/schemas.js';

/** First key segment reserved by FsObjectStore for its bookkeeping (temp files, metadata). */
export const RESERVED_KEY_SEGMENT = '.slo-scout';

const MAX_KEY_BYTES = 1024;

/**
 * The key rules every adapter enforces, so a key that works on one store works on all of them (and maps safely onto
 * a filesystem): 1..1024 UTF-8 bytes; no control characters (NUL included); no leading or trailing '/', no empty
 * segment ('a//b'); no '.' or '..' segment; not under the reserved `.slo-scout/` prefix.
 */
export function checkObjectKey(key: unknown): Result<string, string> {
  if (typeof key !== 'string') return err(`object key must be a string, got ${typeof key}`);
  if (key.length === 0) return err('object key must not be empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    return err(`object key exceeds ${MAX_KEY_BYTES} UTF-8 bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key))
    return err(`object key ${JSON.stringify(key)} contains a control character (NUL included)`);
  if (key.startsWith('/')) return err(`object key ${JSON.stringify(key)} must not start with '/'`);
  if (key.endsWith('/')) return err(`object key ${JSON.stringify(key)} must not end with '/'`);
  const segments = key.split('/');
  if (segments.some((s) => s === ''))
    return err(`object key ${JSON.stringify(key)} has an empty path segment`);
  if (segments.some((s) => s === '.' || s === '..'))
    return err(`object key ${JSON.stringify(key)} has a '.' or '..' segment`);
  if (segments[0] === RESERVED_KEY_SEGMENT)
    return err(`object key ${JSON.stringify(key)} uses the reserved prefix ${RESERVED_KEY_SEGMENT}/`);
  return ok(key);
}

/** Throws a clear Error for a bad key (a caller bug). */
export function assertObjectKey(key: unknown): string {
  const r = checkObjectKey(key);
  if (!r.ok) throw new Error(`invalid object key: ${r.error}`);
  return r.value;
}

export interface ArchiveKeyInput {
  readonly signal: 'traces' | 'metrics' | 'logs' | (string & {});
  readonly tenant: string;
  readonly receivedAt: Date;
  /** Hex SHA-256 of the body: the same content always maps to the same key (idempotent archiving). */
  readonly sha256hex: string;
  /** File extension without the dot, e.g. `pb`, `json`, `pb.gz`. */
  readonly ext: string;
}

const SEGMENT_VALUE = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * `raw/signal=<signal>/tenant=<tenant>/dt=YYYY-MM-DD/hour=HH/<sha256>.<ext>` (UTC), Hive-style partitions so Athena,
 * Spark or DuckDB can prune by signal/tenant/day/hour. Throws on values that would break the layout.
 */
export function archiveKey(input: ArchiveKeyInput): string {
  const { signal, tenant, receivedAt, sha256hex, ext } = input;
  if (!SEGMENT_VALUE.test(signal))
    throw new Error(`archiveKey: signal ${JSON.stringify(signal)} must match ${SEGMENT_VALUE}`);
  if (!SEGMENT_VALUE.test(tenant) || tenant === '.' || tenant === '..') {
    throw new Error(
      `archiveKey: tenant ${JSON.stringify(tenant)} must match ${SEGMENT_VALUE} and not be '.' or '..'`,
    );
  }
  if (!(receivedAt instanceof Date) || Number.isNaN(receivedAt.getTime()))
    throw new Error('archiveKey: receivedAt must be a valid Date');
  if (!/^[0-9a-f]{64}$/.test(sha256hex))
    throw new Error('archiveKey: sha256hex must be 64 lowercase hex characters');
  if (!/^[a-z0-9]+(\.[a-z0-9]+)*$/.test(ext))
    throw new Error(
      `archiveKey: ext ${JSON.stringify(ext)} must be lowercase alphanumerics separated by dots`,
    );
  const iso = receivedAt.toISOString(); // YYYY-MM-DDTHH:...Z, always UTC
  const dt = iso.slice(0, 10);
  const hour = iso.slice(11, 13);
  return `raw/signal=${signal}/tenant=${tenant}/dt=${dt}/hour=${hour}/${sha256hex}.${ext}`;
}

/**
 * Encodes a key the way S3 notifications carry it: form-URL-encoding (space -> '+'). AWS leaves '/' readable;
 * MinIO escapes it too (Go's url.QueryEscape). Decode with `decodeURIComponent(key.replace(/\+/g, ' '))`.
 */
export function encodeNotificationKey(key: string, dialect: 'aws' | 'minio'): string {
  const esc = (s: string): string =>
    encodeURIComponent(s)
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+');
  return dialect === 'aws' ? key.split('/').map(esc).join('/') : esc(key);
}

let sequence = 0n;
/** A monotonically increasing hex sequencer, as S3 puts in `s3.object.sequencer`. */
function nextSequencer(at: Date): string {
  sequence = (sequence + 1n) & 0xffffn;
  return ((BigInt(at.getTime()) << 16n) | sequence).toString(16).toUpperCase().padStart(16, '0');
}

export interface NotificationOptions {
  readonly region?: string;
  /** Defaults to `info.lastModified`. */
  readonly eventTime?: Date;
}

/**
 * The notification an S3-compatible store sends when `info` was created in `bucket`, in the AWS (`aws:s3`, event
 * version 2.1) or MinIO (`minio:s3`, with the top-level `EventName`/`Key`) dialect. Validates against
 * `ObjectCreatedNotification` in events/schemas.ts.
 */
export function s3NotificationFor(
  bucket: string,
  info: ObjectInfo,
  dialect: 'aws' | 'minio',
  options: NotificationOptions = {},
): ObjectCreatedNotification {
  if (bucket.length === 0) throw new Error('s3NotificationFor: bucket must not be empty');
  const at = options.eventTime ?? info.lastModified;
  const eventTime = at.toISOString();
  const object = {
    key: encodeNotificationKey(info.key, dialect),
    size: info.size,
    eTag: info.etag,
    sequencer: nextSequencer(at),
    ...(dialect === 'minio' && info.contentType !== undefined ? { contentType: info.contentType } : {}),
    ...(dialect === 'minio' && info.metadata !== undefined ? { userMetadata: { ...info.metadata } } : {}),
  };
  const bucketInfo = {
    name: bucket,
    ownerIdentity: { principalId: dialect === 'aws' ? 'slo-scout' : 'minio' },
    arn: `arn:aws:s3:::${bucket}`,
  };
  const s3 = {
    s3SchemaVersion: '1.0',
    configurationId: dialect === 'aws' ? 'slo-scout' : 'Config',
    bucket: bucketInfo,
    object,
  };
  if (dialect === 'aws') {
    const record = {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: options.region ?? 'us-east-1',
      eventTime,
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: 'slo-scout' },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: {},
      s3,
    };
    return { Records: [record] };
  }
  const record = {
    eventVersion: '2.0',
    eventSource: 'minio:s3',
    awsRegion: options.region ?? '',
    eventTime,
    eventName: 's3:ObjectCreated:Put',
    userIdentity: { principalId: 'minio' },
    requestParameters: {},
    responseElements: {},
    s3,
    source: { host: '', port: '', userAgent: 'slo-scout' },
  };
  return { EventName: 's3:ObjectCreated:Put', Key: `${bucket}/${info.key}`, Records: [record] };
}
