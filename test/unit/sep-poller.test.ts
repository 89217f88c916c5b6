/**
 * The SE meter poller core against a scripted transport, a fake clock and fake timers (no real time): slot
 * alignment, one record per slot, time tags, single flight, timeouts, partial and invalid answers, recovery,
 * persistence and the offline gap after a restart, and the stats arithmetic.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
    ATTR,
    type AttrRecord,
    FileStore,
    type GapRecord,
    MemoryStore,
    type MeterTransport,
    Poller,
    type PollerOptions,
    type PollerRecord,
    type PollerStats,
    type ReadOptions,
    SCALING_ATTRIBUTES,
    type SlotRecord,
    TransportError,
    type TransportState,
    ZCL_TYPE,
} from '../../src/protocols/sep';
import { FakeTime } from '../support/fake-time';

type Step =
    | { kind: 'answer'; after?: number; records?: (ids: readonly number[]) => AttrRecord[] }
    | { kind: 'reject'; after?: number; error: TransportError }
    /** Never answers; rejects with a timeout when aborted. */
    | { kind: 'silent' }
    /** Ignores the abort and answers after `ms`. */
    | { kind: 'hang'; ms: number };

/** A scripted meter: one step per read (default: answer after 100 ms from `values`). */
class ScriptedTransport implements MeterTransport {
    readonly calls: Array<{ at: number; ids: number[] }> = [];
    readonly values = new Map<number, AttrRecord>([
        [ATTR.CurrentSummationDelivered, { id: 0, status: 0, type: ZCL_TYPE.uint48, raw: 1_000_000 }],
        [ATTR.InstantaneousDemand, { id: 0x400, status: 0, type: ZCL_TYPE.int24, raw: 1500 }],
        [ATTR.Status, { id: 0x200, status: 0, type: ZCL_TYPE.bitmap8, raw: 0 }],
        [ATTR.UnitofMeasure, { id: 0x300, status: 0, type: ZCL_TYPE.enum8, raw: 0 }],
        [ATTR.Multiplier, { id: 0x301, status: 0, type: ZCL_TYPE.uint24, raw: 1 }],
        [ATTR.Divisor, { id: 0x302, status: 0, type: ZCL_TYPE.uint24, raw: 1000 }],
        [ATTR.SummationFormatting, { id: 0x303, status: 0, type: ZCL_TYPE.bitmap8, raw: 0x33 }],
        [ATTR.DemandFormatting, { id: 0x304, status: 0, type: ZCL_TYPE.bitmap8, raw: 0x33 }],
        [ATTR.MeteringDeviceType, { id: 0x306, status: 0, type: ZCL_TYPE.bitmap8, raw: 0 }],
    ]);
    readonly script: Step[] = [];
    st: TransportState = 'ready';
    inFlight = 0;
    maxInFlight = 0;
    reconnects = 0;
    readonly #listeners = new Set<(s: TransportState) => void>();
    constructor(readonly time: FakeTime) {}

