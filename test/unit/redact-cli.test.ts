import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../cli/main.js';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'slo-scout-redact-'));
  const p = join(dir, 'in.log');
  writeFileSync(p, text);
  return p;
}

describe('slo-scout redact --profile', () => {
  const input = 'ref 078051121 or 5321234567 at 1117838570\nmail bob@example.com\n';

  it('keeps context-free digit runs by default', async () => {
    const r = await cli(['redact', file(input)]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('ref 078051121 or 5321234567 at 1117838570\nmail <EMAIL>\n');
  });

  it('redacts phone numbers and SSN forms without context with --profile strict, keeping epoch seconds', async () => {
    const r = await cli(['redact', '--profile', 'strict', file(input)]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('ref <SSN> or <PHONE> at 1117838570\nmail <EMAIL>\n');
    expect(JSON.parse(r.err.replace(/^redacted /, ''))).toEqual({ ssn: 1, phone: 1, email: 1 });
  });

  it('rejects an unknown profile with a usage error', async () => {
    const r = await cli(['redact', '--profile', 'lax', file(input)]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--profile must be one of default, strict/);
  });
});
