/** The LwM2M device object tree: DM and bootstrap semantics on the built-in objects (0, 1, 3, 3201, 3316, 3317). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OBJECTS } from '../../src/protocols/lwm2m';
import type { ResourceEntry } from '../../src/protocols/lwm2m/content';
import { coerceValue, type DmResult, ObjectTree } from '../../src/protocols/lwm2m/device-tree';
import { encodeLinkFormat } from '../../src/protocols/lwm2m/link-format';
import type { Lwm2mPath } from '../../src/protocols/lwm2m/path';
import type { ResourceValue } from '../../src/protocols/lwm2m/tlv';
import { refused } from '../support/lwm2m';

const p = (o: number, i?: number, r?: number, ri?: number): Lwm2mPath => {
    const out: Lwm2mPath = { objectId: o };
    if (i !== undefined) out.instanceId = i;
    if (r !== undefined) out.resourceId = r;
    if (ri !== undefined) out.resourceInstanceId = ri;
    return out;
};
const e = (path: Lwm2mPath, value: ResourceValue): ResourceEntry => ({ path, value });

function value<T>(r: DmResult<T>): T {
    if (!r.ok) assert.fail(`expected success, got ${r.code} ${r.message}`);
    return r.value;
}

function refusedWith(r: DmResult<unknown>, code: string, message?: RegExp): void {
    assert.equal(r.ok, false, 'expected a refusal');
    if (r.ok) return;
    assert.equal(r.code, code, r.message);
    if (message) assert.match(r.message, message);
}

/** A client with a bootstrap account, one DM server, the Device and two voltage sensors. */
function client(): ObjectTree {
    const t = new ObjectTree(OBJECTS);
    t.addInstance(0, 0, {
        0: 'coaps://bs.example:5684',
        1: true,
        2: 3,
        3: new Uint8Array(),
        4: new Uint8Array(),
        5: Uint8Array.of(9, 9),
    });
    t.addInstance(0, 1, {
        0: 'coap://dm.example',
        1: false,
        2: 3,
        3: new Uint8Array(),
        4: new Uint8Array(),
        5: new Uint8Array(),
        10: 101,
    });
    t.addInstance(1, 0, { 0: 101, 1: 300, 6: false, 7: 'U' });
    t.addInstance(3, 0, { 0: 'DERlink', 11: [0], 16: 'U', 6: [1, 5], 13: new Date(1_700_000_000_000) });
    t.addInstance(3316, 0, { 5700: 230.5, 5701: 'V' });
    t.addInstance(3316, 1, { 5700: 231, 5701: 'V', 5750: 'port 2' });
    t.addInstance(3201, 0, { 5550: false });
    return t;
}

