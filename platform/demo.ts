/**
 * `slo-scout demo`: the main job on the embedded default. Starts the platform on loopback, replays a realistic shop
 * workload through the collectors' real protocols, backfills part of it through the object-store import path, runs
 * analysis, and writes the guarded artifacts to the output directory.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { demoWorkload, type DemoBatch } from '../core/demo/workload.js';
import { encodeLogs, encodeMetrics, encodeTraces } from '../core/otlp/encode.js';
import type { Logger } from '../core/ports.js';
import type { PolicyDecision, Recommendations } from '../events/schemas.js';
import { MemoryBus } from '../adapters/bus/memory.js';
import { FUNCTIONS } from '../functions/index.js';
import type { RenderableMetrics } from '../runtime/observability.js';
import type { Config } from './config.js';
import { startPlatform } from './platform.js';
import { fluentBitJsonPost, ForwardSender, otlpHttpExport, OtlpGrpcSender } from './senders.js';

export interface DemoOptions {
  readonly cfg: Config;
  readonly outDir: string;
  readonly hours: number;
  readonly seed: number;
  readonly log: Logger;
  readonly progress: (line: string) => void;
  /** How many of the oldest minutes go through the object-store import path instead of the collectors. */
  readonly importMinutes?: number;
}

export interface DemoSummary {
  readonly seconds: number;
  readonly sent: { spans: number; logs: number; metricPoints: number; imported: number };
  /** Records each event stage handled successfully. */
  readonly stageRuns: Record<string, number>;
  /** Records any stage sent to the dead-letter topic. */
  readonly deadLettered: number;
  readonly recommendations: Recommendations;
  readonly decision: PolicyDecision;
  readonly files: string[];
  readonly notices: string[];
}

function logsToFluentBit(batch: DemoBatch['logs'][number]): Record<string, unknown>[] {
  return batch.logs.map((l) => ({
    date: Number(BigInt(l.timeUnixNano) / 1000n) / 1e6,
    log: l.body,
    level: l.severityText,
    ...Object.fromEntries(Object.entries(l.attributes).map(([k, v]) => [k, v])),
    kubernetes: {
      namespace_name: 'shop',
      pod_name: `${String(batch.resource['service.name'])}-7d9f8b6c5-x2k4p`,
      container_name: String(batch.resource['service.name']),
      labels: { app: String(batch.resource['service.name']) },
    },
  }));
}

