/**
 * VectorStore over PostgreSQL/PGlite with pgvector: one table `vec_<name>` per collection
 * (id text pk, partition text, embedding vector(dim), payload jsonb), HNSW index with cosine ops when supported.
 */
import type {
  Database,
  VectorCollectionSpec,
  VectorHit,
  VectorItem,
  VectorSearchOptions,
  VectorStore,
} from '../../core/ports.js';

const NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;
/** pgvector's limit for indexed vectors is 2000; unindexed columns allow up to 16000. */
const MAX_DIM = 16_000;
const UPSERT_CHUNK = 200;

export function validateCollectionName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new Error(`invalid collection name ${JSON.stringify(name)}: want [a-z][a-z0-9_]{0,63}`);
  }
}

/** Check a vector's length and values, returning its pgvector text literal. */
export function vectorLiteral(v: Float32Array | readonly number[], dim: number, what: string): string {
  if (v.length !== dim)
    throw new Error(`${what}: vector has ${v.length} dimensions, collection expects ${dim}`);
  const parts: string[] = new Array<string>(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (!Number.isFinite(x)) throw new Error(`${what}: vector contains a non-finite value at ${i}`);
    parts[i] = String(x);
  }
  return `[${parts.join(',')}]`;
}

export interface PgVectorStoreOptions {
  /** Close the database when the store is closed. Default false (the store borrows it). */
  readonly ownsDatabase?: boolean;
}

export class PgVectorStore implements VectorStore {
  readonly kind = 'pgvector';
  private readonly dims = new Map<string, number>();
  private extension: Promise<string> | undefined;

  constructor(
    private readonly db: Database,
    private readonly options: PgVectorStoreOptions = {},
  ) {}

