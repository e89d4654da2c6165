import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedder, locateModel } from '../../adapters/embedder/index.js';
import {
  LEXICAL_DIM,
  LexicalEmbedder,
  lexicalEmbed,
  lexicalFeatures,
} from '../../adapters/embedder/lexical.js';
import { TransformersEmbedder } from '../../adapters/embedder/transformers.js';
import { writeTinyBert, type TinyBertModel } from '../support/tiny-bert.js';
import { embedderContract } from './embedder.contract.js';

embedderContract('lexical', async () => new LexicalEmbedder(), { dim: LEXICAL_DIM });

let tiny: TinyBertModel;
beforeAll(async () => {
  tiny = await writeTinyBert();
});
afterAll(async () => {
  await tiny?.cleanup();
});

// The real TransformersEmbedder code path (tokenizer, ONNX session, pooling, normalisation) on a generated model.
embedderContract(
  'transformers on a tiny generated BERT',
  () => TransformersEmbedder.load({ modelDir: tiny.root, modelId: tiny.modelId, batchSize: 4 }),
  { dim: 8 },
);

describe('lexical embedder', () => {
  it('uses word unigrams and boundary-marked character trigrams', () => {
    const f = lexicalFeatures('GET /Users');
    expect([...f.keys()].sort()).toEqual(
      ['w:get', 'c:^ge', 'c:get', 'c:et$', 'w:users', 'c:^us', 'c:use', 'c:ser', 'c:ers', 'c:rs$'].sort(),
    );
  });

  it('maps empty and symbol-only text to fixed unit vectors', () => {
    const e = lexicalEmbed('');
    expect(Math.hypot(...e)).toBeCloseTo(1, 6);
    expect(Array.from(lexicalEmbed('   '))).toEqual(Array.from(e));
    expect(Array.from(lexicalEmbed('<*>'))).not.toEqual(Array.from(e));
  });

  it('gives identical vectors for identical token content regardless of case and punctuation', () => {
    expect(Array.from(lexicalEmbed('Payment FAILED'))).toEqual(Array.from(lexicalEmbed('payment, failed!')));
  });

  it('declares itself as the lexical fallback', () => {
    const e = new LexicalEmbedder();
    expect([e.kind, e.model, e.dim]).toEqual(['lexical', 'lexical-hash-384', 384]);
  });
});

describe('createEmbedder', () => {
  it('falls back to the lexical embedder with a notice when no model is installed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slo-scout-nomodel-'));
    try {
      const choice = await createEmbedder({ modelDir: dir });
      expect(choice.embedder.kind).toBe('lexical');
      expect(choice.notice).toBe(
        `No embedding model found at ${dir} (set SLO_SCOUT_MODEL_DIR); using the lexical fallback embedder.`,
      );
      const missing = await createEmbedder({ modelDir: join(dir, 'does-not-exist') });
      expect(missing.embedder.kind).toBe('lexical');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('loads the model when its files are present (by root + id, or by the model folder itself)', async () => {
    const byRoot = await createEmbedder({ modelDir: tiny.root, modelId: tiny.modelId });
    expect(byRoot.notice).toBeUndefined();
    expect(byRoot.embedder).toMatchObject({ kind: 'transformers', model: tiny.modelId, dim: 8 });
    const byFolder = await createEmbedder({ modelDir: tiny.folder });
    expect(byFolder.embedder.kind).toBe('transformers');
    const [a] = await byRoot.embedder.embed(['login failed']);
    const [b] = await byFolder.embedder.embed(['login failed']);
    expect(Array.from(a!)).toEqual(Array.from(b!));
  });

  it('rejects an incomplete or corrupt model instead of silently falling back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slo-scout-badmodel-'));
    try {
      const folder = join(dir, 'Xenova', 'all-MiniLM-L6-v2');
      await mkdir(join(folder, 'onnx'), { recursive: true });
      await writeFile(join(folder, 'config.json'), '{"model_type":"bert"}');
      await expect(locateModel(dir)).rejects.toThrow(/incomplete: missing tokenizer.json/);
      await expect(createEmbedder({ modelDir: dir })).rejects.toThrow(/incomplete/);

      // complete file set, but the ONNX file is garbage
      await writeFile(join(folder, 'tokenizer.json'), '{}');
      await writeFile(join(folder, 'tokenizer_config.json'), '{}');
      await writeFile(join(folder, 'onnx', 'model_quantized.onnx'), 'not a model');
      await expect(createEmbedder({ modelDir: dir })).rejects.toThrow(/could not load embedding model/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
