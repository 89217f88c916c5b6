import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { el, parseXml, type XmlElement } from '../../src/protocols/xml';
import { StanzaError } from '../../src/protocols/xmpp';
import { GENERATIONS } from '../../src/protocols/xmpp-iot/generations';
import type { Generation } from '../../src/protocols/xmpp-iot/model';
import {
    type CanControlRequest,
    type CanReadRequest,
    type ProvisioningCodec,
    provisioningCodec,
    provisioningCodecFor,
} from '../../src/protocols/xmpp-iot/provisioning';

const FIXTURES = path.resolve(__dirname, '../fixtures/xmpp-iot/provisioning');

function fixture(name: string): XmlElement {
    return parseXml(readFileSync(path.join(FIXTURES, name), 'utf8'), { scope: { '': 'jabber:client' } });
}

/** The payload (first child element) of a fixture stanza. */
function payloadOf(stanza: XmlElement): XmlElement {
    const first = stanza.elements()[0];
    assert.ok(first, `no payload in ${stanza.toString()}`);
    return first;
}

function wire(e: XmlElement): XmlElement {
    return parseXml(e.toString(), { scope: { '': 'jabber:client' } });
}

function expectBadRequest(fn: () => unknown, pattern: RegExp): void {
    let caught: unknown;
    try {
        fn();
    } catch (err) {
        caught = err;
    }
    assert.ok(caught instanceof StanzaError, `expected a StanzaError, got ${String(caught)}`);
    assert.equal(caught.condition, 'bad-request', caught.message);
    assert.match(caught.message, pattern);
}

const G0 = provisioningCodec('G0');
const G1 = provisioningCodec('G1');
const G2 = provisioningCodec('G2');
const G3 = provisioningCodec('G3');

const READ: CanReadRequest = {
    jid: 'ops@example.net/app',
    categories: ['momentary', 'status'],
    nodes: [
        { nodeId: 'Meter1', sourceId: 'MeteringTopology' },
        { nodeId: 'Meter2', sourceId: 'MeteringTopology', partition: 'P1' },
    ],
    fields: ['Power', 'Energy'],
    tokens: { service: ['svc:1', 'svc:2'], user: ['usr:7'] },
};

const CONTROL: CanControlRequest = {
    jid: 'ops@example.net/app',
    nodes: [{ nodeId: 'DO1' }, { nodeId: 'DO2', sourceId: 'Outputs' }],
    parameters: ['Output', 'Delay'],
    tokens: { device: ['dev:3'] },
};

describe('provisioning codec selection', () => {
    test('each generation writes its namespace', () => {
        for (const g of ['G0', 'G1', 'G2', 'G3'] as Generation[]) {
            const c = provisioningCodec(g);
            assert.equal(c.generation, g);
            assert.equal(c.ns, GENERATIONS[g].provisioning);
            assert.equal(c.isFriend('a@b').attr('xmlns'), GENERATIONS[g].provisioning);
        }
    });

    test('provisioningCodecFor finds every spelling and writes it; other namespaces give undefined', () => {
        const cases: Array<[string, Generation]> = [
            ['urn:xmpp:sn:provisioning', 'G0'],
            ['urn:xmpp:iot:provisioning', 'G1'],
            ['urn:ieee:iot:prov:d:1.0', 'G2'],
            ['urn:nf:iot:prov:d:1.0', 'G3'],
            ['urn:nfi:iot:prov:d:1.0', 'G3'],
        ];
        for (const [ns, g] of cases) {
            const c = provisioningCodecFor(ns);
            assert.ok(c, ns);
            assert.equal(c.generation, g);
            assert.equal(c.ns, ns);
            assert.equal(c.canControl(CONTROL).attr('xmlns'), ns);
        }
        for (const ns of ['urn:nf:iot:prov:o:1.0', 'urn:xmpp:iot:provisioning:0', 'urn:xmpp:sn']) {
            assert.equal(provisioningCodecFor(ns), undefined, ns);
        }
    });
});

