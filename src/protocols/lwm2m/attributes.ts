import { Lwm2mError } from './errors';
import type { ResourceType, ResourceValue } from './tlv';

/**
 * Notification attributes (OMA-TS-LightweightM2M_Core 1.1 §5.1.2, Table 5.1.2-2; design note
 * B.1.3/B.1.4): how a Write-Attributes query is read and checked, how attributes are inherited
 * from object to instance to resource, and when an observation sends a notification
 * (NotifyGate). Periods are in seconds; the gate's clock is in milliseconds.
 */

/** The notification class attributes of LwM2M 1.1. */
export const ATTRIBUTE_NAMES = ['pmin', 'pmax', 'gt', 'lt', 'st', 'epmin', 'epmax'] as const;
export type AttributeName = (typeof ATTRIBUTE_NAMES)[number];

/** Attributes attached to one level (object, instance, resource) or in effect for an observation. */
export type Attributes = { [K in AttributeName]?: number };

/** What a Write-Attributes query asks for: a number sets an attribute, null removes it (`?pmin`). */
export type AttributeChange = { [K in AttributeName]?: number | null };

/** Whole seconds, non-negative (pmin, pmax, epmin, epmax). */
const PERIODS: ReadonlySet<AttributeName> = new Set(['pmin', 'pmax', 'epmin', 'epmax']);
/** Thresholds, only on numeric resources (gt, lt, st). */
const THRESHOLDS: readonly AttributeName[] = ['gt', 'lt', 'st'];
const NUMERIC_TYPES: ReadonlySet<ResourceType> = new Set(['integer', 'unsigned', 'float']);
/** More query options than attributes exist is not a Write-Attributes request. */
const MAX_QUERY_OPTIONS = 16;

function isAttributeName(name: string): name is AttributeName {
    return (ATTRIBUTE_NAMES as readonly string[]).includes(name);
}

/**
 * Reads the Uri-Query options of a Write-Attributes request (Core §5.1.2; §6.3 Write-Attributes):
 * `pmin=10`, `gt=12.5`, `pmax` (no value: remove the attribute). Periods are decimal integers;
 * gt/lt/st decimal numbers (a leading minus is accepted for gt/lt: thresholds of negative
 * quantities). Unknown names, repeated names, empty or bad numbers throw Lwm2mError('malformed').
 */
export function parseAttributeQuery(query: readonly string[]): AttributeChange {
    if (!Array.isArray(query)) throw new Lwm2mError('malformed', 'attribute query is a list of name=value options');
    if (query.length > MAX_QUERY_OPTIONS)
        throw new Lwm2mError('malformed', `${query.length} query options; at most ${MAX_QUERY_OPTIONS}`);
    const change: AttributeChange = {};
    for (const option of query) {
        if (typeof option !== 'string' || option.length > 64)
            throw new Lwm2mError('malformed', 'an attribute option is name[=value] of at most 64 characters');
        const eq = option.indexOf('=');
        const name = eq < 0 ? option : option.slice(0, eq);
        if (!isAttributeName(name))
            throw new Lwm2mError(
                'malformed',
                `'${name.slice(0, 20)}' is not a notification attribute (${ATTRIBUTE_NAMES.join(', ')})`,
            );
        if (Object.hasOwn(change, name)) throw new Lwm2mError('malformed', `${name} is given twice`);
        if (eq < 0) {
            change[name] = null;
            continue;
        }
        const text = option.slice(eq + 1);
        if (PERIODS.has(name)) {
            if (!/^[0-9]{1,10}$/.test(text))
                throw new Lwm2mError('malformed', `${name}='${text.slice(0, 20)}' is not a whole number of seconds`);
            change[name] = Number(text);
        } else {
            const pattern = name === 'st' ? /^[0-9]{1,20}(\.[0-9]{1,20})?$/ : /^-?[0-9]{1,20}(\.[0-9]{1,20})?$/;
            if (!pattern.test(text))
                throw new Lwm2mError('malformed', `${name}='${text.slice(0, 20)}' is not a decimal number`);
            change[name] = Number(text);
        }
    }
    return change;
}

