/**
 * Pure conversions for Simple Metering values (design note zigbee-sep §4.1): decoding (binary or BCD, sentinels,
 * wrong types), scaling (multiplier/divisor, an operator override, or the formatting attributes), formatting and
 * status bit fields, and validation against the last good reading. Nothing here does I/O or keeps state.
 */

import {
    FORMATTING_BITS,
    INT24_MAX,
    INT24_MIN,
    METER_STATUS_BITS,
    METERING_DEVICE_TYPES,
    type MeterStatusFlag,
    SENTINEL,
    UINT48_MAX,
    UNIT_BCD_FLAG,
    UNITS_OF_MEASURE,
    ZCL_TYPE,
} from './attributes';

/** A raw attribute value as a transport hands it over. */
export type RawValue = number | bigint | string | undefined | null;

export type Decoded = { ok: true; value: number; bcd: boolean } | { ok: false; reason: string };

const hex = (n: number, width: number) => `0x${n.toString(16).toUpperCase().padStart(width, '0')}`;

/** True when the unit code says the values are BCD (bit 7 set). 0xFF is the enum8 non-value, not "BCD 0x7F". */
export function isBcdUnit(unit: number | undefined): boolean {
    return unit !== undefined && unit !== SENTINEL.enum8 && (unit & UNIT_BCD_FLAG) !== 0;
}

/** Turns number, bigint or text (decimal, or 0x-prefixed hex) into a safe integer, or a reason it cannot be one. */
function toInteger(raw: RawValue): { ok: true; n: number } | { ok: false; reason: string } {
    if (raw === undefined || raw === null) return { ok: false, reason: 'no value' };
    if (typeof raw === 'bigint') {
        if (raw < BigInt(Number.MIN_SAFE_INTEGER) || raw > BigInt(Number.MAX_SAFE_INTEGER)) {
            return { ok: false, reason: `out of range (${raw})` };
        }
        return { ok: true, n: Number(raw) };
    }
    if (typeof raw === 'string') {
        const s = raw.trim();
        if (/^0x[0-9a-f]{1,13}$/i.test(s)) return { ok: true, n: Number.parseInt(s.slice(2), 16) };
        if (/^-?\d{1,15}$/.test(s)) return { ok: true, n: Number(s) };
        return { ok: false, reason: `wrong type: text "${s.slice(0, 20)}"` };
    }
    if (typeof raw !== 'number') return { ok: false, reason: `wrong type: ${typeof raw}` };
    if (Number.isNaN(raw)) return { ok: false, reason: 'not a number (NaN)' };
    if (!Number.isSafeInteger(raw)) return { ok: false, reason: `not an integer (${raw})` };
    return { ok: true, n: raw };
}

/** Reads a bit pattern as BCD, one decimal digit per nibble; any nibble above 9 makes it invalid. */
export function decodeBcd(pattern: number, nibbles: number): Decoded {
    let value = 0;
    let scale = 1;
    let rest = pattern;
    for (let i = 0; i < nibbles; i++) {
        const digit = rest % 16;
        if (digit > 9) {
            return {
                ok: false,
                reason: `bad BCD digit ${digit.toString(16).toUpperCase()} in ${hex(pattern, nibbles)}`,
            };
        }
        value += digit * scale;
        scale *= 10;
        rest = Math.floor(rest / 16);
    }
    return { ok: true, value, bcd: true };
}

const typeCheck = (type: number | undefined, expected: number, name: string): string | undefined =>
    type === undefined || type === expected
        ? undefined
        : `wrong type ${hex(type, 2)} (expected ${name} ${hex(expected, 2)})`;

/**
 * Decodes a summation register (uint48, D.3.2.2.1.1). 0xFFFFFFFFFFFF is the invalid value and stays invalid; with a
 * BCD unit (unit & 0x80) the 48-bit pattern holds 12 decimal digits.
 */
export function decodeSummation(raw: RawValue, unit?: number, type?: number): Decoded {
    const wrong = typeCheck(type, ZCL_TYPE.uint48, 'uint48');
    if (wrong) return { ok: false, reason: wrong };
    const int = toInteger(raw);
    if (!int.ok) return int;
    if (int.n === SENTINEL.uint48) return { ok: false, reason: 'invalid value 0xFFFFFFFFFFFF (uint48 non-value)' };
    if (int.n < 0 || int.n > UINT48_MAX) return { ok: false, reason: `out of uint48 range (${int.n})` };
    if (isBcdUnit(unit)) return decodeBcd(int.n, 12);
    return { ok: true, value: int.n, bcd: false };
}

