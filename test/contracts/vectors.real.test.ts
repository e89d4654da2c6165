/** Integration tier: the VectorStore contract against Milvus (SLO_SCOUT_MILVUS_ADDRESS). */
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../core/ports.js';
import { MilvusVectorStore } from '../../adapters/vectors/milvus.js';
import { requireService } from '../integration/services.js';
import { vectorsContract } from './vectors.contract.js';

// Throws (the file fails) when SLO_SCOUT_MILVUS_ADDRESS is not set: the integration tier never skips.
const address = requireService('milvus');

describe('MilvusVectorStore specifics', () => {
  it('maps an unreachable server to UnavailableError', async () => {
    const store = new MilvusVectorStore({ address: '127.0.0.1:1', timeoutMs: 3000 });
    try {
      const e = await store.ensureCollection({ name: 'unreachable', dim: 4 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnavailableError);
      expect((e as UnavailableError).service).toBe('milvus');
      // still unavailable (with a fresh connection attempt) on the next call, not a stale SDK error
      await expect(store.count('unreachable')).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      await store.close();
    }
  });
});

/** Drop the collections the contract created (named contract_<hex>) so reruns do not pile them up. */
async function dropContractCollections(addr: string): Promise<void> {
  const client = new MilvusClient({ address: addr, logLevel: 'error' });
  try {
    const list = await client.listCollections();
    for (const c of list.data ?? []) {
      if (/^contract_[0-9a-f]{8}$/.test(c.name)) await client.dropCollection({ collection_name: c.name });
    }
  } finally {
    await client.closeConnection();
  }
}

vectorsContract(
  'milvus',
  async () => new MilvusVectorStore({ address }),
  () => dropContractCollections(address),
);
