import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { decodePdu } from '../../src/protocols/iec61850/mms/pdu';
import { decodeResponse } from '../../src/protocols/iec61850/mms/services';
import { Iec61850Error } from '../../src/protocols/iec61850/model/errors';
import {
    BASIC_TYPES,
    type BasicType,
    type DataAttribute,
    type DataObject,
    decodeQuality,
    encodeEntryTime,
    goodQuality,
    type Value,
} from '../../src/protocols/iec61850/model/types';
import {
    BASIC_TYPE_SPECS,
    dataToValue,
    defaultValue,
    fcdToData,
    typeSpecOf,
    valueToData,
} from '../../src/protocols/iec61850/model/values';
import { parseXml, type XmlElement } from '../../src/protocols/xml';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'iec61850', 'mms');
const fixture = (name: string) => parseXml(readFileSync(path.join(FIXTURES, name), 'utf8'));

const da = (name: string, type: DataAttribute['type'], fc: DataAttribute['fc'], extra: Partial<DataAttribute> = {}) =>
    ({ kind: 'DA', name, type, fc, ...extra }) as DataAttribute;

/** STMP1.Tmp / MMXN1.Watt shape: MV with mag{f}, q, t (MX), units (CF), d (DC). */
function mv(): DataObject {
    return {
        kind: 'DO',
        name: 'Tmp',
        cdc: 'MV',
        children: [
            da('mag', 'Struct', 'MX', { children: [da('f', 'FLOAT32', 'MX')] }),
            da('q', 'Quality', 'MX'),
            da('t', 'Timestamp', 'MX'),
            da('units', 'Struct', 'CF', {
                children: [da('SIUnit', 'ENUMERATED', 'CF'), da('multiplier', 'ENUMERATED', 'CF')],
            }),
            da('d', 'VISIBLE STRING', 'DC'),
        ],
    };
}

function expectBadInput(fn: () => unknown, pattern: RegExp): void {
    assert.throws(
        fn,
        (err: unknown) => err instanceof Iec61850Error && err.code === 'BAD_INPUT' && pattern.test(err.message),
    );
}

