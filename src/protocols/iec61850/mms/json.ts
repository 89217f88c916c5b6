import { decodeQuality, encodeQuality, goodQuality, type Quality, VALIDITIES } from '../model/types';
import type { TypeSpecification } from './access';
import { type Data, hex } from './data';
import { MmsError } from './errors';

/**
 * MMS Data as JSON for flows, and back, guided by the MMS type (TypeSpecification): what the
 * client node puts in msg.payload and what the server node takes from it.
 * - structure: an object keyed by component names (an array when the type has no names);
 * - integer/unsigned: a number, or decimal text beyond 2^53;
 * - floating-point: a number; boolean: a boolean;
 * - bit-string: `0`/`1` text, except a component named `q` of 13-16 bits: a Quality object;
 * - octet-string: upper-case hex; visible-string/mMSString: text;
 * - utc-time: ISO 8601 text (ms); binary-time: ISO 8601 text (with date) or ms of the day.
 * Input is accepted more loosely (see jsonToData) and always checked against the type.
 */

const QUALITY_WORDS: ReadonlySet<string> = new Set(VALIDITIES);

function isQualityComponent(name: string | undefined, type: TypeSpecification): boolean {
    return name === 'q' && type.kind === 'bit-string' && Math.abs(type.size) >= 13 && Math.abs(type.size) <= 16;
}

/** JSON of `data`; `type` names the structure components, `name` is the component's own name. */
export function dataToJson(data: Data, type?: TypeSpecification, name?: string): unknown {
    switch (data.kind) {
        case 'structure': {
            const comps = type?.kind === 'structure' ? type.components : undefined;
            if (!comps || comps.length !== data.components.length || comps.some((c) => c.name === undefined)) {
                return data.components.map((d) => dataToJson(d));
            }
            const out: Record<string, unknown> = {};
            data.components.forEach((d, i) => {
                const c = comps[i] as { name: string; type: TypeSpecification };
                out[c.name] = dataToJson(d, c.type, c.name);
            });
            return out;
        }
        case 'array': {
            const element = type?.kind === 'array' ? type.elementType : undefined;
            return data.elements.map((d) => dataToJson(d, element, name));
        }
        case 'boolean':
            return data.value;
        case 'bit-string':
            if (name === 'q' && data.bits.length >= 13 && data.bits.length <= 16) return decodeQuality(data.bits);
            return data.bits;
        case 'integer':
        case 'unsigned':
            return data.value >= BigInt(Number.MIN_SAFE_INTEGER) && data.value <= BigInt(Number.MAX_SAFE_INTEGER)
                ? Number(data.value)
                : data.value.toString();
        case 'floating-point':
            return data.format === 'single' ? shortestSingle(data.value) : data.value;
        case 'octet-string':
            return hex(data.value);
        case 'visible-string':
        case 'mMSString':
            return data.value;
        case 'utc-time':
            return new Date(data.seconds * 1000 + Math.floor((data.fraction * 1000) / 2 ** 24)).toISOString();
        case 'binary-time':
            return data.days === undefined
                ? data.msOfDay
                : new Date(Date.UTC(1984, 0, 1) + data.days * 86_400_000 + data.msOfDay).toISOString();
    }
}

/**
 * The shortest decimal that is the same FLOAT32 (44.2, not 44.20000076293945): what a flow
 * expects to see of a single-precision value.
 */
export function shortestSingle(v: number): number {
    if (!Number.isFinite(v)) return v;
    const f = Math.fround(v);
    for (let p = 1; p <= 9; p++) {
        const x = Number(f.toPrecision(p));
        if (Math.fround(x) === f) return x;
    }
    return f;
}

function fail(path: string, message: string): never {
    throw new MmsError('wrong-type', `${path}: ${message}`);
}

function describe(v: unknown): string {
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'an array';
    if (typeof v === 'string') return `'${v.length > 30 ? `${v.slice(0, 30)}…` : v}'`;
    return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function toBigInt(v: unknown, path: string): bigint {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number') {
        if (!Number.isInteger(v)) fail(path, `needs an integer, got ${v}`);
        return BigInt(v);
    }
    if (typeof v === 'string' && /^-?(0|[1-9][0-9]{0,38})$/.test(v.trim())) return BigInt(v.trim());
    fail(path, `needs an integer, got ${describe(v)}`);
}

/** A time given as ISO 8601 text, a Date or epoch milliseconds. */
export function timeInput(v: unknown, path: string): Date {
    const d =
        v instanceof Date
            ? v
            : typeof v === 'number' && Number.isFinite(v)
              ? new Date(v)
              : typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)
                ? new Date(v)
                : undefined;
    if (!d || Number.isNaN(d.getTime())) fail(path, `needs an ISO 8601 time, a Date or epoch ms, got ${describe(v)}`);
    return d;
}

