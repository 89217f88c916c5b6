import type { ObjectDefinition, ResourceDefinition } from './ddf';
import { Lwm2mError } from './errors';
import { OBJECTS } from './objects';
import {
    SMART_LOAD_RULE_RESOURCES,
    SMART_LOAD_RULE_TYPES,
    SPMP_OBJECT_IDS,
    type SpmpObjectIds,
    spmpObjects,
} from './spmp';

/**
 * The SPMP smart-load rules engine: pure state, no timers, no I/O, clock injected.
 *
 * The caller feeds port-voltage samples to evaluate() and carries out the actions it returns
 * (LwM2M Writes, NETCONF edits …). One engine watches one voltage (one port).
 *
 * Semantics, per enabled rule (type 0 = falls below, 1 = rises above; SMART_LOAD_RULE_TYPES):
 * - apply: a rule that is not applied applies when the voltage is beyond the threshold
 *   (type 0: v < threshold; type 1: v > threshold). This is level-triggered: a first sample that is
 *   already beyond the threshold applies the rule too.
 * - restore: an applied rule restores when the voltage has recovered past the hysteresis band
 *   (type 0: v ≥ threshold + hysteresis; type 1: v ≤ threshold − hysteresis) and at least
 *   holdTime seconds have passed since it applied. Inside the band nothing changes. A recovery
 *   during the hold time is not forgotten: the restore is returned by the first evaluate() or
 *   check() at or after the end of the hold time, provided the latest voltage is still recovered;
 *   nextCheckAt() tells when that is.
 * - NaN and ±Infinity samples are ignored: no action, and they are not remembered as the latest
 *   voltage.
 * - Within one call, restores come first (in reverse order of application), then applies (in
 *   order of rule instance ID), so the caller can carry them out in order.
 *
 * Previous values: an apply to a target no other applied rule holds captures the target's current
 * value as the value to restore, from the constructor's readTarget callback, or later from
 * remember(ruleId, value) (which wins). Restore actions carry that value; `value` is undefined when
 * it was never supplied, and the caller then decides what to write (if anything).
 *
 * Several rules on one target: the target's value is that of the most recently applied rule
 * still applied; the value captured before the first apply is kept until the last of them
 * restores. When a rule restores while others still hold the target, its restore action carries
 * the value of the most recent remaining rule (the value the target should go back to); when the
 * last one restores, the captured original.
 */

/** A value a rule writes: the JavaScript form of a String, Integer, Float, Boolean or Time resource. */
export type RuleValue = string | number | boolean;

export interface RuleTarget {
    objectId: number;
    instanceId: number;
    resourceId: number;
}

/** One rule: the content of one Smart Load Rules object instance. */
export interface SmartLoadRule {
    /** Volts. */
    threshold: number;
    /** 0: applies while the voltage is below the threshold; 1: while above (SMART_LOAD_RULE_TYPES). */
    type: 0 | 1;
    target: RuleTarget;
    value: RuleValue;
    /** Volts, ≥ 0; default DEFAULT_HYSTERESIS. */
    hysteresis?: number;
    /** Seconds, ≥ 0; default 0. */
    holdTime?: number;
    /** Default true. */
    enabled?: boolean;
}

export interface RuleApplyAction {
    kind: 'apply';
    /** The rule's instance ID. */
    ruleId: number;
    target: RuleTarget;
    /** What to write to the target. */
    value: RuleValue;
    /** The value the target had, when known (readTarget, or the value of the rule that held it). */
    previous?: RuleValue;
}

export interface RuleRestoreAction {
    kind: 'restore';
    ruleId: number;
    target: RuleTarget;
    /** What to write back; undefined when the original value was never supplied. */
    value: RuleValue | undefined;
}

export type RuleAction = RuleApplyAction | RuleRestoreAction;

export interface SmartLoadRulesOptions {
    /** Clock in milliseconds (default Date.now). */
    now?: () => number;
    /** Current value of a target, asked once when a rule applies to a target no rule holds. */
    readTarget?: (target: RuleTarget) => RuleValue | undefined;
}

/** Hysteresis when a rule gives none, in volts. */
export const DEFAULT_HYSTERESIS = 0.2;

/** A rule or a Rules object instance that cannot be used; `resourceId` names the resource at fault. */
export class SmartLoadRuleError extends Lwm2mError {
    readonly resourceId: number | undefined;