describe('local access', () => {
    test('addInstance, get, set, instances and change events', () => {
        const t = client();
        assert.deepEqual(t.instances(3316), [0, 1]);
        assert.deepEqual(t.instances(3317), []);
        assert.deepEqual(t.instances(9999), []);
        assert.equal(t.get('/3316/0/5700'), 230.5);
        assert.deepEqual(
            t.get('/3/0/6'),
            new Map([
                [0, 1],
                [1, 5],
            ]),
        );
        assert.equal(t.get('/3/0/6/1'), 5);
        assert.equal(t.get('/3316/0/5601'), undefined);
        const seen: [string, ResourceValue | undefined][] = [];
        const off = t.onChange((path, v) =>
            seen.push([
                `/${path.objectId}/${path.instanceId}/${path.resourceId}${path.resourceInstanceId === undefined ? '' : `/${path.resourceInstanceId}`}`,
                v,
            ]),
        );
        assert.equal(t.set('/3316/0/5700', 229), true);
        assert.equal(t.set('/3316/0/5700', 229), false, 'same value: no change');
        assert.equal(t.set(p(3, 0, 6), { 0: 1, 2: 7 }), true);
        assert.equal(t.set('/3/0/7/0', 3300), true);
        off();
        t.set('/3316/0/5700', 1);
        assert.deepEqual(seen, [
            ['/3316/0/5700', 229],
            ['/3/0/6/1', undefined],
            ['/3/0/6/2', 7],
            ['/3/0/7/0', 3300],
        ]);
    });

    test('local refusals throw Lwm2mError', () => {
        const t = client();
        refused(() => t.addInstance(9999, 0), 'bad-value', /object 9999 is not defined/);
        refused(() => t.addInstance(3316, 0), 'bad-value', /\/3316\/0 exists/);
        refused(() => t.addInstance(3, 1), 'bad-value', /single-instance/);
        refused(() => t.addInstance(3316, 5, { 1234: 1 }), 'bad-value', /resource 1234 is not defined/);
        refused(() => t.addInstance(3316, 5, { 5700: 'high' }), 'wrong-type', /float needs a number, got string/);
        refused(() => t.addInstance(3, 0, {}), 'bad-value', /exists/);
        refused(() => t.set('/3316/0/5700', Number.NaN), 'wrong-type', /finite/);
        refused(() => t.set('/3316/9/5700', 1), 'bad-value', /does not exist/);
        refused(() => t.set('/3316/0', 1), 'bad-value', /resource path/);
        refused(() => t.set('/3316/0/5605', 1), 'bad-value', /executable/);
        refused(() => t.set('/3/0/6', 5), 'wrong-type', /multiple resource/);
        refused(() => t.set('/3316/0/5700/0', 1), 'bad-value', /single/);
        assert.deepEqual(t.instances(3316), [0, 1], 'refused addInstance left nothing behind');
    });

    test('values are kept in their canonical forms', () => {
        const t = client();
        t.set('/3/0/13', 1_700_000_123);
        assert.deepEqual(t.get('/3/0/13'), new Date(1_700_000_123_000), 'time in seconds becomes a Date');
        t.set('/3/0/13', new Date(1_700_000_123_999));
        assert.deepEqual(t.get('/3/0/13'), new Date(1_700_000_123_000), 'whole seconds');
        t.set('/3/0/10', 2n ** 40n);
        assert.equal(t.get('/3/0/10'), 2 ** 40, 'a safe bigint becomes a number');
        t.set('/3/0/10', 2n ** 60n);
        assert.equal(t.get('/3/0/10'), 2n ** 60n);
        t.set('/1/0/10', { objectId: 65535, instanceId: 65535 });
        assert.equal(t.get('/1/0/10'), null, 'the null objlnk is null');
        const bytes = Uint8Array.of(1, 2, 3);
        t.set('/0/1/3', bytes);
        bytes[0] = 99;
        assert.deepEqual(t.get('/0/1/3'), Uint8Array.of(1, 2, 3), 'opaque is copied');
    });
});

describe('coerceValue', () => {
    const bad = (type: Parameters<typeof coerceValue>[0], v: unknown, why: RegExp) => {
        const r = coerceValue(type, v);
        assert.ok('error' in r, `${type} ${String(v)} accepted`);
        assert.match(r.error, why);
    };
    test('refuses values of the wrong type or out of range', () => {
        bad('string', 1, /text/);
        bad('integer', 1.5, /whole number/);
        bad('integer', 2n ** 63n, /64-bit/);
        bad('integer', '1', /integer/);
        bad('unsigned', -1, /unsigned/);
        bad('unsigned', 2n ** 64n, /unsigned/);
        bad('float', Number.NaN, /finite/);
        bad('float', Number.POSITIVE_INFINITY, /finite/);
        bad('float', 1n, /number/);
        bad('boolean', 1, /true or false/);
        bad('opaque', 'abc', /bytes/);
        bad('opaque', new Uint8Array(70_000), /exceeds/);
        bad('string', 'x'.repeat(70_000), /bytes/);
        bad('time', 'now', /Date or whole seconds/);
        bad('time', new Date(Number.NaN), /valid date/);
        bad('objlnk', { objectId: 3 }, /objlnk/);
        bad('objlnk', { objectId: 3, instanceId: 70_000 }, /objlnk/);
        bad('none', null, /executable/);
    });
    test('accepts the canonical forms', () => {
        assert.deepEqual(coerceValue('unsigned', 2n ** 64n - 1n), { value: 2n ** 64n - 1n });
        assert.deepEqual(coerceValue('integer', -5), { value: -5 });
        assert.deepEqual(coerceValue('corelnk', '</3/0>'), { value: '</3/0>' });
        assert.deepEqual(coerceValue('objlnk', { objectId: 3, instanceId: 0 }), {
            value: { objectId: 3, instanceId: 0 },
        });
    });
});

