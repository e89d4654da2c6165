/** CLI commands of the collect area: `slo-scout collect prometheus` (a one-shot remote-read pull, printed). */
import type { Command } from 'commander';
import { remoteRead, gatherPrometheusInventory } from '../../collectors/prometheus.js';
import {
  DEFAULT_SELECTORS,
  parseSelector,
  toSampleBatches,
  type Selector,
} from '../../core/promremote/index.js';
import { EXIT, JobFailed, usageError, type CliIo } from './types.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw usageError(`not a duration: "${text}" (e.g. 30s, 15m, 6h, 2d)`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

export function register(program: Command, io: CliIo): void {
  const collect = program.command('collect').description('one-shot pulls from telemetry sources');
  collect
    .command('prometheus')
    .description(
      'read series through Prometheus remote read and print the SampleBatches the collector would publish ' +
        '(nothing is published)',
    )
    .requiredOption('--url <url>', 'Prometheus base URL, e.g. http://127.0.0.1:9090')
    .option('--since <duration>', 'how far back to read', '15m')
    .option(
      '--selector <selector...>',
      'series selectors (PromQL), e.g. \'http_requests_total{job="api"}\'; default: the built-in service metrics',
    )
    .option('--mode <mode>', 'remote read response type: chunks (STREAMED_XOR_CHUNKS) or samples', 'chunks')
    .option('--inventory', 'also print the metric inventory (types, labels, buckets)')
    .option('--json', 'print JSON')
    .action(
      async (o: {
        url: string;
        since: string;
        selector?: string[];
        mode: string;
        inventory?: boolean;
        json?: boolean;
      }) => {
        if (o.mode !== 'chunks' && o.mode !== 'samples') throw usageError('--mode must be chunks or samples');
        const since = parseDuration(o.since);
        let selectors: readonly Selector[] = DEFAULT_SELECTORS;
        if (o.selector?.length) {
          selectors = o.selector.map((s) => {
            const p = parseSelector(s);
            if (!p.ok) throw usageError(p.error);
            return p.value;
          });
        }
        const endMs = Date.now();
        const startMs = endMs - since;
        let read;
        try {
          read = await remoteRead(
            selectors.map((s) => ({ startMs, endMs, matchers: s.matchers })),
            { url: o.url, mode: o.mode },
          );
        } catch (e) {
          io.err(`slo-scout: ${(e as Error).message}\n`);
          process.exitCode = EXIT.unavailable;
          return;
        }
        if (!read.ok) throw new JobFailed(read.error);
        const batches = toSampleBatches(read.value.results.flat(), {
          prometheus: o.url,
          window: { startMs, endMs },
          maxBatchBytes: 256 * 1024,
        });
        const summary = new Map<string, { series: number; samples: number; batches: number }>();
        for (const b of batches) {
          const s = summary.get(b.key) ?? { series: 0, samples: 0, batches: 0 };
          s.series += b.batch.series.length;
          s.samples += b.samples;
          s.batches++;
          summary.set(b.key, s);
        }
        let inventory: unknown = undefined;
        if (o.inventory) {
          const inv = await gatherPrometheusInventory({ url: o.url, selectors, startMs, endMs });
          if (!inv.ok) throw new JobFailed(inv.error);
          inventory = inv.value;
        }
        if (o.json) {
          io.out(
            JSON.stringify(
              {
                mode: read.value.mode,
                window: { startMs, endMs },
                metrics: Object.fromEntries(summary),
                inventory,
              },
              null,
              2,
            ) + '\n',
          );
          return;
        }
        io.out(
          `remote read (${read.value.mode}) ${new Date(startMs).toISOString()} .. ${new Date(endMs).toISOString()}\n`,
        );
        for (const [name, s] of [...summary].sort())
          io.out(`${name}\t${s.series} series\t${s.samples} samples\t${s.batches} batches\n`);
        if (summary.size === 0) io.out('no series matched\n');
        if (Array.isArray(inventory))
          for (const e of inventory as { name: string; type: string; labels: string[]; buckets?: number[] }[])
            io.out(
              `inventory\t${e.name}\t${e.type}\t${e.labels.join(',')}${e.buckets ? `\tbuckets=${e.buckets.join(',')}` : ''}\n`,
            );
      },
    );
}
