import { type CborValue, decodeCbor, encodeCbor } from './cbor';
import type { ObjectDefinition } from './ddf';
import { Lwm2mError } from './errors';
import { decodeLwm2mJson } from './lwm2m-json';
import { formatPath, type Lwm2mPath } from './path';
import { decodePlain, encodePlain } from './plain';
import { decodeSenmlCbor, encodeSenmlCbor } from './senml-cbor';
import { decodeSenmlJson, encodeSenmlJson, type SenmlRecord, type SenmlValue } from './senml-json';
import {
    decodeTlv,
    decodeValue,
    encodeTlv,
    encodeValue,
    type ObjectLink,
    type ResourceType,
    type ResourceValue,
    type Tlv,
} from './tlv';

/**
 * Resource values independent of their content format: what the roles read, write, notify and
 * send. Every payload format (TLV, SenML JSON/CBOR, LwM2M JSON, text, opaque, CBOR) converts
 * to and from a list of entries.
 */

/** One resource (or resource instance) value with its absolute path. */
export interface ResourceEntry {
    /** objectId, instanceId and resourceId are set; resourceInstanceId for a multiple resource's instance. */
    path: Lwm2mPath;
    value: ResourceValue;
    /** Seconds since 1970, when the value carries a time (SenML `t`). */
    time?: number;
}

/** The type of the resource at a path, from the object definitions; undefined when unknown. */
export type TypeLookup = (path: Lwm2mPath) => ResourceType | undefined;

/** A TypeLookup over object definitions (resource IDs unknown to them give undefined). */
export function typeLookup(definitions: ReadonlyMap<number, ObjectDefinition>): TypeLookup {
    return (path) => {
        if (path.objectId === undefined || path.resourceId === undefined) return undefined;
        return definitions.get(path.objectId)?.resources.find((r) => r.id === path.resourceId)?.type;
    };
}

/** CoAP Content-Format numbers LwM2M uses (design note B.1.5). */
export const CONTENT_FORMATS = Object.freeze({
    text: 0,
    linkFormat: 40,
    opaque: 42,
    cbor: 60,
    senmlJson: 110,
    senmlCbor: 112,
    tlv: 11542,
    lwm2mJson: 11543,
});

export interface ContentLimits {
    /** Entries in one payload. Default 10,000. */
    maxEntries?: number;
    /** Payload bytes. Default 1 MiB. */
    maxBytes?: number;
}

const NAMES: Readonly<Record<number, string>> = Object.freeze({
    0: 'text/plain',
    40: 'application/link-format',
    42: 'application/octet-stream',
    60: 'application/cbor',
    110: 'application/senml+json',
    112: 'application/senml+cbor',
    11542: 'application/vnd.oma.lwm2m+tlv',
    11543: 'application/vnd.oma.lwm2m+json',
});

/** The media type of a content format number, or `format N` when unknown. */
export function contentFormatName(format: number): string {
    return NAMES[format] ?? `format ${format}`;
}

/** Formats that carry one value only (Core §7.4.1, §7.4.2, §7.4.6). */
export function isSingleValueFormat(format: number): boolean {
    return format === CONTENT_FORMATS.text || format === CONTENT_FORMATS.opaque || format === CONTENT_FORMATS.cbor;
}

/** Formats this core encodes (LwM2M JSON 11543 is decoded only; link format is not a value format). */
export const ENCODABLE_FORMATS: readonly number[] = Object.freeze([0, 42, 60, 110, 112, 11542]);
/** Formats this core decodes. */
export const DECODABLE_FORMATS: readonly number[] = Object.freeze([0, 42, 60, 110, 112, 11542, 11543]);

/** The type a JavaScript value suggests, for resources no definition describes. */
export function typeOfValue(v: ResourceValue): ResourceType {
    if (typeof v === 'string') return 'string';
    if (typeof v === 'boolean') return 'boolean';
    if (typeof v === 'bigint') return 'integer';
    if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float';
    if (v instanceof Uint8Array) return 'opaque';
    if (v instanceof Date) return 'time';
    if (v === null) return 'none';
    return 'objlnk';
}

function under(path: Lwm2mPath, base: Lwm2mPath): boolean {
    for (const k of KEYS) {
        if (base[k] === undefined) return true;
        if (path[k] !== base[k]) return false;
    }
    return true;
}

const KEYS = ['objectId', 'instanceId', 'resourceId', 'resourceInstanceId'] as const;

