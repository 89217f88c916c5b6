/**
 * The meter poller (design note zigbee-sep §9.1 layer 4; seed 004, LBNL OpenSEG): queries one meter through a
 * read-only `MeterTransport` once per wall-clock-aligned slot and turns every slot into exactly one record.
 *
 * - Slots: `slot = floor(now / intervalMs)`; the query for a slot is sent at its start. One setTimeout is armed per
 *   slot boundary (no setInterval, so no drift); timers are unref'd when the host supports it.
 * - Single flight: while a query is unsettled (the transport has not resolved or rejected it) the next slot is
 *   recorded as missing 'overrun' and nothing is queued.
 * - Time tag: `responseAt` is the clock reading when the answer arrived; `requestAt` is the clock reading when the
 *   query was sent, which is the slot start to within the timer's latency.
 * - Every slot yields a record: ok, partial (some attributes answered with an error status), invalid (a value was a
 *   sentinel, had the wrong type or bad BCD: never turned into a number), or missing with a reason.
 * - Recovery: after K consecutive failures the scaling attributes are read again; every M consecutive failures the
 *   transport is asked to reconnect. The scaling set is also read at start and after every reconnect.
 * - Power loss: `{lastSlot, lastGood, stats}` is saved through `store` after every slot. On start, the slots nobody
 *   recorded are reported as missing 'gateway-offline' (one gap record beyond `gapCap` slots).
 *
 * Nothing here imports Node-RED or herdsman; clock, timers, store and transport are injected.
 */

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import {
    ATTR,
    attributeKey,
    DEFAULT_READING_ATTRIBUTES,
    MIN_POLL_INTERVAL_MS,
    SCALING_ATTRIBUTES,
    ZCL_STATUS,
    ZCL_STATUS_NAMES,
} from './attributes';
import {
    type Decoded,
    decodeByte,
    decodeDemand,
    decodeFactor,
    decodeSummation,
    isElectricUnit,
    type RawValue,
    type ScalingOverride,
    type ScalingSource,
    scale,
    statusFlags,
    unitNames,
    validate,
} from './convert';
import { type AttrRecord, type MeterTransport, TransportError, type TransportErrorKind } from './transport';

export interface Clock {
    now(): number;
}

export interface Timers {
    setTimeout(fn: () => void, ms: number): unknown;
    clearTimeout(handle: unknown): void;
}

export interface PollerStore {
    load(): PollerState | undefined;
    save(state: PollerState): void;
}

export type SlotStatus = 'ok' | 'partial' | 'missing' | 'invalid';

export type MissingReason =
    | 'timeout'
    | 'decode'
    | 'unavailable'
    | 'other'
    | 'status'
    | 'overrun'
    | 'transport-down'
    | 'transport-connecting'
    | 'gateway-offline'
    | 'timer-late';

/** One attribute as it came back: ZCL status (null when the answer left it out), type and raw value. */
export interface RawAttribute {
    id: number;
    status: number | null;
    type?: number;
    value?: number | string | null;
}

export interface ScalingInfo {
    multiplier?: number;
    divisor?: number;
    unit?: number;
    unitName: string;
    /** Where the summation's scaling came from. */
    source: ScalingSource;
    /** Where the demand's scaling came from (DemandFormatting is optional, so it can differ). */
    demandSource: ScalingSource;
    summationFormatting?: number;
    demandFormatting?: number;
    deviceType?: number;
    /** The unit could not be read; kWh/kW are assumed. */
    unitAssumed?: boolean;
}

export interface SlotRecord {
    kind: 'slot';
    slot: number;
    /** ISO UTC start of the slot (slot × interval). */
    slotStart: string;
    /** ISO UTC time the query was sent; null when no query was sent for the slot. */
    requestAt: string | null;
    /** The time tag: ISO UTC time the answer arrived; null without an answer. */
    responseAt: string | null;
    rttMs: number | null;
    status: SlotStatus;
    reason?: string;
    /** For missing slots: why. */
    missing?: MissingReason;
    /** 'suspect' when the summation went down against the last good one. */
    quality?: 'good' | 'suspect';
    /** The answer arrived more than `lateAfterMs` after the slot start. */
    late?: boolean;
    /** Electric meters: scaled summation delivered (kWh) and demand (kW). */
    kWh?: number;
    kW?: number;
    kWhReceived?: number;
    /** The same scaled values in the meter's own unit (scaling.unitName). */
    summation?: number;
    demand?: number;
    summationReceived?: number;
    raw: Record<string, RawAttribute>;
    meterStatus?: { raw: number; flags: string[] };
    scaling: ScalingInfo;
}

