/** Integration tier: the Embedder contract against the real all-MiniLM-L6-v2 model in SLO_SCOUT_MODEL_DIR. */
import { describe, expect, it } from 'vitest';
import { createEmbedder } from '../../adapters/embedder/index.js';
import { embedderContract } from './embedder.contract.js';

const modelDir = process.env.SLO_SCOUT_MODEL_DIR;
// The file fails (the integration tier never skips) when the model is not laid out.
if (!modelDir)
  throw new Error(
    'SLO_SCOUT_MODEL_DIR is not set: run scripts/fetch-model.sh, then source scripts/services/env.sh',
  );

describe('embedding model', () => {
  it('createEmbedder picks the real model from SLO_SCOUT_MODEL_DIR', async () => {
    const choice = await createEmbedder({ modelDir });
    expect(choice.notice).toBeUndefined();
    expect(choice.embedder.kind).toBe('transformers');
    expect(choice.embedder.model).toBe('Xenova/all-MiniLM-L6-v2');
    expect(choice.embedder.dim).toBe(384);
  });
});

embedderContract(
  'transformers all-MiniLM-L6-v2',
  async () => {
    const { embedder } = await createEmbedder({ modelDir });
    if (embedder.kind !== 'transformers') throw new Error(`expected the real model in ${modelDir}`);
    return embedder;
  },
  { dim: 384 },
);
