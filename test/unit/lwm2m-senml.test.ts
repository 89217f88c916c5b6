/** LwM2M SenML JSON (110) and paths, LwM2M JSON (11543): the design note's example, every value kind, refusals of bad packs. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
    decodeLwm2mJson,
    decodeSenmlJson,
    encodeSenmlJson,
    formatPath,
    parsePath,
    type SenmlRecord,
} from '../../src/protocols/lwm2m';
import { refused } from '../support/lwm2m';

describe('paths', () => {
    test('parse and format', () => {
        assert.deepEqual(parsePath('/3316/0/5700'), { objectId: 3316, instanceId: 0, resourceId: 5700 });
        assert.deepEqual(parsePath('3/0/7/1'), { objectId: 3, instanceId: 0, resourceId: 7, resourceInstanceId: 1 });
        assert.deepEqual(parsePath('/'), {});
        assert.equal(formatPath({ objectId: 3316, instanceId: 0 }), '/3316/0');
        assert.equal(formatPath({}), '/');
        refused(() => parsePath('/3/0/7/1/2'), 'malformed', /more than 4/);
        refused(() => parsePath('/3/x'), 'malformed', /'x' is not an ID/);
        refused(() => parsePath('/65535'), 'malformed', /0\.\.65534/);
        refused(() => parsePath('/03'), 'malformed', /'03'/);
    });
});

describe('SenML JSON', () => {
    test("the design note's Read of /3316/0", () => {
        const text =
            '[{"bn":"/3316/0/","n":"5700","v":12.5},{"n":"5701","vs":"V"},{"n":"5601","v":11.9},{"n":"5602","v":14.4}]';
        const records = decodeSenmlJson(text);
        assert.deepEqual(
            records.map((r) => [formatPath(r.path), r.value?.value]),
            [
                ['/3316/0/5700', 12.5],
                ['/3316/0/5701', 'V'],
                ['/3316/0/5601', 11.9],
                ['/3316/0/5602', 14.4],
            ],
        );
        assert.equal(encodeSenmlJson(records), text);
    });

    test('every value kind, resource instances and times round-trip', () => {
        const records: SenmlRecord[] = [
            { path: parsePath('/3/0/0'), value: { kind: 'string', value: 'DERlink' } },
            { path: parsePath('/3/0/7/1'), value: { kind: 'number', value: 3800 } },
            { path: parsePath('/3201/0/5550'), value: { kind: 'boolean', value: true } },
            { path: parsePath('/3/0/22'), value: { kind: 'opaque', value: Uint8Array.of(0xfb, 0xff, 0) } },
            { path: parsePath('/42769/0/1'), value: { kind: 'objlnk', value: { objectId: 3316, instanceId: 1 } } },
            { path: parsePath('/3316/0/5700'), value: { kind: 'number', value: 12.5 }, time: 1_764_800_000 },
        ];
        const text = encodeSenmlJson(records);
        assert.match(text, /^\[\{"bn":"\/"/);
        assert.match(text, /"vd":"-_8A"/);
        assert.match(text, /"vlo":"3316:1"/);
        assert.deepEqual(decodeSenmlJson(text), records);
    });

    test('base time and relative times (RFC 8428 §4.5.3)', () => {
        const [a, b] = decodeSenmlJson('[{"bn":"/3/0/","bt":1764800000,"n":"13","v":1,"t":-10},{"n":"13","v":2}]');
        assert.equal(a?.time, 1_764_799_990);
        assert.equal(b?.time, 1_764_800_000);
        const [rel] = decodeSenmlJson('[{"bn":"/3/0/13","v":1,"t":-5}]');
        assert.ok(rel?.time && Math.abs(rel.time - (Date.now() / 1000 - 5)) < 2, 'relative to now');
    });

    test('names only (a Read-Composite request) carry no value', () => {
        const r = decodeSenmlJson('[{"n":"/3/0/0"},{"n":"/3316/0"}]');
        assert.deepEqual(
            r.map((x) => [formatPath(x.path), x.value]),
            [
                ['/3/0/0', undefined],
                ['/3316/0', undefined],
            ],
        );
    });

    test('bad packs are refused with a reason', () => {
        refused(() => decodeSenmlJson('{"bn":"/3/0/"}'), 'malformed', /JSON array/);
        refused(() => decodeSenmlJson('[{"bn":'), 'malformed', /does not parse/);
        refused(() => decodeSenmlJson('[5]'), 'malformed', /record 0 is not an object/);
        refused(() => decodeSenmlJson('[{"n":"/3/0/1","v":1,"vs":"x"}]'), 'malformed', /v and vs: one value only/);
        refused(() => decodeSenmlJson('[{"n":"/3/0/1","v":"1"}]'), 'bad-value', /v must be a number/);
        refused(() => decodeSenmlJson('[{"n":"/3/0/1","vb":1}]'), 'bad-value', /vb must be true or false/);
        refused(() => decodeSenmlJson('[{"n":"/3/0/1","vd":"!!"}]'), 'bad-value', /base64url/);
        refused(() => decodeSenmlJson('[{"n":"/3/0/1","vlo":"3-0"}]'), 'bad-value', /object:instance/);
        refused(() => decodeSenmlJson('[{"n":"/3/0/1","v":1,"crit_":1}]'), 'malformed', /must be understood/);
        refused(() => decodeSenmlJson('[{"v":1}]'), 'malformed', /no name/);
        refused(() => decodeSenmlJson('[{"n":"/3/0/1/2/3","v":1}]'), 'malformed', /more than 4/);
        refused(() => decodeSenmlJson('[{"n":"/3/0/1","v":1,"t":"now"}]'), 'malformed', /t must be a number/);
    });

    test('hostile sizes', () => {
        const many = JSON.stringify(Array.from({ length: 20_001 }, () => ({ n: '/3/0/1', v: 1 })));
        refused(() => decodeSenmlJson(many), 'limit', /20001 records exceeds 10000/);
        refused(
            () => decodeSenmlJson(`[{"n":"/3/0/1","vs":"${'x'.repeat(2_000_000)}"}]`),
            'limit',
            /characters exceeds/,
        );
        assert.deepEqual(decodeSenmlJson('[]'), []);
    });
});

describe('LwM2M JSON (11543, decoding)', () => {
    test('a Read of /3/0 in the 1.0 format', () => {
        const r = decodeLwm2mJson(
            '{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"9","v":100},{"n":"22","bv":true},{"n":"27","ov":"3316:0"}]}',
        );
        assert.deepEqual(
            r.map((x) => [formatPath(x.path), x.value?.kind, x.value?.value]),
            [
                ['/3/0/0', 'string', 'Open Mobile Alliance'],
                ['/3/0/6/0', 'number', 1],
                ['/3/0/6/1', 'number', 5],
                ['/3/0/9', 'number', 100],
                ['/3/0/22', 'boolean', true],
                ['/3/0/27', 'objlnk', { objectId: 3316, instanceId: 0 }],
            ],
        );
    });

    test('bad documents are refused', () => {
        refused(() => decodeLwm2mJson('[1]'), 'malformed', /object with bn and e/);
        refused(() => decodeLwm2mJson('{"bn":"/3/0/"}'), 'malformed', /'e' array/);
        refused(() => decodeLwm2mJson('{"bn":3,"e":[]}'), 'malformed', /bn must be text/);
        refused(() => decodeLwm2mJson('{"e":[{"n":"/3/0/1","xv":1}]}'), 'malformed', /unknown key 'xv'/);
        refused(() => decodeLwm2mJson('{"e":[{"n":"/3/0/1","v":"1"}]}'), 'bad-value', /v must be a number/);
        refused(() => decodeLwm2mJson('{"e":'), 'malformed', /does not parse/);
    });
});