    answer(ids: readonly number[]): AttrRecord[] {
        return ids.map((id) => {
            const v = this.values.get(id);
            return v ? { ...v, id } : { id, status: 0x86 };
        });
    }
    set(id: number, raw: AttrRecord['raw'], status = 0): void {
        const v = this.values.get(id);
        this.values.set(id, { id, status, type: v?.type, raw });
    }
    setState(s: TransportState): void {
        this.st = s;
        for (const l of this.#listeners) l(s);
    }
    state(): TransportState {
        return this.st;
    }
    onState(listener: (state: TransportState) => void): () => void {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
    }
    async reconnect(): Promise<void> {
        this.reconnects++;
    }
    readAttributes(ids: readonly number[], options: ReadOptions): Promise<AttrRecord[]> {
        this.calls.push({ at: this.time.now(), ids: [...ids] });
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        const step = this.script.shift() ?? { kind: 'answer' };
        const p = new Promise<AttrRecord[]>((resolve, reject) => {
            if (step.kind === 'silent') {
                options.signal?.addEventListener('abort', () => reject(new TransportError('timeout', 'aborted')));
            } else if (step.kind === 'hang') {
                this.time.setTimeout(() => resolve(this.answer(ids)), step.ms);
            } else if (step.kind === 'reject') {
                this.time.setTimeout(() => reject(step.error), step.after ?? 100);
            } else {
                this.time.setTimeout(() => resolve((step.records ?? ((x) => this.answer(x)))(ids)), step.after ?? 100);
            }
        });
        return p.finally(() => {
            this.inFlight--;
        });
    }
}

const I = 10_000;
/** A slot boundary far from 0, so that slot numbers are realistic. */
const T0 = 1_764_892_800_000; // 2025-12-05T00:00:00Z, a multiple of 10 s

function setup(opts: Partial<PollerOptions> = {}, start = T0 + 3_000) {
    const time = new FakeTime(start);
    const transport = new ScriptedTransport(time);
    const store = new MemoryStore();
    const records: PollerRecord[] = [];
    const statsSeen: PollerStats[] = [];
    const logs: string[] = [];
    const make = (extra: Partial<PollerOptions> = {}) =>
        new Poller({
            transport,
            intervalMs: I,
            clock: time,
            timers: time,
            store,
            onRecord: (r) => records.push(r),
            onStats: (s) => statsSeen.push(s),
            onLog: (_l, m) => logs.push(m),
            ...opts,
            ...extra,
        });
    const poller = make();
    const slots = () => records.filter((r): r is SlotRecord => r.kind === 'slot');
    return { time, transport, store, records, statsSeen, logs, poller, make, slots };
}

const S0 = T0 / I;

function checkArithmetic(s: PollerStats): void {
    assert.equal(s.totalQueries, s.ok + s.partial + s.invalidValues + s.statusErrors + s.lost, 'query outcomes add up');
    assert.equal(s.slots, s.totalQueries + s.missedSlots + s.offlineSlots, 'slot outcomes add up');
    const lostKinds = s.lostByKind.timeout + s.lostByKind.decode + s.lostByKind.unavailable + s.lostByKind.other;
    assert.equal(lostKinds, s.lost, 'lost by kind adds up');
}

describe('7 s floor and timeouts', () => {
    const transport = new ScriptedTransport(new FakeTime(0));

    it('refuses an interval below 7000 ms and says why', () => {
        assert.throws(
            () => new Poller({ transport, intervalMs: 6999 }),
            (e: Error) => e instanceof RangeError && /7000 ms floor/.test(e.message) && /OpenSEG/.test(e.message),
        );
        assert.throws(() => new Poller({ transport, intervalMs: 1000 }), RangeError);
        assert.throws(() => new Poller({ transport, intervalMs: Number.NaN }), RangeError);
    });

    it('accepts 7000 ms with the default timeout min(5000, interval − 1500)', () => {
        assert.equal(new Poller({ transport, intervalMs: 7000 }).timeoutMs, 5000);
        assert.equal(new Poller({ transport, intervalMs: 60_000 }).timeoutMs, 5000);
        assert.throws(() => new Poller({ transport, intervalMs: 7000, timeoutMs: 7000 }), /below the poll interval/);
        assert.throws(() => new Poller({ transport, intervalMs: 7000, scalingOverride: { divisor: 0 } }), RangeError);
    });
});

describe('slots and time tags', () => {
    it('aligns queries to wall-clock slots and yields one record per slot', async () => {
        const { time, transport, poller, slots } = setup();
        poller.start();
        assert.equal(slots().length, 0, '3 s into a slot is past the start grace: wait for the next boundary');
        await time.advance(10 * I);
        const recs = slots();
        assert.equal(recs.length, 10);
        assert.deepEqual(
            recs.map((r) => r.slot),
            Array.from({ length: 10 }, (_, k) => S0 + 1 + k),
        );
        for (const r of recs) {
            assert.equal(r.status, 'ok');
            assert.equal(r.slotStart, new Date(r.slot * I).toISOString());
            assert.equal(r.requestAt, r.slotStart, 'the query goes out at the slot start');
            assert.equal(Date.parse(r.responseAt ?? ''), r.slot * I + 100, 'time tag = arrival time');
            assert.equal(r.rttMs, 100);
        }
        assert.deepEqual(
            transport.calls.map((c) => c.at),
            recs.map((r) => r.slot * I),
        );
        poller.stop();
        assert.equal(time.pending, 0, 'stop clears the slot timer');
        await time.advance(5 * I);
        assert.equal(slots().length, 10, 'no records after stop');
    });

    it('polls the current slot at once when started within the grace period', async () => {
        const { time, poller, slots } = setup({}, T0 + 400);
        poller.start();
        await time.advance(1000);
        assert.equal(slots()[0]?.slot, S0);
        assert.equal(slots()[0]?.requestAt, new Date(T0 + 400).toISOString());
        poller.stop();
    });

    it('tags the real arrival time whatever the latency, and counts answers later than 1 s', async () => {
        const { time, transport, poller, slots } = setup();
        transport.script.push({ kind: 'answer', after: 1800 }, { kind: 'answer', after: 7 });
        poller.start();
        await time.advance(2 * I);
        const [a, b] = slots();
        assert.equal(Date.parse(a?.responseAt ?? ''), (S0 + 1) * I + 1800);
        assert.equal(a?.late, true);
        assert.equal(Date.parse(b?.responseAt ?? ''), (S0 + 2) * I + 7);
        assert.equal(b?.late, undefined);
        assert.equal(poller.stats().lateResponses, 1);
        poller.stop();
    });

    it('records skipped slots when the timer fires late (suspended process)', async () => {
        const { time, poller, slots } = setup();
        poller.start();
        await time.advance(I); // slot S0+1 polled
        time.jump(3 * I); // the process sleeps over three boundaries
        await time.advance(200);
        const recs = slots();
        assert.deepEqual(
            recs.map((r) => [r.slot, r.status, r.missing]),
            [
                [S0 + 1, 'ok', undefined],
                [S0 + 2, 'missing', 'timer-late'],
                [S0 + 3, 'missing', 'timer-late'],
                [S0 + 4, 'ok', undefined],
            ],
        );
        assert.equal(Date.parse(recs[3]?.requestAt ?? ''), (S0 + 4) * I + 3000, 'the late query says when it went out');
        checkArithmetic(poller.stats());
        poller.stop();
    });
});

describe('values, scaling and answers', () => {
    it('reads the scaling set with the first query only, and scales with the meter multiplier/divisor', async () => {
        const { time, transport, poller, slots } = setup();
        poller.start();
        await time.advance(2 * I);
        for (const id of SCALING_ATTRIBUTES) assert.ok(transport.calls[0]?.ids.includes(id), `first query reads ${id}`);
        assert.deepEqual(transport.calls[1]?.ids, [
            ATTR.CurrentSummationDelivered,
            ATTR.InstantaneousDemand,
            ATTR.Status,
        ]);
        const r = slots()[1];
        assert.equal(r?.kWh, 1000);
        assert.equal(r?.kW, 1.5);
        assert.equal(r?.summation, 1000);
        assert.deepEqual(r?.scaling, {
            multiplier: 1,
            divisor: 1000,
            unit: 0,
            unitName: 'kW & kWh',
            source: 'meter',
            demandSource: 'meter',
            summationFormatting: 0x33,
            demandFormatting: 0x33,
            deviceType: 0,
        });
        assert.deepEqual(r?.raw.currentSummationDelivered, {
            id: 0,
            status: 0,
            type: ZCL_TYPE.uint48,
            value: 1_000_000,
        });
        assert.deepEqual(r?.meterStatus, { raw: 0, flags: [] });
        poller.stop();
    });

    it('falls back to the formatting digits, or an override, and says so', async () => {
        const a = setup();
        a.transport.values.delete(ATTR.Multiplier);
        a.transport.values.delete(ATTR.Divisor);
        a.transport.set(ATTR.SummationFormatting, 0x2a); // 2 digits right
        a.transport.values.delete(ATTR.DemandFormatting);
        a.poller.start();
        await a.time.advance(I);
        const r = a.slots()[0];
        assert.equal(r?.status, 'ok', 'scaling attributes missing do not make the reading partial');
        assert.equal(r?.kWh, 10_000);
        assert.equal(r?.scaling.source, 'formatting');
        assert.equal(r?.kW, 1500);
        assert.equal(r?.scaling.demandSource, 'unscaled');
        a.poller.stop();

        const b = setup({ scalingOverride: { divisor: 100 } });
        b.poller.start();
        await b.time.advance(I);
        assert.equal(b.slots()[0]?.kWh, 10_000);
        assert.equal(b.slots()[0]?.scaling.source, 'override');
        assert.equal(b.slots()[0]?.scaling.divisor, 100);
        b.poller.stop();
    });

    it('decodes BCD summations when the unit says so', async () => {
        const { time, transport, poller, slots } = setup();
        transport.set(ATTR.UnitofMeasure, 0x80);
        transport.set(ATTR.CurrentSummationDelivered, 0x001234567890);
        transport.set(ATTR.InstantaneousDemand, 0x002500);
        poller.start();
        await time.advance(I);
        assert.equal(slots()[0]?.kWh, 1234567.89);
        assert.equal(slots()[0]?.kW, 2.5);
        assert.equal(slots()[0]?.scaling.unitName, 'kW & kWh (BCD)');
        poller.stop();
    });

    it('marks a slot partial when some attributes answer 0x86, keeping the others', async () => {
        const { time, transport, poller, slots } = setup();
        transport.set(ATTR.InstantaneousDemand, undefined, 0x86);
        poller.start();
        await time.advance(I);
        const r = slots()[0];
        assert.equal(r?.status, 'partial');
        assert.equal(r?.kWh, 1000);
        assert.equal(r?.kW, undefined);
        assert.match(r?.reason ?? '', /instantaneousDemand: 0x86 UNSUPPORTED_ATTRIBUTE/);
        assert.equal(poller.stats().partial, 1);
        poller.stop();
    });

    it('reports all-attributes-failed as a status error, not a value', async () => {
        const { time, transport, poller, slots } = setup();
        transport.script.push({ kind: 'answer', records: (ids) => ids.map((id) => ({ id, status: 0x86 })) });
        transport.script.push({ kind: 'reject', error: new TransportError('status', 'ZCL status 0x01') });
        poller.start();
        await time.advance(2 * I);
        assert.deepEqual(
            slots().map((r) => [r.status, r.missing, r.kWh]),
            [
                ['missing', 'status', undefined],
                ['missing', 'status', undefined],
            ],
        );
        assert.equal(poller.stats().statusErrors, 2);
        poller.stop();
    });

    it('turns sentinels into invalid readings with a reason, never numbers', async () => {
        const { time, transport, poller, slots } = setup();
        transport.set(ATTR.CurrentSummationDelivered, 0xffffffffffff);
        poller.start();
        await time.advance(I);
        transport.set(ATTR.CurrentSummationDelivered, 1_000_500);
        transport.set(ATTR.InstantaneousDemand, -8388608);
        await time.advance(I);
        transport.set(ATTR.InstantaneousDemand, Number.NaN);
        await time.advance(I);
        const [a, b, c] = slots();
        assert.equal(a?.status, 'invalid');
        assert.equal(a?.kWh, undefined);
        assert.equal(a?.kW, 1.5, 'the valid demand is kept');
        assert.match(a?.reason ?? '', /summation: invalid value 0xFFFFFFFFFFFF/);
        assert.equal(b?.status, 'invalid');
        assert.equal(b?.kW, undefined);
        assert.equal(b?.kWh, 1000.5);
        assert.match(b?.reason ?? '', /demand: invalid value 0x800000/);
        assert.equal(c?.status, 'invalid');
        assert.equal(c?.raw.instantaneousDemand?.value, 'NaN');
        assert.equal(poller.stats().invalidValues, 3);
        assert.equal(a?.summation, undefined, 'the sentinel never becomes a number');
        assert.equal(a?.raw.currentSummationDelivered?.value, 0xffffffffffff, 'but the raw value is reported');
        poller.stop();
    });

    it('flags a decreasing summation as suspect without moving the baseline, and rebases after 3 rising ones', async () => {
        const { time, transport, poller, slots, store } = setup();
        poller.start();
        await time.advance(I);
        transport.set(ATTR.CurrentSummationDelivered, 999_000);
        await time.advance(I);
        assert.equal(store.state?.lastGood?.summation, 1000, 'baseline kept');
        transport.set(ATTR.CurrentSummationDelivered, 1_000_200);
        await time.advance(I);
        assert.deepEqual(
            slots().map((r) => [r.status, r.quality]),
            [
                ['ok', 'good'],
                ['ok', 'suspect'],
                ['ok', 'good'],
            ],
        );
        assert.match(slots()[1]?.reason ?? '', /decreased from 1000 to 999/);
        // a meter swap: three readings below the baseline, rising, become the new baseline
        for (const v of [5_000, 5_010, 5_020, 5_030]) {
            transport.set(ATTR.CurrentSummationDelivered, v);
            await time.advance(I);
        }
        assert.deepEqual(
            slots()
                .slice(3)
                .map((r) => r.quality),
            ['suspect', 'suspect', 'suspect', 'good'],
        );
        assert.equal(poller.stats().suspectValues, 4);
        poller.stop();
    });
});

describe('single flight, timeouts and losses', () => {
    it('records a timeout as lost at the timeout, with no time tag', async () => {
        const { time, transport, poller, slots } = setup();
        transport.script.push({ kind: 'silent' });
        poller.start();
        await time.advance(7000 + 4999); // the query went out at T0 + 10 s
        assert.equal(slots().length, 0);
        await time.advance(1);
        const r = slots()[0];
        assert.equal(r?.status, 'missing');
        assert.equal(r?.missing, 'timeout');
        assert.equal(r?.responseAt, null);
        assert.equal(r?.requestAt, r?.slotStart);
        const s = poller.stats();
        assert.equal(s.lost, 1);
        assert.equal(s.lostByKind.timeout, 1);
        assert.equal(s.consecutiveFailures, 1);
        poller.stop();
    });

    it('never overlaps: a read hanging over the next boundary makes that slot missing "overrun"', async () => {
        const { time, transport, poller, slots } = setup();
        transport.script.push({ kind: 'hang', ms: 12_000 });
        poller.start();
        await time.advance(4 * I);
        assert.deepEqual(
            slots().map((r) => [r.slot - S0, r.status, r.missing]),
            [
                [1, 'missing', 'timeout'],
                [2, 'missing', 'overrun'],
                [3, 'ok', undefined],
                [4, 'ok', undefined],
            ],
        );
        assert.equal(transport.maxInFlight, 1, 'never two reads at once');
        assert.equal(transport.calls.length, 3, 'the overrun slot sent nothing and queued nothing');
        const s = poller.stats();
        assert.equal(s.discardedAnswers, 1, 'the late answer was not used');
        assert.equal(s.missedSlots, 1);
        checkArithmetic(s);
        poller.stop();
    });

    it('abandons a read that never settles after 3 further boundaries', async () => {
        const { time, transport, poller, slots } = setup();
        transport.script.push({ kind: 'hang', ms: 1e9 });
        poller.start();
        await time.advance(5 * I);
        assert.deepEqual(
            slots().map((r) => r.missing ?? r.status),
            ['timeout', 'overrun', 'overrun', 'overrun', 'ok'],
        );
        assert.equal(poller.stats().abandonedQueries, 1);
        poller.stop();
    });

    it('records transport-down slots without sending anything, and re-reads scaling when it is back', async () => {
        const { time, transport, poller, slots } = setup();
        poller.start();
        await time.advance(I);
        transport.setState('down');
        await time.advance(2 * I);
        transport.setState('ready');
        await time.advance(I);
        assert.deepEqual(
            slots().map((r) => r.missing ?? r.status),
            ['ok', 'transport-down', 'transport-down', 'ok'],
        );
        assert.equal(transport.calls.length, 2);
        assert.ok(transport.calls[1]?.ids.includes(ATTR.Divisor), 'scaling re-read after the link came back');
        poller.stop();
    });
});

describe('recovery', () => {
    it('re-reads the scaling attributes after K=3 consecutive losses and reconnects after M=10', async () => {
        const { time, transport, poller, slots } = setup();
        poller.start();
        await time.advance(I); // ok, with scaling
        for (let k = 0; k < 10; k++) transport.script.push({ kind: 'silent' });
        await time.advance(3 * I + 2500); // slots 2-4 time out 5 s into their slot
        assert.equal(poller.stats().consecutiveFailures, 3);
        assert.equal(poller.stats().rereads, 1);
        assert.equal(transport.reconnects, 0);
        await time.advance(I); // 4th failure: its query already asks for the scaling set
        assert.ok(transport.calls[4]?.ids.includes(ATTR.Multiplier));
        assert.ok(!transport.calls[3]?.ids.includes(ATTR.Multiplier));
        await time.advance(6 * I);
        assert.equal(poller.stats().consecutiveFailures, 10);
        assert.equal(transport.reconnects, 1, 'reconnect at the 10th consecutive failure');
        assert.equal(poller.stats().reconnects, 1);
        await time.advance(I);
        const last = slots().at(-1);
        assert.equal(last?.status, 'ok');
        assert.ok(transport.calls.at(-1)?.ids.includes(ATTR.UnitofMeasure), 'scaling read after the reconnect');
        assert.equal(poller.stats().consecutiveFailures, 0);
        assert.equal(poller.stats().lostByKind.timeout, 10);
        poller.stop();
    });

    it('counts invalid answers and transport errors as failures too, and ok resets the run', async () => {
        const { time, transport, poller } = setup({ rereadAfter: 2, reconnectAfter: 4 });
        transport.script.push(
            { kind: 'reject', error: new TransportError('decode', 'truncated') },
            {
                kind: 'answer',
                records: (ids) => ids.map((id) => ({ id, status: 0, raw: id === 0 ? 0xffffffffffff : 1 })),
            },
        );
        poller.start();
        await time.advance(2 * I);
        assert.equal(poller.stats().consecutiveFailures, 2);
        assert.equal(poller.stats().rereads, 1);
        await time.advance(I);
        assert.equal(poller.stats().consecutiveFailures, 0);
        transport.setState('down');
        await time.advance(4 * I);
        assert.equal(transport.reconnects, 1);
        poller.stop();
    });
});

describe('persistence and restart', () => {
    it('saves {lastSlot, lastGood, stats} every slot', async () => {
        const { time, poller, store, slots } = setup();
        poller.start();
        const before = store.saves;
        await time.advance(3 * I);
        assert.equal(store.saves - before, 3);
        assert.equal(store.state?.lastSlot, slots().at(-1)?.slot);
        assert.equal(store.state?.lastGood?.summation, 1000);
        assert.equal(store.state?.stats.ok, 3);
        poller.stop();
    });

    it('reports the offline gap as missing "gateway-offline" slots after a restart on the same store', async () => {
        const { time, make, poller, slots, records } = setup();
        poller.start();
        await time.advance(3 * I); // slots S0+1..S0+3
        poller.stop(); // power cut
        await time.advance(5 * I); // S0+4..S0+8 pass unrecorded; now 3 s into S0+8
        const second = make();
        second.start(); // 3 s into S0+8: past the grace, so S0+8 is part of the gap
        const offline = slots().slice(3);
        assert.deepEqual(
            offline.map((r) => [r.slot - S0, r.status, r.missing, r.requestAt]),
            [4, 5, 6, 7, 8].map((k) => [k, 'missing', 'gateway-offline', null]),
        );
        await time.advance(2 * I);
        assert.deepEqual(
            slots()
                .slice(8)
                .map((r) => [r.slot - S0, r.status]),
            [
                [9, 'ok'],
                [10, 'ok'],
            ],
        );
        assert.deepEqual(
            records.map((r) => (r.kind === 'slot' ? r.slot - S0 : -1)),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            'every slot exactly once, in order',
        );
        const s = second.stats();
        assert.equal(s.restarts, 1);
        assert.equal(s.outageGaps, 1);
        assert.equal(s.offlineSlots, 5);
        assert.equal(s.ok, 5, 'cumulative across the restart');
        assert.equal(s.session.ok, 2);
        checkArithmetic(s);
        second.stop();
    });

    it('collapses a long outage into one gap record beyond the cap', async () => {
        const { time, make, poller, records } = setup({ gapCap: 4 });
        poller.start();
        await time.advance(I);
        poller.stop();
        await time.advance(20 * I);
        const second = make();
        second.start();
        const gap = records.at(-1) as GapRecord;
        assert.equal(gap.kind, 'gap');
        assert.deepEqual([gap.fromSlot - S0, gap.toSlot - S0, gap.count, gap.missing], [2, 21, 20, 'gateway-offline']);
        assert.equal(gap.from, new Date((S0 + 2) * I).toISOString());
        await time.advance(I);
        const next = records.at(-1) as SlotRecord;
        assert.equal(next.slot, S0 + 22);
        const s = second.stats();
        assert.equal(s.offlineSlots, 20);
        checkArithmetic(s);
        second.stop();
    });

    it('does not record a slot twice when restarted inside a slot it already recorded', async () => {
        const { time, make, poller, slots } = setup();
        poller.start();
        await time.advance(I + 500); // S0+1 recorded; 500 ms into it
        poller.stop();
        const second = make();
        second.start(); // within the grace, but S0+1 is done: wait for S0+2
        await time.advance(I);
        assert.deepEqual(
            slots().map((r) => r.slot - S0),
            [1, 2],
        );
        assert.equal(second.stats().outageGaps, 0);
        second.stop();
    });
});

describe('FileStore', () => {
    it('survives a restart through a JSON file written atomically, and ignores a corrupt one', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'sep-poller-'));
        try {
            const path = join(dir, 'state.json');
            const { time, make, slots, logs } = setup({ store: new FileStore(path) });
            const first = make();
            first.start();
            await time.advance(2 * I);
            first.stop();
            assert.deepEqual(readdirSync(dir), ['state.json'], 'no temp file left behind');
            assert.equal(new FileStore(path).load()?.lastSlot, S0 + 2);
            await time.advance(2 * I);
            const second = make();
            second.start();
            second.stop();
            assert.deepEqual(
                slots().map((r) => [r.slot - S0, r.missing ?? r.status]),
                [
                    [1, 'ok'],
                    [2, 'ok'],
                    [3, 'gateway-offline'],
                    [4, 'gateway-offline'],
                ],
            );
            writeFileSync(path, '{"version": 9}');
            const third = make();
            third.start();
            third.stop();
            assert.ok(logs.some((m) => /does not look like one/.test(m)));
            assert.equal(third.stats().restarts, 0, 'started fresh');
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe('stats', () => {
    it('adds up over a mixed run and is emitted every N slots', async () => {
        const { time, transport, poller, statsSeen } = setup({ statsEverySlots: 5, rereadAfter: 100 });
        const sentinel = (ids: readonly number[]) =>
            transport.answer(ids).map((r) => (r.id === 0 ? { ...r, raw: 0xffffffffffff } : r));
        const partial = (ids: readonly number[]) =>
            transport.answer(ids).map((r) => (r.id === 0x400 ? { id: r.id, status: 0x86 } : r));
        transport.script.push(
            { kind: 'answer' }, // ok
            { kind: 'answer', records: partial }, // partial
            { kind: 'answer', records: sentinel }, // invalid
            { kind: 'silent' }, // lost (timeout)
            { kind: 'reject', error: new TransportError('decode', 'bad') }, // lost (decode)
            { kind: 'reject', error: new TransportError('unavailable', 'left') }, // lost (unavailable)
            { kind: 'reject', error: new TransportError('status', '0x86') }, // status error
            { kind: 'hang', ms: 11_000 }, // lost (timeout), then an overrun slot (no query)
            { kind: 'answer', after: 1500 }, // used by slot 11 (after the transport-down slot 10): ok, late
        );
        poller.start();
        await time.advance(9 * I);
        transport.setState('down');
        await time.advance(I); // transport-down
        transport.setState('ready');
        await time.advance(I); // ok
        const s = poller.stats();
        assert.deepEqual(
            {
                slots: s.slots,
                totalQueries: s.totalQueries,
                ok: s.ok,
                partial: s.partial,
                invalidValues: s.invalidValues,
                lost: s.lost,
                statusErrors: s.statusErrors,
                missedSlots: s.missedSlots,
                lateResponses: s.lateResponses,
                lostByKind: s.lostByKind,
                lastOkAt: s.lastOkAt,
            },
            {
                slots: 11,
                totalQueries: 9,
                ok: 2,
                partial: 1,
                invalidValues: 1,
                lost: 4,
                statusErrors: 1,
                missedSlots: 2,
                lateResponses: 1,
                lostByKind: { timeout: 2, decode: 1, status: 1, unavailable: 1, other: 0 },
                lastOkAt: new Date((S0 + 11) * I + 1500).toISOString(),
            },
        );
        checkArithmetic(s);
        assert.equal(statsSeen.length, 2, 'every 5 slots');
        assert.equal(statsSeen[0]?.slots, 5);
        assert.equal(statsSeen[1]?.slots, 10);
        assert.equal(poller.emitStats().slots, 11);
        assert.equal(statsSeen.length, 3, 'and on request');
        poller.stop();
    });
});
