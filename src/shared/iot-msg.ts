/**
 * Conversions between the XMPP IoT model and Node-RED messages (plain JSON values), shared by
 * the iot-* node files. Nothing here builds XML.
 */

import {
    isDate,
    isDuration,
    isParameterText,
    isTime,
    parseBoolean,
    parseInt32,
    parseInt64,
    parseNumeric,
} from '../protocols/xmpp-iot/lexical';
import type {
    Category,
    Field,
    FieldType,
    NodeRef,
    ParameterDescription,
    ParameterType,
    ParameterValue,
    Quality,
} from '../protocols/xmpp-iot/model';
import { CATEGORIES, FIELD_TYPES, PARAMETER_TYPES, QUALITIES } from '../protocols/xmpp-iot/model';
import { NodeError } from './errors';

/** A field as a flow sees it: JSON values only. */
export interface FieldJson {
    node?: string;
    sourceId?: string;
    name: string;
    value: number | boolean | string;
    type: FieldType;
    unit?: string;
    decimals?: number;
    enumType?: string;
    /** ISO 8601 UTC. */
    timestamp: string;
    /** The device sent its timestamp without a zone; it was read as local time. */
    zoneless?: boolean;
    categories: Category[];
    quality: Quality[];
    writable?: boolean;
}

export function fieldJson(f: Field): FieldJson {
    const value =
        f.value instanceof Date
            ? f.value.toISOString()
            : typeof f.value === 'bigint'
              ? f.value.toString()
              : (f.value as number | boolean | string);
    const out: FieldJson = {
        name: f.name,
        value,
        type: f.type,
        timestamp: f.timestamp.date.toISOString(),
        categories: [...f.categories],
        quality: [...f.quality],
    };
    if (f.node) out.node = f.node.nodeId;
    if (f.node?.sourceId) out.sourceId = f.node.sourceId;
    if (f.unit) out.unit = f.unit;
    if (f.decimals !== undefined) out.decimals = f.decimals;
    if (f.enumType) out.enumType = f.enumType;
    if (f.timestamp.zoneless) out.zoneless = true;
    if (f.writable !== undefined) out.writable = f.writable;
    return out;
}

/** The architecture's quality levels: XEP-0323 QoS flags folded into good / questionable / invalid. */
export function qualityOf(fields: readonly { quality: readonly Quality[] }[]): 'good' | 'questionable' | 'invalid' {
    let worst: 'good' | 'questionable' | 'invalid' = 'good';
    for (const f of fields) {
        if (f.quality.some((q) => q === 'missing' || q === 'error' || q === 'powerFailure')) return 'invalid';
        if (
            f.quality.some(
                (q) =>
                    q === 'inProgress' ||
                    q === 'automaticEstimate' ||
                    q === 'manualEstimate' ||
                    q === 'warning' ||
                    q === 'timeOffset',
            )
        ) {
            worst = 'questionable';
        }
    }
    return worst;
}

/**
 * `msg.payload` of a readout: name -> value for a device without nodes or a single node, and
 * nodeId -> (name -> value) for several nodes. The newest value wins when a name repeats
 * (historical readouts keep every value in `msg.fields`).
 */
export function payloadOf(fields: readonly FieldJson[]): Record<string, unknown> {
    const nodes = new Set(fields.map((f) => f.node ?? ''));
    const byTime = [...fields].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    const out: Record<string, unknown> = {};
    for (const f of byTime) {
        if (nodes.size <= 1) {
            out[f.name] = f.value;
        } else {
            const key = f.node ?? '';
            const group = (out[key] as Record<string, unknown> | undefined) ?? {};
            group[f.name] = f.value;
            out[key] = group;
        }
    }
    return out;
}

/** The newest timestamp of a readout, ISO 8601 UTC. */
export function newestTimestamp(fields: readonly FieldJson[]): string | undefined {
    let newest: string | undefined;
    for (const f of fields) if (!newest || f.timestamp > newest) newest = f.timestamp;
    return newest;
}

function bad(message: string): NodeError {
    return new NodeError('BAD_INPUT', message);
}

function asCategories(v: unknown, where: string): Category[] {
    const list = v === undefined ? ['momentary'] : Array.isArray(v) ? v : [v];
    for (const c of list)
        if (!(CATEGORIES as readonly unknown[]).includes(c))
            throw bad(`${where}: "${String(c)}" is not a field category (${CATEGORIES.join(', ')})`);
    return list as Category[];
}

