/**
 * Integration tier: the Database contract against a real PostgreSQL (SLO_SCOUT_DATABASE_URL).
 * Each run works in a fresh schema (search_path set through the connection's startup options) that is dropped after.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PgDatabase } from '../../adapters/db/postgres.js';
import { dbContract } from './db.contract.js';

const url = process.env.SLO_SCOUT_DATABASE_URL;

describe('PostgreSQL endpoint', () => {
  it('SLO_SCOUT_DATABASE_URL is set', () => {
    expect(url, 'set SLO_SCOUT_DATABASE_URL (scripts/services/env.sh)').toBeTruthy();
  });
});

/** A connection string whose sessions use `schema` as search_path. */
function withSearchPath(connectionString: string, schema: string): string {
  const u = new URL(connectionString);
  u.searchParams.set('options', `-c search_path=${schema},public`);
  return u.toString();
}

if (url) {
  const schema = `contract_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  dbContract(
    'postgres',
    async () => {
      await admin(`CREATE SCHEMA ${schema}`);
      return new PgDatabase({ connectionString: withSearchPath(url, schema), max: 4 });
    },
    () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  );
}

if (url) {
  describe('PgDatabase.migrate under concurrency', () => {
    it('applies each migration exactly once when two processes race', async () => {
      const schema = `race_${randomBytes(5).toString('hex')}`;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`CREATE SCHEMA ${schema}`);
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
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      }
    });
  });
}
