/** MMS Data ↔ JSON for flows (mms/json.ts): named structures, qualities, times, and refusals of bad input. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TypeSpecification } from '../../src/protocols/iec61850/mms/access';
import type { Data } from '../../src/protocols/iec61850/mms/data';
import { MmsError } from '../../src/protocols/iec61850/mms/errors';
import {
    dataToJson,
    jsonToData,
    qualityInput,
    replaceIn,
    selectIn,
    timeInput,
} from '../../src/protocols/iec61850/mms/json';

const F32: TypeSpecification = { kind: 'floating-point', formatWidth: 32, exponentWidth: 8 };
const MV: TypeSpecification = {
    kind: 'structure',
    components: [
        { name: 'mag', type: { kind: 'structure', components: [{ name: 'f', type: F32 }] } },
        { name: 'q', type: { kind: 'bit-string', size: 13 } },
        { name: 't', type: { kind: 'utc-time' } },
    ],
};

function refused(fn: () => unknown, reason: string, message: RegExp): void {
    assert.throws(fn, (e: unknown) => e instanceof MmsError && e.reason === reason && message.test(e.message));
}

describe('JSON of MMS Data', () => {
    test('an MV structure round-trips with names, quality object and ISO time', () => {
        const json = { mag: { f: 2300 }, q: 'good', t: '2024-05-01T12:00:00.500Z' };
        const data = jsonToData(MV, json);
        assert.equal(data.kind, 'structure');
        const back = dataToJson(data, MV) as { mag: { f: number }; q: { validity: string }; t: string };
        assert.equal(back.mag.f, 2300);
        assert.equal(back.q.validity, 'good');
        assert.equal(back.t, '2024-05-01T12:00:00.500Z');
        const again = jsonToData(MV, back);
        assert.deepEqual(again, data);
    });

    test('structures without names come out as arrays; arrays of a type in order', () => {
        const d: Data = {
            kind: 'structure',
            components: [
                { kind: 'boolean', value: true },
                { kind: 'integer', value: 5n },
            ],
        };
        assert.deepEqual(dataToJson(d), [true, 5]);
        const arr: TypeSpecification = { kind: 'array', numberOfElements: 2, elementType: F32 };
        assert.deepEqual(dataToJson(jsonToData(arr, [1.5, 2]), arr), [1.5, 2]);
    });

    test('FLOAT32 values come out as their shortest decimal, FLOAT64 as they are', () => {
        const single = jsonToData(F32, 44.2);
        assert.equal((single as { value: number }).value, 44.2);
        assert.equal(dataToJson({ kind: 'floating-point', format: 'single', value: Math.fround(44.2) }), 44.2);
        assert.equal(dataToJson({ kind: 'floating-point', format: 'single', value: Math.fround(0.1) }), 0.1);
        assert.equal(
            dataToJson({ kind: 'floating-point', format: 'double', value: Math.fround(44.2) }),
            Math.fround(44.2),
        );
        assert.equal(dataToJson({ kind: 'floating-point', format: 'single', value: Number.NaN }), Number.NaN);
    });

    test('64-bit integers beyond 2^53 travel as decimal text, both ways', () => {
        const t: TypeSpecification = { kind: 'integer', width: 64 };
        const big = jsonToData(t, '9223372036854775807');
        assert.deepEqual(big, { kind: 'integer', value: 9223372036854775807n });
        assert.equal(dataToJson(big), '9223372036854775807');
        assert.equal(dataToJson(jsonToData(t, -42)), -42);
    });

    test('octet strings as hex, binary-time with date as ISO text', () => {
        const o = jsonToData({ kind: 'octet-string', size: -64 }, 'a0ff');
        assert.equal(dataToJson(o), 'A0FF');
        const bt = jsonToData({ kind: 'binary-time', withDate: true }, '2024-05-01T12:00:00.500Z');
        assert.equal(dataToJson(bt), '2024-05-01T12:00:00.500Z');
    });

    test('select and replace a component by alternate access', () => {
        const data = jsonToData(MV, { mag: { f: 1 }, q: 'good', t: 0 });
        const part = selectIn(data, MV, [{ component: 'mag' }, { component: 'f' }]);
        assert.deepEqual(part?.data, { kind: 'floating-point', format: 'single', value: 1 });
        const replaced = replaceIn(data, [{ component: 'mag' }, { component: 'f' }], MV, {
            kind: 'floating-point',
            format: 'single',
            value: 9,
        });
        assert.equal((dataToJson(replaced, MV) as { mag: { f: number } }).mag.f, 9);
        assert.equal((dataToJson(data, MV) as { mag: { f: number } }).mag.f, 1, 'the original is not changed');
        assert.equal(selectIn(data, MV, [{ component: 'nope' }]), undefined);
        assert.equal(selectIn(data, MV, [{ index: 0 }]), undefined);
    });
});

describe('bad input is refused with the path and a reason', () => {
    test('wrong JSON types', () => {
        refused(() => jsonToData(F32, 'hot', 'HP1LD/X.sp'), 'wrong-type', /HP1LD\/X\.sp: needs a number/);
        refused(() => jsonToData({ kind: 'boolean' }, 1), 'wrong-type', /true or false/);
        refused(() => jsonToData({ kind: 'integer', width: 32 }, 1.5), 'wrong-type', /integer/);
        refused(() => jsonToData(MV, null), 'wrong-type', /needs an object/);
        refused(() => jsonToData(MV, { mag: { f: 1 }, q: 'good' }), 'wrong-type', /misses component t/);
        refused(() => jsonToData(MV, { mag: { f: 1 }, q: 'good', t: 0, x: 1 }), 'wrong-type', /no component x/);
        refused(() => jsonToData({ kind: 'octet-string', size: 8 }, 'xyz'), 'wrong-type', /hex/);
        refused(() => jsonToData({ kind: 'utc-time' }, 'yesterday'), 'wrong-type', /ISO 8601/);
        refused(() => jsonToData(MV, { mag: { f: 1 }, q: 'bad', t: 0 }), 'wrong-type', /0 and 1/);
    });

    test('values outside the type', () => {
        refused(() => jsonToData({ kind: 'integer', width: 8 }, 128), 'out-of-range', /-128\.\.127/);
        refused(() => jsonToData({ kind: 'unsigned', width: 8 }, -1), 'out-of-range', /0\.\.255/);
        refused(() => jsonToData(F32, 1e300), 'out-of-range', /FLOAT32/);
        refused(() => jsonToData({ kind: 'visible-string', size: -4 }, 'hello'), 'out-of-range', /longer than 4/);
        refused(() => jsonToData({ kind: 'octet-string', size: 8 }, 'AABB'), 'out-of-range', /8 octets/);
        refused(() => jsonToData({ kind: 'bit-string', size: 2 }, '101'), 'out-of-range', /2 bits/);
        refused(() => jsonToData({ kind: 'utc-time' }, -1), 'out-of-range', /1970/);
        refused(() => jsonToData({ kind: 'integer', width: 64 }, '1'.repeat(50)), 'wrong-type', /needs an integer/);
    });

    test('hostile sizes: a huge text is refused at its length, control characters in visible-string', () => {
        const long = 'x'.repeat(1_000_000);
        refused(() => jsonToData({ kind: 'visible-string', size: -255 }, long), 'out-of-range', /longer than 255/);
        refused(() => jsonToData({ kind: 'visible-string', size: -255 }, 'a\u0000b'), 'wrong-type', /printable/);
        refused(
            () => jsonToData({ kind: 'array', numberOfElements: 3, elementType: F32 }, [1, 2]),
            'wrong-type',
            /array of 3/,
        );
    });

    test('qualities and times given loosely are checked', () => {
        assert.equal(qualityInput('questionable', 'q').validity, 'questionable');
        assert.equal(qualityInput({ detail: { oldData: true } }, 'q').detail.oldData, true);
        refused(() => qualityInput({ validity: 'fine' }, 'q'), 'wrong-type', /unknown validity/);
        refused(() => qualityInput({ detail: { shiny: true } }, 'q'), 'wrong-type', /unknown quality detail/);
        refused(() => qualityInput(3, 'q'), 'wrong-type', /needs a quality/);
        assert.equal(timeInput(0, 't').toISOString(), '1970-01-01T00:00:00.000Z');
        refused(() => timeInput(Number.NaN, 't'), 'wrong-type', /ISO 8601/);
        refused(() => timeInput('2024-13-45T99:00:00Z', 't'), 'wrong-type', /ISO 8601/);
    });
});