function asQuality(v: unknown, where: string): Quality[] {
    if (v === undefined) return ['automaticReadout'];
    const list = Array.isArray(v) ? v : [v];
    for (const q of list)
        if (!(QUALITIES as readonly unknown[]).includes(q))
            throw bad(`${where}: "${String(q)}" is not a quality flag (${QUALITIES.join(', ')})`);
    return list as Quality[];
}

function decimalsOf(n: number): number {
    const s = String(n);
    if (/e/i.test(s)) return 0;
    const dot = s.indexOf('.');
    return dot === -1 ? 0 : s.length - dot - 1;
}

/**
 * Turns a value a flow supplies into a Field. Accepted values: numbers (numeric, or int/long when
 * `type` says so), booleans, strings, Dates and ISO strings for dateTime. Anything else is BAD_INPUT
 * naming the field.
 */
export function fieldFromValue(
    name: string,
    raw: unknown,
    meta: {
        unit?: unknown;
        decimals?: unknown;
        type?: unknown;
        timestamp?: unknown;
        category?: unknown;
        quality?: unknown;
        node?: NodeRef;
    },
): Field {
    const where = `Field "${name}"`;
    const ts = meta.timestamp === undefined ? new Date() : new Date(meta.timestamp as string | number);
    if (Number.isNaN(ts.getTime())) throw bad(`${where}: timestamp "${String(meta.timestamp)}" is not a date`);
    const base = {
        name,
        timestamp: { date: ts, zoneless: false },
        categories: asCategories(meta.category, where),
        quality: asQuality(meta.quality, where),
        ...(meta.node ? { node: meta.node } : {}),
    };
    if (meta.type !== undefined && !(FIELD_TYPES as readonly unknown[]).includes(meta.type))
        throw bad(`${where}: "${String(meta.type)}" is not a field type (${FIELD_TYPES.join(', ')})`);
    const type = meta.type as FieldType | undefined;
    const unit = typeof meta.unit === 'string' && meta.unit ? { unit: meta.unit } : {};
    const numeric = (value: number, text?: string): Field => {
        if (!Number.isFinite(value)) throw bad(`${where}: ${value} is not a finite number`);
        const decimals =
            meta.decimals === undefined
                ? text !== undefined
                    ? (parseNumeric(text)?.decimals ?? 0)
                    : decimalsOf(value)
                : Number(meta.decimals);
        if (!Number.isInteger(decimals) || decimals < 0 || decimals > 20)
            throw bad(`${where}: decimals must be an integer from 0 to 20`);
        return { ...base, type: 'numeric', value, text: value.toFixed(decimals), decimals, ...unit };
    };
    const integer = (t: 'int' | 'long', value: number | bigint | undefined, shown: string): Field => {
        if (value === undefined)
            throw bad(`${where}: ${shown} is not ${t === 'int' ? 'a 32-bit' : 'a 64-bit'} integer (type ${t})`);
        return { ...base, type: t, value, text: String(value) };
    };
    if (typeof raw === 'number') {
        if (type === 'int' || type === 'long') {
            if (!Number.isSafeInteger(raw)) throw bad(`${where}: ${raw} is not an integer (type ${type})`);
            return integer(type, type === 'int' ? parseInt32(String(raw)) : raw, String(raw));
        }
        if (type === 'string' || type === 'enum') return fieldFromValue(name, String(raw), meta);
        if (type !== undefined && type !== 'numeric') throw bad(`${where}: the number ${raw} is not a ${type}`);
        return numeric(raw);
    }
    if (typeof raw === 'boolean') {
        if (type !== undefined && type !== 'boolean') throw bad(`${where}: ${raw} is not a ${type}`);
        return { ...base, type: 'boolean', value: raw, text: String(raw) };
    }
    if (raw instanceof Date) {
        if (Number.isNaN(raw.getTime())) throw bad(`${where}: invalid date`);
        if (type !== undefined && type !== 'dateTime') throw bad(`${where}: a Date is not a ${type}`);
        return { ...base, type: 'dateTime', value: raw, text: raw.toISOString() };
    }
    if (typeof raw === 'string') {
        const shown = JSON.stringify(raw);
        switch (type) {
            case 'numeric': {
                const n = parseNumeric(raw);
                if (!n) throw bad(`${where}: ${shown} is not a number (type numeric)`);
                return numeric(n.value, raw.trim());
            }
            case 'int':
                return integer('int', parseInt32(raw), shown);
            case 'long':
                return integer('long', parseInt64(raw), shown);
            case 'boolean': {
                const b = parseBoolean(raw);
                if (b === undefined) throw bad(`${where}: ${shown} is not a boolean (true/false, 1/0, yes/no, on/off)`);
                return { ...base, type: 'boolean', value: b, text: String(b) };
            }
            case 'dateTime': {
                const d = new Date(raw);
                if (Number.isNaN(d.getTime())) throw bad(`${where}: ${shown} is not a date and time`);
                return { ...base, type: 'dateTime', value: d, text: d.toISOString() };
            }
            case 'date':
            case 'time':
            case 'duration': {
                const ok = type === 'date' ? isDate(raw) : type === 'time' ? isTime(raw) : isDuration(raw);
                if (!ok) throw bad(`${where}: ${shown} is not an xs:${type}`);
                return { ...base, type, value: raw.trim(), text: raw.trim() };
            }
            case 'enum':
                return { ...base, type: 'enum', value: raw, text: raw, enumType: 'enum' };
            default:
                return { ...base, type: 'string', value: raw, text: raw };
        }
    }
    throw bad(
        `${where}: a ${raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw} cannot be a field value (number, boolean, string or Date)`,
    );
}

