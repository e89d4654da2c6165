/**
 * Deploy target "grafana": the set's dashboards through Grafana's HTTP API (POST /api/dashboards/db with
 * overwrite, into an optional folder). Grafana has no server-side dry run, so a dry run only reads: it reports which
 * dashboards would be created and which replaced (GET /api/dashboards/uid/<uid>), and checks the token works.
 */
import type { ArtifactSet } from '../../events/schemas.js';
import { err, ok, type Result } from '../../core/result.js';
import { apiMessage, callJson, type HttpTarget } from './http.js';

export interface GrafanaTarget extends HttpTarget {
  readonly folderUid?: string;
}

export interface DashboardReport {
  readonly uid: string;
  readonly action: 'created' | 'replaced';
  readonly dryRun: boolean;
  readonly url?: string;
  readonly version?: number;
}

type Obj = Record<string, unknown>;

export function dashboardObjects(set: ArtifactSet): Result<Obj[], string> {
  const out: Obj[] = [];
  for (const f of set.files.filter((x) => /^grafana\/[^/]+\.json$/.test(x.path))) {
    try {
      const d = JSON.parse(f.content) as Obj;
      if (typeof d.uid !== 'string' || !d.uid) return err(`${f.path}: dashboard has no uid`);
      out.push(d);
    } catch (e) {
      return err(`${f.path}: not JSON: ${(e as Error).message}`);
    }
  }
  return out.length ? ok(out) : err(`artifact set ${set.id} has no dashboards`);
}

export async function deployDashboards(
  set: ArtifactSet,
  target: GrafanaTarget,
  opts: { readonly dryRun?: boolean } = {},
): Promise<Result<DashboardReport[], string>> {
  const dashes = dashboardObjects(set);
  if (!dashes.ok) return dashes;
  const reports: DashboardReport[] = [];
  const failures: string[] = [];
  for (const d of dashes.value) {
    const uid = d.uid as string;
    const cur = await callJson(target, 'GET', `/api/dashboards/uid/${encodeURIComponent(uid)}`);
    if (!cur.ok) return cur;
    if (cur.value.status !== 200 && cur.value.status !== 404) {
      failures.push(`GET dashboard ${uid}: HTTP ${cur.value.status}: ${apiMessage(cur.value)}`);
      continue;
    }
    const action = cur.value.status === 200 ? 'replaced' : 'created';
    if (opts.dryRun) {
      reports.push({ uid, action, dryRun: true });
      continue;
    }
    const res = await callJson(target, 'POST', '/api/dashboards/db', {
      dashboard: { ...d, id: null },
      ...(target.folderUid ? { folderUid: target.folderUid } : {}),
      overwrite: true,
      message: `SLO-Scout artifact set ${set.id}`,
    });
    if (!res.ok) return res;
    const b = res.value.body as { url?: unknown; version?: unknown } | undefined;
    if (res.value.status === 200)
      reports.push({
        uid,
        action,
        dryRun: false,
        ...(typeof b?.url === 'string' ? { url: b.url } : {}),
        ...(typeof b?.version === 'number' ? { version: b.version } : {}),
      });
    else failures.push(`POST dashboard ${uid}: HTTP ${res.value.status}: ${apiMessage(res.value)}`);
  }
  return failures.length ? err(failures.join('; ')) : ok(reports);
}
