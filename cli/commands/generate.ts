/** CLI commands of the generate area. */
import type { Command } from 'commander';
import type { CliIo } from './types.js';

export function register(_program: Command, _io: CliIo): void {}