/**
 * Decodes InstantaneousDemand (int24, D.3.2.2.5.1). -8388608 (0x800000) is the invalid value; NaN (what herdsman's
 * `read()` makes of it) is invalid too. A transport that did not sign-extend (0x800000..0xFFFFFF) is corrected.
 * With a BCD unit the low 24 bits are read as six BCD digits (BCD carries no sign).
 */
export function decodeDemand(raw: RawValue, unit?: number, type?: number): Decoded {
    const wrong = typeCheck(type, ZCL_TYPE.int24, 'int24');
    if (wrong) return { ok: false, reason: wrong };
    if (typeof raw === 'number' && Number.isNaN(raw)) {
        return { ok: false, reason: 'invalid value 0x800000 (int24 non-value, decoded as NaN)' };
    }
    const int = toInteger(raw);
    if (!int.ok) return int;
    let n = int.n;
    if (n > INT24_MAX && n <= 0xffffff) n -= 0x1000000;
    if (n === SENTINEL.int24) return { ok: false, reason: 'invalid value 0x800000 (int24 non-value)' };
    if (n < INT24_MIN || n > INT24_MAX) return { ok: false, reason: `out of int24 range (${int.n})` };
    if (isBcdUnit(unit)) return decodeBcd(n < 0 ? n + 0x1000000 : n, 6);
    return { ok: true, value: n, bcd: false };
}

/** Decodes a uint24 multiplier or divisor: 0, 0xFFFFFF (non-value), missing or malformed all mean "not available". */
export function decodeFactor(raw: RawValue, type?: number): number | undefined {
    if (typeCheck(type, ZCL_TYPE.uint24, 'uint24')) return undefined;
    const int = toInteger(raw);
    if (!int.ok || int.n <= 0 || int.n >= SENTINEL.uint24) return undefined;
    return int.n;
}

/** Decodes an 8-bit enum or bitmap (unit, formatting, device type, status); undefined when malformed. */
export function decodeByte(raw: RawValue): number | undefined {
    const int = toInteger(raw);
    if (!int.ok || int.n < 0 || int.n > 0xff) return undefined;
    return int.n;
}

export interface Formatting {
    raw: number;
    digitsRight: number;
    digitsLeft: number;
    suppressLeadingZeros: boolean;
}

/** Splits a SummationFormatting/DemandFormatting byte into its fields. */
export function parseFormatting(byte: number): Formatting {
    const f = FORMATTING_BITS;
    return {
        raw: byte & 0xff,
        digitsRight: (byte >> f.digitsRight.shift) & f.digitsRight.mask,
        digitsLeft: (byte >> f.digitsLeft.shift) & f.digitsLeft.mask,
        suppressLeadingZeros: ((byte >> f.suppressLeadingZeros.shift) & f.suppressLeadingZeros.mask) === 1,
    };
}

/** Names of the electricity status bits set in the Status attribute. */
export function statusFlags(byte: number): MeterStatusFlag[] {
    return METER_STATUS_BITS.filter((b) => (byte >> b.bit) & 1).map((b) => b.name);
}

export interface UnitNames {
    code: number;
    bcd: boolean;
    name: string;
    summation: string;
    demand: string;
}

/** Names of a UnitofMeasure code; unknown codes pass through as `unit-0xNN`. */
export function unitNames(code: number | undefined): UnitNames {
    if (code === undefined) return { code: -1, bcd: false, name: 'unknown', summation: '?', demand: '?' };
    const bcd = isBcdUnit(code);
    const base = bcd ? code & ~UNIT_BCD_FLAG : code;
    const u = UNITS_OF_MEASURE.find((x) => x.code === base);
    if (!u) {
        const label = `unit-${hex(code, 2).toLowerCase()}`;
        return { code, bcd, name: label, summation: label, demand: label };
    }
    return { code, bcd, name: bcd ? `${u.name} (BCD)` : u.name, summation: u.summation, demand: u.demand };
}

