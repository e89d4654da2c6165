/**
 * Dependency boundaries, checked on every `npm test`:
 * - core/ is pure: it imports only core/, type-only event contracts, node:crypto, yaml and the Grafana Foundation SDK
 *   (a pure builder library); it never reads env.
 * - functions/ and collectors/ never import each other (nor platform/ or cli/); functions reach storage only through
 *   repository modules in adapters/db/.
 * - runtime/ and adapters/ know nothing of functions, collectors, platform or cli.
 * - only platform/, cli/, bin/, scripts and tests read process.env.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

interface Import {
  file: string;
  spec: string;
  typeOnly: boolean;
  /** Repo-relative target for relative imports. */
  target: string | null;
}

function files(dir: string): string[] {
  const abs = join(ROOT, dir);
  let out: string[] = [];
  for (const name of readdirSync(abs)) {
    const p = join(abs, name);
    if (statSync(p).isDirectory()) out = out.concat(files(relative(ROOT, p)));
    else if (name.endsWith('.ts')) out.push(relative(ROOT, p));
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC_RE = /import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const src = readFileSync(join(ROOT, file), 'utf8');
  const out: Import[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    const target = spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)) : null;
    out.push({ file, spec, typeOnly, target });
  };
  for (const m of src.matchAll(IMPORT_RE)) add(m[3]!, Boolean(m[2]));
  for (const m of src.matchAll(DYNAMIC_RE)) add(m[1]!, false);
  return out;
}

const layer = (target: string) => target.split('/')[0]!;
const ALL = ['core', 'events', 'runtime', 'adapters', 'functions', 'collectors', 'platform', 'cli'];
const existing = ALL.filter((d) => {
  try {
    return statSync(join(ROOT, d)).isDirectory();
  } catch {
    return false;
  }
});
const imports = existing.flatMap((d) => files(d)).flatMap(importsOf);

function violations(from: string, allowed: (i: Import) => boolean): string[] {
  return imports
    .filter((i) => layer(i.file) === from && !allowed(i))
    .map((i) => `${i.file} imports ${i.spec}`);
}

/**
 * Repository modules over the ports (SQL on an executor; knowledge retrieval over the VectorStore and Embedder ports),
 * not the drivers or the migration runner.
 */
const REPOSITORY = /^adapters\/(db\/(?!postgres\.|pglite\.|migrations)[a-z-]+|vectors\/knowledge)\.js$/;

describe('dependency boundaries', () => {
  it('finds the imports it is checking', () => {
    expect(imports.length).toBeGreaterThan(50);
    expect(imports.some((i) => i.file.startsWith('core/') && i.target?.startsWith('core/'))).toBe(true);
  });

  it('core/ imports only core, type-only event contracts, node:crypto, yaml and the Grafana Foundation SDK', () => {
    expect(
      violations('core', (i) =>
        i.target
          ? layer(i.target) === 'core' || (layer(i.target) === 'events' && i.typeOnly)
          : ['node:crypto', 'yaml'].includes(i.spec) ||
            // The Grafana Foundation SDK is a pure builder library (it assembles dashboard JSON, no I/O, no env),
            // so core/generate may build dashboards with it.
            /^@grafana\/grafana-foundation-sdk(\/|$)/.test(i.spec),
      ),
    ).toEqual([]);
  });

  it('events/ depends only on core and the schema library', () => {
    expect(
      violations('events', (i) =>
        i.target
          ? ['core', 'events'].includes(layer(i.target))
          : i.spec.startsWith('@sinclair/typebox') || i.spec === 'node:crypto',
      ),
    ).toEqual([]);
  });

  it('functions/ and collectors/ never import each other, platform/ or cli/', () => {
    const bad = (own: string, other: string) =>
      violations(own, (i) => !i.target || !['platform', 'cli', other].includes(layer(i.target)));
    expect(bad('functions', 'collectors')).toEqual([]);
    expect(bad('collectors', 'functions')).toEqual([]);
  });

  it('functions/ reach infrastructure only through ports and the repository layer', () => {
    expect(
      violations('functions', (i) =>
        i.target
          ? layer(i.target) !== 'adapters' || REPOSITORY.test(i.target)
          : !/kafkajs|@platformatic\/kafka|@aws-sdk|^pg$|pglite|milvus|@xenova|@grpc/.test(i.spec),
      ),
    ).toEqual([]);
  });

  it('runtime/ and adapters/ know nothing of functions, collectors, platform or cli', () => {
    const outer = ['functions', 'collectors', 'platform', 'cli'];
    expect(violations('runtime', (i) => !i.target || !outer.includes(layer(i.target)))).toEqual([]);
    expect(
      violations('adapters', (i) => !i.target || ![...outer, 'runtime'].includes(layer(i.target))),
    ).toEqual([]);
  });

  it('only platform/ and cli/ read the environment', () => {
    const readers = existing
      .filter((d) => !['platform', 'cli'].includes(d))
      .flatMap((d) => files(d))
      .filter((f) => /process\.env|process\.argv/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(readers).toEqual([]);
  });
});
