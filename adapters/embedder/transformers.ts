/**
 * Sentence embeddings with a local transformers.js model (default Xenova/all-MiniLM-L6-v2, 384 dims):
 * feature-extraction pipeline, mean pooling, L2 normalisation. Models are read from `modelDir` laid out the way
 * transformers.js expects: `<modelDir>/<modelId>/{config.json, tokenizer.json, tokenizer_config.json, onnx/*.onnx}`.
 * Remote downloads are off unless `allowRemote` is set.
 */
import type * as Transformers from '@xenova/transformers';
import type { Embedder } from '../../core/ports.js';

export const DEFAULT_MODEL_ID = 'Xenova/all-MiniLM-L6-v2';

export interface TransformersEmbedderOptions {
  /** Directory holding `<modelId>/...`. */
  readonly modelDir: string;
  readonly modelId?: string;
  /** Let transformers.js download missing files from the hub. Default false. */
  readonly allowRemote?: boolean;
  /** Load onnx/model_quantized.onnx (true, default) or onnx/model.onnx (false). */
  readonly quantized?: boolean;
  /**
   * Texts per forward pass. Default 32 for float models but 1 for quantized ones: dynamically quantized models pick
   * activation scales per batch tensor, so a text's vector would otherwise depend on its batch neighbours (and the
   * embedding cache assumes one text -> one vector). Batching only buys ~20% throughput on MiniLM.
   */
  readonly batchSize?: number;
}

interface TensorLike {
  readonly dims: readonly number[];
  readonly data: ArrayLike<number>;
}
type Extractor = ((
  texts: string[],
  options: { pooling: 'mean'; normalize: boolean },
) => Promise<TensorLike>) & {
  dispose?: () => Promise<void>;
};

/** The Transformers.js runtime itself is missing (it is an optional dependency); callers fall back. */
export class TransformersUnavailableError extends Error {
  override readonly name = 'TransformersUnavailableError';
}

export class TransformersEmbedder implements Embedder {
  readonly kind = 'transformers' as const;

  private constructor(
    readonly model: string,
    readonly dim: number,
    private readonly extractor: Extractor,
    private readonly batchSize: number,
  ) {}

  /** Load the model and probe its output dimension. Rejects when the files are missing or unreadable. */
  static async load(options: TransformersEmbedderOptions): Promise<TransformersEmbedder> {
    const modelId = options.modelId ?? DEFAULT_MODEL_ID;
    const quantized = options.quantized ?? true;
    const batchSize = options.batchSize ?? (quantized ? 1 : 32);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error('TransformersEmbedder: batchSize must be >= 1');
    let lib: typeof Transformers;
    try {
      lib = await import('@xenova/transformers');
    } catch (e) {
      throw new TransformersUnavailableError(
        `Transformers.js (@xenova/transformers, an optional dependency) could not be loaded: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    const { pipeline, env } = lib;
    env.localModelPath = options.modelDir.endsWith('/') ? options.modelDir : `${options.modelDir}/`;
    env.allowRemoteModels = options.allowRemote ?? false;
    env.allowLocalModels = true;
    let extractor: Extractor;
    try {
      extractor = (await pipeline('feature-extraction', modelId, {
        quantized,
      })) as unknown as Extractor;
    } catch (e) {
      throw new Error(
        `could not load embedding model ${modelId} from ${options.modelDir}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    const probe = await extractor(['dimension probe'], { pooling: 'mean', normalize: true });
    const dim = probe.dims[probe.dims.length - 1];
    if (probe.dims.length !== 2 || dim === undefined || !(dim > 0)) {
      throw new Error(
        `embedding model ${modelId} produced output of shape [${probe.dims.join(', ')}], want [n, dim]`,
      );
    }
    return new TransformersEmbedder(modelId, dim, extractor, batchSize);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      const batch = texts.slice(i, i + this.batchSize).map((t) => {
        if (typeof t !== 'string') throw new Error('TransformersEmbedder.embed: every text must be a string');
        return t;
      });
      const t = await this.extractor(batch, { pooling: 'mean', normalize: true });
      const [n, dim] = t.dims;
      if (n !== batch.length || dim !== this.dim) {
        throw new Error(`embedding model returned shape [${t.dims.join(', ')}] for ${batch.length} texts`);
      }
      for (let r = 0; r < n; r++) {
        const v = Float32Array.from({ length: dim }, (_, k) => t.data[r * dim + k] ?? 0);
        out.push(v);
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.extractor.dispose?.();
  }
}