/** A quality given as a word (good, invalid, questionable) or a (partial) Quality object. */
export function qualityInput(v: unknown, path: string): Quality {
    if (typeof v === 'string' && QUALITY_WORDS.has(v)) return { ...goodQuality(), validity: v as Quality['validity'] };
    if (typeof v === 'string' && /^[01]{13,16}$/.test(v)) return decodeQuality(v);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        const q = goodQuality();
        const o = v as Partial<Quality>;
        if (o.validity !== undefined) {
            if (!QUALITY_WORDS.has(o.validity)) fail(path, `unknown validity ${describe(o.validity)}`);
            q.validity = o.validity;
        }
        if (o.detail !== undefined) {
            if (typeof o.detail !== 'object' || o.detail === null) fail(path, 'detail must be an object');
            for (const [k, b] of Object.entries(o.detail)) {
                if (!(k in q.detail)) fail(path, `unknown quality detail ${k}`);
                if (typeof b !== 'boolean') fail(path, `quality detail ${k} must be true or false`);
                q.detail[k as keyof Quality['detail']] = b;
            }
        }
        if (o.source !== undefined) {
            if (o.source !== 'process' && o.source !== 'substituted') fail(path, 'source is process or substituted');
            q.source = o.source;
        }
        for (const k of ['test', 'operatorBlocked'] as const) {
            if (o[k] !== undefined) {
                if (typeof o[k] !== 'boolean') fail(path, `${k} must be true or false`);
                q[k] = o[k];
            }
        }
        return q;
    }
    fail(path, `needs a quality (good, invalid, questionable or an object), got ${describe(v)}`);
}

function hexInput(v: unknown, path: string): Uint8Array {
    if (v instanceof Uint8Array) return v;
    if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return Uint8Array.from(v);
    if (typeof v === 'string' && /^([0-9A-Fa-f]{2})*$/.test(v)) return Uint8Array.from(Buffer.from(v, 'hex'));
    fail(path, `needs hex text or bytes, got ${describe(v)}`);
}

const DAY_MS = 86_400_000;
const EPOCH_1984 = Date.UTC(1984, 0, 1);

/** MMS Data of type `type` from a JSON value, checked (wrong-type / out-of-range MmsError with the path). */
export function jsonToData(type: TypeSpecification, v: unknown, path = 'value', name?: string): Data {
    switch (type.kind) {
        case 'structure': {
            if (Array.isArray(v)) {
                if (v.length !== type.components.length)
                    fail(path, `needs ${type.components.length} components, got ${v.length}`);
                return {
                    kind: 'structure',
                    components: type.components.map((c, i) =>
                        jsonToData(c.type, v[i], `${path}.${c.name ?? i}`, c.name),
                    ),
                };
            }
            if (typeof v !== 'object' || v === null) fail(path, `needs an object, got ${describe(v)}`);
            const o = v as Record<string, unknown>;
            const known = new Set(type.components.map((c) => c.name));
            for (const k of Object.keys(o)) if (!known.has(k)) fail(path, `has no component ${k}`);
            return {
                kind: 'structure',
                components: type.components.map((c) => {
                    if (c.name === undefined || !(c.name in o)) fail(path, `misses component ${c.name}`);
                    return jsonToData(c.type, o[c.name], `${path}.${c.name}`, c.name);
                }),
            };
        }
        case 'array': {
            if (!Array.isArray(v) || v.length !== type.numberOfElements)
                fail(path, `needs an array of ${type.numberOfElements}, got ${describe(v)}`);
            return { kind: 'array', elements: v.map((e, i) => jsonToData(type.elementType, e, `${path}(${i})`, name)) };
        }
        case 'boolean':
            if (typeof v !== 'boolean') fail(path, `needs true or false, got ${describe(v)}`);
            return { kind: 'boolean', value: v };
        case 'bit-string': {
            if (isQualityComponent(name, type) && typeof v !== 'string') {
                return { kind: 'bit-string', bits: encodeQuality(qualityInput(v, path)) };
            }
            if (isQualityComponent(name, type) && typeof v === 'string' && QUALITY_WORDS.has(v)) {
                return { kind: 'bit-string', bits: encodeQuality(qualityInput(v, path)) };
            }
            if (typeof v !== 'string' || !/^[01]*$/.test(v)) fail(path, `needs a text of 0 and 1, got ${describe(v)}`);
            const ok = type.size >= 0 ? v.length === type.size : v.length <= -type.size;
            if (!ok) throw new MmsError('out-of-range', `${path}: needs ${Math.abs(type.size)} bits, got ${v.length}`);
            return { kind: 'bit-string', bits: v };
        }
        case 'integer':
        case 'unsigned': {
            const b = toBigInt(v, path);
            const w = BigInt(type.width);
            const [min, max] = type.kind === 'integer' ? [-(2n ** (w - 1n)), 2n ** (w - 1n) - 1n] : [0n, 2n ** w - 1n];
            if (b < min || b > max)
                throw new MmsError('out-of-range', `${path}: ${b} is outside ${min}..${max} (${type.kind}${w})`);
            return { kind: type.kind, value: b };
        }
        case 'floating-point': {
            if (typeof v !== 'number') fail(path, `needs a number, got ${describe(v)}`);
            const single = type.formatWidth <= 32;
            if (single && Number.isFinite(v) && !Number.isFinite(Math.fround(v)))
                throw new MmsError('out-of-range', `${path}: ${v} does not fit FLOAT32`);
            return { kind: 'floating-point', format: single ? 'single' : 'double', value: v };
        }
        case 'octet-string': {
            const bytes = hexInput(v, path);
            const ok = type.size >= 0 ? bytes.length === type.size : bytes.length <= -type.size;
            if (!ok)
                throw new MmsError('out-of-range', `${path}: needs ${Math.abs(type.size)} octets, got ${bytes.length}`);
            return { kind: 'octet-string', value: bytes };
        }
        case 'visible-string':
        case 'mMSString': {
            if (typeof v !== 'string') fail(path, `needs text, got ${describe(v)}`);
            const max = Math.abs(type.size);
            if (type.size !== 0 && [...v].length > max)
                throw new MmsError('out-of-range', `${path}: longer than ${max} characters`);
            if (type.kind === 'visible-string' && !/^[\x20-\x7e]*$/.test(v))
                fail(path, 'a visible-string holds printable ASCII only');
            return { kind: type.kind, value: v };
        }
        case 'utc-time': {
            const ms = timeInput(v, path).getTime();
            if (ms < 0 || ms >= 2 ** 32 * 1000) throw new MmsError('out-of-range', `${path}: outside 1970..2106`);
            const seconds = Math.floor(ms / 1000);
            return {
                kind: 'utc-time',
                seconds,
                fraction: Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 24),
                quality: { leapSecondsKnown: false, clockFailure: false, clockNotSynchronized: false, accuracy: 10 },
            };
        }
        case 'binary-time': {
            if (!type.withDate) {
                if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= DAY_MS)
                    fail(path, `needs milliseconds of the day, got ${describe(v)}`);
                return { kind: 'binary-time', msOfDay: v };
            }
            const ms = timeInput(v, path).getTime() - EPOCH_1984;
            if (ms < 0) throw new MmsError('out-of-range', `${path}: before 1984`);
            return { kind: 'binary-time', msOfDay: ms % DAY_MS, days: Math.floor(ms / DAY_MS) };
        }
    }
}

