import { describe, expect, it } from 'vitest';
import { TemplateMiner, maskWord } from '../../core/fingerprint/templates.js';

/** Deterministic PRNG so the synthetic corpora are reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Family = (r: () => number) => string;
const int = (r: () => number, n: number): number => Math.floor(r() * n);
const ip = (r: () => number): string => `10.${int(r, 256)}.${int(r, 256)}.${int(r, 256)}`;
const blk = (r: () => number): string => `blk_${r() < 0.5 ? '-' : ''}${int(r, 1e9)}${int(r, 1e9)}`;

const families: Record<string, Family> = {
  receiving: (r) => `Receiving block ${blk(r)} src: /${ip(r)}:50010 dest: /${ip(r)}:50010`,
  received: (r) => `Received block ${blk(r)} of size ${int(r, 1e8)} from /${ip(r)}`,
  responder: (r) => `PacketResponder ${int(r, 3)} for block ${blk(r)} terminating`,
  deleting: (r) => `Deleting block ${blk(r)} file /mnt/hadoop/dfs/data/current/subdir${int(r, 60)}/${blk(r)}`,
  addStored: (r) =>
    `BLOCK* NameSystem.addStoredBlock: blockMap updated: ${ip(r)}:50010 is added to ${blk(r)} size ${int(r, 1e8)}`,
  http: (r) =>
    `GET /api/users/${int(r, 1e5)} status=${[200, 404, 500][int(r, 3)]} took ${int(r, 900)}ms user=${['ann', 'bob', 'cy'][int(r, 3)]}`,
  conn: (r) =>
    `Connection from ${ip(r)} port ${int(r, 65535)} closed after ${int(r, 100)}.${int(r, 10)}s at 2024-01-${10 + int(r, 18)}T${10 + int(r, 12)}:${10 + int(r, 49)}:00Z`,
  cache: (r) =>
    `cache miss for key session:${int(r, 1e6).toString(16)}a${int(r, 1e6)} in region eu-west-${1 + int(r, 3)}`,
};

function corpus(seed: number, perFamily: number): { family: string; line: string }[] {
  const r = rng(seed);
  const out: { family: string; line: string }[] = [];
  for (let i = 0; i < perFamily; i++)
    for (const [family, gen] of Object.entries(families)) out.push({ family, line: gen(r) });
  // shuffle deterministically
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(r, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function idsByFamily(
  miner: TemplateMiner,
  lines: { family: string; line: string }[],
): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const { family, line } of lines) {
    const id = miner.add(line).templateId;
    if (!m.has(family)) m.set(family, new Set());
    m.get(family)!.add(id);
  }
  // resolve through merges
  const out = new Map<string, Set<string>>();
  for (const [f, ids] of m) out.set(f, new Set([...ids].map((id) => miner.resolve(id))));
  return out;
}

describe('maskWord', () => {
  it.each([
    ['blk_-1608999687919862906', 'blk_<*>', ['-1608999687919862906']],
    ['blk_7503483334202473044', 'blk_<*>', ['7503483334202473044']],
    ['10.0.0.1:50010', '<*>', ['10.0.0.1:50010']],
    ['/10.0.0.1:50010', '<*>', ['/10.0.0.1:50010']],
    ['<IP>:50010', '<IP>:<*>', ['50010']],
    ['size=123', 'size=<*>', ['123']],
    ['user=bob', 'user=<*>', ['bob']],
    ['250ms', '<*>ms', ['250']],
    ['(42)', '(<*>)', ['42']],
    ['0x7f3a', '<*>', ['0x7f3a']],
    ['2024-01-31T10:00:00.123Z', '<*>Z', ['2024-01-31T10:00:00.123']],
    ['job_200811092030_0001', 'job_<*>', ['200811092030_0001']],
    ['worker12345', 'worker<*>', ['12345']],
    ['e3b0c44298fc', '<*>', ['e3b0c44298fc']],
    ['hello', 'hello', []],
    ['v2', 'v2', []],
    ['utf8', 'utf8', []],
    ['a==b', 'a==b', []],
    ['/var/log/app', '/var/log/app', []],
    ['/var/log/app1.log', '<*>', ['/var/log/app1.log']],
    ['-5', '<*>', ['-5']],
    ['x-5', 'x-<*>', ['5']],
  ])('%s -> %s', (word, token, pieces) => {
    const got: string[] = [];
    expect(maskWord(word, got)).toBe(token);
    expect(got).toEqual(pieces);
  });
});

describe('TemplateMiner', () => {
  it('groups a family under one id and separates different families', () => {
    const miner = new TemplateMiner();
    const ids = idsByFamily(miner, corpus(1, 60));
    const all = new Set<string>();
    for (const [family, set] of ids) {
      expect(set.size, `family ${family} split into ${[...set].join(',')}`).toBe(1);
      const id = [...set][0]!;
      expect(all.has(id), `family ${family} shares an id`).toBe(false);
      all.add(id);
    }
    expect(miner.size).toBe(Object.keys(families).length);
  });

  it('produces readable templates and the variable parts as params', () => {
    const miner = new TemplateMiner();
    miner.add('Receiving block blk_-1 src: /10.0.0.1:50010 dest: /10.0.0.2:50010');
    const r = miner.add('Receiving block blk_22 src: /10.0.0.3:50010 dest: /10.0.0.4:50010');
    expect(r.template).toBe('Receiving block blk_<*> src: <*> dest: <*>');
    expect(r.params).toEqual(['22', '/10.0.0.3:50010', '/10.0.0.4:50010']);
    expect(r.isNew).toBe(false);
    expect(r.changed).toBe(false);
  });

  it('generalises differing words and keeps the id', () => {
    const miner = new TemplateMiner();
    const a = miner.add('Deleting file foo.txt from cache');
    expect(a.isNew).toBe(true);
    const b = miner.add('Deleting file bar.txt from cache');
    expect(b.templateId).toBe(a.templateId);
    expect(b.changed).toBe(true);
    expect(b.template).toBe('Deleting file <*> from cache');
    expect(b.params).toEqual(['bar.txt']);
    const c = miner.add('Deleting file baz.txt from cache');
    expect(c.changed).toBe(false);
    expect(miner.templates()).toEqual([
      { templateId: a.templateId, template: 'Deleting file <*> from cache', count: 3 },
    ]);
  });

  it('does not merge lines with different token counts or low similarity', () => {
    const miner = new TemplateMiner();
    const a = miner.add('user logged in');
    const b = miner.add('user logged in twice');
    const c = miner.add('disk quota exceeded');
    expect(new Set([a.templateId, b.templateId, c.templateId]).size).toBe(3);
  });

  it('keeps ids across snapshot/restore (through JSON)', () => {
    const lines = corpus(2, 30);
    const miner = new TemplateMiner();
    const before = idsByFamily(miner, lines.slice(0, 120));
    const restored = TemplateMiner.restore(JSON.parse(JSON.stringify(miner.snapshot())));
    expect(restored.templates()).toEqual(miner.templates());
    for (const { family, line } of lines.slice(120)) {
      const id = restored.add(line).templateId;
      if (before.has(family)) expect(before.get(family)!.has(restored.resolve(id))).toBe(true);
    }
  });

  it('gives the same ids to the same families regardless of arrival order and instance', () => {
    const lines = corpus(3, 40);
    const a = idsByFamily(new TemplateMiner(), lines);
    const b = idsByFamily(new TemplateMiner(), [...lines].reverse());
    const c = idsByFamily(new TemplateMiner(), corpus(99, 25)); // different lines of the same families
    for (const family of Object.keys(families)) {
      expect(a.get(family)).toEqual(b.get(family));
      expect(a.get(family)).toEqual(c.get(family));
    }
  });

  it('merges clusters whose templates converge (e.g. after restoring with a lower threshold) and records the alias', () => {
    const strict = new TemplateMiner({ simThreshold: 0.9 });
    const a = strict.add('job alpha finished on main');
    const b = strict.add('job alpha finished on edge'); // 4/5 < 0.9: its own cluster
    expect(b.templateId).not.toBe(a.templateId);
    const snap = strict.snapshot();
    const miner = TemplateMiner.restore({ ...snap, options: { ...snap.options, simThreshold: 0.5 } });
    const c = miner.add('job alpha finished on test'); // joins the first, which now covers the second
    expect(c.changed).toBe(true);
    expect(miner.size).toBe(1);
    const [survivor, loser] = [a.templateId, b.templateId].sort() as [string, string];
    expect(c.templateId).toBe(survivor);
    expect(miner.templates()).toEqual([
      { templateId: survivor, template: 'job alpha finished on <*>', count: 3 },
    ]);
    expect(miner.aliases()).toEqual({ [loser]: survivor });
    expect(miner.resolve(loser)).toBe(survivor);
    const restored = TemplateMiner.restore(JSON.parse(JSON.stringify(miner.snapshot())));
    expect(restored.aliases()).toEqual({ [loser]: survivor });
    expect(restored.add('job alpha finished on prod').templateId).toBe(survivor);
  });

  it('handles empty, whitespace-only and very long messages', () => {
    const miner = new TemplateMiner({ maxTokens: 5 });
    const e = miner.add('');
    expect(miner.add('   \t ').templateId).toBe(e.templateId);
    const long = miner.add('a b c d e f g h');
    expect(long.template).toBe('a b c d <*>');
    expect(long.params).toEqual(['e f g h']);
  });

  it('routes overflow children to the wildcard branch', () => {
    const miner = new TemplateMiner({ maxChildren: 3 });
    for (const w of ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta']) miner.add(`${w} started service`);
    // the first three get their own branch; later ones share the <*> branch and merge there
    expect(miner.size).toBeLessThanOrEqual(4);
    expect(miner.templates().some((t) => t.template === '<*> started service')).toBe(true);
  });

  it('rejects bad options', () => {
    expect(() => new TemplateMiner({ simThreshold: 0 })).toThrow(/simThreshold/);
    expect(() => new TemplateMiner({ depth: 2 })).toThrow(/depth/);
  });
});
