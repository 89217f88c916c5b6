/**
 * The simulated SE meter: a seeded, deterministic load curve whose registers integrate demand, its fault modes
 * (loss, latency, corrupt answers, down periods, a wedged link), its call log (reads only), and a long run with the
 * poller at the 7 s floor on fake time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    ATTR,
    type AttrRecord,
    createRng,
    decodeDemand,
    decodeSummation,
    MemoryStore,
    MeterSimulator,
    Poller,
    type PollerRecord,
    type SimulatorOptions,
    type SlotRecord,
    scale,
    type TransportError,
    type TransportState,
    ZCL_TYPE,
} from '../../src/protocols/sep';
import { FakeTime } from '../support/fake-time';

const T0 = Date.UTC(2025, 11, 5, 0, 0, 0);
const READ = [ATTR.CurrentSummationDelivered, ATTR.InstantaneousDemand, ATTR.Status];

function sim(options: SimulatorOptions = {}, start = T0) {
    const time = new FakeTime(start);
    const meter = new MeterSimulator({ clock: time, timers: time, seed: 7, ...options });
    return { time, meter };
}

/** Starts a read, lets fake time run until it settles, and returns the outcome with its arrival time. */
async function read(
    time: FakeTime,
    meter: MeterSimulator,
    ids: readonly number[] = READ,
    timeoutMs = 5000,
): Promise<{ records?: AttrRecord[]; error?: TransportError; at: number }> {
    let out: { records?: AttrRecord[]; error?: TransportError; at: number } | undefined;
    meter.readAttributes(ids, { timeoutMs }).then(
        (records) => {
            out = { records, at: time.now() };
        },
        (error: TransportError) => {
            out = { error, at: time.now() };
        },
    );
    for (let waited = 0; !out && waited <= timeoutMs + 5000; waited += 50) await time.advance(50);
    assert.ok(out, 'the read settled');
    return out;
}

const rec = (records: AttrRecord[] | undefined, id: number) => records?.find((r) => r.id === id);

describe('PRNG and load curve', () => {
    it('is deterministic per seed', () => {
        const a = createRng(42);
        const b = createRng(42);
        const c = createRng(43);
        const xs = Array.from({ length: 5 }, () => a());
        assert.deepEqual(
            Array.from({ length: 5 }, () => b()),
            xs,
        );
        assert.notDeepEqual(
            Array.from({ length: 5 }, () => c()),
            xs,
        );
        for (const x of xs) assert.ok(x >= 0 && x < 1);
        const m1 = new MeterSimulator({ seed: 3 });
        const m2 = new MeterSimulator({ seed: 3 });
        for (let t = T0; t < T0 + 86_400_000; t += 600_000) assert.equal(m1.demandKw(t), m2.demandKw(t));
    });

    it('has a daily shape with an evening peak above the night, and appliance spikes', () => {
        const { meter } = sim({ seed: 11 });
        const mean = (fromH: number, toH: number) => {
            let sum = 0;
            let n = 0;
            for (let t = T0 + fromH * 3600_000; t < T0 + toH * 3600_000; t += 60_000, n++) sum += meter.demandKw(t);
            return sum / n;
        };
        assert.ok(mean(18, 21) > mean(1, 4) + 0.8, 'evening above night');
        let max = 0;
        let min = Number.POSITIVE_INFINITY;
        for (let t = T0; t < T0 + 7 * 86_400_000; t += 60_000) {
            max = Math.max(max, meter.demandKw(t));
            min = Math.min(min, meter.demandKw(t));
        }
        assert.ok(min >= 0.2, `base load stays (${min})`);
        assert.ok(max > 2.5, `appliance spikes happen (${max})`);
        assert.ok(max < 12, `and stay household-sized (${max})`);
    });

    it('integrates demand into the summation register', async () => {
        const { time, meter } = sim({ initialKWh: 100 });
        let expected = 100;
        for (let t = T0; t < T0 + 6 * 3600_000; t += 1000) expected += meter.demandKw(t + 500) / 3600;
        await time.advance(6 * 3600_000);
        assert.ok(Math.abs(meter.deliveredKWh() - expected) < 1e-6, `${meter.deliveredKWh()} vs ${expected}`);
        assert.ok(meter.deliveredKWh() > 101, 'six hours of load add energy');
    });

    it('exports through summation received when solar exceeds the load', async () => {
        const { time, meter } = sim({ solarPeakKw: 5 });
        await time.advance(10 * 3600_000); // midnight → 10:00
        const r = await read(time, meter, [ATTR.CurrentSummationReceived, ATTR.InstantaneousDemand]);
        const received = rec(r.records, ATTR.CurrentSummationReceived);
        assert.ok(typeof received?.raw === 'number' && received.raw > 0);
        const demand = rec(r.records, ATTR.InstantaneousDemand);
        assert.ok(typeof demand?.raw === 'number' && demand.raw < 0, 'net export reads negative');
    });
});

