import fs from 'node:fs';
import path from 'node:path';
import { EspiError } from './errors';
import { type DerivedReadingType, deriveReadingType, type SeriesSpec, sameFields } from './reading-type';

/** One reading as the core keeps it: time in ms, value in the ESPI base unit (W, Wh), optional QualityOfReading. */
export interface Reading {
    time: number;
    value: number;
    quality?: number;
}

/** A MeterReading with its ReadingType: one per series of readings (demand, summation delivered, ...). */
export interface Series {
    /** The MeterReading and ReadingType id in URIs ("1", "2", ...), stable for the life of the store. */
    id: string;
    /** What the flow calls the series (sep-meter: demand, summation-delivered; else msg.topic or the unit). */
    key: string;
    title: string;
    spec: SeriesSpec;
    derived: DerivedReadingType;
    createdAt: number;
    /** When the ReadingType last changed (a new resolution, unit or direction). */
    typeUpdatedAt: number;
    ring: ReadingRing;
}

const NO_QUALITY = 255;

/** A fixed-size, time-ordered ring of readings in typed arrays (24 + 1 bytes per reading). */
export class ReadingRing {
    readonly capacity: number;
    #times: Float64Array;
    #values: Float64Array;
    #quality: Uint8Array;
    #start = 0;
    #length = 0;

    constructor(capacity: number) {
        this.capacity = capacity;
        this.#times = new Float64Array(capacity);
        this.#values = new Float64Array(capacity);
        this.#quality = new Uint8Array(capacity);
    }

    get length(): number {
        return this.#length;
    }

    #slot(i: number): number {
        return (this.#start + i) % this.capacity;
    }

    at(i: number): Reading {
        const s = this.#slot(i);
        const q = this.#quality[s] as number;
        return {
            time: this.#times[s] as number,
            value: this.#values[s] as number,
            ...(q === NO_QUALITY ? {} : { quality: q }),
        };
    }

    timeAt(i: number): number {
        return this.#times[this.#slot(i)] as number;
    }

    latest(): Reading | undefined {
        return this.#length === 0 ? undefined : this.at(this.#length - 1);
    }

    /** Appends; when full, the oldest reading makes room. Replaces the latest when it has the same time. */
    push(r: Reading): void {
        const q = r.quality === undefined ? NO_QUALITY : r.quality;
        if (this.#length > 0 && this.timeAt(this.#length - 1) === r.time) {
            const s = this.#slot(this.#length - 1);
            this.#values[s] = r.value;
            this.#quality[s] = q;
            return;
        }
        let s: number;
        if (this.#length < this.capacity) {
            s = this.#slot(this.#length);
            this.#length++;
        } else {
            s = this.#start;
            this.#start = (this.#start + 1) % this.capacity;
        }
        this.#times[s] = r.time;
        this.#values[s] = r.value;
        this.#quality[s] = q;
    }

    /** Index of the first reading at or after `time` (binary search; the ring is time-ordered). */
    lowerBound(time: number): number {
        let lo = 0;
        let hi = this.#length;
        while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (this.timeAt(mid) < time) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** Readings with from ≤ time < to, oldest first. */
    *range(from: number, to: number): Generator<Reading> {
        for (let i = this.lowerBound(from); i < this.#length; i++) {
            if (this.timeAt(i) >= to) return;
            yield this.at(i);
        }
    }

    count(from: number, to: number): number {
        return this.lowerBound(to) - this.lowerBound(from);
    }
}

/** What a store keeps between restarts. */
export interface HistorySnapshot {
    version: 1;
    createdAt: number;
    series: {
        id: string;
        key: string;
        title: string;
        spec: SeriesSpec;
        createdAt: number;
        typeUpdatedAt: number;
        /** [time ms, value in the ESPI base unit (W, Wh), QualityOfReading or null], oldest first. */
        readings: [number, number, number | null][];
    }[];
}

export interface HistoryStore {
    load(): HistorySnapshot | undefined;
    save(snapshot: HistorySnapshot): void;
}

/** Keeps the snapshot in a JSON file, written to a temporary file and renamed so a crash never leaves half a file. */
export class FileHistoryStore implements HistoryStore {
    readonly file: string;

    constructor(file: string) {
        this.file = file;
    }

    load(): HistorySnapshot | undefined {
        let text: string;
        try {
            text = fs.readFileSync(this.file, 'utf8');
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
            throw new EspiError(
                'STORE',
                `Cannot read the Green Button history ${this.file}: ${(err as Error).message}`,
            );
        }
        try {
            const snap = JSON.parse(text) as HistorySnapshot;
            if (snap?.version !== 1 || !Array.isArray(snap.series)) throw new Error('not a version 1 snapshot');
            return snap;
        } catch (err) {
            throw new EspiError('STORE', `The Green Button history ${this.file} is damaged: ${(err as Error).message}`);
        }
    }

