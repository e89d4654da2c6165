import { describe, expect, it } from 'vitest';
import { cli, tmpFile } from '../support/cli.js';
import { parseCsv } from '../../bench/fingerprint.js';

describe('slo-scout logs parse', () => {
  it('writes LineId,EventId,EventTemplate with one row per line, ids resolved to their final template', async () => {
    const p = tmpFile(
      'in.log',
      [
        'Ending TrustedInstaller initialization.',
        'Receiving block blk_1 src: /10.0.0.1:50010',
        'Ending TrustedInstaller finalization.',
        'Receiving block blk_2 src: /10.0.0.2:50010',
        'Ending TrustedInstaller "cleanup".',
      ].join('\n') + '\n',
    );
    const r = await cli('logs', 'parse', p);
    expect(r.code).toBe(0);
    const rows = parseCsv(r.out);
    expect(rows[0]).toEqual(['LineId', 'EventId', 'EventTemplate']);
    expect(rows.slice(1).map((x) => x[0])).toEqual(['1', '2', '3', '4', '5']);
    const [, l1, l2, l3, l4, l5] = rows as string[][];
    expect(l2![1]).toBe(l4![1]);
    expect(l2![2]).toBe('Receiving block <*> src: <*>');
    // three values at one word position: one template, and the early ids resolve to it
    expect(new Set([l1![1], l3![1], l5![1]]).size).toBe(1);
    expect(l1![2]).toBe('Ending TrustedInstaller <*>');
    expect(l1![1]).not.toBe(l2![1]);
  });

  it('fails with exit code 1 on a missing file', async () => {
    const r = await cli('logs', 'parse', '/nonexistent/slo-scout.log');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot read/);
  });
});

describe('slo-scout redact', () => {
  it('replaces PII by typed placeholders and leaves look-alikes alone', async () => {
    const p = tmpFile(
      'in.log',
      'mail bob@example.com from 10.1.2.3\nWindows 6.1.7601 blk_-1608999687919862906 took 250ms\n',
    );
    const r = await cli('redact', p);
    expect(r.code).toBe(0);
    expect(r.out).toBe('mail <EMAIL> from <IP>\nWindows 6.1.7601 blk_-1608999687919862906 took 250ms\n');
    expect(r.err).toContain('"email":1');
  });
});
