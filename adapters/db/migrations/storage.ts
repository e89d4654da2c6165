/**
 * Migrations owned by the storage area. Ids are `NNN_description` and must sort after every id already in MIGRATIONS
 * (adapters/db/migrations.ts assembles all areas and sorts them); never edit a migration that has shipped, add one.
 */
import type { Migration } from '../migrations.js';

export const STORAGE_MIGRATIONS: readonly Migration[] = [];