/** Stands for `count` consecutive missing slots when there are more than `gapCap` of them. */
export interface GapRecord {
    kind: 'gap';
    status: 'missing';
    missing: 'gateway-offline' | 'timer-late';
    fromSlot: number;
    toSlot: number;
    count: number;
    from: string;
    to: string;
}

export type PollerRecord = SlotRecord | GapRecord;

export interface Counters {
    /** Slots accounted for (records, plus the slots inside gap records). */
    slots: number;
    /** Queries that came to an end (answered, failed or timed out). */
    totalQueries: number;
    ok: number;
    partial: number;
    /** Queries without an answer: timeout, decode, unavailable, other. */
    lost: number;
    /** Queries where every requested attribute came back with an error status. */
    statusErrors: number;
    /** Queries whose answer carried an invalid value (sentinel, wrong type, bad BCD). */
    invalidValues: number;
    suspectValues: number;
    /** Slots without a query while running: overrun, transport down/connecting, late timers. */
    missedSlots: number;
    /** Slots that passed while the gateway was not running. */
    offlineSlots: number;
    /** Answers tagged more than `lateAfterMs` after their slot start. */
    lateResponses: number;
    /** Answers that arrived after the poller had given up on them. */
    discardedAnswers: number;
    abandonedQueries: number;
    rereads: number;
    reconnects: number;
}

export interface PollerStats extends Counters {
    consecutiveFailures: number;
    lastOkAt: string | null;
    restarts: number;
    outageGaps: number;
    lostByKind: Record<TransportErrorKind, number>;
    /** Queries sent whose outcome is not known yet (0 or 1). */
    pending: number;
    /** The same counters since this start. */
    session: Counters;
}

export interface LastGood {
    slot: number;
    at: string;
    summation?: number;
    demand?: number;
    summationReceived?: number;
}

export interface PollerState {
    version: 1;
    intervalMs: number;
    lastSlot: number;
    lastGood?: LastGood;
    stats: Omit<PollerStats, 'pending' | 'session'>;
}

export interface PollerOptions {
    transport: MeterTransport;
    intervalMs: number;
    /** Default min(5000, intervalMs − 1500); must be below intervalMs. */
    timeoutMs?: number;
    /** Read every slot. Default: CurrentSummationDelivered, InstantaneousDemand, Status. */
    attributes?: readonly number[];
    scalingOverride?: ScalingOverride;
    clock?: Clock;
    timers?: Timers;
    store?: PollerStore;
    /** Emit stats every N slots (default 10; 0 = never on its own). */
    statsEverySlots?: number;
    /** K: consecutive failures before re-reading the scaling attributes (default 3). */
    rereadAfter?: number;
    /** M: consecutive failures between reconnect requests (default 10). */
    reconnectAfter?: number;
    /** More missing slots than this in a row become one gap record (default 1000). */
    gapCap?: number;
    /** A start this close to a slot start still polls that slot (default 1000 ms). */
    startGraceMs?: number;
    /** Answers later than this after the slot start count as late (default 1000 ms, OpenSEG's 1 s). */
    lateAfterMs?: number;
    /** A query still unsettled after this many further slot boundaries is abandoned (default 3). */
    abandonAfterSlots?: number;
    /** Re-read the scaling attributes this often (default 6 h; 0 = only at start and after reconnects). */
    scalingRefreshMs?: number;
    /** Consecutive non-decreasing suspect summations after which they become the new baseline (default 3). */
    rebaseAfter?: number;
    onRecord?: (record: PollerRecord) => void;
    onStats?: (stats: PollerStats) => void;
    onLog?: (level: 'info' | 'warn', message: string) => void;
}

const READING_FIELDS: Readonly<Record<number, 'summation' | 'demand' | 'summationReceived'>> = {
    [ATTR.CurrentSummationDelivered]: 'summation',
    [ATTR.InstantaneousDemand]: 'demand',
    [ATTR.CurrentSummationReceived]: 'summationReceived',
};

const newCounters = (): Counters => ({
    slots: 0,
    totalQueries: 0,
    ok: 0,
    partial: 0,
    lost: 0,
    statusErrors: 0,
    invalidValues: 0,
    suspectValues: 0,
    missedSlots: 0,
    offlineSlots: 0,
    lateResponses: 0,
    discardedAnswers: 0,
    abandonedQueries: 0,
    rereads: 0,
    reconnects: 0,
});