/** Lexical text of a JS value for a parameter of `type`, checked against the type's lexical space. */
function parameterText(type: ParameterType, value: unknown, name: string): string {
    const shown = JSON.stringify(value);
    let text: string;
    if (type === 'boolean') {
        if (typeof value !== 'boolean' && value !== 'true' && value !== 'false')
            throw bad(`Parameter ${name} is boolean; ${shown} is not`);
        text = String(value);
    } else if (type === 'int' || type === 'long' || type === 'double') {
        const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
        if (typeof n !== 'number' || !Number.isFinite(n))
            throw bad(`Parameter ${name} is a number (${type}); ${shown} is not`);
        if (type !== 'double' && !Number.isInteger(n))
            throw bad(`Parameter ${name} is an integer (${type}); ${n} is not`);
        text = String(n);
    } else if (type === 'dateTime') {
        const d = value instanceof Date ? value : new Date(String(value));
        if (Number.isNaN(d.getTime())) throw bad(`Parameter ${name} is a date and time; ${shown} is not`);
        text = d.toISOString();
    } else {
        if (typeof value === 'object' && value !== null)
            throw bad(`Parameter ${name}: an object cannot be a ${type} value`);
        text = String(value);
    }
    if (!isParameterText(type, text)) throw bad(`Parameter ${name}: ${shown} is not a valid ${type}`);
    return text;
}

/**
 * Turns `msg.payload` ({name: value}) into parameter values. Types come from the device's form
 * when known (getForm), else from `types`, else from the JavaScript value (boolean, integer -> int,
 * other number -> double, Date -> dateTime, anything else -> string).
 */
export function parametersFromPayload(
    payload: unknown,
    known: readonly ParameterDescription[] = [],
    types: Record<string, unknown> = {},
): ParameterValue[] {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
        throw bad('msg.payload must be an object of parameter names and values, e.g. {"Output": true}');
    }
    const out: ParameterValue[] = [];
    for (const [name, value] of Object.entries(payload as Record<string, unknown>)) {
        const fromForm = known.find((k) => k.name === name)?.type;
        const given = types[name];
        if (given !== undefined && !(PARAMETER_TYPES as readonly unknown[]).includes(given))
            throw bad(`msg.types.${name}: "${String(given)}" is not a parameter type (${PARAMETER_TYPES.join(', ')})`);
        const type: ParameterType =
            fromForm ??
            (given as ParameterType | undefined) ??
            (typeof value === 'boolean'
                ? 'boolean'
                : typeof value === 'number'
                  ? Number.isInteger(value)
                      ? 'int'
                      : 'double'
                  : value instanceof Date
                    ? 'dateTime'
                    : 'string');
        const enumType = known.find((k) => k.name === name)?.enumType;
        out.push({ name, type, text: parameterText(type, value, name), ...(enumType ? { enumType } : {}) });
    }
    if (out.length === 0) throw bad('msg.payload names no parameter');
    return out;
}
