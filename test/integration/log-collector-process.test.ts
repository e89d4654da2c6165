/**
 * `slo-scout run-collector log` as the chart's DaemonSet runs it: one process serving Fluent Bit's http output and the
 * Forward protocol, publishing to a real Kafka; a Forward chunk is acknowledged only once its record can be read back
 * from Kafka, and the process drains and exits 0 on SIGTERM. Runs the built CLI (bin/slo-scout.js -> dist/).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr, Unpackr } from 'msgpackr';
import { KafkaBus } from '../../adapters/bus/kafka.js';
import { TOPICS } from '../../events/registry.js';
import { requireService } from './services.js';
import { freePort, until } from '../support/process.js';

const brokers = requireService('kafka');

/** One Forward-mode message with a chunk id; resolves with the ack the collector sends back. */
function forwardWithAck(port: number, tag: string, log: string, chunk: string): Promise<string> {
  const packr = new Packr({ useRecords: false });
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () =>
      s.write(packr.pack([tag, [[Math.floor(Date.now() / 1000), { log }]], { chunk, size: 1 }])),
    );
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('no ack within 20 s'));
    }, 20_000);
    s.on('data', (d: Buffer) => {
      const [v] = unpackr.unpackMultiple(d) as { ack: string }[];
      clearTimeout(t);
      s.destroy();
      resolve(v!.ack);
    });
    s.on('error', reject);
  });
}

describe('run-collector log (process)', () => {
  it('serves Fluent Bit http and Forward, acknowledges after Kafka, and drains on SIGTERM', async () => {
    expect(existsSync('dist/cli/main.js'), 'run `npm run build` first').toBe(true);
    const bus = new KafkaBus({ brokers: brokers.split(','), clientId: 'it-logcoll', logLevel: 'error' });
    const t = TOPICS.rawLogs;
    await bus.ensureTopics([{ name: t.name, partitions: t.partitions, retentionMs: t.retentionMs }]);
    const dataDir = mkdtempSync(join(tmpdir(), 'slo-scout-logcoll-'));
    const [httpPort, forwardPort] = [await freePort(), await freePort()];
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      SLO_SCOUT_DATA_DIR: dataDir,
      SLO_SCOUT_KAFKA_BROKERS: brokers,
      SLO_SCOUT_LOG_HTTP_PORT: String(httpPort),
      SLO_SCOUT_FORWARD_PORT: String(forwardPort),
      SLO_SCOUT_LOG_LEVEL: 'info',
    };
    const child = spawn(process.execPath, ['bin/slo-scout.js', 'run-collector', 'log'], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const marker = `it-logcoll-${Date.now().toString(36)}`;
    const seen = new Set<string>();
    // Started before anything is sent: it sees only records published from here on.
    const sub = await bus.subscribe(
      { group: `${marker}-g`, topics: [t.name], fromBeginning: false },
      async (batch) => {
        for (const r of batch) {
          const text = new TextDecoder().decode(r.value);
          for (const m of text.match(new RegExp(`${marker}-\\w+`, 'g')) ?? []) seen.add(m);
        }
      },
    );
    try {
      await until(
        'the collector to be up',
        async () => (stdout.includes('collector log up') ? true : null),
        60_000,
      );
      expect(stdout).toContain(`"forward":${forwardPort}`);

      const ack = await forwardWithAck(forwardPort, 'app.it', `hello ${marker}-fwd`, `${marker}-chunk`);
      expect(ack).toBe(`${marker}-chunk`);
      const r = await fetch(`http://127.0.0.1:${httpPort}/app.http`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ date: Date.now() / 1000, log: `hello ${marker}-http` }]),
      });
      expect(r.status, await r.text()).toBeLessThan(300);
      await until(
        'both records in Kafka',
        async () => (seen.has(`${marker}-fwd`) && seen.has(`${marker}-http`) ? true : null),
        30_000,
      );

      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        new Promise<'hung'>((res) => setTimeout(() => res('hung'), 20_000)),
      ]);
      expect(code, stderr.slice(-2000)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await sub.close();
      await bus.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
