import { badInput } from './errors';
import type { Fc } from './fc';
import type { ObjectReference } from './reference';

/**
 * The IEC 61850 object tree, values with quality and timestamp, and the 7-2 basic types mapped
 * to MMS Data (8-1 mapping reused by 8-2; ../shared/design/iec61850-8-2-wire.md §6.2-§6.4).
 */

// ---------------------------------------------------------------------------------------------
// Basic types (7-2 Ed2 basic types; MMS Data per wire note §6.2)

/** Alternatives of the MMS Data CHOICE that 61850 uses (wire note §4.2). */
export type MmsDataKind =
    | 'boolean'
    | 'integer'
    | 'unsigned'
    | 'floating-point'
    | 'bit-string'
    | 'octet-string'
    | 'visible-string'
    | 'mMSString'
    | 'utc-time'
    | 'binary-time'
    | 'structure'
    | 'array';

export interface BasicTypeInfo {
    /** The MMS Data alternative carrying a value of this type. */
    mms: MmsDataKind;
    /** Bits for integers, unsigned, floats and bit strings; maximum octets/characters for strings. */
    size?: number;
    /** A string of exactly `size` octets (otherwise strings are variable up to `size`). */
    fixed?: boolean;
    note?: string;
}

export const BASIC_TYPES = Object.freeze({
    BOOLEAN: { mms: 'boolean' },
    INT8: { mms: 'integer', size: 8 },
    INT16: { mms: 'integer', size: 16 },
    INT32: { mms: 'integer', size: 32 },
    INT64: { mms: 'integer', size: 64 },
    INT8U: { mms: 'unsigned', size: 8 },
    INT16U: { mms: 'unsigned', size: 16 },
    INT32U: { mms: 'unsigned', size: 32 },
    FLOAT32: { mms: 'floating-point', size: 32, note: 'format (32,8)' },
    FLOAT64: { mms: 'floating-point', size: 64, note: 'format (64,11)' },
    ENUMERATED: { mms: 'integer', size: 8, note: 'unknown values are not protocol errors' },
    'CODED ENUM': { mms: 'bit-string', size: 2, note: 'Dbpos, Tcmd: width per type' },
    Check: { mms: 'bit-string', size: 2, note: 'synchroCheck, interlockCheck' },
    'OCTET STRING': { mms: 'octet-string', size: 64, note: 'size per attribute; orIdent = Octet64' },
    'VISIBLE STRING': { mms: 'visible-string', size: 255, note: 'size per attribute (VisString64/129/255)' },
    'UNICODE STRING': { mms: 'mMSString', size: 255, note: 'size per attribute' },
    ObjectName: { mms: 'visible-string', size: 64 },
    ObjectReference: { mms: 'visible-string', size: 129 },
    Timestamp: { mms: 'utc-time', note: '8 octets, see encodeTimestamp' },
    EntryTime: { mms: 'binary-time', size: 6, note: 'ms of day + days since 1984-01-01' },
    EntryID: { mms: 'octet-string', size: 8, fixed: true },
    Quality: { mms: 'bit-string', size: 13, note: 'see encodeQuality' },
    TriggerConditions: { mms: 'bit-string', size: 6 },
    RCBReportOptions: { mms: 'bit-string', size: 10 },
    ReasonForInclusion: { mms: 'bit-string', size: 7 },
} as const satisfies Record<string, BasicTypeInfo>);
export type BasicType = keyof typeof BASIC_TYPES;

/** Value ranges of the integer basic types (7-2 Ed2 §6.1.2; ENUMERATED as its INT8 carrier). */
export const INT_RANGES: Readonly<Partial<Record<BasicType, readonly [number, number]>>> = Object.freeze({
    INT8: [-128, 127],
    INT16: [-32768, 32767],
    INT32: [-(2 ** 31), 2 ** 31 - 1],
    INT8U: [0, 255],
    INT16U: [0, 65535],
    INT32U: [0, 2 ** 32 - 1],
    ENUMERATED: [-128, 127],
});
export const INT64_RANGE = Object.freeze([-(2n ** 63n), 2n ** 63n - 1n] as const);

// ---------------------------------------------------------------------------------------------
// The object tree: Server > LogicalDevice > LogicalNode > DataObject > DataAttribute

export interface DataAttribute {
    kind: 'DA';
    name: string;
    fc: Fc;
    /** A basic type, or 'Struct' for a constructed attribute whose members are `children` (BDAs). */
    type: BasicType | 'Struct';
    /** Number of array elements; absent for a scalar. */
    count?: number;
    children?: DataAttribute[];
    /** Trigger options (7-2): data change, quality change, data update. */
    triggers?: { dchg?: boolean; qchg?: boolean; dupd?: boolean };
    value?: Value;
}

