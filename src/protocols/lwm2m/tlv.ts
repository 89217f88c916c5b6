import { Lwm2mError } from './errors';

/**
 * The LwM2M TLV format (content format 11542, OMA-TS-LightweightM2M_Core §7.4.3; design note
 * ../shared/design/greenbutton-lwm2m.md B.1.6): each element is a type byte, an 8- or 16-bit
 * identifier, a 0-3 byte length and the value. Object instances and multiple resources nest
 * further elements. Values are typed by the resource definition, not by the TLV: see
 * encodeValue/decodeValue.
 */

/** Bits 7-6 of the type byte (§7.4.3 Table: TLV type field). */
export const TLV_KINDS = Object.freeze({
    objectInstance: 0b00,
    resourceInstance: 0b01,
    multipleResource: 0b10,
    resource: 0b11,
});
export type TlvKind = keyof typeof TLV_KINDS;

const KIND_OF: readonly TlvKind[] = ['objectInstance', 'resourceInstance', 'multipleResource', 'resource'];

/** What may be nested in what (§7.4.3): instances hold resources, multiple resources hold resource instances. */
const CHILD_KINDS: Readonly<Partial<Record<TlvKind, readonly TlvKind[]>>> = Object.freeze({
    objectInstance: ['resource', 'multipleResource'],
    multipleResource: ['resourceInstance'],
});

export type Tlv =
    | { kind: 'objectInstance' | 'multipleResource'; id: number; children: Tlv[] }
    | { kind: 'resource' | 'resourceInstance'; id: number; value: Uint8Array };

/** Largest value length the 24-bit length field can carry. */
export const MAX_TLV_LENGTH = 0xffffff;

export interface TlvLimits {
    /** Total elements in one payload. Default 10,000. */
    maxElements?: number;
    /** Payload bytes. Default 1 MiB. */
    maxBytes?: number;
}

// ---- encoding ----------------------------------------------------------------------------------

function header(kind: TlvKind, id: number, length: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id > 0xffff)
        throw new Lwm2mError('wrong-type', `TLV identifier ${id} is not 0..65535`);
    if (length > MAX_TLV_LENGTH) throw new Lwm2mError('limit', `TLV value of ${length} bytes exceeds 2^24-1`);
    const wideId = id > 0xff;
    const lengthBytes = length <= 7 ? 0 : length <= 0xff ? 1 : length <= 0xffff ? 2 : 3;
    const out = new Uint8Array(1 + (wideId ? 2 : 1) + lengthBytes);
    out[0] = (TLV_KINDS[kind] << 6) | (wideId ? 0x20 : 0) | (lengthBytes << 3) | (lengthBytes === 0 ? length : 0);
    let at = 1;
    if (wideId) out[at++] = id >> 8;
    out[at++] = id & 0xff;
    for (let b = lengthBytes - 1; b >= 0; b--) out[at++] = (length >> (8 * b)) & 0xff;
    return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
        out.set(p, at);
        at += p.length;
    }
    return out;
}

function encodeOne(t: Tlv): Uint8Array {
    if ('children' in t) {
        const allowed = CHILD_KINDS[t.kind] ?? [];
        for (const c of t.children) {
            if (!allowed.includes(c.kind))
                throw new Lwm2mError('wrong-type', `a ${t.kind} TLV cannot hold a ${c.kind}`);
        }
        const body = concat(t.children.map(encodeOne));
        return concat([header(t.kind, t.id, body.length), body]);
    }
    return concat([header(t.kind, t.id, t.value.length), t.value]);
}

/** The TLV bytes of a sequence of elements. */
export function encodeTlv(elements: readonly Tlv[]): Uint8Array {
    return concat(elements.map(encodeOne));
}

// ---- decoding ----------------------------------------------------------------------------------

/**
 * Decodes a TLV payload into elements, checking every header and length against the bytes that
 * are there; nested elements must be of the kinds §7.4.3 allows (no deeper than instance >
 * multiple resource > resource instance).
 */
export function decodeTlv(bytes: Uint8Array, limits: TlvLimits = {}): Tlv[] {
    const maxBytes = limits.maxBytes ?? 1024 * 1024;
    if (bytes.length > maxBytes)
        throw new Lwm2mError('limit', `TLV payload of ${bytes.length} bytes exceeds ${maxBytes}`);
    const budget = { left: limits.maxElements ?? 10_000 };
    return decodeRange(bytes, 0, bytes.length, undefined, budget);
}