async function waitIdle(bus: unknown, timeoutMs: number): Promise<void> {
  if (bus instanceof MemoryBus) await bus.waitForIdle(timeoutMs);
  else await new Promise((r) => setTimeout(r, 5000)); // Kafka: no global idle signal; give consumers time.
}

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const t0 = performance.now();
  const p = o.progress;
  await rm(o.cfg.dataDir, { recursive: true, force: true });
  p(`[1/6] starting the embedded platform (data in ${o.cfg.dataDir})`);
  const platform = await startPlatform(o.cfg, { log: o.log });
  try {
    const { endpoints } = platform;
    const host = o.cfg.host === '0.0.0.0' ? '127.0.0.1' : o.cfg.host;
    p(
      `      collectors: OTLP/gRPC :${endpoints.otlpGrpc}  OTLP/HTTP :${endpoints.otlpHttp}  Fluent Bit http :${endpoints.logHttp}  Forward :${endpoints.forward}  API :${endpoints.api}`,
    );
    for (const n of platform.ports.notices) p(`      note: ${n}`);

    const end = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const start = new Date(end.getTime() - o.hours * 3_600_000);
    const batches = [...demoWorkload({ seed: o.seed, end, hours: o.hours })];
    const importMinutes = Math.min(o.importMinutes ?? 30, Math.floor(batches.length / 4));
    p(
      `[2/6] replaying ${batches.length} minutes of a 7-service shop: traces over OTLP/gRPC, metrics and a third of the logs over OTLP/HTTP, the rest over Fluent Bit's http and forward outputs`,
    );
    const grpcSender = new OtlpGrpcSender(`${host}:${endpoints.otlpGrpc}`);
    const forward = new ForwardSender(host, endpoints.forward);
    const httpBase = `http://${host}:${endpoints.otlpHttp}`;
    const logBase = `http://${host}:${endpoints.logHttp}`;
    const sent = { spans: 0, logs: 0, metricPoints: 0, imported: 0 };
    const importTraces: Uint8Array[] = [];
    let lastPct = -1;
    try {
      for (const [i, b] of batches.entries()) {
        const spans = b.traces.reduce((n, r) => n + r.spans.length, 0);
        if (i < importMinutes) {
          importTraces.push(encodeTraces(b.traces));
          sent.imported += spans;
        } else if (spans) {
          await grpcSender.export('traces', encodeTraces(b.traces));
          sent.spans += spans;
        }
        if (b.metrics.length) {
          await otlpHttpExport(httpBase, 'metrics', encodeMetrics(b.metrics));
          sent.metricPoints += b.metrics.reduce((n, r) => n + r.points.length, 0);
        }
        // Logs reach the collectors three ways: OTLP/HTTP, Fluent Bit's http output and its forward output.
        const viaOtlp = b.logs.filter((_, j) => j % 3 === 0);
        if (viaOtlp.length) await otlpHttpExport(httpBase, 'logs', encodeLogs(viaOtlp));
        for (const [j, rl] of b.logs.entries()) {
          if (j % 3 === 0 || rl.logs.length === 0) continue;
          const tag = `kube.shop.${String(rl.resource['service.name'])}`;
          const records = logsToFluentBit(rl);
          if (j % 3 === 1) await fluentBitJsonPost(logBase, tag, records);
          else
            await forward.send(
              tag,
              records.map(({ date, ...record }) => ({ time: Number(date), record })),
            );
        }
        sent.logs += b.logs.reduce((n, r) => n + r.logs.length, 0);
        const pct = Math.floor(((i + 1) / batches.length) * 10) * 10;
        if (pct !== lastPct) {
          lastPct = pct;
          p(
            `      ${String(pct).padStart(3)}%  ${sent.spans} spans, ${sent.logs} log records, ${sent.metricPoints} metric points sent`,
          );
        }
      }
    } finally {
      grpcSender.close();
      forward.close();
    }

    p(
      `[3/6] backfilling the oldest ${importMinutes} minutes (${sent.imported} spans) through the object store: imports/traces/*.pb.gz`,
    );
    const objects = platform.ports.objects!;
    for (const [i, bytes] of importTraces.entries()) {
      await objects.put(
        `imports/traces/demo-${String(i).padStart(4, '0')}.pb.gz`,
        new Uint8Array(gzipSync(bytes)),
        {
          contentType: 'application/x-protobuf',
          contentEncoding: 'gzip',
        },
      );
    }

    p('[4/6] waiting for fingerprint -> rollup -> embed to drain');
    await waitIdle(platform.ports.bus, 90_000);

    p('[5/6] analysing journeys and recommending SLOs (POST /api/v1/analyses)');
    const res = await fetch(`http://${host}:${endpoints.api}/api/v1/analyses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ window: { start: start.toISOString(), end: end.toISOString() } }),
    });
    if (res.status !== 202)
      throw new Error(`API refused the analysis request: ${res.status} ${await res.text()}`);
    const { request_id: requestId } = (await res.json()) as { request_id: string };
    await waitIdle(platform.ports.bus, 60_000);

    p(`[6/6] writing the artifacts that passed the Policy Guard to ${o.outDir}`);
    const db = platform.ports.db!;
    const recRow = await db.query<{ doc: Recommendations }>(
      'SELECT doc FROM recommendations WHERE request_id = $1',
      [requestId],
    );
    const recommendations = recRow.rows[0]?.doc;
    if (!recommendations)
      throw new Error(`analysis ${requestId} produced no recommendations; see the dead-letter topic`);
    const setRow = await db.query<{ id: string }>('SELECT id FROM artifact_sets WHERE request_id = $1', [
      requestId,
    ]);
    const setId = setRow.rows[0]?.id;
    if (!setId) throw new Error(`no artifact set was generated for analysis ${requestId}`);
    const decRow = await db.query<{
      decision: PolicyDecision['decision'];
      reasons: PolicyDecision['reasons'];
      evaluated_at: Date | string;
      policy_version: string;
    }>(
      'SELECT decision, reasons, evaluated_at, policy_version FROM policy_decisions WHERE artifact_set_id = $1 ORDER BY evaluated_at DESC LIMIT 1',
      [setId],
    );
    const d = decRow.rows[0];
    if (!d) throw new Error(`the Policy Guard recorded no decision for artifact set ${setId}`);
    const decision: PolicyDecision = {
      artifact_set_id: setId,
      decision: d.decision,
      reasons: d.reasons,
      evaluated_at: new Date(d.evaluated_at).toISOString(),
      policy_version: d.policy_version,
    };

    await rm(o.outDir, { recursive: true, force: true });
    await mkdir(o.outDir, { recursive: true });
    const files: string[] = [];
    const prefix = `deployed/${setId}/`;
    for await (const info of objects.list(prefix)) {
      const body = await objects.get(info.key);
      if (!body) continue;
      const rel = info.key.slice(prefix.length);
      const dest = join(o.outDir, rel);
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, body);
      files.push(rel);
    }
    await writeFile(join(o.outDir, 'policy-decision.json'), JSON.stringify(decision, null, 2) + '\n');
    files.push('policy-decision.json');

    const counts = stageCounts(platform.metrics);
    return {
      seconds: (performance.now() - t0) / 1000,
      sent,
      stageRuns: counts.done,
      deadLettered: counts.deadLettered,
      recommendations,
      decision,
      files: files.sort(),
      notices: platform.ports.notices,
    };
  } finally {
    await platform.close();
  }
}

/** Records each event stage handled successfully on the local host, and how many records stages dead-lettered. */
export function stageCounts(metrics: Pick<RenderableMetrics, 'value'>): {
  done: Record<string, number>;
  deadLettered: number;
} {
  const stages = FUNCTIONS.filter((f) => f.kind === 'event').map((f) => f.name);
  const count = (name: string, labels: Record<string, string>) => metrics.value(name, labels) ?? 0;
  return {
    done: Object.fromEntries(
      stages.map((stage) => [
        stage,
        count('slo_scout_stage_records_total', { stage, transport: 'bus', result: 'done' }),
      ]),
    ),
    deadLettered: stages.reduce((n, stage) => n + count('slo_scout_stage_dead_letters_total', { stage }), 0),
  };
}