describe('requests (device → provisioning server)', () => {
    test('isFriend sends the bare JID', () => {
        assert.equal(
            G1.isFriend('ops@example.net/app').toString(),
            '<isFriend xmlns="urn:xmpp:iot:provisioning" jid="ops@example.net"/>',
        );
        assert.equal(
            G3.isFriend('ops@example.net').toString(),
            '<isFriend xmlns="urn:nf:iot:prov:d:1.0" jid="ops@example.net"/>',
        );
    });

    test('G1 canRead: category flags, XEP token attributes, node and field narrowing', () => {
        assert.equal(
            G1.canRead(READ).toString(),
            '<canRead xmlns="urn:xmpp:iot:provisioning" jid="ops@example.net" serviceToken="svc:1 svc:2" userToken="usr:7" momentary="true" status="true">' +
                '<node nodeId="Meter1" sourceId="MeteringTopology"/><node nodeId="Meter2" sourceId="MeteringTopology" cacheType="P1"/>' +
                '<field name="Power"/><field name="Energy"/></canRead>',
        );
    });

    test('G0 canRead uses the same names in its own namespace', () => {
        const e = G0.canRead(READ);
        assert.equal(e.attr('xmlns'), 'urn:xmpp:sn:provisioning');
        assert.equal(e.attr('serviceToken'), 'svc:1 svc:2');
        assert.equal(e.childrenNamed('node').length, 2);
    });

    test('G3 canRead: short names (m s, st ut, nd id src pt, f n)', () => {
        assert.equal(
            G3.canRead(READ).toString(),
            '<canRead xmlns="urn:nf:iot:prov:d:1.0" jid="ops@example.net" st="svc:1 svc:2" ut="usr:7" m="true" s="true">' +
                '<nd id="Meter1" src="MeteringTopology"/><nd id="Meter2" src="MeteringTopology" pt="P1"/>' +
                '<f n="Power"/><f n="Energy"/></canRead>',
        );
    });

    test('all categories is sent as all="true" alone; historical periods per generation', () => {
        const all = G2.canRead({ jid: 'a@b', categories: ['momentary'], all: true });
        assert.equal(all.toString(), '<canRead xmlns="urn:ieee:iot:prov:d:1.0" jid="a@b" all="true"/>');
        const periods: CanReadRequest = { jid: 'a@b', categories: ['peak'], historicalPeriods: ['day', 'month'] };
        assert.equal(
            G1.canRead(periods).toString(),
            '<canRead xmlns="urn:xmpp:iot:provisioning" jid="a@b" peak="true" historicalDay="true" historicalMonth="true"/>',
        );
        assert.equal(
            G3.canRead(periods).toString(),
            '<canRead xmlns="urn:nf:iot:prov:d:1.0" jid="a@b" p="true" h="true"/>',
        );
        assert.equal(
            G1.canRead({ jid: 'a@b', categories: ['historical', 'identity'] }).toString(),
            '<canRead xmlns="urn:xmpp:iot:provisioning" jid="a@b" identity="true" historical="true"/>',
        );
    });

    test('canControl: nodes and parameter names (G2/G3 as the deployed client writes them)', () => {
        assert.equal(
            G1.canControl(CONTROL).toString(),
            '<canControl xmlns="urn:xmpp:iot:provisioning" jid="ops@example.net" deviceToken="dev:3">' +
                '<node nodeId="DO1"/><node nodeId="DO2" sourceId="Outputs"/>' +
                '<parameter name="Output"/><parameter name="Delay"/></canControl>',
        );
        assert.equal(
            G2.canControl(CONTROL).toString(),
            '<canControl xmlns="urn:ieee:iot:prov:d:1.0" jid="ops@example.net" dt="dev:3">' +
                '<nd id="DO1"/><nd id="DO2" src="Outputs"/>' +
                '<parameter name="Output"/><parameter name="Delay"/></canControl>',
        );
        assert.equal(
            G1.canControl({ jid: 'ops@example.net' }).toString(),
            '<canControl xmlns="urn:xmpp:iot:provisioning" jid="ops@example.net"/>',
        );
    });
});

