/** CBOR (RFC 8949 Appendix A vectors) and SenML CBOR (112) for LwM2M, with refusals of bad and hostile input. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
    type CborValue,
    decodeCbor,
    decodeSenmlCbor,
    decodeSenmlJson,
    encodeCbor,
    encodeSenmlCbor,
    formatPath,
    type SenmlRecord,
} from '../../src/protocols/lwm2m';
import { refused } from '../support/lwm2m';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('CBOR (RFC 8949 Appendix A)', () => {
    const both: Array<[CborValue, string]> = [
        [0, '00'],
        [23, '17'],
        [24, '1818'],
        [100, '1864'],
        [1000, '1903e8'],
        [1_000_000, '1a000f4240'],
        [18_446_744_073_709_551_615n, '1bffffffffffffffff'],
        [-1, '20'],
        [-1000, '3903e7'],
        [-18_446_744_073_709_551_616n, '3bffffffffffffffff'],
        [false, 'f4'],
        [true, 'f5'],
        [null, 'f6'],
        ['a', '6161'],
        ['\u00fc', '62c3bc'],
        [hex('01020304'), '4401020304'],
        [[1, [2, 3], [4, 5]], '8301820203820405'],
        [
            new Map<CborValue, CborValue>([
                ['a', 1],
                ['b', [2, 3]],
            ]),
            'a26161016162820203',
        ],
        [100000.0, '1a000186a0'],
        [3.4028234663852886e38, 'fa7f7fffff'],
        [1.1, 'fb3ff199999999999a'],
    ];
    for (const [value, bytes] of both) {
        test(`${bytes}`, () => {
            assert.equal(toHex(encodeCbor(value)), bytes);
            assert.deepEqual(decodeCbor(hex(bytes)), value);
        });
    }

    test('decoding only: half floats, indefinite lengths', () => {
        assert.equal(decodeCbor(hex('f93e00')), 1.5);
        assert.equal(decodeCbor(hex('f97c00')), Number.POSITIVE_INFINITY);
        assert.ok(Number.isNaN(decodeCbor(hex('f97e00')) as number));
        assert.equal(decodeCbor(hex('f90001')), 2 ** -24);
        assert.deepEqual(decodeCbor(hex('9f018202039f0405ffff')), [1, [2, 3], [4, 5]]);
        assert.deepEqual(decodeCbor(hex('5f42010243030405ff')), hex('0102030405'));
        assert.equal(decodeCbor(hex('7f657374726561646d696e67ff')), 'streaming');
        assert.deepEqual(
            decodeCbor(hex('bf6346756ef563416d7421ff')),
            new Map<CborValue, CborValue>([
                ['Fun', true],
                ['Amt', -2],
            ]),
        );
    });

    test('bad input: truncation, trailing bytes, tags, reserved values, duplicates, bad UTF-8', () => {
        refused(() => decodeCbor(hex('19 03')), 'truncated', /cut short/);
        refused(() => decodeCbor(hex('62 61')), 'truncated', /cut short/);
        refused(() => decodeCbor(hex('00 00')), 'malformed', /1 bytes after/);
        refused(() => decodeCbor(hex('c1 1a 514b67b0')), 'malformed', /tags/);
        refused(() => decodeCbor(hex('1c')), 'malformed', /reserved/);
        refused(() => decodeCbor(hex('a2 6161 01 6161 02')), 'malformed', /duplicate CBOR map key a/);
        refused(() => decodeCbor(hex('62 c3 28')), 'bad-value', /UTF-8/);
        refused(() => decodeCbor(hex('ff')), 'malformed', /unexpected break/);
        refused(() => decodeCbor(hex('5f 61 61 ff')), 'malformed', /chunk of another type/);
        refused(() => decodeCbor(hex('a1 80 01')), 'malformed', /simple values/);
        refused(() => decodeCbor(hex('f0')), 'malformed', /simple value 16/);
    });

    test('hostile sizes: a claimed length beyond the payload, deep nesting, too many items', () => {
        refused(() => decodeCbor(hex('5b ffffffffffffffff 00')), 'truncated', /longer than the payload/);
        refused(() => decodeCbor(hex('9b 00000000ffffffff')), 'truncated', /longer than the payload/);
        refused(() => decodeCbor(new Uint8Array(100).fill(0x81)), 'limit', /deeper than 16/);
        const many = new Uint8Array(3 + 200_001);
        many.set([0x9f], 0);
        many.fill(0x00, 1, 200_002);
        many[200_002] = 0xff;
        refused(() => decodeCbor(many.subarray(0, 200_003)), 'limit', /too many CBOR items/);
    });
});

describe('SenML CBOR', () => {
    test('labels per RFC 8428 Table 4, and the same records as SenML JSON', () => {
        const json = '[{"bn":"/3316/0/","n":"5700","v":12.5},{"n":"5701","vs":"V"}]';
        const records = decodeSenmlJson(json);
        const bytes = encodeSenmlCbor(records);
        assert.equal(
            toHex(bytes),
            `82a3216${'8'}${Buffer.from('/3316/0/').toString('hex')}0064${Buffer.from('5700').toString('hex')}02fa41480000a2006${'4'}${Buffer.from('5701').toString('hex')}036156`,
        );
        assert.deepEqual(decodeSenmlCbor(bytes), records);
    });

    test('opaque as a byte string, objlnk under the text key vlo, booleans and times', () => {
        const records: SenmlRecord[] = [
            { path: { objectId: 3, instanceId: 0, resourceId: 22 }, value: { kind: 'opaque', value: hex('fbff00') } },
            {
                path: { objectId: 42769, instanceId: 0, resourceId: 1 },
                value: { kind: 'objlnk', value: { objectId: 3316, instanceId: 1 } },
            },
            {
                path: { objectId: 3201, instanceId: 0, resourceId: 5550 },
                value: { kind: 'boolean', value: false },
                time: 1_796_378_400,
            },
        ];
        const bytes = encodeSenmlCbor(records);
        assert.ok(toHex(bytes).includes('0843fbff00'), 'vd (8) as a 3-byte string');
        assert.ok(toHex(bytes).includes(Buffer.from('vlo').toString('hex')), 'vlo as text');
        assert.deepEqual(decodeSenmlCbor(bytes), records);
        assert.deepEqual(
            decodeSenmlCbor(bytes).map((r) => formatPath(r.path)),
            ['/3/0/22', '/42769/0/1', '/3201/0/5550'],
        );
    });

    test('bad packs', () => {
        refused(() => decodeSenmlCbor(encodeCbor(new Map())), 'malformed', /CBOR array of maps/);
        refused(() => decodeSenmlCbor(encodeCbor([1])), 'malformed', /record 0 is not a map/);
        refused(
            () =>
                decodeSenmlCbor(
                    encodeCbor([
                        new Map<CborValue, CborValue>([
                            [0, '/3/0/1'],
                            [8, 'AAA'],
                        ]),
                    ]),
                ),
            'bad-value',
            /byte string/,
        );
        refused(
            () =>
                decodeSenmlCbor(
                    encodeCbor([
                        new Map<CborValue, CborValue>([
                            [0, '/3/0/1'],
                            [-20, 1],
                        ]),
                    ]),
                ),
            'malformed',
            /must be understood/,
        );
        refused(
            () =>
                decodeSenmlCbor(
                    encodeCbor([
                        new Map<CborValue, CborValue>([
                            [0, '/3/0/1'],
                            [2, 1],
                            [3, 'x'],
                        ]),
                    ]),
                ),
            'malformed',
            /one value only/,
        );
    });
});