/**
 * Selects the part of a value an alternate access names (component names and array indices),
 * with its type: `undefined` when the path does not exist in the type.
 */
export function selectIn(
    data: Data,
    type: TypeSpecification,
    selectors: ReadonlyArray<{ component: string } | { index: number }>,
): { data: Data; type: TypeSpecification } | undefined {
    let d = data;
    let t = type;
    for (const s of selectors) {
        if ('component' in s) {
            if (t.kind !== 'structure' || d.kind !== 'structure') return undefined;
            const i = t.components.findIndex((c) => c.name === s.component);
            if (i < 0) return undefined;
            t = (t.components[i] as { type: TypeSpecification }).type;
            d = d.components[i] as Data;
        } else {
            if (t.kind !== 'array' || d.kind !== 'array' || s.index >= d.elements.length) return undefined;
            t = t.elementType;
            d = d.elements[s.index] as Data;
        }
    }
    return { data: d, type: t };
}

/** `data` with the part at `selectors` replaced by `part` (a new tree; `data` is not changed). */
export function replaceIn(
    data: Data,
    selectors: ReadonlyArray<{ component: string } | { index: number }>,
    type: TypeSpecification,
    part: Data,
): Data {
    const [s, ...rest] = selectors;
    if (!s) return part;
    if ('component' in s) {
        if (type.kind !== 'structure' || data.kind !== 'structure') throw new MmsError('wrong-type', 'not a structure');
        const i = type.components.findIndex((c) => c.name === s.component);
        if (i < 0) throw new MmsError('wrong-type', `no component ${s.component}`);
        const components = [...data.components];
        components[i] = replaceIn(
            data.components[i] as Data,
            rest,
            (type.components[i] as { type: TypeSpecification }).type,
            part,
        );
        return { kind: 'structure', components };
    }
    if (type.kind !== 'array' || data.kind !== 'array') throw new MmsError('wrong-type', 'not an array');
    const elements = [...data.elements];
    if (s.index >= elements.length) throw new MmsError('out-of-range', `no element ${s.index}`);
    elements[s.index] = replaceIn(elements[s.index] as Data, rest, type.elementType, part);
    return { kind: 'array', elements };
}
