import { describe, expect, it } from 'vitest';
import { PgliteDatabase } from '../../adapters/db/pglite.js';
import { PgVectorStore, validateCollectionName, vectorLiteral } from '../../adapters/vectors/pgvector.js';
import { vectorsContract } from './vectors.contract.js';

vectorsContract(
  'pgvector on pglite',
  async () => new PgVectorStore(await PgliteDatabase.open(), { ownsDatabase: true }),
);

describe('pgvector helpers', () => {
  it('validates collection names', () => {
    expect(() => validateCollectionName('templates_v1')).not.toThrow();
    expect(() => validateCollectionName('a'.repeat(64))).not.toThrow();
    expect(() => validateCollectionName('a'.repeat(65))).toThrow();
    expect(() => validateCollectionName('x; DROP TABLE y')).toThrow();
    expect(() => validateCollectionName('')).toThrow();
  });

  it('formats and checks vector literals', () => {
    expect(vectorLiteral([1, 0.5, -2], 3, 't')).toBe('[1,0.5,-2]');
    expect(() => vectorLiteral([1, NaN], 2, 't')).toThrow(/non-finite/);
    expect(() => vectorLiteral([1], 2, 't')).toThrow(/dimensions/);
  });
});
