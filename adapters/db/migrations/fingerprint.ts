/**
 * Migrations owned by the fingerprint area. Ids are `NNN_description` and must sort after every id already in MIGRATIONS
 * (adapters/db/migrations.ts assembles all areas and sorts them); never edit a migration that has shipped, add one.
 */
import type { Migration } from '../migrations.js';

/**
 * Shared template-miner state (adapters/db/templates.ts): one row per cluster (its masked tokens, split positions and
 * issued sub-group ids, as JSON) plus the alias map (old id -> new id). `rev` comes from one sequence and is bumped on
 * every write, so replicas pull only what changed since their last pull.
 */
const M100_TEMPLATE_STATE = `
CREATE SEQUENCE IF NOT EXISTS template_state_rev;

CREATE TABLE IF NOT EXISTS template_clusters (
  cluster_id  text PRIMARY KEY,
  length      integer NOT NULL CHECK (length >= 0),
  tokens      jsonb NOT NULL,
  split       jsonb NOT NULL DEFAULT '[]'::jsonb,
  issued      jsonb NOT NULL DEFAULT '[]'::jsonb,
  count       bigint NOT NULL DEFAULT 0,
  rev         bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS template_clusters_rev_idx ON template_clusters (rev);

CREATE TABLE IF NOT EXISTS template_aliases (
  old_id      text PRIMARY KEY,
  new_id      text NOT NULL,
  rev         bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS template_aliases_rev_idx ON template_aliases (rev);
`;

export const FINGERPRINT_MIGRATIONS: readonly Migration[] = [
  { id: '100_template_state', sql: M100_TEMPLATE_STATE },
];
