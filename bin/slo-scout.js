#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run automatically by `npm ci` via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('slo-scout: dist/ is missing. Run `npm run build` (npm ci does this for you).\n');
  process.exit(70);
}
// A reader that stops early (`slo-scout events list | head`) closes the pipe: end quietly, as other CLIs do.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
