import type { TypeSpecification } from '../mms/access';
import type { Data } from '../mms/data';
import { badInput } from './errors';
import type { Fc } from './fc';
import {
    BASIC_TYPES,
    type BasicType,
    type BasicTypeInfo,
    type DataAttribute,
    type DataObject,
    decodeQuality,
    encodeQuality,
    goodQuality,
    INT_RANGES,
    INT64_RANGE,
    type Quality,
    type Timestamp,
    type Value,
} from './types';

/**
 * Model values <-> MMS Data and model types -> MMS TypeSpecification (the 8-1 mapping that 8-2
 * reuses; wire note §6.2-§6.4, §5.5). What the server engine answers to Read and
 * GetVariableAccessAttributes, and what it accepts from Write.
 *
 * Value forms by basic type: BOOLEAN boolean; INT8..INT32, INT8U..INT32U, ENUMERATED number;
 * INT64 bigint (a safe-integer number is accepted); FLOAT32/64 number; CODED ENUM, Check and the
 * bit-string types (TriggerConditions, RCBReportOptions, ReasonForInclusion) a string of 0/1;
 * Quality a Quality; Timestamp a Timestamp; OCTET STRING, EntryID, EntryTime a Uint8Array (6
 * octets for EntryTime, see encodeEntryTime); the string types a string; a Struct an object by
 * member name; an array (count) a Value[].
 */

/** The MMS type of a basic type, from BASIC_TYPES (8-1 TypeSpecification; a negative string size = variable up to). */
function basicTypeSpec(type: BasicType): TypeSpecification {
    const info: BasicTypeInfo = BASIC_TYPES[type];
    const size = info.size ?? 0;
    switch (info.mms) {
        case 'integer':
        case 'unsigned':
            return { kind: info.mms, width: size };
        case 'floating-point':
            return { kind: info.mms, formatWidth: size, exponentWidth: size === 32 ? 8 : 11 };
        case 'bit-string':
            return { kind: info.mms, size };
        case 'octet-string':
        case 'visible-string':
        case 'mMSString':
            return { kind: info.mms, size: info.fixed ? size : -size };
        case 'binary-time':
            return { kind: info.mms, withDate: size === 6 };
        case 'boolean':
        case 'utc-time':
            return { kind: info.mms };
        default:
            throw badInput('syntax', `basic type ${type} has no MMS type`);
    }
}

/** The MMS type of each basic type, derived once from BASIC_TYPES. */
export const BASIC_TYPE_SPECS: Readonly<Record<BasicType, TypeSpecification>> = Object.freeze(
    Object.fromEntries(Object.keys(BASIC_TYPES).map((t) => [t, basicTypeSpec(t as BasicType)])) as Record<
        BasicType,
        TypeSpecification
    >,
);

// ---------------------------------------------------------------------------------------------
// Types

/** The MMS type of a DA (with its BDAs), or of a DO restricted to the attributes of `fc` (an FCD). */
export function typeSpecOf(node: DataObject | DataAttribute, fc?: Fc): TypeSpecification {
    if (node.kind === 'DA') return daType(node);
    const components = node.children
        .filter((c) => fc === undefined || carries(c, fc))
        .map((c) => ({ name: c.name, type: c.kind === 'DO' ? typeSpecOf(c, fc) : daType(c) }));
    const struct: TypeSpecification = { kind: 'structure', components };
    return node.count === undefined ? struct : { kind: 'array', numberOfElements: node.count, elementType: struct };
}

function daType(da: DataAttribute): TypeSpecification {
    const one: TypeSpecification =
        da.type === 'Struct'
            ? { kind: 'structure', components: (da.children ?? []).map((c) => ({ name: c.name, type: daType(c) })) }
            : (BASIC_TYPE_SPECS[da.type] as TypeSpecification);
    return da.count === undefined ? one : { kind: 'array', numberOfElements: da.count, elementType: one };
}

/** True when the DO/DA has an attribute of functional constraint `fc` (a DA carries its own FC). */
export function carries(node: DataObject | DataAttribute, fc: Fc): boolean {
    return node.kind === 'DA' ? node.fc === fc : node.children.some((c) => carries(c, fc));
}

// ---------------------------------------------------------------------------------------------
// Values

/** A value of the attribute's type with nothing set: false, 0, '', good quality, zero time… */
export function defaultValue(da: DataAttribute): Value {
    const one = (): Value => {
        if (da.type === 'Struct') {
            return Object.fromEntries((da.children ?? []).map((c) => [c.name, c.value ?? defaultValue(c)]));
        }
        return basicDefault(da.type);
    };
    return da.count === undefined ? one() : Array.from({ length: da.count }, one);
}

