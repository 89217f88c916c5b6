import { Lwm2mError } from './errors';
import type { ResourceType, ResourceValue } from './tlv';

/**
 * A single resource as text/plain (content format 0; Core §7.4.1, design note B.1.5): numbers
 * in decimal, booleans `0`/`1`, time in epoch seconds, objlnk `3:0`, opaque in base64 (1.1), and
 * application/octet-stream (42) for opaque resources.
 */

const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const UNSIGNED = /^(0|[1-9][0-9]*)$/;
const FLOAT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function number(v: ResourceValue, type: ResourceType): string {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number' && Number.isFinite(v)) {
        if (type !== 'float' && !Number.isInteger(v)) throw new Lwm2mError('wrong-type', `${type} needs an integer`);
        return String(v);
    }
    throw new Lwm2mError('wrong-type', `${type} needs a number`);
}

/** The text/plain form of a resource value of `type`. */
export function encodePlain(type: ResourceType, v: ResourceValue): string {
    switch (type) {
        case 'string':
        case 'corelnk':
            if (typeof v !== 'string') throw new Lwm2mError('wrong-type', `${type} needs text`);
            return v;
        case 'integer':
        case 'unsigned':
        case 'float':
            if (type === 'unsigned' && ((typeof v === 'number' && v < 0) || (typeof v === 'bigint' && v < 0n)))
                throw new Lwm2mError('bad-value', 'unsigned needs a value ≥ 0');
            return number(v, type);
        case 'time':
            if (v instanceof Date && !Number.isNaN(v.getTime())) return String(Math.floor(v.getTime() / 1000));
            return number(v, type);
        case 'boolean':
            if (typeof v !== 'boolean') throw new Lwm2mError('wrong-type', 'boolean needs true or false');
            return v ? '1' : '0';
        case 'opaque':
            if (!(v instanceof Uint8Array)) throw new Lwm2mError('wrong-type', 'opaque needs bytes');
            return Buffer.from(v).toString('base64');
        case 'objlnk': {
            const link =
                v === null ? { objectId: 0xffff, instanceId: 0xffff } : (v as { objectId: number; instanceId: number });
            if (typeof link !== 'object' || !Number.isInteger(link.objectId) || !Number.isInteger(link.instanceId))
                throw new Lwm2mError('wrong-type', 'objlnk needs {objectId, instanceId}');
            return `${link.objectId}:${link.instanceId}`;
        }
        case 'none':
            return '';
    }
}

/** The value of a resource of `type` from its text/plain form; refuses text that is not of the type. */
export function decodePlain(type: ResourceType, text: string): ResourceValue {
    const t = text.trim();
    const bad = (what: string): never => {
        throw new Lwm2mError('bad-value', `'${t.slice(0, 40)}' is not ${what}`);
    };
    switch (type) {
        case 'string':
        case 'corelnk':
            return text;
        case 'integer':
        case 'time': {
            if (!INTEGER.test(t) || t.length > 20) bad('an integer');
            const b = BigInt(t);
            if (b < -(2n ** 63n) || b >= 2n ** 63n) bad('a 64-bit integer');
            if (type === 'time') return new Date(Number(b) * 1000);
            return Number.isSafeInteger(Number(b)) ? Number(b) : b;
        }
        case 'unsigned': {
            if (!UNSIGNED.test(t) || t.length > 20) bad('an unsigned integer');
            const b = BigInt(t);
            if (b >= 2n ** 64n) bad('a 64-bit unsigned integer');
            return Number.isSafeInteger(Number(b)) ? Number(b) : b;
        }
        case 'float': {
            if (!FLOAT.test(t) || t.length > 64) bad('a decimal number');
            const n = Number(t);
            if (!Number.isFinite(n)) bad('a finite number');
            return n;
        }
        case 'boolean':
            if (t === '1') return true;
            if (t === '0') return false;
            return bad('0 or 1');
        case 'opaque':
            if (!BASE64.test(t)) bad('base64');
            return Uint8Array.from(Buffer.from(t, 'base64'));
        case 'objlnk': {
            const m = /^(\d{1,5}):(\d{1,5})$/.exec(t);
            if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff) bad("'object:instance'");
            const link = { objectId: Number((m as RegExpExecArray)[1]), instanceId: Number((m as RegExpExecArray)[2]) };
            return link.objectId === 0xffff && link.instanceId === 0xffff ? null : link;
        }
        case 'none':
            if (t !== '') bad('empty');
            return null;
    }
}
