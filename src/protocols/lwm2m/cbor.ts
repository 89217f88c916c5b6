import { Lwm2mError } from './errors';

/**
 * The part of CBOR (RFC 8949) LwM2M payloads use: unsigned and negative integers, byte and text
 * strings, arrays, maps, false/true/null, and half/single/double floats; definite and
 * indefinite lengths on decoding, definite on encoding. Tags are refused (SenML does not use
 * them), as are duplicate map keys and text that is not UTF-8.
 */

export type CborValue =
    | number
    | bigint
    | string
    | Uint8Array
    | boolean
    | null
    | undefined
    | CborValue[]
    | Map<CborValue, CborValue>;

export interface CborLimits {
    /** Nesting of arrays and maps. Default 16. */
    maxDepth?: number;
    /** Items in all arrays and maps together. Default 100,000. */
    maxItems?: number;
}

// ---- encoding ----------------------------------------------------------------------------------

class Writer {
    #buf = new Uint8Array(256);
    #len = 0;

    #room(n: number): void {
        if (this.#len + n <= this.#buf.length) return;
        const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
        next.set(this.#buf.subarray(0, this.#len));
        this.#buf = next;
    }

    bytes(b: Uint8Array): void {
        this.#room(b.length);
        this.#buf.set(b, this.#len);
        this.#len += b.length;
    }

    head(major: number, n: number | bigint): void {
        const v = BigInt(n);
        if (v < 24n) this.bytes(Uint8Array.of((major << 5) | Number(v)));
        else if (v < 0x100n) this.bytes(Uint8Array.of((major << 5) | 24, Number(v)));
        else if (v < 0x10000n) this.bytes(Uint8Array.of((major << 5) | 25, Number(v) >> 8, Number(v) & 0xff));
        else if (v < 0x100000000n) {
            const b = new Uint8Array(5);
            b[0] = (major << 5) | 26;
            new DataView(b.buffer).setUint32(1, Number(v));
            this.bytes(b);
        } else {
            const b = new Uint8Array(9);
            b[0] = (major << 5) | 27;
            new DataView(b.buffer).setBigUint64(1, v);
            this.bytes(b);
        }
    }

    result(): Uint8Array {
        return this.#buf.slice(0, this.#len);
    }
}

function encodeInto(w: Writer, v: CborValue, depth: number): void {
    if (depth > 64) throw new Lwm2mError('limit', 'CBOR value nested too deep');
    if (v === false) w.bytes(Uint8Array.of(0xf4));
    else if (v === true) w.bytes(Uint8Array.of(0xf5));
    else if (v === null) w.bytes(Uint8Array.of(0xf6));
    else if (v === undefined) w.bytes(Uint8Array.of(0xf7));
    else if (typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v) && !Object.is(v, -0))) {
        const n = BigInt(v);
        if (n >= 2n ** 64n || n < -(2n ** 64n)) throw new Lwm2mError('bad-value', `${n} does not fit CBOR integers`);
        if (n >= 0n) w.head(0, n);
        else w.head(1, -1n - n);
    } else if (typeof v === 'number') {
        const b = new Uint8Array(9);
        const view = new DataView(b.buffer);
        if (Math.fround(v) === v || Number.isNaN(v)) {
            b[0] = 0xfa;
            view.setFloat32(1, v);
            w.bytes(b.subarray(0, 5));
        } else {
            b[0] = 0xfb;
            view.setFloat64(1, v);
            w.bytes(b);
        }
    } else if (typeof v === 'string') {
        const t = new TextEncoder().encode(v);
        w.head(3, t.length);
        w.bytes(t);
    } else if (v instanceof Uint8Array) {
        w.head(2, v.length);
        w.bytes(v);
    } else if (Array.isArray(v)) {
        w.head(4, v.length);
        for (const x of v) encodeInto(w, x, depth + 1);
    } else if (v instanceof Map) {
        w.head(5, v.size);
        for (const [k, x] of v) {
            encodeInto(w, k, depth + 1);
            encodeInto(w, x, depth + 1);
        }
    } else {
        throw new Lwm2mError('wrong-type', `CBOR cannot carry ${typeof v}`);
    }
}

export function encodeCbor(v: CborValue): Uint8Array {
    const w = new Writer();
    encodeInto(w, v, 0);
    return w.result();
}

// ---- decoding ----------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BREAK = Symbol('break');