    save(snapshot: HistorySnapshot): void {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        const tmp = `${this.file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(snapshot));
        fs.renameSync(tmp, this.file);
    }
}

export interface HistoryOptions {
    /** Readings kept per series (1 keeps only the current value). */
    capacity: number;
    store?: HistoryStore;
    /** How often a changed history is written to the store; 0 writes only on flush(). Default 60 s. */
    saveEveryMs?: number;
    now?: () => number;
}

export const MAX_CAPACITY = 1_000_000;

/**
 * The bounded in-memory history of every series, optionally persisted. Series get ids in order of first
 * appearance and keep them in the store, so URIs and entry ids stay the same across restarts.
 */
export class History {
    readonly capacity: number;
    readonly createdAt: number;
    #series = new Map<string, Series>();
    #byId = new Map<string, Series>();
    #store?: HistoryStore;
    #saveEveryMs: number;
    #timer?: NodeJS.Timeout;
    #dirty = false;
    #now: () => number;
    #updatedAt: number;
    #version = 0;

    constructor(opts: HistoryOptions) {
        if (!Number.isInteger(opts.capacity) || opts.capacity < 1 || opts.capacity > MAX_CAPACITY)
            throw new EspiError(
                'BAD_INPUT',
                `History size ${opts.capacity} must be a whole number from 1 to ${MAX_CAPACITY}`,
            );
        this.capacity = opts.capacity;
        this.#store = opts.store;
        this.#saveEveryMs = opts.saveEveryMs ?? 60_000;
        this.#now = opts.now ?? Date.now;
        const snap = this.#store?.load();
        this.createdAt = snap?.createdAt ?? Math.floor(this.#now() / 1000) * 1000;
        this.#updatedAt = this.createdAt;
        try {
            this.#restore(snap);
        } catch (err) {
            throw new EspiError('STORE', `The Green Button history is damaged: ${(err as Error).message}`, {
                cause: err,
            });
        }
        if (!snap && this.#store) this.#dirty = true;
    }

    #restore(snap: HistorySnapshot | undefined): void {
        for (const s of snap?.series ?? []) {
            const series = this.#makeSeries(s.id, s.key, s.title, s.spec, s.createdAt);
            series.typeUpdatedAt = s.typeUpdatedAt;
            const keep = s.readings.slice(-this.capacity);
            for (const [time, value, q] of keep) {
                if (Number.isFinite(time) && Number.isFinite(value))
                    series.ring.push({ time, value, ...(q === null ? {} : { quality: q }) });
            }
            const last = series.ring.latest();
            if (last && last.time > this.#updatedAt) this.#updatedAt = last.time;
        }
    }

    #makeSeries(id: string, key: string, title: string, spec: SeriesSpec, createdAt: number): Series {
        const series: Series = {
            id,
            key,
            title,
            spec,
            derived: deriveReadingType(spec),
            createdAt,
            typeUpdatedAt: createdAt,
            ring: new ReadingRing(this.capacity),
        };
        this.#series.set(key, series);
        this.#byId.set(id, series);
        return series;
    }

    list(): Series[] {
        return [...this.#series.values()];
    }

    byId(id: string): Series | undefined {
        return this.#byId.get(id);
    }

    byKey(key: string): Series | undefined {
        return this.#series.get(key);
    }

    /** Counts changes: any document built from the history is stale once this moves. */
    get version(): number {
        return this.#version;
    }

    /** The newest reading time over all series (the feed's `updated`). */
    get updatedAt(): number {
        return this.#updatedAt;
    }

    /**
     * Adds a reading (value in the source unit of `spec`). A new key makes a new series; a changed unit or
     * resolution updates the series' ReadingType. A reading older than the series' latest is refused: history is
     * time-ordered, and a late duplicate must not rewrite it.
     */
    add(key: string, spec: SeriesSpec, reading: { time: number; value: number; quality?: number }): Series {
        if (!Number.isFinite(reading.time))
            throw new EspiError('BAD_INPUT', `Reading time ${String(reading.time)} is not a valid time`);
        if (typeof reading.value !== 'number' || !Number.isFinite(reading.value))
            throw new EspiError('BAD_INPUT', `Reading value ${String(reading.value)} is not a finite number`);
        const time = Math.floor(reading.time / 1000) * 1000; // TimeType is whole seconds
        let series = this.#series.get(key);
        const last = series?.ring.latest();
        if (last && time < last.time)
            throw new EspiError(
                'BAD_INPUT',
                `Reading at ${new Date(reading.time).toISOString()} is older than the latest one of "${key}" (${new Date(last.time).toISOString()})`,
            );
        if (!series) {
            const title = spec.title ?? key;
            series = this.#makeSeries(String(this.#series.size + 1), key, title, spec, Math.floor(reading.time));
        } else if (spec.unit !== series.spec.unit || spec.resolution !== series.spec.resolution) {
            const derived = deriveReadingType(spec);
            if (!sameFields(derived.fields, series.derived.fields)) series.typeUpdatedAt = time;
            series.derived = derived;
            series.spec = spec;
        }
        const base = reading.value * 10 ** series.derived.unit.exponent;
        series.ring.push({ time, value: base, ...(reading.quality === undefined ? {} : { quality: reading.quality }) });
        if (time > this.#updatedAt) this.#updatedAt = time;
        this.#version++;
        this.#markDirty();
        return series;
    }

    #markDirty(): void {
        this.#dirty = true;
        if (!this.#store || this.#saveEveryMs <= 0 || this.#timer) return;
        this.#timer = setTimeout(() => {
            this.#timer = undefined;
            this.flush();
        }, this.#saveEveryMs);
        this.#timer.unref();
    }

    snapshot(): HistorySnapshot {
        return {
            version: 1,
            createdAt: this.createdAt,
            series: this.list().map((s) => {
                const readings: [number, number, number | null][] = [];
                for (let i = 0; i < s.ring.length; i++) {
                    const r = s.ring.at(i);
                    readings.push([r.time, r.value, r.quality ?? null]);
                }
                return {
                    id: s.id,
                    key: s.key,
                    title: s.title,
                    spec: s.spec,
                    createdAt: s.createdAt,
                    typeUpdatedAt: s.typeUpdatedAt,
                    readings,
                };
            }),
        };
    }

    /** Writes the history to the store now if it changed. */
    flush(): void {
        if (this.#timer) {
            clearTimeout(this.#timer);
            this.#timer = undefined;
        }
        if (!this.#store || !this.#dirty) return;
        this.#dirty = false;
        this.#store.save(this.snapshot());
    }
}