describe('answers (provisioning server → device)', () => {
    test('isFriend accepted and rejected with secondary trust', () => {
        assert.deepEqual(G1.readIsFriend(payloadOf(fixture('g1-isFriendResponse-accepted.xml'))), {
            jid: 'ops@example.net',
            result: true,
        });
        assert.deepEqual(G1.readIsFriend(payloadOf(fixture('g1-isFriendResponse-rejected.xml'))), {
            jid: 'stranger@example.com',
            result: false,
            secondaryTrustAllowed: true,
        });
        assert.deepEqual(G2.readIsFriend(payloadOf(fixture('g2-isFriendResponse.xml'))), {
            jid: 'ops@example.net',
            result: true,
        });
    });

    test('canRead denied: result false, narrowing not reported', () => {
        assert.deepEqual(G1.readCanRead(payloadOf(fixture('g1-canReadResponse-denied.xml'))), {
            jid: 'ops@example.net',
            result: false,
        });
    });

    test('canRead allowed without narrowing: no lists, no categories', () => {
        assert.deepEqual(G1.readCanRead(payloadOf(fixture('g1-canReadResponse-allowed.xml'))), {
            jid: 'ops@example.net',
            result: true,
        });
    });

    test('canRead narrowed to nodes', () => {
        assert.deepEqual(G1.readCanRead(payloadOf(fixture('g1-canReadResponse-nodes.xml'))), {
            jid: 'ops@example.net',
            result: true,
            nodes: [{ nodeId: 'Meter2', sourceId: 'MeteringTopology' }],
            categories: ['momentary'],
        });
    });

    test('canRead narrowed to fields and categories (an explicit false drops a category)', () => {
        assert.deepEqual(G1.readCanRead(payloadOf(fixture('g1-canReadResponse-fields.xml'))), {
            jid: 'ops@example.net',
            result: true,
            fields: ['Energy', 'Power'],
            categories: ['momentary'],
        });
    });

    test('G3 canRead narrowed to nodes, fields and categories', () => {
        assert.deepEqual(G3.readCanRead(payloadOf(fixture('g3-canReadResponse.xml'))), {
            jid: 'ops@example.net',
            result: true,
            nodes: [{ nodeId: 'Meter1', sourceId: 'MeteringTopology', partition: 'P1' }],
            fields: ['Power', 'Energy'],
            categories: ['momentary', 'status'],
        });
    });

    test('canRead all="true" and historical periods', () => {
        const all = wire(el('canReadResponse', { xmlns: G1.ns, jid: 'a@b', result: 'true', all: 'true' }));
        assert.deepEqual(G1.readCanRead(all), {
            jid: 'a@b',
            result: true,
            all: true,
            categories: ['momentary', 'peak', 'status', 'computed', 'identity', 'historical'],
        });
        const periods = wire(
            el('canReadResponse', {
                xmlns: G1.ns,
                result: '1',
                historicalHour: 'true',
                historicalYear: 'false',
            }),
        );
        assert.deepEqual(G1.readCanRead(periods), { result: true, historicalPeriods: ['hour'] });
    });

    test('canControl denied and narrowed', () => {
        assert.deepEqual(G1.readCanControl(payloadOf(fixture('g1-canControlResponse-denied.xml'))), {
            jid: 'ops@example.net',
            result: false,
        });
        assert.deepEqual(G1.readCanControl(payloadOf(fixture('g1-canControlResponse-narrowed.xml'))), {
            jid: 'ops@example.net',
            result: true,
            nodes: [{ nodeId: 'DO2' }, { nodeId: 'DO3', sourceId: 'Outputs', partition: 'Digital' }],
            parameters: ['Output', 'Delay'],
        });
    });

    test('G3 canControl parameters as <p n> (XSD) and <parameter name> (deployed code)', () => {
        const expected = {
            jid: 'ops@example.net',
            result: true,
            nodes: [{ nodeId: 'Relay1' }],
            parameters: ['Output'],
        };
        const nfi = provisioningCodecFor('urn:nfi:iot:prov:d:1.0');
        assert.ok(nfi);
        assert.deepEqual(nfi.readCanControl(payloadOf(fixture('g3-canControlResponse-p.xml'))), expected);
        assert.deepEqual(G3.readCanControl(payloadOf(fixture('g3-canControlResponse-parameter.xml'))), expected);
        // The nf codec reads the nfi spelling too.
        assert.deepEqual(G3.readCanControl(payloadOf(fixture('g3-canControlResponse-p.xml'))), expected);
    });
});

