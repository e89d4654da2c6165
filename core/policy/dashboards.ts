/**
 * Structural checks of a Grafana dashboard JSON, used by the Policy Guard: a uid, a schema version, unique panel
 * ids, panels on the 24-column grid without overlaps, Prometheus data-source references that resolve (a literal uid
 * or a datasource template variable), queries with balanced brackets, and recorded series (`a:b:c` names) that a
 * rule file of the same artifact set records.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Grafana 10.0 writes schemaVersion 38; anything older is migrated on load and not what we generate. */
export const MIN_SCHEMA_VERSION = 36;
export const GRID_COLUMNS = 24;

const stripStrings = (expr: string) => expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');

/** Recorded-series names (containing a colon) a PromQL expression selects. */
export function recordedNamesIn(expr: string): string[] {
  const bare = stripStrings(expr)
    .replace(/\[[^\]]*\]/g, '[]') // ranges and subquery steps (`[31d:1h]`)
    .replace(/\{[^}]*\}/g, '{}');
  const out = new Set<string>();
  for (const m of bare.matchAll(/(?<![A-Za-z0-9_:$])([a-zA-Z_][a-zA-Z0-9_]*(?::[a-zA-Z0-9_]*)+)/g))
    out.add(m[1]!);
  return [...out].sort();
}

/** Whether (), [] and {} nest properly outside string literals. */
export function bracketsBalanced(expr: string): boolean {
  const open: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const c of stripStrings(expr)) {
    if (c === '(' || c === '[' || c === '{') open.push(c);
    else if (c in pairs && open.pop() !== pairs[c]) return false;
  }
  return open.length === 0;
}

function allPanels(panels: unknown, out: Obj[] = []): Obj[] {
  if (!Array.isArray(panels)) return out;
  for (const p of panels) {
    if (!isObj(p)) continue;
    out.push(p);
    allPanels(p.panels, out);
  }
  return out;
}

/** Problems with one dashboard (empty when it is valid). `recorded` = names recorded by the set's rules. */
export function dashboardProblems(d: unknown, recorded?: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (!isObj(d)) return ['dashboard is not a JSON object'];
  if (typeof d.uid !== 'string' || !d.uid || d.uid.length > 40)
    problems.push('dashboard needs a uid of 1..40 characters');
  if (typeof d.title !== 'string' || !d.title) problems.push('dashboard needs a title');
  if (!isInt(d.schemaVersion) || d.schemaVersion < MIN_SCHEMA_VERSION)
    problems.push(`schemaVersion must be an integer >= ${MIN_SCHEMA_VERSION}`);
  if (!Array.isArray(d.panels)) return [...problems, 'dashboard has no panels list'];
  const templating = isObj(d.templating) && Array.isArray(d.templating.list) ? d.templating.list : [];
  const dsVars = new Set(
    templating.filter((v): v is Obj => isObj(v) && v.type === 'datasource').map((v) => String(v.name)),
  );
  const dsOk = (ref: unknown, where: string) => {
    if (!isObj(ref) || typeof ref.uid !== 'string' || !ref.uid) {
      problems.push(`${where}: datasource reference needs a uid`);
      return;
    }
    if (ref.type !== 'prometheus') problems.push(`${where}: datasource type must be prometheus`);
    const v = /^\$\{?([A-Za-z0-9_]+)\}?$/.exec(ref.uid);
    if (v && !dsVars.has(v[1]!)) problems.push(`${where}: datasource variable ${v[1]} is not defined`);
  };
  const ids = new Set<number>();
  const boxes: { id: unknown; x: number; y: number; w: number; h: number }[] = [];
  for (const p of allPanels(d.panels)) {
    const where = `panel ${String(p.id)} (${String(p.title ?? p.type)})`;
    if (!isInt(p.id)) problems.push(`${where}: id must be an integer`);
    else if (ids.has(p.id)) problems.push(`${where}: duplicate panel id`);
    else ids.add(p.id);
    if (typeof p.type !== 'string' || !p.type) problems.push(`${where}: no type`);
    const g = p.gridPos;
    if (!isObj(g) || ![g.x, g.y, g.w, g.h].every(isInt))
      problems.push(`${where}: gridPos needs integer x, y, w, h`);
    else {
      const [x, y, w, h] = [g.x, g.y, g.w, g.h] as number[];
      if (x! < 0 || y! < 0 || w! < 1 || h! < 1 || x! + w! > GRID_COLUMNS)
        problems.push(`${where}: gridPos ${x},${y} ${w}x${h} is outside the ${GRID_COLUMNS}-column grid`);
      else boxes.push({ id: p.id, x: x!, y: y!, w: w!, h: h! });
    }
    const targets = Array.isArray(p.targets) ? p.targets : [];
    if (targets.length) dsOk(p.datasource, where);
    const refIds = new Set<string>();
    for (const t of targets) {
      if (!isObj(t)) {
        problems.push(`${where}: a target is not an object`);
        continue;
      }
      const tw = `${where} target ${String(t.refId)}`;
      if (typeof t.refId !== 'string' || !t.refId || refIds.has(t.refId))
        problems.push(`${tw}: refId must be unique and non-empty`);
      else refIds.add(t.refId);
      if (t.datasource !== undefined) dsOk(t.datasource, tw);
      if (typeof t.expr !== 'string' || !t.expr.trim()) {
        problems.push(`${tw}: no expr`);
        continue;
      }
      if (!bracketsBalanced(t.expr)) problems.push(`${tw}: unbalanced brackets in ${t.expr}`);
      if (recorded)
        for (const n of recordedNamesIn(t.expr))
          if (!recorded.has(n)) problems.push(`${tw}: queries ${n}, which no rule of the set records`);
    }
  }
  boxes.sort((a, b) => a.y - b.y || a.x - b.x);
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      if (b.y >= a.y + a.h) break;
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
        problems.push(`panels ${String(a.id)} and ${String(b.id)} overlap`);
    }
  return problems;
}
