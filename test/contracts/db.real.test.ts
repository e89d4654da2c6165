/**
 * Integration tier: the Database contract against a real PostgreSQL (SLO_SCOUT_DATABASE_URL).
 * Each run works in a fresh schema (search_path set through the connection's startup options) that is dropped after.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PgDatabase } from '../../adapters/db/postgres.js';
import { requireService } from '../integration/services.js';
import { adminQuery, withSearchPath } from '../support/pg.js';
import { dbContract } from './db.contract.js';

// Throws (the file fails) when SLO_SCOUT_DATABASE_URL is not set: the integration tier never skips.
const url = requireService('postgres');

const schema = `contract_${randomBytes(5).toString('hex')}`;
dbContract(
  'postgres',
  async () => {
    await adminQuery(url, `CREATE SCHEMA ${schema}`);
    return new PgDatabase({ connectionString: withSearchPath(url, schema), max: 4 });
  },
  () => adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`),
);

describe('PgDatabase.migrate under concurrency', () => {
  it('applies each migration exactly once when two processes race', async () => {
    const schema = `race_${randomBytes(5).toString('hex')}`;
    await adminQuery(url, `CREATE SCHEMA ${schema}`);
    const a = new PgDatabase({ connectionString: withSearchPath(url, schema), max: 2 });
    const b = new PgDatabase({ connectionString: withSearchPath(url, schema), max: 2 });
    try {
      const [ra, rb] = await Promise.all([a.migrate(), b.migrate()]);
      const applied = [...ra.applied, ...rb.applied].filter((id) => id === '001_base');
      expect(applied).toHaveLength(1);
      const n = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(n.rows[0]?.n).toBe(ra.applied.length + rb.applied.length);
    } finally {
      await a.close();
      await b.close();
      await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });
});

describe('PgDatabase.tryLock across processes', () => {
  it('gives a lock to one replica at a time, and to another once the holder connection dies', async () => {
    const name = `replica-${randomBytes(4).toString('hex')}`;
    const a = new PgDatabase({ connectionString: url, max: 2 });
    const b = new PgDatabase({ connectionString: url, max: 2 });
    try {
      const la = await a.tryLock(name);
      expect(la).not.toBeNull();
      expect(await b.tryLock(name)).toBeNull();
      // The holder's session is killed (a crashed pod, a failover): the server drops the lock with it.
      await adminQuery(
        url,
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = ` +
          `(hashtextextended('slo-scout:${name}', 0) & x'ffffffff'::bigint)::oid AND pid <> pg_backend_pid()`,
      );
      await expect.poll(() => la!.held(), { timeout: 10_000 }).toBe(false);
      const lb = await b.tryLock(name);
      expect(lb).not.toBeNull();
      expect(await lb!.held()).toBe(true);
      await lb!.release();
      expect(await a.tryLock(name)).not.toBeNull();
    } finally {
      await a.close();
      await b.close();
    }
  });
});
