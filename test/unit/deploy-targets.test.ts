/**
 * Deploy targets: files (atomic directory swap), PrometheusRule through the Kubernetes API (server-side dry run) and
 * dashboards through the Grafana API. The two APIs are played by FAKE API SERVERS defined in this test only (plain
 * node:http servers on loopback that answer the way the real APIs do for the calls we make); they are never shipped.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Recommendations } from '../../events/schemas.js';
import { generateArtifacts } from '../../core/generate/index.js';
import { deployToDirectory } from '../../adapters/deploy/files.js';
import { deployDashboards } from '../../adapters/deploy/grafana.js';
import { deployPrometheusRules, prometheusRuleObjects } from '../../adapters/deploy/kubernetes.js';
import { run } from '../../cli/main.js';

const rec = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../golden/generate/input.recommendations.json'), 'utf8'),
) as Recommendations;
const set = generateArtifacts(rec, {
  setId: 'set-deploy',
  generatedAt: '2026-03-01T06:05:00.000Z',
  labels: { team: 'shop' },
});
const TOKEN = 'test-token-1';

function withoutFirstExpr(text: string): string {
  const doc = parse(text) as { groups: { rules: { expr: string }[] }[] };
  doc.groups[0]!.rules[0]!.expr = '';
  return stringify(doc);
}

const body = (req: IncomingMessage) =>
  new Promise<unknown>((res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const t = Buffer.concat(chunks).toString('utf8');
      res(t ? JSON.parse(t) : undefined);
    });
  });

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** FAKE Kubernetes API server: PrometheusRule create/get/replace in namespaces, dryRun=All, bearer auth. */
function fakeKubernetesApi() {
  const store = new Map<string, Obj>();
  const calls: string[] = [];
  let rv = 100;
  const status = (code: number, reason: string, message: string) => ({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message,
    reason,
    code,
  });
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url!, 'http://x');
      calls.push(`${req.method} ${url.pathname}${url.search}`);
      const send = (code: number, v: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.headers.authorization !== `Bearer ${TOKEN}`)
        return send(401, status(401, 'Unauthorized', 'Unauthorized'));
      const m =
        /^\/apis\/monitoring\.coreos\.com\/v1\/namespaces\/([^/]+)\/prometheusrules(?:\/([^/]+))?$/.exec(
          url.pathname,
        );
      if (!m) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
      const [, ns, name] = m;
      const dry = url.searchParams.get('dryRun');
      if (dry !== null && dry !== 'All')
        return send(400, status(400, 'BadRequest', `dryRun: Unsupported value: "${dry}"`));
      const key = `${ns}/${name ?? ''}`;
      const validate = (o: Obj) => {
        if (o.kind !== 'PrometheusRule' || o.apiVersion !== 'monitoring.coreos.com/v1') return 'wrong kind';
        if (o.metadata?.namespace && o.metadata.namespace !== ns)
          return 'the namespace of the provided object does not match the namespace sent on the request';
        if (!Array.isArray(o.spec?.groups)) return 'spec.groups: Required value';
        for (const g of o.spec.groups)
          for (const r of g.rules ?? [])
            if (typeof r.expr !== 'string' || !r.expr)
              return `spec.groups[${g.name}].rules: expr: Required value`;
        return undefined;
      };
      if (req.method === 'GET' && name) {
        const o = store.get(key);
        return o ? send(200, o) : send(404, status(404, 'NotFound', `prometheusrules "${name}" not found`));
      }
      if (req.method === 'POST' && !name) {
        const o = (await body(req)) as Obj;
        const problem = validate(o);
        if (problem)
          return send(
            422,
            status(422, 'Invalid', `PrometheusRule "${o.metadata?.name}" is invalid: ${problem}`),
          );
        const k = `${ns}/${o.metadata.name}`;
        if (store.has(k))
          return send(
            409,
            status(409, 'AlreadyExists', `prometheusrules "${o.metadata.name}" already exists`),
          );
        const stored = { ...o, metadata: { ...o.metadata, namespace: ns, resourceVersion: String(++rv) } };
        if (dry !== 'All') store.set(k, stored);
        return send(201, stored);
      }
      if (req.method === 'PUT' && name) {
        const o = (await body(req)) as Obj;
        const cur = store.get(key);
        if (!cur) return send(404, status(404, 'NotFound', `prometheusrules "${name}" not found`));
        if (o.metadata?.resourceVersion !== cur.metadata.resourceVersion)
          return send(
            409,
            status(
              409,
              'Conflict',
              'the object has been modified; please apply your changes to the latest version',
            ),
          );
        const problem = validate(o);
        if (problem) return send(422, status(422, 'Invalid', problem));
        const stored = { ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } };
        if (dry !== 'All') store.set(key, stored);
        return send(200, stored);
      }
      send(405, status(405, 'MethodNotAllowed', 'method not allowed'));
    })();
  });
  return { server, store, calls };
}

