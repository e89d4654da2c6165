/**
 * The single-file Lambda bundle loads in a bare Node process (no node_modules it could fall back on, as on Lambda)
 * and exports a handler for every registry function. Catches dependencies that read files next to their own module
 * at run time (the Kafka producer's WebAssembly codecs do, unless bundled through their `bundled` entry).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deploymentRegistry } from '../../deploy/registry.js';
import { bundleLambda } from '../../infra/bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'slo-scout-lambda-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Lambda bundle', () => {
  it('is one file that loads on its own and exports every handler', () => {
    const out = bundleLambda(join(dir, 'bundle'));
    expect(readdirSync(out)).toEqual(['index.mjs']);
    for (let d = out; d !== dirname(d); d = dirname(d))
      expect(existsSync(join(d, 'node_modules')), `${d}/node_modules would hide missing files`).toBe(false);
    const stdout = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(out, 'index.mjs'))});` +
          'process.stdout.write(JSON.stringify(Object.keys(m.handlers)))',
      ],
      { cwd: out, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } },
    );
    const expected = deploymentRegistry().functions.map((f) => f.lambdaHandler.replace(/^handlers\./, ''));
    expect((JSON.parse(stdout) as string[]).sort()).toEqual(expected.sort());
  }, 120_000);
});
