/**
 * Readings as the Green Button core takes them: a series key, what is known of its ReadingType and a timed value;
 * what cannot be written is listed with the reason, never silently dropped. The ZigBee SE poller's records convert
 * here; messages from flows are turned into readings node-side (src/shared/greenbutton-msg.ts).
 */
import { parseFormatting, type ScalingSource } from '../sep/convert';
import type { GapRecord, SlotRecord } from '../sep/poller';
import { QUALITY_OF_READING } from './codes';
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

/**
 * The readings of one sep-meter slot record: demand (kW), summation delivered and received (kWh), with the
 * resolution the meter's multiplier and divisor (or formatting) give them, and suspect values as questionable (10).
 * A gap or a slot without an answer gives no reading, with the reason.
 */
export function readingsFromSepRecord(r: SlotRecord | GapRecord): ParsedReadings {
    const out: ParsedReadings = { readings: [], skipped: [] };
    if (r.kind === 'gap') {
        out.skipped.push({ key: 'sep', reason: `gap of ${r.count} slots` });
        return out;
    }
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
