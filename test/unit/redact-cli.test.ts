import { describe, expect, it } from 'vitest';
import { cli, tmpFile } from '../support/cli.js';

describe('slo-scout redact --profile', () => {
  const input = 'ref 078051121 or 5321234567 at 1117838570\nmail bob@example.com\n';

  it('keeps context-free digit runs by default', async () => {
    const r = await cli('redact', tmpFile('in.log', input));
    expect(r.code).toBe(0);
    expect(r.out).toBe('ref 078051121 or 5321234567 at 1117838570\nmail <EMAIL>\n');
  });

  it('redacts phone numbers and SSN forms without context with --profile strict, keeping epoch seconds', async () => {
    const r = await cli('redact', '--profile', 'strict', tmpFile('in.log', input));
    expect(r.code).toBe(0);
    expect(r.out).toBe('ref <SSN> or <PHONE> at 1117838570\nmail <EMAIL>\n');
    expect(JSON.parse(r.err.replace(/^redacted /, ''))).toEqual({ ssn: 1, phone: 1, email: 1 });
  });

  it('rejects an unknown profile with a usage error', async () => {
    const r = await cli('redact', '--profile', 'lax', tmpFile('in.log', input));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--profile must be one of default, strict/);
  });
});
