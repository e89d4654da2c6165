/** `slo-scout analyze` on OTLP/JSON lines written from a synthetic system: recommendations and artifacts on disk. */
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/main.js';
import { cli } from '../support/cli.js';
import type { StreamSpan } from '../../core/stream/spans.js';
import { otlpJsonLine, syntheticSystem } from '../synthetic/system.js';

describe('slo-scout analyze', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slo-scout-analyze-'));
  const sys = syntheticSystem({ seed: 5, minutes: 150 });
  const lines: string[] = [];
  const batch = new Map<string, StreamSpan[]>();
  sys.run(
    (svc, s) => {
      let b = batch.get(svc);
      if (!b) batch.set(svc, (b = []));
      b.push(s);
    },
    (svc) => {
      lines.push(otlpJsonLine(svc, batch.get(svc) ?? []));
      batch.delete(svc);
    },
  );
  const half = Math.floor(lines.length / 2);
  writeFileSync(join(dir, 'a.jsonl'), lines.slice(0, half).join('\n') + '\n');
  writeFileSync(join(dir, 'b.jsonl.gz'), gzipSync(lines.slice(half).join('\n') + '\nnot json\n'));
  const metric = JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'web' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'http.server.request.duration',
                unit: 's',
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      attributes: [
                        { key: 'http.route', value: { stringValue: '/x' } },
                        { key: 'http.request.method', value: { stringValue: 'GET' } },
                        { key: 'http.response.status_code', value: { intValue: '200' } },
                      ],
                      timeUnixNano: '1772323200000000000',
                      count: '1',
                      sum: 0.1,
                      bucketCounts: ['0', '1', '0'],
                      explicitBounds: [0.05, 0.25],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  });
  writeFileSync(join(dir, 'metrics.jsonl'), metric + '\n');

  it('requires --traces and --out (usage error, exit 2)', async () => {
    expect((await cli('analyze', '--out', dir)).code).toBe(EXIT.usage);
    expect((await cli('analyze', '--traces', join(dir, 'a.jsonl'))).code).toBe(EXIT.usage);
  });

  it('fails with exit 1 on a missing file', async () => {
    const r = await cli('analyze', '--traces', join(dir, 'nope.jsonl'), '--out', join(dir, 'o0'));
    expect(r.code).toBe(EXIT.failed);
    expect(r.err).toMatch(/no such file/);
  });

  it('streams several files (plain and gzip), writes recommendations.json and artifacts', async () => {
    const out = join(dir, 'out');
    const r = await cli(
      'analyze',
      '--traces',
      join(dir, 'a.jsonl'),
      join(dir, 'b.jsonl.gz'),
      '--metrics',
      join(dir, 'metrics.jsonl'),
      '--out',
      out,
    );
    expect(r.code).toBe(EXIT.ok);
    expect(r.err).toMatch(/skipped .*b\.jsonl\.gz:\d+: not JSON/);
    const summary = JSON.parse(r.out) as { spans: number; journeys: number; skipped_lines: number };
    expect(summary.skipped_lines).toBe(1);
    expect(summary.spans).toBeGreaterThan(1000);
    const rec = JSON.parse(readFileSync(join(out, 'recommendations.json'), 'utf8')) as {
      journeys: { service: string; entrypoint: string; slis: { source?: { kind: string } }[] }[];
    };
    expect(rec.journeys.map((j) => `${j.service} ${j.entrypoint}`).sort()).toEqual(
      sys.truth.journeys.map((j) => `${j.service} ${j.entrypoint}`).sort(),
    );
    // web's journeys use the OTel HTTP histogram found in the metrics file; others fall back to span metrics
    const web = rec.journeys.find((j) => j.service === 'web')!;
    expect(web.slis[0]!.source!.kind).toBe('otel-http');
    expect(existsSync(join(out, 'prometheus', 'web.rules.yaml'))).toBe(true);
  });
});
