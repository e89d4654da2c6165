/**
 * `npm run bench -- NAME [ARGS]`: runs one benchmark and prints its JSON result on stdout (progress on stderr).
 * Each benchmark lives in bench/NAME.ts and exports `run(args): Promise<Record<string, unknown>>`; ratios are
 * always against a baseline measured in the same run, because the machine is shared and noisy.
 */
const BENCHES = ['ingest', 'fingerprint', 'embed', 'analyze'] as const;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`usage: npm run bench -- <${BENCHES.join('|')}> [args]\n`);
    return name ? 0 : 2;
  }
  if (!(BENCHES as readonly string[]).includes(name)) {
    process.stderr.write(`bench: unknown benchmark "${name}"; known: ${BENCHES.join(', ')}\n`);
    return 2;
  }
  let mod: { run(args: string[]): Promise<Record<string, unknown>> };
  try {
    mod = (await import(`./${name}.js`)) as typeof mod;
  } catch (e) {
    process.stderr.write(
      `bench: benchmark "${name}" is not available in this build: ${(e as Error).message}\n`,
    );
    return 2;
  }
  const result = await mod.run(args);
  process.stdout.write(JSON.stringify({ bench: name, node: process.version, ...result }, null, 2) + '\n');
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
