/**
 * VectorStore over Milvus 2.x (@zilliz/milvus2-sdk-node v3).
 *
 * Collection schema: id VarChar(512) primary key, `partition` VarChar partition key, `vector` FloatVector(dim),
 * `payload` JSON. The vector field gets an HNSW index with the COSINE metric; Milvus then reports cosine similarity
 * as the score (higher is closer), which is what VectorHit.score wants.
 */
import { ConsistencyLevelEnum, DataType, ErrorCode, MilvusClient } from '@zilliz/milvus2-sdk-node';
import {
  UnavailableError,
  type VectorCollectionSpec,
  type VectorHit,
  type VectorItem,
  type VectorSearchOptions,
  type VectorStore,
} from '../../core/ports.js';
import { validateCollectionName } from './pgvector.js';

export interface MilvusVectorStoreOptions {
  /** host:port, e.g. 127.0.0.1:19530. */
  readonly address: string;
  readonly token?: string;
  readonly database?: string;
  /** Per-call timeout in milliseconds; default 15 000. */
  readonly timeoutMs?: number;
}

const MAX_ID = 512;
const MAX_PARTITION = 256;
const UPSERT_CHUNK = 500;

interface Status {
  error_code?: string | number;
  code?: number;
  reason?: string;
}

function statusOk(s: Status | undefined): boolean {
  if (!s) return true;
  return (
    (s.error_code === undefined || s.error_code === ErrorCode.SUCCESS || s.error_code === 'Success') &&
    !s.code
  );
}

const UNAVAILABLE_RE =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|UNAVAILABLE|DEADLINE_EXCEEDED|No connection established|Failed to connect|connection (?:refused|closed)|Connection dropped|timed? ?out/i;

function isUnavailable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  // gRPC status codes: 4 DEADLINE_EXCEEDED, 14 UNAVAILABLE
  if (code === 14 || code === 4) return true;
  return UNAVAILABLE_RE.test(e.message);
}

export class MilvusVectorStore implements VectorStore {
  readonly kind = 'milvus';
  private client: MilvusClient;
  private stale = false;
  private readonly dims = new Map<string, number>();

  constructor(private readonly options: MilvusVectorStoreOptions) {
    if (!options.address) throw new Error('MilvusVectorStore: address is required');
    this.client = this.connect();
  }

  private connect(): MilvusClient {
    const client = new MilvusClient({
      address: this.options.address,
      ...(this.options.token ? { token: this.options.token } : {}),
      ...(this.options.database ? { database: this.options.database } : {}),
      timeout: this.options.timeoutMs ?? 15_000,
      logLevel: 'error',
    });
    // The SDK connects in the background and every call awaits that promise; a failure surfaces on the next call
    // (as UnavailableError), so the background rejection itself must not go unhandled.
    client.connectPromise.catch(() => undefined);
    return client;
  }

  async ensureCollection(spec: VectorCollectionSpec): Promise<void> {
    validateCollectionName(spec.name);
    if (!Number.isInteger(spec.dim) || spec.dim < 1 || spec.dim > 32_768) {
      throw new Error(`collection ${spec.name}: dim must be an integer in 1..32768`);
    }
    await this.call('ensureCollection', async () => {
      const has = await this.client.hasCollection({ collection_name: spec.name });
      this.check(has.status, `hasCollection ${spec.name}`);
      if (has.value) {
        const existing = await this.describeDim(spec.name);
        if (existing !== spec.dim)
          throw new Error(`collection ${spec.name} exists with dim ${existing}, not ${spec.dim}`);
      } else {
        const created = await this.client.createCollection({
          collection_name: spec.name,
          description: spec.description ?? '',
          fields: [
            {
              name: 'id',
              data_type: DataType.VarChar,
              is_primary_key: true,
              autoID: false,
              max_length: MAX_ID,
            },
            {
              name: 'partition',
              data_type: DataType.VarChar,
              is_partition_key: true,
              max_length: MAX_PARTITION,
            },
            { name: 'vector', data_type: DataType.FloatVector, dim: spec.dim },
            { name: 'payload', data_type: DataType.JSON },
          ],
          consistency_level: 'Strong',
        });
        // Two creators racing: the loser sees "already exists", which is fine.
        if (!statusOk(created) && !/already exist/i.test(created.reason ?? ''))
          this.check(created, 'createCollection');
      }
      const idx = await this.client.describeIndex({ collection_name: spec.name, field_name: 'vector' });
      if (!statusOk(idx.status) || (idx.index_descriptions ?? []).length === 0) {
        const made = await this.client.createIndex({
          collection_name: spec.name,
          field_name: 'vector',
          index_name: 'vector_hnsw',
          index_type: 'HNSW',
          metric_type: 'COSINE',
          params: { M: 16, efConstruction: 200 },
        });
        if (!statusOk(made) && !/already exist|at most one distinct index/i.test(made.reason ?? '')) {
          this.check(made, 'createIndex');
        }
      }
      const loaded = await this.client.loadCollectionSync({ collection_name: spec.name });
      this.check(loaded, `loadCollection ${spec.name}`);
      this.dims.set(spec.name, spec.dim);
    });
  }

