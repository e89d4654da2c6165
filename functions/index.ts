/**
 * The function registry: every stage SLO-Scout runs, declared once. The local host, the Knative manifests, the Helm
 * chart and the CDK app all enumerate this list.
 */
import type { Stage } from '../runtime/stage.js';
import { analyze } from './analyze.js';
import { api } from './api.js';
import { embed } from './embed.js';
import { fingerprint } from './fingerprint.js';
import { generate } from './generate.js';
import { importer } from './import.js';
import { policy } from './policy.js';
import { rollup } from './rollup.js';

export const FUNCTIONS: readonly Stage[] = [
  fingerprint,
  rollup,
  embed,
  analyze,
  generate,
  policy,
  importer,
  api,
];

export function functionByName(name: string): Stage | undefined {
  return FUNCTIONS.find((f) => f.name === name);
}

export { analyze, api, embed, fingerprint, generate, importer, policy, rollup };
