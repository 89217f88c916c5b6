import { Lwm2mError } from './errors';
import { formatPath, type Lwm2mPath, parsePath } from './path';
import type { ObjectLink } from './tlv';

/**
 * SenML JSON (RFC 8428) as LwM2M 1.1 uses it (content format 110; Core §7.4.4; design note
 * B.1.5): `bn` is the base path (`/3316/0/`), `n` the rest (`5700`, or `7/0` for a resource
 * instance); values in `v` (number, also time), `vs` (string), `vb` (boolean), `vd` (opaque,
 * base64url), `vlo` (objlnk `3:0`); times in `bt` + `t`, seconds.
 */

export type SenmlValue =
    | { kind: 'number'; value: number }
    | { kind: 'string'; value: string }
    | { kind: 'boolean'; value: boolean }
    | { kind: 'opaque'; value: Uint8Array }
    | { kind: 'objlnk'; value: ObjectLink };

export interface SenmlRecord {
    path: Lwm2mPath;
    /** Absent in a Read-Composite or Observe-Composite request, which names paths only. */
    value?: SenmlValue;
    /** Seconds since 1970 (bt + t); absent when the record has no time. */
    time?: number;
}

/** Keys LwM2M uses (RFC 8428 §4.3 labels); other keys ending in `_` must be understood, so they are refused (§4.4). */
const KNOWN = new Set(['bn', 'bt', 'n', 't', 'v', 'vs', 'vb', 'vd', 'vlo', 'bver', 'bu', 'u', 'bv', 's', 'bs', 'ut']);
const VALUE_KEYS = ['v', 'vs', 'vb', 'vd', 'vlo'] as const;

export interface SenmlLimits {
    /** Records in one pack. Default 10,000. */
    maxRecords?: number;
    /** Text length. Default 1 MiB. */
    maxBytes?: number;
}

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Parses a JSON payload (`what` names it in errors) within `maxBytes` characters. */
export function parseJsonPayload(text: string | Uint8Array, maxBytes: number, what: string): unknown {
    const source = typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: false }).decode(text);
    if (source.length > maxBytes)
        throw new Lwm2mError('limit', `${what} of ${source.length} characters exceeds ${maxBytes}`);
    try {
        return JSON.parse(source);
    } catch (err) {
        throw new Lwm2mError('malformed', `${what} does not parse: ${(err as Error).message}`);
    }
}

/** Decodes a SenML JSON pack into records with resolved paths and times. */
export function decodeSenmlJson(text: string | Uint8Array, limits: SenmlLimits = {}): SenmlRecord[] {
    const pack = parseJsonPayload(text, limits.maxBytes ?? 1024 * 1024, 'SenML JSON');
    if (!Array.isArray(pack)) throw new Lwm2mError('malformed', 'a SenML pack is a JSON array of records');
    return senmlRecords(pack, limits, 'base64url');
}

/**
 * Resolves the records of a SenML pack (JSON objects, or CBOR maps turned into objects with the
 * same keys): names, times and one value each. Opaque values are base64url text in JSON and byte
 * strings in CBOR.
 */
