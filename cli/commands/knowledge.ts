/**
 * CLI commands of the knowledge area:
 * - `slo-scout kb list [--json]`: the curated SLI pattern catalogue (id, kind, metrics, typical objective).
 * - `slo-scout kb search TEXT [--top N] [--json]`: patterns ranked for a free-text journey/template description, with
 *   the embedder from SLO_SCOUT_MODEL_DIR (or the lexical fallback, announced on stderr). No metric inventory is
 *   involved, so the scores reflect similarity and journey kind only.
 */
import type { Command } from 'commander';
import { createEmbedder } from '../../adapters/embedder/index.js';
import { retrievePatterns } from '../../adapters/vectors/knowledge.js';
import { SLI_CATALOGUE } from '../../core/knowledge/index.js';
import { loadConfig } from '../../platform/config.js';
import { intOption, usageError, type CliIo } from './types.js';

export function register(program: Command, io: CliIo): void {
  const kb = program.command('kb').description('the SLI knowledge base (curated, versioned SLI patterns)');
  kb.command('list')
    .description(`list the SLI patterns of catalogue ${SLI_CATALOGUE.version}`)
    .option('--json', 'print the full catalogue as JSON', false)
    .action((opts: { json: boolean }) => {
      if (opts.json) {
        io.out(JSON.stringify(SLI_CATALOGUE, null, 2) + '\n');
        return;
      }
      io.out(`catalogue ${SLI_CATALOGUE.version}: ${SLI_CATALOGUE.patterns.length} patterns\n`);
      for (const p of SLI_CATALOGUE.patterns) {
        const metrics = p.metrics.map((m) => m.name ?? m.pattern).join(' + ');
        io.out(`${p.id}  v${p.version}  ${p.sliKind}  ${metrics}  typical ${p.objective.typical}\n`);
      }
    });
  kb.command('search')
    .description('rank SLI patterns for a description of a journey or its log templates')
    .argument('<text...>', 'free text, e.g. "kafka consumer falling behind"')
    .option('--top <n>', 'how many patterns to show', intOption('--top', 1, 100), 5)
    .option('--kind <kind>', 'journey kind: request, async or job')
    .option('--json', 'print matches as JSON', false)
    .action(async (words: string[], opts: { top: number; kind?: string; json: boolean }) => {
      const text = words.join(' ').trim();
      if (!text) throw usageError('kb search needs some text');
      if (opts.kind !== undefined && !['request', 'async', 'job'].includes(opts.kind))
        throw usageError(`--kind must be request, async or job, got "${opts.kind}"`);
      const cfg = loadConfig(process.env);
      const choice = await createEmbedder({
        modelDir: cfg.model.dir,
        modelId: cfg.model.id,
        allowRemote: cfg.model.allowRemote,
      });
      if (choice.notice) io.err(`${choice.notice}\n`);
      const matches = await retrievePatterns(
        { embedder: choice.embedder },
        {
          journey: { name: text, service: '', ...(opts.kind ? { kind: opts.kind } : {}) },
          templates: [],
          inventory: [],
          topK: opts.top,
        },
      );
      if (opts.json) {
        io.out(
          JSON.stringify(
            {
              embedder: choice.embedder.model,
              matches: matches.map((m) => ({
                id: m.pattern.id,
                score: m.score,
                similarity: m.similarity,
                reason: m.reason,
              })),
            },
            null,
            2,
          ) + '\n',
        );
        return;
      }
      for (const m of matches) io.out(`${m.score.toFixed(3)}  ${m.pattern.id}  ${m.pattern.title}\n`);
    });
}
