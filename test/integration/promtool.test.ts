/**
 * promtool (Prometheus from apt, in CI): every generated rule file passes `promtool check rules`, and every
 * generated `promtool test rules` file passes — for the demo-like recommendations fixture, for specs imported from
 * Sloth/OpenSLO, and for Sloth-compatible output. A missing promtool fails the run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateArtifacts, slothRuleGroups, slothYaml } from '../../core/generate/index.js';
import { parseSpecs, specsToRecommendations } from '../../core/specs/index.js';
import type { ArtifactSet, Recommendations } from '../../events/schemas.js';
import { SLOTH_DIR, slothFixturesPresent } from './sloth-cases.js';

const PROMTOOL = process.env.SLO_SCOUT_PROMTOOL ?? 'promtool';

function promtool(args: string[], cwd: string): { code: number; out: string } {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw new Error(`promtool is required (apt install prometheus): ${r.error.message}`);
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function writeSet(set: ArtifactSet): string {
  const dir = mkdtempSync(join(tmpdir(), 'slo-scout-promtool-'));
  for (const f of set.files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.content);
  }
  return dir;
}

function checkSet(set: ArtifactSet) {
  const dir = writeSet(set);
  const rules = set.files.filter((f) => /^prometheus\/.*\.ya?ml$/.test(f.path)).map((f) => f.path);
  const tests = set.files.filter((f) => /^tests\/.*\.test\.yaml$/.test(f.path)).map((f) => f.path);
  expect(rules.length).toBeGreaterThan(0);
  const check = promtool(['check', 'rules', ...rules], dir);
  expect(check.code, check.out).toBe(0);
  for (const t of tests) {
    const r = promtool(['test', 'rules', t], dir);
    expect(r.code, `${t}\n${r.out}`).toBe(0);
  }
  return { rules: rules.length, tests: tests.length };
}

describe('promtool on generated artifacts', () => {
  it('has promtool', () => {
    expect(execFileSync(PROMTOOL, ['--version'], { encoding: 'utf8' })).toMatch(/promtool/);
  });

  it('demo-like recommendations: rules check and every SLO test passes', () => {
    const rec = JSON.parse(
      readFileSync(resolve(import.meta.dirname, '../golden/generate/input.recommendations.json'), 'utf8'),
    ) as Recommendations;
    const set = generateArtifacts(rec, { setId: 'as-promtool', generatedAt: rec.generated_at });
    const n = checkSet(set);
    const slos = rec.journeys.reduce((a, j) => a + j.slis.length, 0);
    // Only the consumer-lag freshness SLI (a gauge threshold, not a rate ratio) has no synthesised test; it is listed.
    const readme = set.files.find((f) => f.path === 'tests/README.md')?.content ?? '';
    expect(readme).toContain('orders-worker-process-order-events-freshness');
    expect(n.tests).toBe(slos - 1);
  });

  it('Sloth getting-started spec through the native generator', () => {
    if (!slothFixturesPresent()) throw new Error(`Sloth fixtures missing at ${SLOTH_DIR}`);
    const specs = parseSpecs(readFileSync(resolve(SLOTH_DIR, 'examples/getting-started.yml'), 'utf8'));
    if (!specs.ok) throw new Error(specs.error);
    const rec = specsToRecommendations(
      specs.value.flatMap((d) => d.slos),
      { requestId: 'spec', generatedAt: '2025-01-01T00:00:00.000Z' },
    );
    const n = checkSet(generateArtifacts(rec, { setId: 'as-spec', generatedAt: rec.generated_at }));
    expect(n.tests).toBe(1);
  });

  it('Sloth-compatible output of every plain example passes promtool check rules', () => {
    if (!slothFixturesPresent()) throw new Error(`Sloth fixtures missing at ${SLOTH_DIR}`);
    const dir = mkdtempSync(join(tmpdir(), 'slo-scout-sloth-'));
    const files: string[] = [];
    for (const f of [
      'getting-started.yml',
      'home-wifi.yml',
      'kubernetes-apiserver.yml',
      'multifile.yml',
      'openslo-kubernetes-apiserver.yml',
    ]) {
      const specs = parseSpecs(readFileSync(resolve(SLOTH_DIR, 'examples', f), 'utf8'));
      if (!specs.ok) throw new Error(specs.error);
      const out = slothRuleGroups(specs.value, { version: 'test' });
      if (!out.ok) throw new Error(out.error);
      out.value.documents.forEach((d, i) => {
        const p = `${f}.${i}.rules.yaml`;
        writeFileSync(join(dir, p), slothYaml({ documents: [d] }, 'test'));
        files.push(p);
      });
    }
    const r = promtool(['check', 'rules', ...files], dir);
    expect(r.code, r.out).toBe(0);
  });
});
