/** What a CLI command module gets: output sinks and the shared error/exit-code helpers. */
import { CommanderError } from 'commander';

export const EXIT = { ok: 0, failed: 1, usage: 2, config: 3, unavailable: 69, internal: 70 } as const;

export interface CliIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

/** A usage error: printed as one line, exit code 2. */
export function usageError(message: string): CommanderError {
  return new CommanderError(EXIT.usage, 'slo-scout.usage', message);
}

/** The job ran and failed in an expected way (bad input file, denied policy…): one line, exit code 1. */
export class JobFailed extends Error {
  override readonly name = 'JobFailed';
}

export function intOption(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw usageError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
    return n;
  };
}

/** Resolves with the signal's name on the first SIGINT or SIGTERM (long-running commands drain, then return). */
export function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (s: string) => resolve(s);
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}
