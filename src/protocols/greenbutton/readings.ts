/**
 * Readings from what flows send: a sep-meter record (msg.sep), a number with a unit, an object of unit-named
 * values ({ kW, kWh }) or an array of readings. Each becomes a series key, what we know of its ReadingType and a
 * timed value; what cannot be written is listed with the reason, never silently dropped.
 */
import { parseFormatting, type ScalingSource } from '../sep/convert';
import type { SlotRecord } from '../sep/poller';
import { type ACCUMULATION, type FLOW_DIRECTION, QUALITY_OF_READING, unitRow } from './codes';
import { EspiError } from './errors';
import type { SeriesSpec } from './reading-type';

export interface InboundReading {
    key: string;
    spec: SeriesSpec;
    /** ms since 1970 */
    time: number;
    /** In spec.unit. */
    value: number;
    quality?: number;
}

export interface Skipped {
    key: string;
    reason: string;
}

export interface ParsedReadings {
    readings: InboundReading[];
    skipped: Skipped[];
}

/** What a message may carry besides its payload. */
export interface ReadingMessage {
    payload?: unknown;
    topic?: unknown;
    unit?: unknown;
    timestamp?: unknown;
    quality?: unknown;
    sep?: unknown;
    espi?: unknown;
}

export interface ParseDefaults {
    /** Unit for a bare number when the message names none. */
    unit?: string;
    now?: () => number;
}

/** The series a sep-meter record feeds (design note A.2.4: demand in W, summation delivered and received in Wh). */
export const SEP_SERIES = {
    kW: { key: 'demand', title: 'Instantaneous demand', accumulation: 'instantaneous', flow: 'forward' },
    kWh: { key: 'summation-delivered', title: 'Summation delivered', accumulation: 'summation', flow: 'forward' },
    kWhReceived: { key: 'summation-received', title: 'Summation received', accumulation: 'summation', flow: 'reverse' },
} as const;

/** Time of a reading: ms, an ISO 8601 string or a Date. */
export function parseTime(v: unknown, what = 'timestamp'): number {
    const t =
        v instanceof Date
            ? v.getTime()
            : typeof v === 'number'
              ? v
              : typeof v === 'string'
                ? Date.parse(v)
                : Number.NaN;
    if (!Number.isFinite(t) || t < 0 || t > 253_402_300_799_000)
        throw new EspiError('BAD_INPUT', `The ${what} ${JSON.stringify(v)} is not a time (ms since 1970 or ISO 8601)`);
    return t;
}

/**
 * QualityOfReading of a palette quality: good → none written, questionable/suspect → 10, raw → 14; a number is
 * taken as the ESPI code. Invalid and missing readings have no value to write (undefined with `skip`).
 */
export function qualityCode(q: unknown): { code?: number; skip?: string } {
    if (q === undefined || q === null || q === 'good') return {};
    if (typeof q === 'number') {
        if (!Number.isInteger(q) || q < 0 || q > 254)
            throw new EspiError('BAD_INPUT', `Quality ${q} is not a QualityOfReading code`);
        return { code: q };
    }
    if (q === 'questionable' || q === 'suspect') return { code: QUALITY_OF_READING.questionable };
    if (q === 'raw') return { code: QUALITY_OF_READING.raw };
    if (q === 'invalid' || q === 'missing' || q === 'partial') return { skip: `quality is ${q}` };
    throw new EspiError('BAD_INPUT', `Quality ${JSON.stringify(q)} is not good, questionable, invalid or an ESPI code`);
}

function resolutionOf(
    source: ScalingSource,
    multiplier?: number,
    divisor?: number,
    formatting?: number,
): number | undefined {
    if ((source === 'meter' || source === 'override') && multiplier && divisor) return multiplier / divisor;
    if (source === 'formatting' && formatting !== undefined) return 10 ** -parseFormatting(formatting).digitsRight;
    if (source === 'unscaled') return 1;
    return undefined;
}

function fromSepRecord(r: SlotRecord): ParsedReadings {
    const out: ParsedReadings = { readings: [], skipped: [] };
    if (!r.responseAt) {
        out.skipped.push({ key: 'sep', reason: `slot ${r.slot} has no reading (${r.missing ?? r.status})` });
        return out;
    }
    const time = parseTime(r.responseAt, 'time tag');
    const sc = r.scaling;
    const quality =
        r.quality === 'suspect' ? QUALITY_OF_READING.questionable : sc.unitAssumed ? QUALITY_OF_READING.raw : undefined;
    for (const field of ['kW', 'kWh', 'kWhReceived'] as const) {
        const value = r[field];
        const def = SEP_SERIES[field];
        if (value === undefined) continue;
        const demand = field === 'kW';
        const resolution = demand
            ? resolutionOf(sc.demandSource, sc.multiplier, sc.divisor, sc.demandFormatting)
            : resolutionOf(sc.source, sc.multiplier, sc.divisor, sc.summationFormatting);
        out.readings.push({
            key: def.key,
            spec: {
                unit: demand ? 'kW' : 'kWh',
                ...(resolution !== undefined ? { resolution } : {}),
                accumulation: def.accumulation,
                flowDirection: def.flow,
                title: def.title,
            },
            time,
            value,
            ...(quality !== undefined ? { quality } : {}),
        });
    }
    if (out.readings.length === 0)
        out.skipped.push({
            key: 'sep',
            reason: `slot ${r.slot} carries no kW or kWh (meter unit ${sc.unitName}); only electricity is written`,
        });
    return out;
}

