/**
 * Builds the ports a process needs from its Config: real adapters when configured, embedded twins otherwise.
 * This is the only place that chooses implementations.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Bus, Database, Embedder, Logger, Metrics, ObjectStore, VectorStore } from '../core/ports.js';
import { MemoryBus } from '../adapters/bus/memory.js';
import { KafkaBus } from '../adapters/bus/kafka.js';
import { FsObjectStore } from '../adapters/objects/fs.js';
import { S3ObjectStore } from '../adapters/objects/s3.js';
import { PgDatabase } from '../adapters/db/postgres.js';
import { PgliteDatabase } from '../adapters/db/pglite.js';
import { MilvusVectorStore } from '../adapters/vectors/milvus.js';
import { PgVectorStore } from '../adapters/vectors/pgvector.js';
import { createEmbedder } from '../adapters/embedder/index.js';
import type { ObjectInfo } from '../core/ports.js';
import type { PortName, StageContext } from '../runtime/stage.js';
import type { Config } from './config.js';

export interface Ports {
  bus: Bus;
  db?: Database;
  objects?: ObjectStore;
  vectors?: VectorStore;
  embedder?: Embedder;
  /** Human-readable notices (e.g. "no embedding model; lexical fallback"). */
  notices: string[];
  close(): Promise<void>;
}

/** The StageContext every host hands its stages, over a set of built ports. */
export function stageContext(ports: Ports, metrics: Metrics, log: Logger): StageContext {
  return {
    bus: ports.bus,
    ...(ports.db ? { db: ports.db } : {}),
    ...(ports.objects ? { objects: ports.objects } : {}),
    ...(ports.vectors ? { vectors: ports.vectors } : {}),
    ...(ports.embedder ? { embedder: ports.embedder } : {}),
    metrics,
    log,
    now: () => new Date(),
  };
}

async function openPglite(dataDir: string | null): Promise<Database> {
  if (dataDir === null) return PgliteDatabase.open({});
  await mkdir(dirname(resolve(dataDir)), { recursive: true });
  return PgliteDatabase.open({ dataDir });
}

export interface BuildOptions {
  readonly needs: ReadonlySet<PortName>;
  readonly log: Logger;
  /** Called after a new object is created in the filesystem store (the platform turns it into an S3 notification). */
  readonly onObjectCreated?: (info: ObjectInfo) => Promise<void>;
}

export async function buildPorts(cfg: Config, opts: BuildOptions): Promise<Ports> {
  const closers: (() => Promise<void>)[] = [];
  const notices: string[] = [];
  const bus: Bus =
    cfg.bus.kind === 'kafka'
      ? new KafkaBus({
          brokers: cfg.bus.brokers,
          clientId: cfg.bus.clientId,
          compression: cfg.bus.compression,
        })
      : new MemoryBus({ retainRecords: 0 }); // drop what every consumer group has committed: bounded memory for `up`
  closers.push(() => bus.close());
  const ports: Ports = {
    bus,
    notices,
    close: async () => {
      for (const c of closers.reverse())
        await c().catch((e: unknown) => opts.log.warn('close failed', { error: String(e) }));
    },
  };
  try {
    const needDb = opts.needs.has('db') || (opts.needs.has('vectors') && cfg.vectors.kind === 'pgvector');
    if (needDb) {
      const db: Database =
        cfg.database.kind === 'postgres'
          ? new PgDatabase({ connectionString: cfg.database.url })
          : await openPglite(cfg.database.dataDir);
      closers.push(() => db.close());
      ports.db = db;
    }
    if (opts.needs.has('objects')) {
      const o = cfg.objects;
      const store: ObjectStore =
        o.kind === 's3'
          ? new S3ObjectStore({
              region: o.region,
              bucket: o.bucket,
              ...(o.endpoint ? { endpoint: o.endpoint } : {}),
              ...(o.accessKeyId ? { accessKeyId: o.accessKeyId } : {}),
              ...(o.secretAccessKey ? { secretAccessKey: o.secretAccessKey } : {}),
            })
          : new FsObjectStore({
              root: o.root,
              bucket: o.bucket,
              ...(opts.onObjectCreated ? { onCreated: opts.onObjectCreated } : {}),
            });
      closers.push(() => store.close());
      ports.objects = store;
    }
    if (opts.needs.has('vectors')) {
      const v: VectorStore =
        cfg.vectors.kind === 'milvus'
          ? new MilvusVectorStore({
              address: cfg.vectors.address,
              ...(cfg.vectors.token ? { token: cfg.vectors.token } : {}),
            })
          : new PgVectorStore(ports.db!);
      closers.push(() => v.close());
      ports.vectors = v;
    }
    if (opts.needs.has('embedder')) {
      const { embedder, notice } = await createEmbedder({
        modelDir: cfg.model.dir,
        modelId: cfg.model.id,
        allowRemote: cfg.model.allowRemote,
      });
      if (notice) notices.push(notice);
      ports.embedder = embedder;
    }
  } catch (e) {
    await ports.close();
    throw e;
  }
  return ports;
}
