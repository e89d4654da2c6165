/**
 * Deterministic hashing embedder used when no neural model is installed.
 *
 * Features: lower-cased word unigrams (weight 1) and character trigrams of each word padded with boundary marks
 * (weight 0.5), mapped into 384 dimensions by signed feature hashing (FNV-1a picks the slot, a second hash the sign),
 * with sub-linear term frequency, then L2-normalised. Texts sharing words or word fragments get a high cosine
 * similarity; unrelated texts land near 0.
 */
import type { Embedder } from '../../core/ports.js';

export const LEXICAL_DIM = 384;
export const LEXICAL_MODEL = 'lexical-hash-384';

const WORD_WEIGHT = 1;
const TRIGRAM_WEIGHT = 0.5;
const WORD_RE = /[\p{L}\p{N}]+/gu;

/** 32-bit FNV-1a over UTF-16 code units, with a seed folded into the offset basis. */
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche so nearby inputs spread over the slots
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

/** The features of one text with their raw counts. */
export function lexicalFeatures(text: string): Map<string, number> {
  const feats = new Map<string, number>();
  const add = (f: string, w: number): void => {
    feats.set(f, (feats.get(f) ?? 0) + w);
  };
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(WORD_RE)) {
    const word = m[0];
    add(`w:${word}`, WORD_WEIGHT);
    const padded = `^${word}$`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`c:${padded.slice(i, i + 3)}`, TRIGRAM_WEIGHT);
  }
  return feats;
}

export function lexicalEmbed(text: string, dim = LEXICAL_DIM): Float32Array {
  const v = new Float32Array(dim);
  const feats = lexicalFeatures(text);
  // Text with no word characters still gets a well-defined unit vector.
  if (feats.size === 0) feats.set(`raw:${text.trim() === '' ? '<empty>' : text.trim()}`, 1);
  for (const [f, w] of feats) {
    const slot = fnv1a(f, 0) % dim;
    const sign = fnv1a(f, 0x9e3779b9) & 1 ? 1 : -1;
    // sub-linear tf: repeated words matter, but not linearly
    v[slot] = (v[slot] ?? 0) + sign * (w >= 1 ? 1 + Math.log(w) : w);
  }
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += (v[i] ?? 0) ** 2;
  norm = Math.sqrt(norm);
  if (norm === 0) {
    // every feature cancelled out (vanishingly rare): fall back to one fixed slot
    v[fnv1a(text, 1) % dim] = 1;
    return v;
  }
  for (let i = 0; i < dim; i++) v[i] = (v[i] ?? 0) / norm;
  return v;
}

export class LexicalEmbedder implements Embedder {
  readonly kind = 'lexical' as const;
  readonly model = LEXICAL_MODEL;
  readonly dim = LEXICAL_DIM;

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => {
      if (typeof t !== 'string') throw new Error('LexicalEmbedder.embed: every text must be a string');
      return lexicalEmbed(t, this.dim);
    });
  }
}