    constructor(message: string, resourceId?: number) {
        super('bad-value', message);
        this.name = 'SmartLoadRuleError';
        this.resourceId = resourceId;
    }
}

interface RuleState {
    rule: Required<SmartLoadRule>;
    applied: boolean;
    appliedAt: number;
    /** Order of application, for restoring in reverse. */
    seq: number;
}

interface TargetState {
    /** Applied rules holding the target, oldest first. */
    holders: number[];
    original: RuleValue | undefined;
}

const keyOf = (t: RuleTarget) => `${t.objectId}/${t.instanceId}/${t.resourceId}`;

const isId = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65534;

const isRuleValue = (v: unknown): v is RuleValue =>
    typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** Checks a rule and fills in its defaults; throws SmartLoadRuleError. */
function normalise(rule: SmartLoadRule): Required<SmartLoadRule> {
    const res = SMART_LOAD_RULE_RESOURCES;
    if (typeof rule.threshold !== 'number' || !Number.isFinite(rule.threshold))
        throw new SmartLoadRuleError(
            `rule threshold ${String(rule.threshold)} is not a number of volts`,
            res.voltageThreshold,
        );
    if (rule.type !== 0 && rule.type !== 1)
        throw new SmartLoadRuleError(
            `rule type ${String(rule.type)} is not 0 (falls below) or 1 (rises above)`,
            res.type,
        );
    const t = rule.target;
    if (!t || !isId(t.objectId) || !isId(t.instanceId) || !isId(t.resourceId))
        throw new SmartLoadRuleError('rule target needs object, instance and resource IDs of 0..65534', res.objectId);
    if (!isRuleValue(rule.value))
        throw new SmartLoadRuleError(
            `rule value ${String(rule.value)} is not text, a finite number or a boolean`,
            res.value,
        );
    const hysteresis = rule.hysteresis ?? DEFAULT_HYSTERESIS;
    if (typeof hysteresis !== 'number' || !Number.isFinite(hysteresis) || hysteresis < 0)
        throw new SmartLoadRuleError(
            `rule hysteresis ${String(hysteresis)} is not a number of volts ≥ 0`,
            res.hysteresis,
        );
    const holdTime = rule.holdTime ?? 0;
    if (typeof holdTime !== 'number' || !Number.isFinite(holdTime) || holdTime < 0)
        throw new SmartLoadRuleError(`rule hold time ${String(holdTime)} is not a number of seconds ≥ 0`, res.holdTime);
    const enabled = rule.enabled ?? true;
    if (typeof enabled !== 'boolean') throw new SmartLoadRuleError('rule enabled is not a boolean', res.enabled);
    return {
        threshold: rule.threshold,
        type: rule.type,
        target: { objectId: t.objectId, instanceId: t.instanceId, resourceId: t.resourceId },
        value: rule.value,
        hysteresis,
        holdTime,
        enabled,
    };
}

function beyond(rule: Required<SmartLoadRule>, v: number): boolean {
    return rule.type === SMART_LOAD_RULE_TYPES.fallsBelow ? v < rule.threshold : v > rule.threshold;
}

function recovered(rule: Required<SmartLoadRule>, v: number): boolean {
    return rule.type === SMART_LOAD_RULE_TYPES.fallsBelow
        ? v >= rule.threshold + rule.hysteresis
        : v <= rule.threshold - rule.hysteresis;
}

/** The rules of one port; see the module comment for the semantics. */
export class SmartLoadRules {
    private readonly now: () => number;
    private readonly readTarget: ((target: RuleTarget) => RuleValue | undefined) | undefined;
    private readonly rules = new Map<number, RuleState>();
    private readonly targets = new Map<string, TargetState>();
    private lastVoltage: number | undefined;
    private seq = 0;

    constructor(opts: SmartLoadRulesOptions = {}) {
        this.now = opts.now ?? Date.now;
        this.readTarget = opts.readTarget;
    }

    /**
     * Adds or replaces the rule of a Rules instance (throws SmartLoadRuleError for a bad rule). A
     * replaced rule that was applied is released first and its restore action returned; the new
     * rule starts unapplied and applies at the next evaluate() or check() if the voltage calls for it.
     */
    setRule(instanceId: number, rule: SmartLoadRule): RuleAction[] {
        if (!isId(instanceId))
            throw new SmartLoadRuleError(`rule instance ID ${String(instanceId)} is not of 0..65534`);
        const normal = normalise(rule);
        const actions = this.release(instanceId);
        this.rules.set(instanceId, { rule: normal, applied: false, appliedAt: 0, seq: 0 });
        return actions;
    }

