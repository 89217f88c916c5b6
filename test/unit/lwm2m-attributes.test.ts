/** LwM2M notification attributes (Core §5.1.2): query parsing, rules, inheritance and the notification gate. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
    effectiveAttributes,
    formatAttributeQuery,
    mergeAttributes,
    NotifyGate,
    parseAttributeQuery,
    sameValue,
    validateAttributes,
} from '../../src/protocols/lwm2m/attributes';
import { refused } from '../support/lwm2m';

describe('parseAttributeQuery', () => {
    test('reads periods, thresholds and removals', () => {
        assert.deepEqual(
            parseAttributeQuery(['pmin=10', 'pmax=60', 'gt=12.5', 'lt=-3', 'st=0.5', 'epmin', 'epmax=5']),
            {
                pmin: 10,
                pmax: 60,
                gt: 12.5,
                lt: -3,
                st: 0.5,
                epmin: null,
                epmax: 5,
            },
        );
        assert.deepEqual(parseAttributeQuery([]), {});
        assert.deepEqual(parseAttributeQuery(['pmax']), { pmax: null });
    });

    test('refuses unknown names, repeats and bad numbers', () => {
        refused(() => parseAttributeQuery(['foo=1']), 'malformed', /'foo' is not a notification attribute/);
        refused(() => parseAttributeQuery(['edge=1']), 'malformed', /not a notification attribute/);
        refused(() => parseAttributeQuery(['pmin=1', 'pmin=2']), 'malformed', /pmin is given twice/);
        refused(() => parseAttributeQuery(['pmin=1.5']), 'malformed', /pmin='1.5' is not a whole number/);
        refused(() => parseAttributeQuery(['pmin=-1']), 'malformed', /not a whole number/);
        refused(() => parseAttributeQuery(['pmin=']), 'malformed', /not a whole number/);
        refused(() => parseAttributeQuery(['pmax=1e3']), 'malformed', /not a whole number/);
        refused(() => parseAttributeQuery(['gt=abc']), 'malformed', /gt='abc' is not a decimal number/);
        refused(() => parseAttributeQuery(['gt=NaN']), 'malformed', /not a decimal number/);
        refused(() => parseAttributeQuery(['lt=1.']), 'malformed', /not a decimal number/);
        refused(() => parseAttributeQuery(['st=-1']), 'malformed', /st='-1' is not a decimal number/);
        refused(() => parseAttributeQuery(['gt=Infinity']), 'malformed', /not a decimal number/);
        refused(() => parseAttributeQuery(Array(17).fill('pmin=1')), 'malformed', /17 query options/);
        refused(() => parseAttributeQuery([`pmin=${'1'.repeat(100)}`]), 'malformed', /64 characters/);
    });

    test('formatAttributeQuery is its inverse', () => {
        const change = { pmin: 10, pmax: null, gt: 12.5, lt: -3, st: 0.25 };
        const q = formatAttributeQuery(change);
        assert.deepEqual(q, ['pmin=10', 'pmax', 'gt=12.5', 'lt=-3', 'st=0.25']);
        assert.deepEqual(parseAttributeQuery(q), change);
        assert.deepEqual(formatAttributeQuery({ gt: 1e-7 }), ['gt=0.0000001']);
        assert.deepEqual(parseAttributeQuery(formatAttributeQuery({ gt: 1e-7 })), { gt: 1e-7 });
        refused(() => formatAttributeQuery({ pmin: 1.5 }), 'wrong-type', /whole number/);
        refused(() => formatAttributeQuery({ gt: Number.NaN }), 'wrong-type', /finite/);
        refused(() => formatAttributeQuery({ bogus: 1 } as never), 'wrong-type', /'bogus'/);
    });
});

describe('mergeAttributes and validateAttributes', () => {
    test('merge sets and removes without touching the input', () => {
        const current = { pmin: 5, pmax: 60 };
        assert.deepEqual(mergeAttributes(current, { pmin: null, gt: 3 }), { pmax: 60, gt: 3 });
        assert.deepEqual(current, { pmin: 5, pmax: 60 });
        assert.deepEqual(mergeAttributes(undefined, { pmax: null }), {});
    });

    test('accepts what the rules allow', () => {
        validateAttributes({ pmin: 0, pmax: 0 });
        validateAttributes({ pmin: 10, pmax: 10, epmin: 1, epmax: 2 });
        validateAttributes({ gt: 10, lt: 5, st: 2 }, 'float');
        validateAttributes({ gt: 10 }, 'integer');
        validateAttributes({ st: 1 }, 'unsigned');
    });

    test('refuses what breaks them', () => {
        refused(() => validateAttributes({ pmin: -1 }), 'bad-value', /pmin must be a whole number/);
        refused(() => validateAttributes({ pmax: 1.5 }), 'bad-value', /pmax must be a whole number/);
        refused(() => validateAttributes({ epmin: Number.NaN }), 'bad-value', /finite/);
        refused(() => validateAttributes({ pmin: 20, pmax: 10 }), 'bad-value', /pmax 10 is less than pmin 20/);
        refused(() => validateAttributes({ epmin: 20, epmax: 10 }), 'bad-value', /epmax 10 is less than epmin 20/);
        refused(() => validateAttributes({ gt: 5, lt: 5 }, 'float'), 'bad-value', /lt 5 must be less than gt 5/);
        refused(() => validateAttributes({ gt: 5, lt: 6 }, 'float'), 'bad-value', /lt 6 must be less than gt 5/);
        refused(() => validateAttributes({ gt: 10, lt: 5, st: 2.5 }, 'float'), 'bad-value', /lt \+ 2·st \(10\)/);
        refused(() => validateAttributes({ st: 0 }, 'float'), 'bad-value', /st must be greater than 0/);
        refused(() => validateAttributes({ st: -1 }, 'float'), 'bad-value', /st must be greater than 0/);
        refused(() => validateAttributes({ gt: 1 }), 'bad-value', /may only be attached to a resource/);
        refused(() => validateAttributes({ lt: 1 }, 'string'), 'bad-value', /numeric resources, not to a string/);
        refused(() => validateAttributes({ st: 1 }, 'boolean'), 'bad-value', /numeric/);
        refused(() => validateAttributes({ gt: Number.POSITIVE_INFINITY }, 'float'), 'bad-value', /finite/);
        refused(() => validateAttributes({ nope: 1 } as never), 'bad-value', /'nope'/);
    });
});

describe('effectiveAttributes', () => {
    test('the lower level wins attribute by attribute; server defaults fill pmin/pmax', () => {
        assert.deepEqual(
            effectiveAttributes(
                { pmin: 1, pmax: 100, epmin: 3 },
                { pmin: 2 },
                { pmin: 5, gt: 7 },
                { pmin: 9, pmax: 90 },
            ),
            { pmin: 5, pmax: 100, epmin: 3, gt: 7 },
        );
        assert.deepEqual(effectiveAttributes(undefined, { pmax: 30 }, undefined, { pmin: 9, pmax: 90 }), {
            pmin: 9,
            pmax: 30,
        });
        assert.deepEqual(effectiveAttributes(undefined, undefined, undefined, {}), {});
        assert.deepEqual(effectiveAttributes(undefined, undefined, undefined), {});
    });
});

describe('NotifyGate', () => {
    const S = 1000;

    test('without attributes every change is sent at once, equal values are not', () => {
        const g = new NotifyGate({}, 0, 1);
        assert.deepEqual(g.change(1, 10), { send: false });
        assert.deepEqual(g.change(2, 20), { send: true });
        g.sent(2, 20);
        assert.deepEqual(g.change(2, 30), { send: false });
    });

    test('a change inside pmin is deferred to pmin and sends the value then current', () => {
        const g = new NotifyGate({ pmin: 10 }, 0, 1);
        assert.deepEqual(g.change(2, 3 * S), { send: false, wakeAt: 10 * S });
        assert.deepEqual(g.change(3, 4 * S), { send: false, wakeAt: 10 * S });
        assert.deepEqual(g.due(9 * S), { send: false, wakeAt: 10 * S });
        assert.deepEqual(g.due(10 * S), { send: true, value: 3 });
        assert.deepEqual(g.sent(3, 10 * S), { send: false });
        // After pmin has elapsed, a change goes out at once.
        assert.deepEqual(g.change(4, 25 * S), { send: true });
        // Nothing pending: due() has nothing to send.
        g.sent(4, 25 * S);
        assert.deepEqual(g.due(100 * S), { send: false });
    });

    test('pmax sends without a change; pmax 0 or absent never does', () => {
        const g = new NotifyGate({ pmax: 60 }, 0, 'a');
        assert.deepEqual(g.due(59 * S), { send: false, wakeAt: 60 * S });
        assert.deepEqual(g.due(60 * S), { send: true, value: 'a' });
        assert.deepEqual(g.sent('a', 60 * S), { send: false, wakeAt: 120 * S });
        const none = new NotifyGate({ pmax: 0 }, 0, 'a');
        assert.deepEqual(none.due(1e9), { send: false });
        assert.deepEqual(new NotifyGate({}, 0, 'a').due(1e9), { send: false });
    });

    test('pmin and pmax together: the next wake is the earlier one', () => {
        const g = new NotifyGate({ pmin: 10, pmax: 30 }, 0, 1);
        assert.deepEqual(g.change(2, S), { send: false, wakeAt: 10 * S });
        assert.deepEqual(g.due(10 * S), { send: true, value: 2 });
        assert.deepEqual(g.sent(2, 10 * S), { send: false, wakeAt: 40 * S });
    });

    test('pmax below pmin (after inheritance) is ignored', () => {
        const g = new NotifyGate({ pmin: 30, pmax: 10 }, 0, 1);
        assert.deepEqual(g.due(20 * S), { send: false });
    });

    test('gt: only crossings count, in either direction', () => {
        const g = new NotifyGate({ gt: 50 }, 0, 40);
        assert.equal(g.change(45, 1).send, false);
        assert.equal(g.change(49.9, 2).send, false);
        assert.equal(g.change(55, 3).send, true);
        g.sent(55, 3);
        assert.equal(g.change(60, 4).send, false);
        assert.equal(g.change(50, 5).send, true, 'back to 50 is no longer above gt');
    });

    test('lt: only crossings count', () => {
        const g = new NotifyGate({ lt: 10 }, 0, 20);
        assert.equal(g.change(15, 1).send, false);
        assert.equal(g.change(9, 2).send, true);
        g.sent(9, 2);
        assert.equal(g.change(5, 3).send, false);
        assert.equal(g.change(11, 4).send, true);
    });

    test('st: a move of at least st from the last notified value', () => {
        const g = new NotifyGate({ st: 2 }, 0, 10);
        assert.equal(g.change(11.9, 1).send, false);
        assert.equal(g.change(8.1, 2).send, false, 'measured against the last notified value, not the last seen');
        assert.equal(g.change(12, 3).send, true);
        g.sent(12, 3);
        assert.equal(g.change(10, 4).send, true);
    });

    test('gt, lt and st together: any of them triggers', () => {
        const g = new NotifyGate({ gt: 100, lt: 0, st: 30 }, 0, 50);
        assert.equal(g.change(70, 1).send, false);
        assert.equal(g.change(80, 2).send, true);
        g.sent(80, 2);
        assert.equal(g.change(101, 3).send, true);
        g.sent(101, 3);
        assert.equal(g.change(99, 4).send, true, 'crossing gt downwards');
    });

    test('thresholds with pmin: a crossing inside pmin waits', () => {
        const g = new NotifyGate({ pmin: 5, gt: 50 }, 0, 40);
        assert.deepEqual(g.change(60, S), { send: false, wakeAt: 5 * S });
        assert.deepEqual(g.due(5 * S), { send: true, value: 60 });
    });

    test('thresholds with bigint values and non-numeric values', () => {
        const g = new NotifyGate({ st: 5 }, 0, 10n);
        assert.equal(g.change(12n, 1).send, false);
        assert.equal(g.change(15n, 2).send, true);
        const s = new NotifyGate({ st: 5 }, 0, 'x');
        assert.equal(s.change('x', 1).send, false);
        assert.equal(s.change('y', 2).send, true, 'a string with st set: any change');
    });

    test('non-numeric values compare by content', () => {
        const b = new NotifyGate({}, 0, Uint8Array.of(1, 2));
        assert.equal(b.change(Uint8Array.of(1, 2), 1).send, false);
        assert.equal(b.change(Uint8Array.of(1, 3), 2).send, true);
        const d = new NotifyGate({}, 0, new Date(1000));
        assert.equal(d.change(new Date(1000), 1).send, false);
        assert.equal(d.change(new Date(2000), 2).send, true);
        const l = new NotifyGate({}, 0, { objectId: 3, instanceId: 0 });
        assert.equal(l.change({ objectId: 3, instanceId: 0 }, 1).send, false);
        assert.equal(l.change({ objectId: 3, instanceId: 1 }, 2).send, true);
        assert.equal(l.change(null, 3).send, true);
        const t = new NotifyGate({}, 0, true);
        assert.equal(t.change(false, 1).send, true);
    });

    test('epmin defers evaluation; epmax says when to sample', () => {
        const g = new NotifyGate({ epmin: 10, epmax: 30 }, 0, 1);
        assert.equal(g.sampleAt(), 30 * S);
        assert.deepEqual(g.change(2, 5 * S), { send: false, wakeAt: 10 * S });
        assert.deepEqual(g.due(10 * S), { send: true, value: 2 });
        g.sent(2, 10 * S);
        assert.equal(g.sampleAt(), 40 * S);
        assert.equal(new NotifyGate({}, 0, 1).sampleAt(), undefined);
    });

    test('sameValue', () => {
        assert.ok(sameValue(Number.NaN, Number.NaN));
        assert.ok(!sameValue(1, '1'));
        assert.ok(!sameValue(new Date(0), Uint8Array.of()));
        assert.ok(sameValue(null, null));
        assert.ok(!sameValue(null, { objectId: 1, instanceId: 1 }));
    });
});
