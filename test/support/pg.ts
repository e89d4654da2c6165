/** Test helpers for a real PostgreSQL: per-run schemas, so concurrent runs on the shared server do not collide. */
import pg from 'pg';

/** `url` with startup options that make its sessions use `schema` (then public) as search_path. */
export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema},public`);
  return u.toString();
}

/** Runs one statement on a connection of its own (CREATE/DROP SCHEMA around a test run). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