  async upsert(collection: string, items: readonly VectorItem[]): Promise<void> {
    const dim = await this.dimOf(collection);
    if (items.length === 0) return;
    const byId = new Map<string, VectorItem>();
    for (const item of items) {
      if (!item.id || item.id.length > MAX_ID)
        throw new Error(`upsert into ${collection}: id must be 1..${MAX_ID} chars`);
      if (item.partition.length > MAX_PARTITION)
        throw new Error(`upsert into ${collection}: partition too long`);
      checkVector(item.vector, dim, `upsert into ${collection} (id ${item.id})`);
      byId.set(item.id, item);
    }
    const rows = [...byId.values()].map((item) => ({
      id: item.id,
      partition: item.partition,
      vector: Array.from(item.vector),
      payload: { ...item.payload },
    }));
    await this.call('upsert', async () => {
      for (let i = 0; i < rows.length; i += UPSERT_CHUNK) {
        const res = await this.client.upsert({
          collection_name: collection,
          data: rows.slice(i, i + UPSERT_CHUNK),
        });
        this.check(res.status, `upsert into ${collection}`);
      }
    });
  }

  async search(
    collection: string,
    vector: Float32Array | readonly number[],
    options: VectorSearchOptions,
  ): Promise<VectorHit[]> {
    const dim = await this.dimOf(collection);
    if (!Number.isInteger(options.topK) || options.topK < 1)
      throw new Error('search: topK must be a positive integer');
    checkVector(vector, dim, `search in ${collection}`);
    return this.call('search', async () => {
      const res = await this.client.search({
        collection_name: collection,
        data: Array.from(vector),
        anns_field: 'vector',
        limit: options.topK,
        metric_type: 'COSINE',
        output_fields: ['id', 'partition', 'payload'],
        params: { ef: Math.min(32_768, Math.max(64, options.topK * 2)) },
        consistency_level: ConsistencyLevelEnum.Strong,
        ...(options.partition !== undefined
          ? { filter: `partition == ${JSON.stringify(options.partition)}` }
          : {}),
      });
      this.check(res.status, `search in ${collection}`);
      const hits = (res.results ?? []) as {
        id: string | number;
        score: number;
        partition?: string;
        payload?: unknown;
      }[];
      return hits.map((h) => ({
        id: String(h.id),
        score: Number(h.score),
        partition: String(h.partition ?? ''),
        payload: (typeof h.payload === 'string'
          ? JSON.parse(h.payload)
          : (h.payload ?? {})) as VectorHit['payload'],
      }));
    });
  }

  async count(collection: string): Promise<number> {
    await this.dimOf(collection);
    return this.call('count', async () => {
      const res = await this.client.query({
        collection_name: collection,
        filter: '',
        output_fields: ['count(*)'],
        consistency_level: ConsistencyLevelEnum.Strong,
      });
      this.check(res.status, `count ${collection}`);
      const first = (res.data ?? [])[0] as Record<string, unknown> | undefined;
      return Number(first?.['count(*)'] ?? 0);
    });
  }

  async close(): Promise<void> {
    await this.client.closeConnection().catch(() => undefined);
  }

  private async dimOf(collection: string): Promise<number> {
    validateCollectionName(collection);
    const cached = this.dims.get(collection);
    if (cached !== undefined) return cached;
    const dim = await this.call('describeCollection', () => this.describeDim(collection));
    this.dims.set(collection, dim);
    return dim;
  }

  private async describeDim(collection: string): Promise<number> {
    const d = await this.client.describeCollection({ collection_name: collection });
    if (!statusOk(d.status)) {
      const reason = d.status?.reason ?? '';
      if (/not (?:found|exist)|can't find/i.test(reason)) {
        throw new Error(`vector collection ${collection} does not exist (call ensureCollection first)`);
      }
      this.check(d.status, `describeCollection ${collection}`);
    }
    const field = d.schema?.fields?.find((f) => f.name === 'vector');
    const dim = Number(field?.dim ?? field?.type_params?.find((p) => p.key === 'dim')?.value);
    if (!Number.isInteger(dim) || dim < 1)
      throw new Error(`collection ${collection} has no usable 'vector' field`);
    return dim;
  }

  private check(status: Status | undefined, what: string): void {
    if (statusOk(status)) return;
    const reason = status?.reason || String(status?.error_code ?? status?.code);
    const msg = `Milvus ${what} failed: ${reason}`;
    if (UNAVAILABLE_RE.test(reason)) throw new UnavailableError(msg, 'milvus');
    throw new Error(msg);
  }

  /** Run an SDK call, turning connection failures into UnavailableError. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.stale) {
      // A client whose initial connection failed never recovers; start over so a restarted server is picked up.
      const old = this.client;
      this.client = this.connect();
      this.stale = false;
      void old.closeConnection().catch(() => undefined);
    }
    try {
      return await fn();
    } catch (e) {
      if (e instanceof UnavailableError) this.stale = true;
      if (e instanceof UnavailableError || !isUnavailable(e)) throw e;
      this.stale = true;
      throw new UnavailableError(
        `Milvus unavailable at ${this.options.address} (${what}): ${e instanceof Error ? e.message : String(e)}`,
        'milvus',
        { cause: e },
      );
    }
  }
}

function checkVector(v: Float32Array | readonly number[], dim: number, what: string): void {
  if (v.length !== dim)
    throw new Error(`${what}: vector has ${v.length} dimensions, collection expects ${dim}`);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i] as number))
      throw new Error(`${what}: vector contains a non-finite value at ${i}`);
  }
}
