import { el, findInvalidChar, parseXml, type XmlElement, XmlError, type XmlParseOptions } from '../../xml';
import {
    DECODER,
    ENCODER,
    FLOAT_EXPONENT_WIDTH,
    type FloatForm,
    MAX_DATA_DEPTH,
    MAX_INTEGER_DIGITS,
} from './constants';
import { MmsError, type MmsReason, shown } from './errors';

/**
 * The MMS Data CHOICE (ISO 9506-2 type `Data`, with the IEC 61850-8-1 addition `utc-time [17]`)
 * and its XER form (ITU-T X.693 BASIC-XER as 8-2 uses it; ../shared/design/iec61850-8-2-wire.md
 * §4.1, §4.2, §6.2-§6.4). Element names are the ASN.1 identifiers; SEQUENCE OF Data items are
 * `<Data>` elements; the alternative element itself (`<integer>5</integer>`) is what encodeData
 * returns and decodeData reads.
 *
 * Rules where the references leave a choice:
 * - integer and unsigned are bigint and limited to 64 bits (INT64 is the widest 7-2 basic type;
 *   the narrower widths of a TypeSpec are the object model's business, not the codec's).
 * - floating-point keeps its format (single/double); the encoder rounds a single with Math.fround.
 *   The octet form (with or without the exponent-width prefix) is ENCODER.floatForm.
 * - binary-time and utc-time are kept as their fields (no Date): the wire value round-trips exactly.
 * - bit-string is a string of '0'/'1', bit 0 first; the bit count is its length (zero allowed:
 *   8-2 never sends one, but it is a valid BIT STRING).
 * - mMSString (UTF8String) writes C0 controls other than TAB, LF, CR as the X.680 empty elements
 *   (`<bel/>`...) and reads them back; visible-string (VisibleString) only holds U+0020-U+007E.
 * - Decoding is tolerant about whitespace where X.693 allows it (around numbers, inside hex and
 *   bit strings, between elements of constructed values) and about namespaces (local names only).
 * - The alternatives 8-1 does not use (generalized-time, bcd, booleanArray, objId) are refused as
 *   NOT_SUPPORTED, not as unknown.
 */

/** TimeQuality octet of a utc-time (IEC 61850-7-2 §6.1.2.9; wire note §6.4). */
export interface TimeQuality {
    leapSecondsKnown: boolean;
    clockFailure: boolean;
    clockNotSynchronized: boolean;
    /** Number of accurate bits of the fraction: 0-24, 31 unspecified (5-bit field, 0-31 accepted). */
    accuracy: number;
}

export type Data =
    | { kind: 'array'; elements: Data[] }
    | { kind: 'structure'; components: Data[] }
    | { kind: 'boolean'; value: boolean }
    | { kind: 'bit-string'; bits: string }
    | { kind: 'integer'; value: bigint }
    | { kind: 'unsigned'; value: bigint }
    | { kind: 'floating-point'; format: 'single' | 'double'; value: number }
    | { kind: 'octet-string'; value: Uint8Array }
    | { kind: 'visible-string'; value: string }
    /** TimeOfDay: milliseconds since midnight, and with 6 octets days since 1984-01-01. */
    | { kind: 'binary-time'; msOfDay: number; days?: number }
    | { kind: 'mMSString'; value: string }
    /** UtcTime: seconds since 1970-01-01 UTC, fraction of a second × 2^24, TimeQuality. */
    | { kind: 'utc-time'; seconds: number; fraction: number; quality: TimeQuality };

export type DataKind = Data['kind'];