describe('pushes (provisioning server → device)', () => {
    test('friend and unfriend messages become events with the sender', () => {
        assert.deepEqual(G1.readPush(fixture('g1-friend-message.xml')), [
            { kind: 'friend', jid: 'ops@example.net', from: 'provisioning.example.org' },
        ]);
        assert.deepEqual(G1.readPush(fixture('g1-unfriend-message.xml')), [
            { kind: 'unfriend', jid: 'stranger@example.com', from: 'provisioning.example.org' },
        ]);
    });

    test('G0 reads the v0.1 XSD spelling Friend; G1 does not', () => {
        const stanza = fixture('g0-Friend-message.xml');
        assert.deepEqual(G0.readPush(stanza), [
            { kind: 'friend', jid: 'ops@example.net', from: 'provisioning.example.org' },
        ]);
        assert.deepEqual(G1.readPush(stanza), []);
    });

    test('clearCache as IQ set (v0.3+) and IQ get (v0.1/v0.2), and its answer', () => {
        assert.deepEqual(G1.readPush(fixture('g1-clearCache-iq.xml')), [
            { kind: 'clearCache', carrier: 'iq', from: 'provisioning.example.org' },
        ]);
        assert.deepEqual(G0.readPush(fixture('g0-clearCache-iq.xml')), [
            { kind: 'clearCache', carrier: 'iq', from: 'provisioning.example.org' },
        ]);
        assert.equal(G1.clearCacheAnswer()?.toString(), '<clearCacheResponse xmlns="urn:xmpp:iot:provisioning"/>');
        assert.equal(G0.clearCacheAnswer()?.toString(), '<clearCacheResponse xmlns="urn:xmpp:sn:provisioning"/>');
        assert.equal(G2.clearCacheAnswer(), undefined);
        assert.equal(G3.clearCacheAnswer(), undefined);
    });

    test('G3 clearCache may name a node', () => {
        assert.deepEqual(G3.readPush(fixture('g3-clearCache-node.xml')), [
            {
                kind: 'clearCache',
                carrier: 'iq',
                from: 'provisioning.example.org',
                node: { nodeId: 'Meter1', sourceId: 'MeteringTopology' },
            },
        ]);
    });

    test('clearCache in a message is read too; several pushes in one message keep their order', () => {
        const m = wire(
            el(
                'message',
                { from: 'prov.example.org' },
                el('unfriend', { xmlns: G2.ns, jid: 'x@y' }),
                el('clearCache', { xmlns: G2.ns }),
                el('friend', { xmlns: G2.ns, jid: 'z@y' }),
            ),
        );
        assert.deepEqual(G2.readPush(m), [
            { kind: 'unfriend', jid: 'x@y', from: 'prov.example.org' },
            { kind: 'clearCache', carrier: 'message', from: 'prov.example.org' },
            { kind: 'friend', jid: 'z@y', from: 'prov.example.org' },
        ]);
    });

    test('stanzas without pushes of this namespace give no events', () => {
        // Another generation's namespace, an IQ result, friend in an IQ, a presence.
        assert.deepEqual(G3.readPush(fixture('g1-friend-message.xml')), []);
        assert.deepEqual(G1.readPush(fixture('g1-isFriendResponse-accepted.xml')), []);
        assert.deepEqual(
            G1.readPush(wire(el('iq', { type: 'set', id: 'i' }, el('friend', { xmlns: G1.ns, jid: 'a@b' })))),
            [],
        );
        assert.deepEqual(
            G1.readPush(wire(el('iq', { type: 'result', id: 'i' }, el('clearCache', { xmlns: G1.ns })))),
            [],
        );
        assert.deepEqual(G1.readPush(wire(el('presence', {}, el('friend', { xmlns: G1.ns, jid: 'a@b' })))), []);
    });
});

