/**
 * Local host: runs event stages in-process over ctx.bus, one consumer group per stage. Records that need a retry
 * are retried here with exponential back-off; after `maxAttempts` they are dead-lettered. A batch is only
 * acknowledged once every record in it is handled (done, ignored or durably dead-lettered); if even the dead letter
 * cannot be published the batch handler rejects, so the bus delivers the batch again.
 *
 * HttpStages are not served here: the platform serves them through the Knative server (hosts/knative.ts).
 */
import type { ConsumedRecord, Subscription } from '../../core/ports.js';
import { deadLetter, deliveryFromRecord, processEvent, triggerTopics } from '../process.js';
import type { EventStage, Stage, StageContext } from '../stage.js';

export interface LocalHostOptions {
  /** Attempts per record before it is dead-lettered (default 5). */
  readonly maxAttempts?: number;
  /** First back-off; doubles per attempt, capped at 30 s (default 200 ms). */
  readonly backoffMs?: number;
  /** Records of one batch processed in parallel (default 1: strict offset order). */
  readonly concurrency?: number;
  /** Upper bound on records per batch handed over by the bus. */
  readonly maxBatch?: number;
  /** Where a group without committed offsets starts (default: earliest). */
  readonly fromBeginning?: boolean;
}

export interface LocalHost {
  close(): Promise<void>;
}

const MAX_BACKOFF_MS = 30_000;

class ClosingError extends Error {
  constructor() {
    super('local host is closing; the batch will be delivered again');
  }
}

export async function startLocalHost(
  stages: readonly Stage[],
  ctx: StageContext,
  opts: LocalHostOptions = {},
): Promise<LocalHost> {
  const maxAttempts = opts.maxAttempts ?? 5;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new Error(`maxAttempts must be >= 1, got ${maxAttempts}`);
  const backoffMs = opts.backoffMs ?? 200;
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  let closing = false;
  const sleepers = new Set<() => void>();

  /** Resolves after `ms`, or early when the host closes (then the caller gives the batch back to the bus). */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(t);
        sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  async function handleRecord(stage: EventStage, rec: ConsumedRecord): Promise<void> {
    let reason = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (closing) throw new ClosingError();
      const d = deliveryFromRecord(rec, 'bus', attempt);
      const f = await processEvent(stage, ctx, d);
      if (f.result === 'acked') return;
      reason = f.reason;
      ctx.log.debug('record needs a retry', {
        stage: stage.name,
        attempt,
        reason,
        topic: rec.topic,
        offset: rec.offset,
      });
      if (attempt < maxAttempts) await sleep(Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** (attempt - 1)));
    }
    ctx.metrics.counter(
      'slo_scout_local_retries_exhausted_total',
      'Records dead-lettered after in-process retries',
      {
        stage: stage.name,
      },
    );
    // Rejects when the bus cannot take the dead letter: the batch is then not committed and comes again.
    await deadLetter(
      stage,
      ctx,
      deliveryFromRecord(rec, 'bus', maxAttempts),
      `retries exhausted after ${maxAttempts} attempts: ${reason}`,
    );
  }

  async function handleBatch(stage: EventStage, batch: readonly ConsumedRecord[]): Promise<void> {
    if (concurrency === 1) {
      for (const rec of batch) await handleRecord(stage, rec);
      return;
    }
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        const rec = batch[next++]!;
        await handleRecord(stage, rec);
      }
    };
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(concurrency, batch.length) }, worker),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  const subs: Subscription[] = [];
  try {
    for (const stage of stages) {
      if (stage.kind !== 'event') continue;
      subs.push(
        await ctx.bus.subscribe(
          {
            group: `slo-scout-${stage.name}`,
            topics: triggerTopics(stage),
            ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
            ...(opts.fromBeginning !== undefined ? { fromBeginning: opts.fromBeginning } : {}),
          },
          async (batch) => {
            try {
              await handleBatch(stage, batch);
            } catch (e) {
              if (!(e instanceof ClosingError)) {
                ctx.log.warn('batch not acknowledged; the bus will deliver it again', {
                  stage: stage.name,
                  error: String(e),
                });
              }
              throw e;
            }
          },
        ),
      );
    }
  } catch (e) {
    await Promise.allSettled(subs.map((s) => s.close()));
    throw e;
  }

  return {
    async close() {
      closing = true;
      for (const wake of [...sleepers]) wake();
      await Promise.all(subs.map((s) => s.close()));
    },
  };
}