function basicDefault(type: BasicType): Value {
    const spec = BASIC_TYPE_SPECS[type];
    switch (spec.kind) {
        case 'boolean':
            return false;
        case 'integer':
            return type === 'INT64' ? 0n : 0;
        case 'unsigned':
        case 'floating-point':
            return 0;
        case 'bit-string':
            return type === 'Quality' ? goodQuality() : '0'.repeat(spec.size);
        case 'octet-string':
            return new Uint8Array(Math.max(spec.size, 0));
        case 'binary-time':
            return new Uint8Array(6);
        case 'utc-time':
            return { seconds: 0, fraction: 0, quality: zeroTimeQuality() };
        default:
            return '';
    }
}

function zeroTimeQuality(): Timestamp['quality'] {
    return { leapSecondsKnown: false, clockFailure: false, clockNotSynchronized: false, timeAccuracy: 0 };
}

/** The MMS Data of a DA's value (its own value, else the default); throws BAD_INPUT on a wrong value. */
export function valueToData(da: DataAttribute, value: Value | undefined = da.value, path = da.name): Data {
    const v = value ?? defaultValue(da);
    if (da.count !== undefined) {
        if (!Array.isArray(v) || v.length !== da.count) {
            throw badInput('out-of-range', `${path} needs an array of ${da.count} elements`);
        }
        return { kind: 'array', elements: v.map((e, i) => oneToData(da, e, `${path}(${i})`)) };
    }
    return oneToData(da, v, path);
}

function oneToData(da: DataAttribute, v: Value, path: string): Data {
    if (da.type === 'Struct') {
        if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
            throw badInput('syntax', `${path} needs an object with its members`);
        }
        const members = v as Record<string, Value>;
        return {
            kind: 'structure',
            components: (da.children ?? []).map((c) => valueToData(c, members[c.name], `${path}.${c.name}`)),
        };
    }
    return basicToData(da.type, v, path);
}

function wrongValue(path: string, type: string, v: unknown): never {
    const shown = typeof v === 'string' ? `'${v.slice(0, 40)}'` : typeof v;
    throw badInput('syntax', `${path} is ${type}; got ${shown}`);
}

function basicToData(type: BasicType, v: Value, path: string): Data {
    const spec = BASIC_TYPE_SPECS[type];
    switch (spec.kind) {
        case 'boolean':
            if (typeof v !== 'boolean') wrongValue(path, type, v);
            return { kind: 'boolean', value: v };
        case 'integer':
        case 'unsigned': {
            if (type === 'INT64') {
                const b = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : v;
                if (typeof b !== 'bigint') wrongValue(path, type, v);
                if (b < INT64_RANGE[0] || b > INT64_RANGE[1]) throw badInput('out-of-range', `${path} exceeds INT64`);
                return { kind: 'integer', value: b };
            }
            const [min, max] = INT_RANGES[type] as readonly [number, number];
            if (typeof v !== 'number' || !Number.isInteger(v)) wrongValue(path, type, v);
            if (v < min || v > max)
                throw badInput('out-of-range', `${path} must be ${min}..${max} (${type})`, String(v));
            return { kind: spec.kind, value: BigInt(v) };
        }
        case 'floating-point':
            if (typeof v !== 'number') wrongValue(path, type, v);
            return { kind: 'floating-point', format: spec.formatWidth === 32 ? 'single' : 'double', value: v };
        case 'bit-string': {
            if (type === 'Quality') {
                if (typeof v !== 'object' || v === null || !('validity' in v)) wrongValue(path, type, v);
                return { kind: 'bit-string', bits: encodeQuality(v as Quality) };
            }
            if (typeof v !== 'string' || !/^[01]*$/.test(v) || v.length !== spec.size) {
                wrongValue(path, `${type} (${spec.size} bits of 0/1)`, v);
            }
            return { kind: 'bit-string', bits: v };
        }
        case 'octet-string': {
            if (!(v instanceof Uint8Array)) wrongValue(path, type, v);
            if (spec.size > 0 ? v.length !== spec.size : v.length > -spec.size) {
                throw badInput(
                    'out-of-range',
                    `${path} must be ${Math.abs(spec.size)} octets${spec.size < 0 ? ' at most' : ''}`,
                );
            }
            return { kind: 'octet-string', value: v };
        }
        case 'visible-string':
        case 'mMSString': {
            if (typeof v !== 'string') wrongValue(path, type, v);
            if ([...v].length > -spec.size)
                throw badInput('too-long', `${path} is longer than ${-spec.size} characters`);
            return { kind: spec.kind, value: v };
        }
        case 'utc-time': {
            const t = v as Timestamp;
            if (typeof t !== 'object' || t === null || typeof t.seconds !== 'number' || !t.quality) {
                wrongValue(path, type, v);
            }
            return {
                kind: 'utc-time',
                seconds: t.seconds,
                fraction: t.fraction,
                quality: {
                    leapSecondsKnown: t.quality.leapSecondsKnown,
                    clockFailure: t.quality.clockFailure,
                    clockNotSynchronized: t.quality.clockNotSynchronized,
                    accuracy: t.quality.timeAccuracy,
                },
            };
        }
        case 'binary-time': {
            if (!(v instanceof Uint8Array) || v.length !== 6) wrongValue(path, `${type} (6 octets)`, v);
            const view = new DataView(v.buffer, v.byteOffset, 6);
            return { kind: 'binary-time', msOfDay: view.getUint32(0), days: view.getUint16(4) };
        }
        default:
            throw badInput('syntax', `${path}: no MMS mapping for ${type}`);
    }
}

