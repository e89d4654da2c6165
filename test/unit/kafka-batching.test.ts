import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../core/ports.js';
import { laneOf, mapKafkaError, PublishBatcher, type TopicBatch } from '../../adapters/bus/kafka.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PublishBatcher', () => {
  it('coalesces adds within the linger window into one send, grouped per topic in order', async () => {
    const sends: TopicBatch<string>[][] = [];
    const b = new PublishBatcher<string>(async (x) => void sends.push(x), 20, 1_000_000);
    await Promise.all([b.add('a', ['a1', 'a2'], 10), b.add('b', ['b1'], 10), b.add('a', ['a3'], 10)]);
    expect(sends).toEqual([
      [
        { topic: 'a', messages: ['a1', 'a2', 'a3'] },
        { topic: 'b', messages: ['b1'] },
      ],
    ]);
  });

  it('does not resolve a publish before its send is acknowledged', async () => {
    let ack!: () => void;
    const b = new PublishBatcher<string>(() => new Promise<void>((r) => (ack = r)), 1, 1_000_000);
    let done = false;
    const p = b.add('t', ['x'], 1).then(() => (done = true));
    await sleep(20);
    expect(done).toBe(false);
    ack();
    await p;
    expect(done).toBe(true);
  });

  it('rejects exactly the publishes carried by a failed send', async () => {
    let call = 0;
    const b = new PublishBatcher<string>(
      async () => {
        if (++call === 1) throw new Error('boom');
      },
      5,
      1_000_000,
    );
    const first = [b.add('t', ['1'], 1), b.add('t', ['2'], 1)].map((p) =>
      p.then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    expect(await Promise.all(first)).toEqual(['boom', 'boom']);
    await expect(b.add('t', ['3'], 1)).resolves.toBeUndefined();
  });

  it('sends at most maxBatchBytes per send without splitting one add, one send at a time', async () => {
    const sends: string[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const b = new PublishBatcher<string>(
      async (x) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(5);
        sends.push(x.flatMap((t) => t.messages));
        inFlight--;
      },
      50,
      100,
    );
    await Promise.all([
      b.add('t', ['a'], 60),
      b.add('t', ['b'], 30),
      b.add('t', ['c'], 30),
      b.add('t', ['big'], 500),
    ]);
    expect(maxInFlight).toBe(1);
    expect(sends.flat()).toEqual(['a', 'b', 'c', 'big']);
    for (const s of sends) expect(s.length).toBeGreaterThan(0);
    expect(sends).toContainEqual(['big']);
    expect(sends.length).toBeGreaterThanOrEqual(3);
  });

  it('sends immediately once the byte threshold is reached, without waiting for linger', async () => {
    const sends: number[] = [];
    const b = new PublishBatcher<string>(async () => void sends.push(Date.now()), 10_000, 10);
    const t0 = Date.now();
    await b.add('t', ['x'], 20);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('records queued behind a send in flight wait for the linger too: a busy lane sends fewer, larger batches', async () => {
    const sends: { at: number; messages: string[] }[] = [];
    const t0 = performance.now();
    const b = new PublishBatcher<string>(
      async (x) => {
        sends.push({ at: performance.now() - t0, messages: x.flatMap((t) => t.messages) });
        await sleep(5); // broker round trip
      },
      40,
      1_000_000,
    );
    const adds: Promise<void>[] = [b.add('t', ['m0'], 1)];
    await sleep(50); // the first batch left after its linger and is in flight
    for (let i = 1; i <= 6; i++) {
      adds.push(b.add('t', [`m${i}`], 1));
      await sleep(3);
    }
    await Promise.all(adds);
    expect(sends.map((x) => x.messages)).toEqual([['m0'], ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']]);
    // the second batch waited for the linger of its oldest record (added at ~50 ms), not just for the round trip
    expect(sends[1]!.at).toBeGreaterThanOrEqual(50 + 40 - 5);
  });

  it('flush() and a full batch do not wait for the linger', async () => {
    const sends: string[][] = [];
    const b = new PublishBatcher<string>(
      async (x) => void sends.push(x.flatMap((t) => t.messages)),
      10_000,
      100,
    );
    const t0 = performance.now();
    await Promise.all([b.add('t', ['a'], 50), b.add('t', ['b'], 50)]); // 100 bytes: full, leaves at once
    const p = b.add('t', ['c'], 1);
    await b.flush();
    await p;
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(sends).toEqual([['a', 'b'], ['c']]);
  });

  it('flush() drains the queue', async () => {
    const sent: string[] = [];
    const b = new PublishBatcher<string>(
      async (x) => void sent.push(...x.flatMap((t) => t.messages)),
      10_000,
      1_000_000,
    );
    const p = b.add('t', ['x'], 1);
    expect(b.pending).toBe(1);
    await b.flush();
    await p;
    expect(sent).toEqual(['x']);
  });
});

describe('PublishBatcher lanes', () => {
  it('sends on different lanes concurrently, one send per lane at a time, in order within a lane', async () => {
    const sends: { lane: number; msgs: string[] }[] = [];
    const inFlight = new Map<number, number>();
    let maxPerLane = 0;
    let maxTotal = 0;
    const b = new PublishBatcher<string>(
      async (x, lane) => {
        inFlight.set(lane, (inFlight.get(lane) ?? 0) + 1);
        maxPerLane = Math.max(maxPerLane, inFlight.get(lane)!);
        maxTotal = Math.max(
          maxTotal,
          [...inFlight.values()].reduce((a, c) => a + c, 0),
        );
        await sleep(10);
        sends.push({ lane, msgs: x.flatMap((t) => t.messages) });
        inFlight.set(lane, inFlight.get(lane)! - 1);
      },
      1,
      25,
      3,
    );
    const adds: Promise<void>[] = [];
    for (let i = 0; i < 12; i++) adds.push(b.add('t', [`m${i}`], 10, i % 3));
    await Promise.all(adds);
    expect(maxPerLane).toBe(1);
    expect(maxTotal).toBeGreaterThan(1);
    for (const lane of [0, 1, 2]) {
      const mine = sends.filter((s) => s.lane === lane).flatMap((s) => s.msgs);
      expect(mine).toEqual([0, 1, 2, 3].map((k) => `m${k * 3 + lane}`));
    }
  });

  it('settles each add with its own lane: a failing lane does not fail the others', async () => {
    const b = new PublishBatcher<string>(
      async (_x, lane) => {
        if (lane === 1) throw new Error('lane 1 down');
      },
      1,
      1_000,
      2,
    );
    const [a, c] = await Promise.allSettled([b.add('t', ['a'], 1, 0), b.add('t', ['c'], 1, 1)]);
    expect(a.status).toBe('fulfilled');
    expect(c.status).toBe('rejected');
    expect(() => b.add('t', ['x'], 1, 2)).toThrow(/lane 2 out of range/);
    await b.flush();
  });

  it('maps a key to a stable lane and spreads keys over lanes', () => {
    expect(laneOf('checkout', 1)).toBe(0);
    const lanes = new Set<number>();
    for (let i = 0; i < 64; i++) {
      const l = laneOf(`svc-${i}`, 4);
      expect(l).toBe(laneOf(`svc-${i}`, 4));
      expect(l).toBeGreaterThanOrEqual(0);
      expect(l).toBeLessThan(4);
      lanes.add(l);
    }
    expect(lanes.size).toBe(4);
  });
});

describe('mapKafkaError', () => {
  it('maps connection and retry exhaustion to UnavailableError', () => {
    const conn = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9'), {
      name: 'KafkaJSConnectionError',
    });
    const m = mapKafkaError(conn, 'publish');
    expect(m).toBeInstanceOf(UnavailableError);
    expect((m as UnavailableError).service).toBe('kafka');
    const retries = Object.assign(new Error('x'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: conn });
    expect(mapKafkaError(retries, 'publish')).toBeInstanceOf(UnavailableError);
  });

  it('maps unknown topics to a clear error and leaves other errors alone', () => {
    const unknown = Object.assign(new Error('This server does not host this topic-partition'), {
      name: 'KafkaJSProtocolError',
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    const wrapped = Object.assign(new Error('retries'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      cause: unknown,
    });
    expect(String(mapKafkaError(wrapped, 'publish to t'))).toMatch(/unknown topic/);
    const other = new TypeError('bug');
    expect(mapKafkaError(other, 'x')).toBe(other);
  });
});