function halfToNumber(h: number): number {
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    const sign = h & 0x8000 ? -1 : 1;
    if (exp === 0) return sign * mant * 2 ** -24;
    if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Decodes one CBOR data item that fills `bytes` exactly. */
export function decodeCbor(bytes: Uint8Array, limits: CborLimits = {}): CborValue {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const maxDepth = limits.maxDepth ?? 16;
    let items = limits.maxItems ?? 100_000;
    let at = 0;
    const need = (n: number) => {
        if (at + n > bytes.length) throw new Lwm2mError('truncated', 'CBOR item cut short', at);
    };
    const arg = (info: number): bigint | undefined => {
        if (info < 24) return BigInt(info);
        if (info === 24) {
            need(1);
            return BigInt(view.getUint8(at++));
        }
        if (info === 25) {
            need(2);
            const v = view.getUint16(at);
            at += 2;
            return BigInt(v);
        }
        if (info === 26) {
            need(4);
            const v = view.getUint32(at);
            at += 4;
            return BigInt(v);
        }
        if (info === 27) {
            need(8);
            const v = view.getBigUint64(at);
            at += 8;
            return v;
        }
        if (info === 31) return undefined;
        throw new Lwm2mError('malformed', `CBOR additional information ${info} is reserved`, at - 1);
    };
    const small = (n: bigint, what: string): number => {
        if (n > BigInt(bytes.length))
            throw new Lwm2mError('truncated', `CBOR ${what} of ${n} is longer than the payload`, at);
        return Number(n);
    };
    const item = (depth: number): CborValue | typeof BREAK => {
        need(1);
        const start = at;
        const ib = view.getUint8(at++);
        const major = ib >> 5;
        const info = ib & 0x1f;
        switch (major) {
            case 0:
            case 1: {
                const n = arg(info);
                if (n === undefined)
                    throw new Lwm2mError('malformed', 'an integer cannot have an indefinite length', start);
                const v = major === 0 ? n : -1n - n;
                return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
            }
            case 2:
            case 3: {
                const n = arg(info);
                let data: Uint8Array;
                if (n === undefined) {
                    const chunks: Uint8Array[] = [];
                    for (;;) {
                        need(1);
                        if (view.getUint8(at) === 0xff) {
                            at++;
                            break;
                        }
                        const chunkStart = at;
                        const c = item(depth + 1);
                        const ok = major === 2 ? c instanceof Uint8Array : typeof c === 'string';
                        if (!ok)
                            throw new Lwm2mError(
                                'malformed',
                                'a chunk of another type in an indefinite string',
                                chunkStart,
                            );
                        chunks.push(typeof c === 'string' ? new TextEncoder().encode(c) : (c as Uint8Array));
                    }
                    data = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
                    let o = 0;
                    for (const c of chunks) {
                        data.set(c, o);
                        o += c.length;
                    }
                } else {
                    const len = small(n, 'string');
                    need(len);
                    data = bytes.slice(at, at + len);
                    at += len;
                }
                if (major === 2) return data;
                try {
                    return utf8.decode(data);
                } catch {
                    throw new Lwm2mError('bad-value', 'CBOR text is not UTF-8', start);
                }
            }
            case 4:
            case 5: {
                if (depth >= maxDepth) throw new Lwm2mError('limit', `CBOR nested deeper than ${maxDepth}`, start);
                const n = arg(info);
                const count = n === undefined ? undefined : small(n, 'container');
                const arr: CborValue[] = [];
                const map = new Map<CborValue, CborValue>();
                for (let i = 0; count === undefined || i < count; i++) {
                    if (--items < 0) throw new Lwm2mError('limit', 'too many CBOR items', at);
                    const k = item(depth + 1);
                    if (k === BREAK) {
                        if (count !== undefined) throw new Lwm2mError('malformed', 'unexpected break', at - 1);
                        break;
                    }
                    if (major === 4) arr.push(k);
                    else {
                        if (typeof k === 'object' && k !== null)
                            throw new Lwm2mError('malformed', 'CBOR map keys must be simple values', at);
                        if (map.has(k)) throw new Lwm2mError('malformed', `duplicate CBOR map key ${String(k)}`, at);
                        const v = item(depth + 1);
                        if (v === BREAK) throw new Lwm2mError('malformed', 'a map key without a value', at - 1);
                        map.set(k, v);
                    }
                }
                return major === 4 ? arr : map;
            }
            case 6:
                throw new Lwm2mError('malformed', 'CBOR tags are not used by LwM2M payloads', start);
            default: {
                if (info === 20) return false;
                if (info === 21) return true;
                if (info === 22) return null;
                if (info === 23) return undefined;
                if (info === 25) {
                    need(2);
                    const v = halfToNumber(view.getUint16(at));
                    at += 2;
                    return v;
                }
                if (info === 26) {
                    need(4);
                    const v = view.getFloat32(at);
                    at += 4;
                    return v;
                }
                if (info === 27) {
                    need(8);
                    const v = view.getFloat64(at);
                    at += 8;
                    return v;
                }
                if (info === 31) return BREAK;
                throw new Lwm2mError('malformed', `CBOR simple value ${info} is not used by LwM2M`, start);
            }
        }
    };
    const v = item(0);
    if (v === BREAK) throw new Lwm2mError('malformed', 'unexpected break', 0);
    if (at !== bytes.length) throw new Lwm2mError('malformed', `${bytes.length - at} bytes after the CBOR item`, at);
    return v;
}