describe('Read', () => {
    test('a resource, a resource instance, an instance and an object', () => {
        const t = client();
        assert.deepEqual(value(t.read('/3316/0/5700', 'server')), [e(p(3316, 0, 5700), 230.5)]);
        assert.deepEqual(value(t.read('/3/0/6/1', 'server')), [e(p(3, 0, 6, 1), 5)]);
        assert.deepEqual(value(t.read('/3/0/6', 'server')), [e(p(3, 0, 6, 0), 1), e(p(3, 0, 6, 1), 5)]);
        assert.deepEqual(value(t.read('/3316/1', 'server')), [
            e(p(3316, 1, 5700), 231),
            e(p(3316, 1, 5701), 'V'),
            e(p(3316, 1, 5750), 'port 2'),
        ]);
        const all = value(t.read('/3316', 'server'));
        assert.deepEqual(
            all.map((x) => [x.path.instanceId, x.path.resourceId]),
            [
                [0, 5700],
                [0, 5701],
                [1, 5700],
                [1, 5701],
                [1, 5750],
            ],
        );
        assert.deepEqual(value(t.read('/3317', 'server')), [], 'an object without instances reads empty');
    });

    test('what does not exist is 4.04', () => {
        const t = client();
        refusedWith(t.read('/9999', 'server'), '4.04');
        refusedWith(t.read('/3316/7', 'server'), '4.04', /instance 7/);
        refusedWith(t.read('/3316/0/1234', 'server'), '4.04', /not defined/);
        refusedWith(t.read('/3316/0/5601', 'server'), '4.04', /not present/);
        refusedWith(t.read('/3/0/6/9', 'server'), '4.04');
        refusedWith(t.read('/3316/0/5700/0', 'server'), '4.04');
    });

    test('operations: Execute resources 4.05, the root 4.05, bad paths 4.00', () => {
        const t = client();
        refusedWith(t.read('/3/0/4', 'server'), '4.05', /executable/);
        refusedWith(t.read('/', 'server'), '4.05');
        refusedWith(t.read('/3/x', 'server'), '4.00');
        refusedWith(t.read({ objectId: 3, resourceId: 1 }, 'server'), '4.00', /gap/);
    });

    test('the Security object is hidden from servers (4.04), readable locally', () => {
        const t = client();
        refusedWith(t.read('/0', 'server'), '4.04');
        refusedWith(t.read('/0/1', 'server'), '4.04');
        refusedWith(t.read('/0/1/5', 'server'), '4.04');
        assert.deepEqual(value(t.read('/0/0/5', 'local')), [e(p(0, 0, 5), Uint8Array.of(9, 9))]);
    });

    test('a server skips resources without R when reading an instance; local does not', () => {
        const defs = new Map(OBJECTS);
        const base = OBJECTS.get(3201);
        assert.ok(base);
        defs.set(3201, {
            ...base,
            resources: base.resources.map((r) => (r.id === 5750 ? { ...r, operations: 'W' as const } : r)),
        });
        const t = new ObjectTree(defs);
        t.addInstance(3201, 0, { 5550: true, 5750: 'secret' });
        assert.deepEqual(value(t.read('/3201/0', 'server')), [e(p(3201, 0, 5550), true)]);
        refusedWith(t.read('/3201/0/5750', 'server'), '4.05', /not readable/);
        assert.equal(value(t.read('/3201/0', 'local')).length, 2);
    });

    test('Bootstrap-Read only on objects 1 and 2', () => {
        const t = client();
        assert.ok(value(t.read('/1/0', 'bootstrap')).length >= 4);
        refusedWith(t.read('/3/0', 'bootstrap'), '4.05', /objects 1 and 2/);
        refusedWith(t.read('/0', 'bootstrap'), '4.05');
    });

    test('reads return copies', () => {
        const t = client();
        const [entry] = value(t.read('/0/0/5', 'local'));
        (entry?.value as Uint8Array)[0] = 0;
        assert.deepEqual(t.get('/0/0/5'), Uint8Array.of(9, 9));
    });
});