export interface DataObject {
    kind: 'DO';
    name: string;
    /** Common data class (7-3), e.g. MV, SPC. */
    cdc?: string;
    count?: number;
    /** Sub data objects and data attributes. */
    children: Array<DataObject | DataAttribute>;
}

export interface LogicalNode {
    /** prefix + lnClass + inst, e.g. MMXN1, LLN0. */
    name: string;
    dataObjects: DataObject[];
    /** SCL instance attributes, when the LN came from SCL (IEC 61850-6 §9.3.5). */
    prefix?: string;
    lnClass?: string;
    inst?: string;
    lnType?: string;
    desc?: string;
    dataSets?: DataSet[];
    reportControls?: ReportControl[];
    logControls?: LogControl[];
    settingControl?: SettingControl;
    /** Names of the logs (journals) of this LN. */
    logs?: string[];
    /** The LN's name space (NamPlt.lnNs), when the SCL gives it a value (7-1 name spaces). */
    lnNs?: string;
}

/** A persistent data set: its name inside the LN and its members (FCD or FCDA references). */
export interface DataSet {
    name: string;
    members: ObjectReference[];
}

/** Trigger options of a report or log control block (7-2 TrgOps; SCL TrgOps). */
export interface TriggerOptions {
    dchg: boolean;
    qchg: boolean;
    dupd: boolean;
    period: boolean;
    gi: boolean;
}

/** Optional fields of a report (7-2 OptFlds; SCL OptFields). */
export interface ReportOptions {
    seqNum: boolean;
    timeStamp: boolean;
    dataSet: boolean;
    reasonCode: boolean;
    dataRef: boolean;
    entryID: boolean;
    configRef: boolean;
    bufOvfl: boolean;
}

export interface ReportControl {
    name: string;
    buffered: boolean;
    rptId: string;
    /** Data set name in the same LN; absent = none configured. */
    dataSet?: string;
    confRev: number;
    /** Integrity period, ms. */
    intgPd: number;
    /** Buffer time, ms. */
    bufTime: number;
    trgOps: TriggerOptions;
    optFields: ReportOptions;
    indexed: boolean;
    /** Number of instances (RptEnabled max). */
    max: number;
}

export interface LogControl {
    name: string;
    dataSet?: string;
    logName: string;
    logEna: boolean;
    reasonCode: boolean;
    intgPd: number;
    trgOps: TriggerOptions;
}

export interface SettingControl {
    numOfSGs: number;
    actSG: number;
}

export interface LogicalDevice {
    /** The MMS domain name (IEDName + LDInst unless ldName is set). */
    name: string;
    logicalNodes: LogicalNode[];
}

export interface Server {
    logicalDevices: LogicalDevice[];
}

/** A value as carried in MMS Data, typed by its basic type. */
export type Value =
    | boolean
    | number
    | bigint
    | string
    | Uint8Array
    | Quality
    | Timestamp
    | Value[]
    | { [member: string]: Value };

// ---------------------------------------------------------------------------------------------
// Quality (13 bits, bit 0 leftmost; wire note §6.3)

export const VALIDITIES = ['good', 'invalid', 'reserved', 'questionable'] as const;
export type Validity = (typeof VALIDITIES)[number];

/** The detail quality bits 2..9, in bit order. */
export const DETAIL_QUALITY = [
    'overflow',
    'outOfRange',
    'badReference',
    'oscillatory',
    'failure',
    'oldData',
    'inconsistent',
    'inaccurate',
] as const;
export type DetailQuality = (typeof DETAIL_QUALITY)[number];

export interface Quality {
    validity: Validity;
    detail: Record<DetailQuality, boolean>;
    source: 'process' | 'substituted';
    test: boolean;
    operatorBlocked: boolean;
}

export function goodQuality(): Quality {
    return {
        validity: 'good',
        detail: Object.fromEntries(DETAIL_QUALITY.map((d) => [d, false])) as Record<DetailQuality, boolean>,
        source: 'process',
        test: false,
        operatorBlocked: false,
    };
}

/** The 13-character bit string (`0`/`1`, bit 0 first) of a quality. */
export function encodeQuality(q: Quality): string {
    const v = VALIDITIES.indexOf(q.validity);
    if (v < 0) throw badInput('syntax', 'unknown validity', String(q.validity));
    const bits = [v >> 1, v & 1, ...DETAIL_QUALITY.map((d) => (q.detail[d] ? 1 : 0))];
    bits.push(q.source === 'substituted' ? 1 : 0, q.test ? 1 : 0, q.operatorBlocked ? 1 : 0);
    return bits.join('');
}