/** The alternatives, with their context tag and where they are defined (wire note §4.2, M1 mms.asn). */
export const DATA_ALTERNATIVES: Readonly<Record<DataKind, { tag: number; clause: string }>> = Object.freeze({
    array: { tag: 1, clause: 'ISO 9506-2 Data' },
    structure: { tag: 2, clause: 'ISO 9506-2 Data' },
    boolean: { tag: 3, clause: 'ISO 9506-2 Data' },
    'bit-string': { tag: 4, clause: 'ISO 9506-2 Data' },
    integer: { tag: 5, clause: 'ISO 9506-2 Data' },
    unsigned: { tag: 6, clause: 'ISO 9506-2 Data' },
    'floating-point': { tag: 7, clause: 'ISO 9506-2 Data, FloatingPoint' },
    'octet-string': { tag: 9, clause: 'ISO 9506-2 Data' },
    'visible-string': { tag: 10, clause: 'ISO 9506-2 Data' },
    'binary-time': { tag: 12, clause: 'ISO 9506-2 Data, TimeOfDay' },
    mMSString: { tag: 16, clause: 'ISO 9506-2 Data, MMSString' },
    'utc-time': { tag: 17, clause: 'IEC 61850-8-1 addition, UtcTime' },
});

/** Data alternatives of ISO 9506-2 that IEC 61850 does not use; refused as NOT_SUPPORTED. */
export const UNSUPPORTED_DATA_ALTERNATIVES: ReadonlySet<string> = new Set([
    'generalized-time',
    'bcd',
    'booleanArray',
    'objId',
]);

