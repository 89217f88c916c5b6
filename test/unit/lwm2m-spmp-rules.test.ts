/** The SPMP smart-load rules engine (pure, injected clock) and the Rules-object conversion. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Lwm2mError } from '../../src/protocols/lwm2m';
import { SPMP_OBJECT_IDS } from '../../src/protocols/lwm2m/spmp';
import {
    DEFAULT_HYSTERESIS,
    type RuleAction,
    type RuleValue,
    ruleFromResources,
    type SmartLoadRule,
    SmartLoadRuleError,
    SmartLoadRules,
} from '../../src/protocols/lwm2m/spmp-rules';

const BTS = SPMP_OBJECT_IDS.smartLoadBts;
const LTE = { objectId: BTS, instanceId: 0, resourceId: 5 };
const RF = { objectId: BTS, instanceId: 0, resourceId: 11 };

/** A clock the test moves by hand (ms). */
function clock(start = 1_000_000) {
    let t = start;
    return {
        now: () => t,
        advance: (s: number) => {
            t += s * 1000;
        },
    };
}

/** Below 12.0 V switch LTE data off (type 0). */
const lteOff = (extra: Partial<SmartLoadRule> = {}): SmartLoadRule => ({
    threshold: 12.0,
    type: 0,
    target: LTE,
    value: false,
    ...extra,
});

const brief = (actions: RuleAction[]) => actions.map((a) => [a.kind, a.ruleId, a.value]);

describe('SmartLoadRules: crossing and hysteresis', () => {
    test('falling below the threshold applies, recovering past the band restores the previous value', () => {
        const c = clock();
        const reads: unknown[] = [];
        const rules = new SmartLoadRules({
            now: c.now,
            readTarget: (t) => {
                reads.push(t);
                return true;
            },
        });
        assert.deepEqual(rules.setRule(1, lteOff()), []);
        assert.deepEqual(rules.evaluate(12.5), []);
        assert.deepEqual(rules.evaluate(12.0), [], 'at the threshold is not below it');
        assert.deepEqual(rules.evaluate(11.9), [
            { kind: 'apply', ruleId: 1, target: LTE, value: false, previous: true },
        ]);
        assert.deepEqual(reads, [LTE]);
        assert.deepEqual(rules.evaluate(11.5), [], 'already applied: nothing new');
        assert.deepEqual(rules.evaluate(12.2), [{ kind: 'restore', ruleId: 1, target: LTE, value: true }]);
        assert.equal(rules.get(1)?.applied, false);
    });

    test('type 1 applies above the threshold and restores at or below threshold − hysteresis', () => {
        const rules = new SmartLoadRules({ now: () => 0 });
        rules.setRule(3, { threshold: 14.4, type: 1, target: RF, value: 43, hysteresis: 0.5 });
        assert.deepEqual(rules.evaluate(14.4), []);
        assert.deepEqual(brief(rules.evaluate(14.5)), [['apply', 3, 43]]);
        assert.deepEqual(rules.evaluate(14.0), [], 'inside the 0.5 V band');
        assert.deepEqual(brief(rules.evaluate(13.9)), [['restore', 3, undefined]], 'previous never supplied');
    });

    test('no restore anywhere inside the hysteresis band', () => {
        const rules = new SmartLoadRules({ now: () => 0 });
        rules.setRule(1, lteOff({ hysteresis: 0.5 }));
        rules.evaluate(11);
        rules.remember(1, true);
        for (const v of [12.0, 12.1, 12.25, 12.49, 12.499]) assert.deepEqual(rules.evaluate(v), [], `${v} V`);
        assert.deepEqual(brief(rules.evaluate(12.5)), [['restore', 1, true]]);
    });

    test('the default hysteresis is 0.2 V', () => {
        assert.equal(DEFAULT_HYSTERESIS, 0.2);
        const rules = new SmartLoadRules({ now: () => 0 });
        rules.setRule(1, lteOff());
        rules.evaluate(11);
        assert.deepEqual(rules.evaluate(12.19), []);
        assert.equal(rules.evaluate(12.2).length, 1);
    });

    test('a first sample already beyond the threshold applies (level-triggered)', () => {
        const rules = new SmartLoadRules({ now: () => 0 });
        rules.setRule(1, lteOff());
        assert.deepEqual(brief(rules.evaluate(10)), [['apply', 1, false]]);
    });

    test('no flapping on a noisy voltage around the threshold', () => {
        const c = clock();
        const rules = new SmartLoadRules({ now: c.now });
        rules.setRule(1, lteOff({ holdTime: 60 }));
        const noisy = [12.3, 12.05, 11.95, 12.1, 11.9, 12.15, 11.98, 12.19, 12.02, 11.97, 12.18, 12.0];
        const actions: RuleAction[] = [];
        for (const v of noisy) {
            actions.push(...rules.evaluate(v));
            c.advance(10);
        }
        assert.deepEqual(brief(actions), [['apply', 1, false]]);
        // A real recovery restores once, and noise above the band changes nothing.
        c.advance(60);
        for (const v of [12.6, 12.45, 12.7, 12.4]) actions.push(...rules.evaluate(v));
        assert.deepEqual(brief(actions), [
            ['apply', 1, false],
            ['restore', 1, undefined],
        ]);
    });
});