function depth(path: Lwm2mPath): number {
    let n = 0;
    for (const k of KEYS) {
        if (path[k] === undefined) break;
        n++;
    }
    return n;
}

// ---- encoding ----------------------------------------------------------------------------------

/**
 * The payload of `entries` in `format`, for a request on `requestPath` (TLV nests relative to
 * it: instances under an object, resources under an instance). Single-value formats take one
 * entry. Throws Lwm2mError for a format that cannot carry the entries or values of the wrong type.
 */
export function encodeContent(
    format: number,
    requestPath: Lwm2mPath,
    entries: readonly ResourceEntry[],
    typeOf: TypeLookup,
): Uint8Array {
    for (const e of entries)
        if (!under(e.path, requestPath) || e.path.resourceId === undefined)
            throw new Lwm2mError(
                'malformed',
                `${formatPath(e.path)} is not a resource under ${formatPath(requestPath)}`,
            );
    const typed = (e: ResourceEntry): ResourceType => typeOf(e.path) ?? typeOfValue(e.value);
    if (isSingleValueFormat(format)) {
        if (entries.length !== 1)
            throw new Lwm2mError(
                'wrong-type',
                `${contentFormatName(format)} carries one value, not ${entries.length}; ask for TLV or SenML`,
            );
        const e = entries[0] as ResourceEntry;
        const type = typed(e);
        if (format === CONTENT_FORMATS.text) return new TextEncoder().encode(encodePlain(type, e.value));
        if (format === CONTENT_FORMATS.opaque) {
            if (type !== 'opaque') throw new Lwm2mError('wrong-type', `${formatPath(e.path)} is ${type}, not opaque`);
            return encodeValue('opaque', e.value);
        }
        return encodeCbor(toCbor(type, e.value));
    }
    if (format === CONTENT_FORMATS.senmlJson || format === CONTENT_FORMATS.senmlCbor) {
        const records = entries.map((e) => toRecord(e, typed(e)));
        return format === CONTENT_FORMATS.senmlJson
            ? new TextEncoder().encode(encodeSenmlJson(records))
            : encodeSenmlCbor(records);
    }
    if (format === CONTENT_FORMATS.tlv) return encodeTlv(toTlv(requestPath, entries, typed));
    throw new Lwm2mError('malformed', `cannot encode ${contentFormatName(format)}`);
}

function toCbor(type: ResourceType, v: ResourceValue): CborValue {
    if (type === 'time') {
        if (v instanceof Date) return Math.floor(v.getTime() / 1000);
        if (typeof v === 'number' || typeof v === 'bigint') return v;
    }
    if (
        type === 'objlnk' ||
        (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date))
    )
        return encodePlain('objlnk', v);
    encodeValue(type, v); // type check
    return v as CborValue;
}

function toRecord(e: ResourceEntry, type: ResourceType): SenmlRecord {
    encodeValue(type, e.value); // refuses values of the wrong type
    const v = e.value;
    let value: SenmlValue;
    if (type === 'string' || type === 'corelnk') value = { kind: 'string', value: v as string };
    else if (type === 'boolean') value = { kind: 'boolean', value: v as boolean };
    else if (type === 'opaque') value = { kind: 'opaque', value: v as Uint8Array };
    else if (type === 'objlnk')
        value = { kind: 'objlnk', value: (v as ObjectLink | null) ?? { objectId: 0xffff, instanceId: 0xffff } };
    else if (type === 'time')
        value = { kind: 'number', value: v instanceof Date ? Math.floor(v.getTime() / 1000) : Number(v) };
    else if (type === 'none') value = { kind: 'string', value: '' };
    else value = { kind: 'number', value: Number(v) };
    const r: SenmlRecord = { path: e.path, value };
    if (e.time !== undefined) r.time = e.time;
    return r;
}

