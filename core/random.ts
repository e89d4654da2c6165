/**
 * Deterministic randomness for synthetic data (the demo workload, benchmarks, test systems): the same seed gives the
 * same sequence everywhere. Pure.
 */

/** mulberry32: small, fast, good enough for synthetic data; uniform in [0, 1). Seed 0 is mapped to a fixed odd seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
