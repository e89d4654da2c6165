/** The deployment registry and the committed renders (knative/, charts/slo-scout/files/registry.json) cannot drift. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderKnative } from '../../deploy/knative.js';
import { deploymentRegistry, functionFacts } from '../../deploy/registry.js';
import { ALL_TOPICS } from '../../events/registry.js';
import { FUNCTIONS } from '../../functions/index.js';
import { CONFIG_VARS } from '../../platform/config.js';
import { triggerTopics } from '../../runtime/process.js';
import type { EventStage } from '../../runtime/stage.js';
import { parseManifests, ROOT } from './helm.js';

const reg = deploymentRegistry();
const REGEN =
  'regenerate with `slo-scout manifests knative --out knative` and `slo-scout manifests registry --out charts/slo-scout/files/registry.json`';

describe('deploy registry', () => {
  it('has one entry per registered function, with its triggers, routes and scaling', () => {
    expect(reg.functions.map((f) => f.name)).toEqual(FUNCTIONS.map((f) => f.name));
    for (const s of FUNCTIONS) {
      const f = functionFacts(s);
      if (s.kind === 'event') {
        expect(f.topics).toEqual(triggerTopics(s as EventStage));
        expect(f.visibility).toBe('cluster-local');
        expect(f.env).toContain('SLO_SCOUT_S3_BUCKET'); // claim checks go through the object store
      } else {
        expect(f.routes).toEqual(s.routes.map((r) => ({ method: r.method, path: r.path })));
        expect(f.visibility).toBe('public');
      }
      if (s.scaling) expect(f.scaling).toEqual(s.scaling);
      if (s.needs.includes('db')) expect(f.secretEnv).toContain('SLO_SCOUT_DATABASE_URL');
    }
    expect(reg.functions.find((f) => f.name === 'import')!.objectPrefix).toBe('imports/');
    expect(reg.topics.map((t) => t.name)).toEqual(ALL_TOPICS.map((t) => t.name));
  });
  it('only names configuration variables that platform/config.ts reads', () => {
    const known = new Set(CONFIG_VARS.map((v) => v.name));
    for (const f of reg.functions) for (const n of f.env) expect(known.has(n), n).toBe(true);
  });
  it('charts/slo-scout/files/registry.json is the current registry (' + REGEN + ')', () => {
    const committed: unknown = JSON.parse(
      readFileSync(join(ROOT, 'charts/slo-scout/files/registry.json'), 'utf8'),
    );
    expect(committed).toEqual(JSON.parse(JSON.stringify(reg)));
  });
});

describe('knative/', () => {
  const files = renderKnative();
  it('holds exactly the rendered files, byte for byte (' + REGEN + ')', () => {
    const onDisk = readdirSync(join(ROOT, 'knative'))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(onDisk).toEqual([...files.keys()].sort());
    for (const [name, text] of files)
      expect(readFileSync(join(ROOT, 'knative', name), 'utf8'), name).toBe(text);
  });
  it('has a Service per function and a KafkaSource per event function with autoscaling and a dead-letter sink', () => {
    for (const f of reg.functions) {
      const ms = parseManifests(files.get(`${f.name}.yaml`)!);
      const svc = ms.find((m) => m.kind === 'Service')!;
      const ann = (svc['spec'] as { template: { metadata: { annotations: Record<string, string> } } })
        .template.metadata.annotations;
      expect(ann['autoscaling.knative.dev/min-scale']).toBe(String(f.scaling.minScale));
      expect(ann['autoscaling.knative.dev/max-scale']).toBe(String(f.scaling.maxScale));
      expect(svc.metadata.labels!['networking.knative.dev/visibility']).toBe(
        f.kind === 'event' ? 'cluster-local' : undefined,
      );
      const ks = ms.find((m) => m.kind === 'KafkaSource');
      if (f.kind === 'http') {
        expect(ks).toBeUndefined();
        continue;
      }
      const spec = ks!['spec'] as {
        topics: string[];
        delivery: { deadLetterSink: { ref: { name: string }; uri: string } };
      };
      expect(spec.topics).toEqual(f.topics);
      expect(spec.delivery.deadLetterSink).toEqual({
        ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'slo-scout-api' },
        uri: reg.deadLetterRoute,
      });
    }
  });
});