describe('SmartLoadRules: minimum hold time', () => {
    test('a recovery during the hold time is deferred; nextCheckAt tells when, check() restores', () => {
        const c = clock(0);
        const rules = new SmartLoadRules({ now: c.now, readTarget: () => true });
        rules.setRule(1, lteOff({ holdTime: 300 }));
        assert.equal(rules.nextCheckAt(), undefined);
        assert.equal(rules.evaluate(11.5).length, 1);
        assert.equal(rules.nextCheckAt(), undefined, 'not recovered: nothing waits');
        c.advance(100);
        assert.deepEqual(rules.evaluate(12.8), [], 'recovered but held');
        assert.equal(rules.nextCheckAt(), 300_000);
        c.advance(199.999);
        assert.deepEqual(rules.check(), []);
        c.advance(0.001);
        assert.deepEqual(rules.check(), [{ kind: 'restore', ruleId: 1, target: LTE, value: true }]);
        assert.equal(rules.nextCheckAt(), undefined);
        assert.deepEqual(rules.check(), [], 'done once');
    });

    test('the deferred restore also comes from the next evaluate(), with an explicit time', () => {
        const rules = new SmartLoadRules({ now: () => 0 });
        rules.setRule(1, lteOff({ holdTime: 10 }));
        rules.evaluate(11, 1000);
        assert.deepEqual(rules.evaluate(12.5, 5000), []);
        assert.equal(rules.nextCheckAt(), 11_000);
        assert.deepEqual(brief(rules.evaluate(12.5, 11_000)), [['restore', 1, undefined]]);
    });

    test('a relapse during the hold time cancels the pending restore', () => {
        const c = clock(0);
        const rules = new SmartLoadRules({ now: c.now });
        rules.setRule(1, lteOff({ holdTime: 60 }));
        rules.evaluate(11);
        c.advance(10);
        rules.evaluate(12.5);
        assert.equal(rules.nextCheckAt(), 60_000);
        c.advance(10);
        rules.evaluate(11.8);
        assert.equal(rules.nextCheckAt(), undefined);
        c.advance(100);
        assert.deepEqual(rules.check(), []);
        assert.equal(rules.get(1)?.applied, true);
    });
});

