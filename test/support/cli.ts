/** Test helpers for the CLI: run `slo-scout ARGV` in-process, capturing stdout and stderr; write input files. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../cli/main.js';

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs the CLI with `argv` (without the program name) and returns its exit code and everything it wrote. */
export async function cli(...argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

/** Writes `text` to a file `name` in a fresh temporary directory and returns its path. */
export function tmpFile(name: string, text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'slo-scout-cli-')), name);
  writeFileSync(p, text);
  return p;
}
