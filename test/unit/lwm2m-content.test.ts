import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    CONTENT_FORMATS,
    decodeContent,
    encodeContent,
    entriesToTree,
    type ResourceEntry,
    treeToEntries,
    typeLookup,
} from '../../src/protocols/lwm2m/content';
import { OBJECTS } from '../../src/protocols/lwm2m/objects';
import { parsePath } from '../../src/protocols/lwm2m/path';
import { refused } from '../support/lwm2m';

const typeOf = typeLookup(OBJECTS);
const F = CONTENT_FORMATS;
const p = parsePath;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const voltage0: ResourceEntry[] = [
    { path: p('/3316/0/5700'), value: 12.5 },
    { path: p('/3316/0/5701'), value: 'V' },
    { path: p('/3316/0/5601'), value: 11.9 },
];

describe('LwM2M content: every value format to and from entries', () => {
    it('writes the design note vector for a port switch: TLV e1 15 ae 01 and text 1', () => {
        const e = [{ path: p('/3201/0/5550'), value: true }];
        assert.equal(hex(encodeContent(F.tlv, p('/3201/0/5550'), e, typeOf)), 'e115ae01');
        assert.equal(Buffer.from(encodeContent(F.text, p('/3201/0/5550'), e, typeOf)).toString(), '1');
        assert.deepEqual(decodeContent(F.tlv, p('/3201/0/5550'), Buffer.from('e115ae01', 'hex'), typeOf), e);
        assert.deepEqual(decodeContent(F.text, p('/3201/0/5550'), Buffer.from('0'), typeOf), [
            { path: p('/3201/0/5550'), value: false },
        ]);
    });

    it('round-trips an instance, an object and a multiple resource through TLV, SenML JSON and SenML CBOR', () => {
        const object: ResourceEntry[] = [...voltage0, { path: p('/3316/1/5700'), value: 48.25 }];
        const device: ResourceEntry[] = [
            { path: p('/3/0/0'), value: 'Clear Blue' },
            { path: p('/3/0/6/0'), value: 1 },
            { path: p('/3/0/6/1'), value: 5 },
            { path: p('/3/0/13'), value: new Date(1_700_000_000_000) },
        ];
        for (const format of [F.tlv, F.senmlJson, F.senmlCbor]) {
            for (const [path, entries] of [
                ['/3316/0', voltage0],
                ['/3316', object],
                ['/3/0', device],
                ['/3/0/6', device.slice(1, 3)],
            ] as const) {
                const bytes = encodeContent(format, p(path), entries, typeOf);
                assert.deepEqual(decodeContent(format, p(path), bytes, typeOf), entries, `${format} ${path}`);
            }
        }
    });

    it('nests TLV relative to the request path: instances under an object, resources under an instance', () => {
        const atObject = encodeContent(F.tlv, p('/3316'), voltage0, typeOf);
        assert.equal((atObject[0] as number) >> 6, 0b00, 'object instance TLV first');
        const atInstance = encodeContent(F.tlv, p('/3316/0'), voltage0, typeOf);
        assert.equal((atInstance[0] as number) >> 6, 0b11, 'resource TLV first');
        // An instance-level payload wrapped in its instance TLV is accepted too.
        assert.deepEqual(decodeContent(F.tlv, p('/3316/0'), atObject, typeOf), voltage0);
    });

    it('reads SenML JSON as the design note shows it, and LwM2M JSON 11543', () => {
        const text =
            '[{"bn":"/3316/0/","n":"5700","v":12.5},{"n":"5701","vs":"V"},{"n":"5601","v":11.9},{"n":"5602","v":14.4}]';
        const got = decodeContent(F.senmlJson, p('/3316/0'), Buffer.from(text), typeOf);
        assert.deepEqual(
            got.map((e) => e.value),
            [12.5, 'V', 11.9, 14.4],
        );
        const old = '{"bn":"/3316/0/","e":[{"n":"5700","v":3.5},{"n":"5701","sv":"V"}]}';
        assert.deepEqual(decodeContent(F.lwm2mJson, p('/3316/0'), Buffer.from(old), typeOf), [
            { path: p('/3316/0/5700'), value: 3.5 },
            { path: p('/3316/0/5701'), value: 'V' },
        ]);
    });

    it('carries single values as text, opaque and CBOR', () => {
        const at = p('/3316/0/5700');
        const cbor = encodeContent(F.cbor, at, [{ path: at, value: 12.5 }], typeOf);
        assert.deepEqual(decodeContent(F.cbor, at, cbor, typeOf), [{ path: at, value: 12.5 }]);
        const key = p('/0/0/5');
        const secret = Uint8Array.of(1, 2, 3);
        assert.deepEqual(encodeContent(F.opaque, key, [{ path: key, value: secret }], typeOf), secret);
        const time = p('/3/0/13');
        assert.equal(
            Buffer.from(encodeContent(F.text, time, [{ path: time, value: new Date(5000) }], typeOf)).toString(),
            '5',
        );
    });

    it('refuses what a format cannot carry, values of the wrong type and paths outside the request', () => {
        refused(() => encodeContent(F.text, p('/3316/0'), voltage0, typeOf), 'wrong-type', /carries one value, not 3/);
        refused(
            () => encodeContent(F.opaque, p('/3316/0/5700'), [voltage0[0] as ResourceEntry], typeOf),
            'wrong-type',
            /is float, not opaque/,
        );
        refused(
            () => encodeContent(F.tlv, p('/3316/0'), [{ path: p('/3316/0/5700'), value: 'twelve' }], typeOf),
            'wrong-type',
            /float needs a number/,
        );
        refused(
            () => decodeContent(F.senmlJson, p('/3316/0'), Buffer.from('[{"bn":"/3316/1/","n":"5700","v":1}]'), typeOf),
            'malformed',
            /lies outside \/3316\/0/,
        );
        refused(
            () =>
                decodeContent(
                    F.senmlJson,
                    p('/3316/0'),
                    Buffer.from('[{"bn":"/3316/0/","n":"5700","vs":"x"}]'),
                    typeOf,
                ),
            'wrong-type',
            /is float; the record holds a string/,
        );
        refused(() => decodeContent(F.text, p('/3316/0/5700'), Buffer.from('abc'), typeOf), 'bad-value', /decimal/);
        refused(
            () => decodeContent(F.text, p('/3316/0/5700'), Uint8Array.of(0xff, 0xfe), typeOf),
            'bad-value',
            /UTF-8/,
        );
        refused(() => decodeContent(9999, p('/3316/0'), Uint8Array.of(1), typeOf), 'malformed', /format 9999/);
        refused(() => decodeContent(F.tlv, p('/3316/0'), Uint8Array.of(0xc8, 0x10), typeOf), 'truncated', /./);
        refused(
            () => decodeContent(F.tlv, p('/3316/0'), new Uint8Array(2_000_000), typeOf),
            'limit',
            /exceeds 1048576/,
        );
    });

    it('takes a bare-resource TLV on Create when the caller names the instance', () => {
        const payload = encodeContent(F.tlv, p('/3316/0'), voltage0, typeOf);
        refused(() => decodeContent(F.tlv, p('/3316'), payload, typeOf), 'malformed', /directly under object 3316/);
        const got = decodeContent(F.tlv, p('/3316'), payload, typeOf, { defaultInstanceId: 4 });
        assert.deepEqual(
            got.map((e) => e.path.instanceId),
            [4, 4, 4],
        );
    });
});