/** True when the unit is kW/kWh (binary or BCD). */
export function isElectricUnit(code: number | undefined): boolean {
    return code !== undefined && code !== SENTINEL.enum8 && (code & ~UNIT_BCD_FLAG) === 0x00;
}

export function deviceTypeName(code: number | undefined): string {
    if (code === undefined) return 'unknown';
    return METERING_DEVICE_TYPES[code] ?? `device-type-${code}`;
}

export type ScalingSource = 'meter' | 'override' | 'formatting' | 'unscaled';

export interface ScalingOverride {
    multiplier?: number;
    divisor?: number;
}

export interface Scaled {
    value: number;
    /** The factor applied to the raw value. */
    factor: number;
    source: ScalingSource;
    multiplier?: number;
    divisor?: number;
    /** Digits right of the decimal point, when the formatting attribute placed it. */
    digitsRight?: number;
}

const usable = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n > 0;

/**
 * Scales a decoded value. Order of precedence:
 * 1. `override` (operator-configured multiplier/divisor, for devices that report wrong ones): source 'override'.
 * 2. The meter's Multiplier and Divisor, when both are present and non-zero: raw × multiplier ÷ divisor, 'meter'.
 *    SE says they "must be applied against all summation, consumption and demand values" when present.
 * 3. Otherwise the formatting byte, when there is one: SE formatting only says how many digits sit right of the
 *    decimal point, so the raw integer is read as a fixed-point number with that many decimals
 *    (raw ÷ 10^digitsRight), 'formatting'. This is what meter interfaces without multiplier/divisor expect
 *    (Develco's manual: "when multiplier/divisor are zero, only the formatting hints apply").
 * 4. Otherwise the raw value unchanged, 'unscaled'.
 * A zero or missing multiplier or divisor counts as absent (design note §4.1 step 2).
 */
export function scale(
    raw: number,
    multiplier: number | undefined,
    divisor: number | undefined,
    override?: ScalingOverride,
    formatting?: number,
): Scaled {
    if (override && (override.multiplier !== undefined || override.divisor !== undefined)) {
        const m = usable(override.multiplier) ? override.multiplier : 1;
        const d = usable(override.divisor) ? override.divisor : 1;
        return { value: (raw * m) / d, factor: m / d, source: 'override', multiplier: m, divisor: d };
    }
    if (usable(multiplier) && usable(divisor)) {
        return {
            value: (raw * multiplier) / divisor,
            factor: multiplier / divisor,
            source: 'meter',
            multiplier,
            divisor,
        };
    }
    if (formatting !== undefined) {
        const { digitsRight } = parseFormatting(formatting);
        const p = 10 ** digitsRight;
        return { value: raw / p, factor: 1 / p, source: 'formatting', digitsRight };
    }
    return { value: raw, factor: 1, source: 'unscaled' };
}

export type Verdict = 'good' | 'invalid' | 'suspect';

export interface Validation {
    verdict: Verdict;
    reasons: string[];
}

export interface SampleToValidate {
    /** Decoded values by field name ("summation", "demand", ...). */
    decoded: Readonly<Record<string, Decoded | undefined>>;
    /** Scaled summation delivered, when it decoded. */
    summation?: number;
}

/**
 * Judges one sample: any value that failed to decode (sentinel, wrong type, bad BCD) makes it 'invalid' with the
 * reasons; a summation lower than the last good one makes it 'suspect' (rollover or meter swap), never a negative
 * delta. Otherwise 'good'.
 */
export function validate(sample: SampleToValidate, previous?: { summation?: number }): Validation {
    const reasons: string[] = [];
    for (const [field, d] of Object.entries(sample.decoded)) {
        if (d && !d.ok) reasons.push(`${field}: ${d.reason}`);
    }
    if (reasons.length > 0) return { verdict: 'invalid', reasons };
    if (sample.summation !== undefined && previous?.summation !== undefined && sample.summation < previous.summation) {
        return {
            verdict: 'suspect',
            reasons: [
                `summation decreased from ${previous.summation} to ${sample.summation} (rollover or meter swap?)`,
            ],
        };
    }
    return { verdict: 'good', reasons };
}
