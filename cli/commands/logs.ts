/**
 * CLI commands of the logs area:
 * - `slo-scout logs parse [FILE|-]`: one log message per line in, CSV `LineId,EventId,EventTemplate` out (LineId from
 *   1). Ids are the miner's final ids: lines parsed before a template was refined resolve through the alias table.
 * - `slo-scout redact [FILE|-] [--profile default|strict]`: each line back with its PII replaced by typed placeholders;
 *   counts on stderr. `--profile strict` also redacts context-free national phone numbers and bare SSN forms, at the
 *   cost of numeric ids (see core/fingerprint/redact.ts).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { createRedactor, TemplateMiner } from '../../core/fingerprint/index.js';
import { REDACTION_PROFILES, type RedactionProfile } from '../../core/fingerprint/redact.js';
import { JobFailed, usageError, type CliIo } from './types.js';

function profileOption(v: string): RedactionProfile {
  if (!(REDACTION_PROFILES as readonly string[]).includes(v))
    throw usageError(`--profile must be one of ${REDACTION_PROFILES.join(', ')}, got "${v}"`);
  return v as RedactionProfile;
}

const PROFILE_HELP = `
Profiles:
  default  a bare digit run is PII only with a strong format (separators, +country code, trunk 0, a card
           issuer prefix with a valid Luhn digit) or a context word before it (phone, tel, ssn, social
           security, card ...). In logs, 9-11 digit runs are mostly ids, counters, sizes and epoch seconds:
           they are kept, so templates and labels keep their shape.
  strict   also redacts, without context: 10-digit national phone numbers (leading 2-9, or 0 + 9 digits),
           11-digit 1 + NANP / Chinese mobile numbers, international groupings without + (44 20 7946 0958),
           and the weak SSN forms 078-051121, 07805-1121 and bare 9-digit runs. The cost: numeric ids,
           counters and sizes of that shape become <PHONE>/<SSN> (on Loghub-2k: ~160 of 20,000 lines, against
           0 for default; npm run bench -- fingerprint --pii-only shows both). Use it when recall matters more
           than keeping numeric ids (free-text user input, support tickets).
`;

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
    .option(
      '--profile <profile>',
      'default | strict: strict also redacts context-free phone numbers and SSN forms, at the cost of numeric ids',
      profileOption,
      'default' as RedactionProfile,
    )
    .addHelpText('after', PROFILE_HELP)
    .action(async (file: string, opts: { profile: RedactionProfile }) => {
      const redactor = createRedactor({ profile: opts.profile });
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