function toTlv(
    requestPath: Lwm2mPath,
    entries: readonly ResourceEntry[],
    typed: (e: ResourceEntry) => ResourceType,
): Tlv[] {
    const d = depth(requestPath);
    if (d === 0) throw new Lwm2mError('malformed', 'TLV cannot carry values of several objects; use SenML');
    // Group by instance, then by resource, keeping order of first appearance.
    const instances = new Map<number, Map<number, ResourceEntry[]>>();
    for (const e of entries) {
        const i = e.path.instanceId as number;
        const r = e.path.resourceId as number;
        let res = instances.get(i);
        if (!res) {
            res = new Map();
            instances.set(i, res);
        }
        const list = res.get(r);
        if (list) list.push(e);
        else res.set(r, [e]);
    }
    const resourceTlv = (id: number, list: readonly ResourceEntry[]): Tlv => {
        const first = list[0] as ResourceEntry;
        if (first.path.resourceInstanceId === undefined) {
            if (list.length > 1) throw new Lwm2mError('malformed', `${formatPath(first.path)} is given twice`);
            return { kind: 'resource', id, value: encodeValue(typed(first), first.value) };
        }
        return {
            kind: 'multipleResource',
            id,
            children: list.map((e) => {
                if (e.path.resourceInstanceId === undefined)
                    throw new Lwm2mError('malformed', `${formatPath(e.path)} mixes single and multiple values`);
                return {
                    kind: 'resourceInstance',
                    id: e.path.resourceInstanceId,
                    value: encodeValue(typed(e), e.value),
                };
            }),
        };
    };
    if (d === 4) {
        if (entries.length !== 1) throw new Lwm2mError('malformed', 'a resource instance has one value');
        const e = entries[0] as ResourceEntry;
        return [
            {
                kind: 'resourceInstance',
                id: e.path.resourceInstanceId as number,
                value: encodeValue(typed(e), e.value),
            },
        ];
    }
    const perInstance = (res: Map<number, ResourceEntry[]>): Tlv[] =>
        [...res].map(([id, list]) => resourceTlv(id, list));
    if (d === 1) return [...instances].map(([id, res]) => ({ kind: 'objectInstance', id, children: perInstance(res) }));
    const only = instances.values().next().value ?? new Map<number, ResourceEntry[]>();
    return perInstance(only);
}

// ---- decoding ----------------------------------------------------------------------------------

export interface DecodeOptions extends ContentLimits {
    /** For a Create on `/o` whose TLV holds bare resources (LwM2M 1.0 style): the instance to give them. */
    defaultInstanceId?: number;
}

/**
 * The entries of a payload in `format` sent for `requestPath`; names in SenML are absolute and
 * must lie under the request path. Types come from `typeOf`, opaque when unknown (TLV) or from
 * the value's own kind (SenML). Throws Lwm2mError (reason says why) on anything malformed.
 */
export function decodeContent(
    format: number,
    requestPath: Lwm2mPath,
    payload: Uint8Array,
    typeOf: TypeLookup,
    options: DecodeOptions = {},
): ResourceEntry[] {
    const maxBytes = options.maxBytes ?? 1024 * 1024;
    const maxEntries = options.maxEntries ?? 10_000;
    if (payload.length > maxBytes)
        throw new Lwm2mError('limit', `a payload of ${payload.length} bytes exceeds ${maxBytes}`);
    let entries: ResourceEntry[];
    if (isSingleValueFormat(format)) {
        if (requestPath.resourceId === undefined)
            throw new Lwm2mError(
                'malformed',
                `${contentFormatName(format)} carries a single resource, not ${formatPath(requestPath)}`,
            );
        const type = typeOf(requestPath) ?? (format === CONTENT_FORMATS.opaque ? 'opaque' : 'string');
        let value: ResourceValue;
        if (format === CONTENT_FORMATS.text) {
            let text: string;
            try {
                text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
            } catch {
                throw new Lwm2mError('bad-value', 'text/plain payload is not UTF-8');
            }
            value = decodePlain(type, text);
        } else if (format === CONTENT_FORMATS.opaque) {
            if (type !== 'opaque')
                throw new Lwm2mError('wrong-type', `${formatPath(requestPath)} is ${type}, not opaque`);
            value = payload.slice();
        } else value = fromCbor(type, decodeCbor(payload), requestPath);
        entries = [{ path: { ...requestPath }, value }];
    } else if (
        format === CONTENT_FORMATS.senmlJson ||
        format === CONTENT_FORMATS.senmlCbor ||
        format === CONTENT_FORMATS.lwm2mJson
    ) {
        const limits = { maxBytes, maxRecords: maxEntries };
        const records =
            format === CONTENT_FORMATS.senmlJson
                ? decodeSenmlJson(payload, limits)
                : format === CONTENT_FORMATS.senmlCbor
                  ? decodeSenmlCbor(payload, limits)
                  : decodeLwm2mJson(payload, limits);
        entries = records.map((r) => fromRecord(r, typeOf, format === CONTENT_FORMATS.lwm2mJson));
    } else if (format === CONTENT_FORMATS.tlv) {
        entries = fromTlv(requestPath, decodeTlv(payload, { maxBytes, maxElements: maxEntries }), typeOf, options);
    } else {
        throw new Lwm2mError('malformed', `${contentFormatName(format)} is not a value format this core reads`);
    }
    if (entries.length > maxEntries) throw new Lwm2mError('limit', `${entries.length} values exceed ${maxEntries}`);
    for (const e of entries) {
        if (e.path.resourceId === undefined)
            throw new Lwm2mError('malformed', `${formatPath(e.path)} names no resource`);
        if (!under(e.path, requestPath))
            throw new Lwm2mError('malformed', `${formatPath(e.path)} lies outside ${formatPath(requestPath)}`);
    }
    return entries;
}