/**
 * The model value of MMS Data for a DA (what a Write carries). Refuses Data of another MMS type
 * (the server answers type-inconsistent) and values outside the basic type.
 */
export function dataToValue(da: DataAttribute, data: Data, path = da.name): Value {
    if (da.count !== undefined) {
        if (data.kind !== 'array' || data.elements.length !== da.count) {
            throw badInput('syntax', `${path} needs an array of ${da.count} elements, got ${data.kind}`);
        }
        return data.elements.map((e, i) => oneFromData(da, e, `${path}(${i})`));
    }
    return oneFromData(da, data, path);
}

function oneFromData(da: DataAttribute, data: Data, path: string): Value {
    if (da.type === 'Struct') {
        const kids = da.children ?? [];
        if (data.kind !== 'structure' || data.components.length !== kids.length) {
            throw badInput('syntax', `${path} needs a structure of ${kids.length} members, got ${data.kind}`);
        }
        return Object.fromEntries(
            kids.map((c, i) => [c.name, dataToValue(c, data.components[i] as Data, `${path}.${c.name}`)]),
        );
    }
    const spec = BASIC_TYPE_SPECS[da.type];
    const expect = spec.kind;
    if (data.kind !== expect) throw badInput('syntax', `${path} is ${da.type} (MMS ${expect}); got ${data.kind}`);
    switch (data.kind) {
        case 'boolean':
            return data.value;
        case 'integer':
        case 'unsigned': {
            if (da.type === 'INT64') return data.value;
            const n = Number(data.value);
            basicToData(da.type, n, path); // range check
            return n;
        }
        case 'floating-point':
            return data.value;
        case 'bit-string':
            if (da.type === 'Quality') return decodeQuality(data.bits);
            basicToData(da.type, data.bits, path);
            return data.bits;
        case 'octet-string':
            basicToData(da.type, data.value, path);
            return data.value;
        case 'visible-string':
        case 'mMSString':
            basicToData(da.type, data.value, path);
            return data.value;
        case 'utc-time':
            return {
                seconds: data.seconds,
                fraction: data.fraction,
                quality: {
                    leapSecondsKnown: data.quality.leapSecondsKnown,
                    clockFailure: data.quality.clockFailure,
                    clockNotSynchronized: data.quality.clockNotSynchronized,
                    timeAccuracy: data.quality.accuracy,
                },
            };
        case 'binary-time': {
            const out = new Uint8Array(6);
            const view = new DataView(out.buffer);
            view.setUint32(0, data.msOfDay);
            view.setUint16(4, data.days ?? 0);
            return out;
        }
        default:
            throw badInput('syntax', `${path}: unexpected ${data.kind}`);
    }
}

/**
 * The Data of a whole DO (or SDO) restricted to `fc`: a structure of its attributes of that FC,
 * in model order, as a Read of the FCD returns it (note §5.2).
 */
export function fcdToData(node: DataObject, fc: Fc, path = node.name): Data {
    const one = (): Data => ({
        kind: 'structure',
        components: node.children
            .filter((c) => carries(c, fc))
            .map((c) =>
                c.kind === 'DO' ? fcdToData(c, fc, `${path}.${c.name}`) : valueToData(c, c.value, `${path}.${c.name}`),
            ),
    });
    return node.count === undefined ? one() : { kind: 'array', elements: Array.from({ length: node.count }, one) };
}

/**
 * The attribute that carries a DO's value, per CDC family (7-3): status (stVal), measured
 * (mag, instMag), controllable analogue (mxVal), counters (actVal), settings (setVal, setMag),
 * vectors (cVal), protection activation (general). First present wins.
 */
export const MAIN_ATTRIBUTES: readonly string[] = Object.freeze([
    'stVal',
    'mag',
    'mxVal',
    'actVal',
    'setVal',
    'setMag',
    'instMag',
    'cVal',
    'general',
]);
