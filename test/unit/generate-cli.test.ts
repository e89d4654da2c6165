/** The generate-area CLI: generate (native, Sloth-compatible, exports), validate, and the Policy Guard check. */
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/main.js';
import { cli, tmpFile } from '../support/cli.js';

const SPEC = `version: "prometheus/v1"
service: "shop"
slos:
  - name: "checkout"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="shop",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="shop"}[{{.window}}]))
    alerting:
      name: CheckoutErrors
`;
const REC = resolve(import.meta.dirname, '../golden/generate/input.recommendations.json');

describe('slo-scout generate / validate / policy check', () => {
  it('writes Sloth-compatible rules to stdout as one YAML stream, with Sloth flags', async () => {
    const spec = tmpFile('a.yaml', SPEC);
    const r = await cli(
      'generate',
      '--spec',
      spec,
      '--sloth-compatible',
      '--out',
      '-',
      '-l',
      'env=prod',
      '--disable-alerts',
    );
    expect(r.code).toBe(EXIT.ok);
    const doc = parse(r.out.split('\n---\n')[1]!) as {
      groups: { name: string; rules: { labels: Record<string, string> }[] }[];
    };
    expect(doc.groups.map((g) => g.name)).toEqual([
      'sloth-slo-sli-recordings-shop-checkout',
      'sloth-slo-meta-recordings-shop-checkout',
    ]);
    expect(doc.groups[0]!.rules[0]!.labels).toMatchObject({
      env: 'prod',
      sloth_id: 'shop-checkout',
      sloth_window: '5m',
    });
  });

  it('exports OpenSLO and Sloth specs, and validates specs', async () => {
    const spec = tmpFile('a.yaml', SPEC);
    const o = await cli('generate', '--spec', spec, '--format', 'openslo', '--out', '-');
    expect(o.code).toBe(EXIT.ok);
    expect(o.out).toMatch(/apiVersion: openslo\/v1\nkind: SLO/);
    expect((await cli('validate', spec)).out).toMatch(/valid: 1 SLO\(s\) in 1 file/);
    const bad = tmpFile('b.yaml', SPEC.replace('99.9', '101'));
    const v = await cli('validate', bad);
    expect(v.code).toBe(EXIT.failed);
    expect(v.err).toMatch(/objective 101 must be in \(0, 100\]/);
  });

  it('generates the native artifact set; the guard allows it, then denies a tampered copy and says why', async () => {
    const out = mkdtempSync(join(tmpdir(), 'slo-scout-gen-'));
    const g = await cli('generate', '--recommendations', REC, '--out', out);
    expect(g.code).toBe(EXIT.ok);
    expect(readdirSync(join(out, 'tests')).length).toBeGreaterThan(5);
    const ok = await cli('policy', 'check', out);
    expect(ok.code).toBe(EXIT.ok);
    expect(ok.out).toMatch(/^(ALLOW|WARN) /);

    // Tamper: drop the runbook link, add a PII label and duplicate the checkout rules under another file name.
    const f = join(out, 'prometheus/checkout.rules.yaml');
    const text = readFileSync(f, 'utf8');
    const doc = parse(text) as {
      groups: {
        rules: { alert?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[];
      }[];
    };
    const alert = doc.groups.flatMap((g) => g.rules).find((r) => r.alert)!;
    delete alert.annotations!.runbook_url;
    alert.labels!.user_id = '{{ $labels.user_id }}';
    writeFileSync(f, stringify(doc));
    writeFileSync(join(out, 'prometheus/checkout-copy.rules.yaml'), text);
    const denied = await cli('policy', 'check', out);
    expect(denied.code).toBe(EXIT.failed);
    expect(denied.out).toMatch(/^DENY /);
    expect(denied.out).toMatch(/alert-runbook-url .*has no runbook_url/);
    expect(denied.out).toMatch(/forbidden-labels .*user_id/);
    expect(denied.out).toMatch(
      /duplicate-slo-id .*checkout-post-api-checkout-availability is defined 2 times/,
    );
    expect(denied.err).toMatch(/denied/);
  });
});
