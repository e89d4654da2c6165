/**
 * S3ObjectStore: the ObjectStore port on S3 or an S3-compatible server (MinIO, moto), path-style addressing.
 *
 * `ifAbsent` first HEADs the key (returning the existing object without a write), then PUTs with
 * `If-None-Match: *` (S3 conditional writes; a 412 means another writer won and the existing object is returned).
 * Servers that ignore If-None-Match degrade to HEAD-then-PUT: two writers racing inside that window may both report
 * `created: true` and the last one wins. Since archive keys are content-addressed (same key => same bytes) that race
 * is harmless for the archive.
 *
 * list() yields what ListObjectsV2 returns (key, size, etag, last-modified); it does not fetch content type or user
 * metadata per object — use head() for those. Network failures, timeouts and 5xx answers reject with
 * UnavailableError(…, 's3').
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { UnavailableError, type ObjectInfo, type ObjectStore, type PutOptions } from '../../core/ports.js';
import { assertObjectKey } from './archive-keys.js';

export interface S3ObjectStoreOptions {
  /** e.g. http://127.0.0.1:19000 for MinIO/moto; omit for AWS. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly sessionToken?: string;
  /** Create the bucket on first use when it does not exist. Default false. */
  readonly createBucket?: boolean;
  /** Per-request timeout in ms. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** SDK attempts per call (retries on throttling/5xx/network). Default 3. */
  readonly maxAttempts?: number;
}

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const status = (e: unknown): number | undefined => {
  const s = e as SdkError | null;
  return s?.$metadata?.httpStatusCode ?? s?.$response?.statusCode;
};

function isUnavailable(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as SdkError).cause, depth++) {
    const x = cur as SdkError;
    if (x.code && NETWORK_CODES.has(x.code)) return true;
    if (x.name === 'TimeoutError' || x.name === 'RequestTimeout' || x.name === 'AbortError') return true;
    if (x.name && NETWORK_CODES.has(x.name)) return true;
    const s = status(x);
    if (s !== undefined && s >= 500) return true;
    if (x.name === 'SlowDown' || x.name === 'ServiceUnavailable') return true;
  }
  return false;
}

/** A missing key (a missing bucket is not "not found": it is a configuration error). HEAD answers carry no body,
 * so there a missing bucket also looks like NotFound. */
const isNotFound = (e: unknown): boolean => {
  const x = e as SdkError | null;
  if (x?.name === 'NoSuchBucket' || x?.Code === 'NoSuchBucket') return false;
  return x?.name === 'NoSuchKey' || x?.name === 'NotFound' || x?.Code === 'NoSuchKey' || status(e) === 404;
};

const stripQuotes = (etag: string | undefined): string =>
  (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly createBucket: boolean;
  private readonly endpoint: string;
  private ready: Promise<void> | null = null;
  private closed = false;

  constructor(options: S3ObjectStoreOptions) {
    if (!options.bucket) throw new Error('S3ObjectStore: bucket is required');
    if (!options.region) throw new Error('S3ObjectStore: region is required');
    this.bucket = options.bucket;
    this.createBucket = options.createBucket ?? false;
    this.endpoint = options.endpoint ?? `s3.${options.region}.amazonaws.com`;
    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: true,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000, connectionTimeout: 3_000 },
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.accessKeyId && options.secretAccessKey
        ? {
            credentials: {
              accessKeyId: options.accessKeyId,
              secretAccessKey: options.secretAccessKey,
              ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
            },
          }
        : {}),
    };
    this.client = new S3Client(config);
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
    if (options.ifAbsent) {
      const existing = await this.head(key);
      if (existing) return { ...existing, created: false };
    }
    const metadata = options.metadata
      ? Object.fromEntries(Object.entries(options.metadata).map(([k, v]) => [k.toLowerCase(), v]))
      : undefined;
    try {
      const res = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ...(options.contentType !== undefined ? { ContentType: options.contentType } : {}),
          ...(options.contentEncoding !== undefined ? { ContentEncoding: options.contentEncoding } : {}),
          ...(metadata ? { Metadata: metadata } : {}),
          ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}),
        }),
      );
      return {
        key,
        size: body.length,
        etag: stripQuotes(res.ETag),
        lastModified: new Date(),
        ...(options.contentType !== undefined ? { contentType: options.contentType } : {}),
        ...(metadata ? { metadata } : {}),
        created: true,
      };
    } catch (e) {
      const s = status(e);
      const name = (e as SdkError).name;
      if (
        options.ifAbsent &&
        (s === 412 || name === 'PreconditionFailed' || s === 409 || name === 'ConditionalRequestConflict')
      ) {
        const existing = await this.head(key);
        if (existing) return { ...existing, created: false };
      }
      throw this.wrap(e, `put ${key}`);
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    this.assertOpen();
    assertObjectKey(key);
    await this.init();
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!res.Body) return new Uint8Array(0);
      return await res.Body.transformToByteArray();
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.wrap(e, `get ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    this.assertOpen();
    assertObjectKey(key);
    await this.init();
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const metadata = res.Metadata ?? {};
      return {
        key,
        size: res.ContentLength ?? 0,
        etag: stripQuotes(res.ETag),
        lastModified: res.LastModified ?? new Date(0),
        ...(res.ContentType !== undefined ? { contentType: res.ContentType } : {}),
        ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
      };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.wrap(e, `head ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.assertOpen();
    if (typeof prefix !== 'string') throw new TypeError('list: prefix must be a string');
    await this.init();
    let token: string | undefined;
    do {
      let res;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (e) {
        throw this.wrap(e, `list ${prefix}`);
      }
      for (const o of res.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield {
          key: o.Key,
          size: o.Size ?? 0,
          etag: stripQuotes(o.ETag),
          lastModified: o.LastModified ?? new Date(0),
        };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    this.assertOpen();
    assertObjectKey(key);
    await this.init();
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw this.wrap(e, `delete ${key}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error('S3ObjectStore is closed');
  }

  private init(): Promise<void> {
    if (!this.createBucket) return Promise.resolve();
    this.ready ??= this.ensureBucket().catch((e: unknown) => {
      this.ready = null;
      throw e;
    });
    return this.ready;
  }

  private async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (e) {
      if (!isNotFound(e) && (e as SdkError).name !== 'NoSuchBucket' && status(e) !== 404)
        throw this.wrap(e, `head bucket ${this.bucket}`);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      const name = (e as SdkError).name;
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
      throw this.wrap(e, `create bucket ${this.bucket}`);
    }
  }

  private wrap(e: unknown, what: string): Error {
    const msg = (e as SdkError | null)?.message ?? String(e);
    if (isUnavailable(e))
      return new UnavailableError(`S3 at ${this.endpoint} unavailable during ${what}: ${msg}`, 's3', {
        cause: e,
      });
    if ((e as SdkError).name === 'NoSuchBucket')
      return new Error(`S3 bucket ${this.bucket} does not exist (${what})`, { cause: e });
    return e instanceof Error ? e : new Error(`S3 ${what} failed: ${msg}`, { cause: e });
  }
}