describe('malformed answers are clear errors, never crashes', () => {
    const cases: Array<[string, (c: ProvisioningCodec) => unknown, RegExp]> = [
        [
            'no result attribute',
            (c) => c.readCanRead(payloadOf(fixture('malformed-no-result.xml'))),
            /canReadResponse: missing result attribute/,
        ],
        [
            'result not a boolean',
            (c) => c.readIsFriend(payloadOf(fixture('malformed-bad-result.xml'))),
            /result is not a boolean: 'maybe'/,
        ],
        [
            'an unknown child',
            (c) => c.readCanControl(payloadOf(fixture('malformed-unknown-child.xml'))),
            /canControlResponse: unexpected child <permission>/,
        ],
        [
            'the wrong element',
            (c) => c.readCanRead(payloadOf(fixture('g1-canControlResponse-denied.xml'))),
            /expected <canReadResponse>, got <canControlResponse>/,
        ],
        ['an empty result', (c) => c.readCanControl(undefined), /empty result, expected <canControlResponse>/],
        [
            'a friend without jid',
            (c) => c.readPush(fixture('malformed-friend-no-jid.xml')),
            /friend: missing jid attribute/,
        ],
        [
            'a category flag that is not a boolean',
            (c) => c.readCanRead(wire(el('canReadResponse', { xmlns: c.ns, result: 'true', momentary: 'often' }))),
            /attribute momentary is not a boolean: 'often'/,
        ],
        [
            'a node without nodeId',
            (c) =>
                c.readCanRead(
                    wire(el('canReadResponse', { xmlns: c.ns, result: 'true' }, el('node', { sourceId: 'S' }))),
                ),
            /canReadResponse\/node: missing nodeId attribute/,
        ],
        [
            'a field without name',
            (c) => c.readCanRead(wire(el('canReadResponse', { xmlns: c.ns, result: 'true' }, el('field')))),
            /canReadResponse\/field: missing name attribute/,
        ],
        [
            'a child in a foreign namespace',
            (c) =>
                c.readCanControl(
                    wire(
                        el(
                            'canControlResponse',
                            { xmlns: c.ns, result: 'true' },
                            el('parameter', { xmlns: 'urn:example:other', name: 'x' }),
                        ),
                    ),
                ),
            /unexpected child <parameter> in namespace 'urn:example:other'/,
        ],
        [
            'the answer in another namespace',
            (c) => c.readIsFriend(payloadOf(fixture('g2-isFriendResponse.xml'))),
            /in namespace 'urn:ieee:iot:prov:d:1\.0'/,
        ],
        [
            'children in isFriendResponse',
            (c) =>
                c.readIsFriend(
                    wire(el('isFriendResponse', { xmlns: c.ns, result: 'true' }, el('node', { nodeId: 'n' }))),
                ),
            /isFriendResponse: unexpected child <node>/,
        ],
    ];
    for (const [name, fn, pattern] of cases) {
        test(name, () => expectBadRequest(() => fn(G1), pattern));
    }

    test('G3 answers with G0/G1 children are refused', () => {
        expectBadRequest(
            () =>
                G3.readCanRead(
                    wire(el('canReadResponse', { xmlns: G3.ns, result: 'true' }, el('field', { name: 'x' }))),
                ),
            /unexpected child <field>/,
        );
        expectBadRequest(
            () => G3.readCanRead(wire(el('canReadResponse', { xmlns: G3.ns, result: 'true' }, el('nd', { src: 'S' })))),
            /canReadResponse\/nd: missing id attribute/,
        );
    });
});
