/**
 * PostgreSQL (optionally with TimescaleDB and pgvector) implementing the Database port over a `pg` Pool.
 *
 * Type mapping is aligned with PGlite so callers see the same values from both adapters: int8 becomes a number when
 * it is a safe integer (a bigint otherwise), timestamptz a Date, jsonb parsed JSON, arrays JS arrays.
 */
import pg from 'pg';
import {
  UnavailableError,
  type Database,
  type DatabaseFeatures,
  type DbLock,
  type MigrationReport,
  type SqlExecutor,
  type SqlResult,
} from '../../core/ports.js';
import { MIGRATION_LOCK_KEY, probeExtension, runMigrations, type MigrationTarget } from './migrations.js';

export interface PgDatabaseOptions {
  readonly connectionString: string;
  /** Pool size; default 10. */
  readonly max?: number;
  /** Milliseconds to wait for a connection before failing; default 10 000. */
  readonly connectionTimeoutMillis?: number;
}

const INT8_OID = 20;
const INT8_ARRAY_OID = 1016;

function parseInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

const builtinParser = pg.types.getTypeParser as (
  oid: number,
  format?: 'text' | 'binary',
) => (text: string) => unknown;
const defaultInt8Array = builtinParser(INT8_ARRAY_OID, 'text') as (text: string) => (string | null)[];

const typeOverrides = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (format !== 'binary') {
      if (oid === INT8_OID) return parseInt8;
      if (oid === INT8_ARRAY_OID)
        return (text: string) => defaultInt8Array(text).map((v) => (v === null ? null : parseInt8(v)));
    }
    return builtinParser(oid, format);
  },
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** True for errors that mean "the database cannot be reached right now" rather than "this statement is wrong". */
export function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    // SQLSTATE class 08 (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now),
    // 53300 (too many connections).
    if (/^08/.test(code) || /^57P0[123]$/.test(code) || code === '53300') return true;
  }
  if (e instanceof AggregateError) return e.errors.some(isConnectionError);
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    e.message,
  );
}

function mapError(e: unknown): unknown {
  if (e instanceof UnavailableError || !isConnectionError(e)) return e;
  const msg = e instanceof Error ? e.message || (e as { code?: string }).code || e.name : String(e);
  return new UnavailableError(`PostgreSQL unavailable: ${msg}`, 'postgres', { cause: e });
}

function toResult<R>(r: pg.QueryResult): SqlResult<R> {
  return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
}

function clientExecutor(client: pg.PoolClient): SqlExecutor {
  return {
    async query<R = Record<string, unknown>>(
      sql: string,
      params?: readonly unknown[],
    ): Promise<SqlResult<R>> {
      try {
        return toResult<R>(await client.query(sql, params ? [...params] : []));
      } catch (e) {
        throw mapError(e);
      }
    },
  };
}

export class PgDatabase implements Database {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private featuresCache: Promise<DatabaseFeatures> | undefined;
  private closed = false;
  /** Clients held by tryLock (checked out of the pool for as long as their lock is held). */
  private readonly locks = new Set<pg.PoolClient>();

  constructor(options: PgDatabaseOptions) {
    if (!options.connectionString) throw new Error('PgDatabase: connectionString is required');
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
      types: typeOverrides,
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    this.pool.on('error', () => {});
  }

  async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    this.assertOpen();
    try {
      return toResult<R>(await this.pool.query(sql, params ? [...params] : []));
    } catch (e) {
      throw mapError(e);
    }
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.withClient((client) => inTransaction(client, () => fn(clientExecutor(client))));
  }

  features(): Promise<DatabaseFeatures> {
    this.assertOpen();
    this.featuresCache ??= this.withClient(async (client) => {
      const target = clientTarget(client);
      return {
        timescale: await probeExtension(target, 'timescaledb'),
        vector: await probeExtension(target, 'vector'),
      };
    }).catch((e: unknown) => {
      // Do not cache a failure (e.g. the server was down): the next call probes again.
      this.featuresCache = undefined;
      throw e;
    });
    return this.featuresCache;
  }

  async migrate(): Promise<MigrationReport> {
    const features = await this.features();
    return this.withClient(async (client) => {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        return await runMigrations(clientTarget(client), features);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      }
    });
  }

  async tryLock(name: string): Promise<DbLock | null> {
    const client = await this.checkout();
    let got: boolean;
    try {
      const r = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
        [`slo-scout:${name}`],
      );
      got = r.rows[0]?.ok === true;
    } catch (e) {
      const mapped = mapError(e);
      client.release(mapped instanceof Error ? mapped : new Error(String(mapped)));
      throw mapped;
    }
    if (!got) {
      client.release();
      return null;
    }
    // The lock lives as long as this session: the client stays checked out until release() or a lost connection.
    let state: 'held' | 'lost' | 'released' = 'held';
    const lose = () => {
      if (state !== 'held') return;
      state = 'lost';
      this.locks.delete(client);
      client.release(new Error('advisory lock connection lost'));
    };
    client.on('error', lose);
    this.locks.add(client);
    return {
      held: async () => {
        if (state !== 'held') return false;
        try {
          await client.query('SELECT 1');
          return true;
        } catch {
          lose();
          return false;
        }
      },
      release: async () => {
        if (state !== 'held') return;
        state = 'released';
        this.locks.delete(client);
        try {
          await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`slo-scout:${name}`]);
          client.release();
        } catch (e) {
          client.release(e instanceof Error ? e : new Error(String(e))); // the server drops the lock with it
        }
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Connections holding locks go back (destroyed: the server releases their locks) before the pool ends.
    for (const c of this.locks) c.release(new Error('database closed'));
    this.locks.clear();
    await this.pool.end();
  }

  /** A client of its own from the pool (connection failures mapped); the caller releases it. */
  private async checkout(): Promise<pg.PoolClient> {
    this.assertOpen();
    try {
      return await this.pool.connect();
    } catch (e) {
      throw mapError(e);
    }
  }

  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.checkout();
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (e) {
      const mapped = mapError(e);
      if (mapped instanceof UnavailableError) broken = mapped;
      throw mapped;
    } finally {
      // Destroy clients whose connection failed instead of returning them to the pool.
      client.release(broken);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('PgDatabase is closed');
  }
}

async function inTransaction<T>(client: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const out = await fn();
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

function clientTarget(client: pg.PoolClient, nested = false): MigrationTarget {
  const exec = clientExecutor(client);
  const self: MigrationTarget = {
    script: async (sql) => {
      try {
        // No parameters: the simple query protocol, which accepts several statements.
        await client.query(sql);
      } catch (e) {
        throw mapError(e);
      }
    },
    query: exec.query,
    inTransaction: (fn) => (nested ? fn(self) : inTransaction(client, () => fn(clientTarget(client, true)))),
  };
  return self;
}