describe('SmartLoadRules: rule management', () => {
    test('a disabled rule never fires', () => {
        const rules = new SmartLoadRules({ now: () => 0 });
        rules.setRule(1, lteOff({ enabled: false }));
        for (const v of [13, 11, 5, 13, 0]) assert.deepEqual(rules.evaluate(v), []);
        assert.equal(rules.nextCheckAt(), undefined);
    });

    test('disabling an applied rule returns its restore; enabling lets it apply again', () => {
        const rules = new SmartLoadRules({ now: () => 0, readTarget: () => true });
        rules.setRule(1, lteOff());
        rules.evaluate(11);
        assert.deepEqual(brief(rules.setRule(1, lteOff({ enabled: false }))), [['restore', 1, true]]);
        assert.deepEqual(rules.check(), []);
        rules.setRule(1, lteOff());
        assert.deepEqual(brief(rules.check()), [['apply', 1, false]], 'check() applies a new rule at once');
    });

    test('removeRule emits nothing; release() returns the restore action', () => {
        const rules = new SmartLoadRules({ now: () => 0, readTarget: () => true });
        rules.setRule(1, lteOff());
        rules.setRule(2, lteOff({ target: RF, value: 20 }));
        rules.evaluate(11);
        assert.deepEqual(rules.release(1), [{ kind: 'restore', ruleId: 1, target: LTE, value: true }]);
        assert.deepEqual(rules.release(1), [], 'not applied any more');
        assert.equal(rules.removeRule(1), true);
        assert.equal(rules.removeRule(1), false);
        assert.equal(rules.removeRule(2), true, 'applied, removed silently');
        assert.deepEqual(rules.evaluate(13), []);
        assert.deepEqual(rules.release(2), []);
    });

    test('remember() supplies the previous value when there is no readTarget', () => {
        const rules = new SmartLoadRules({ now: () => 0 });
        rules.setRule(1, lteOff());
        assert.equal(rules.remember(1, true), false, 'not applied yet');
        const [apply] = rules.evaluate(11);
        assert.equal(apply?.kind, 'apply');
        assert.equal(apply && 'previous' in apply, false);
        assert.equal(rules.remember(1, true), true);
        assert.deepEqual(brief(rules.evaluate(13)), [['restore', 1, true]]);
    });

    test('NaN and infinite voltages are ignored with no action', () => {
        const c = clock(0);
        const rules = new SmartLoadRules({ now: c.now });
        rules.setRule(1, lteOff({ holdTime: 5 }));
        assert.deepEqual(rules.evaluate(Number.NaN), []);
        assert.equal(rules.voltage, undefined);
        assert.deepEqual(rules.check(), [], 'no voltage yet');
        rules.evaluate(11);
        c.advance(1);
        rules.evaluate(12.5);
        c.advance(10);
        for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
            assert.deepEqual(rules.evaluate(v), [], String(v));
        assert.equal(rules.voltage, 12.5, 'the last finite sample is kept');
        assert.equal(rules.get(1)?.applied, true, 'the NaN did not trigger the due restore');
        assert.equal(rules.check().length, 1);
    });

    test('bad rules are refused with SmartLoadRuleError', () => {
        const rules = new SmartLoadRules();
        const bad = (rule: Partial<SmartLoadRule>, message: RegExp, id = 1) =>
            assert.throws(
                () => rules.setRule(id, { ...lteOff(), ...rule }),
                (e: unknown) => e instanceof SmartLoadRuleError && e instanceof Lwm2mError && message.test(e.message),
            );
        bad({ threshold: Number.NaN }, /threshold NaN/);
        bad({ type: 2 as never }, /type 2 is not 0/);
        bad({ hysteresis: -0.1 }, /hysteresis -0.1/);
        bad({ holdTime: Number.POSITIVE_INFINITY }, /hold time Infinity/);
        bad({ target: { objectId: 70000, instanceId: 0, resourceId: 0 } }, /target needs/);
        bad({ value: Number.NaN }, /value NaN/);
        bad({ enabled: 'yes' as never }, /enabled is not a boolean/);
        bad({}, /instance ID -1/, -1);
        assert.equal(rules.get(1), undefined, 'nothing was stored');
    });
});