function asSpec(o: Record<string, unknown>, unit: string): SeriesSpec {
    const spec: SeriesSpec = { unit };
    if (o.resolution !== undefined) spec.resolution = o.resolution as number;
    if (o.accumulation !== undefined) spec.accumulation = o.accumulation as keyof typeof ACCUMULATION;
    if (o.flowDirection !== undefined) spec.flowDirection = o.flowDirection as keyof typeof FLOW_DIRECTION;
    if (o.intervalLength !== undefined) spec.intervalLength = o.intervalLength as number;
    if (o.phase !== undefined) spec.phase = o.phase as number;
    if (o.kind !== undefined) spec.kind = o.kind as number;
    if (typeof o.title === 'string') spec.title = o.title;
    return spec;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Turns a message into readings. Throws EspiError BAD_INPUT when the message as a whole makes no sense. */
export function readingsFromMessage(msg: ReadingMessage, defaults: ParseDefaults = {}): ParsedReadings {
    const now = defaults.now ?? Date.now;
    if (isRecord(msg.sep) && (msg.sep.kind === 'slot' || msg.sep.kind === 'gap')) {
        if (msg.sep.kind === 'gap')
            return { readings: [], skipped: [{ key: 'sep', reason: `gap of ${String(msg.sep.count)} slots` }] };
        return fromSepRecord(msg.sep as unknown as SlotRecord);
    }
    const extra = isRecord(msg.espi) ? msg.espi : {};
    const out: ParsedReadings = { readings: [], skipped: [] };
    const push = (
        key: string,
        unit: string,
        value: unknown,
        timeRaw: unknown,
        q: unknown,
        o: Record<string, unknown>,
    ) => {
        const quality = qualityCode(q);
        if (quality.skip) {
            out.skipped.push({ key, reason: quality.skip });
            return;
        }
        if (typeof value !== 'number' || !Number.isFinite(value))
            throw new EspiError(
                'BAD_INPUT',
                `Value of "${key}" is ${JSON.stringify(value) ?? String(value)}, not a finite number`,
            );
        out.readings.push({
            key,
            spec: asSpec(o, unit),
            time: timeRaw === undefined ? now() : parseTime(timeRaw),
            value,
            ...(quality.code !== undefined ? { quality: quality.code } : {}),
        });
    };
    const topic = typeof msg.topic === 'string' && msg.topic !== '' ? msg.topic : undefined;
    const msgUnit =
        typeof extra.unit === 'string' ? extra.unit : typeof msg.unit === 'string' ? msg.unit : defaults.unit;
    const p = msg.payload;
    if (typeof p === 'number' || typeof p === 'string') {
        const value = typeof p === 'string' && p.trim() !== '' ? Number(p) : p;
        if (!msgUnit)
            throw new EspiError(
                'BAD_INPUT',
                'A bare value needs a unit: set msg.unit (such as "kW") or the node\'s unit',
            );
        const key = typeof extra.key === 'string' ? extra.key : (topic ?? msgUnit);
        push(key, msgUnit, value, msg.timestamp, msg.quality, extra);
    } else if (Array.isArray(p)) {
        if (p.length > 1_000_000)
            throw new EspiError('BAD_INPUT', `${p.length} readings in one message; at most 1,000,000`);
        p.forEach((item, i) => {
            if (!isRecord(item))
                throw new EspiError('BAD_INPUT', `Reading ${i} is not an object with time, value and unit`);
            const unit = typeof item.unit === 'string' ? item.unit : msgUnit;
            if (!unit) throw new EspiError('BAD_INPUT', `Reading ${i} has no unit`);
            const key =
                typeof item.key === 'string'
                    ? item.key
                    : typeof item.series === 'string'
                      ? item.series
                      : (topic ?? unit);
            const time = item.time ?? item.timestamp;
            if (time === undefined) throw new EspiError('BAD_INPUT', `Reading ${i} has no time`);
            push(key, unit, item.value, time, item.quality, { ...extra, ...item });
        });
    } else if (isRecord(p)) {
        for (const [k, v] of Object.entries(p)) {
            const unit = unitRow(k) ? k : undefined;
            if (!unit) {
                out.skipped.push({ key: k, reason: `"${k}" is not a unit name (W, kW, kWh, V...)` });
                continue;
            }
            push(k, unit, v, msg.timestamp, msg.quality, extra);
        }
        if (out.readings.length === 0 && out.skipped.length === 0)
            throw new EspiError('BAD_INPUT', 'The payload object holds no values');
    } else {
        throw new EspiError(
            'BAD_INPUT',
            `msg.payload is ${p === null ? 'null' : typeof p}; send a number with msg.unit, { kW, kWh }, an array of readings or a sep-meter message`,
        );
    }
    return out;
}