describe('Write', () => {
    test('replace on a resource, update on an instance', () => {
        const t = client();
        assert.deepEqual(value(t.write('/3316/0/5821', [e(p(3316, 0, 5821), 1.5)], 'replace', 'server')), [
            p(3316, 0, 5821),
        ]);
        assert.equal(t.get('/3316/0/5821'), 1.5);
        assert.deepEqual(
            value(t.write('/3316/1', [e(p(3316, 1, 5821), 2), e(p(3316, 1, 5750), 'port 2')], 'update', 'server')),
            [p(3316, 1, 5821)],
            'only what changed is reported',
        );
        assert.equal(t.get('/3316/1/5750'), 'port 2');
    });

    test('replace on an instance drops the optional writable resources not given', () => {
        const t = client();
        t.set('/3316/1/5821', 0.5);
        const changed = value(t.write('/3316/1', [e(p(3316, 1, 5750), 'feed')], 'replace', 'server'));
        assert.deepEqual(changed, [p(3316, 1, 5750), p(3316, 1, 5821)]);
        assert.equal(t.get('/3316/1/5821'), undefined, 'optional RW resource removed');
        assert.equal(t.get('/3316/1/5700'), 231, 'read-only value kept');
        assert.equal(t.get('/3316/1/5701'), 'V');
        // update keeps what is not given
        t.set('/3316/0/5821', 0.5);
        value(t.write('/3316/0', [e(p(3316, 0, 5750), 'x')], 'update', 'server'));
        assert.equal(t.get('/3316/0/5821'), 0.5);
    });

    test('multiple resources: replace replaces all instances, update adds', () => {
        const t = client();
        t.addInstance(1, 1, { 0: 102, 1: 60, 6: true, 7: 'U', 25: ['1.0', '1.1'] });
        value(t.write('/1/1/25', [e(p(1, 1, 25, 5), '1.2')], 'replace', 'server'));
        assert.deepEqual(t.get('/1/1/25'), new Map([[5, '1.2']]));
        value(t.write('/1/1/25', [e(p(1, 1, 25, 0), '1.0')], 'update', 'server'));
        assert.deepEqual(
            t.get('/1/1/25'),
            new Map([
                [0, '1.0'],
                [5, '1.2'],
            ]),
        );
        value(t.write('/1/1/25/5', [e(p(1, 1, 25, 5), '1.3')], 'replace', 'server'));
        assert.deepEqual(
            t.get('/1/1/25'),
            new Map([
                [0, '1.0'],
                [5, '1.3'],
            ]),
            'a resource-instance write keeps the others',
        );
        value(t.write('/1/1/25', [], 'replace', 'server'));
        assert.deepEqual(t.get('/1/1/25'), new Map(), 'replace with nothing empties it');
    });

    test('operations: R-only and Execute resources refuse with 4.05, objects too', () => {
        const t = client();
        refusedWith(t.write('/3316/0/5700', [e(p(3316, 0, 5700), 1)], 'replace', 'server'), '4.05', /not writable/);
        refusedWith(t.write('/3316/0', [e(p(3316, 0, 5700), 1)], 'update', 'server'), '4.05', /not writable/);
        refusedWith(t.write('/3/0/4', [], 'replace', 'server'), '4.05', /executable/);
        refusedWith(t.write('/3316', [e(p(3316, 0, 5821), 1)], 'update', 'server'), '4.05', /object/);
        refusedWith(t.write('/', [], 'update', 'server'), '4.05');
        assert.equal(t.get('/3316/0/5700'), 230.5);
    });

    test('what does not exist is 4.04; a payload naming an undefined resource 4.00', () => {
        const t = client();
        refusedWith(t.write('/9999/0', [], 'update', 'server'), '4.04');
        refusedWith(t.write('/3316/5', [e(p(3316, 5, 5821), 1)], 'update', 'server'), '4.04', /instance 5/);
        refusedWith(t.write('/3316/0/1234', [e(p(3316, 0, 1234), 1)], 'replace', 'server'), '4.04', /not defined/);
        refusedWith(t.write('/3316/0', [e(p(3316, 0, 1234), 1)], 'update', 'server'), '4.00', /1234 is not defined/);
        refusedWith(t.write('/0/1', [e(p(0, 1, 0), 'coap://evil')], 'update', 'server'), '4.04');
        assert.equal(t.get('/0/1/0'), 'coap://dm.example');
    });

    test('wrong JavaScript types and bad entries are 4.00, and nothing changes', () => {
        const t = client();
        const good = e(p(3316, 0, 5750), 'changed');
        const cases: [ResourceEntry[], RegExp][] = [
            [[good, e(p(3316, 0, 5821), 'high')], /float needs a number, got string/],
            [[good, e(p(3316, 0, 5821), Number.NaN)], /finite/],
            [[good, e(p(3316, 0, 5750), 'twice')], /given twice/],
            [[good, e(p(3316, 1, 5750), 'other')], /outside the target/],
            [[good, e(p(3316, 0, 5821, 0), 1)], /single/],
            [[{ path: p(3316, 0), value: 1 }], /names a resource/],
            [[{ path: { objectId: 3316, instanceId: 0, resourceId: 70_000 }, value: 1 }], /0\.\.65534/],
        ];
        for (const [entries, why] of cases) refusedWith(t.write('/3316/0', entries, 'update', 'server'), '4.00', why);
        refusedWith(t.write('/3201/0/5550', [e(p(3201, 0, 5550), 1)], 'replace', 'server'), '4.00', /true or false/);
        refusedWith(t.write('/3/0/13', [e(p(3, 0, 13), 'yesterday')], 'replace', 'server'), '4.00', /Date/);
        refusedWith(
            t.write('/1/0/10', [e(p(1, 0, 10), { objectId: 1 } as never)], 'replace', 'server'),
            '4.00',
            /objlnk/,
        );
        t.addInstance(1, 1, { 0: 102, 1: 60, 6: true, 7: 'U' });
        refusedWith(t.write('/1/1/25', [e(p(1, 1, 25), '1.0')], 'replace', 'server'), '4.00', /resource instance ID/);
        refusedWith(t.write('/3316/0', 'x' as never, 'update', 'server'), '4.00');
        refusedWith(t.write('/3316/0', [], 'merge' as never, 'server'), '4.00');
        refusedWith(t.write('/3316/0/5750', [], 'replace', 'server'), '4.00', /no value/);
        refusedWith(t.write('/3/0/6/0', [], 'replace', 'local'), '4.00', /no value/);
        assert.equal(t.get('/3316/0/5750'), undefined, 'atomic: the good entry was not applied');
    });

    test('hostile sizes are refused with a limit', () => {
        const t = client();
        t.addInstance(1, 1, { 0: 102, 1: 60, 6: true, 7: 'U' });
        const many = Array.from({ length: 100_000 }, (_, i) => e(p(1, 1, 25, i % 65534), 'v'));
        refusedWith(t.write('/1/1/25', many, 'replace', 'server'), '4.13', /100000 values/);
        refusedWith(t.create(3316, many, 'server'), '4.13');
        refusedWith(
            t.write('/3316/0/5750', [e(p(3316, 0, 5750), 'x'.repeat(100_000))], 'replace', 'server'),
            '4.00',
            /bytes/,
        );
        const small = new ObjectTree(OBJECTS, { maxEntries: 3, maxValueBytes: 4, maxInstances: 2 });
        small.addInstance(3316, 0, { 5700: 1 });
        refusedWith(
            small.write(
                '/3316/0',
                [1, 2, 3, 4].map(() => e(p(3316, 0, 5750), 'a')),
                'update',
                'local',
            ),
            '4.13',
        );
        refusedWith(small.write('/3316/0/5750', [e(p(3316, 0, 5750), 'abcde')], 'replace', 'local'), '4.00', /4 bytes/);
        value(small.create(3316, [e(p(3316, 1, 5700), 2)], 'local'));
        refusedWith(small.create(3316, [e(p(3316, 2, 5700), 2)], 'local'), '4.00', /most instances/);
        refused(() => small.addInstance(3316, 5), 'limit', /2 instances/);
    });

    test('Bootstrap-Write writes objects 0 and 1 and creates instances', () => {
        const t = new ObjectTree(OBJECTS);
        refused(() => t.addInstance(3, 0, { 4: null }), 'bad-value', /resource 4 of object 3 is executable/);
        t.addInstance(3, 0, { 16: 'U', 11: [0] });
        let structure = 0;
        t.onStructureChange(() => structure++);
        const security = [
            e(p(0, 5, 0), 'coaps://dm.example:5684'),
            e(p(0, 5, 1), false),
            e(p(0, 5, 2), 0),
            e(p(0, 5, 3), new TextEncoder().encode('id')),
            e(p(0, 5, 4), new Uint8Array()),
            e(p(0, 5, 5), Uint8Array.of(1, 2, 3, 4)),
            e(p(0, 5, 10), 101),
        ];
        value(t.write('/0/5', security, 'replace', 'bootstrap'));
        value(
            t.write(
                '/1',
                [e(p(1, 0, 0), 101), e(p(1, 0, 1), 60), e(p(1, 0, 6), true), e(p(1, 0, 7), 'U')],
                'replace',
                'bootstrap',
            ),
        );
        assert.deepEqual(t.instances(0), [5]);
        assert.deepEqual(t.instances(1), [0]);
        assert.equal(t.get('/0/5/0'), 'coaps://dm.example:5684');
        assert.equal(t.get('/1/0/1'), 60);
        assert.equal(structure, 2);
        // it may also write read-only resources, and types are still checked
        value(t.write('/1/0/0', [e(p(1, 0, 0), 102)], 'replace', 'bootstrap'));
        refusedWith(t.write('/1/0/1', [e(p(1, 0, 1), '60')], 'replace', 'bootstrap'), '4.00', /integer/);
        refusedWith(t.write('/3/1', [e(p(3, 1, 0), 'x')], 'update', 'bootstrap'), '4.00', /single-instance/);
        // an empty Bootstrap-Write to an instance creates it
        value(t.write('/3316/4', [], 'replace', 'bootstrap'));
        assert.deepEqual(t.instances(3316), [4]);
        refusedWith(t.write('/3/1', [], 'replace', 'bootstrap'), '4.00', /single-instance/);
        // a server may not create by writing
        refusedWith(t.write('/1/7', [e(p(1, 7, 1), 60)], 'update', 'server'), '4.04');
    });
});

