/**
 * Deploy target "files": writes an artifact set to a directory atomically. Everything is written to a fresh sibling
 * directory first, then swapped in with renames, so readers (a Prometheus `rule_files` glob, Grafana's file
 * provider) see either the old set or the new one, never half of each.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { ArtifactSet } from '../../events/schemas.js';
import { err, ok, type Result } from '../../core/result.js';

export interface FilesDeployReport {
  readonly dir: string;
  readonly files: number;
  /** True when an earlier deployment was replaced. */
  readonly replaced: boolean;
  readonly dryRun: boolean;
}

/** A set path that stays inside the target directory (no absolute paths, no `..`). */
function safePath(p: string): string | undefined {
  if (!p || isAbsolute(p) || p.includes('\0')) return undefined;
  const n = normalize(p);
  if (n === '..' || n.startsWith(`..${sep}`) || n.split(sep).includes('..')) return undefined;
  return n;
}

export function deployToDirectory(
  set: ArtifactSet,
  dir: string,
  opts: { readonly dryRun?: boolean } = {},
): Result<FilesDeployReport, string> {
  const target = resolve(dir);
  const bad = set.files.filter((f) => safePath(f.path) === undefined).map((f) => f.path);
  if (bad.length) return err(`artifact set ${set.id} has paths outside its directory: ${bad.join(', ')}`);
  const existing = statSync(target, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) return err(`${target} exists and is not a directory`);
  const report = { dir: target, files: set.files.length, replaced: Boolean(existing), dryRun: !!opts.dryRun };
  if (opts.dryRun) return ok(report);
  const tag = randomBytes(6).toString('hex');
  const staging = `${target}.staging-${tag}`;
  const old = `${target}.old-${tag}`;
  try {
    mkdirSync(dirname(target), { recursive: true });
    mkdirSync(staging);
    for (const f of set.files) {
      const p = join(staging, safePath(f.path)!);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.content);
    }
    if (existing) renameSync(target, old);
    try {
      renameSync(staging, target);
    } catch (e) {
      if (existing) renameSync(old, target); // put the previous deployment back
      throw e;
    }
    if (existing) rmSync(old, { recursive: true, force: true });
    return ok(report);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    return err(`writing ${target}: ${(e as Error).message}`);
  }
}
