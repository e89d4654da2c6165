/**
 * CLI commands of the logs area:
 * - `slo-scout logs parse [FILE|-]`: one log message per line in, CSV `LineId,EventId,EventTemplate` out (LineId from
 *   1). Ids are the miner's final ids: lines parsed before a template was refined resolve through the alias table.
 * - `slo-scout redact [FILE|-]`: each line back with its PII replaced by typed placeholders; counts on stderr.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { createRedactor, TemplateMiner } from '../../core/fingerprint/index.js';
import { JobFailed, type CliIo } from './types.js';

async function* lines(file: string | undefined): AsyncGenerator<string> {
  const input = file === undefined || file === '-' ? process.stdin : createReadStream(file);
  const failed = new Promise<never>((_, reject) =>
    input.once('error', (e: Error) => reject(new JobFailed(`cannot read ${file ?? '-'}: ${e.message}`))),
  );
  failed.catch(() => undefined);
  const rl = createInterface({ input, crlfDelay: Infinity });
  const it = rl[Symbol.asyncIterator]();
  for (;;) {
    const r = await Promise.race([it.next(), failed]);
    if (r.done) return;
    yield r.value;
  }
}

/** RFC-4180 field quoting. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function register(program: Command, io: CliIo): void {
  const logs = program.command('logs').description('log template mining');
  logs
    .command('parse')
    .description('mine templates: one message per line in, CSV LineId,EventId,EventTemplate out')
    .argument('[file]', 'input file, or - for stdin', '-')
    .option('--redact', 'redact PII before mining (what the pipeline does)', false)
    .action(async (file: string, opts: { redact: boolean }) => {
      const miner = new TemplateMiner();
      const redactor = opts.redact ? createRedactor() : null;
      const ids: string[] = [];
      for await (const line of lines(file))
        ids.push(miner.add(redactor ? redactor.redact(line).text : line).templateId);
      const text = new Map(miner.templates().map((t) => [t.templateId, t.template]));
      let out = 'LineId,EventId,EventTemplate\n';
      ids.forEach((id, i) => {
        const final = miner.resolve(id);
        out += `${i + 1},${final},${csvField(text.get(final) ?? '')}\n`;
        if (out.length > 1 << 16) {
          io.out(out);
          out = '';
        }
      });
      io.out(out);
    });
  program
    .command('redact')
    .description('write each line back with its PII replaced by typed placeholders (<EMAIL>, <IP>, …)')
    .argument('[file]', 'input file, or - for stdin', '-')
    .action(async (file: string) => {
      const redactor = createRedactor();
      const totals: Record<string, number> = {};
      let out = '';
      for await (const line of lines(file)) {
        const r = redactor.redact(line);
        for (const [k, v] of Object.entries(r.counts)) totals[k] = (totals[k] ?? 0) + v;
        out += r.text + '\n';
        if (out.length > 1 << 16) {
          io.out(out);
          out = '';
        }
      }
      io.out(out);
      if (Object.keys(totals).length > 0) io.err(`redacted ${JSON.stringify(totals)}\n`);
    });
}