describe('Execute', () => {
    test('E resources only', () => {
        const t = client();
        value(t.execute('/3/0/4', 'server'));
        value(t.execute('/3316/0/5605', 'server'));
        refusedWith(t.execute('/3/0/0', 'server'), '4.05', /not executable/);
        refusedWith(t.execute('/3/0', 'server'), '4.05');
        refusedWith(t.execute('/3', 'server'), '4.05');
        refusedWith(t.execute('/3/0/1234', 'server'), '4.04');
        refusedWith(t.execute('/3/5/4', 'server'), '4.04');
        refusedWith(t.execute('/9999/0/1', 'server'), '4.04');
        refusedWith(t.execute('/3/0/4', 'bootstrap'), '4.05');
        value(t.execute('/1/0/8', 'server'));
        refusedWith(t.execute('/1/0/1', 'server'), '4.05', /not executable \(operations 'RW'\)/);
        refusedWith(t.execute('/0/0/1', 'server'), '4.04');
    });
});

describe('Create', () => {
    test('creates with the given, the payload or the lowest free ID', () => {
        const t = client();
        let structure = 0;
        t.onStructureChange(() => structure++);
        assert.equal(value(t.create(3201, [e(p(3201, 7, 5550), true)], 'server')), 7);
        assert.equal(value(t.create(3201, [e({ objectId: 3201, resourceId: 5550 } as Lwm2mPath, false)], 'server')), 1);
        assert.equal(value(t.create(3201, [e({ objectId: 3201, resourceId: 5550 }, true)], 'server', 9)), 9);
        refusedWith(t.create(3201, [e(p(3201, 4, 5550), true)], 'server', 5), '4.00', /more than one instance/);
        assert.deepEqual(t.instances(3201), [0, 1, 7, 9]);
        assert.equal(t.get('/3201/7/5550'), true);
        assert.equal(structure, 3);
    });

    test('refusals', () => {
        const t = client();
        refusedWith(t.create(3, [], 'server'), '4.05', /single-instance/);
        refusedWith(t.create(3201, [], 'server'), '4.00', /mandatory resource 5550/);
        refusedWith(t.create(3201, [e(p(3201, 0, 5550), true)], 'server'), '4.00', /already exists/);
        refusedWith(t.create(3201, [e(p(3201, 4, 5550), 'on')], 'server'), '4.00', /true or false/);
        refusedWith(
            t.create(3201, [e(p(3201, 4, 5550), true), e(p(3201, 5, 5551), true)], 'server'),
            '4.00',
            /more than one/,
        );
        refusedWith(t.create(3201, [e(p(3316, 4, 5550), true)], 'server'), '4.00', /another object/);
        refusedWith(
            t.create(3201, [e(p(3201, 4, 5550), true), e(p(3201, 4, 5518), 5)], 'server'),
            '4.05',
            /not writable/,
        );
        refusedWith(t.create(9999, [], 'server'), '4.04');
        refusedWith(t.create(0, [], 'server'), '4.04', /not found/);
        refusedWith(t.create(3201, [e(p(3201, 4, 5550), true)], 'bootstrap'), '4.05');
        assert.deepEqual(t.instances(3201), [0], 'nothing was created');
    });
});