    /**
     * Forgets a rule and returns nothing to do: the target keeps whatever was written. Call
     * release() first to get the restore action of an applied rule. Returns whether it existed.
     */
    removeRule(instanceId: number): boolean {
        const state = this.rules.get(instanceId);
        if (!state) return false;
        if (state.applied) this.dropHolder(instanceId, state);
        this.rules.delete(instanceId);
        return true;
    }

    /**
     * Restores an applied rule now, ignoring voltage and hold time; [] when it is not applied. The
     * rule stays registered and may apply again at the next evaluate().
     */
    release(instanceId: number): RuleAction[] {
        const state = this.rules.get(instanceId);
        if (!state?.applied) return [];
        return [this.restore(instanceId, state)];
    }

    /**
     * Supplies the value a target had before `ruleId` applied (when no readTarget callback is
     * given, or to correct it). Accepted only while the rule is applied and was the first to take
     * its target; returns whether it was accepted.
     */
    remember(ruleId: number, previous: RuleValue): boolean {
        const state = this.rules.get(ruleId);
        if (!state?.applied || !isRuleValue(previous)) return false;
        const target = this.targets.get(keyOf(state.rule.target));
        if (!target || target.holders[0] !== ruleId) return false;
        target.original = previous;
        return true;
    }

    /** The rule of an instance (with defaults filled in) and whether it is applied. */
    get(instanceId: number): { rule: Required<SmartLoadRule>; applied: boolean } | undefined {
        const state = this.rules.get(instanceId);
        return state && { rule: state.rule, applied: state.applied };
    }

    /** Latest finite voltage given to evaluate(). */
    get voltage(): number | undefined {
        return this.lastVoltage;
    }

    /** Feeds one voltage sample (volts) taken at `at` (ms, default now()) and returns what to do. */
    evaluate(voltage: number, at: number = this.now()): RuleAction[] {
        if (typeof voltage !== 'number' || !Number.isFinite(voltage)) return [];
        this.lastVoltage = voltage;
        return this.run(voltage, at);
    }

    /** Re-evaluates the latest voltage at `at` (default now()): for deferred restores and new rules. */
    check(at: number = this.now()): RuleAction[] {
        return this.lastVoltage === undefined ? [] : this.run(this.lastVoltage, at);
    }

    /**
     * When check() (or evaluate()) should next be called for a restore held back by a hold time,
     * in ms; undefined when none is waiting.
     */
    nextCheckAt(): number | undefined {
        const v = this.lastVoltage;
        if (v === undefined) return undefined;
        let next: number | undefined;
        for (const s of this.rules.values()) {
            if (!s.applied || !recovered(s.rule, v)) continue;
            const due = s.appliedAt + s.rule.holdTime * 1000;
            if (next === undefined || due < next) next = due;
        }
        return next;
    }

    private run(v: number, at: number): RuleAction[] {
        const actions: RuleAction[] = [];
        const restored = new Map<string, RuleValue | undefined>();
        const ids = [...this.rules.keys()].sort((a, b) => a - b);
        const toRestore = ids
            .map((id) => [id, this.rules.get(id) as RuleState] as const)
            .filter(([, s]) => s.applied && recovered(s.rule, v) && at >= s.appliedAt + s.rule.holdTime * 1000)
            .sort(([, a], [, b]) => b.seq - a.seq);
        for (const [id, s] of toRestore) {
            const action = this.restore(id, s);
            if (!this.targets.has(keyOf(s.rule.target))) restored.set(keyOf(s.rule.target), action.value);
            actions.push(action);
        }
        for (const id of ids) {
            const s = this.rules.get(id) as RuleState;
            if (!s.rule.enabled || s.applied || !beyond(s.rule, v)) continue;
            actions.push(this.apply(id, s, at, restored));
        }
        return actions;
    }