function fromCbor(type: ResourceType, v: CborValue, path: Lwm2mPath): ResourceValue {
    const bad = (): never => {
        throw new Lwm2mError('wrong-type', `${formatPath(path)} is ${type}; the CBOR value is ${typeof v}`);
    };
    switch (type) {
        case 'string':
        case 'corelnk':
            return typeof v === 'string' ? v : bad();
        case 'boolean':
            return typeof v === 'boolean' ? v : bad();
        case 'opaque':
            return v instanceof Uint8Array ? v : bad();
        case 'objlnk':
            return typeof v === 'string' ? decodePlain('objlnk', v) : bad();
        case 'time':
            if (typeof v === 'number' || typeof v === 'bigint') return new Date(Number(v) * 1000);
            return bad();
        case 'float':
            return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : bad();
        case 'integer':
        case 'unsigned':
            if (typeof v === 'bigint') return v;
            if (typeof v === 'number' && Number.isInteger(v) && (type === 'integer' || v >= 0)) return v;
            return bad();
        case 'none':
            return v === null || v === undefined ? null : bad();
    }
}

function fromRecord(r: SenmlRecord, typeOf: TypeLookup, lwm2mJson: boolean): ResourceEntry {
    const where = formatPath(r.path);
    if (r.value === undefined) throw new Lwm2mError('malformed', `${where} has no value`);
    const v = r.value;
    const type = typeOf(r.path);
    const wrong = (): never => {
        throw new Lwm2mError('wrong-type', `${where} is ${type}; the record holds a ${v.kind}`);
    };
    let value: ResourceValue;
    switch (type) {
        case undefined:
            value = v.value;
            break;
        case 'string':
        case 'corelnk':
            value = v.kind === 'string' ? v.value : wrong();
            break;
        case 'boolean':
            value = v.kind === 'boolean' ? v.value : wrong();
            break;
        case 'opaque':
            if (v.kind === 'opaque') value = v.value;
            else if (lwm2mJson && v.kind === 'string') value = decodePlain('opaque', v.value);
            else value = wrong();
            break;
        case 'objlnk':
            if (v.kind === 'objlnk')
                value = v.value.objectId === 0xffff && v.value.instanceId === 0xffff ? null : v.value;
            else value = wrong();
            break;
        case 'time':
            value = v.kind === 'number' ? new Date(v.value * 1000) : wrong();
            break;
        case 'float':
            value = v.kind === 'number' ? v.value : wrong();
            break;
        case 'integer':
        case 'unsigned':
            if (v.kind !== 'number' || !Number.isInteger(v.value) || (type === 'unsigned' && v.value < 0))
                value = wrong();
            else value = v.value;
            break;
        case 'none':
            value = null;
            break;
    }
    const e: ResourceEntry = { path: r.path, value };
    if (r.time !== undefined) e.time = r.time;
    return e;
}