describe('Delete', () => {
    test('a server deletes instances only', () => {
        const t = client();
        value(t.delete('/3316/1', 'server'));
        assert.deepEqual(t.instances(3316), [0]);
        refusedWith(t.delete('/3316/1', 'server'), '4.04');
        refusedWith(t.delete('/3316', 'server'), '4.05');
        refusedWith(t.delete('/3316/0/5700', 'server'), '4.05');
        refusedWith(t.delete('/', 'server'), '4.05');
        refusedWith(t.delete('/0/1', 'server'), '4.04', /not found/);
        refusedWith(t.delete('/3/0', 'server'), '4.05', /Device/);
        assert.deepEqual(t.instances(0), [0, 1]);
    });

    test('deleting an instance drops its attributes and tells the listeners', () => {
        const t = client();
        value(t.writeAttributes('/3316/1/5700', ['pmin=5']));
        const removed: string[] = [];
        t.onChange((path, v) => {
            if (v === undefined) removed.push(`${path.instanceId}/${path.resourceId}`);
        });
        value(t.delete('/3316/1', 'server'));
        assert.deepEqual(removed, ['1/5700', '1/5701', '1/5750']);
        t.addInstance(3316, 1, { 5700: 1 });
        assert.deepEqual(t.attachedAttributes('/3316/1/5700'), {});
    });

    test('Bootstrap-Delete / keeps the bootstrap account and the Device', () => {
        const t = client();
        value(t.delete('/', 'bootstrap'));
        assert.deepEqual(t.instances(0), [0]);
        assert.deepEqual(t.instances(1), []);
        assert.deepEqual(t.instances(3), [0]);
        assert.deepEqual(t.instances(3316), []);
    });

    test('Bootstrap-Delete of /0, /1 and single instances', () => {
        const t = client();
        value(t.delete('/0', 'bootstrap'));
        assert.deepEqual(t.instances(0), [0]);
        value(t.delete('/1', 'bootstrap'));
        assert.deepEqual(t.instances(1), []);
        refusedWith(t.delete('/0/0', 'bootstrap'), '4.00', /bootstrap-server account/);
        value(t.delete('/3316/0', 'bootstrap'));
        assert.deepEqual(t.instances(3316), [1]);
        refusedWith(t.delete('/3316/0', 'bootstrap'), '4.04');
        refusedWith(t.delete('/3316/1/5700', 'bootstrap'), '4.00');
        refusedWith(t.delete('/9999', 'bootstrap'), '4.04');
    });
});

