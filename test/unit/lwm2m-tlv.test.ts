/** LwM2M TLV (11542): the design note's vectors both ways, every value type, and refusals of bad payloads. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
    decodeTlv,
    decodeValue,
    encodeTlv,
    encodeValue,
    type ResourceType,
    type ResourceValue,
    type Tlv,
} from '../../src/protocols/lwm2m';
import { refused } from '../support/lwm2m';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) =>
    Buffer.from(b)
        .toString('hex')
        .replace(/(..)(?!$)/g, '$1 ');
const res = (id: number, type: ResourceType, v: ResourceValue): Tlv => ({
    kind: 'resource',
    id,
    value: encodeValue(type, v),
});

describe('TLV vectors (design note B.1.6)', () => {
    const vectors: Array<[string, Tlv[], string]> = [
        [
            '/3/0/0 = "Open Mobile Alliance"',
            [res(0, 'string', 'Open Mobile Alliance')],
            'c8 00 14 4f 70 65 6e 20 4d 6f 62 69 6c 65 20 41 6c 6c 69 61 6e 63 65',
        ],
        [
            '/3/0/6 = [1, 5]',
            [
                {
                    kind: 'multipleResource',
                    id: 6,
                    children: [
                        { kind: 'resourceInstance', id: 0, value: encodeValue('integer', 1) },
                        { kind: 'resourceInstance', id: 1, value: encodeValue('integer', 5) },
                    ],
                },
            ],
            '86 06 41 00 01 41 01 05',
        ],
        ['5700 = 31.0', [res(5700, 'float', 31)], 'e4 16 44 41 f8 00 00'],
        ['5700 = 12.5', [res(5700, 'float', 12.5)], 'e4 16 44 41 48 00 00'],
        ['5701 = "c"', [res(5701, 'string', 'c')], 'e1 16 45 63'],
        [
            'instance 0 with 5700 and 5701',
            [{ kind: 'objectInstance', id: 0, children: [res(5700, 'float', 31), res(5701, 'string', 'c')] }],
            '08 00 0b e4 16 44 41 f8 00 00 e1 16 45 63',
        ],
        ['/3201/0/5550 = true', [res(5550, 'boolean', true)], 'e1 15 ae 01'],
    ];
    for (const [what, elements, bytes] of vectors) {
        test(what, () => {
            assert.equal(toHex(encodeTlv(elements)), bytes);
            assert.deepEqual(decodeTlv(hex(bytes)), elements);
        });
    }

    test('long values use 8-, 16- and 24-bit length fields', () => {
        for (const size of [7, 8, 255, 256, 65_535, 65_536, 100_000]) {
            const t: Tlv[] = [{ kind: 'resource', id: 1, value: new Uint8Array(size).fill(7) }];
            const bytes = encodeTlv(t);
            const expectHeader = 2 + (size <= 7 ? 0 : size <= 255 ? 1 : size <= 65_535 ? 2 : 3);
            assert.equal(bytes.length, expectHeader + size, `size ${size}`);
            assert.deepEqual(decodeTlv(bytes), t);
        }
    });
});

describe('values', () => {
    test('every type round-trips; integers take the smallest width', () => {
        const cases: Array<[ResourceType, ResourceValue, number]> = [
            ['integer', 0, 1],
            ['integer', -128, 1],
            ['integer', 128, 2],
            ['integer', -40_000, 4],
            ['integer', 2 ** 40, 8],
            ['integer', 9_223_372_036_854_775_807n, 8],
            ['unsigned', 255, 1],
            ['unsigned', 65_535, 2],
            ['unsigned', 18_446_744_073_709_551_615n, 8],
            ['float', 0.1, 8],
            ['float', 0.5, 4],
            ['boolean', false, 1],
            ['string', 'ünïcode €', 13],
            ['corelnk', '</3/0>', 6],
            ['opaque', Uint8Array.of(0, 255, 1), 3],
            ['objlnk', { objectId: 3, instanceId: 0 }, 4],
            ['objlnk', null, 4],
            ['none', null, 0],
        ];
        for (const [type, v, width] of cases) {
            const bytes = encodeValue(type, v);
            assert.equal(bytes.length, width, `${type} ${String(v)}`);
            assert.deepEqual(decodeValue(type, bytes), v, `${type} ${String(v)}`);
        }
        const when = new Date('2026-12-04T10:00:00Z');
        assert.deepEqual(decodeValue('time', encodeValue('time', when)), when);
        assert.deepEqual(decodeValue('objlnk', hex('ffffffff')), null);
    });

    test('values of the wrong size or content are refused', () => {
        refused(() => decodeValue('integer', hex('000001')), 'bad-value', /1, 2, 4 or 8 bytes, not 3/);
        refused(() => decodeValue('float', hex('0000000000')), 'bad-value', /4 or 8 bytes, not 5/);
        refused(() => decodeValue('boolean', hex('02')), 'bad-value', /0 or 1/);
        refused(() => decodeValue('boolean', hex('0001')), 'bad-value', /one byte/);
        refused(() => decodeValue('objlnk', hex('000300')), 'bad-value', /4 bytes, not 3/);
        refused(() => decodeValue('string', hex('c328')), 'bad-value', /UTF-8/);
        refused(() => decodeValue('none', hex('00')), 'bad-value', /carries 1 bytes/);
    });

    test('the encoder refuses values its type cannot carry', () => {
        refused(() => encodeValue('integer', 1.5), 'wrong-type', /integer/);
        refused(() => encodeValue('integer', 2n ** 63n), 'bad-value', /64-bit integer/);
        refused(() => encodeValue('unsigned', -1), 'bad-value', /unsigned/);
        refused(() => encodeValue('boolean', 1 as unknown as boolean), 'wrong-type', /true or false/);
        refused(() => encodeValue('objlnk', { objectId: 70_000, instanceId: 0 }), 'wrong-type', /0\.\.65535/);
        refused(() => encodeValue('string', 5), 'wrong-type', /text/);
        refused(() => encodeValue('time', new Date(Number.NaN)), 'wrong-type', /integer or a Date/);
    });
});

describe('bad payloads', () => {
    test('truncated headers, lengths and values: an error with the offset, never a crash', () => {
        refused(() => decodeTlv(hex('e4 16')), 'truncated', /header cut short.*byte 0/);
        refused(() => decodeTlv(hex('e4 16 44 41 f8 00')), 'truncated', /says 4 bytes, 3 are left/);
        refused(() => decodeTlv(hex('c1 00 61 c8')), 'truncated', /byte 3/);
        refused(() => decodeTlv(hex('c8 00 ff 01')), 'truncated', /says 255 bytes, 1 are left/);
        refused(() => decodeTlv(hex('d8 00 ff 01')), 'truncated', /header cut short/);
        refused(() => decodeTlv(hex('08 00 05 e1 16 45 63')), 'truncated', /objectInstance 0 says 5 bytes, 4 are left/);
        refused(
            () => decodeTlv(hex('08 00 04 e2 16 45 63')),
            'truncated',
            /resource 5701 says 2 bytes, 1 are left \(at byte 3\)/,
        );
    });

    test('impossible nesting and type bits', () => {
        refused(
            () => decodeTlv(hex('08 00 03 41 00 01')),
            'malformed',
            /objectInstance TLV cannot hold a resourceInstance/,
        );
        refused(() => decodeTlv(hex('83 06 c1 00 01')), 'malformed', /multipleResource TLV cannot hold a resource/);
        refused(
            () => decodeTlv(hex('08 00 05 08 01 02 c1 00')),
            'malformed',
            /objectInstance TLV cannot hold a objectInstance/,
        );
        refused(() => decodeTlv(hex('c9 00 01 61')), 'malformed', /length bits set/);
        assert.throws(
            () =>
                encodeTlv([
                    { kind: 'objectInstance', id: 0, children: [{ kind: 'objectInstance', id: 1, children: [] }] },
                ]),
            /cannot hold/,
        );
    });

    test('hostile sizes: too many elements, too many bytes, identifiers out of range', () => {
        const many = new Uint8Array(3 * 20_001);
        for (let i = 0; i < 20_001; i++) many.set([0xc1, i & 0xff, 0], i * 3);
        refused(() => decodeTlv(many), 'limit', /too many TLV elements/);
        refused(() => decodeTlv(new Uint8Array(2 * 1024 * 1024)), 'limit', /exceeds/);
        refused(
            () => encodeTlv([{ kind: 'resource', id: 70_000, value: new Uint8Array() }]),
            'wrong-type',
            /0\.\.65535/,
        );
        assert.deepEqual(decodeTlv(new Uint8Array(0)), [], 'an empty payload is no elements');
    });
});
