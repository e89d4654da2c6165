/**
 * `slo-scout run-collector prometheus` as the chart runs it: a real process pulling the real Prometheus of
 * scripts/services/prometheus.sh every SLO_SCOUT_PROMETHEUS_INTERVAL, serving /metrics and /readyz on
 * SLO_SCOUT_API_PORT, checkpointing into the object store, and exiting cleanly on SIGTERM.
 * Runs the built CLI (bin/slo-scout.js -> dist/), as the container does.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointKey, prometheusCollectorName } from '../../collectors/prometheus.js';
import { requireService } from './services.js';
import { freePort, until } from '../support/process.js';

const url = requireService('prometheus');

describe('run-collector prometheus (process)', () => {
  it('pulls on its interval, exposes its metrics, checkpoints and drains on SIGTERM', async () => {
    expect(existsSync('dist/cli/main.js'), 'run `npm run build` first').toBe(true);
    const dataDir = mkdtempSync(join(tmpdir(), 'slo-scout-promcoll-'));
    const apiPort = await freePort();
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      SLO_SCOUT_DATA_DIR: dataDir,
      SLO_SCOUT_PROMETHEUS_URL: url,
      SLO_SCOUT_PROMETHEUS_INTERVAL: '2s',
      SLO_SCOUT_API_PORT: String(apiPort),
      SLO_SCOUT_LOG_LEVEL: 'info',
    };
    const child = spawn(process.execPath, ['bin/slo-scout.js', 'run-collector', 'prometheus'], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await until(
        'the collector to be up',
        async () => (stdout.includes('collector prometheus up') ? true : null),
        60_000,
      );
      expect(stdout).toContain('every 2000 ms');
      const ready = await until(
        '/readyz',
        async () => {
          const r = await fetch(`http://127.0.0.1:${apiPort}/readyz`);
          return r.status === 200 ? r : null;
        },
        20_000,
      );
      expect(ready.status).toBe(200);
      // A first pull publishes samples and writes a checkpoint; a later one (the interval) moves it forward.
      const cpFile = join(dataDir, 'objects', 'slo-scout', checkpointKey(prometheusCollectorName(url)));
      const readCp = () => (existsSync(cpFile) ? readFileSync(cpFile, 'utf8') : null);
      const first = await until('a checkpoint', async () => readCp(), 60_000);
      const metrics = await until(
        'published samples in /metrics',
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
          return /slo_scout_collector_records_published_total\{[^}]*collector="prometheus"[^}]*\} [1-9]/.test(
            text,
          )
            ? text
            : null;
        },
        60_000,
      );
      expect(metrics).toMatch(/slo_scout_collector_kafka_publish_seconds/);
      await until('the checkpoint to advance', async () => (readCp() !== first ? true : null), 90_000);
      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000)),
      ]);
      expect(code, stderr.slice(-2000)).toBe(0);
      expect(stderr).toMatch(/draining the prometheus collector/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