describe('Discover', () => {
    test('object, instance and resource levels with dim and attributes', () => {
        const t = client();
        refusedWith(t.writeAttributes('/3/0/7', ['gt=50']), '4.04', /not present/);
        t.set('/3/0/7', [3300, 5000]);
        value(t.writeAttributes('/3', ['pmin=10']));
        value(t.writeAttributes('/3/0', ['pmax=60']));
        value(t.writeAttributes('/3/0/7', ['gt=50', 'lt=42.2']));
        assert.equal(
            encodeLinkFormat(value(t.discover('/3', 'server'))),
            '</3>;pmin=10,</3/0>;pmax=60,</3/0/0>,</3/0/4>,</3/0/5>,</3/0/6>;dim=2,</3/0/7>;dim=2;gt=50;lt=42.2,' +
                '</3/0/11>;dim=1,</3/0/12>,</3/0/13>,</3/0/16>',
        );
        assert.equal(
            encodeLinkFormat(value(t.discover('/3/0', 'server'))),
            '</3/0>;pmax=60,</3/0/0>,</3/0/4>,</3/0/5>,</3/0/6>;dim=2,</3/0/7>;dim=2;gt=50;lt=42.2,' +
                '</3/0/11>;dim=1,</3/0/12>,</3/0/13>,</3/0/16>',
        );
        assert.equal(
            encodeLinkFormat(value(t.discover('/3/0/7', 'server'))),
            '</3/0/7>;dim=2;pmin=10;pmax=60;gt=50;lt=42.2',
        );
        assert.equal(encodeLinkFormat(value(t.discover('/3316/0/5700', 'server'))), '</3316/0/5700>');
    });

    test('refusals', () => {
        const t = client();
        refusedWith(t.discover('/0', 'server'), '4.04');
        refusedWith(t.discover('/', 'server'), '4.00');
        refusedWith(t.discover('/3/0/6/0', 'server'), '4.00');
        refusedWith(t.discover('/3316/9', 'server'), '4.04');
        refusedWith(t.discover('/3316/0/5601', 'server'), '4.04');
    });

    test('Bootstrap-Discover lists objects and instances with ssid and uri', () => {
        const t = client();
        const links = value(t.discover('/', 'bootstrap'));
        assert.equal(
            encodeLinkFormat(links),
            '</>;lwm2m=1.1,</0>;ver=1.2,</0/0>;uri=coaps://bs.example:5684,</0/1>;ssid=101;uri=coap://dm.example,' +
                '</1>;ver=1.2,</1/0>;ssid=101,</3>;ver=1.2,</3/0>,</3201>;ver=1.1,</3201/0>,' +
                '</3316>;ver=1.1,</3316/0>,</3316/1>,</3317>;ver=1.1',
        );
        assert.equal(encodeLinkFormat(value(t.discover('/1', 'bootstrap'))), '</1>;ver=1.2,</1/0>;ssid=101');
        refusedWith(t.discover('/1/0', 'bootstrap'), '4.00');
        refusedWith(t.discover('/9999', 'bootstrap'), '4.04');
    });
});

