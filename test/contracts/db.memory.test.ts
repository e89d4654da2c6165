import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../core/ports.js';
import { PgliteDatabase } from '../../adapters/db/pglite.js';
import { PgDatabase, isConnectionError } from '../../adapters/db/postgres.js';
import { dbContract } from './db.contract.js';

dbContract('pglite (in memory)', () => PgliteDatabase.open());

describe('PgliteDatabase on disk', () => {
  it('persists data and the migration ledger across reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slo-scout-pglite-'));
    try {
      const first = await PgliteDatabase.open({ dataDir: dir });
      expect((await first.migrate()).applied).toContain('001_base');
      await first.query("INSERT INTO services (name, first_seen, last_seen) VALUES ('kept', now(), now())");
      await first.close();
      const again = await PgliteDatabase.open({ dataDir: dir });
      try {
        expect((await again.migrate()).applied).toEqual([]);
        const r = await again.query<{ name: string }>('SELECT name FROM services');
        expect(r.rows).toEqual([{ name: 'kept' }]);
      } finally {
        await again.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('PgDatabase without a server', () => {
  it('maps a refused connection to UnavailableError', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused immediately.
    const db = new PgDatabase({
      connectionString: 'postgres://u:p@127.0.0.1:1/none',
      connectionTimeoutMillis: 2000,
    });
    try {
      const e = await db.query('SELECT 1').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnavailableError);
      expect((e as UnavailableError).service).toBe('postgres');
      const t = await db.transaction(async () => 1).catch((x: unknown) => x);
      expect(t).toBeInstanceOf(UnavailableError);
      await expect(db.migrate()).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      await db.close();
    }
  });

  it('classifies errors', () => {
    expect(isConnectionError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('x'), { code: '57P01' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('x'), { code: '08006' }))).toBe(true);
    expect(
      isConnectionError(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' })),
    ).toBe(false);
    expect(isConnectionError('nope')).toBe(false);
  });
});