function fromTlv(
    requestPath: Lwm2mPath,
    tlvs: readonly Tlv[],
    typeOf: TypeLookup,
    options: DecodeOptions,
): ResourceEntry[] {
    const out: ResourceEntry[] = [];
    const d = depth(requestPath);
    if (d === 0) throw new Lwm2mError('malformed', 'TLV needs a path of at least an object');
    const value = (path: Lwm2mPath, bytes: Uint8Array): void => {
        out.push({ path, value: decodeValue(typeOf(path) ?? 'opaque', bytes) });
    };
    const resources = (base: Lwm2mPath, list: readonly Tlv[]): void => {
        for (const t of list) {
            const path = { ...base, resourceId: t.id };
            if (t.kind === 'resource') value(path, t.value);
            else if (t.kind === 'multipleResource')
                for (const c of t.children) {
                    if (c.kind !== 'resourceInstance')
                        throw new Lwm2mError('malformed', 'a multiple resource holds resource instances');
                    value({ ...path, resourceInstanceId: c.id }, c.value);
                }
            else throw new Lwm2mError('malformed', `a ${t.kind} TLV where resources belong (${formatPath(base)})`);
        }
    };
    const o = requestPath.objectId as number;
    if (d === 1) {
        const bare = tlvs.every((t) => t.kind === 'resource' || t.kind === 'multipleResource');
        if (bare && tlvs.length > 0 && options.defaultInstanceId !== undefined) {
            resources({ objectId: o, instanceId: options.defaultInstanceId }, tlvs);
            return out;
        }
        for (const t of tlvs) {
            if (t.kind !== 'objectInstance')
                throw new Lwm2mError('malformed', `a ${t.kind} TLV directly under object ${o}`);
            resources({ objectId: o, instanceId: t.id }, t.children);
        }
        return out;
    }
    const i = requestPath.instanceId as number;
    // An instance-level payload may come wrapped in its object-instance TLV (some clients do so).
    const unwrapped =
        tlvs.length === 1 && tlvs[0]?.kind === 'objectInstance' && tlvs[0].id === i ? tlvs[0].children : tlvs;
    if (d === 2) {
        resources({ objectId: o, instanceId: i }, unwrapped);
        return out;
    }
    const r = requestPath.resourceId as number;
    if (d === 3) {
        // The resource itself, or its resource instances given bare.
        if (unwrapped.every((t) => t.kind === 'resourceInstance')) {
            for (const t of unwrapped)
                value(
                    { objectId: o, instanceId: i, resourceId: r, resourceInstanceId: t.id },
                    (t as { value: Uint8Array }).value,
                );
            return out;
        }
        for (const t of unwrapped)
            if (t.id !== r)
                throw new Lwm2mError('malformed', `TLV for resource ${t.id} sent to ${formatPath(requestPath)}`);
        resources({ objectId: o, instanceId: i }, unwrapped);
        return out;
    }
    for (const t of unwrapped) {
        if (t.kind !== 'resourceInstance' || t.id !== requestPath.resourceInstanceId)
            throw new Lwm2mError('malformed', `TLV does not hold resource instance ${formatPath(requestPath)}`);
        value({ ...requestPath }, t.value);
    }
    return out;
}

// ---- plain JavaScript values (what flows see) ---------------------------------------------------

/** A value as a flow sees it: Date for time, Buffer for opaque, `3:0` for objlnk, text for 64-bit integers beyond 2^53. */
export type PlainValue = string | number | boolean | Buffer | Date | null;
export type PlainTree = PlainValue | { [id: string]: PlainTree };

function plain(v: ResourceValue): PlainValue {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v);
    if (v !== null && typeof v === 'object' && !(v instanceof Date)) return `${v.objectId}:${v.instanceId}`;
    return v;
}

/**
 * The entries read at `requestPath` as a flow sees them: the value itself for one resource (or
 * resource instance), otherwise objects keyed by ID below the request path:
 * `/3316/0` → `{ "5700": 12.5, "5701": "V" }`, `/3316` → `{ "0": {...} }`, a multiple resource
 * → `{ "0": v0, "1": v1 }`.
 */
export function entriesToTree(requestPath: Lwm2mPath, entries: readonly ResourceEntry[]): PlainTree {
    const d = depth(requestPath);
    const first = entries[0];
    if (entries.length === 1 && first && depth(first.path) === d && d >= 3) return plain(first.value);
    const root: { [id: string]: PlainTree } = {};
    for (const e of entries) {
        const ids = KEYS.map((k) => e.path[k])
            .filter((x): x is number => x !== undefined)
            .slice(d);
        if (ids.length === 0) continue;
        let node = root;
        for (const id of ids.slice(0, -1)) {
            const next = node[id];
            if (
                next === undefined ||
                next === null ||
                typeof next !== 'object' ||
                next instanceof Date ||
                Buffer.isBuffer(next)
            ) {
                const made: { [id: string]: PlainTree } = {};
                node[id] = made;
                node = made;
            } else node = next as { [id: string]: PlainTree };
        }
        node[ids[ids.length - 1] as number] = plain(e.value);
    }
    return root;
}

