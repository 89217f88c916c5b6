/**
 * Readings from what flows send to the Green Button nodes: a sep-meter message (msg.sep), a number with a unit, an
 * object of unit-named values ({ kW, kWh }) or an array of readings, with the palette's msg.topic, msg.timestamp,
 * msg.quality and msg.espi. The core takes the result (src/protocols/greenbutton/readings.ts).
 */
import {
    type ACCUMULATION,
    EspiError,
    type FLOW_DIRECTION,
    type ParsedReadings,
    parseTime,
    QUALITY_OF_READING,
    readingsFromSepRecord,
    type SeriesSpec,
    unitRow,
} from '../protocols/greenbutton';
import type { GapRecord, SlotRecord } from '../protocols/sep';

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
        return readingsFromSepRecord(msg.sep as unknown as SlotRecord | GapRecord);
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