describe('attributes and encoding', () => {
    it('answers with ZCL types, multiplier/divisor and a register that converts back to kWh', async () => {
        const { time, meter } = sim({ multiplier: 1, divisor: 1000, initialKWh: 4321.5 });
        const r = await read(time, meter, [...READ, ATTR.Multiplier, ATTR.Divisor, ATTR.UnitofMeasure]);
        const summ = rec(r.records, ATTR.CurrentSummationDelivered);
        assert.equal(summ?.type, ZCL_TYPE.uint48);
        assert.equal(rec(r.records, ATTR.InstantaneousDemand)?.type, ZCL_TYPE.int24);
        assert.equal(rec(r.records, ATTR.Divisor)?.raw, 1000);
        const d = decodeSummation(summ?.raw, 0, summ?.type);
        assert.ok(d.ok);
        const kWh = scale(d.value, 1, 1000).value;
        assert.ok(Math.abs(kWh - meter.deliveredKWh()) < 0.001);
        const dem = decodeDemand(rec(r.records, ATTR.InstantaneousDemand)?.raw, 0);
        assert.ok(dem.ok && Math.abs(dem.value / 1000 - meter.demandKw(time.now())) < 0.001);
    });

    it('encodes BCD registers when the unit is 0x80', async () => {
        const { time, meter } = sim({ unit: 0x80, initialKWh: 1234.567 });
        const r = await read(time, meter, [ATTR.CurrentSummationDelivered]);
        const raw = rec(r.records, ATTR.CurrentSummationDelivered)?.raw;
        assert.equal(typeof raw, 'number');
        assert.match((raw as number).toString(16), /^[0-9]+$/, 'every nibble a decimal digit');
        const d = decodeSummation(raw, 0x80);
        assert.ok(d.ok && d.bcd && Math.abs(d.value / 1000 - 1234.567) < 0.01);
    });

    it('answers 0x86 for unsupported attributes, and for multiplier/divisor configured as 0', async () => {
        const { time, meter } = sim({ unsupported: [ATTR.InstantaneousDemand], multiplier: 0 });
        const r = await read(time, meter, [...READ, ATTR.Multiplier]);
        assert.equal(rec(r.records, ATTR.InstantaneousDemand)?.status, 0x86);
        assert.equal(rec(r.records, ATTR.Multiplier)?.status, 0x86);
        assert.equal(rec(r.records, ATTR.CurrentSummationDelivered)?.status, 0);
    });
});

describe('faults', () => {
    it('answers within the latency range', async () => {
        const { time, meter } = sim({ latencyMs: [200, 900] });
        for (let k = 0; k < 20; k++) {
            const t = time.now();
            const r = await read(time, meter);
            assert.ok(r.records);
            assert.ok(r.at - t >= 200 && r.at - t <= 950, `latency ${r.at - t}`);
        }
    });

    it('loses about lossRate of the reads, as timeouts', async () => {
        const { time, meter } = sim({ lossRate: 0.3, latencyMs: [0, 10], seed: 5 });
        let lost = 0;
        for (let k = 0; k < 300; k++) {
            const r = await read(time, meter, READ, 200);
            if (r.error) {
                assert.equal(r.error.kind, 'timeout');
                lost++;
            }
        }
        assert.ok(lost > 60 && lost < 120, `lost ${lost} of 300`);
    });

    it('produces each scripted corruption', async () => {
        const { time, meter } = sim();
        meter.script(
            { kind: 'decode' },
            { kind: 'status', status: 0x86 },
            { kind: 'sentinel', ids: [ATTR.CurrentSummationDelivered, ATTR.InstantaneousDemand] },
            { kind: 'wrong-type', ids: [ATTR.InstantaneousDemand] },
            { kind: 'unsupported', ids: [ATTR.Status] },
        );
        assert.equal((await read(time, meter)).error?.kind, 'decode');
        assert.equal((await read(time, meter)).error?.kind, 'status');
        const s = await read(time, meter);
        assert.equal(rec(s.records, ATTR.CurrentSummationDelivered)?.raw, 0xffffffffffff);
        assert.equal(rec(s.records, ATTR.InstantaneousDemand)?.raw, -8388608);
        const w = await read(time, meter);
        assert.equal(
            decodeDemand(
                rec(w.records, ATTR.InstantaneousDemand)?.raw,
                0,
                rec(w.records, ATTR.InstantaneousDemand)?.type,
            ).ok,
            false,
        );
        assert.equal(rec((await read(time, meter)).records, ATTR.Status)?.status, 0x86);
        assert.deepEqual(
            meter.calls.map((c) => c.outcome),
            ['decode', 'status', 'sentinel', 'wrong-type', 'unsupported'],
        );
    });

    it('goes down in its down periods, tells listeners, and refuses reads as unavailable', async () => {
        const { time, meter } = sim({ downPeriods: [{ from: T0 + 10_000, to: T0 + 20_000 }] });
        const states: TransportState[] = [];
        meter.onState((s) => states.push(s));
        assert.equal(meter.state(), 'ready');
        await time.advance(12_000);
        assert.equal(meter.state(), 'down');
        const r = await read(time, meter);
        assert.equal(r.error?.kind, 'unavailable');
        await time.advance(10_000);
        assert.equal(meter.state(), 'ready');
        assert.deepEqual(states, ['down', 'ready']);
    });

    it('stays silent when wedged until reconnect() heals it', async () => {
        const { time, meter } = sim();
        meter.wedge();
        assert.equal((await read(time, meter, READ, 1000)).error?.kind, 'timeout');
        await meter.reconnect();
        assert.ok((await read(time, meter)).records);
        assert.deepEqual(
            meter.calls.map((c) => c.op),
            ['readAttributes', 'reconnect', 'readAttributes'],
        );
    });

    it('rejects a read when aborted', async () => {
        const { time, meter } = sim({ latencyMs: [1000, 1000] });
        const ac = new AbortController();
        const p = meter.readAttributes(READ, { timeoutMs: 5000, signal: ac.signal });
        await time.advance(100);
        ac.abort();
        await assert.rejects(p, (e: TransportError) => e.kind === 'timeout');
    });
});