describe('LwM2M content: the plain values flows see', () => {
    it('gives one value for a resource and objects keyed by ID above it', () => {
        assert.equal(entriesToTree(p('/3316/0/5700'), [voltage0[0] as ResourceEntry]), 12.5);
        assert.deepEqual(entriesToTree(p('/3316/0'), voltage0), { 5700: 12.5, 5701: 'V', 5601: 11.9 });
        assert.deepEqual(entriesToTree(p('/3316'), voltage0), { 0: { 5700: 12.5, 5701: 'V', 5601: 11.9 } });
        assert.deepEqual(
            entriesToTree(p('/3/0/6'), [
                { path: p('/3/0/6/0'), value: 1 },
                { path: p('/3/0/6/1'), value: 5 },
            ]),
            { 0: 1, 1: 5 },
        );
        assert.equal(entriesToTree(p('/3/0/1'), [{ path: p('/3/0/1'), value: 2n ** 60n }]), '1152921504606846976');
    });

    it('turns a flow value back into typed entries, coercing plain text', () => {
        assert.deepEqual(treeToEntries(p('/3316/0'), { 5700: '12.5', 5701: 'V' }, typeOf), [
            { path: p('/3316/0/5700'), value: 12.5 },
            { path: p('/3316/0/5701'), value: 'V' },
        ]);
        assert.deepEqual(treeToEntries(p('/3201/0/5550'), 'true', typeOf), [{ path: p('/3201/0/5550'), value: true }]);
        assert.deepEqual(treeToEntries(p('/3/0/6'), [1, 5], typeOf), [
            { path: p('/3/0/6/0'), value: 1 },
            { path: p('/3/0/6/1'), value: 5 },
        ]);
        refused(() => treeToEntries(p('/3316/0'), { 5700: 'high' }, typeOf), 'wrong-type', /\/3316\/0\/5700 is float/);
        refused(() => treeToEntries(p('/3316/0'), 5, typeOf), 'wrong-type', /needs an object keyed by resourceIds/);
        refused(() => treeToEntries(p('/3316/0'), { abc: 1 }, typeOf), 'malformed', /key 'abc' is not an ID/);
        const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [String(i), 1]));
        refused(() => treeToEntries(p('/3/0/6'), many, typeOf, 10), 'limit', /more than 10 values/);
    });
});
