/**
 * Embedded tier: the whole pipeline in one process, through the collectors' real protocols, with PGlite and a
 * filesystem object store. This is `slo-scout demo` on a shorter history.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../platform/config.js';
import { runDemo, type DemoSummary } from '../../platform/demo.js';
import { createLogger } from '../../runtime/observability.js';
import { validate } from '../../events/validate.js';
import { Recommendations } from '../../events/schemas.js';

let dir: string;
let summary: DemoSummary;
let out: string;

async function walk(d: string): Promise<string[]> {
  const acc: string[] = [];
  for (const e of await readdir(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) acc.push(...(await walk(p)));
    else acc.push(p);
  }
  return acc;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slo-scout-e2e-'));
  out = join(dir, 'out');
  const base = loadConfig({ SLO_SCOUT_LOG_LEVEL: 'error' });
  const cfg: Config = {
    ...base,
    dataDir: join(dir, 'data'),
    bus: { kind: 'memory' },
    database: { kind: 'pglite', dataDir: null },
    objects: { kind: 'fs', root: join(dir, 'data', 'objects'), bucket: 'slo-scout' },
    vectors: { kind: 'pgvector' },
    model: { dir: join(dir, 'no-model-here'), id: 'Xenova/all-MiniLM-L6-v2', allowRemote: false },
    ports: { otlpGrpc: 0, otlpHttp: 0, logHttp: 0, forward: 0, api: 0 },
    host: '127.0.0.1',
  };
  summary = await runDemo({
    cfg,
    outDir: out,
    hours: 2,
    seed: 7,
    log: createLogger({ level: 'error', name: 'e2e' }),
    progress: () => undefined,
    importMinutes: 10,
  });
}, 180_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('embedded end-to-end run', () => {
  it('runs every event stage', () => {
    for (const [stage, n] of Object.entries(summary.stageRuns))
      expect(n, `stage ${stage}`).toBeGreaterThan(0);
    expect(summary.sent.spans).toBeGreaterThan(1000);
    expect(summary.sent.imported).toBeGreaterThan(0);
  });

  it('dead-letters nothing from a well-formed workload', () => {
    expect(summary.deadLettered).toBe(0);
  });

  it('says plainly that no embedding model was found and uses the lexical fallback', () => {
    expect(summary.notices.join('\n')).toMatch(/lexical/i);
  });

  it('writes rules, dashboards, runbooks, recommendations and the policy decision', async () => {
    const files = (await walk(out)).map((f) => f.slice(out.length + 1));
    expect(files.some((f) => /^prometheus\/.+\.ya?ml$/.test(f))).toBe(true);
    expect(files.some((f) => /^grafana\/.+\.json$/.test(f))).toBe(true);
    expect(files.some((f) => /^runbooks\/.+\.md$/.test(f))).toBe(true);
    expect(files).toContain('recommendations.json');
    expect(files).toContain('policy-decision.json');
    expect(summary.decision.decision).not.toBe('deny');
  });

  it('recommends SLOs for the user-facing journeys and excludes health checks', async () => {
    const rec = JSON.parse(await readFile(join(out, 'recommendations.json'), 'utf8'));
    expect(validate(Recommendations, rec).ok).toBe(true);
    const names: string[] = rec.journeys.map((j: { name: string }) => j.name);
    expect(names.some((n) => /checkout/i.test(n))).toBe(true);
    expect(names.some((n) => /healthz|\/metrics/.test(n))).toBe(false);
    for (const j of rec.journeys) expect(j.slis.length).toBeGreaterThan(0);
  });

  it('writes rule files that parse and carry multi-window burn-rate alerts', async () => {
    const rules = (await walk(join(out, 'prometheus'))).filter((f) => /\.ya?ml$/.test(f));
    expect(rules.length).toBeGreaterThan(0);
    let alerts = 0;
    for (const f of rules) {
      const doc = parse(await readFile(f, 'utf8')) as {
        groups: { rules: { alert?: string; expr: string }[] }[];
      };
      for (const g of doc.groups) for (const r of g.rules) if (r.alert) alerts++;
    }
    expect(alerts).toBeGreaterThan(0);
  });

  it('never lets PII from the workload reach the artifacts', async () => {
    for (const f of await walk(out)) {
      const text = await readFile(f, 'utf8');
      expect(text, f).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/);
      expect(text, f).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./);
    }
  });
});