/** FAKE Grafana HTTP API server: GET /api/dashboards/uid/:uid and POST /api/dashboards/db. */
function fakeGrafanaApi() {
  const store = new Map<string, { dashboard: Obj; folderUid?: string; version: number }>();
  const calls: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url!, 'http://x');
      calls.push(`${req.method} ${url.pathname}`);
      const send = (code: number, v: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { message: 'Unauthorized' });
      const get = /^\/api\/dashboards\/uid\/([^/]+)$/.exec(url.pathname);
      if (req.method === 'GET' && get) {
        const d = store.get(decodeURIComponent(get[1]!));
        return d
          ? send(200, { dashboard: d.dashboard, meta: { folderUid: d.folderUid, version: d.version } })
          : send(404, { message: 'Dashboard not found' });
      }
      if (req.method === 'POST' && url.pathname === '/api/dashboards/db') {
        const b = (await body(req)) as Obj;
        const d = b.dashboard as Obj;
        if (!d?.title) return send(400, { message: 'Dashboard title cannot be empty' });
        const cur = store.get(d.uid);
        if (cur && !b.overwrite)
          return send(412, {
            message: 'A dashboard with the same uid already exists',
            status: 'name-exists',
          });
        const version = (cur?.version ?? 0) + 1;
        store.set(d.uid, { dashboard: d, folderUid: b.folderUid, version });
        return send(200, { id: 1, uid: d.uid, url: `/d/${d.uid}/x`, status: 'success', version });
      }
      send(404, { message: 'Not found' });
    })();
  });
  return { server, store, calls };
}