type Persistent = Omit<PollerStats, 'pending' | 'session'>;

const newPersistent = (): Persistent => ({
    ...newCounters(),
    consecutiveFailures: 0,
    lastOkAt: null,
    restarts: 0,
    outageGaps: 0,
    lostByKind: { timeout: 0, decode: 0, status: 0, unavailable: 0, other: 0 },
});

const defaultTimers: Timers = {
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Keeps the state in memory: enough for tests and for runs that need no power-loss recovery. */
export class MemoryStore implements PollerStore {
    state: PollerState | undefined;
    saves = 0;
    load(): PollerState | undefined {
        return this.state ? structuredClone(this.state) : undefined;
    }
    save(state: PollerState): void {
        this.state = structuredClone(state);
        this.saves++;
    }
}

/** Keeps the state in a JSON file, written atomically (temp file, fsync, rename) so a power cut leaves either one. */
export class FileStore implements PollerStore {
    constructor(readonly path: string) {}
    load(): PollerState | undefined {
        try {
            return JSON.parse(readFileSync(this.path, 'utf8')) as PollerState;
        } catch {
            return undefined;
        }
    }
    save(state: PollerState): void {
        const tmp = `${this.path}.tmp`;
        const fd = openSync(tmp, 'w');
        try {
            writeSync(fd, JSON.stringify(state));
            fsyncSync(fd);
        } finally {
            closeSync(fd);
        }
        renameSync(tmp, this.path);
    }
}

const FLOOR_EXPLANATION =
    'the LBNL OpenSEG gateway specification (after ZigBee SEP 1.0) allows meter queries "at rates up to once every ' +
    '7 sec."; a smart meter refreshes its registers no faster, and faster polling only loads the utility HAN';

function isState(x: unknown): x is PollerState {
    if (!x || typeof x !== 'object') return false;
    const s = x as Partial<PollerState>;
    return (
        s.version === 1 &&
        typeof s.intervalMs === 'number' &&
        s.intervalMs > 0 &&
        typeof s.lastSlot === 'number' &&
        Number.isFinite(s.lastSlot) &&
        typeof s.stats === 'object' &&
        s.stats !== null
    );
}

function jsonable(raw: RawValue): number | string | null | undefined {
    if (typeof raw === 'bigint') return Number.isSafeInteger(Number(raw)) ? Number(raw) : raw.toString();
    if (typeof raw === 'number' && Number.isNaN(raw)) return 'NaN';
    return raw;
}

const statusText = (s: number | null) =>
    s === null ? 'absent' : `0x${s.toString(16).padStart(2, '0')} ${ZCL_STATUS_NAMES[s] ?? 'ERROR'}`;

interface Flight {
    slot: number;
    abort: AbortController;
    boundaries: number;
}

interface ScalingState {
    unit?: number;
    multiplier?: number;
    divisor?: number;
    summationFormatting?: number;
    demandFormatting?: number;
    deviceType?: number;
    readAt?: number;
}

export class Poller {
    readonly intervalMs: number;
    readonly timeoutMs: number;
    readonly attributes: readonly number[];
    readonly #o: Required<
        Pick<
            PollerOptions,
            | 'statsEverySlots'
            | 'rereadAfter'
            | 'reconnectAfter'
            | 'gapCap'
            | 'startGraceMs'
            | 'lateAfterMs'
            | 'abandonAfterSlots'
            | 'scalingRefreshMs'
            | 'rebaseAfter'
        >
    >;
    readonly #transport: MeterTransport;
    readonly #clock: Clock;
    readonly #timers: Timers;
    readonly #store: PollerStore;
    readonly #override?: ScalingOverride;
    readonly #onRecord?: (record: PollerRecord) => void;
    readonly #onStats?: (stats: PollerStats) => void;
    readonly #onLog?: (level: 'info' | 'warn', message: string) => void;

    #running = false;
    #epoch = 0;
    #timer: unknown;
    #nextSlot = 0;
    #lastSlot = -1;
    #flight: Flight | undefined;
    #pending = 0;
    #scaling: ScalingState = {};
    #scalingNeeded = true;
    #reconnecting = false;
    #lastState: string | undefined;
    #unsubscribe: (() => void) | undefined;
    #stats: Persistent = newPersistent();
    #session: Counters = newCounters();
    #lastGood: LastGood | undefined;
    #suspectRun: { count: number; last: number } | undefined;
    #slotsSinceStats = 0;

    constructor(options: PollerOptions) {
        const interval = options.intervalMs;
        if (!Number.isFinite(interval) || interval < MIN_POLL_INTERVAL_MS) {
            throw new RangeError(
                `Poll interval ${interval} ms is below the ${MIN_POLL_INTERVAL_MS} ms floor: ${FLOOR_EXPLANATION}.`,
            );
        }
        this.intervalMs = Math.round(interval);
        this.timeoutMs = options.timeoutMs ?? Math.min(5000, this.intervalMs - 1500);
        if (!(this.timeoutMs > 0 && this.timeoutMs < this.intervalMs)) {
            throw new RangeError(
                `Read timeout ${this.timeoutMs} ms must be above 0 and below the poll interval (${this.intervalMs} ms), ` +
                    'so a slot is settled before the next one starts.',
            );
        }
        const attrs = options.attributes ?? DEFAULT_READING_ATTRIBUTES;
        if (attrs.length === 0 || attrs.some((a) => !Number.isInteger(a) || a < 0 || a > 0xffff)) {
            throw new RangeError('attributes must be a non-empty list of 16-bit attribute IDs');
        }
        this.attributes = [...new Set(attrs)];
        const o = options.scalingOverride;
        if (o) {
            for (const [k, v] of Object.entries(o)) {
                if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
                    throw new RangeError(`scalingOverride.${k} must be a positive number`);
                }
            }
            if (o.multiplier !== undefined || o.divisor !== undefined) this.#override = { ...o };
        }
        this.#o = {
            statsEverySlots: options.statsEverySlots ?? 10,
            rereadAfter: options.rereadAfter ?? 3,
            reconnectAfter: options.reconnectAfter ?? 10,
            gapCap: options.gapCap ?? 1000,
            startGraceMs: options.startGraceMs ?? 1000,
            lateAfterMs: options.lateAfterMs ?? 1000,
            abandonAfterSlots: options.abandonAfterSlots ?? 3,
            scalingRefreshMs: options.scalingRefreshMs ?? 6 * 3600_000,
            rebaseAfter: options.rebaseAfter ?? 3,
        };
        this.#transport = options.transport;
        this.#clock = options.clock ?? { now: () => Date.now() };
        this.#timers = options.timers ?? defaultTimers;
        this.#store = options.store ?? new MemoryStore();
        this.#onRecord = options.onRecord;
        this.#onStats = options.onStats;
        this.#onLog = options.onLog;
    }

    get running(): boolean {
        return this.#running;
    }

    /** The scaling attributes as last read. */
    scaling(): ScalingInfo {
        return this.#scalingInfo('meter', 'meter');
    }

    /** A snapshot of the cumulative stats (persisted across restarts) and this session's counters. */
    stats(): PollerStats {
        return structuredClone({ ...this.#stats, pending: this.#pending, session: this.#session });
    }

    /** Sends the current stats to onStats and returns them. */
    emitStats(): PollerStats {
        const s = this.stats();
        this.#slotsSinceStats = 0;
        this.#safe(() => this.#onStats?.(s));
        return s;
    }

    start(): void {
        if (this.#running) return;
        this.#running = true;
        this.#epoch++;
        this.#session = newCounters();
        this.#scalingNeeded = true;
        this.#suspectRun = undefined;
        const now = this.#clock.now();
        const current = Math.floor(now / this.intervalMs);
        let first = now - current * this.intervalMs <= this.#o.startGraceMs ? current : current + 1;

        let loaded: unknown;
        try {
            loaded = this.#store.load();
        } catch (err) {
            this.#log('warn', `could not load the poller state: ${(err as Error).message}`);
        }
        let gapFrom: number | undefined;
        if (isState(loaded)) {
            this.#stats = { ...newPersistent(), ...loaded.stats };
            this.#stats.lostByKind = { ...newPersistent().lostByKind, ...loaded.stats.lostByKind };
            this.#stats.restarts++;
            this.#lastGood = loaded.lastGood;
            const firstUncovered = Math.ceil(((loaded.lastSlot + 1) * loaded.intervalMs) / this.intervalMs);
            if (firstUncovered > current + 1) {
                this.#log('warn', 'the clock is behind the saved state; not reporting an offline gap');
            } else if (firstUncovered > first) {
                first = firstUncovered;
            } else if (firstUncovered < first) {
                gapFrom = firstUncovered;
            }
        } else if (loaded !== undefined) {
            this.#log('warn', 'ignoring a saved poller state that does not look like one');
        }

        this.#lastState = this.#safeState();
        this.#unsubscribe = this.#transport.onState((s) => this.#stateChanged(s));
        this.#lastSlot = first - 1;
        this.#nextSlot = first;
        if (gapFrom !== undefined) {
            this.#stats.outageGaps++;
            this.#missingRun(gapFrom, first - 1, 'gateway-offline');
        }
        this.#save();
        if (first === current) {
            this.#nextSlot = current + 1;
            this.#arm();
            this.#runSlot(current);
        } else {
            this.#arm();
        }
    }

    stop(): void {
        if (!this.#running) return;
        this.#running = false;
        this.#epoch++;
        if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#flight?.abort.abort();
        this.#flight = undefined;
        this.#pending = 0;
        this.#unsubscribe?.();
        this.#unsubscribe = undefined;
        this.#save();
    }

    // --- scheduling -----------------------------------------------------------------------------------------

    #setTimer(fn: () => void, ms: number): unknown {
        const h = this.#timers.setTimeout(fn, ms);
        const u = h as { unref?: () => void } | null;
        if (u && typeof u === 'object' && typeof u.unref === 'function') u.unref();
        return h;
    }

    #arm(): void {
        const delay = Math.max(0, this.#nextSlot * this.intervalMs - this.#clock.now());
        this.#timer = this.#setTimer(() => this.#boundary(), delay);
    }

    #boundary(): void {
        this.#timer = undefined;
        if (!this.#running) return;
        const current = Math.floor(this.#clock.now() / this.intervalMs);
        if (current < this.#nextSlot) {
            this.#arm();
            return;
        }
        const slot = this.#nextSlot;
        this.#nextSlot = current + 1;
        this.#arm();
        if (current > slot) this.#missingRun(slot, current - 1, 'timer-late');
        this.#runSlot(current);
    }

    // --- one slot -------------------------------------------------------------------------------------------

    #runSlot(slot: number): void {
        if (this.#flight) {
            this.#flight.boundaries++;
            if (this.#flight.boundaries > this.#o.abandonAfterSlots) {
                this.#log('warn', `abandoning the query of slot ${this.#flight.slot}: still unanswered`);
                this.#flight.abort.abort();
                this.#flight = undefined;
                this.#count('abandonedQueries');
            } else {
                this.#count('missedSlots');
                this.#emit(this.#missingRecord(slot, 'overrun', 'the previous query is still in flight'));
                return;
            }
        }
        const state = this.#safeState();
        if (state !== 'ready') {
            const reason = state === 'down' ? 'transport-down' : 'transport-connecting';
            this.#count('missedSlots');
            this.#emit(this.#missingRecord(slot, reason, `transport ${state}`));
            this.#failure();
            return;
        }
        const refresh =
            this.#o.scalingRefreshMs > 0 &&
            this.#scaling.readAt !== undefined &&
            this.#clock.now() - this.#scaling.readAt >= this.#o.scalingRefreshMs;
        const withScaling = this.#scalingNeeded || refresh;
        const ids = withScaling
            ? [...this.attributes, ...SCALING_ATTRIBUTES.filter((a) => !this.attributes.includes(a))]
            : [...this.attributes];

        const epoch = this.#epoch;
        const abort = new AbortController();
        const flight: Flight = { slot, abort, boundaries: 0 };
        this.#flight = flight;
        this.#pending = 1;
        let settled = false;
        const requestAt = this.#clock.now();
        const live = () => this.#running && this.#epoch === epoch;

        const timeout = this.#setTimer(() => {
            if (settled || !live()) return;
            settled = true;
            this.#pending = 0;
            abort.abort();
            this.#lost(slot, requestAt, 'timeout', `no answer within ${this.timeoutMs} ms`);
        }, this.timeoutMs);

        let p: Promise<AttrRecord[]>;
        try {
            p = this.#transport.readAttributes(ids, { timeoutMs: this.timeoutMs, signal: abort.signal });
        } catch (err) {
            p = Promise.reject(err);
        }
        p.then(
            (records) => {
                const at = this.#clock.now();
                if (!live()) return;
                if (settled) {
                    this.#count('discardedAnswers');
                    return;
                }
                settled = true;
                this.#pending = 0;
                this.#timers.clearTimeout(timeout);
                this.#answer(slot, requestAt, at, ids, Array.isArray(records) ? records : [], withScaling);
            },
            (err: unknown) => {
                if (!live() || settled) return;
                settled = true;
                this.#pending = 0;
                this.#timers.clearTimeout(timeout);
                const kind: TransportErrorKind = err instanceof TransportError ? err.kind : 'other';
                const message = err instanceof Error ? err.message : String(err);
                if (kind === 'status') {
                    this.#count('totalQueries');
                    this.#count('statusErrors');
                    this.#stats.lostByKind.status++;
                    this.#emit(this.#missingRecord(slot, 'status', message, requestAt));
                    this.#failure();
                } else {
                    this.#lost(slot, requestAt, kind, message);
                }
            },
        )
            .catch((err: unknown) => this.#log('warn', `poller error: ${(err as Error)?.message ?? err}`))
            .finally(() => {
                if (this.#flight === flight) this.#flight = undefined;
            });
    }

    #lost(slot: number, requestAt: number, kind: TransportErrorKind, message: string): void {
        this.#count('totalQueries');
        this.#count('lost');
        this.#stats.lostByKind[kind]++;
        this.#emit(this.#missingRecord(slot, kind as MissingReason, message, requestAt));
        this.#failure();
    }

    #answer(
        slot: number,
        requestAt: number,
        responseAt: number,
        ids: readonly number[],
        records: readonly AttrRecord[],
        withScaling: boolean,
    ): void {
        const byId = new Map<number, AttrRecord>();
        for (const r of records) if (r && typeof r.id === 'number') byId.set(r.id, r);
        const raw: Record<string, RawAttribute> = {};
        for (const id of ids) {
            const r = byId.get(id);
            const entry: RawAttribute = { id, status: r ? r.status : null };
            if (r?.type !== undefined) entry.type = r.type;
            if (r && r.raw !== undefined) entry.value = jsonable(r.raw);
            raw[attributeKey(id)] = entry;
        }
        const good = (id: number) => {
            const r = byId.get(id);
            return r && r.status === ZCL_STATUS.SUCCESS ? r : undefined;
        };

        if (withScaling) {
            const s: ScalingState = { readAt: responseAt };
            const byte = (id: number) => {
                const r = good(id);
                return r ? decodeByte(r.raw) : undefined;
            };
            s.unit = byte(ATTR.UnitofMeasure);
            const m = good(ATTR.Multiplier);
            const d = good(ATTR.Divisor);
            s.multiplier = m ? decodeFactor(m.raw, m.type) : undefined;
            s.divisor = d ? decodeFactor(d.raw, d.type) : undefined;
            s.summationFormatting = byte(ATTR.SummationFormatting);
            s.demandFormatting = byte(ATTR.DemandFormatting);
            s.deviceType = byte(ATTR.MeteringDeviceType);
            this.#scaling = s;
            this.#scalingNeeded = false;
        }

        const record = this.#baseRecord(slot, requestAt, responseAt);
        record.raw = raw;
        const statusRec = good(ATTR.Status);
        const statusByte = statusRec ? decodeByte(statusRec.raw) : undefined;
        if (statusByte !== undefined) record.meterStatus = { raw: statusByte, flags: statusFlags(statusByte) };

        const failedStatus = this.attributes.filter((id) => !good(id));
        if (failedStatus.length === this.attributes.length) {
            this.#count('totalQueries');
            this.#count('statusErrors');
            record.status = 'missing';
            record.missing = 'status';
            record.reason = failedStatus
                .map((id) => `${attributeKey(id)}: ${statusText(raw[attributeKey(id)]?.status ?? null)}`)
                .join('; ');
            this.#emit(record);
            this.#failure();
            return;
        }

        const unit = this.#scaling.unit;
        const decoded: Record<string, Decoded | undefined> = {};
        const values: Partial<Record<'summation' | 'demand' | 'summationReceived', number>> = {};
        let summationSource: ScalingSource | undefined;
        let demandSource: ScalingSource | undefined;
        for (const id of this.attributes) {
            const field = READING_FIELDS[id];
            const r = good(id);
            if (!field || !r) continue;
            const d = field === 'demand' ? decodeDemand(r.raw, unit, r.type) : decodeSummation(r.raw, unit, r.type);
            decoded[field] = d;
            if (!d.ok) continue;
            const fmt = field === 'demand' ? this.#scaling.demandFormatting : this.#scaling.summationFormatting;
            const sc = scale(d.value, this.#scaling.multiplier, this.#scaling.divisor, this.#override, fmt);
            values[field] = sc.value;
            if (field === 'demand') demandSource = sc.source;
            else summationSource ??= sc.source;
        }
        record.scaling = this.#scalingInfo(summationSource, demandSource);
        Object.assign(record, values);
        const electric = isElectricUnit(unit) || (unit === undefined && (this.#scaling.deviceType ?? 0) === 0);
        if (electric) {
            if (values.summation !== undefined) record.kWh = values.summation;
            if (values.demand !== undefined) record.kW = values.demand;
            if (values.summationReceived !== undefined) record.kWhReceived = values.summationReceived;
        }

        const verdict = validate({ decoded, summation: values.summation }, this.#lastGood);
        const reasons: string[] = [];
        if (failedStatus.length > 0) {
            reasons.push(
                ...failedStatus.map(
                    (id) => `${attributeKey(id)}: ${statusText(raw[attributeKey(id)]?.status ?? null)}`,
                ),
            );
        }
        this.#count('totalQueries');
        if (responseAt - slot * this.intervalMs > this.#o.lateAfterMs) {
            record.late = true;
            this.#count('lateResponses');
        }
        if (verdict.verdict === 'invalid') {
            record.status = 'invalid';
            record.reason = [...verdict.reasons, ...reasons].join('; ');
            this.#count('invalidValues');
            this.#emit(record);
            this.#failure();
            return;
        }
        record.status = failedStatus.length > 0 ? 'partial' : 'ok';
        this.#count(record.status);
        record.quality = 'good';
        if (verdict.verdict === 'suspect') {
            record.quality = 'suspect';
            reasons.unshift(...verdict.reasons);
            this.#count('suspectValues');
            this.#suspect(slot, responseAt, values);
        } else {
            this.#suspectRun = undefined;
            this.#setLastGood(slot, responseAt, values);
        }
        if (reasons.length > 0) record.reason = reasons.join('; ');
        this.#stats.consecutiveFailures = 0;
        this.#stats.lastOkAt = new Date(responseAt).toISOString();
        this.#emit(record);
    }

    /** A suspect summation is not a baseline, unless `rebaseAfter` of them in a row keep rising (meter swap). */
    #suspect(slot: number, at: number, values: Partial<Record<string, number>>): void {
        const s = values.summation;
        if (s === undefined) return;
        if (this.#suspectRun && s >= this.#suspectRun.last)
            this.#suspectRun = { count: this.#suspectRun.count + 1, last: s };
        else this.#suspectRun = { count: 1, last: s };
        if (this.#suspectRun.count >= this.#o.rebaseAfter) {
            this.#log('warn', `summation baseline reset to ${s} after ${this.#suspectRun.count} consistent readings`);
            this.#suspectRun = undefined;
            this.#setLastGood(slot, at, values);
        }
    }

    #setLastGood(slot: number, at: number, values: Partial<Record<string, number>>): void {
        const lg: LastGood = { slot, at: new Date(at).toISOString() };
        const prev = this.#lastGood;
        lg.summation = values.summation ?? prev?.summation;
        lg.demand = values.demand ?? prev?.demand;
        lg.summationReceived = values.summationReceived ?? prev?.summationReceived;
        for (const k of ['summation', 'demand', 'summationReceived'] as const) if (lg[k] === undefined) delete lg[k];
        this.#lastGood = lg;
    }

    // --- failures and recovery -----------------------------------------------------------------------------

    #failure(): void {
        const n = ++this.#stats.consecutiveFailures;
        if (n === this.#o.rereadAfter) {
            this.#scalingNeeded = true;
            this.#count('rereads');
            this.#log('info', `${n} consecutive failures: reading the scaling attributes again`);
        }
        if (this.#o.reconnectAfter > 0 && n % this.#o.reconnectAfter === 0) this.#reconnect(n);
    }

    #reconnect(n: number): void {
        const t = this.#transport;
        if (this.#reconnecting || typeof t.reconnect !== 'function') return;
        this.#reconnecting = true;
        this.#count('reconnects');
        this.#log('warn', `${n} consecutive failures: asking the transport to reconnect`);
        const epoch = this.#epoch;
        Promise.resolve()
            .then(() => t.reconnect?.())
            .catch((err: unknown) => this.#log('warn', `reconnect failed: ${(err as Error)?.message ?? err}`))
            .finally(() => {
                this.#reconnecting = false;
                if (this.#epoch === epoch) this.#scalingNeeded = true;
            });
    }

    #stateChanged(state: string): void {
        if (state === 'ready' && this.#lastState !== 'ready') this.#scalingNeeded = true;
        this.#lastState = state;
    }

    #safeState(): string {
        try {
            return this.#transport.state();
        } catch {
            return 'down';
        }
    }

    // --- records, stats, persistence ------------------------------------------------------------------------

    #scalingInfo(source: ScalingSource | undefined, demandSource: ScalingSource | undefined): ScalingInfo {
        const s = this.#scaling;
        const o = this.#override;
        const fallback = (fmt: number | undefined): ScalingSource =>
            o
                ? 'override'
                : s.multiplier !== undefined && s.divisor !== undefined
                  ? 'meter'
                  : fmt !== undefined
                    ? 'formatting'
                    : 'unscaled';
        const info: ScalingInfo = {
            unitName: unitNames(s.unit).name,
            source: source ?? fallback(s.summationFormatting),
            demandSource: demandSource ?? fallback(s.demandFormatting),
        };
        const m = o ? (o.multiplier ?? 1) : s.multiplier;
        const d = o ? (o.divisor ?? 1) : s.divisor;
        if (m !== undefined) info.multiplier = m;
        if (d !== undefined) info.divisor = d;
        if (s.unit !== undefined) info.unit = s.unit;
        else info.unitAssumed = true;
        if (s.summationFormatting !== undefined) info.summationFormatting = s.summationFormatting;
        if (s.demandFormatting !== undefined) info.demandFormatting = s.demandFormatting;
        if (s.deviceType !== undefined) info.deviceType = s.deviceType;
        return info;
    }

    #baseRecord(slot: number, requestAt: number | null, responseAt: number | null): SlotRecord {
        return {
            kind: 'slot',
            slot,
            slotStart: new Date(slot * this.intervalMs).toISOString(),
            requestAt: requestAt === null ? null : new Date(requestAt).toISOString(),
            responseAt: responseAt === null ? null : new Date(responseAt).toISOString(),
            rttMs: requestAt !== null && responseAt !== null ? responseAt - requestAt : null,
            status: 'missing',
            raw: {},
            scaling: this.#scalingInfo(undefined, undefined),
        };
    }

    #missingRecord(slot: number, missing: MissingReason, reason: string, requestAt: number | null = null): SlotRecord {
        const r = this.#baseRecord(slot, requestAt, null);
        r.missing = missing;
        r.reason = reason;
        return r;
    }

    /** Records a run of slots nobody polled: one record each, or one gap record beyond `gapCap`. */
    #missingRun(from: number, to: number, missing: 'gateway-offline' | 'timer-late'): void {
        const count = to - from + 1;
        if (count <= 0) return;
        const counter = missing === 'gateway-offline' ? 'offlineSlots' : 'missedSlots';
        const reason = missing === 'gateway-offline' ? 'the gateway was not running' : 'the slot timer fired late';
        if (count <= this.#o.gapCap) {
            for (let s = from; s <= to; s++) {
                this.#count(counter);
                this.#emit(this.#missingRecord(s, missing, reason), false);
            }
        } else {
            this.#stats[counter] += count;
            this.#session[counter] += count;
            this.#stats.slots += count - 1;
            this.#session.slots += count - 1;
            const gap: GapRecord = {
                kind: 'gap',
                status: 'missing',
                missing,
                fromSlot: from,
                toSlot: to,
                count,
                from: new Date(from * this.intervalMs).toISOString(),
                to: new Date((to + 1) * this.intervalMs).toISOString(),
            };
            this.#emit(gap, false);
        }
        this.#save();
    }

    #emit(record: PollerRecord, save = true): void {
        this.#lastSlot = record.kind === 'gap' ? record.toSlot : record.slot;
        this.#count('slots');
        this.#safe(() => this.#onRecord?.(record));
        if (save) this.#save();
        this.#slotsSinceStats += record.kind === 'gap' ? record.count : 1;
        if (this.#o.statsEverySlots > 0 && this.#slotsSinceStats >= this.#o.statsEverySlots) this.emitStats();
    }

    #count(k: keyof Counters): void {
        this.#stats[k]++;
        this.#session[k]++;
    }

    #save(): void {
        const state: PollerState = {
            version: 1,
            intervalMs: this.intervalMs,
            lastSlot: this.#lastSlot,
            stats: structuredClone(this.#stats),
        };
        if (this.#lastGood) state.lastGood = { ...this.#lastGood };
        try {
            this.#store.save(state);
        } catch (err) {
            this.#log('warn', `could not save the poller state: ${(err as Error).message}`);
        }
    }

    #safe(fn: () => void): void {
        try {
            fn();
        } catch (err) {
            this.#log('warn', `listener threw: ${(err as Error)?.message ?? err}`);
        }
    }

    #log(level: 'info' | 'warn', message: string): void {
        try {
            this.#onLog?.(level, message);
        } catch {
            // a logger that throws must not stop polling
        }
    }
}
