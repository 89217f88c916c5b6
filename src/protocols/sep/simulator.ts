/**
 * A simulated Simple Metering server behind the read-only `MeterTransport` seam, for the demo and for tests.
 *
 * The load is a deterministic function of time and seed: base load + a daily shape (morning and evening peaks) +
 * appliance spikes (kettle, oven, washer...) drawn per minute from a seeded hash, minus optional midday solar.
 * Summation delivered/received integrate the demand over time. The meter reports multiplier, divisor, unit (binary
 * or BCD) and formatting. Faults: loss (no answer until the timeout), latency, corrupt answers (error status,
 * sentinel values, wrong types, decode errors), 'down' periods, scripted behaviours per call, and a 'wedged' link
 * that only a reconnect heals. Every call is recorded, which is how tests show that only reads happened.
 */

import { ATTR, SENTINEL, ZCL_STATUS, ZCL_TYPE } from './attributes';
import type { Clock, Timers } from './poller';
import {
    type AttrRecord,
    type MeterTransport,
    type ReadOptions,
    TransportError,
    type TransportState,
} from './transport';

/** A small seedable PRNG (a 32-bit multiply-xorshift generator); returns floats in [0, 1). */
export function createRng(seed: number): () => number {
    let s = seed >>> 0 || 0x9e3779b9;
    return () => {
        s = (s + 0x6d2b79f5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** A stateless hash of (seed, n) to [0, 1): the same minute always gets the same appliances. */
function hash01(seed: number, n: number): number {
    let h = (seed ^ Math.imul(n | 0, 0x9e3779b1) ^ Math.imul(Math.floor(n / 4294967296), 0x85ebca6b)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> 0) / 4294967296;
}

export type SimBehaviour =
    | { kind: 'ok'; latencyMs?: number }
    /** No answer: rejects with a timeout after options.timeoutMs (or when aborted). */
    | { kind: 'lose' }
    /** Ignores the timeout and the abort signal; answers normally after `ms`. */
    | { kind: 'hang'; ms: number }
    | { kind: 'decode' }
    /** The whole request fails with a ZCL status (like herdsman `read()` throwing). */
    | { kind: 'status'; status?: number }
    /** These attributes answer with an error status (default 0x86 UNSUPPORTED_ATTRIBUTE). */
    | { kind: 'unsupported'; ids: number[]; status?: number }
    /** These attributes carry their type's invalid value. */
    | { kind: 'sentinel'; ids: number[] }
    /** These attributes carry a value of the wrong type (a string with type octet string). */
    | { kind: 'wrong-type'; ids: number[] };

export interface SimulatorOptions {
    clock?: Clock;
    timers?: Timers;
    seed?: number;
    /** Random latency range in ms (default 30-400). */
    latencyMs?: [number, number];
    /** Probability a read gets no answer (default 0). */
    lossRate?: number;
    /** Probability a read gets a corrupt answer (default 0). */
    corruptRate?: number;
    multiplier?: number;
    divisor?: number;
    /** UnitofMeasure (default 0x00 kW/kWh; 0x80 = the same in BCD). */
    unit?: number;
    summationFormatting?: number;
    demandFormatting?: number;
    deviceType?: number;
    meterStatus?: number;
    /** Attributes the meter does not implement (answered 0x86). */
    unsupported?: number[];
    /** Summation delivered at the simulator's creation time, in kWh (default 12345.678). */
    initialKWh?: number;
    baseLoadKw?: number;
    /** Peak of the midday solar production (default 0 = no PV). */
    solarPeakKw?: number;
    /** Offset of local time from UTC for the daily shape, in hours (default 0). */
    utcOffsetHours?: number;
    /** Times (epoch ms) when the link is down: [from, to). */
    downPeriods?: Array<{ from: number; to: number }>;
}

export interface SimCall {
    at: number;
    op: 'readAttributes' | 'reconnect';
    ids?: number[];
    timeoutMs?: number;
    outcome?: string;
}

const APPLIANCES = [
    { name: 'kettle', kw: 2.2, minutes: 3, perHour: 0.5 },
    { name: 'microwave', kw: 1.1, minutes: 4, perHour: 0.3 },
    { name: 'oven', kw: 2.4, minutes: 40, perHour: 0.05 },
    { name: 'washer', kw: 1.8, minutes: 30, perHour: 0.06 },
    { name: 'dryer', kw: 2.8, minutes: 45, perHour: 0.03 },
] as const;

/** How likely people start appliances at a local hour: rarely at night, most in the morning and evening. */
function activity(hour: number): number {
    if (hour < 6) return 0.05;
    if (hour < 9) return 1.2;
    if (hour < 17) return 0.7;
    if (hour < 22) return 1.5;
    return 0.5;
}

const defaultTimers: Timers = {
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Encodes a non-negative integer as BCD (one decimal digit per nibble). */
export function encodeBcd(n: number): number {
    let out = 0;
    let place = 1;
    let rest = Math.floor(Math.abs(n));
    do {
        out += (rest % 10) * place;
        place *= 16;
        rest = Math.floor(rest / 10);
    } while (rest > 0);
    return out;
}

export class MeterSimulator implements MeterTransport {
    readonly calls: SimCall[] = [];
    readonly options: Readonly<SimulatorOptions>;
    readonly #clock: Clock;
    readonly #timers: Timers;
    readonly #rng: () => number;
    readonly #seed: number;
    readonly #listeners = new Set<(s: TransportState) => void>();
    readonly #script: SimBehaviour[] = [];
    #state: TransportState = 'ready';
    #forcedDown = false;
    #wedged = false;
    #integratedTo: number;
    #deliveredKWh: number;
    #receivedKWh = 0;

    constructor(options: SimulatorOptions = {}) {
        this.options = { ...options };
        this.#clock = options.clock ?? { now: () => Date.now() };
        this.#timers = options.timers ?? defaultTimers;
        this.#seed = (options.seed ?? 1) >>> 0;
        this.#rng = createRng(this.#seed);
        this.#integratedTo = this.#clock.now();
        this.#deliveredKWh = options.initialKWh ?? 12345.678;
    }

    // --- the load model -------------------------------------------------------------------------------------

    /** Demand in kW at time t (positive = import, negative = export). */
    demandKw(t: number): number {
        const hour = (((t / 3600_000 + (this.options.utcOffsetHours ?? 0)) % 24) + 24) % 24;
        const bump = (centre: number, width: number, height: number) =>
            height * Math.exp(-(((hour - centre) / width) ** 2));
        let kw = (this.options.baseLoadKw ?? 0.25) + bump(7.5, 1.2, 0.8) + bump(19, 2, 1.5) + bump(13, 1.5, 0.3);
        // fridge compressor: 20 min on, 25 min off
        if (Math.floor(t / 60_000) % 45 < 20) kw += 0.12;
        const minute = Math.floor(t / 60_000);
        for (const [i, a] of APPLIANCES.entries()) {
            for (let back = 0; back < a.minutes; back++) {
                const startHour = (((hour - back / 60) % 24) + 24) % 24;
                if (hash01(this.#seed + i * 7919, minute - back) < (a.perHour / 60) * activity(startHour)) {
                    kw += a.kw;
                    break;
                }
            }
        }
        const solar = this.options.solarPeakKw ?? 0;
        if (solar > 0 && hour > 6 && hour < 20) kw -= solar * Math.sin(((hour - 6) / 14) * Math.PI) ** 2;
        return kw;
    }

    /** Advances the energy registers to `t` (1 s steps of the demand curve). */
    #integrate(t: number): void {
        while (this.#integratedTo < t) {
            const step = Math.min(1000, t - this.#integratedTo);
            const kw = this.demandKw(this.#integratedTo + step / 2);
            const kWh = (kw * step) / 3600_000;
            if (kWh >= 0) this.#deliveredKWh += kWh;
            else this.#receivedKWh -= kWh;
            this.#integratedTo += step;
        }
    }

    /** Summation delivered at the current time, in kWh. */
    deliveredKWh(): number {
        this.#integrate(this.#clock.now());
        return this.#deliveredKWh;
    }

    /** Sets the register (e.g. a meter swap makes it drop). */
    setDeliveredKWh(kWh: number): void {
        this.#integrate(this.#clock.now());
        this.#deliveredKWh = kWh;
    }

    // --- fault control --------------------------------------------------------------------------------------

    /** Queues behaviours for the next reads, one per read. */
    script(...behaviours: SimBehaviour[]): void {
        this.#script.push(...behaviours);
    }

    setDown(down: boolean): void {
        this.#forcedDown = down;
        this.state();
    }

    /** From now on no read is answered until reconnect() is called. */
    wedge(): void {
        this.#wedged = true;
    }

    // --- MeterTransport -------------------------------------------------------------------------------------

    state(): TransportState {
        const now = this.#clock.now();
        const inPeriod = (this.options.downPeriods ?? []).some((p) => now >= p.from && now < p.to);
        const next: TransportState = this.#forcedDown || inPeriod ? 'down' : 'ready';
        if (next !== this.#state) {
            this.#state = next;
            for (const l of this.#listeners) l(next);
        }
        return this.#state;
    }

    onState(listener: (state: TransportState) => void): () => void {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
    }

    async reconnect(): Promise<void> {
        this.calls.push({ at: this.#clock.now(), op: 'reconnect' });
        this.#wedged = false;
    }

    readAttributes(ids: readonly number[], options: ReadOptions): Promise<AttrRecord[]> {
        const call: SimCall = {
            at: this.#clock.now(),
            op: 'readAttributes',
            ids: [...ids],
            timeoutMs: options.timeoutMs,
        };
        this.calls.push(call);
        if (this.state() === 'down') {
            call.outcome = 'unavailable';
            return Promise.reject(new TransportError('unavailable', 'simulated meter link is down'));
        }
        const b = this.#nextBehaviour();
        call.outcome = b.kind;
        if (b.kind === 'lose') return this.#lose(options);
        return new Promise((resolve, reject) => {
            const latency =
                b.kind === 'hang' ? b.ms : b.kind === 'ok' && b.latencyMs !== undefined ? b.latencyMs : this.#latency();
            let done = false;
            const onAbort = () => {
                if (done || b.kind === 'hang') return;
                done = true;
                this.#timers.clearTimeout(handle);
                reject(new TransportError('timeout', 'read aborted'));
            };
            const handle = this.#timers.setTimeout(() => {
                if (done) return;
                done = true;
                options.signal?.removeEventListener('abort', onAbort);
                if (b.kind === 'decode') reject(new TransportError('decode', 'simulated truncated readRsp'));
                else if (b.kind === 'status') {
                    const s = b.status ?? ZCL_STATUS.FAILURE;
                    reject(new TransportError('status', `simulated ZCL status 0x${s.toString(16)}`));
                } else resolve(this.#answer(ids, b));
            }, latency);
            options.signal?.addEventListener('abort', onAbort, { once: true });
        });
    }

    #lose(options: ReadOptions): Promise<AttrRecord[]> {
        return new Promise((_resolve, reject) => {
            const handle = this.#timers.setTimeout(
                () => reject(new TransportError('timeout', `simulated loss: no answer in ${options.timeoutMs} ms`)),
                options.timeoutMs,
            );
            options.signal?.addEventListener(
                'abort',
                () => {
                    this.#timers.clearTimeout(handle);
                    reject(new TransportError('timeout', 'read aborted'));
                },
                { once: true },
            );
        });
    }

    #latency(): number {
        const [lo, hi] = this.options.latencyMs ?? [30, 400];
        return Math.round(lo + this.#rng() * (hi - lo));
    }

    #nextBehaviour(): SimBehaviour {
        const scripted = this.#script.shift();
        if (scripted) return scripted;
        if (this.#wedged) return { kind: 'lose' };
        if (this.#rng() < (this.options.lossRate ?? 0)) return { kind: 'lose' };
        if (this.#rng() < (this.options.corruptRate ?? 0)) {
            const pick = Math.floor(this.#rng() * 5);
            const target = this.#rng() < 0.5 ? ATTR.CurrentSummationDelivered : ATTR.InstantaneousDemand;
            if (pick === 0) return { kind: 'decode' };
            if (pick === 1) return { kind: 'status' };
            if (pick === 2) return { kind: 'sentinel', ids: [target] };
            if (pick === 3) return { kind: 'wrong-type', ids: [target] };
            return { kind: 'unsupported', ids: [target], status: ZCL_STATUS.HARDWARE_FAILURE };
        }
        return { kind: 'ok' };
    }

    #value(id: number): { type: number; raw: number } | undefined {
        const o = this.options;
        const mult = o.multiplier ?? 1;
        const div = o.divisor ?? 1000;
        const unit = o.unit ?? 0x00;
        const bcd = (unit & 0x80) !== 0;
        const register = (kWh: number) => {
            const n = Math.round((kWh * div) / mult) % 1e12;
            return bcd ? encodeBcd(n) : n;
        };
        switch (id) {
            case ATTR.CurrentSummationDelivered:
                return { type: ZCL_TYPE.uint48, raw: register(this.deliveredKWh()) };
            case ATTR.CurrentSummationReceived:
                this.#integrate(this.#clock.now());
                return { type: ZCL_TYPE.uint48, raw: register(this.#receivedKWh) };
            case ATTR.InstantaneousDemand: {
                const n = Math.max(
                    -0x7fffff,
                    Math.min(0x7fffff, Math.round((this.demandKw(this.#clock.now()) * div) / mult)),
                );
                return { type: ZCL_TYPE.int24, raw: bcd ? encodeBcd(Math.abs(n) % 1e6) : n };
            }
            case ATTR.Status:
                return { type: ZCL_TYPE.bitmap8, raw: o.meterStatus ?? 0 };
            case ATTR.UnitofMeasure:
                return { type: ZCL_TYPE.enum8, raw: unit };
            case ATTR.Multiplier:
                return o.multiplier === 0 ? undefined : { type: ZCL_TYPE.uint24, raw: mult };
            case ATTR.Divisor:
                return o.divisor === 0 ? undefined : { type: ZCL_TYPE.uint24, raw: div };
            case ATTR.SummationFormatting:
                return { type: ZCL_TYPE.bitmap8, raw: o.summationFormatting ?? 0x33 };
            case ATTR.DemandFormatting:
                return { type: ZCL_TYPE.bitmap8, raw: o.demandFormatting ?? 0x33 };
            case ATTR.MeteringDeviceType:
                return { type: ZCL_TYPE.bitmap8, raw: o.deviceType ?? 0 };
            default:
                return undefined;
        }
    }

    #answer(ids: readonly number[], b: SimBehaviour): AttrRecord[] {
        return ids.map((id): AttrRecord => {
            if (b.kind === 'unsupported' && b.ids.includes(id)) {
                return { id, status: b.status ?? ZCL_STATUS.UNSUPPORTED_ATTRIBUTE };
            }
            const v = this.options.unsupported?.includes(id) ? undefined : this.#value(id);
            if (!v) return { id, status: ZCL_STATUS.UNSUPPORTED_ATTRIBUTE };
            if (b.kind === 'sentinel' && b.ids.includes(id)) {
                return {
                    id,
                    status: 0,
                    type: v.type,
                    raw: v.type === ZCL_TYPE.int24 ? SENTINEL.int24 : SENTINEL.uint48,
                };
            }
            if (b.kind === 'wrong-type' && b.ids.includes(id)) return { id, status: 0, type: 0x41, raw: 'garbage' };
            return { id, status: 0, type: v.type, raw: v.raw };
        });
    }
}
