/**
 * What the iot-* nodes do with values a flow supplies: fields from message values (typing,
 * lexical checks, bad values named), the sensor cache (nodes, history, all-or-nothing puts),
 * parameter values for sets, and the readout message shapes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDate } from '../../src/protocols/xmpp-iot/lexical';
import type { ReadoutRequest } from '../../src/protocols/xmpp-iot/model';
import { fieldFromValue, fieldJson, parametersFromPayload, payloadOf, qualityOf } from '../../src/shared/iot-msg';
import { parseParameters } from '../../src/shared/iot-params';
import { SensorStore } from '../../src/shared/iot-sensor-store';

const badInput = (pattern: RegExp) => (err: unknown) =>
    (err as { code?: string }).code === 'BAD_INPUT' && pattern.test((err as Error).message);

describe('fieldFromValue', () => {
    test('numbers keep their precision; strings are parsed by the declared type', () => {
        const n = fieldFromValue('t', 21.5, { unit: '°C' });
        assert.deepEqual([n.type, n.text, n.decimals, n.unit], ['numeric', '21.5', 1, '°C']);
        const fixed = fieldFromValue('t', 21, { decimals: 2 });
        assert.equal(fixed.text, '21.00');
        const fromText = fieldFromValue('t', '7.250', { type: 'numeric', unit: 'bar' });
        assert.deepEqual([fromText.value, fromText.text, fromText.decimals], [7.25, '7.250', 3]);
        assert.deepEqual(fieldFromValue('n', '-12', { type: 'int' }).value, -12);
        assert.equal(fieldFromValue('n', '9007199254740993', { type: 'long' }).value, 9007199254740993n);
        assert.equal(fieldFromValue('b', 'on', { type: 'boolean' }).value, true);
        assert.equal(fieldFromValue('d', '2026-11-22', { type: 'date' }).text, '2026-11-22');
        assert.equal(fieldFromValue('d', 'PT15M', { type: 'duration' }).type, 'duration');
        assert.equal(fieldFromValue('s', 42, { type: 'string' }).value, '42');
        const dt = fieldFromValue('at', '2026-11-22T10:00:00Z', { type: 'dateTime' });
        assert.equal((dt.value as Date).toISOString(), '2026-11-22T10:00:00.000Z');
    });

    test('wrong or unknown types, bad lexical values, and non-values are BAD_INPUT naming the field', () => {
        const cases: Array<[unknown, Record<string, unknown>, RegExp]> = [
            ['abc', { type: 'numeric' }, /Field "f": "abc" is not a number/],
            ['3000000000', { type: 'int' }, /32-bit/],
            [1.5, { type: 'int' }, /not an integer/],
            ['maybe', { type: 'boolean' }, /not a boolean/],
            ['yesterday', { type: 'date' }, /xs:date/],
            ['15 minutes', { type: 'duration' }, /xs:duration/],
            [true, { type: 'numeric' }, /not a numeric/],
            [5, { type: 'boolean' }, /not a boolean/],
            [5, { type: 'colour' }, /"colour" is not a field type/],
            [Number.NaN, {}, /finite/],
            [null, {}, /null cannot be a field value/],
            [[1], {}, /array/],
            [{ a: 1 }, {}, /object/],
            [1, { decimals: 30 }, /decimals/],
            [1, { category: 'weekly' }, /category/],
            [1, { quality: 'great' }, /quality/],
            [1, { timestamp: 'soon' }, /timestamp/],
        ];
        for (const [value, meta, pattern] of cases) {
            assert.throws(() => fieldFromValue('f', value, meta), badInput(pattern), JSON.stringify([value, meta]));
        }
    });
});

describe('SensorStore', () => {
    const request = (over: Partial<ReadoutRequest> = {}): ReadoutRequest => ({
        id: '1',
        nodes: [],
        fields: [],
        categories: ['momentary'],
        all: false,
        ...over,
    });

    test('a bad value in an object stores nothing of it', () => {
        const store = new SensorStore([]);
        store.put(undefined, { a: 1 }, {});
        assert.throws(() => store.put(undefined, { a: 2, b: { value: 'x', type: 'int' } }, {}), badInput(/"b"/));
        assert.equal(store.read(undefined, request())[0]?.value, 1);
        assert.equal(store.size, 1);
    });

    test('nodes: a single node is implied, several need msg.node, an unknown one is refused', () => {
        const one = new SensorStore([{ nodeId: 'M1' }]);
        one.put('p', 1, {});
        assert.equal(one.read({ nodeId: 'M1' }, request())[0]?.node?.nodeId, 'M1');
        const two = new SensorStore([{ nodeId: 'M1' }, { nodeId: 'M2' }]);
        assert.throws(() => two.put('p', 1, {}), badInput(/several nodes.*M1, M2/));
        assert.throws(() => two.put('p', 1, { node: 'M3' }), badInput(/"M3" is not one of M1, M2/));
        two.put('p', 2, { node: 'M2' });
        assert.equal(two.read({ nodeId: 'M1' }, request()).length, 0);
        assert.equal(two.read({ nodeId: 'M2' }, request())[0]?.value, 2);
        assert.throws(() => new SensorStore([]).put('p', 1, { node: 'M1' }), badInput(/has no nodes/));
    });

    test('historical values are kept in order, bounded, and served only when asked for, within from/to', () => {
        const store = new SensorStore([], 3);
        for (let h = 0; h < 5; h++) {
            store.put('energy', 100 + h, { category: 'historical', timestamp: `2026-11-22T0${h}:00:00Z` });
        }
        store.put('energy', 200, {});
        assert.deepEqual(
            store.read(undefined, request()).map((f) => f.value),
            [200],
        );
        const history = store.read(undefined, request({ categories: ['historical'] }));
        assert.deepEqual(
            history.map((f) => f.value),
            [200, 102, 103, 104],
            'the latest value, then the last three hours',
        );
        const window = store.read(
            undefined,
            request({
                categories: ['historical'],
                from: { date: new Date('2026-11-22T03:00:00Z'), zoneless: false },
                to: { date: new Date('2026-11-22T03:30:00Z'), zoneless: false },
            }),
        );
        assert.deepEqual(
            window.filter((f) => f.categories.includes('historical')).map((f) => f.value),
            [103],
        );
    });

    test('a single value needs its name; arrays and empty objects are refused', () => {
        const store = new SensorStore([]);
        assert.throws(() => store.put(undefined, 5, {}), badInput(/msg.topic/));
        assert.throws(() => store.put('x', [1, 2], {}), badInput(/not an array/));
        assert.throws(() => store.put('x', {}, {}), badInput(/names no field/));
        assert.equal(store.size, 0);
    });
});

describe('parametersFromPayload', () => {
    test('types from the form, then msg.types, then the JavaScript value', () => {
        const out = parametersFromPayload(
            { on: true, level: 3, gain: 0.5, at: new Date('2026-11-22T10:00:00Z'), note: 'x', c: 'FF0000' },
            [{ name: 'level', type: 'long' }],
            { c: 'color' },
        );
        assert.deepEqual(
            out.map((p) => `${p.name}:${p.type}:${p.text}`),
            [
                'on:boolean:true',
                'level:long:3',
                'gain:double:0.5',
                'at:dateTime:2026-11-22T10:00:00.000Z',
                'note:string:x',
                'c:color:FF0000',
            ],
        );
    });

    test('values that do not fit their type, unknown types and non-objects are BAD_INPUT', () => {
        const cases: Array<[unknown, Record<string, unknown>, RegExp]> = [
            [{ on: 'maybe' }, { on: 'boolean' }, /boolean/],
            [{ n: 1.5 }, { n: 'int' }, /integer/],
            [{ n: 'ten' }, { n: 'double' }, /number/],
            [{ n: 3_000_000_000 }, { n: 'int' }, /not a valid int/],
            [{ c: 'red' }, { c: 'color' }, /not a valid color/],
            [{ d: 'soon' }, { d: 'duration' }, /not a valid duration/],
            [{ x: 1 }, { x: 'float' }, /"float" is not a parameter type/],
            [{ o: { a: 1 } }, {}, /object/],
            [{}, {}, /names no parameter/],
            [[1], {}, /object of parameter names/],
            ['on', {}, /object of parameter names/],
        ];
        for (const [payload, types, pattern] of cases) {
            assert.throws(() => parametersFromPayload(payload, [], types), badInput(pattern), JSON.stringify(payload));
        }
    });
});

describe('readout message shapes', () => {
    test('payload by name, by node when several nodes answered, newest value winning', () => {
        const at = (iso: string) => ({ timestamp: iso });
        const f = (name: string, value: number, iso: string, node?: string) =>
            fieldJson(fieldFromValue(name, value, { ...at(iso), ...(node ? { node: { nodeId: node } } : {}) }));
        assert.deepEqual(payloadOf([f('p', 2, '2026-11-22T10:00:00Z'), f('p', 1, '2026-11-22T09:00:00Z')]), { p: 2 });
        assert.deepEqual(payloadOf([f('p', 1, '2026-11-22T10:00:00Z', 'A'), f('p', 2, '2026-11-22T10:00:00Z', 'B')]), {
            A: { p: 1 },
            B: { p: 2 },
        });
    });

    test('quality folds the flags: errors are invalid, estimates questionable', () => {
        assert.equal(qualityOf([{ quality: ['automaticReadout'] }]), 'good');
        assert.equal(qualityOf([{ quality: ['automaticReadout'] }, { quality: ['manualEstimate'] }]), 'questionable');
        assert.equal(qualityOf([{ quality: ['warning'] }, { quality: ['error'] }]), 'invalid');
    });
});

describe('parseParameters (the iot-actuator parameter list)', () => {
    const config = (message: RegExp) => (err: unknown) =>
        (err as { code?: string }).code === 'CONFIG' && message.test((err as Error).message);
    const one = (p: Record<string, unknown>) => JSON.stringify([{ name: 'p', ...p }]);

    test('a good list: bounds, options with spaces, initial values, read-only', () => {
        const list = parseParameters(
            JSON.stringify([
                { name: 'limit', type: 'int', min: '0', max: 4000, value: '2000' },
                { name: 'mode', type: 'enum', options: 'eco, full power,\nboost', value: 'full power' },
                { name: 'serial', type: 'string', value: 'HP-1', readOnly: true },
            ]),
        );
        assert.deepEqual(list[0], { name: 'limit', type: 'int', min: 0, max: 4000, value: '2000' });
        assert.deepEqual(list[1]?.options, [{ value: 'eco' }, { value: 'full power' }, { value: 'boost' }]);
        assert.equal(list[1]?.value, 'full power');
        assert.equal(list[2]?.readOnly, true);
    });

    test('broken entries are CONFIG errors that name the parameter', () => {
        assert.throws(() => parseParameters('{'), config(/not valid JSON/));
        assert.throws(() => parseParameters('{}'), config(/must be an array/));
        assert.throws(() => parseParameters(JSON.stringify([{ type: 'int' }])), config(/Parameter 1 has no name/));
        assert.throws(() => parseParameters(one({ type: 'float' })), config(/p: "float" is not a type/));
        assert.throws(() => parseParameters(one({ type: 'int', min: 'low' })), config(/min "low" is not a number/));
        assert.throws(() => parseParameters(one({ type: 'int', min: 10, max: 5 })), config(/min 10 is above max 5/));
        assert.throws(() => parseParameters(one({ type: 'enum' })), config(/an enum needs its options/));
        assert.throws(() => parseParameters(one({ type: 'int', value: '1.5' })), config(/not a valid int/));
        assert.throws(
            () => parseParameters(one({ type: 'double', min: 0, max: 1, value: '1.5' })),
            config(/1.5 is outside 0 to 1/),
        );
        assert.throws(
            () => parseParameters(one({ type: 'string', options: 'a,b', value: 'c' })),
            config(/"c" is not one of the options/),
        );
        assert.throws(() => parseParameters(one({ type: 'date', value: '2026-02-30' })), config(/not a valid date/));
        assert.throws(
            () =>
                parseParameters(
                    JSON.stringify([
                        { name: 'p', type: 'int' },
                        { name: 'p', type: 'int' },
                    ]),
                ),
            config(/listed twice/),
        );
    });
});

describe('isDate', () => {
    test('only days that exist', () => {
        for (const ok of ['2026-11-22', '2024-02-29', '2000-02-29', '2026-12-31Z', '2026-01-31+01:00'])
            assert.equal(isDate(ok), true, ok);
        for (const bad of ['2026-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '26-11-22', ''])
            assert.equal(isDate(bad), false, bad);
    });
});