    private apply(id: number, s: RuleState, at: number, restored: Map<string, RuleValue | undefined>): RuleApplyAction {
        const key = keyOf(s.rule.target);
        let target = this.targets.get(key);
        let previous: RuleValue | undefined;
        if (target) {
            const top = this.rules.get(target.holders[target.holders.length - 1] as number);
            previous = top?.rule.value;
        } else {
            // A target released in this same call still shows its applied value to a reader, so the
            // value just restored is the one to keep.
            previous = restored.has(key) ? restored.get(key) : this.readTarget?.(s.rule.target);
            if (previous !== undefined && !isRuleValue(previous)) previous = undefined;
            target = { holders: [], original: previous };
            this.targets.set(key, target);
        }
        target.holders.push(id);
        s.applied = true;
        s.appliedAt = at;
        s.seq = ++this.seq;
        const action: RuleApplyAction = {
            kind: 'apply',
            ruleId: id,
            target: { ...s.rule.target },
            value: s.rule.value,
        };
        if (previous !== undefined) action.previous = previous;
        return action;
    }

    private restore(id: number, s: RuleState): RuleRestoreAction {
        const target = this.targets.get(keyOf(s.rule.target));
        let value: RuleValue | undefined;
        if (target) {
            target.holders = target.holders.filter((h) => h !== id);
            const top = target.holders[target.holders.length - 1];
            if (top === undefined) {
                value = target.original;
                this.targets.delete(keyOf(s.rule.target));
            } else {
                value = this.rules.get(top)?.rule.value;
            }
        }
        s.applied = false;
        return { kind: 'restore', ruleId: id, target: { ...s.rule.target }, value };
    }

    private dropHolder(id: number, s: RuleState): void {
        const key = keyOf(s.rule.target);
        const target = this.targets.get(key);
        if (!target) return;
        target.holders = target.holders.filter((h) => h !== id);
        if (target.holders.length === 0) this.targets.delete(key);
        s.applied = false;
    }
}

/** Options of ruleFromResources. */
export interface RuleFromResourcesOptions {
    /**
     * Object definitions a target must be found in (default: the built-in objects plus the SPMP
     * objects with `ids`).
     */
    objects?: ReadonlyMap<number, ObjectDefinition>;
    /** SPMP object IDs for the default `objects` (default SPMP_OBJECT_IDS). */
    ids?: SpmpObjectIds;
}

const RES_NAMES: Readonly<Record<number, string>> = {
    [SMART_LOAD_RULE_RESOURCES.voltageThreshold]: 'Voltage Threshold',
    [SMART_LOAD_RULE_RESOURCES.objectId]: 'Object ID',
    [SMART_LOAD_RULE_RESOURCES.instanceId]: 'Object Instance ID',
    [SMART_LOAD_RULE_RESOURCES.resourceId]: 'Resource ID',
    [SMART_LOAD_RULE_RESOURCES.value]: 'Value',
    [SMART_LOAD_RULE_RESOURCES.type]: 'Type',
    [SMART_LOAD_RULE_RESOURCES.hysteresis]: 'Hysteresis',
    [SMART_LOAD_RULE_RESOURCES.holdTime]: 'Minimum Hold Time',
    [SMART_LOAD_RULE_RESOURCES.enabled]: 'Enabled',
};

function fail(resourceId: number, message: string): never {
    throw new SmartLoadRuleError(
        `Smart Load Rules resource ${resourceId} (${RES_NAMES[resourceId] ?? '?'}): ${message}`,
        resourceId,
    );
}

function show(v: unknown): string {
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return `${v.length} bytes`;
    if (v === null || typeof v !== 'object') return String(v);
    return 'an object';
}

function integerOf(values: Record<number, unknown>, id: number, min: number, max: number, optional = false) {
    const v = values[id];
    if (v === undefined) {
        if (optional) return undefined;
        fail(id, 'is missing');
    }
    let n: number;
    if (typeof v === 'bigint') n = Number(v);
    else if (typeof v === 'number' && Number.isInteger(v)) n = v;
    else fail(id, `${show(v)} is not an integer`);
    if (n < min || n > max) fail(id, `${n} is not in ${min}..${max}`);
    return n;
}