export const INTEGER_RANGE = Object.freeze({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
export const UNSIGNED_RANGE = Object.freeze({ min: 0n, max: 2n ** 64n - 1n });
export const MS_PER_DAY = 86_400_000;

/** X.680 §11.15 (Table 8) names of the C0 control characters, used by XER for character strings. */
export const CONTROL_NAMES: readonly string[] = Object.freeze([
    'nul',
    'soh',
    'stx',
    'etx',
    'eot',
    'enq',
    'ack',
    'bel',
    'bs',
    'ht',
    'lf',
    'vt',
    'ff',
    'cr',
    'so',
    'si',
    'dle',
    'dc1',
    'dc2',
    'dc3',
    'dc4',
    'nak',
    'syn',
    'etb',
    'can',
    'em',
    'sub',
    'esc',
    'is4',
    'is3',
    'is2',
    'is1',
]);
const CONTROL_CODE: ReadonlyMap<string, number> = new Map(CONTROL_NAMES.map((n, i) => [n, i]));

export interface DataCodecOptions {
    /** Deepest array/structure nesting (a scalar is depth 1); default MAX_DATA_DEPTH. */
    maxDepth?: number;
    /** floating-point octet form for the encoder; default ENCODER.floatForm. */
    floatForm?: FloatForm;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** The XER element of one Data value: `<integer>5</integer>`, `<structure><Data>…</Data></structure>`. */
export function encodeData(data: Data, options: DataCodecOptions = {}): XmlElement {
    const ctx: Ctx = {
        maxDepth: options.maxDepth ?? MAX_DATA_DEPTH,
        floatForm: options.floatForm ?? ENCODER.floatForm,
    };
    return encodeAt(data, 1, '', ctx);
}

/** `<Data>` around the alternative, as in every SEQUENCE OF Data (X.693: item named after the type). */
export function encodeDataItem(data: Data, options: DataCodecOptions = {}): XmlElement {
    return el('Data', {}, encodeData(data, options));
}

interface Ctx {
    maxDepth: number;
    floatForm: FloatForm;
}

function wrong(path: string, message: string): MmsError {
    return new MmsError('wrong-type', message, path);
}

function range(path: string, message: string): MmsError {
    return new MmsError('out-of-range', message, path);
}

function isInt(v: unknown, min: number, max: number): v is number {
    return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function toBigint(v: unknown, path: string): bigint {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    throw wrong(path, `Integer value must be a bigint or a safe integer, not ${typeof v}`);
}

function encodeAt(data: Data, depth: number, path: string, ctx: Ctx): XmlElement {
    if (typeof data !== 'object' || data === null) throw wrong(path, `Data must be an object, not ${typeof data}`);
    const kind: unknown = (data as { kind?: unknown }).kind;
    const here = path === '' ? String(kind) : `${path}/${String(kind)}`;
    switch (data.kind) {
        case 'array':
        case 'structure': {
            const kind = data.kind;
            if (depth >= ctx.maxDepth) {
                throw new MmsError('too-deep', `Data is nested deeper than ${ctx.maxDepth} levels`, here);
            }
            const items: unknown = data.kind === 'array' ? data.elements : data.components;
            if (!Array.isArray(items)) throw wrong(here, `${kind} needs an array of Data`);
            return el(
                kind,
                {},
                items.map((d, i) => el('Data', {}, encodeAt(d as Data, depth + 1, `${here}/Data[${i}]`, ctx))),
            );
        }
        case 'boolean': {
            if (typeof data.value !== 'boolean') throw wrong(here, 'boolean value must be true or false');
            return el('boolean', {}, el(data.value ? 'true' : 'false'));
        }
        case 'bit-string': {
            if (typeof data.bits !== 'string' || !/^[01]*$/.test(data.bits)) {
                throw wrong(here, 'bit-string bits must be a string of 0 and 1');
            }
            return el('bit-string', {}, data.bits);
        }
        case 'integer':
        case 'unsigned': {
            const kind = data.kind;
            const v = toBigint(data.value, here);
            const r = kind === 'integer' ? INTEGER_RANGE : UNSIGNED_RANGE;
            if (v < r.min || v > r.max) throw range(here, `${kind} ${v} is outside ${r.min}..${r.max}`);
            return el(kind, {}, v.toString());
        }
        case 'floating-point':
            return el('floating-point', {}, floatHex(data, here, ctx.floatForm));
        case 'octet-string': {
            if (!(data.value instanceof Uint8Array)) throw wrong(here, 'octet-string value must be a Uint8Array');
            return el('octet-string', {}, hex(data.value));
        }
        case 'visible-string': {
            if (typeof data.value !== 'string') throw wrong(here, 'visible-string value must be a string');
            const bad = /[^\x20-\x7e]/.exec(data.value);
            if (bad) throw range(here, `visible-string holds U+${codeOf(bad[0])}, outside VisibleString`);
            return el('visible-string', {}, data.value);
        }
        case 'mMSString': {
            if (typeof data.value !== 'string') throw wrong(here, 'mMSString value must be a string');
            return el('mMSString', {}, utf8Content(data.value, here));
        }
        case 'binary-time':
            return el('binary-time', {}, timeOfDayHex(data, here));
        case 'utc-time': {
            if (!isInt(data.seconds, 0, 0xffffffff)) throw range(here, 'utc-time seconds must be 0..2^32-1');
            if (!isInt(data.fraction, 0, 0xffffff)) throw range(here, 'utc-time fraction must be 0..2^24-1');
            const q = data.quality;
            if (typeof q !== 'object' || q === null) throw wrong(here, 'utc-time needs a TimeQuality');
            if (!isInt(q.accuracy, 0, 31)) throw range(here, 'utc-time accuracy must be 0..31');
            for (const f of ['leapSecondsKnown', 'clockFailure', 'clockNotSynchronized'] as const) {
                if (typeof q[f] !== 'boolean') throw wrong(here, `utc-time ${f} must be a boolean`);
            }
            const bytes = new Uint8Array(8);
            const view = new DataView(bytes.buffer);
            view.setUint32(0, data.seconds);
            view.setUint32(4, data.fraction * 256 + timeQualityOctet(q));
            return el('utc-time', {}, hex(bytes));
        }
        default:
            throw wrong(path, `Unknown Data kind ${shown(String(kind))}`);
    }
}

function floatHex(data: { format: unknown; value: unknown }, path: string, form: FloatForm): string {
    if (typeof data.value !== 'number') throw wrong(path, 'floating-point value must be a number');
    let bytes: Uint8Array;
    if (data.format === 'single') {
        bytes = new Uint8Array(5);
        bytes[0] = FLOAT_EXPONENT_WIDTH.single;
        new DataView(bytes.buffer).setFloat32(1, data.value);
    } else if (data.format === 'double') {
        bytes = new Uint8Array(9);
        bytes[0] = FLOAT_EXPONENT_WIDTH.double;
        new DataView(bytes.buffer).setFloat64(1, data.value);
    } else {
        throw wrong(path, "floating-point format must be 'single' or 'double'");
    }
    return hex(form === 'prefixed' ? bytes : bytes.subarray(1));
}

/** Text and X.680 control-character elements for a UTF8String. */
function utf8Content(value: string, path: string): Array<string | XmlElement> {
    const out: Array<string | XmlElement> = [];
    let run = '';
    for (const ch of value) {
        const c = ch.codePointAt(0) ?? 0;
        if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
            if (run) out.push(run);
            run = '';
            out.push(el(CONTROL_NAMES[c] as string));
        } else {
            if (findInvalidChar(ch) !== -1)
                throw range(path, `mMSString holds U+${codeOf(ch)}, which XML cannot carry`);
            run += ch;
        }
    }
    if (run) out.push(run);
    return out;
}

function codeOf(ch: string): string {
    return (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
}

const HEX_DIGITS = ENCODER.hexUpperCase ? '0123456789ABCDEF' : '0123456789abcdef';

/** Upper- or lower-case hex of `bytes` per ENCODER.hexUpperCase (OCTET STRING in XER). */
export function hex(bytes: Uint8Array): string {
    let s = '';
    for (const b of bytes) s += (HEX_DIGITS[b >> 4] as string) + (HEX_DIGITS[b & 15] as string);
    return s;
}

type BinaryTime = Extract<Data, { kind: 'binary-time' }>;

/** The hex of a TimeOfDay (binary-time, readJournal times): 4 octets, or 6 with days since 1984-01-01. */
export function timeOfDayHex(data: { msOfDay: unknown; days?: unknown }, path: string): string {
    if (!isInt(data.msOfDay, 0, MS_PER_DAY - 1)) throw range(path, 'binary-time msOfDay must be 0..86399999');
    const bytes = new Uint8Array(data.days === undefined ? 4 : 6);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, data.msOfDay);
    if (data.days !== undefined) {
        if (!isInt(data.days, 0, 0xffff)) throw range(path, 'binary-time days must be 0..65535');
        view.setUint16(4, data.days);
    }
    return hex(bytes);
}

/** Reads a TimeOfDay element (hex of 4 or 6 octets). */
export function decodeTimeOfDay(element: XmlElement, path: string): BinaryTime {
    const bytes = hexBytes(element, path);
    if (bytes.length !== 4 && bytes.length !== 6) {
        fail('bad-lexical', path, `binary-time has ${bytes.length} octets; expected 4 or 6`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const msOfDay = view.getUint32(0);
    if (msOfDay >= MS_PER_DAY) fail('out-of-range', path, `binary-time ${msOfDay} ms is past the end of a day`);
    return bytes.length === 6
        ? { kind: 'binary-time', msOfDay, days: view.getUint16(4) }
        : { kind: 'binary-time', msOfDay };
}

export function timeQualityOctet(q: TimeQuality): number {
    return (
        (q.leapSecondsKnown ? 0x80 : 0) | (q.clockFailure ? 0x40 : 0) | (q.clockNotSynchronized ? 0x20 : 0) | q.accuracy
    );
}

export function timeQualityOf(octet: number): TimeQuality {
    return {
        leapSecondsKnown: (octet & 0x80) !== 0,
        clockFailure: (octet & 0x40) !== 0,
        clockNotSynchronized: (octet & 0x20) !== 0,
        accuracy: octet & 0x1f,
    };
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Reads the alternative element of a Data value (`<integer>`, `<structure>`...). */
export function decodeData(element: XmlElement, options: DataCodecOptions = {}): Data {
    const ctx: Ctx = { maxDepth: options.maxDepth ?? MAX_DATA_DEPTH, floatForm: ENCODER.floatForm };
    return decodeAt(element, 1, element.local, ctx);
}

/**
 * Reads the one Data alternative inside a holder element: `<Data>`, `<success>`, `<valueSpecification>`.
 * `path` names the holder in error messages.
 */
export function decodeDataItem(holder: XmlElement, options: DataCodecOptions = {}, path = holder.local): Data {
    const ctx: Ctx = { maxDepth: options.maxDepth ?? MAX_DATA_DEPTH, floatForm: ENCODER.floatForm };
    const inner = onlyChild(holder, path);
    return decodeAt(inner, 1, `${path}/${inner.local}`, ctx);
}

/** Parses one XER Data document (root = the alternative element) through the hardened XML layer. */
export function decodeDataXml(text: string | Uint8Array, options: DataCodecOptions & XmlParseOptions = {}): Data {
    return decodeData(parseXmlTyped(text, { ...options, keepWhitespace: true }), options);
}

/** parseXml with its XmlError turned into an MmsError (reason 'xml', the XmlError as cause). */
export function parseXmlTyped(text: string | Uint8Array, options: XmlParseOptions = {}): XmlElement {
    try {
        return parseXml(text, options);
    } catch (err) {
        if (err instanceof XmlError) {
            throw new MmsError('xml', `Payload refused by the XML layer: ${err.message}`, '', { cause: err });
        }
        if (err instanceof TypeError) throw new MmsError('wrong-type', err.message, '', { cause: err });
        throw err;
    }
}

function fail(reason: MmsReason, path: string, message: string): never {
    throw new MmsError(reason, message, path);
}

function isBlank(s: string): boolean {
    return /^[ \t\r\n]*$/.test(s);
}

/** The single child element of a holder; only whitespace text around it. */
export function onlyChild(holder: XmlElement, path: string): XmlElement {
    let found: XmlElement | undefined;
    for (const c of holder.children) {
        if (typeof c === 'string') {
            if (!isBlank(c)) fail('unexpected-content', path, `Text ${shown(c)} where an element is expected`);
        } else if (found) {
            fail('missing-element', path, `<${holder.local}> holds more than one element`);
        } else {
            found = c;
        }
    }
    if (!found) fail('missing-element', path, `<${holder.local}> is empty; it needs one element`);
    return found;
}

/** The text of a leaf element; an element child is refused. */
export function leafText(element: XmlElement, path: string): string {
    for (const c of element.children) {
        if (typeof c !== 'string')
            fail('unexpected-content', path, `<${element.local}> must hold text, not <${c.local}>`);
    }
    return element.text();
}

/** The octets of an OCTET STRING element (hex digits, whitespace allowed). */
export function hexBytes(element: XmlElement, path: string): Uint8Array {
    const text = leafText(element, path).replace(/[ \t\r\n]/g, '');
    if (!/^[0-9A-Fa-f]*$/.test(text) || text.length % 2 !== 0) {
        fail('bad-lexical', path, `<${element.local}> is not an even number of hex digits: ${shown(text)}`);
    }
    return Uint8Array.from(Buffer.from(text, 'hex'));
}

function decodeAt(element: XmlElement, depth: number, path: string, ctx: Ctx): Data {
    const kind = element.local;
    switch (kind) {
        case 'array':
        case 'structure': {
            if (depth >= ctx.maxDepth) fail('too-deep', path, `Data is nested deeper than ${ctx.maxDepth} levels`);
            const items: Data[] = [];
            for (const c of element.children) {
                if (typeof c === 'string') {
                    if (!isBlank(c)) fail('unexpected-content', path, `Text ${shown(c)} inside <${kind}>`);
                    continue;
                }
                const itemPath = `${path}/Data[${items.length}]`;
                if (c.local !== 'Data')
                    fail('unknown-element', itemPath, `<${c.local}> inside <${kind}>; expected <Data>`);
                const inner = onlyChild(c, itemPath);
                items.push(decodeAt(inner, depth + 1, `${itemPath}/${inner.local}`, ctx));
            }
            return kind === 'array' ? { kind, elements: items } : { kind, components: items };
        }
        case 'boolean': {
            const inner = element.elements();
            if (inner.length === 0) {
                const t = leafText(element, path).trim();
                if (t === 'true' || t === 'false') return { kind, value: t === 'true' };
                fail('bad-lexical', path, `boolean holds ${shown(t)}; expected <true/> or <false/>`);
            }
            const v = onlyChild(element, path);
            if (v.children.length > 0) fail('unexpected-content', `${path}/${v.local}`, `<${v.local}> must be empty`);
            if (v.local === 'true') return { kind, value: true };
            if (v.local === 'false') return { kind, value: false };
            return fail(
                'unknown-element',
                `${path}/${v.local}`,
                `<${v.local}> in a boolean; expected <true/> or <false/>`,
            );
        }
        case 'bit-string': {
            const bits = leafText(element, path).replace(/[ \t\r\n]/g, '');
            if (!/^[01]*$/.test(bits)) fail('bad-lexical', path, `bit-string holds ${shown(bits)}; expected 0 and 1`);
            return { kind, bits };
        }
        case 'integer':
        case 'unsigned': {
            const t = leafText(element, path).trim();
            if (!/^-?[0-9]+$/.test(t) || t.length > MAX_INTEGER_DIGITS) {
                fail('bad-lexical', path, `${kind} holds ${shown(t)}, not a decimal integer`);
            }
            const v = BigInt(t);
            const r = kind === 'integer' ? INTEGER_RANGE : UNSIGNED_RANGE;
            if (v < r.min || v > r.max) fail('out-of-range', path, `${kind} ${t} is outside ${r.min}..${r.max}`);
            return { kind, value: v };
        }
        case 'floating-point':
            return decodeFloat(element, path);
        case 'octet-string':
            return { kind, value: hexBytes(element, path) };
        case 'visible-string': {
            const value = leafText(element, path);
            const bad = /[^\x20-\x7e]/.exec(value);
            if (bad) fail('bad-lexical', path, `visible-string holds U+${codeOf(bad[0])}, outside VisibleString`);
            return { kind, value };
        }
        case 'mMSString': {
            let value = '';
            for (const c of element.children) {
                if (typeof c === 'string') {
                    value += c;
                    continue;
                }
                const code = CONTROL_CODE.get(c.local);
                if (code === undefined || c.children.length > 0) {
                    fail('unknown-element', `${path}/${c.local}`, `<${c.local}> is not a control-character element`);
                }
                value += String.fromCharCode(code);
            }
            return { kind, value };
        }
        case 'binary-time':
            return decodeTimeOfDay(element, path);
        case 'utc-time': {
            const bytes = hexBytes(element, path);
            if (bytes.length !== 8) fail('bad-lexical', path, `utc-time has ${bytes.length} octets; expected 8`);
            const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
            const low = view.getUint32(4);
            return { kind, seconds: view.getUint32(0), fraction: low >>> 8, quality: timeQualityOf(low & 0xff) };
        }
        default:
            if (UNSUPPORTED_DATA_ALTERNATIVES.has(kind)) {
                fail('unsupported', path, `Data alternative <${kind}> is not used by IEC 61850 and not supported`);
            }
            return fail('unknown-element', path, `<${kind}> is not a Data alternative`);
    }
}

function decodeFloat(element: XmlElement, path: string): Data {
    const bytes = hexBytes(element, path);
    const digits = bytes.length * 2;
    if (!DECODER.floatHexLengths.includes(digits)) {
        fail(
            'bad-lexical',
            path,
            `floating-point has ${digits} hex digits; expected ${DECODER.floatHexLengths.join(', ')}`,
        );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    switch (digits) {
        case 8:
            return { kind: 'floating-point', format: 'single', value: view.getFloat32(0) };
        case 16:
            return { kind: 'floating-point', format: 'double', value: view.getFloat64(0) };
        case 10:
            if (bytes[0] !== FLOAT_EXPONENT_WIDTH.single) {
                fail('bad-lexical', path, `5-octet floating-point must start with 08 (exponent width 8)`);
            }
            return { kind: 'floating-point', format: 'single', value: view.getFloat32(1) };
        default:
            if (bytes[0] !== FLOAT_EXPONENT_WIDTH.double) {
                fail('bad-lexical', path, `9-octet floating-point must start with 0B (exponent width 11)`);
            }
            return { kind: 'floating-point', format: 'double', value: view.getFloat64(1) };
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers for the values 61850 builds on Data

/** Octets of a bit string, bit 0 = most significant bit of octet 0, and the count of unused trailing bits. */
export function bitStringToBytes(bits: string): { bytes: Uint8Array; padding: number } {
    if (!/^[01]*$/.test(bits)) throw new MmsError('wrong-type', 'bits must be a string of 0 and 1');
    const bytes = new Uint8Array(Math.ceil(bits.length / 8));
    for (let i = 0; i < bits.length; i++) if (bits[i] === '1') bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (0x80 >> (i & 7));
    return { bytes, padding: (8 - (bits.length % 8)) % 8 };
}

/** The first `bitCount` bits of `bytes` (bit 0 = most significant bit of octet 0). */
export function bitStringFromBytes(bytes: Uint8Array, bitCount = bytes.length * 8): string {
    if (!Number.isInteger(bitCount) || bitCount < 0 || bitCount > bytes.length * 8) {
        throw new MmsError('out-of-range', `bitCount ${bitCount} does not fit ${bytes.length} octets`);
    }
    let s = '';
    for (let i = 0; i < bitCount; i++) s += ((bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) === 0 ? '0' : '1';
    return s;
}

const EPOCH_1984_MS = Date.UTC(1984, 0, 1);

/** A Date as a 6-octet binary-time (TimeOfDay with days since 1984-01-01). */
export function binaryTimeFromDate(date: Date): Extract<Data, { kind: 'binary-time' }> {
    const ms = date.getTime() - EPOCH_1984_MS;
    if (!Number.isFinite(ms) || ms < 0) throw new MmsError('out-of-range', 'binary-time starts on 1984-01-01');
    const days = Math.floor(ms / MS_PER_DAY);
    if (days > 0xffff) throw new MmsError('out-of-range', 'binary-time ends 65535 days after 1984-01-01');
    return { kind: 'binary-time', msOfDay: ms - days * MS_PER_DAY, days };
}

/** The instant of a binary-time; a 4-octet one is taken on 1984-01-01. */
export function binaryTimeToDate(t: Extract<Data, { kind: 'binary-time' }>): Date {
    return new Date(EPOCH_1984_MS + (t.days ?? 0) * MS_PER_DAY + t.msOfDay);
}

/** A Date as utc-time (millisecond precision; the fraction is rounded to 24 bits). */
export function utcTimeFromDate(date: Date, quality: TimeQuality): Extract<Data, { kind: 'utc-time' }> {
    const ms = date.getTime();
    if (!Number.isFinite(ms) || ms < 0 || ms >= 2 ** 32 * 1000) {
        throw new MmsError('out-of-range', 'utc-time covers 1970-01-01 to 2106-02-07');
    }
    const seconds = Math.floor(ms / 1000);
    const fraction = Math.min(0xffffff, Math.round(((ms - seconds * 1000) / 1000) * 2 ** 24));
    return { kind: 'utc-time', seconds, fraction, quality };
}

/** The instant of a utc-time, to the millisecond. */
export function utcTimeToDate(t: Extract<Data, { kind: 'utc-time' }>): Date {
    return new Date(t.seconds * 1000 + Math.floor((t.fraction * 1000) / 2 ** 24));
}