  async ensureCollection(spec: VectorCollectionSpec): Promise<void> {
    validateCollectionName(spec.name);
    if (!Number.isInteger(spec.dim) || spec.dim < 1 || spec.dim > MAX_DIM) {
      throw new Error(`collection ${spec.name}: dim must be an integer in 1..${MAX_DIM}`);
    }
    await this.ensureExtension();
    const existing = await this.lookupDim(spec.name);
    if (existing !== null) {
      if (existing !== spec.dim) {
        throw new Error(`collection ${spec.name} exists with dim ${existing}, not ${spec.dim}`);
      }
      this.dims.set(spec.name, existing);
      return;
    }
    const table = `vec_${spec.name}`;
    await this.db.transaction(async (tx) => {
      await tx.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
           id        text PRIMARY KEY,
           partition text NOT NULL,
           embedding vector(${spec.dim}) NOT NULL,
           payload   jsonb NOT NULL DEFAULT '{}'::jsonb
         )`,
      );
      await tx.query(`CREATE INDEX IF NOT EXISTS ${table}_partition_idx ON ${table} (partition)`);
      if (spec.description) {
        await tx.query(`COMMENT ON TABLE ${table} IS ${quoteLiteral(spec.description)}`);
      }
    });
    // HNSW needs pgvector >= 0.5 and at most 2000 dims; without it searches are exact scans.
    if (spec.dim <= 2000) {
      await this.db
        .query(
          `CREATE INDEX IF NOT EXISTS ${table}_hnsw_idx ON ${table} USING hnsw (embedding vector_cosine_ops)`,
        )
        .catch(() => undefined);
    }
    this.dims.set(spec.name, spec.dim);
  }

  async upsert(collection: string, items: readonly VectorItem[]): Promise<void> {
    const dim = await this.dimOf(collection);
    if (items.length === 0) return;
    // Later items win for duplicate ids within one call.
    const byId = new Map<string, VectorItem>();
    for (const item of items) {
      if (!item.id) throw new Error(`upsert into ${collection}: empty id`);
      byId.set(item.id, item);
    }
    const rows = [...byId.values()].map((item) => [
      item.id,
      item.partition,
      vectorLiteral(item.vector, dim, `upsert into ${collection} (id ${item.id})`),
      JSON.stringify(item.payload ?? {}),
    ]);
    for (let i = 0; i < rows.length; i += UPSERT_CHUNK) {
      const part = rows.slice(i, i + UPSERT_CHUNK);
      const values = part.map(
        (_, r) => `($${r * 4 + 1}, $${r * 4 + 2}, $${r * 4 + 3}::vector, $${r * 4 + 4}::jsonb)`,
      );
      await this.db.query(
        `INSERT INTO vec_${collection} (id, partition, embedding, payload) VALUES ${values.join(',')}
         ON CONFLICT (id) DO UPDATE SET partition = EXCLUDED.partition, embedding = EXCLUDED.embedding,
           payload = EXCLUDED.payload`,
        part.flat(),
      );
    }
  }

  async search(
    collection: string,
    vector: Float32Array | readonly number[],
    options: VectorSearchOptions,
  ): Promise<VectorHit[]> {
    const dim = await this.dimOf(collection);
    if (!Number.isInteger(options.topK) || options.topK < 1)
      throw new Error('search: topK must be a positive integer');
    const literal = vectorLiteral(vector, dim, `search in ${collection}`);
    const params: unknown[] = [literal, options.topK];
    let where = '';
    if (options.partition !== undefined) {
      params.push(options.partition);
      where = 'WHERE partition = $3';
    }
    const sql = `SELECT id, partition, payload, 1 - (embedding <=> $1::vector) AS score
                 FROM vec_${collection} ${where}
                 ORDER BY embedding <=> $1::vector, id
                 LIMIT $2`;
    const version = await this.ensureExtension();
    const rows = await this.db.transaction(async (tx) => {
      // Let the HNSW scan look far enough to fill topK even when a partition filter discards candidates.
      await tx.query(`SET LOCAL hnsw.ef_search = ${Math.min(1000, Math.max(40, options.topK * 2))}`);
      if (options.partition !== undefined && versionAtLeast(version, [0, 8, 0])) {
        await tx.query("SET LOCAL hnsw.iterative_scan = 'strict_order'");
      }
      return (
        await tx.query<{ id: string; partition: string; payload: unknown; score: number | string }>(
          sql,
          params,
        )
      ).rows;
    });
    return rows.map((r) => ({
      id: r.id,
      partition: r.partition,
      score: Number(r.score),
      payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as VectorHit['payload'],
    }));
  }

  async count(collection: string): Promise<number> {
    await this.dimOf(collection);
    const r = await this.db.query<{ n: number | string }>(`SELECT count(*)::int AS n FROM vec_${collection}`);
    return Number(r.rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    if (this.options.ownsDatabase) await this.db.close();
  }

  /** CREATE EXTENSION vector once; resolves to the installed version. */
  private ensureExtension(): Promise<string> {
    this.extension ??= (async () => {
      try {
        await this.db.query('CREATE EXTENSION IF NOT EXISTS vector');
      } catch (e) {
        const r = await this.db
          .query("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
          .catch(() => null);
        if (!r || r.rows.length === 0) {
          throw new Error(
            `pgvector is not available in this database: ${e instanceof Error ? e.message : String(e)}`,
            { cause: e },
          );
        }
      }
      const v = await this.db.query<{ extversion: string }>(
        "SELECT extversion FROM pg_extension WHERE extname = 'vector'",
      );
      return v.rows[0]?.extversion ?? '0.0.0';
    })().catch((e: unknown) => {
      this.extension = undefined;
      throw e;
    });
    return this.extension;
  }

  private async dimOf(collection: string): Promise<number> {
    validateCollectionName(collection);
    const cached = this.dims.get(collection);
    if (cached !== undefined) return cached;
    const dim = await this.lookupDim(collection);
    if (dim === null)
      throw new Error(`vector collection ${collection} does not exist (call ensureCollection first)`);
    this.dims.set(collection, dim);
    return dim;
  }

  /** The declared dimension of vec_<name>.embedding, or null when the table does not exist. */
  private async lookupDim(collection: string): Promise<number | null> {
    const r = await this.db.query<{ dim: number | string }>(
      `SELECT a.atttypmod AS dim FROM pg_attribute a
       WHERE a.attrelid = to_regclass($1) AND a.attname = 'embedding' AND NOT a.attisdropped`,
      [`vec_${collection}`],
    );
    const row = r.rows[0];
    return row ? Number(row.dim) : null;
  }
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function versionAtLeast(version: string, want: readonly [number, number, number]): boolean {
  const got = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const g = got[i] ?? 0;
    const w = want[i] ?? 0;
    if (g !== w) return g > w;
  }
  return true;
}
