/**
 * Embedded PostgreSQL (PGlite, WASM) implementing the Database port, with pgvector loaded.
 * Single connection: queries and transactions are serialised by PGlite itself, so migrations need no advisory lock.
 * Inside `transaction(fn)` use only the `tx` handed to `fn`: a `db.query` issued from within the callback waits for
 * the transaction to finish and so never completes.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type {
  Database,
  DatabaseFeatures,
  DbLock,
  MigrationReport,
  SqlExecutor,
  SqlResult,
} from '../../core/ports.js';
import { probeExtension, runMigrations, type MigrationTarget } from './migrations.js';

export interface PgliteDatabaseOptions {
  /** Directory to persist the database in; undefined keeps it in memory. */
  readonly dataDir?: string;
  /**
   * Use this PGlite instance instead of creating one (e.g. a build carrying the TimescaleDB extension, which the
   * contract suite uses to cover the TimescaleDB layout without a server). The database takes ownership.
   */
  readonly instance?: PgliteInstance;
}

/** The part of a PGlite instance the adapter uses (structural, so other PGlite builds fit). */
export interface PgliteInstance extends PgliteQueryable {
  readonly waitReady: Promise<void>;
  transaction<T>(fn: (tx: PgliteQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

interface PgliteQueryable {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
}

function toResult<R>(r: { rows: R[]; affectedRows?: number }): SqlResult<R> {
  return { rows: r.rows, rowCount: Math.max(r.affectedRows ?? 0, r.rows.length) };
}

function executor(q: PgliteQueryable): SqlExecutor {
  return {
    async query<R = Record<string, unknown>>(
      sql: string,
      params?: readonly unknown[],
    ): Promise<SqlResult<R>> {
      return toResult(await q.query<R>(sql, params ? [...params] : []));
    },
  };
}

export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  private featuresCache: Promise<DatabaseFeatures> | undefined;
  private closed = false;
  private readonly heldLocks = new Set<string>();

  private readonly pg: PgliteInstance;

  /** Starts the database in the background; the first query waits for it. */
  constructor(options: PgliteDatabaseOptions = {}) {
    this.pg =
      options.instance ??
      (new PGlite({
        ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
        extensions: { vector },
      }) as unknown as PgliteInstance);
  }

  /** Construct and wait until the database is ready (surfaces start-up errors here). */
  static async open(options: PgliteDatabaseOptions = {}): Promise<PgliteDatabase> {
    const db = new PgliteDatabase(options);
    await db.pg.waitReady;
    return db;
  }

  async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    this.assertOpen();
    return executor(this.pg).query<R>(sql, params);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.pg.transaction((tx) => fn(executor(tx)));
  }

  features(): Promise<DatabaseFeatures> {
    this.assertOpen();
    this.featuresCache ??= (async () => {
      const target = this.target(this.pg);
      return {
        timescale: await probeExtension(target, 'timescaledb'),
        vector: await probeExtension(target, 'vector'),
      };
    })();
    return this.featuresCache;
  }

  async migrate(): Promise<MigrationReport> {
    const features = await this.features();
    return runMigrations(this.target(this.pg), features);
  }

  /** PGlite serves one process: a lock is held against the other holders in this process. */
  async tryLock(name: string): Promise<DbLock | null> {
    this.assertOpen();
    if (this.heldLocks.has(name)) return null;
    this.heldLocks.add(name);
    let held = true;
    return {
      held: () => Promise.resolve(held && !this.closed),
      release: () => {
        if (held) {
          held = false;
          this.heldLocks.delete(name);
        }
        return Promise.resolve();
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.heldLocks.clear();
    await this.pg.close();
  }

  private target(q: PgliteQueryable, inTx = false): MigrationTarget {
    const self: MigrationTarget = {
      script: async (sql) => {
        await q.exec(sql);
      },
      query: executor(q).query,
      // PGlite has one connection: a nested transaction would wait for itself, so run inline instead.
      inTransaction: (fn) => (inTx ? fn(self) : this.pg.transaction((tx) => fn(this.target(tx, true)))),
    };
    return self;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('PgliteDatabase is closed');
  }
}