export function senmlRecords(
    pack: readonly unknown[],
    limits: SenmlLimits,
    opaque: 'base64url' | 'bytes',
): SenmlRecord[] {
    const maxRecords = limits.maxRecords ?? 10_000;
    if (pack.length > maxRecords)
        throw new Lwm2mError('limit', `SenML pack of ${pack.length} records exceeds ${maxRecords}`);
    let baseName = '';
    let baseTime = 0;
    return pack.map((raw, i) => {
        const where = `record ${i}`;
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
            throw new Lwm2mError('malformed', `${where} is not an object`);
        const r = raw as Record<string, unknown>;
        for (const k of Object.keys(r)) {
            if (!KNOWN.has(k)) {
                if (k.endsWith('_'))
                    throw new Lwm2mError('malformed', `${where}: '${k}' must be understood and is not (RFC 8428 §4.4)`);
            }
        }
        if (r.bn !== undefined) {
            if (typeof r.bn !== 'string') throw new Lwm2mError('malformed', `${where}: bn must be text`);
            baseName = r.bn;
        }
        if (r.bt !== undefined) {
            if (typeof r.bt !== 'number' || !Number.isFinite(r.bt))
                throw new Lwm2mError('malformed', `${where}: bt must be a number`);
            baseTime = r.bt;
        }
        if (r.n !== undefined && typeof r.n !== 'string') throw new Lwm2mError('malformed', `${where}: n must be text`);
        const name = `${baseName}${(r.n as string | undefined) ?? ''}`;
        if (name === '') throw new Lwm2mError('malformed', `${where} has no name (bn + n)`);
        const path = parsePath(name);
        const record: SenmlRecord = { path };
        const given = VALUE_KEYS.filter((k) => r[k] !== undefined);
        if (given.length > 1) throw new Lwm2mError('malformed', `${where} has ${given.join(' and ')}: one value only`);
        const key = given[0];
        if (key === 'v') {
            if (typeof r.v !== 'number' || !Number.isFinite(r.v))
                throw new Lwm2mError('bad-value', `${where}: v must be a number`);
            record.value = { kind: 'number', value: r.v };
        } else if (key === 'vs') {
            if (typeof r.vs !== 'string') throw new Lwm2mError('bad-value', `${where}: vs must be text`);
            record.value = { kind: 'string', value: r.vs };
        } else if (key === 'vb') {
            if (typeof r.vb !== 'boolean') throw new Lwm2mError('bad-value', `${where}: vb must be true or false`);
            record.value = { kind: 'boolean', value: r.vb };
        } else if (key === 'vd') {
            if (opaque === 'bytes') {
                if (!(r.vd instanceof Uint8Array))
                    throw new Lwm2mError('bad-value', `${where}: vd must be a byte string`);
                record.value = { kind: 'opaque', value: r.vd };
            } else {
                if (typeof r.vd !== 'string' || !BASE64URL.test(r.vd))
                    throw new Lwm2mError('bad-value', `${where}: vd must be base64url`);
                record.value = { kind: 'opaque', value: Uint8Array.from(Buffer.from(r.vd, 'base64url')) };
            }
        } else if (key === 'vlo') {
            const m = typeof r.vlo === 'string' ? /^(\d{1,5}):(\d{1,5})$/.exec(r.vlo) : null;
            const link = m ? { objectId: Number(m[1]), instanceId: Number(m[2]) } : undefined;
            if (!link || link.objectId > 0xffff || link.instanceId > 0xffff)
                throw new Lwm2mError('bad-value', `${where}: vlo must be 'object:instance'`);
            record.value = { kind: 'objlnk', value: link };
        }
        if (r.t !== undefined) {
            if (typeof r.t !== 'number' || !Number.isFinite(r.t))
                throw new Lwm2mError('malformed', `${where}: t must be a number`);
        }
        if (r.t !== undefined || r.bt !== undefined || baseTime !== 0) {
            const t = baseTime + ((r.t as number | undefined) ?? 0);
            // RFC 8428 §4.5.3: values below 2^28 are relative to now.
            record.time = t < 2 ** 28 ? Date.now() / 1000 + t : t;
        }
        return record;
    });
}

/** Encodes records as a SenML JSON pack: the first record carries `bn` = the common base path. */
export function encodeSenmlJson(records: readonly SenmlRecord[]): string {
    return JSON.stringify(senmlObjects(records, 'base64url'));
}

/** The SenML records as objects with RFC 8428 keys (opaque as base64url text or as bytes). */
export function senmlObjects(
    records: readonly SenmlRecord[],
    opaque: 'base64url' | 'bytes',
): Array<Record<string, unknown>> {
    if (records.length === 0) return [];
    const paths = records.map((r) => formatPath(r.path));
    const base = commonBase(paths);
    const out = records.map((r, i) => {
        const o: Record<string, unknown> = {};
        if (i === 0) o.bn = base;
        const rest = (paths[i] as string).slice(base.length);
        if (rest !== '') o.n = rest;
        if (r.time !== undefined) o.t = r.time;
        const v = r.value;
        if (v?.kind === 'number') o.v = v.value;
        else if (v?.kind === 'string') o.vs = v.value;
        else if (v?.kind === 'boolean') o.vb = v.value;
        else if (v?.kind === 'opaque') o.vd = opaque === 'bytes' ? v.value : Buffer.from(v.value).toString('base64url');
        else if (v?.kind === 'objlnk') o.vlo = `${v.value.objectId}:${v.value.instanceId}`;
        return o;
    });
    return out;
}

/** The longest `/`-ended prefix all paths share (`/3316/0/`). */
function commonBase(paths: readonly string[]): string {
    let base = (paths[0] as string).slice(0, (paths[0] as string).lastIndexOf('/') + 1);
    for (const p of paths) while (!p.startsWith(base)) base = base.slice(0, base.slice(0, -1).lastIndexOf('/') + 1);
    return base;
}