/** A number as the query writes it: plain decimal, never exponent notation. */
function decimal(name: AttributeName, n: number): string {
    if (!Number.isFinite(n)) throw new Lwm2mError('wrong-type', `${name} must be a finite number, not ${n}`);
    if (PERIODS.has(name)) {
        if (!Number.isInteger(n) || n < 0)
            throw new Lwm2mError('wrong-type', `${name} must be a whole number of seconds ≥ 0, not ${n}`);
        return String(n);
    }
    const s = String(n);
    if (!/e/i.test(s)) return s;
    // toFixed gives up to 100 fraction digits; trim trailing zeros.
    const fixed = Math.abs(n) >= 1e21 ? BigInt(Math.round(n)).toString() : n.toFixed(20);
    return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** The Uri-Query options of a Write-Attributes request for `change` (the server side), in attribute order. */
export function formatAttributeQuery(change: AttributeChange): string[] {
    const out: string[] = [];
    for (const name of ATTRIBUTE_NAMES) {
        if (!Object.hasOwn(change, name)) continue;
        const v = change[name];
        if (v === undefined) continue;
        out.push(v === null ? name : `${name}=${decimal(name, v)}`);
    }
    for (const k of Object.keys(change)) {
        if (!isAttributeName(k)) throw new Lwm2mError('wrong-type', `'${k}' is not a notification attribute`);
    }
    return out;
}

/** `current` with the change applied: numbers set, nulls remove. Returns a new object. */
export function mergeAttributes(current: Attributes | undefined, change: AttributeChange): Attributes {
    const out: Attributes = { ...(current ?? {}) };
    for (const name of ATTRIBUTE_NAMES) {
        if (!Object.hasOwn(change, name)) continue;
        const v = change[name];
        if (v === null) delete out[name];
        else if (v !== undefined) out[name] = v;
    }
    return out;
}

/**
 * Checks the attributes attached to one level (Core §5.1.2): pmin/pmax/epmin/epmax whole numbers
 * ≥ 0; pmax ≥ pmin and epmax ≥ epmin when both are present; gt/lt/st finite, st > 0, lt < gt and
 * lt + 2·st < gt. gt/lt/st only at resource level, on a numeric resource: pass the resource's type
 * for a resource (or resource instance) target, undefined for an object or instance target.
 * Throws Lwm2mError('bad-value').
 */
export function validateAttributes(attrs: Attributes, resourceType?: ResourceType): void {
    for (const name of Object.keys(attrs)) {
        if (!isAttributeName(name)) throw new Lwm2mError('bad-value', `'${name}' is not a notification attribute`);
        const v = attrs[name];
        if (v === undefined) continue;
        if (typeof v !== 'number' || !Number.isFinite(v))
            throw new Lwm2mError('bad-value', `${name} must be a finite number, not ${String(v)}`);
        if (PERIODS.has(name) && (!Number.isInteger(v) || v < 0))
            throw new Lwm2mError('bad-value', `${name} must be a whole number of seconds ≥ 0, not ${v}`);
    }
    const { pmin, pmax, epmin, epmax, gt, lt, st } = attrs;
    if (pmin !== undefined && pmax !== undefined && pmax < pmin)
        throw new Lwm2mError('bad-value', `pmax ${pmax} is less than pmin ${pmin}`);
    if (epmin !== undefined && epmax !== undefined && epmax < epmin)
        throw new Lwm2mError('bad-value', `epmax ${epmax} is less than epmin ${epmin}`);
    const thresholds = THRESHOLDS.filter((n) => attrs[n] !== undefined);
    if (thresholds.length > 0) {
        if (resourceType === undefined)
            throw new Lwm2mError('bad-value', `${thresholds.join(', ')} may only be attached to a resource`);
        if (!NUMERIC_TYPES.has(resourceType))
            throw new Lwm2mError(
                'bad-value',
                `${thresholds.join(', ')} only apply to numeric resources, not to a ${resourceType} resource`,
            );
    }
    if (st !== undefined && st <= 0) throw new Lwm2mError('bad-value', `st must be greater than 0, not ${st}`);
    if (gt !== undefined && lt !== undefined) {
        if (!(lt < gt)) throw new Lwm2mError('bad-value', `lt ${lt} must be less than gt ${gt}`);
        if (st !== undefined && !(lt + 2 * st < gt))
            throw new Lwm2mError('bad-value', `lt + 2·st (${lt + 2 * st}) must be less than gt ${gt}`);
    }
}

/**
 * The attributes in effect for an observation (Core §5.1.2: attributes are inherited from object
 * to instance to resource; the lower level wins, attribute by attribute). pmin/pmax not set at any
 * level come from the server's defaults (/1/x/2 Default Minimum Period, /1/x/3 Default Maximum
 * Period). Resource-instance attributes, when kept, are merged over the resource level by the caller.
 */
export function effectiveAttributes(
    objectLevel: Attributes | undefined,
    instanceLevel: Attributes | undefined,
    resourceLevel: Attributes | undefined,
    serverDefaults: { pmin?: number; pmax?: number } = {},
): Attributes {
    const out: Attributes = {};
    if (serverDefaults.pmin !== undefined) out.pmin = serverDefaults.pmin;
    if (serverDefaults.pmax !== undefined) out.pmax = serverDefaults.pmax;
    for (const level of [objectLevel, instanceLevel, resourceLevel]) {
        if (!level) continue;
        for (const name of ATTRIBUTE_NAMES) {
            const v = level[name];
            if (v !== undefined) out[name] = v;
        }
    }
    return out;
}

// ---- the notification gate ---------------------------------------------------------------------

/** What the gate asks of its owner after an event. */
export interface GateDecision {
    /** Send a notification now (with the gate's current value), then call sent(). */
    send: boolean;
    /** When not sending: the clock time (ms) at which due() should be called next; absent = no timer needed. */
    wakeAt?: number;
}

function numeric(v: ResourceValue): number | undefined {
    if (typeof v === 'number') return Number.isNaN(v) ? undefined : v;
    if (typeof v === 'bigint') return Number(v);
    return undefined;
}

/** Value equality for resource values (bytes, dates and object links by content). */
export function sameValue(a: ResourceValue, b: ResourceValue): boolean {
    if (a === b) return true;
    if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
    if (a instanceof Uint8Array && b instanceof Uint8Array)
        return a.length === b.length && a.every((x, i) => x === b[i]);
    if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
    if (a && b && typeof a === 'object' && typeof b === 'object' && !(a instanceof Uint8Array) && !(b instanceof Date))
        return (
            'objectId' in a &&
            'objectId' in b &&
            a.objectId === b.objectId &&
            (a as { instanceId: number }).instanceId === (b as { instanceId: number }).instanceId
        );
    return false;
}

/**
 * When one observation notifies (Core §5.1.2 and §6.4 Observe; design note B.1.4). Pure: the
 * owner passes the clock (milliseconds) into every call and arms a timer for `wakeAt`.
 *
 * - A value counts as a change when it differs from the last notified value; for a numeric value
 *   with gt, lt or st in effect it counts only when it crossed gt or lt (either direction) or moved
 *   by at least st from the last notified value.
 * - A change is notified once pmin has elapsed since the last notification; a change inside pmin is
 *   remembered and sent at last + pmin (the value then current is sent).
 * - pmax > 0: a notification goes out when pmax has elapsed since the last one, changed or not.
 *   pmax less than pmin (possible after inheritance) is ignored; pmax 0 or absent: no periodic one.
 * - epmin: values arriving less than epmin after the last evaluation are evaluated at last + epmin.
 *   epmax: sampleAt() says when the owner should next read the value and call change().
 *
 * The observe response itself is the first notification: the constructor takes its time and value.
 */
export class NotifyGate {
    private readonly pminMs: number;
    private readonly pmaxMs: number;
    private readonly epminMs: number;
    private readonly epmaxMs: number;
    private readonly gt: number | undefined;
    private readonly lt: number | undefined;
    private readonly st: number | undefined;
    private lastSentAt: number;
    private lastSent: ResourceValue;
    private lastEvalAt: number;
    private current: ResourceValue;
    /** A qualifying change waits for pmin. */
    private pending = false;
    /** A value arrived inside epmin and waits for its evaluation. */
    private unevaluated = false;

    constructor(attrs: Attributes, now: number, initialValue: ResourceValue) {
        const secs = (n: number | undefined) => (n !== undefined && Number.isFinite(n) && n > 0 ? n * 1000 : 0);
        this.pminMs = secs(attrs.pmin);
        const pmax = secs(attrs.pmax);
        this.pmaxMs = pmax > 0 && pmax >= this.pminMs ? pmax : 0;
        this.epminMs = secs(attrs.epmin);
        this.epmaxMs = secs(attrs.epmax);
        this.gt = attrs.gt;
        this.lt = attrs.lt;
        this.st = attrs.st;
        this.lastSentAt = now;
        this.lastSent = initialValue;
        this.lastEvalAt = now;
        this.current = initialValue;
    }

    /** The value a notification sent now carries. */
    get value(): ResourceValue {
        return this.current;
    }

    /** Whether `value` is a change worth notifying against the last notified value. */
    qualifies(value: ResourceValue): boolean {
        const thresholds = this.gt !== undefined || this.lt !== undefined || this.st !== undefined;
        const v = numeric(value);
        const last = numeric(this.lastSent);
        if (!thresholds || v === undefined || last === undefined) return !sameValue(value, this.lastSent);
        if (this.gt !== undefined && v > this.gt !== last > this.gt) return true;
        if (this.lt !== undefined && v < this.lt !== last < this.lt) return true;
        if (this.st !== undefined && Math.abs(v - last) >= this.st) return true;
        return false;
    }

    /** A new value of the observed resource at `now`. */
    change(value: ResourceValue, now: number): GateDecision {
        this.current = value;
        if (this.epminMs > 0 && now - this.lastEvalAt < this.epminMs) {
            this.unevaluated = true;
            return this.decide(now);
        }
        this.evaluate(now);
        return this.decide(now);
    }

    /** The timer fired (or the owner polls): whether to notify now, and when to look again. */
    due(now: number): GateDecision & { value?: ResourceValue } {
        if (this.unevaluated && now - this.lastEvalAt >= this.epminMs) this.evaluate(now);
        const d = this.decide(now);
        return d.send ? { ...d, value: this.current } : d;
    }

    /** The owner sent a notification carrying `value` at `now`. Returns when to call due() next. */
    sent(value: ResourceValue, now: number): GateDecision {
        this.lastSent = value;
        this.lastSentAt = now;
        this.current = value;
        this.pending = false;
        return { send: false, ...this.nextWake() };
    }

    /** When the owner should next sample the value for epmax (ms), or undefined without epmax. */
    sampleAt(): number | undefined {
        return this.epmaxMs > 0 ? this.lastEvalAt + this.epmaxMs : undefined;
    }

    private evaluate(now: number): void {
        this.unevaluated = false;
        this.lastEvalAt = now;
        if (this.qualifies(this.current)) this.pending = true;
    }

    private decide(now: number): GateDecision {
        if (this.pending && now - this.lastSentAt >= this.pminMs) return { send: true };
        if (this.pmaxMs > 0 && now - this.lastSentAt >= this.pmaxMs) return { send: true };
        return { send: false, ...this.nextWake() };
    }

    private nextWake(): { wakeAt?: number } {
        const times: number[] = [];
        if (this.pending) times.push(this.lastSentAt + this.pminMs);
        if (this.unevaluated) times.push(Math.max(this.lastEvalAt + this.epminMs, this.lastSentAt + this.pminMs));
        if (this.pmaxMs > 0) times.push(this.lastSentAt + this.pmaxMs);
        return times.length > 0 ? { wakeAt: Math.min(...times) } : {};
    }
}
