/** Command modules, one per area; each adds its subcommands to the program. */
import type { Command } from 'commander';
import type { CliIo } from './types.js';
import * as analyze from './analyze.js';
import * as collect from './collect.js';
import * as deploy from './deploy.js';
import * as generate from './generate.js';
import * as knowledge from './knowledge.js';
import * as logs from './logs.js';

const MODULES: readonly { register(program: Command, io: CliIo): void }[] = [
  collect,
  logs,
  knowledge,
  analyze,
  generate,
  deploy,
];

export function registerAll(program: Command, io: CliIo): void {
  for (const m of MODULES) m.register(program, io);
}
