import type { ParameterType, WireTime } from './model';

/**
 * XSD lexical forms as the XMPP IoT generations use them (docs/design/xmpp-iot-g0-g1.md §2.1,
 * xmpp-iot-g2-g3.md §3). Parsers are tolerant (they accept what deployed peers send); formatters
 * emit the canonical forms. Parsers return undefined for text that is not of the type.
 */

/** xs:boolean; also the case-insensitive yes/no/on/off some devices send. */
export function parseBoolean(text: string | undefined): boolean | undefined {
    if (text === undefined) return undefined;
    switch (text.trim().toLowerCase()) {
        case 'true':
        case '1':
        case 'yes':
        case 'on':
            return true;
        case 'false':
        case '0':
        case 'no':
        case 'off':
            return false;
        default:
            return undefined;
    }
}

const DATE_TIME = /^(-?\d{4,})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * xs:dateTime (and a bare date, as some devices send). A value without a zone is taken as
 * local time of this machine and marked `zoneless` (XEP-0323 §Time Zones).
 */
export function parseDateTime(text: string | undefined): WireTime | undefined {
    if (text === undefined) return undefined;
    const m = DATE_TIME.exec(text.trim());
    if (!m) return undefined;
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
    const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
    const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms] as const;
    if (parts[1] > 11 || parts[2] < 1 || parts[2] > 31 || parts[3] > 24 || parts[4] > 59 || parts[5] > 60)
        return undefined;
    let date: Date;
    if (zone === undefined) {
        date = new Date(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6]);
    } else {
        let utc = Date.UTC(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6]);
        if (zone !== 'Z') {
            const sign = zone.startsWith('-') ? -1 : 1;
            const digits = zone.slice(1).replace(':', '');
            utc -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
        }
        date = new Date(utc);
    }
    if (Number.isNaN(date.getTime())) return undefined;
    // Impossible days (2026-02-30) must not roll over into the next month.
    const day = new Date(Date.UTC(parts[0], parts[1], parts[2]));
    if (day.getUTCMonth() !== parts[1] || day.getUTCDate() !== parts[2]) return undefined;
    return { date, zoneless: zone === undefined };
}

function pad(n: number, width = 2): string {
    return String(n).padStart(width, '0');
}

/**
 * Formats an instant as xs:dateTime: `utc` gives `YYYY-MM-DDThh:mm:ssZ` (milliseconds when not
 * zero); `local` gives the zoneless local form `YYYY-MM-DDThh:mm:ss` (whole seconds) that
 * 2013-era peers (slixmpp) require for `when`, `from` and `to`.
 */
export function formatDateTime(date: Date, zone: 'utc' | 'local' = 'utc'): string {
    if (zone === 'local') {
        // Whole seconds: slixmpp parses these with exactly %Y-%m-%dT%H:%M:%S.
        return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
    }
    const iso = date.toISOString();
    return date.getUTCMilliseconds() === 0 ? `${iso.slice(0, 19)}Z` : iso;
}

/** Formats a WireTime back the way it came: zoneless values in local time, others in UTC. */
export function formatWireTime(t: WireTime): string {
    return formatDateTime(t.date, t.zoneless ? 'local' : 'utc');
}

/** xs:date, a day that exists (2026-02-30 does not; 2024-02-29 does). */
export function isDate(text: string): boolean {
    const m = /^(-?\d{4,})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(Z|[+-]\d{2}:\d{2})?$/.exec(text.trim());
    if (!m) return false;
    const year = Number(m[1]);
    const month = Number(m[2]);
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
    return Number(m[3]) <= days;
}

/** xs:time (and the .NET TimeSpan text G2/G3 devices send, e.g. 12:00:00.1234567). */
export function isTime(text: string): boolean {
    return /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(text.trim());
}

/** xs:duration (ISO 8601); G0 `timeSpan` may also be a time of day (`hh:mm:ss`), accepted here too. */
export function isDuration(text: string): boolean {
    const t = text.trim();
    if (/^-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/.test(t)) return true;
    return isTime(t);
}

/** xs:double as XMPP IoT numbers: the digits after the point carry the precision. */
export function parseNumeric(text: string | undefined): { value: number; decimals: number } | undefined {
    if (text === undefined) return undefined;
    const t = text.trim();
    if (t === 'INF' || t === '+INF') return { value: Number.POSITIVE_INFINITY, decimals: 0 };
    if (t === '-INF') return { value: Number.NEGATIVE_INFINITY, decimals: 0 };
    if (t === 'NaN') return { value: Number.NaN, decimals: 0 };
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
    const mantissa = t.split(/[eE]/)[0] ?? '';
    const dot = mantissa.indexOf('.');
    return { value: Number(t), decimals: dot === -1 ? 0 : mantissa.length - dot - 1 };
}

/** Formats a number with a fixed number of decimals (none: as JavaScript prints it, without exponent when possible). */
export function formatNumeric(value: number, decimals?: number): string {
    if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'INF' : '-INF';
    if (decimals !== undefined) return value.toFixed(Math.max(0, Math.min(20, decimals)));
    const s = String(value);
    return /e/i.test(s) ? value.toFixed(20).replace(/\.?0+$/, '') : s;
}

/** xs:int: a signed 32-bit integer. */
export function parseInt32(text: string | undefined): number | undefined {
    if (text === undefined || !/^[+-]?\d+$/.test(text.trim())) return undefined;
    const n = Number(text.trim());
    return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

/** xs:long: a signed 64-bit integer; a bigint only when beyond Number's safe range. */
export function parseInt64(text: string | undefined): number | bigint | undefined {
    if (text === undefined || !/^[+-]?\d+$/.test(text.trim())) return undefined;
    const b = BigInt(text.trim());
    if (b < -9223372036854775808n || b > 9223372036854775807n) return undefined;
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** XEP-0331 colour: RRGGBB or RRGGBBAA. */
export function isColor(text: string): boolean {
    return /^[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(text.trim());
}

/** Space-separated token lists (XEP-0324 §Multiple tokens). */
export function parseTokens(text: string | undefined): string[] | undefined {
    if (text === undefined) return undefined;
    const list = text.split(/\s+/).filter((t) => t !== '');
    return list.length > 0 ? list : undefined;
}

/**
 * Whether `text` is a value of an XEP-0325 control parameter type (G0-G3 share the lexical
 * forms). Tolerant like the parsers above: booleans also as yes/no/on/off, colours RRGGBB or
 * RRGGBBAA in every generation (XEP-0325 v0.1 allowed only RRGGBB), durations also as
 * hh:mm:ss. `string` and `enum` accept any text (enum names are checked against the options by
 * the engine, not here).
 */
export function isParameterText(type: ParameterType, text: string): boolean {
    switch (type) {
        case 'boolean':
            return parseBoolean(text) !== undefined;
        case 'color':
            return isColor(text);
        case 'date':
            return isDate(text);
        case 'dateTime':
            return parseDateTime(text) !== undefined;
        case 'double':
            return parseNumeric(text) !== undefined;
        case 'duration':
            return isDuration(text);
        case 'int':
            return parseInt32(text) !== undefined;
        case 'long':
            return parseInt64(text) !== undefined;
        case 'time':
            return isTime(text);
        case 'string':
        case 'enum':
            return true;
    }
}
