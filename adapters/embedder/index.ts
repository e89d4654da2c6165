/**
 * Pick the embedder: the real transformers.js model when its files are installed, else the lexical fallback.
 * A missing model is not an error (a notice explains the fallback); a model that is present but cannot be loaded is.
 */
import { access } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Embedder } from '../../core/ports.js';
import { LexicalEmbedder } from './lexical.js';
import { DEFAULT_MODEL_ID, TransformersEmbedder, TransformersUnavailableError } from './transformers.js';

export { LexicalEmbedder, LEXICAL_DIM, LEXICAL_MODEL, lexicalEmbed } from './lexical.js';
export { DEFAULT_MODEL_ID, TransformersEmbedder } from './transformers.js';

export interface CreateEmbedderOptions {
  /** Directory with `<modelId>/config.json …`, or the model folder itself. The caller reads SLO_SCOUT_MODEL_DIR (platform/config.ts). */
  readonly modelDir?: string;
  readonly modelId?: string;
  /** Allow transformers.js to download the model when it is not installed. Default false. */
  readonly allowRemote?: boolean;
}

export interface EmbedderChoice {
  readonly embedder: Embedder;
  /** Set when the fallback was chosen; suitable for showing to a person. */
  readonly notice?: string;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

export interface LocatedModel {
  /** Value for transformers.js `env.localModelPath`. */
  readonly root: string;
  readonly modelId: string;
  readonly quantized: boolean;
}

/**
 * Find an installed model. Returns null when there is no model at all; throws when a model folder exists (has
 * config.json) but is incomplete, because that is a broken installation rather than an absent one.
 */
export async function locateModel(
  modelDir: string,
  modelId = DEFAULT_MODEL_ID,
): Promise<LocatedModel | null> {
  const dir = resolve(modelDir);
  let root: string;
  let id: string;
  if (await exists(join(dir, modelId, 'config.json'))) {
    root = dir;
    id = modelId;
  } else if (await exists(join(dir, 'config.json'))) {
    root = dirname(dir);
    id = basename(dir);
  } else {
    return null;
  }
  const folder = join(root, id);
  const missing: string[] = [];
  if (!(await exists(join(folder, 'tokenizer.json')))) missing.push('tokenizer.json');
  if (!(await exists(join(folder, 'tokenizer_config.json')))) missing.push('tokenizer_config.json');
  const quantized = await exists(join(folder, 'onnx', 'model_quantized.onnx'));
  if (!quantized && !(await exists(join(folder, 'onnx', 'model.onnx'))))
    missing.push('onnx/model_quantized.onnx');
  if (missing.length > 0) {
    throw new Error(`embedding model at ${folder} is incomplete: missing ${missing.join(', ')}`);
  }
  return { root, modelId: id, quantized };
}

export async function createEmbedder(options: CreateEmbedderOptions = {}): Promise<EmbedderChoice> {
  const modelDir = options.modelDir;
  const modelId = options.modelId ?? DEFAULT_MODEL_ID;
  const fallback = (why: string): EmbedderChoice => ({
    embedder: new LexicalEmbedder(),
    notice: `${why}; using the lexical fallback embedder.`,
  });
  if (!modelDir) return fallback('No embedding model directory configured (set SLO_SCOUT_MODEL_DIR)');

  const located = await locateModel(modelDir, modelId);
  if (located) {
    try {
      const embedder = await TransformersEmbedder.load({
        modelDir: located.root,
        modelId: located.modelId,
        quantized: located.quantized,
        allowRemote: options.allowRemote ?? false,
      });
      return { embedder };
    } catch (e) {
      if (e instanceof TransformersUnavailableError) return fallback(e.message);
      throw e;
    }
  }
  if (options.allowRemote) {
    try {
      return { embedder: await TransformersEmbedder.load({ modelDir, modelId, allowRemote: true }) };
    } catch (e) {
      return fallback(
        `Embedding model ${modelId} is not installed at ${modelDir} and could not be downloaded (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  }
  return fallback(`No embedding model found at ${modelDir} (set SLO_SCOUT_MODEL_DIR)`);
}
