/**
 * Bundles the Lambda entry (platform/lambda.ts, one middy handler per function: handlers.<name>) with esbuild, in
 * process, without Docker. All functions share the one asset; each Lambda points at its own export.
 */
import { buildSync } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory above this module (source or bundled copy) with platform/lambda.ts. */
function findRoot(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let d = start;
    for (;;) {
      if (existsSync(join(d, 'platform', 'lambda.ts'))) return d;
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  throw new Error('cannot find the SLO-Scout repository root (platform/lambda.ts) above ' + process.cwd());
}

export const REPO_ROOT = findRoot();

/** Optional native/ML packages not shipped to Lambda: embed falls back to the lexical embedder there. */
export const LAMBDA_EXTERNALS = ['@xenova/transformers', 'onnxruntime-node', 'sharp'];

export function bundleLambda(outDir: string = join(REPO_ROOT, 'infra', 'cdk.out', 'lambda-bundle')): string {
  mkdirSync(outDir, { recursive: true });
  buildSync({
    entryPoints: [join(REPO_ROOT, 'platform', 'lambda.ts')],
    outfile: join(outDir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    external: LAMBDA_EXTERNALS,
    // The Kafka producer's WebAssembly codecs read native.wasm next to their module at run time; the package's
    // `bundled` entry carries the same module inline, so the single-file bundle needs no extra asset.
    alias: { '@platformatic/wasm-utils': '@platformatic/wasm-utils/bundled' },
    // CommonJS dependencies call require(); give the ESM bundle one.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: 'warning',
  });
  return outDir;
}
