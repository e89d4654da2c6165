/**
 * Generates a tiny BERT-shaped model that transformers.js can load from disk, so the TransformersEmbedder can be
 * tested without the real 22 MB model:
 *
 *   <root>/<modelId>/config.json, tokenizer.json (WordPiece), tokenizer_config.json,
 *   <root>/<modelId>/onnx/model.onnx and model_quantized.onnx (same float graph)
 *
 * The ONNX graph has BERT's interface (int64 input_ids / attention_mask / token_type_ids [batch, seq] ->
 * float last_hidden_state [batch, seq, hidden]) and computes
 *   (word_embedding[input_ids] + type_embedding[token_type_ids]) * attention_mask
 * so mean pooling yields a bag-of-tokens vector. The protobuf is encoded by hand (field numbers from onnx.proto).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Special tokens take ids 0-4. */
const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

// ---- minimal protobuf writer -------------------------------------------------------------------------------------

class Pb {
  private readonly out: number[] = [];

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.out.push(Number(v));
  }

  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2);
    this.varint(data.length);
    for (const b of data) this.out.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Pb): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

const FLOAT = 1;
const INT64 = 7;

function tensor(name: string, dims: readonly number[], type: number, raw: Uint8Array): Pb {
  const t = new Pb();
  for (const d of dims) t.int(1, d); // dims
  return t.int(2, type).string(8, name).bytes(9, raw); // data_type, name, raw_data
}

function floatTensor(name: string, dims: readonly number[], values: Float32Array): Pb {
  const buf = new Uint8Array(values.length * 4);
  const view = new DataView(buf.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return tensor(name, dims, FLOAT, buf);
}

function int64Tensor(name: string, values: readonly number[]): Pb {
  const buf = new Uint8Array(values.length * 8);
  const view = new DataView(buf.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return tensor(name, [values.length], INT64, buf);
}

function valueInfo(name: string, elemType: number, dims: readonly (string | number)[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.message(1, typeof d === 'string' ? new Pb().string(2, d) : new Pb().int(1, d));
  const tensorType = new Pb().int(1, elemType).message(2, shape);
  return new Pb().string(1, name).message(2, new Pb().message(1, tensorType));
}

function node(op: string, inputs: readonly string[], outputs: readonly string[], attrs: Pb[] = []): Pb {
  const n = new Pb();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, `${op}_${outputs[0] ?? ''}`).string(4, op);
  for (const a of attrs) n.message(5, a);
  return n;
}

/** Deterministic values in [-1, 1) (mulberry32). */
function pseudoRandom(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  });
}

export function tinyBertOnnx(vocabSize: number, hidden: number, seed = 1234): Uint8Array {
  const graph = new Pb();
  graph.message(1, node('Gather', ['word_embeddings', 'input_ids'], ['words']));
  graph.message(1, node('Gather', ['token_type_embeddings', 'token_type_ids'], ['types']));
  graph.message(1, node('Add', ['words', 'types'], ['embeddings']));
  // Cast(to = FLOAT): attribute name 'to', type INT (2), i = 1
  graph.message(
    1,
    node('Cast', ['attention_mask'], ['mask_f'], [new Pb().string(1, 'to').int(3, FLOAT).int(20, 2)]),
  );
  graph.message(1, node('Unsqueeze', ['mask_f', 'unsqueeze_axes'], ['mask_3d']));
  graph.message(1, node('Mul', ['embeddings', 'mask_3d'], ['last_hidden_state']));
  graph.string(2, 'tiny_bert');
  // Special tokens ([PAD] [UNK] [CLS] [SEP] [MASK], ids 0-4) embed to zero so pooled vectors reflect the words only.
  const words = pseudoRandom(vocabSize * hidden, seed).fill(0, 0, SPECIAL.length * hidden);
  graph.message(5, floatTensor('word_embeddings', [vocabSize, hidden], words));
  graph.message(
    5,
    floatTensor(
      'token_type_embeddings',
      [2, hidden],
      pseudoRandom(2 * hidden, seed + 1).map((x) => x * 0.05),
    ),
  );
  graph.message(5, int64Tensor('unsqueeze_axes', [2]));
  for (const name of ['input_ids', 'attention_mask', 'token_type_ids']) {
    graph.message(11, valueInfo(name, INT64, ['batch_size', 'sequence_length']));
  }
  graph.message(12, valueInfo('last_hidden_state', FLOAT, ['batch_size', 'sequence_length', hidden]));

  return new Pb()
    .int(1, 7) // ir_version
    .string(2, 'slo-scout-tiny-bert')
    .message(7, graph)
    .message(8, new Pb().int(2, 13)) // opset_import: default domain, version 13
    .finish();
}

// ---- tokenizer ---------------------------------------------------------------------------------------------------

const WORDS = (
  'the a an to of for in on at from with while when after by and or not is was be ' +
  'get post put delete patch api users user orders order id auth token login logout profile payment payments ' +
  'failed failure error errors refused connection database db timeout served request requests response ms ' +
  'loading fetching fetch load shipping label printed parcel cart checkout search item items host attempts ' +
  'retry retrying ok success started stopped service'
).split(' ');
const CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PUNCT = '/{}<>*:-_.,=()[]\'"!?#@%&+;|~$^`\\';

export function tinyVocab(): string[] {
  const vocab = [...SPECIAL, ...WORDS];
  for (const c of CHARS) vocab.push(c, `##${c}`);
  for (const p of PUNCT) vocab.push(p);
  return [...new Set(vocab)];
}

function tokenizerJson(vocab: readonly string[]): unknown {
  const ids = Object.fromEntries(vocab.map((t, i) => [t, i]));
  const id = (t: string): number => ids[t] as number;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: ids,
    },
  };
}

export interface TinyBertModel {
  /** Pass as modelDir (transformers.js localModelPath). */
  readonly root: string;
  readonly modelId: string;
  /** The model folder itself (<root>/<modelId>). */
  readonly folder: string;
  readonly hidden: number;
  cleanup(): Promise<void>;
}

export async function writeTinyBert(
  options: { hidden?: number; modelId?: string } = {},
): Promise<TinyBertModel> {
  const hidden = options.hidden ?? 8;
  const modelId = options.modelId ?? 'test/tiny-bert';
  const root = await mkdtemp(join(tmpdir(), 'slo-scout-tiny-bert-'));
  const folder = join(root, ...modelId.split('/'));
  await mkdir(join(folder, 'onnx'), { recursive: true });
  const vocab = tinyVocab();
  const onnx = tinyBertOnnx(vocab.length, hidden);
  const config = {
    model_type: 'bert',
    architectures: ['BertModel'],
    hidden_size: hidden,
    vocab_size: vocab.length,
    type_vocab_size: 2,
    num_attention_heads: 1,
    num_hidden_layers: 1,
    intermediate_size: hidden,
    max_position_embeddings: 128,
    pad_token_id: 0,
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 128,
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
    clean_up_tokenization_spaces: true,
  };
  await Promise.all([
    writeFile(join(folder, 'config.json'), JSON.stringify(config, null, 2)),
    writeFile(join(folder, 'tokenizer.json'), JSON.stringify(tokenizerJson(vocab))),
    writeFile(join(folder, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2)),
    writeFile(join(folder, 'onnx', 'model.onnx'), onnx),
    writeFile(join(folder, 'onnx', 'model_quantized.onnx'), onnx),
  ]);
  return {
    root,
    modelId,
    folder,
    hidden,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