function floatOf(values: Record<number, unknown>, id: number, optional = false): number | undefined {
    const v = values[id];
    if (v === undefined) {
        if (optional) return undefined;
        fail(id, 'is missing');
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(id, `${show(v)} is not a finite number`);
    return v;
}

const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER_TEXT = /^[+-]?\d+$/;
const RANGE = /^([+-]?\d+(?:\.\d+)?)\.\.([+-]?\d+(?:\.\d+)?)$/;

/** Converts Value text to the target resource's type, inside its range when the range is numeric. */
function targetValue(text: string, def: ResourceDefinition, where: string): RuleValue {
    const id = SMART_LOAD_RULE_RESOURCES.value;
    let value: RuleValue;
    switch (def.type) {
        case 'string':
            return text;
        case 'boolean':
            if (text === 'true' || text === '1') return true;
            if (text === 'false' || text === '0') return false;
            return fail(id, `${show(text)} is not a boolean (true, false, 1 or 0) for ${where}`);
        case 'integer':
        case 'unsigned':
        case 'time':
            if (!INTEGER_TEXT.test(text)) fail(id, `${show(text)} is not an integer for ${where}`);
            value = Number(text);
            if (!Number.isSafeInteger(value)) fail(id, `${show(text)} is too large for ${where}`);
            if (def.type !== 'integer' && value < 0) fail(id, `${show(text)} is negative, but ${where} is ${def.type}`);
            break;
        case 'float':
            if (!NUMBER_TEXT.test(text)) fail(id, `${show(text)} is not a number for ${where}`);
            value = Number(text);
            if (!Number.isFinite(value)) fail(id, `${show(text)} is out of range for ${where}`);
            break;
        default:
            return fail(id, `${where} has type ${def.type}, which a rule cannot write`);
    }
    const m = def.range ? RANGE.exec(def.range) : null;
    if (m && (value < Number(m[1]) || value > Number(m[2]))) fail(id, `${value} is outside ${def.range} of ${where}`);
    return value;
}

/**
 * Builds a rule from the resource values of one Smart Load Rules instance, keyed by resource ID
 * (SMART_LOAD_RULE_RESOURCES), as the LwM2M decoders give them: numbers or bigints for integers,
 * numbers for floats, booleans, and text (or UTF-8 bytes, since the draft typed it Opaque) for
 * Value. The target must be a writable single-instance String, Integer, Unsigned Integer, Float,
 * Boolean or Time resource of a known object; Value is converted to its type. Throws
 * SmartLoadRuleError naming the resource at fault.
 */
export function ruleFromResources(values: Record<number, unknown>, opts: RuleFromResourcesOptions = {}): SmartLoadRule {
    const R = SMART_LOAD_RULE_RESOURCES;
    const objects = opts.objects ?? new Map([...OBJECTS, ...spmpObjects(opts.ids ?? SPMP_OBJECT_IDS)]);
    const threshold = floatOf(values, R.voltageThreshold) as number;
    const type = integerOf(values, R.type, 0, 1) as 0 | 1;
    const objectId = integerOf(values, R.objectId, 0, 65534) as number;
    const instanceId = integerOf(values, R.instanceId, 0, 65534) as number;
    const resourceId = integerOf(values, R.resourceId, 0, 65534) as number;
    const object = objects.get(objectId);
    if (!object) fail(R.objectId, `object ${objectId} is not a known object definition`);
    const def = object.resources.find((r) => r.id === resourceId);
    const where = `/${objectId}/${instanceId}/${resourceId}`;
    if (!def) fail(R.resourceId, `object ${objectId} (${object.name}) has no resource ${resourceId}`);
    const what = `${where} (${object.name} ${def.name})`;
    if (def.operations !== 'W' && def.operations !== 'RW') fail(R.resourceId, `${what} is not writable`);
    if (def.multiple) fail(R.resourceId, `${what} is a multiple-instance resource`);
    let raw = values[R.value];
    if (raw === undefined) fail(R.value, 'is missing');
    if (raw instanceof Uint8Array) {
        try {
            raw = new TextDecoder('utf-8', { fatal: true }).decode(raw);
        } catch {
            fail(R.value, 'bytes are not UTF-8 text');
        }
    }
    if (typeof raw !== 'string') fail(R.value, `${show(raw)} is not text`);
    const value = targetValue(raw, def, what);
    const rule: SmartLoadRule = { threshold, type, target: { objectId, instanceId, resourceId }, value };
    const hysteresis = floatOf(values, R.hysteresis, true);
    if (hysteresis !== undefined) {
        if (hysteresis < 0) fail(R.hysteresis, `${hysteresis} is negative`);
        rule.hysteresis = hysteresis;
    }
    const holdTime = integerOf(values, R.holdTime, 0, 86400, true);
    if (holdTime !== undefined) rule.holdTime = holdTime;
    const enabled = values[R.enabled];
    if (enabled !== undefined) {
        if (typeof enabled !== 'boolean') fail(R.enabled, `${show(enabled)} is not a boolean`);
        rule.enabled = enabled;
    }
    return rule;
}
