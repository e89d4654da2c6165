/**
 * AWS Lambda entry points: one middy handler per function in the registry, all built from the same declarations the
 * other hosts run. The CDK app bundles this file with esbuild and points each Lambda at `handlers.<name>`.
 * Configuration comes from the function's environment (see platform/config.ts).
 */
import { FUNCTIONS } from '../functions/index.js';
import { lambdaHandler } from '../runtime/hosts/lambda.js';
import { loadConfig } from './config.js';
import { contextFor } from './context.js';

export const handlers = Object.fromEntries(
  FUNCTIONS.map((f) => [
    f.name,
    lambdaHandler(f, async () => (await contextFor([f], loadConfig(process.env))).ctx),
  ]),
);