describe('SmartLoadRules: two rules on one target', () => {
    // Below 12.0 V: RF power 30 dBm; below 11.5 V: 20 dBm. Original 43 dBm.
    const setup = () => {
        let device: RuleValue = 43;
        const rules = new SmartLoadRules({ now: () => 0, readTarget: () => device });
        rules.setRule(1, { threshold: 12.0, type: 0, target: RF, value: 30 });
        rules.setRule(2, { threshold: 11.5, type: 0, target: RF, value: 20 });
        const run = (v: number) => {
            const actions = rules.evaluate(v);
            for (const a of actions) if (a.value !== undefined) device = a.value;
            return actions;
        };
        return { rules, run, device: () => device };
    };

    test('the latest applied rule wins; the original is kept until the last restore', () => {
        const { run, device } = setup();
        assert.deepEqual(run(11.9), [{ kind: 'apply', ruleId: 1, target: RF, value: 30, previous: 43 }]);
        assert.deepEqual(run(11.4), [{ kind: 'apply', ruleId: 2, target: RF, value: 20, previous: 30 }]);
        assert.equal(device(), 20);
        assert.deepEqual(run(11.8), [{ kind: 'restore', ruleId: 2, target: RF, value: 30 }], 'back to rule 1');
        assert.equal(device(), 30);
        assert.deepEqual(run(12.3), [{ kind: 'restore', ruleId: 1, target: RF, value: 43 }]);
        assert.equal(device(), 43);
    });

    test('a jump over both thresholds: applies in instance order, restores in reverse', () => {
        const { run, device } = setup();
        assert.deepEqual(brief(run(11)), [
            ['apply', 1, 30],
            ['apply', 2, 20],
        ]);
        assert.equal(device(), 20);
        assert.deepEqual(brief(run(13)), [
            ['restore', 2, 30],
            ['restore', 1, 43],
        ]);
        assert.equal(device(), 43);
    });

    test('only the first rule on a target may remember() the original', () => {
        const rules = new SmartLoadRules({ now: () => 0 });
        rules.setRule(1, { threshold: 12.0, type: 0, target: RF, value: 30 });
        rules.setRule(2, { threshold: 11.5, type: 0, target: RF, value: 20 });
        rules.evaluate(11);
        assert.equal(rules.remember(2, 30), false, 'rule 2 found the target already held');
        assert.equal(rules.remember(1, 43), true);
        assert.deepEqual(brief(rules.evaluate(13)), [
            ['restore', 2, 30],
            ['restore', 1, 43],
        ]);
    });

    test('releasing the older rule leaves the newer value in place', () => {
        const { rules, run } = setup();
        run(11);
        assert.deepEqual(brief(rules.release(1)), [['restore', 1, 20]]);
        assert.deepEqual(brief(run(13)), [['restore', 2, 43]]);
    });

    test('a restore and an apply on one target in one call keep the true original', () => {
        let device: RuleValue = 43;
        const rules = new SmartLoadRules({ now: () => 0, readTarget: () => device });
        rules.setRule(1, { threshold: 11, type: 0, target: RF, value: 20 });
        rules.setRule(2, { threshold: 14, type: 1, target: RF, value: 35 });
        for (const a of rules.evaluate(10)) if (a.value !== undefined) device = a.value;
        assert.equal(device, 20);
        // The device still shows 20 while evaluate() runs; the original 43 must not be lost.
        assert.deepEqual(rules.evaluate(15), [
            { kind: 'restore', ruleId: 1, target: RF, value: 43 },
            { kind: 'apply', ruleId: 2, target: RF, value: 35, previous: 43 },
        ]);
        assert.deepEqual(brief(rules.evaluate(12)), [['restore', 2, 43]]);
    });
});