/** A flow's value for a resource of `type`, coerced where the meaning is plain ("12.5" → 12.5, "3:0" → link, base64 → bytes). */
export function fromPlain(type: ResourceType, v: unknown, where: string): ResourceValue {
    const bad = (): never => {
        throw new Lwm2mError(
            'wrong-type',
            `${where} is ${type}; ${JSON.stringify(v)?.slice(0, 40) ?? typeof v} is not`,
        );
    };
    if (typeof v === 'string' && type !== 'string' && type !== 'corelnk') {
        if (type === 'time' && !/^-?\d+$/.test(v.trim())) {
            const t = Date.parse(v);
            return Number.isNaN(t) ? bad() : new Date(t);
        }
        if (type === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
        try {
            return decodePlain(type, v);
        } catch {
            return bad();
        }
    }
    switch (type) {
        case 'string':
        case 'corelnk':
            return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : bad();
        case 'integer':
        case 'unsigned':
            if (typeof v === 'bigint') return v;
            return typeof v === 'number' && Number.isSafeInteger(v) && (type === 'integer' || v >= 0) ? v : bad();
        case 'float':
            return typeof v === 'number' && Number.isFinite(v) ? v : bad();
        case 'boolean':
            if (v === 0 || v === 1) return v === 1;
            return typeof v === 'boolean' ? v : bad();
        case 'time':
            if (v instanceof Date && !Number.isNaN(v.getTime())) return v;
            return typeof v === 'number' && Number.isFinite(v) ? new Date(Math.floor(v) * 1000) : bad();
        case 'opaque':
            return v instanceof Uint8Array
                ? Uint8Array.from(v)
                : Array.isArray(v)
                  ? Uint8Array.from(v as number[])
                  : bad();
        case 'objlnk': {
            if (v === null) return null;
            const o = v as { objectId?: unknown; instanceId?: unknown };
            return typeof v === 'object' && Number.isInteger(o.objectId) && Number.isInteger(o.instanceId)
                ? { objectId: o.objectId as number, instanceId: o.instanceId as number }
                : bad();
        }
        case 'none':
            return null;
    }
}

/**
 * The entries for a flow's value written at `requestPath`: a single value for a resource or
 * resource instance, objects keyed by ID for an instance (`{ "5850": true }`), an object
 * (`{ "0": {...} }`) or a multiple resource (`{ "0": "a", "1": "b" }`). Types come from the
 * definitions (`typeOf`); unknown resources take the JavaScript value's own type.
 */
export function treeToEntries(
    requestPath: Lwm2mPath,
    tree: unknown,
    typeOf: TypeLookup,
    maxEntries = 10_000,
): ResourceEntry[] {
    const out: ResourceEntry[] = [];
    const isNode = (v: unknown): v is Record<string, unknown> =>
        v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array);
    const walk = (path: Lwm2mPath, v: unknown, level: number): void => {
        const key = KEYS[level];
        if (level === 3 && Array.isArray(v)) {
            for (const [i, child] of v.entries()) walk({ ...path, resourceInstanceId: i }, child, 4);
            return;
        }
        if (level >= 4 || (level === 3 && !isNode(v))) {
            const type = typeOf(path);
            const value = type
                ? fromPlain(type, v, formatPath(path))
                : (plainGuess(v, formatPath(path)) as ResourceValue);
            out.push({ path, value });
            if (out.length > maxEntries) throw new Lwm2mError('limit', `more than ${maxEntries} values`);
            return;
        }
        if (!isNode(v) || key === undefined)
            throw new Lwm2mError('wrong-type', `${formatPath(path)} needs an object keyed by ${key ?? 'ID'}s`);
        for (const [k, child] of Object.entries(v)) {
            if (!/^(0|[1-9][0-9]{0,4})$/.test(k) || Number(k) >= 0xffff)
                throw new Lwm2mError('malformed', `${formatPath(path)}: key '${k.slice(0, 20)}' is not an ID`);
            walk({ ...path, [key]: Number(k) }, child, level + 1);
        }
    };
    walk({ ...requestPath }, tree, depth(requestPath));
    return out;
}

function plainGuess(v: unknown, where: string): ResourceValue {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v;
    if (v instanceof Date || v instanceof Uint8Array || v === null) return v;
    throw new Lwm2mError('wrong-type', `${where}: a ${typeof v} is not a resource value`);
}