function decodeRange(
    bytes: Uint8Array,
    start: number,
    end: number,
    parent: TlvKind | undefined,
    budget: { left: number },
): Tlv[] {
    const out: Tlv[] = [];
    let at = start;
    while (at < end) {
        if (--budget.left < 0) throw new Lwm2mError('limit', 'too many TLV elements', at);
        const type = bytes[at] as number;
        const kind = KIND_OF[type >> 6] as TlvKind;
        const idBytes = type & 0x20 ? 2 : 1;
        const lengthBytes = (type >> 3) & 0x03;
        if (lengthBytes !== 0 && (type & 0x07) !== 0)
            throw new Lwm2mError('malformed', 'TLV type byte has length bits set with a length field', at);
        const headerEnd = at + 1 + idBytes + lengthBytes;
        if (headerEnd > end) throw new Lwm2mError('truncated', 'TLV header cut short', at);
        const id =
            idBytes === 2 ? ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number) : (bytes[at + 1] as number);
        let length = lengthBytes === 0 ? type & 0x07 : 0;
        for (let i = 0; i < lengthBytes; i++) length = length * 256 + (bytes[at + 1 + idBytes + i] as number);
        const valueEnd = headerEnd + length;
        if (valueEnd > end)
            throw new Lwm2mError(
                'truncated',
                `TLV ${kind} ${id} says ${length} bytes, ${end - headerEnd} are left`,
                at,
            );
        if (parent !== undefined && !(CHILD_KINDS[parent] ?? []).includes(kind))
            throw new Lwm2mError('malformed', `a ${parent} TLV cannot hold a ${kind}`, at);
        if (kind === 'objectInstance' || kind === 'multipleResource') {
            out.push({ kind, id, children: decodeRange(bytes, headerEnd, valueEnd, kind, budget) });
        } else {
            out.push({ kind, id, value: bytes.slice(headerEnd, valueEnd) });
        }
        at = valueEnd;
    }
    return out;
}

// ---- values ------------------------------------------------------------------------------------

/** LwM2M resource data types (Core §C, Data Types; design note B.1.6). */
export type ResourceType =
    | 'string'
    | 'integer'
    | 'unsigned'
    | 'float'
    | 'boolean'
    | 'opaque'
    | 'time'
    | 'objlnk'
    | 'corelnk'
    | 'none';

/** An Objlnk value: object ID and instance ID; 65535:65535 is the null link. */
export interface ObjectLink {
    objectId: number;
    instanceId: number;
}

export type ResourceValue = string | number | bigint | boolean | Uint8Array | Date | ObjectLink | null;

const INT = [
    { bytes: 1, min: -(2n ** 7n), max: 2n ** 7n - 1n },
    { bytes: 2, min: -(2n ** 15n), max: 2n ** 15n - 1n },
    { bytes: 4, min: -(2n ** 31n), max: 2n ** 31n - 1n },
    { bytes: 8, min: -(2n ** 63n), max: 2n ** 63n - 1n },
];

function asBigInt(v: ResourceValue, type: ResourceType): bigint {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    if (type === 'time' && v instanceof Date && !Number.isNaN(v.getTime()))
        return BigInt(Math.floor(v.getTime() / 1000));
    throw new Lwm2mError(
        'wrong-type',
        `${type} needs an integer${type === 'time' ? ' or a Date' : ''}, got ${typeof v}`,
    );
}

