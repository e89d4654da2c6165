/**
 * Sloth conformance: every non-plugin case of ../shared/conformance/sloth (INDEX.md) generated in Sloth-compatible
 * mode and compared with Sloth's golden output as parsed YAML (the version string may differ); Sloth's validation
 * fixtures must pass and fail as they do with `sloth validate`. Missing fixtures fail the run.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  parseAlertWindows,
  slothRuleGroups,
  slothYaml,
  type AlertWindows,
} from '../../core/generate/sloth.js';
import { parseSpecs, validateSpecs, type SpecDocument } from '../../core/specs/index.js';
import {
  EXAMPLE_CASES,
  INTEGRATION_CASES,
  SLOTH_DIR,
  slothFixturesPresent,
  type SlothCase,
} from './sloth-cases.js';

const VERSION = 'slo-scout-conformance';

function requireFixtures() {
  if (!slothFixturesPresent())
    throw new Error(
      `Sloth fixtures not found at ${SLOTH_DIR}: check out the shared conformance data beside the repository ` +
        '(or set SLO_SCOUT_SHARED_DIR)',
    );
}

/** Renders Sloth's Go-template golden file: {{ .version }} and {{"literal"}}. */
const renderTpl = (t: string) =>
  t.replace(/\{\{ *\.version *\}\}/g, VERSION).replace(/\{\{"(.*?)"\}\}/g, '$1');

/** Parsed YAML documents with the sloth_version label normalised (the version string may differ). */
function normalise(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((x) => x !== null && x !== undefined)
    .map(
      (x) =>
        JSON.parse(JSON.stringify(x).replace(/"sloth_version":"[^"]*"/g, '"sloth_version":"*"')) as unknown,
    );
}

function loadWindows(dir: string): AlertWindows[] {
  const out: AlertWindows[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(f)) continue;
    const r = parseAlertWindows(readFileSync(join(dir, f), 'utf8'), f);
    if (!r.ok) throw new Error(r.error);
    out.push(...r.value);
  }
  return out;
}

export function runCase(c: SlothCase): { ok: true; yaml: string } | { ok: false; error: string } {
  const docs: SpecDocument[] = [];
  for (const i of c.inputs) {
    const r = parseSpecs(readFileSync(resolve(SLOTH_DIR, i), 'utf8'));
    if (!r.ok) return { ok: false, error: r.error };
    docs.push(...r.value);
  }
  const r = slothRuleGroups(docs, {
    version: VERSION,
    ...(c.args.extraLabels ? { extraLabels: c.args.extraLabels } : {}),
    disableAlerts: c.args.disableAlerts ?? false,
    disableRecordings: c.args.disableRecordings ?? false,
    ...(c.args.defaultPeriod ? { defaultPeriod: c.args.defaultPeriod } : {}),
    ...(c.args.windowsDir ? { windows: loadWindows(resolve(SLOTH_DIR, c.args.windowsDir)) } : {}),
  });
  return r.ok ? { ok: true, yaml: slothYaml(r.value, VERSION) } : { ok: false, error: r.error };
}

const cases = [...INTEGRATION_CASES, ...EXAMPLE_CASES];

describe('Sloth conformance (../shared/conformance/sloth)', () => {
  it('has the fixture set', () => {
    requireFixtures();
    expect(cases.filter((c) => !c.plugin).length).toBeGreaterThanOrEqual(20);
  });

  for (const c of cases.filter((x) => !x.plugin)) {
    it(`generate ${c.name}${c.expected ? '' : ' (must fail)'}`, () => {
      requireFixtures();
      const got = runCase(c);
      if (!c.expected) {
        expect(got.ok).toBe(false);
        return;
      }
      if (!got.ok) throw new Error(got.error);
      const want = normalise(renderTpl(readFileSync(resolve(SLOTH_DIR, c.expected), 'utf8')));
      expect(normalise(got.yaml)).toEqual(want);
    });
  }

  for (const c of cases.filter((x) => x.plugin)) {
    it(`refuses ${c.name}: its plugins are not part of the fixture set`, () => {
      requireFixtures();
      const got = runCase(c);
      expect(got.ok).toBe(false);
      if (!got.ok) expect(got.error).toMatch(/plugin .* is not supported/);
    });
  }

  const V = 'test/integration/prometheus/testdata';
  const files = (dir: string): string[] =>
    readdirSync(resolve(SLOTH_DIR, dir))
      .sort()
      .flatMap((f) =>
        statSync(resolve(SLOTH_DIR, dir, f)).isDirectory() ? files(`${dir}/${f}`) : [`${dir}/${f}`],
      );
  const validate = (paths: string[], ignoreDuplicates: boolean): string[] => {
    const docs: SpecDocument[] = [];
    for (const p of paths) {
      const r = parseSpecs(readFileSync(resolve(SLOTH_DIR, p), 'utf8'));
      if (!r.ok) return [`${p}: ${r.error}`];
      docs.push(...r.value);
    }
    return validateSpecs(docs, { ignoreDuplicates });
  };

  it('validate: every good fixture is valid (with --ignore-slo-duplicates)', () => {
    requireFixtures();
    const good = files(`${V}/validate/good`);
    expect(good.length).toBe(7);
    expect(validate(good, true)).toEqual([]);
  });

  it('validate: every bad fixture fails on its own', () => {
    requireFixtures();
    const bad = files(`${V}/validate/bad`);
    expect(bad.length).toBe(7);
    for (const f of bad) expect(validate([f], true), f).not.toEqual([]);
  });

  it('validate: duplicate SLO ids fail unless duplicates are ignored', () => {
    requireFixtures();
    const dup = files(`${V}/validate_with_duplicates`);
    expect(dup.length).toBe(7);
    const problems = validate(dup, false);
    expect(problems.some((p) => /defined \d+ times/.test(p))).toBe(true);
    expect(validate(dup, true)).toEqual([]);
    for (const sub of ['k8s', 'openslo', 'prom']) {
      expect(validate(files(`${V}/validate_with_duplicates/${sub}`), false).length, sub).toBeGreaterThan(0);
      expect(validate(files(`${V}/validate_with_duplicates/${sub}`), true), sub).toEqual([]);
    }
  });
});
