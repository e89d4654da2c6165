/**
 * Template state shared through the database (embedded PGlite): two miners on one database agree on ids, merged ids
 * alias to the survivor, and a restarted miner gets the same ids back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PgliteDatabase } from '../../adapters/db/pglite.js';
import { SharedTemplateState, loadTemplateAliases } from '../../adapters/db/templates.js';
import { TemplateMiner } from '../../core/fingerprint/index.js';

const opened: PgliteDatabase[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

async function db(dataDir?: string): Promise<PgliteDatabase> {
  const d = await PgliteDatabase.open(dataDir ? { dataDir } : {});
  opened.push(d);
  await d.migrate();
  return d;
}

function instance(): { miner: TemplateMiner; state: SharedTemplateState } {
  const miner = new TemplateMiner();
  return { miner, state: new SharedTemplateState(miner) };
}

describe('shared template state (PGlite)', () => {
  it('applies migration 100_template_state', async () => {
    const d = await PgliteDatabase.open();
    opened.push(d);
    expect((await d.migrate()).applied).toContain('100_template_state');
  });

  it('two instances that founded a family with different lines converge on one id', async () => {
    const d = await db();
    const a = instance();
    const b = instance();
    // The differing word is not masked, so each miner founds the family with its own first line: different ids.
    const idA = a.miner.add('Deleting file alpha.txt from cache').templateId;
    const idB = b.miner.add('Deleting file beta.txt from cache').templateId;
    expect(idA).not.toBe(idB);
    await a.state.push(d);
    await b.state.push(d);
    await a.state.pull(d);
    await b.state.pull(d);
    // both agree on what every id means now
    for (const id of [idA, idB]) expect(a.miner.resolve(id)).toBe(b.miner.resolve(id));
    const lines = ['Deleting file gamma.txt from cache', 'Deleting file delta.txt from cache'];
    const nextA = lines.map((l) => a.miner.resolve(a.miner.add(l).templateId));
    const nextB = lines.map((l) => b.miner.resolve(b.miner.add(l).templateId));
    expect(nextA).toEqual(nextB);
    // more values make the position a variable
    expect(a.miner.add('Deleting file eps.txt from cache').template).toBe('Deleting file <*> from cache');
    // the merge is recorded for readers outside the miners
    await a.state.push(d);
    await b.state.push(d);
    const aliases = await loadTemplateAliases(d);
    const loser = idA < idB ? idB : idA;
    expect(aliases[loser]).toBeDefined();
    // a third instance started now agrees with both
    const c = instance();
    await c.state.pull(d);
    expect(c.miner.resolve(c.miner.add('Deleting file zeta.txt from cache').templateId)).toBe(
      a.miner.resolve(a.miner.add('Deleting file zeta.txt from cache').templateId),
    );
    for (const id of [idA, idB]) expect(c.miner.resolve(id)).toBe(a.miner.resolve(id));
  });

  it('instances learn templates from each other before seeing a line', async () => {
    const d = await db();
    const a = instance();
    const b = instance();
    const lines = [
      'Connection from 10.0.0.1 closed after 35 ms',
      'Worker w-3 picked job 991 from queue default',
      'Worker w-7 picked job 17 from queue urgent',
    ];
    const idsA = lines.map((l) => a.miner.add(l).templateId);
    await a.state.push(d);
    await b.state.pull(d);
    const idsB = lines.map((l) => b.miner.add(l).templateId);
    expect(idsB.map((id) => b.miner.resolve(id))).toEqual(idsA.map((id) => a.miner.resolve(id)));
  });

  it('ids survive a restart (new process, same data directory)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slo-scout-templates-'));
    try {
      const lines = [
        'Deleting file alpha.txt from cache',
        'Deleting file beta.txt from cache',
        'User bob logged in from 10.1.2.3',
        'User alice logged in from 10.1.2.4',
        'Flushed 42 entries in 7 ms',
      ];
      const first = await db(dir);
      const a = instance();
      const before = lines.map((l) => a.miner.add(l).templateId).map((id) => a.miner.resolve(id));
      await a.state.push(first);
      await first.close();
      opened.splice(opened.indexOf(first), 1);

      const again = await db(dir);
      const b = instance();
      await b.state.pull(again);
      // lines in a different order, so a fresh miner (without the state) would found families differently
      const after = [...lines]
        .reverse()
        .map((l) => b.miner.add(l).templateId)
        .map((id) => b.miner.resolve(id))
        .reverse();
      expect(after).toEqual(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('counts add up across instances and generalisations merge', async () => {
    const d = await db();
    const a = instance();
    const b = instance();
    a.miner.add('Flushed 42 entries in 7 ms');
    await a.state.push(d);
    await b.state.pull(d);
    b.miner.add('Flushed 43 entries in 9 ms');
    b.miner.add('Flushed 44 entries in 1 ms');
    a.miner.add('Flushed 45 entries in 2 ms');
    await a.state.push(d);
    await b.state.push(d);
    const r = await d.query<{ count: string | number }>('SELECT count FROM template_clusters');
    expect(r.rows.map((x) => Number(x.count))).toEqual([4]);
  });
});
