/**
 * `slo-scout analyze --traces FILE... [--metrics FILE...] [--logs FILE...] --out DIR`: offline analysis of OTLP/JSON
 * lines (one export request per line, as the OpenTelemetry Collector's file exporter writes them; `.gz` accepted).
 * Spans stream through the accumulator (rollups + call edges) and are never held; metrics only feed the inventory,
 * logs only the template counts. Writes DIR/recommendations.json and the generated artifacts.
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Command } from 'commander';
import { analyse, type InventoryMetric, type LogTemplateInfo } from '../../core/analysis/index.js';
import { createRedactor } from '../../core/fingerprint/redact.js';
import { TemplateMiner } from '../../core/fingerprint/templates.js';
import { generateArtifacts } from '../../core/generate/index.js';
import { inventoryFromPoints, mergeInventory, type MetricInventoryEntry } from '../../core/inventory.js';
import { decodeLogsJson, decodeMetricsJson } from '../../core/otlp/json.js';
import { SpanAccumulator, serviceOf } from '../../core/stream/spans.js';
import { walkTracesJson } from '../../core/stream/otlp-json.js';
import { intOption, JobFailed, usageError, type CliIo } from './types.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

async function forEachLine(file: string, onLine: (line: string, n: number) => void): Promise<void> {
  const raw = createReadStream(file);
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) {
      n++;
      if (line.trim()) onLine(line, n);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new JobFailed(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

export interface AnalyzeFilesOptions {
  readonly traces: readonly string[];
  readonly metrics?: readonly string[];
  readonly logs?: readonly string[];
  readonly out: string;
  readonly requestId?: string;
  readonly parentWindow?: number;
}

/** Runs the offline analysis; returns a summary. Expected failures throw JobFailed. */
export async function analyzeFiles(o: AnalyzeFilesOptions, io: CliIo) {
  const acc = new SpanAccumulator(o.parentWindow ? { parentWindow: o.parentWindow } : {});
  const problems: string[] = [];
  const note = (file: string, n: number, why: string) => {
    if (problems.length < 5) problems.push(`${file}:${n}: ${why}`);
    else if (problems.length === 5) problems.push('… more skipped lines');
  };
  let badLines = 0;
  for (const f of o.traces) {
    await forEachLine(f, (line, n) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (e) {
        badLines++;
        return note(f, n, `not JSON (${(e as Error).message})`);
      }
      const r = walkTracesJson(parsed, (svc, s) => acc.add(svc, s));
      if (!r.ok) {
        badLines++;
        note(f, n, r.error);
      }
    });
  }
  let inventory: MetricInventoryEntry[] = [];
  for (const f of o.metrics ?? []) {
    await forEachLine(f, (line, n) => {
      const r = decodeMetricsJson(line);
      if (!r.ok) {
        badLines++;
        return note(f, n, r.error);
      }
      inventory = mergeInventory(inventory, inventoryFromPoints(r.value));
    });
  }
  const templates = new Map<string, LogTemplateInfo & { count: number; errors: number }>();
  if (o.logs?.length) {
    const redactor = createRedactor();
    const miner = new TemplateMiner();
    for (const f of o.logs) {
      await forEachLine(f, (line, n) => {
        const r = decodeLogsJson(line);
        if (!r.ok) {
          badLines++;
          return note(f, n, r.error);
        }
        for (const l of r.value) {
          const service = serviceOf(l.resource);
          const m = miner.add(redactor.redact(l.body).text);
          const k = `${service}\u0000${m.templateId}`;
          const t = templates.get(k) ?? {
            service,
            templateId: m.templateId,
            template: m.template,
            count: 0,
            errors: 0,
          };
          t.count++;
          if (l.severityNumber >= 17 || /^(error|fatal|crit)/i.test(l.severityText)) t.errors++;
          templates.set(k, { ...t, template: m.template });
        }
      });
    }
  }
  for (const p of problems) io.err(`analyze: skipped ${p}`);
  const input = acc.result();
  if (!input) {
    throw new JobFailed(
      `no spans with timestamps in ${o.traces.join(', ')}` +
        (badLines ? ` (${badLines} unreadable line(s))` : ''),
    );
  }
  const inv: InventoryMetric[] = inventory.map((e) => ({
    name: e.name,
    type: e.type,
    labels: [...e.labels],
    ...(e.buckets ? { buckets: [...e.buckets] } : {}),
    services: [...e.services],
  }));
  const requestId = o.requestId ?? `cli-${input.window.start.toISOString()}`;
  const rec = analyse({ ...input, inventory: inv, templates: [...templates.values()] }, { requestId });
  const set = generateArtifacts(rec, { setId: `${requestId}-artifacts`, generatedAt: rec.generated_at });
  for (const file of set.files) {
    const path = join(o.out, file.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.content);
  }
  return {
    spans: input.stats.spans,
    operations: input.stats.operations,
    orphan_spans: input.stats.orphans,
    skipped_lines: badLines,
    journeys: rec.journeys.length,
    slis: rec.journeys.reduce((n, j) => n + j.slis.length, 0),
    files: set.files.length,
    out: o.out,
  };
}

export function register(program: Command, io: CliIo): void {
  program
    .command('analyze')
    .description(
      'find journeys and recommend SLIs/SLOs from OTLP/JSON files (Collector file exporter lines), offline',
    )
    .option('--traces <file...>', 'OTLP/JSON trace export requests, one per line (.gz accepted)', collect)
    .option('--metrics <file...>', 'OTLP/JSON metric export requests: the metric inventory', collect)
    .option('--logs <file...>', 'OTLP/JSON log export requests: log templates per service', collect)
    .option('--out <dir>', 'output directory for recommendations.json and the artifacts')
    .option('--request-id <id>', 'request id stamped on the recommendations')
    .option(
      '--parent-window <n>',
      'span ids remembered for parent resolution',
      intOption('--parent-window', 1000, 50_000_000),
    )
    .action(
      async (opts: {
        traces?: string[];
        metrics?: string[];
        logs?: string[];
        out?: string;
        requestId?: string;
        parentWindow?: number;
      }) => {
        if (!opts.traces?.length) throw usageError('analyze: --traces FILE... is required');
        if (!opts.out) throw usageError('analyze: --out DIR is required');
        const summary = await analyzeFiles(
          {
            traces: opts.traces,
            out: opts.out,
            ...(opts.metrics ? { metrics: opts.metrics } : {}),
            ...(opts.logs ? { logs: opts.logs } : {}),
            ...(opts.requestId ? { requestId: opts.requestId } : {}),
            ...(opts.parentWindow ? { parentWindow: opts.parentWindow } : {}),
          },
          io,
        );
        io.out(JSON.stringify(summary));
      },
    );
}