describe('ruleFromResources', () => {
    const base = { 0: 11.8, 1: BTS, 2: 0, 3: 5, 4: 'false', 5: 0 };

    test('converts a Rules instance, typing Value after the target resource', () => {
        assert.deepEqual(ruleFromResources(base), {
            threshold: 11.8,
            type: 0,
            target: LTE,
            value: false,
        });
        assert.deepEqual(ruleFromResources({ ...base, 3: 11, 4: '30.5', 6: 0.3, 7: 120n, 8: false }), {
            threshold: 11.8,
            type: 0,
            target: RF,
            value: 30.5,
            hysteresis: 0.3,
            holdTime: 120,
            enabled: false,
        });
        // Duty cycle (5851, Integer 0..100), bytes for Value (the draft typed it Opaque), bigint IDs.
        const duty = ruleFromResources({ ...base, 1: BigInt(BTS), 3: 5851, 4: new TextEncoder().encode('25') });
        assert.equal(duty.value, 25);
        // A built-in target: Digital Output State of 3201.
        assert.equal(ruleFromResources({ ...base, 1: 3201, 3: 5550, 4: '1' }).value, true);
        // A String target keeps the text.
        assert.equal(ruleFromResources({ ...base, 1: 3201, 3: 5750, 4: 'shed' }).value, 'shed');
        // Custom SPMP IDs move the known targets.
        const moved = { ...SPMP_OBJECT_IDS, smartLoadBts: 32771 };
        assert.equal(ruleFromResources({ ...base, 1: 32771 }, { ids: moved }).target.objectId, 32771);
        // The result is usable by the engine.
        const rules = new SmartLoadRules({ now: () => 0 });
        rules.setRule(4, ruleFromResources(base));
        assert.deepEqual(brief(rules.evaluate(11.7)), [['apply', 4, false]]);
    });

    const refusedRule = (values: Record<number, unknown>, resourceId: number, message: RegExp, opts = {}) =>
        assert.throws(
            () => ruleFromResources(values, opts),
            (e: unknown) =>
                e instanceof SmartLoadRuleError &&
                e.resourceId === resourceId &&
                message.test(e.message) &&
                e.message.startsWith(`Smart Load Rules resource ${resourceId} (`),
        );

    test('wrong or missing values are refused, naming the resource', () => {
        const { 0: _threshold, ...noThreshold } = base;
        refusedRule(noThreshold, 0, /\(Voltage Threshold\): is missing/);
        refusedRule({ ...base, 0: '11.8' }, 0, /"11.8" is not a finite number/);
        refusedRule({ ...base, 0: Number.NaN }, 0, /NaN is not a finite number/);
        refusedRule({ ...base, 5: 2 }, 5, /\(Type\): 2 is not in 0..1/);
        refusedRule({ ...base, 5: 'falls' }, 5, /"falls" is not an integer/);
        refusedRule({ ...base, 1: 1.5 }, 1, /\(Object ID\): 1.5 is not an integer/);
        refusedRule({ ...base, 2: 65535 }, 2, /\(Object Instance ID\): 65535 is not in 0..65534/);
        refusedRule({ ...base, 4: 42 }, 4, /\(Value\): 42 is not text/);
        refusedRule({ ...base, 4: new Uint8Array([0xff]) }, 4, /not UTF-8/);
        refusedRule({ ...base, 4: 'off' }, 4, /"off" is not a boolean .* LTE Data Enabled/);
        refusedRule({ ...base, 3: 11, 4: '1e999' }, 4, /out of range/);
        refusedRule({ ...base, 3: 11, 4: 'high' }, 4, /"high" is not a number/);
        refusedRule({ ...base, 3: 5851, 4: '150' }, 4, /150 is outside 0..100 of .*Dimmer/);
        refusedRule({ ...base, 3: 5851, 4: '2.5' }, 4, /"2.5" is not an integer/);
        refusedRule({ ...base, 6: -1 }, 6, /\(Hysteresis\): -1 is negative/);
        refusedRule({ ...base, 7: -5 }, 7, /\(Minimum Hold Time\): -5 is not in 0..86400/);
        refusedRule({ ...base, 8: 1 }, 8, /\(Enabled\): 1 is not a boolean/);
    });

    test('unknown or unusable targets are refused', () => {
        refusedRule({ ...base, 1: 9999 }, 1, /object 9999 is not a known object definition/);
        refusedRule({ ...base, 3: 99 }, 3, /object 42771 \(SPMP Smart Load BTS\) has no resource 99/);
        refusedRule(
            { ...base, 1: 3316, 3: 5700, 4: '1' },
            3,
            /\/3316\/0\/5700 \(Voltage Sensor Value\) is not writable/,
        );
        refusedRule({ ...base, 1: 3, 3: 4, 4: '' }, 3, /\(Device Reboot\) is not writable/);
        refusedRule({ ...base, 1: 0, 3: 16 }, 3, /is not writable/);
        refusedRule({ ...base, 1: 1, 3: 24, 4: '1:0' }, 3, /multiple-instance/);
        refusedRule({ ...base, 1: 1, 3: 10, 4: '1:0' }, 4, /type objlnk, which a rule cannot write/);
        refusedRule({ ...base, 1: 42771 }, 1, /not a known object/, {
            ids: { ...SPMP_OBJECT_IDS, smartLoadBts: 32771 },
        });
        refusedRule(base, 1, /not a known object/, { objects: new Map() });
    });
});
