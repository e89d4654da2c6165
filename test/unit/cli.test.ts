/** The CLI: help on every subcommand, clear errors, meaningful exit codes. */
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/main.js';
import { cli } from '../support/cli.js';

describe('slo-scout CLI', () => {
  it.each([
    ['demo'],
    ['up'],
    ['migrate'],
    ['serve-function'],
    ['functions', 'list'],
    ['events', 'list'],
    ['events', 'schema'],
    ['config'],
  ])('%s --help exits 0 and describes the command', async (...cmd) => {
    const r = await cli(...cmd, '--help');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toMatch(/^Usage: slo-scout /);
  });

  it('top-level help lists the environment variables', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain('SLO_SCOUT_KAFKA_BROKERS');
    expect(r.out).toContain('demo');
  });

  it('lists the function registry as JSON', async () => {
    const r = await cli('functions', 'list', '--json');
    expect(r.code).toBe(EXIT.ok);
    const rows = JSON.parse(r.out) as { name: string; trigger: string[] }[];
    expect(rows.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'fingerprint',
        'rollup',
        'embed',
        'analyze',
        'generate',
        'policy',
        'import',
        'api',
      ]),
    );
    expect(rows.find((f) => f.name === 'import')!.trigger).toEqual(['object-created imports/*']);
  });

  it('prints a topic schema', async () => {
    const r = await cli('events', 'schema', 'slo-scout.fingerprints.v1');
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.out).$id).toBe('slo-scout/fingerprints/v1');
  });

  it('gives usage errors exit code 2 with one clear line', async () => {
    expect(await cli('nope')).toMatchObject({ code: EXIT.usage });
    const bad = await cli('demo', '--hours', 'abc');
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain('--hours must be an integer from 1 to 48, got "abc"');
    const fn = await cli('serve-function', 'nope');
    expect(fn.code).toBe(EXIT.usage);
    expect(fn.err).toContain('unknown function "nope"');
  });

  it('gives configuration errors exit code 3', async () => {
    const before = process.env['SLO_SCOUT_DATABASE_URL'];
    process.env['SLO_SCOUT_DATABASE_URL'] = 'mysql://nope';
    try {
      const r = await cli('migrate');
      expect(r.code).toBe(EXIT.config);
      expect(r.err).toContain('SLO_SCOUT_DATABASE_URL must start with postgres://');
    } finally {
      if (before === undefined) delete process.env['SLO_SCOUT_DATABASE_URL'];
      else process.env['SLO_SCOUT_DATABASE_URL'] = before;
    }
  });

  it('maps an unreachable database to exit code 69', async () => {
    const before = process.env['SLO_SCOUT_DATABASE_URL'];
    process.env['SLO_SCOUT_DATABASE_URL'] = 'postgres://nobody:x@127.0.0.1:1/none';
    try {
      const r = await cli('migrate');
      expect(r.code).toBe(EXIT.unavailable);
      expect(r.err).toMatch(/postgres is unavailable/);
    } finally {
      if (before === undefined) delete process.env['SLO_SCOUT_DATABASE_URL'];
      else process.env['SLO_SCOUT_DATABASE_URL'] = before;
    }
  });
});