const listen = (s: Server) =>
  new Promise<string>((res) =>
    s.listen(0, '127.0.0.1', () => res(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
  );

describe('deploy target: files', () => {
  it('writes the set, replaces an earlier deployment atomically and leaves no staging directories', () => {
    const root = mkdtempSync(join(tmpdir(), 'slo-scout-deploy-'));
    const dir = join(root, 'rules');
    const first = deployToDirectory(set, dir);
    expect(first.ok && first.value).toMatchObject({ files: set.files.length, replaced: false });
    expect(readFileSync(join(dir, 'prometheus/payments.rules.yaml'), 'utf8')).toBe(
      set.files.find((f) => f.path === 'prometheus/payments.rules.yaml')!.content,
    );
    writeFileSync(join(dir, 'stale.txt'), 'from an older set');
    const smaller = { ...set, files: set.files.filter((f) => f.path.startsWith('prometheus/')) };
    const second = deployToDirectory(smaller, dir);
    expect(second.ok && second.value.replaced).toBe(true);
    expect(existsSync(join(dir, 'stale.txt'))).toBe(false);
    expect(existsSync(join(dir, 'grafana'))).toBe(false);
    expect(readdirSync(root)).toEqual(['rules']);
    // Dry run: nothing written.
    const dry = deployToDirectory(set, join(root, 'other'), { dryRun: true });
    expect(dry.ok && dry.value.dryRun).toBe(true);
    expect(existsSync(join(root, 'other'))).toBe(false);
  });

  it('refuses paths that escape the directory', () => {
    const root = mkdtempSync(join(tmpdir(), 'slo-scout-deploy-'));
    const evil = {
      ...set,
      files: [{ path: '../escape.yaml', media_type: 'application/yaml', content: 'x' }],
    };
    const r = deployToDirectory(evil, join(root, 'd'));
    expect(r.ok ? '' : r.error).toMatch(/paths outside its directory: \.\.\/escape\.yaml/);
    expect(existsSync(join(root, 'escape.yaml'))).toBe(false);
  });
});

describe('deploy target: kubernetes (against a fake API server)', () => {
  const k8s = fakeKubernetesApi();
  let server = '';
  beforeAll(async () => void (server = await listen(k8s.server)));
  afterAll(() => void k8s.server.close());

  it('wraps plain rule files as PrometheusRule objects in the target namespace', () => {
    const objs = prometheusRuleObjects(set, 'monitoring');
    expect(objs.ok && objs.value.map((o) => (o.metadata as { name: string }).name)).toEqual([
      'slo-scout-catalog',
      'slo-scout-checkout',
      'slo-scout-fraud',
      'slo-scout-inventory',
      'slo-scout-orders-worker',
      'slo-scout-payments',
    ]);
  });

  it('server-side dry run validates every object and stores nothing', async () => {
    const r = await deployPrometheusRules(
      set,
      { server, token: TOKEN, namespace: 'monitoring' },
      { dryRun: true },
    );
    expect(r.ok ? r.value.map((x) => `${x.name}:${x.action}:${x.dryRun}`) : r.error).toContain(
      'slo-scout-payments:created:true',
    );
    expect(k8s.store.size).toBe(0);
    expect(k8s.calls).toContain(
      'POST /apis/monitoring.coreos.com/v1/namespaces/monitoring/prometheusrules?dryRun=All',
    );
  });

  it('creates, then replaces with the current resourceVersion', async () => {
    const created = await deployPrometheusRules(set, { server, token: TOKEN, namespace: 'monitoring' });
    expect(created.ok && created.value.every((x) => x.action === 'created' && !x.dryRun)).toBe(true);
    expect(k8s.store.size).toBe(6);
    const stored = k8s.store.get('monitoring/slo-scout-payments')!;
    expect(stored.spec.groups.map((g: { name: string }) => g.name)).toContain(
      'slo-scout-alerts-payments-post-charge-availability',
    );
    const replaced = await deployPrometheusRules(set, { server, token: TOKEN, namespace: 'monitoring' });
    expect(replaced.ok && replaced.value.every((x) => x.action === 'replaced')).toBe(true);
    // A dry-run replace is validated too, and changes nothing.
    const before = k8s.store.get('monitoring/slo-scout-payments')!.metadata.resourceVersion;
    const dry = await deployPrometheusRules(
      set,
      { server, token: TOKEN, namespace: 'monitoring' },
      { dryRun: true },
    );
    expect(dry.ok && dry.value[0]!.action).toBe('replaced');
    expect(k8s.store.get('monitoring/slo-scout-payments')!.metadata.resourceVersion).toBe(before);
  });

  it("reports the API server's rejection and authentication failures as errors", async () => {
    const broken = {
      ...set,
      files: set.files.map((f) =>
        f.path === 'prometheus/fraud.rules.yaml' ? { ...f, content: withoutFirstExpr(f.content) } : f,
      ),
    };
    const r = await deployPrometheusRules(
      broken,
      { server, token: TOKEN, namespace: 'dry' },
      { dryRun: true },
    );
    expect(r.ok ? '' : r.error).toMatch(
      /POST PrometheusRule slo-scout-fraud: HTTP 422: .*expr: Required value/,
    );
    const unauth = await deployPrometheusRules(
      set,
      { server, token: 'wrong', namespace: 'dry' },
      { dryRun: true },
    );
    expect(unauth.ok ? '' : unauth.error).toMatch(/HTTP 401: Unauthorized/);
    const down = await deployPrometheusRules(set, {
      server: 'http://127.0.0.1:1',
      token: TOKEN,
      namespace: 'x',
    });
    expect(down.ok ? '' : down.error).toMatch(/ECONNREFUSED/);
  });

  it('slo-scout deploy --target kubernetes --dry-run goes through the guard, then the API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slo-scout-deploy-cli-'));
    const gen = await run(
      [
        'generate',
        '--recommendations',
        resolve(import.meta.dirname, '../golden/generate/input.recommendations.json'),
        '--out',
        dir,
        '-l',
        'team=shop',
      ],
      {
        out: () => {},
        err: () => {},
      },
    );
    expect(gen).toBe(0);
    const tokenFile = join(dir, '..', `${dir.split('/').pop()}-token`);
    writeFileSync(tokenFile, `${TOKEN}\n`);
    let out = '';
    let errText = '';
    const io = { out: (s: string) => void (out += s), err: (s: string) => void (errText += s) };
    const deploy = (...extra: string[]) =>
      run(
        [
          'deploy',
          dir,
          '--target',
          'kubernetes',
          '--server',
          server,
          '--namespace',
          'cli',
          '--token-file',
          tokenFile,
          ...extra,
        ],
        io,
      );
    const code = await deploy('--dry-run');
    expect(errText).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('PrometheusRule cli/slo-scout-payments created (dry run)');
    expect([...k8s.store.keys()].some((k) => k.startsWith('cli/'))).toBe(false);
    // A set the guard denies is never sent.
    writeFileSync(join(dir, 'prometheus/payments.rules.yaml'), 'groups: [\n');
    const before = k8s.calls.length;
    const denied = await deploy();
    expect(denied).toBe(1);
    expect(errText).toMatch(
      /the Policy Guard denied .*nothing deployed: rule-file-parse prometheus\/payments\.rules\.yaml/,
    );
    expect(k8s.calls.length).toBe(before);
  });
});

describe('deploy target: grafana (against a fake API server)', () => {
  const g = fakeGrafanaApi();
  let server = '';
  beforeAll(async () => void (server = await listen(g.server)));
  afterAll(() => void g.server.close());

  it('dry run only reads; a real run posts every dashboard with overwrite into the folder', async () => {
    const dry = await deployDashboards(set, { server, token: TOKEN }, { dryRun: true });
    expect(dry.ok && dry.value.map((x) => `${x.uid}:${x.action}`)).toContain('slo-scout-payments:created');
    expect(g.calls.filter((c) => c.startsWith('POST'))).toEqual([]);
    const r = await deployDashboards(set, { server, token: TOKEN, folderUid: 'slos' });
    expect(r.ok && r.value.map((x) => x.version)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(g.store.get('slo-scout-payments')!.folderUid).toBe('slos');
    expect(g.store.get('slo-scout-payments')!.dashboard.title).toBe('SLOs: payments');
    const again = await deployDashboards(set, { server, token: TOKEN, folderUid: 'slos' });
    expect(again.ok && again.value.every((x) => x.action === 'replaced' && x.version === 2)).toBe(true);
    const unauth = await deployDashboards(set, { server, token: 'nope' });
    expect(unauth.ok ? '' : unauth.error).toMatch(/HTTP 401: Unauthorized/);
  });
});