function intBytes(n: bigint, signed: boolean): Uint8Array {
    for (const w of INT) {
        const fits = signed ? n >= w.min && n <= w.max : n >= 0n && n < 2n ** BigInt(w.bytes * 8);
        if (!fits) continue;
        const out = new Uint8Array(w.bytes);
        const view = new DataView(out.buffer);
        if (w.bytes === 1) signed ? view.setInt8(0, Number(n)) : view.setUint8(0, Number(n));
        else if (w.bytes === 2) signed ? view.setInt16(0, Number(n)) : view.setUint16(0, Number(n));
        else if (w.bytes === 4) signed ? view.setInt32(0, Number(n)) : view.setUint32(0, Number(n));
        else signed ? view.setBigInt64(0, n) : view.setBigUint64(0, n);
        return out;
    }
    throw new Lwm2mError('bad-value', `${n} does not fit a 64-bit ${signed ? 'integer' : 'unsigned integer'}`);
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The TLV value bytes of a resource value of `type`. */
export function encodeValue(type: ResourceType, v: ResourceValue): Uint8Array {
    switch (type) {
        case 'string':
        case 'corelnk':
            if (typeof v !== 'string') throw new Lwm2mError('wrong-type', `${type} needs text, got ${typeof v}`);
            return utf8.encode(v);
        case 'integer':
        case 'time':
            return intBytes(asBigInt(v, type), true);
        case 'unsigned':
            return intBytes(asBigInt(v, type), false);
        case 'float': {
            if (typeof v !== 'number') throw new Lwm2mError('wrong-type', `float needs a number, got ${typeof v}`);
            const single = Number.isNaN(v) || Math.fround(v) === v;
            const out = new Uint8Array(single ? 4 : 8);
            const view = new DataView(out.buffer);
            if (single) view.setFloat32(0, v);
            else view.setFloat64(0, v);
            return out;
        }
        case 'boolean':
            if (typeof v !== 'boolean')
                throw new Lwm2mError('wrong-type', `boolean needs true or false, got ${typeof v}`);
            return Uint8Array.of(v ? 1 : 0);
        case 'opaque':
            if (!(v instanceof Uint8Array)) throw new Lwm2mError('wrong-type', 'opaque needs bytes');
            return v;
        case 'objlnk': {
            const link = v === null ? { objectId: 0xffff, instanceId: 0xffff } : (v as ObjectLink);
            const ok = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffff;
            if (typeof link !== 'object' || !ok(link.objectId) || !ok(link.instanceId))
                throw new Lwm2mError('wrong-type', 'objlnk needs {objectId, instanceId} of 0..65535');
            const out = new Uint8Array(4);
            const view = new DataView(out.buffer);
            view.setUint16(0, link.objectId);
            view.setUint16(2, link.instanceId);
            return out;
        }
        case 'none':
            return new Uint8Array(0);
    }
}

/**
 * The value of a resource of `type` from its TLV value bytes. Integers are numbers when they fit
 * 2^53, bigints beyond; time is a Date; a null objlnk (65535:65535) is null.
 */
export function decodeValue(type: ResourceType, bytes: Uint8Array): ResourceValue {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = bytes.length;
    switch (type) {
        case 'string':
        case 'corelnk':
            try {
                return utf8Strict.decode(bytes);
            } catch {
                throw new Lwm2mError('bad-value', `${type} is not valid UTF-8`);
            }
        case 'integer':
        case 'time':
        case 'unsigned': {
            const signed = type !== 'unsigned';
            let big: bigint;
            if (n === 1) big = BigInt(signed ? view.getInt8(0) : view.getUint8(0));
            else if (n === 2) big = BigInt(signed ? view.getInt16(0) : view.getUint16(0));
            else if (n === 4) big = BigInt(signed ? view.getInt32(0) : view.getUint32(0));
            else if (n === 8) big = signed ? view.getBigInt64(0) : view.getBigUint64(0);
            else throw new Lwm2mError('bad-value', `${type} must be 1, 2, 4 or 8 bytes, not ${n}`);
            if (type === 'time') return new Date(Number(big) * 1000);
            return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
        }
        case 'float':
            if (n === 4) return view.getFloat32(0);
            if (n === 8) return view.getFloat64(0);
            throw new Lwm2mError('bad-value', `float must be 4 or 8 bytes, not ${n}`);
        case 'boolean':
            if (n !== 1 || (bytes[0] as number) > 1)
                throw new Lwm2mError('bad-value', 'boolean must be one byte, 0 or 1');
            return bytes[0] === 1;
        case 'opaque':
            return bytes.slice();
        case 'objlnk': {
            if (n !== 4) throw new Lwm2mError('bad-value', `objlnk must be 4 bytes, not ${n}`);
            const link = { objectId: view.getUint16(0), instanceId: view.getUint16(2) };
            return link.objectId === 0xffff && link.instanceId === 0xffff ? null : link;
        }
        case 'none':
            if (n !== 0) throw new Lwm2mError('bad-value', `a resource without value carries ${n} bytes`);
            return null;
    }
}
