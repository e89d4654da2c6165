import { describe, expect, it } from 'vitest';
import { TemplateMiner, categorical, maskWord } from '../../core/fingerprint/templates.js';

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
    ['blk_-1608999687919862906', '<*>', ['blk_-1608999687919862906']],
    ['10.0.0.1:50010', '<*>', ['10.0.0.1:50010']],
    ['/10.0.0.1:50010', '<*>', ['/10.0.0.1:50010']],
    ['<IP>:50010', '<IP>:<*>', ['50010']],
    ['size=123', 'size=<*>', ['123']],
    ['user=bob', 'user=bob', []],
    ['path=/var/log/app', 'path=<*>', ['/var/log/app']],
    ['250ms', '<*>', ['250ms']],
    ['(42)', '(<*>)', ['42']],
    ['0x7f3a', '<*>', ['0x7f3a']],
    ['2024-01-31T10:00:00.123Z', '<*>', ['2024-01-31T10:00:00.123Z']],
    ['job_200811092030_0001', '<*>', ['job_200811092030_0001']],
    ['[Thunderbird_A8]', '[<*>]', ['Thunderbird_A8']],
    ['e3b0c44298fc', '<*>', ['e3b0c44298fc']],
    ['hello', 'hello', []],
    ['org.apache.hadoop.Foo', 'org.apache.hadoop.Foo', []],
    ['db1.corp.example.com', '<*>', ['db1.corp.example.com']],
    ['(mail.example.org)', '(<*>)', ['mail.example.org']],
    ['isOverlap:false', 'isOverlap:<*>', ['false']],
    ['a==b', 'a==b', []],
    ['/var/log/app', '<*>', ['/var/log/app']],
    ['C:\\Windows\\System32', '<*>', ['C:\\Windows\\System32']],
    ['-5', '<*>', ['-5']],
    ['x-5', '<*>', ['x-5']],
    ['TCP/IP', 'TCP/IP', []],
    ['force=true,', 'force=<*>,', ['true']],
    ['ws=null', 'ws=<*>', ['null']],
    ['mode=fast', 'mode=fast', []],
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
    expect(r.template).toBe('Receiving block <*> src: <*> dest: <*>');
    expect(r.params).toEqual(['blk_22', '/10.0.0.3:50010', '/10.0.0.4:50010']);
    expect(r.isNew).toBe(false);
    expect(r.changed).toBe(false);
  });

  it('keeps a word position split while it has at most two values, then makes it a variable', () => {
    const miner = new TemplateMiner();
    const a = miner.add('Ending TrustedInstaller initialization.');
    expect(a.isNew).toBe(true);
    const b = miner.add('Ending TrustedInstaller finalization.');
    expect(b.templateId).not.toBe(miner.resolve(a.templateId));
    expect(b.template).toBe('Ending TrustedInstaller finalization.');
    // the first line's id now points at its own sub-group
    const a2 = miner.add('Ending TrustedInstaller initialization.');
    expect(miner.resolve(a.templateId)).toBe(a2.templateId);
    expect(a2.template).toBe('Ending TrustedInstaller initialization.');
    // a third value: the position is a variable and every earlier id resolves to the general template
    const c = miner.add('Ending TrustedInstaller cleanup.');
    expect(c.changed).toBe(true);
    expect(c.template).toBe('Ending TrustedInstaller <*>');
    expect(c.params).toEqual(['cleanup.']);
    for (const id of [a.templateId, b.templateId, a2.templateId])
      expect(miner.resolve(id)).toBe(c.templateId);
    expect(miner.templates()).toEqual([
      { templateId: c.templateId, template: 'Ending TrustedInstaller <*>', count: 4 },
    ]);
    expect(miner.add('Ending TrustedInstaller whatever.').templateId).toBe(c.templateId);
  });

  it('folds units and timestamp words into the value next to them', () => {
    const miner = new TemplateMiner();
    expect(miner.mask('estimated size 5.2 KB, free 14.0 KB')).toEqual([
      'estimated',
      'size',
      '<*>',
      'free',
      '<*>',
    ]);
    expect(miner.mask('connection at Fri Jun 17 20:55:07 2005')).toEqual(['connection', 'at', '<*>']);
    expect(miner.mask('name an14 an15 an16 an17')).toEqual(['name', '<*>']);
    expect(miner.mask('May I help')).toEqual(['May', 'I', 'help']);
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
    miner.add('job alpha finished on test'); // joins one, whose template now covers the other
    expect(miner.size).toBe(1);
    const d = miner.add('job alpha finished on prod');
    expect(d.template).toBe('job alpha finished on <*>');
    expect(miner.resolve(a.templateId)).toBe(d.templateId);
    expect(miner.resolve(b.templateId)).toBe(d.templateId);
    const restored = TemplateMiner.restore(JSON.parse(JSON.stringify(miner.snapshot())));
    expect(restored.aliases()).toEqual(miner.aliases());
    expect(restored.add('job alpha finished on qa').templateId).toBe(d.templateId);
  });

  it('handles empty, whitespace-only and very long messages', () => {
    const miner = new TemplateMiner({ maxTokens: 5 });
    const e = miner.add('');
    expect(miner.add('   \t ').templateId).toBe(e.templateId);
    const long = miner.add('a b c d e f g h');
    expect(long.template).toBe('a b c d <*>');
    expect(long.params).toEqual(['e f g h']);
    expect(miner.add('a b c d x y').templateId).toBe(long.templateId);
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

describe('categorical differences', () => {
  it.each([
    ['started', 'finished', true],
    ['tty=NODEVssh', 'tty=:<*>', true],
    ['LOGIN(uid=<*>)', '(uid=<*>)', true],
    ['rhost=<*>', 'rhost=', false],
    ['(<*>)', '()', false],
    ['mask=ffffffff', 'mask=<*>', false],
    ['<*>|com.example.a|<*>', '<*>|com.example.bb|<*>', false],
    ['<*>', 'anything', false],
  ])('%s vs %s -> %s', (a, b, want) => {
    expect(categorical(a, b)).toBe(want);
    expect(categorical(b, a)).toBe(want);
  });

  it('keeps shape variants of one position apart while there are few of them', () => {
    const miner = new TemplateMiner();
    const ssh = (i: number): string =>
      `authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=10.0.${i}.9`;
    const x = miner.add('authentication failure; logname= uid=0 euid=0 tty=:0 ruser= rhost=');
    const ids = new Set([1, 2, 3, 4].map((i) => miner.add(ssh(i)).templateId));
    expect(ids.size).toBe(1);
    expect(ids.has(miner.resolve(x.templateId))).toBe(false);
    expect(miner.add(ssh(7)).template).toBe(
      'authentication failure; logname= uid=<*> euid=<*> tty=NODEVssh ruser= <*>',
    );
  });

  it('keeps upper-case enum states as constants (up to 16 values), plain words only up to 2', () => {
    const miner = new TemplateMiner();
    const states = ['NEW', 'SCHEDULED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'KILL_WAIT', 'KILLED'];
    const byPair = new Map<string, string>();
    for (let round = 0; round < 3; round++)
      for (let k = 0; k + 1 < states.length; k++) {
        const r = miner.add(`task_${round}_${k} Task Transitioned from ${states[k]} to ${states[k + 1]}`);
        byPair.set(`${states[k]}>${states[k + 1]}`, miner.resolve(r.templateId));
      }
    for (const [pair, id] of byPair) expect(miner.resolve(id), pair).toBe(byPair.get(pair));
    expect(new Set([...byPair.values()].map((id) => miner.resolve(id))).size).toBe(states.length - 1);
    const t = miner.add('task_9 Task Transitioned from NEW to SCHEDULED').template;
    expect(t).toBe('<*> Task Transitioned from NEW to SCHEDULED');
  });
});

describe('scanner caches', () => {
  /** Rewrites every digit (same lengths), like the benchmark's replay passes. */
  const rewrite = (l: string, k: number): string => l.replace(/[0-9]/g, (d) => String((Number(d) + k) % 10));

  it('a warm miner masks and extracts params exactly like a fresh one, whatever the digits', () => {
    const lines = corpus(5, 20).map((x) => x.line);
    lines.push('reply from a1b:db1.corp.example.com in 12 ms', 'x 5.2 KB, at Mon Jun 17 20:55:07 2005 ok');
    const warm = new TemplateMiner();
    for (const l of lines) warm.add(l);
    for (let k = 1; k < 4; k++)
      for (const l of lines) {
        const line = rewrite(l, k);
        const fresh = new TemplateMiner();
        expect(warm.mask(line), line).toEqual(fresh.mask(line));
      }
  });

  it('a token that keeps a digit is not served from the shape cache', () => {
    const miner = new TemplateMiner();
    expect(miner.mask('reply from a1b:db1.corp.example.com')).toEqual(['reply', 'from', 'a1b:<*>']);
    expect(miner.mask('reply from a2b:db7.corp.example.com')).toEqual(['reply', 'from', 'a2b:<*>']);
  });

  it('params stay right after further lines were added', () => {
    const miner = new TemplateMiner();
    miner.add('Receiving block blk_1 src: /10.0.0.1:50010');
    const a = miner.add('Receiving block blk_2 src: /10.0.0.2:50010');
    const b = miner.add('Receiving block blk_3 src: /10.0.0.3:50010');
    expect(b.params).toEqual(['blk_3', '/10.0.0.3:50010']);
    expect(a.params).toEqual(['blk_2', '/10.0.0.2:50010']);
  });
});
