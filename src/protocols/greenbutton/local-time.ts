import { DST_RULE } from './codes';
import { EspiError } from './errors';

/** espi.xsd `TimeConfiguration` (the LocalTimeParameters resource): offsets in seconds, rules as 32-bit maps. */
export interface LocalTimeParameters {
    /** IANA name the parameters were derived from (our own note; not written to the XML). */
    zone: string;
    tzOffset: number;
    dstOffset: number;
    dstStartRule: number;
    dstEndRule: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
    let f = formatters.get(zone);
    if (!f) {
        try {
            f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
        } catch {
            throw new EspiError('BAD_INPUT', `Time zone "${zone}" is not an IANA time zone name (such as Europe/Oslo)`);
        }
        formatters.set(zone, f);
    }
    return f;
}

/** Checks an IANA zone name; throws EspiError BAD_INPUT when the runtime does not know it. */
export function assertZone(zone: string): void {
    formatter(zone);
}

/** The zone's offset from UTC in seconds at an instant (local = UTC + offset). */
export function offsetAt(zone: string, ms: number): number {
    const name = formatter(zone)
        .formatToParts(ms)
        .find((p) => p.type === 'timeZoneName')?.value;
    const m = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(name ?? '');
    if (!m) return 0;
    if (!m[1]) return 0;
    const s = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0);
    return m[1] === '-' ? -s : s;
}

/** Finds the instant in (lo, hi] where the offset changes, to the second. */
function transition(zone: string, lo: number, hi: number): number {
    const before = offsetAt(zone, lo);
    while (hi - lo > 1000) {
        const mid = Math.floor((lo + hi) / 2000) * 1000;
        if (offsetAt(zone, mid) === before) lo = mid;
        else hi = mid;
    }
    return hi;
}

/** Encodes a transition as a `DstRuleType` bit map: month, weekday occurrence and the wall-clock time before it. */
function encodeRule(atMs: number, offsetBefore: number): number {
    const wall = new Date(atMs + offsetBefore * 1000);
    const month = wall.getUTCMonth() + 1;
    const day = wall.getUTCDate();
    const weekday = ((wall.getUTCDay() + 6) % 7) + 1; // Monday = 1 .. Sunday = 7
    const daysInMonth = new Date(Date.UTC(wall.getUTCFullYear(), month, 0)).getUTCDate();
    const nth = Math.ceil(day / 7);
    const operator = day + 7 > daysInMonth ? DST_RULE.operator.last : DST_RULE.operator.first + nth - 1;
    const seconds = wall.getUTCMinutes() * 60 + wall.getUTCSeconds();
    return (
        ((month << DST_RULE.monthShift) |
            (operator << DST_RULE.operatorShift) |
            (weekday << DST_RULE.weekdayShift) |
            (wall.getUTCHours() << DST_RULE.hourShift) |
            (seconds << DST_RULE.secondsShift)) >>>
        0
    );
}

/**
 * LocalTimeParameters for an IANA zone in a given year: the standard offset, the DST offset, and the two
 * transitions as "nth (or last) weekday of the month at the wall-clock time before the change", the form the
 * espi.xsd `DstRuleType` annotation describes (the GBA samples' 360E2000 is the second Sunday of March, 02:00).
 * Zones without DST in that year get FFFFFFFF rules and a zero DST offset.
 */
export function localTimeParameters(zone: string, year = new Date().getUTCFullYear()): LocalTimeParameters {
    formatter(zone);
    const start = Date.UTC(year, 0, 1);
    const end = Date.UTC(year + 1, 0, 1);
    const changes: { at: number; before: number; after: number }[] = [];
    const day = 86_400_000;
    let prev = offsetAt(zone, start);
    for (let t = start + day; t <= end; t += day) {
        const now = offsetAt(zone, t);
        if (now !== prev) {
            const at = transition(zone, t - day, t);
            changes.push({ at, before: prev, after: now });
            prev = now;
        }
    }
    const offsets = [offsetAt(zone, start), ...changes.map((c) => c.after)];
    const std = Math.min(...offsets);
    const dst = Math.max(...offsets);
    const toDst = changes.find((c) => c.after > c.before);
    const toStd = changes.find((c) => c.after < c.before);
    if (!toDst || !toStd || std === dst) {
        return {
            zone,
            tzOffset: offsetAt(zone, start),
            dstOffset: 0,
            dstStartRule: DST_RULE.disabled,
            dstEndRule: DST_RULE.disabled,
        };
    }
    return {
        zone,
        tzOffset: std,
        dstOffset: dst - std,
        dstStartRule: encodeRule(toDst.at, toDst.before),
        dstEndRule: encodeRule(toStd.at, toStd.before),
    };
}

/** The UTC instant of local midnight on the day that holds `ms`, in the zone. */
export function localDayStart(zone: string, ms: number): number {
    const off = offsetAt(zone, ms) * 1000;
    const localMidnight = Math.floor((ms + off) / 86_400_000) * 86_400_000;
    // The offset at midnight can differ from the one at `ms` on a transition day; where local midnight happens
    // twice (a transition back at 01:00), the day starts at the first one.
    const a = localMidnight - offsetAt(zone, localMidnight - off) * 1000;
    const b = localMidnight - offsetAt(zone, a - 1000) * 1000;
    return b < a && b + offsetAt(zone, b) * 1000 === localMidnight ? b : a;
}

/** Eight upper-case hex digits, as espi.xsd `HexBinary32` is written. */
export function hex32(n: number): string {
    return (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