describe('iec61850 model values <-> MMS Data (8-1 mapping, wire note §6.2)', () => {
    test('the FCD type of an MV [MX] is the type of note §5.5 exactly', () => {
        const res = decodeResponse(fixture('5.5-gvaa-response.xml').elements()[0] as XmlElement, 'r');
        assert.ok(res.service === 'getVariableAccessAttributes');
        assert.deepEqual(typeSpecOf(mv(), 'MX'), res.typeSpecification);
        assert.deepEqual(typeSpecOf(mv(), 'DC'), {
            kind: 'structure',
            components: [{ name: 'd', type: { kind: 'visible-string', size: -255 } }],
        });
    });

    test('the FCD value of an MV [MX] is the Data of note §5.2 exactly', () => {
        const res = decodePdu(fixture('5.2-read-response-structure.xml'));
        assert.ok(res.pdu === 'confirmed-ResponsePDU' && res.response.service === 'read');
        const wire = res.response.listOfAccessResult[0];
        assert.ok(wire && 'success' in wire);
        const node = mv();
        const [mag, q, t] = node.children as DataAttribute[];
        (mag as DataAttribute).value = { f: 2300 };
        (q as DataAttribute).value = goodQuality();
        (t as DataAttribute).value = {
            seconds: 0x66322ec0,
            fraction: 0x800000,
            quality: { leapSecondsKnown: false, clockFailure: false, clockNotSynchronized: false, timeAccuracy: 10 },
        };
        assert.deepEqual(fcdToData(node, 'MX'), wire.success);
        // and back, member by member
        const data = wire.success;
        assert.ok(data.kind === 'structure');
        assert.deepEqual(dataToValue(mag as DataAttribute, data.components[0] as never), { f: 2300 });
        assert.deepEqual(dataToValue(q as DataAttribute, data.components[1] as never), goodQuality());
        assert.deepEqual(dataToValue(t as DataAttribute, data.components[2] as never), (t as DataAttribute).value);
    });

    test('every basic type: edge values round-trip, and the MMS kind matches BASIC_TYPES', () => {
        const samples: Record<BasicType, Value[]> = {
            BOOLEAN: [true, false],
            INT8: [-128, 127],
            INT16: [-32768, 32767],
            INT32: [-(2 ** 31), 2 ** 31 - 1],
            INT64: [-(2n ** 63n), 2n ** 63n - 1n],
            INT8U: [0, 255],
            INT16U: [65535],
            INT32U: [2 ** 32 - 1],
            FLOAT32: [Math.fround(45.5), Number.NEGATIVE_INFINITY],
            FLOAT64: [0.1, -1e300],
            ENUMERATED: [-1, 5],
            'CODED ENUM': ['10'],
            Check: ['01'],
            'OCTET STRING': [new Uint8Array(64).fill(0xab), new Uint8Array(0)],
            'VISIBLE STRING': ['a'.repeat(255), ''],
            'UNICODE STRING': ['Wärmepumpe €'],
            ObjectName: ['x'.repeat(64)],
            ObjectReference: ['HP1LD/LLN0$DS_HP'],
            Timestamp: [
                {
                    seconds: 2 ** 32 - 1,
                    fraction: 2 ** 24 - 1,
                    quality: {
                        leapSecondsKnown: true,
                        clockFailure: true,
                        clockNotSynchronized: true,
                        timeAccuracy: 31,
                    },
                },
            ],
            EntryTime: [encodeEntryTime(new Date('2024-05-01T12:00:00.5Z'))],
            EntryID: [Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0x77])],
            Quality: [decodeQuality('0100001000000')],
            TriggerConditions: ['011011'],
            RCBReportOptions: ['0111101110'],
            ReasonForInclusion: ['0100000'],
        };
        for (const type of Object.keys(BASIC_TYPES) as BasicType[]) {
            const attr = da('x', type, 'ST');
            for (const v of samples[type]) {
                const data = valueToData(attr, v);
                assert.equal(data.kind, BASIC_TYPES[type].mms, type);
                assert.deepEqual(dataToValue(attr, data), v, type);
            }
            // the default value is a valid value of the type
            assert.doesNotThrow(() => valueToData(attr, defaultValue(attr)), type);
        }
    });

    test('the MMS type of each basic type (8-1): widths, float formats, fixed and variable strings', () => {
        assert.deepEqual(BASIC_TYPE_SPECS.INT16U, { kind: 'unsigned', width: 16 });
        assert.deepEqual(BASIC_TYPE_SPECS.ENUMERATED, { kind: 'integer', width: 8 });
        assert.deepEqual(BASIC_TYPE_SPECS.FLOAT64, { kind: 'floating-point', formatWidth: 64, exponentWidth: 11 });
        assert.deepEqual(BASIC_TYPE_SPECS.ObjectReference, { kind: 'visible-string', size: -129 });
        assert.deepEqual(BASIC_TYPE_SPECS.EntryID, { kind: 'octet-string', size: 8 });
        assert.deepEqual(BASIC_TYPE_SPECS.EntryTime, { kind: 'binary-time', withDate: true });
        assert.deepEqual(BASIC_TYPE_SPECS.Quality, { kind: 'bit-string', size: 13 });
        assert.deepEqual(BASIC_TYPE_SPECS.Timestamp, { kind: 'utc-time' });
    });

    test('arrays and structures, with defaults for unset members', () => {
        const vals = da('vals', 'Struct', 'MX', { count: 3, children: [da('f', 'FLOAT32', 'MX')] });
        assert.deepEqual(typeSpecOf(vals), {
            kind: 'array',
            numberOfElements: 3,
            elementType: {
                kind: 'structure',
                components: [{ name: 'f', type: { kind: 'floating-point', formatWidth: 32, exponentWidth: 8 } }],
            },
        });
        const data = valueToData(vals, [{ f: 1 }, { f: 2 }, {}]);
        assert.deepEqual(dataToValue(vals, data), [{ f: 1 }, { f: 2 }, { f: 0 }]);
        assert.deepEqual(defaultValue(vals), [{ f: 0 }, { f: 0 }, { f: 0 }]);
    });

    test('wrong values and wrong Data are refused with BAD_INPUT naming the attribute', () => {
        expectBadInput(() => valueToData(da('stVal', 'BOOLEAN', 'ST'), 1), /stVal is BOOLEAN/);
        expectBadInput(() => valueToData(da('ctlNum', 'INT8U', 'ST'), 256), /0\.\.255/);
        expectBadInput(() => valueToData(da('n', 'INT32', 'ST'), 1.5), /INT32/);
        expectBadInput(() => valueToData(da('n', 'INT64', 'ST'), 2 ** 60), /INT64/);
        expectBadInput(() => valueToData(da('n', 'INT64', 'ST'), 2n ** 63n), /exceeds INT64/);
        expectBadInput(() => valueToData(da('s', 'ObjectName', 'ST'), 'y'.repeat(65)), /longer than 64/);
        expectBadInput(() => valueToData(da('o', 'EntryID', 'ST'), new Uint8Array(7)), /8 octets/);
        expectBadInput(() => valueToData(da('b', 'TriggerConditions', 'ST'), '0110'), /6 bits/);
        expectBadInput(() => valueToData(da('m', 'Struct', 'MX', { children: [] }), 5), /object/);
        expectBadInput(() => valueToData(da('a', 'INT8', 'MX', { count: 2 }), [1]), /array of 2/);
        expectBadInput(() => dataToValue(da('stVal', 'BOOLEAN', 'ST'), { kind: 'integer', value: 1n }), /MMS boolean/);
        expectBadInput(() => dataToValue(da('ctlNum', 'INT8U', 'ST'), { kind: 'unsigned', value: 300n }), /0\.\.255/);
        expectBadInput(
            () =>
                dataToValue(da('m', 'Struct', 'MX', { children: [da('f', 'FLOAT32', 'MX')] }), {
                    kind: 'structure',
                    components: [],
                }),
            /structure of 1/,
        );
    });
});
