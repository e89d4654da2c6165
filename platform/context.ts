/** Builds a StageContext for a set of stages from configuration: used by the Knative main and the Lambda entry. */
import { createLogger, createMetrics } from '../runtime/observability.js';
import type { PortName, Stage, StageContext } from '../runtime/stage.js';
import type { Config } from './config.js';
import { buildPorts, stageContext, type Ports } from './ports.js';

export async function contextFor(
  stages: readonly Stage[],
  cfg: Config,
): Promise<{ ctx: StageContext; ports: Ports; metrics: ReturnType<typeof createMetrics> }> {
  const log = createLogger({ level: cfg.logLevel, name: stages.map((s) => s.name).join(',') });
  const metrics = createMetrics();
  const needs = new Set<PortName>(stages.flatMap((s) => [...s.needs]));
  // Event stages resolve and write claim-checked payloads (CloudEvents dataref) through the object store.
  if (stages.some((s) => s.kind === 'event')) needs.add('objects');
  const ports = await buildPorts(cfg, { needs, log });
  for (const n of ports.notices) log.warn(n);
  const ctx = stageContext(ports, metrics, log);
  return { ctx, ports, metrics };
}
