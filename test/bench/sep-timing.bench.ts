/**
 * How well the meter poller keeps time (issue 7; seed 004: readings tagged within 1 s of the real
 * measurement time and of the prescribed interval). The Poller reads the simulated meter at the
 * 7 s floor for DERLINK_SEP_SLOTS (40) real-time slots, the meter answering after a random
 * 0-2 s (DERLINK_SEP_LATENCY_MS, 2000).
 *
 * Per slot:
 *  - schedule deviation: when the query went out (requestAt) minus the slot's prescribed start
 *    (slot × 7 s); target p99 under 50 ms;
 *  - time-tag error: the tag (responseAt) minus the instant the simulated meter produced the
 *    reading (recorded by a wrapper around its answer);
 *  - CPU of this process per slot.
 * Baseline, in the same process and the same window: a plain `setInterval(…, 7000)` started on a
 * slot boundary, whose tick k deviates from boundary + k × 7 s; the ratio compares the p99s.
 *
 * Knobs (environment): DERLINK_SEP_SLOTS (40), DERLINK_SEP_LATENCY_MS (2000), DERLINK_SEP_INTERVAL_MS (7000).
 */
import {
    type AttrRecord,
    MemoryStore,
    MeterSimulator,
    type MeterTransport,
    Poller,
    type ReadOptions,
    type SlotRecord,
} from '../../src/protocols/sep';
import { type BenchRow, percentile, row } from './lib';

const knob = (name: string, fallback: number): number => {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v > 0 ? v : fallback;
};
const SLOTS = knob('DERLINK_SEP_SLOTS', 40);
const LATENCY_MS = knob('DERLINK_SEP_LATENCY_MS', 2000);
const INTERVAL_MS = Math.max(7000, knob('DERLINK_SEP_INTERVAL_MS', 7000));

/** The simulated meter, with the instant each reading was produced noted per query. */
class Witness implements MeterTransport {
    readonly producedAt: number[] = [];
    constructor(private readonly inner: MeterSimulator) {}
    async readAttributes(ids: readonly number[], options: ReadOptions): Promise<AttrRecord[]> {
        const records = await this.inner.readAttributes(ids, options);
        this.producedAt.push(Date.now());
        return records;
    }
    state() {
        return this.inner.state();
    }
    onState(listener: Parameters<MeterTransport['onState']>[0]) {
        return this.inner.onState(listener);
    }
}

export default async function bench(): Promise<BenchRow[]> {
    const meter = new Witness(new MeterSimulator({ latencyMs: [0, LATENCY_MS], seed: 11 }));
    const records: SlotRecord[] = [];
    const tagErrors: number[] = [];
    const poller = new Poller({
        transport: meter,
        intervalMs: INTERVAL_MS,
        store: new MemoryStore(),
        statsEverySlots: 0,
        onRecord: (r) => {
            if (r.kind !== 'slot') return;
            records.push(r);
            const produced = meter.producedAt.at(-1);
            if (r.responseAt && produced !== undefined) tagErrors.push(Date.parse(r.responseAt) - produced);
        },
    });

    // The baseline: a setInterval started on the next slot boundary.
    const firstBoundary = Math.ceil(Date.now() / INTERVAL_MS) * INTERVAL_MS;
    const ticks: number[] = [];
    let interval: NodeJS.Timeout | undefined;
    const started = setTimeout(() => {
        ticks.push(Date.now() - firstBoundary);
        interval = setInterval(() => {
            ticks.push(Date.now() - (firstBoundary + ticks.length * INTERVAL_MS));
        }, INTERVAL_MS);
    }, firstBoundary - Date.now());

    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    poller.start();
    console.log(
        `  sep-timing: ${SLOTS} slots of ${INTERVAL_MS / 1000} s against the simulated meter (latency 0-${LATENCY_MS} ms): about ${Math.round(((SLOTS + 1) * INTERVAL_MS) / 1000)} s`,
    );
    while (records.filter((r) => r.requestAt !== null).length < SLOTS) await new Promise((r) => setTimeout(r, 500));
    poller.stop();
    clearTimeout(started);
    clearInterval(interval);
    const cpu = process.cpuUsage(cpu0);
    const wallMs = Date.now() - t0;

    const asked = records.filter((r) => r.requestAt !== null);
    const deviations = asked
        .map((r) => Date.parse(r.requestAt as string) - Date.parse(r.slotStart))
        .sort((a, b) => a - b);
    const tags = [...tagErrors].sort((a, b) => a - b);
    const base = ticks.map((d) => Math.abs(d)).sort((a, b) => a - b);
    const ok = asked.filter((r) => r.status === 'ok').length;
    const cpuPerSlotMs = (cpu.user + cpu.system) / 1000 / asked.length;
    const p99 = (xs: number[]) => percentile(xs, 99);
    console.log(
        `  ${asked.length} queries (${ok} ok) in ${(wallMs / 1000).toFixed(0)} s; schedule deviation p50 ${percentile(deviations, 50)} ms, p99 ${p99(deviations)} ms, max ${deviations.at(-1)} ms; time-tag error p99 ${p99(tags)} ms; setInterval drift p99 ${p99(base)} ms over ${base.length} ticks; CPU ${cpuPerSlotMs.toFixed(2)} ms per slot`,
    );
    const name = `sep-timing ${SLOTS} slots of ${INTERVAL_MS / 1000} s, simulated meter latency 0-${LATENCY_MS} ms`;
    const baseline = { name: `setInterval(${INTERVAL_MS}) drift, same window`, value: p99(base) };
    return [
        row({
            name,
            metric: 'p99 deviation of the query time from the prescribed slot start',
            value: p99(deviations),
            unit: 'ms',
            baseline,
            target: '< 50 ms (spec: 1 s)',
        }),
        row({ name, metric: 'max deviation from the slot start', value: deviations.at(-1) ?? 0, unit: 'ms', baseline }),
        row({
            name,
            metric: 'p99 time-tag error (tag minus the meter producing the reading)',
            value: p99(tags),
            unit: 'ms',
            target: '< 1000 ms',
        }),
        row({ name, metric: 'CPU per slot', value: cpuPerSlotMs, unit: 'ms' }),
    ];
}