describe('registrationLinks', () => {
    test('objects with ver, instances, never Security', () => {
        const t = client();
        assert.equal(
            encodeLinkFormat(t.registrationLinks()),
            '</1>;ver=1.2,</1/0>,</3>;ver=1.2,</3/0>,</3201>;ver=1.1,</3201/0>,</3316>;ver=1.1,</3316/0>,</3316/1>,</3317>;ver=1.1',
        );
        const dev = OBJECTS.get(3);
        assert.ok(dev);
        const plain = new ObjectTree(new Map([[3, { ...dev, version: '1.0' }]]));
        assert.equal(encodeLinkFormat(plain.registrationLinks()), '</3>');
        plain.addInstance(3, 0, { 16: 'U' });
        assert.equal(encodeLinkFormat(plain.registrationLinks()), '</3/0>');
    });
});

describe('Write-Attributes', () => {
    test('attaches, inherits and removes', () => {
        const t = client();
        value(t.writeAttributes('/3316', ['pmin=5', 'pmax=100']));
        value(t.writeAttributes('/3316/0', ['pmax=50']));
        value(t.writeAttributes('/3316/0/5700', ['gt=240', 'lt=200', 'st=5']));
        assert.deepEqual(t.attributes('/3316/0/5700', { pmin: 1, pmax: 600 }), {
            pmin: 5,
            pmax: 50,
            gt: 240,
            lt: 200,
            st: 5,
        });
        assert.deepEqual(t.attributes('/3316/1/5700', { pmin: 1, pmax: 600 }), { pmin: 5, pmax: 100 });
        assert.deepEqual(t.attributes('/3317', { pmin: 1 }), { pmin: 1 });
        value(t.writeAttributes('/3316/0', ['pmax']));
        assert.equal(t.attributes('/3316/0/5700').pmax, 100);
        assert.deepEqual(t.attachedAttributes('/3316/0'), {});
        // per server
        value(t.writeAttributes('/3316/0/5700', ['pmin=30'], 102));
        assert.equal(t.attributes('/3316/0/5700', {}, 102).pmin, 30);
        assert.equal(t.attributes('/3316/0/5700').pmin, 5);
        // resource-instance level wins over resource level
        value(t.writeAttributes('/3/0/6', ['pmin=2']));
        value(t.writeAttributes('/3/0/6/1', ['pmin=3']));
        assert.equal(t.attributes('/3/0/6/1').pmin, 3);
        assert.equal(t.attributes('/3/0/6/0').pmin, 2);
    });

    test('refusals leave the attributes as they were', () => {
        const t = client();
        value(t.writeAttributes('/3316/0/5700', ['gt=240', 'lt=200']));
        refusedWith(t.writeAttributes('/3316/0/5700', ['lt=250']), '4.00', /lt 250 must be less than gt 240/);
        refusedWith(t.writeAttributes('/3316/0/5700', ['st=30']), '4.00', /lt \+ 2·st/);
        refusedWith(t.writeAttributes('/3316/0/5701', ['gt=1']), '4.00', /numeric/);
        refusedWith(t.writeAttributes('/3316/0', ['gt=1']), '4.00', /resource/);
        refusedWith(t.writeAttributes('/3316', ['pmin=10', 'pmax=5']), '4.00', /pmax 5 is less than pmin 10/);
        refusedWith(t.writeAttributes('/3316', ['pmin=x']), '4.00', /whole number/);
        refusedWith(t.writeAttributes('/3316', ['bogus=1']), '4.00', /not a notification attribute/);
        refusedWith(t.writeAttributes('/3316/9', ['pmin=1']), '4.04');
        refusedWith(t.writeAttributes('/0/0', ['pmin=1']), '4.04');
        refusedWith(t.writeAttributes('/', ['pmin=1']), '4.00');
        assert.deepEqual(t.attachedAttributes('/3316/0/5700'), { gt: 240, lt: 200 });
        assert.deepEqual(t.attachedAttributes('/3316'), {});
    });
});

describe('typeOf', () => {
    test('answers from the definitions', () => {
        const t = client();
        assert.equal(t.typeOf(p(3316, 0, 5700)), 'float');
        assert.equal(t.typeOf(p(3, 0, 13)), 'time');
        assert.equal(t.typeOf(p(3, 0, 6, 0)), 'integer');
        assert.equal(t.typeOf(p(3, 0)), undefined);
        assert.equal(t.typeOf(p(3, 0, 9999)), undefined);
        assert.equal(t.typeOf(p(9999, 0, 1)), undefined);
    });
});