/** Reads a quality bit string; accepts 13 to 16 bits (8-2 width is an open question; extra bits ignored). */
export function decodeQuality(bits: string): Quality {
    if (!/^[01]{13,16}$/.test(bits)) throw badInput('syntax', 'quality must be 13 to 16 bits of 0/1', bits);
    const b = (i: number) => bits[i] === '1';
    const q = goodQuality();
    q.validity = VALIDITIES[(b(0) ? 2 : 0) + (b(1) ? 1 : 0)] as Validity;
    DETAIL_QUALITY.forEach((d, i) => {
        q.detail[d] = b(2 + i);
    });
    q.source = b(10) ? 'substituted' : 'process';
    q.test = b(11);
    q.operatorBlocked = b(12);
    return q;
}

// ---------------------------------------------------------------------------------------------
// Timestamp (MMS utc-time, 8 octets; wire note §6.4)

export interface TimeQuality {
    leapSecondsKnown: boolean;
    clockFailure: boolean;
    clockNotSynchronized: boolean;
    /** Number of accurate fraction bits, 0..24; 31 = unspecified. */
    timeAccuracy: number;
}

export interface Timestamp {
    /** Seconds since 1970-01-01T00:00:00Z, 0..2^32-1. */
    seconds: number;
    /** Fraction of a second in units of 2^-24, 0..2^24-1. */
    fraction: number;
    quality: TimeQuality;
}

export const TIME_ACCURACY_UNSPECIFIED = 31;

export function encodeTimestamp(ts: Timestamp): Uint8Array {
    const { seconds, fraction, quality: tq } = ts;
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 0xffffffff)
        throw badInput('out-of-range', 'timestamp seconds must be 0..2^32-1', String(seconds));
    if (!Number.isInteger(fraction) || fraction < 0 || fraction > 0xffffff)
        throw badInput('out-of-range', 'timestamp fraction must be 0..2^24-1', String(fraction));
    const acc = tq.timeAccuracy;
    if (!Number.isInteger(acc) || acc < 0 || acc > 31 || (acc > 24 && acc !== TIME_ACCURACY_UNSPECIFIED))
        throw badInput('out-of-range', 'time accuracy must be 0..24 or 31', String(acc));
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, seconds);
    out[4] = fraction >>> 16;
    out[5] = (fraction >>> 8) & 0xff;
    out[6] = fraction & 0xff;
    out[7] =
        (tq.leapSecondsKnown ? 0x80 : 0) | (tq.clockFailure ? 0x40 : 0) | (tq.clockNotSynchronized ? 0x20 : 0) | acc;
    return out;
}

export function decodeTimestamp(bytes: Uint8Array): Timestamp {
    if (bytes.length !== 8) throw badInput('syntax', `utc-time must be 8 octets, got ${bytes.length}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
    const q = bytes[7] as number;
    return {
        seconds: view.getUint32(0),
        fraction: ((bytes[4] as number) << 16) | ((bytes[5] as number) << 8) | (bytes[6] as number),
        quality: {
            leapSecondsKnown: (q & 0x80) !== 0,
            clockFailure: (q & 0x40) !== 0,
            clockNotSynchronized: (q & 0x20) !== 0,
            timeAccuracy: q & 0x1f,
        },
    };
}

/** A timestamp for an instant; the fraction is truncated to 2^-24 s. */
export function timestampFromDate(date: Date, quality: TimeQuality): Timestamp {
    const ms = date.getTime();
    if (!Number.isFinite(ms) || ms < 0) throw badInput('out-of-range', 'timestamp before 1970 or invalid date');
    const seconds = Math.floor(ms / 1000);
    return { seconds, fraction: Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 24), quality };
}

/** The instant of a timestamp, rounded to the millisecond. */
export function timestampToDate(ts: Timestamp): Date {
    return new Date(ts.seconds * 1000 + Math.round((ts.fraction / 2 ** 24) * 1000));
}

// ---------------------------------------------------------------------------------------------
// EntryTime (MMS binary-time with date, 6 octets; wire note §6.2)

const EPOCH_1984 = Date.UTC(1984, 0, 1);
const DAY_MS = 86_400_000;

export function encodeEntryTime(date: Date): Uint8Array {
    const rel = date.getTime() - EPOCH_1984;
    if (!Number.isFinite(rel) || rel < 0) throw badInput('out-of-range', 'EntryTime before 1984-01-01');
    const days = Math.floor(rel / DAY_MS);
    if (days > 0xffff) throw badInput('out-of-range', 'EntryTime after the 16-bit day count');
    const out = new Uint8Array(6);
    const view = new DataView(out.buffer);
    view.setUint32(0, rel - days * DAY_MS);
    view.setUint16(4, days);
    return out;
}

export function decodeEntryTime(bytes: Uint8Array): Date {
    if (bytes.length !== 6) throw badInput('syntax', `binary-time must be 6 octets, got ${bytes.length}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, 6);
    const ms = view.getUint32(0);
    if (ms >= DAY_MS) throw badInput('out-of-range', 'binary-time milliseconds beyond one day');
    return new Date(EPOCH_1984 + view.getUint16(4) * DAY_MS + ms);
}