describe('read-only by construction', () => {
    it('has no method that could write, bind, configure or command', () => {
        const methods = Object.getOwnPropertyNames(MeterSimulator.prototype).filter((m) => m !== 'constructor');
        assert.deepEqual(
            methods.filter((m) => /write|bind|config|command|send|report/i.test(m)),
            [],
        );
        assert.ok(methods.includes('readAttributes'));
    });
});

describe('poller + simulator at the 7 s floor', () => {
    it('runs 1000 slots with loss, corruption and 0-2 s latency: one record per slot, reads only, tags within the slot', async () => {
        const interval = 7000;
        const start = Math.ceil(T0 / interval) * interval + 2000;
        const time = new FakeTime(start);
        const meter = new MeterSimulator({
            clock: time,
            timers: time,
            seed: 2026,
            latencyMs: [0, 2000],
            lossRate: 0.05,
            corruptRate: 0.05,
            downPeriods: [{ from: start + 3000 * 1000, to: start + 3100 * 1000 }],
        });
        const records: PollerRecord[] = [];
        const poller = new Poller({
            transport: meter,
            intervalMs: interval,
            clock: time,
            timers: time,
            store: new MemoryStore(),
            onRecord: (r) => records.push(r),
        });
        poller.start();
        for (let k = 0; k < 1000; k++) await time.advance(interval);
        poller.stop();
        const slots = records.filter((r): r is SlotRecord => r.kind === 'slot');
        assert.equal(records.length, slots.length);
        assert.equal(slots.length, 1000);
        const first = slots[0]?.slot ?? 0;
        slots.forEach((r, k) => {
            assert.equal(r.slot, first + k);
        });
        const s = poller.stats();
        assert.equal(s.slots, 1000);
        assert.equal(s.totalQueries, s.ok + s.partial + s.invalidValues + s.statusErrors + s.lost);
        assert.equal(s.slots, s.totalQueries + s.missedSlots + s.offlineSlots);
        assert.ok(s.ok > 700, `mostly ok (${s.ok})`);
        assert.ok(s.lost > 20 && s.invalidValues > 0 && s.statusErrors > 0, JSON.stringify(s));
        assert.ok(slots.some((r) => r.missing === 'transport-down'));
        // reads only, of known attributes, never two at once
        const reads = meter.calls.filter((c) => c.op === 'readAttributes');
        assert.equal(reads.length, s.totalQueries);
        assert.deepEqual(
            meter.calls.filter((c) => c.op !== 'readAttributes' && c.op !== 'reconnect'),
            [],
        );
        for (const c of reads)
            for (const id of c.ids ?? []) assert.ok(id <= 0x0400, `reads attribute 0x${id.toString(16)}`);
        // time tags: queries at the slot start, answers inside the latency range
        for (const r of slots) {
            if (r.requestAt !== null) assert.equal(r.requestAt, r.slotStart);
            if (r.responseAt !== null) {
                const dev = Date.parse(r.responseAt) - Date.parse(r.slotStart);
                assert.ok(dev >= 0 && dev <= 2000, `tag ${dev} ms after the slot start`);
            }
        }
        const okKWh = slots.filter((r) => r.status === 'ok' && r.quality === 'good').map((r) => r.kWh ?? 0);
        for (let k = 1; k < okKWh.length; k++)
            assert.ok((okKWh[k] ?? 0) >= (okKWh[k - 1] ?? 0), 'energy never decreases');
    });
});
