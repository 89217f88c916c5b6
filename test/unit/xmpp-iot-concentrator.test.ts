import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { el, parseXml, type XmlElement } from '../../src/protocols/xml';
import { StanzaError } from '../../src/protocols/xmpp';
import type {
    ConcentratorAnswer,
    ConcentratorCodec,
    ConcentratorCommand,
    ConcentratorNode,
    ConcentratorResult,
    DataSource,
} from '../../src/protocols/xmpp-iot/codec';
import {
    CONCENTRATOR_COMMANDS,
    concentratorCodec,
    concentratorCodecFor,
} from '../../src/protocols/xmpp-iot/concentrator/index';
import { GENERATIONS } from '../../src/protocols/xmpp-iot/generations';
import type { Generation, NodeRef } from '../../src/protocols/xmpp-iot/model';

const FIXTURES = path.resolve(__dirname, '../fixtures/xmpp-iot/concentrator');
const GENERATION_LIST: readonly Generation[] = ['G0', 'G1', 'G2', 'G3'];

type Command = Exclude<ConcentratorCommand, { command: 'unsupported' }>;
type Failure = Exclude<ConcentratorResult, 'OK'>;

/** A stanza from a fixture file, parsed as the session would (default namespace jabber:client). */
function fixture(name: string): XmlElement {
    return parseXml(readFileSync(path.join(FIXTURES, name), 'utf8'), { scope: { '': 'jabber:client' } });
}

/** The payload (first child element) of a fixture stanza. */
function payloadOf(stanza: XmlElement): XmlElement {
    const first = stanza.elements()[0];
    assert.ok(first, `no payload in ${stanza.toString()}`);
    return first;
}

/** Serialises and parses again, as the element would reach the peer. */
function wire(e: XmlElement): XmlElement {
    return parseXml(e.toString(), { scope: { '': 'jabber:client' } });
}

/** The IQ error a device engine sends for a StanzaError: the codec's payload (if any), then <error/>. */
function errorIq(err: StanzaError): XmlElement {
    return wire(el('iq', { type: 'error', id: 'e1', from: 'gw@example.org/dev' }, err.payload, err.toElement()));
}

function expectBadRequest(fn: () => unknown, pattern: RegExp): StanzaError {
    let caught: unknown;
    try {
        fn();
    } catch (err) {
        caught = err;
    }
    assert.ok(caught instanceof StanzaError, `expected a StanzaError, got ${String(caught)}`);
    assert.equal(caught.condition, 'bad-request', caught.message);
    assert.match(caught.message, pattern);
    return caught;
}

// ---- concrete values ----

const METER_REF: NodeRef = { nodeId: 'Meter1', sourceId: 'MeteringTopology' };
const RELAY_REF: NodeRef = { nodeId: 'Relay1', sourceId: 'MeteringTopology', partition: 'Relays' };

const COMMANDS: readonly Command[] = [
    { command: 'getCapabilities' },
    { command: 'getAllDataSources' },
    { command: 'getRootDataSources' },
    { command: 'getChildDataSources', sourceId: 'MeteringRoot' },
    { command: 'containsNode', node: RELAY_REF },
    { command: 'containsNodes', nodes: [METER_REF, RELAY_REF] },
    { command: 'getNode', node: METER_REF, parameters: true, messages: false },
    { command: 'getNodes', nodes: [METER_REF, RELAY_REF], parameters: false, messages: true },
    { command: 'getAllNodes', sourceId: 'MeteringTopology', parameters: true, messages: true },
    { command: 'getRootNodes', sourceId: 'MeteringTopology', parameters: false, messages: false },
    { command: 'getChildNodes', node: METER_REF, parameters: true, messages: false },
    { command: 'getAncestors', node: RELAY_REF, parameters: false, messages: false },
    { command: 'getNodeParametersForEdit', node: RELAY_REF },
];

const METER: ConcentratorNode = {
    nodeId: 'Meter1',
    sourceId: 'MeteringTopology',
    displayName: 'Main meter',
    nodeType: 'Example.ElectricityMeter',
    localId: 'M1',
    logId: 'meter-1',
    state: 'WarningUnsigned',
    hasChildren: true,
    isReadable: true,
    isControllable: false,
    hasCommands: true,
    lastChanged: new Date(Date.UTC(2024, 2, 19, 17, 58, 1)),
    parameters: [
        { id: 'sn', name: 'Serial Number', type: 'string', value: '123456' },
        { id: 'addr', name: 'Address', type: 'int', value: '123' },
        { id: 'lat', name: 'Latitude', type: 'double', value: '12.345' },
        { id: 'on', name: 'Online', type: 'boolean', value: 'true' },
    ],
};

const RELAY: ConcentratorNode = {
    nodeId: 'Relay1',
    sourceId: 'MeteringTopology',
    partition: 'Relays',
    nodeType: 'Example.Relay',
    state: 'None',
    hasChildren: false,
    isReadable: true,
    isControllable: true,
    hasCommands: false,
    parentId: 'Meter1',
};

const TOPOLOGY: DataSource = {
    sourceId: 'MeteringTopology',
    name: 'Topology',
    hasChildren: false,
    lastChanged: new Date(Date.UTC(2024, 2, 19, 17, 58, 1, 250)),
};
const ROOT: DataSource = { sourceId: 'MeteringRoot', name: 'Metering', hasChildren: true };

const ANSWERS: Readonly<Record<Command['command'], ConcentratorAnswer>> = {
    getCapabilities: { command: 'getCapabilities', commands: [...CONCENTRATOR_COMMANDS] },
    getAllDataSources: { command: 'getAllDataSources', sources: [ROOT, TOPOLOGY] },
    getRootDataSources: { command: 'getRootDataSources', sources: [ROOT] },
    getChildDataSources: { command: 'getChildDataSources', sources: [TOPOLOGY] },
    containsNode: { command: 'containsNode', contains: true },
    containsNodes: { command: 'containsNodes', contains: [true, false] },
    getNode: { command: 'getNode', node: METER },
    getNodes: { command: 'getNodes', nodes: [METER, RELAY] },
    getAllNodes: { command: 'getAllNodes', nodes: [METER, RELAY] },
    getRootNodes: { command: 'getRootNodes', nodes: [METER] },
    getChildNodes: { command: 'getChildNodes', nodes: [RELAY] },
    getAncestors: { command: 'getAncestors', nodes: [RELAY, METER] },
    getNodeParametersForEdit: {
        command: 'getNodeParametersForEdit',
        title: 'Relay1',
        form: [
            {
                name: 'name',
                type: 'string',
                label: 'Name:',
                description: 'Name shown to users.',
                value: 'Relay 1',
                pattern: '^.+$',
            },
            { name: 'delay', type: 'int', label: 'Delay (ms):', value: '250', min: 0, max: 4095 },
            { name: 'enabled', type: 'boolean', value: 'true' },
            {
                name: 'mode',
                type: 'enum',
                value: 'Auto',
                options: [{ value: 'Auto', label: 'Automatic' }, { value: 'Manual' }],
            },
            { name: 'colour', type: 'color', value: 'FF8000' },
            { name: 'installed', type: 'dateTime', value: '2024-03-19T17:58:01Z', readOnly: true },
        ],
    },
};

/** What a client reads back: G0/G1 node records carry no sourceId (XSD NodeInformation). */
function expectedAnswer(g: Generation, a: ConcentratorAnswer): ConcentratorAnswer {
    if (g === 'G2' || g === 'G3') return a;
    const strip = (n: ConcentratorNode): ConcentratorNode => {
        const { sourceId: _dropped, ...rest } = n;
        return rest;
    };
    if (a.command === 'getNode') return { ...a, node: strip(a.node) };
    if ('nodes' in a) return { ...a, nodes: a.nodes.map(strip) };
    return a;
}

// ---- tests ----

describe('the command list', () => {
    test('the tests cover every command of the ConcentratorCommand union', () => {
        assert.deepEqual(
            COMMANDS.map((c) => c.command),
            [...CONCENTRATOR_COMMANDS],
        );
        assert.deepEqual(Object.keys(ANSWERS).sort(), [...CONCENTRATOR_COMMANDS].sort());
    });
});

for (const g of GENERATION_LIST) {
    const codec = concentratorCodec(g);

    describe(`${g} concentrator codec`, () => {
        test('identifies its generation and namespace', () => {
            assert.equal(codec.generation, g);
            assert.equal(codec.ns, GENERATIONS[g].concentrator);
        });

        for (const cmd of COMMANDS) {
            test(`${cmd.command}: client command → device readCommand`, () => {
                const sent = wire(codec.command(cmd));
                assert.equal(sent.local, cmd.command);
                assert.equal(sent.ns, codec.ns);
                assert.deepEqual(codec.readCommand(sent), cmd);
            });

            test(`${cmd.command}: device answer → client readAnswer`, () => {
                const answer = ANSWERS[cmd.command];
                const received = wire(codec.answer(answer));
                assert.deepEqual(codec.readAnswer(cmd.command, received), expectedAnswer(g, answer));
            });
        }

        test('an unknown command is unsupported and fails NotImplemented with its element name', () => {
            const cmd = codec.readCommand(wire(el('holabandola', { xmlns: codec.ns }, el('x'))));
            assert.deepEqual(cmd, { command: 'unsupported', name: 'holabandola' });
            const err = codec.failure('holabandola', 'NotImplemented', 'Not supported here.');
            assert.equal(err.condition, 'feature-not-implemented');
            assert.equal(err.text, 'Not supported here.');
            if (g === 'G0' || g === 'G1') {
                assert.ok(err.payload);
                assert.equal(
                    err.payload.toString(),
                    `<holabandolaResponse xmlns="${codec.ns}" result="NotImplemented"/>`,
                );
            } else {
                assert.equal(err.payload, undefined);
            }
            assert.deepEqual(codec.readFailure(errorIq(err)), {
                result: 'NotImplemented',
                message: 'Not supported here.',
            });
        });

        test('every failure code survives failure() → IQ error → readFailure()', () => {
            const codes: Failure[] = [
                'NotFound',
                'InsufficientPrivileges',
                'Locked',
                'NotImplemented',
                'FormError',
                'OtherError',
            ];
            for (const code of codes) {
                const err = codec.failure('getNode', code);
                assert.deepEqual(codec.readFailure(errorIq(err)), { result: code }, code);
                if (g === 'G0' || g === 'G1') assert.equal(err.payload?.attr('result'), code);
            }
            const expected: Record<Failure, string> = {
                NotFound: 'item-not-found',
                InsufficientPrivileges: 'forbidden',
                Locked: 'conflict',
                NotImplemented: 'feature-not-implemented',
                FormError: 'bad-request',
                OtherError: 'internal-server-error',
            };
            for (const code of codes) assert.equal(codec.failure('getNode', code).condition, expected[code], code);
        });

        test('a node reference without its id is bad-request naming the attribute', () => {
            const idAttr = g === 'G0' || g === 'G1' ? 'nodeId' : 'id';
            const srcAttr = g === 'G0' || g === 'G1' ? 'sourceId' : 'src';
            expectBadRequest(
                () => codec.readCommand(wire(el('getNode', { xmlns: codec.ns, [srcAttr]: 'MeteringTopology' }))),
                new RegExp(`getNode: missing ${idAttr} attribute`),
            );
            expectBadRequest(
                () => codec.readCommand(wire(el('getNode', { xmlns: codec.ns, [idAttr]: '', [srcAttr]: 'S' }))),
                new RegExp(`missing ${idAttr} attribute`),
            );
            const child = g === 'G0' || g === 'G1' ? 'node' : 'nd';
            expectBadRequest(
                () =>
                    codec.readCommand(
                        wire(el('containsNodes', { xmlns: codec.ns }, el(child, { [srcAttr]: 'MeteringTopology' }))),
                    ),
                new RegExp(`containsNodes/${child}: missing ${idAttr} attribute`),
            );
        });

        if (g === 'G0' || g === 'G1') {
            test('a node reference without sourceId is bad-request (required in XEP-0326)', () => {
                for (const name of [
                    'containsNode',
                    'getNode',
                    'getChildNodes',
                    'getAncestors',
                    'getNodeParametersForEdit',
                ]) {
                    expectBadRequest(
                        () => codec.readCommand(wire(el(name, { xmlns: codec.ns, nodeId: 'Meter1' }))),
                        new RegExp(`${name}: missing sourceId attribute`),
                    );
                }
                expectBadRequest(
                    () =>
                        codec.readCommand(wire(el('getNodes', { xmlns: codec.ns }, el('node', { nodeId: 'Meter1' })))),
                    /getNodes\/node: missing sourceId attribute/,
                );
            });
        }

        test('a data-source command without its source is bad-request naming the attribute', () => {
            const srcAttr = g === 'G0' || g === 'G1' ? 'sourceId' : 'src';
            for (const name of ['getChildDataSources', 'getRootNodes', 'getAllNodes']) {
                expectBadRequest(
                    () => codec.readCommand(wire(el(name, { xmlns: codec.ns }))),
                    new RegExp(`${name}: missing ${srcAttr} attribute`),
                );
            }
        });

        test('flags that are not booleans, and other namespaces, are bad-request', () => {
            const ref = g === 'G0' || g === 'G1' ? { nodeId: 'N', sourceId: 'S' } : { id: 'N' };
            expectBadRequest(
                () => codec.readCommand(wire(el('getNode', { xmlns: codec.ns, ...ref, parameters: 'sometimes' }))),
                /attribute parameters is not a boolean: 'sometimes'/,
            );
            expectBadRequest(
                () => codec.readCommand(wire(el('getCapabilities', { xmlns: 'urn:xmpp:sn:0' }))),
                /namespace 'urn:xmpp:sn:0'/,
            );
        });

        test('readAnswer refuses an empty result, the wrong element and unknown states', () => {
            expectBadRequest(() => codec.readAnswer('getNode', undefined), /getNode: empty result/);
            const wrong = codec.answer({ command: 'containsNode', contains: true });
            expectBadRequest(() => codec.readAnswer('getNode', wire(wrong)), /getNode: expected </);
            const node = wire(codec.answer({ command: 'getNode', node: RELAY }));
            // G0/G1 getNodeResponse and G2/G3 nodeInfo both carry the node information on themselves.
            node.attrs.state = 'Sleepy';
            expectBadRequest(() => codec.readAnswer('getNode', node), /unknown node state 'Sleepy'/);
            expectBadRequest(() => codec.readAnswer('unsupported', node), /unsupported command/);
        });

        test('containsNode text that is not a boolean is bad-request', () => {
            const e = wire(codec.answer({ command: 'containsNode', contains: false }));
            e.children.splice(0, e.children.length, 'perhaps');
            expectBadRequest(() => codec.readAnswer('containsNode', e), /not a boolean: 'perhaps'/);
        });
    });
}

describe('G0/G1 wire names', () => {
    test('G0 answers use the v0.1 record attributes id and isConfigurable', () => {
        const g0 = concentratorCodec('G0');
        const nodes = g0.answer({ command: 'getNodes', nodes: [RELAY] });
        const node = nodes.child('node');
        assert.ok(node);
        assert.equal(node.attr('id'), 'Relay1');
        assert.equal(node.attr('isConfigurable'), 'true');
        assert.equal(node.attr('cacheType'), 'Relays');
        assert.equal(node.attr('nodeId'), undefined);
        assert.equal(node.attr('isControllable'), undefined);
        const single = g0.answer({ command: 'getNode', node: METER });
        assert.equal(single.attr('result'), 'OK');
        assert.equal(single.attr('id'), 'Meter1');
        assert.equal(single.attr('isConfigurable'), 'false');
        const sources = g0.answer({ command: 'getRootDataSources', sources: [ROOT] });
        assert.equal(
            sources.toString(),
            '<getRootDataSourcesResponse xmlns="urn:xmpp:sn:concentrators" result="OK"><dataSource id="MeteringRoot" name="Metering" hasChildren="true"/></getRootDataSourcesResponse>',
        );
    });

    test('G1 answers use nodeId, sourceId and isControllable', () => {
        const g1 = concentratorCodec('G1');
        const node = g1.answer({ command: 'getRootNodes', nodes: [RELAY] }).child('node');
        assert.ok(node);
        assert.equal(node.attr('nodeId'), 'Relay1');
        assert.equal(node.attr('isControllable'), 'true');
        assert.equal(node.attr('id'), undefined);
        assert.equal(node.attr('isConfigurable'), undefined);
        const source = g1.answer({ command: 'getAllDataSources', sources: [TOPOLOGY] }).child('dataSource');
        assert.deepEqual(source?.attrs, {
            sourceId: 'MeteringTopology',
            name: 'Topology',
            hasChildren: 'false',
            lastChanged: '2024-03-19T17:58:01.250Z',
        });
    });

    test('requests use nodeId, sourceId and cacheType in both generations (XEP-0326 v0.1 examples)', () => {
        for (const g of ['G0', 'G1'] as const) {
            const e = concentratorCodec(g).command({
                command: 'getChildNodes',
                node: RELAY_REF,
                parameters: true,
                messages: false,
            });
            assert.deepEqual(e.attrs, {
                xmlns: GENERATIONS[g].concentrator,
                nodeId: 'Relay1',
                sourceId: 'MeteringTopology',
                cacheType: 'Relays',
                parameters: 'true',
            });
        }
    });

    test('containsNode answers with text, containsNodes and getCapabilities with <value> lists', () => {
        const g1 = concentratorCodec('G1');
        assert.equal(
            g1.answer({ command: 'containsNode', contains: false }).toString(),
            '<containsNodeResponse xmlns="urn:xmpp:iot:concentrators" result="OK">false</containsNodeResponse>',
        );
        assert.equal(
            g1.answer({ command: 'containsNodes', contains: [true, false] }).toString(),
            '<containsNodesResponse xmlns="urn:xmpp:iot:concentrators" result="OK"><value>true</value><value>false</value></containsNodesResponse>',
        );
        assert.equal(
            g1.answer({ command: 'getCapabilities', commands: ['getNode', 'getRootNodes'] }).toString(),
            '<getCapabilitiesResponse xmlns="urn:xmpp:iot:concentrators" result="OK"><value>getNode</value><value>getRootNodes</value></getCapabilitiesResponse>',
        );
    });

    test('getNodeParametersForEdit wraps the form; G0 uses the v0.1 XEP-0336 namespace', () => {
        const answer = ANSWERS.getNodeParametersForEdit;
        const g0 = concentratorCodec('G0').answer(answer);
        const g1 = concentratorCodec('G1').answer(answer);
        assert.equal(g0.local, 'getNodeParametersForEditResponse');
        assert.equal(g0.attr('result'), 'OK');
        assert.equal(g0.child('x', 'jabber:x:data')?.attr('xmlns:xdd'), 'http://jabber.org/protocol/xdata-dynamic');
        assert.equal(g1.child('x', 'jabber:x:data')?.attr('xmlns:xdd'), 'urn:xmpp:xdata:dynamic');
    });

    test('a failure code in an IQ result: readAnswer throws the mapped error, readFailure reads the code', () => {
        const g1 = concentratorCodec('G1');
        const stanza = fixture('g1-notfound-in-result.xml');
        let caught: unknown;
        try {
            g1.readAnswer('getNode', payloadOf(stanza));
        } catch (err) {
            caught = err;
        }
        assert.ok(caught instanceof StanzaError);
        assert.equal(caught.condition, 'item-not-found');
        assert.match(caught.message, /answered NotFound/);
        assert.equal(caught.payload?.local, 'getNodeResponse');
        assert.deepEqual(g1.readFailure(stanza), { result: 'NotFound' });
    });

    test('an unknown result code is OtherError', () => {
        const g1 = concentratorCodec('G1');
        const stanza = wire(
            el('iq', { type: 'error', id: 'x' }, el('getNodeResponse', { xmlns: g1.ns, result: 'Exploded' })),
        );
        assert.deepEqual(g1.readFailure(stanza), { result: 'OtherError', message: "unknown result code 'Exploded'" });
        expectBadRequest(
            () => g1.readAnswer('getNode', wire(el('getNodeResponse', { xmlns: g1.ns, nodeId: 'N', state: 'Bogus' }))),
            /unknown node state/,
        );
    });

    test('IQ errors without a result code fall back to the RFC 6120 condition, then to OtherError', () => {
        const g0 = concentratorCodec('G0');
        assert.deepEqual(g0.readFailure(fixture('g3-item-not-found.xml')), {
            result: 'NotFound',
            message: 'Node not found.',
        });
        assert.deepEqual(g0.readFailure(wire(el('iq', { type: 'error', id: 'x' }))), {
            result: 'OtherError',
            message: 'error reply without a result code or an <error/> element',
        });
    });

    test('FormError details inside the payload become the message', () => {
        assert.deepEqual(concentratorCodec('G1').readFailure(fixture('g1-formerror-with-details.xml')), {
            result: 'FormError',
            message: 'delay: Out of range.',
        });
    });

    test('the XSD form of getNodes (one node on the element itself) is accepted', () => {
        const g1 = concentratorCodec('G1');
        const e = wire(el('getNodes', { xmlns: g1.ns, nodeId: 'N1', sourceId: 'S1', parameters: '1' }));
        assert.deepEqual(g1.readCommand(e), {
            command: 'getNodes',
            nodes: [{ nodeId: 'N1', sourceId: 'S1' }],
            parameters: true,
            messages: false,
        });
    });
});

describe('fixtures', () => {
    test('the 2013 getAllDataSources exchange of the seed decodes and re-encodes', () => {
        const g0 = concentratorCodec('G0');
        const request = payloadOf(fixture('seed-2013-getAllDataSources-request.xml'));
        assert.deepEqual(g0.readCommand(request), { command: 'getAllDataSources' });
        const ours = g0.command({ command: 'getAllDataSources' });
        assert.equal(ours.local, request.local);
        assert.equal(ours.ns, request.ns);

        const response = payloadOf(fixture('seed-2013-getAllDataSources-response.xml'));
        const answer = g0.readAnswer('getAllDataSources', response);
        // The slide's times have no zone: read as this machine's local time (XEP-0323 §Time Zones).
        assert.deepEqual(answer, {
            command: 'getAllDataSources',
            sources: [
                {
                    sourceId: 'Applications',
                    name: 'Applications',
                    hasChildren: false,
                    lastChanged: new Date(2013, 2, 19, 17, 58, 1),
                },
                {
                    sourceId: 'Certificates',
                    name: 'Certificates',
                    hasChildren: false,
                    lastChanged: new Date(2013, 1, 20, 12, 31, 54),
                },
                {
                    sourceId: 'Clayster.EventSink.Programmable',
                    name: 'Programmable Event Log',
                    hasChildren: false,
                    lastChanged: new Date(2012, 9, 25, 9, 31, 12),
                },
            ],
        });

        const again = wire(g0.answer(answer));
        assert.equal(again.local, response.local);
        assert.equal(again.ns, response.ns);
        assert.equal(again.attr('result'), 'OK');
        const theirs = response.childrenNamed('dataSource');
        const mine = again.childrenNamed('dataSource');
        assert.equal(mine.length, theirs.length);
        const sources = answer.command === 'getAllDataSources' ? answer.sources : [];
        for (const [i, t] of theirs.entries()) {
            const m = mine[i];
            assert.ok(m);
            assert.deepEqual(Object.keys(m.attrs).sort(), Object.keys(t.attrs).sort());
            for (const a of ['id', 'name', 'hasChildren']) assert.equal(m.attr(a), t.attr(a), a);
            // Same instant; written with an explicit zone (G0/G1 note §2.1).
            assert.equal(new Date(m.attr('lastChanged') ?? '').getTime(), sources[i]?.lastChanged?.getTime());
            assert.match(m.attr('lastChanged') ?? '', /Z$/);
        }
        assert.deepEqual(g0.readAnswer('getAllDataSources', again), answer);
    });

    test('G0 v0.1 node information: id, isConfigurable, cacheType and parameters', () => {
        const answer = concentratorCodec('G0').readAnswer('getNode', payloadOf(fixture('g0-getNode-response.xml')));
        assert.deepEqual(answer, {
            command: 'getNode',
            node: {
                nodeId: 'Node1',
                partition: 'Node',
                nodeType: 'Example.TemperatureSensor',
                state: 'WarningUnsigned',
                hasChildren: false,
                isReadable: true,
                isControllable: true,
                hasCommands: false,
                parentId: 'Root',
                lastChanged: new Date(Date.UTC(2013, 2, 19, 17, 58, 1)),
                parameters: [
                    { id: 'sn', name: 'Serial Number', type: 'string', value: '123456' },
                    { id: 'addr', name: 'Address', type: 'int', value: '123' },
                    { id: 'lat', name: 'Latitude', type: 'double', value: '12.345' },
                ],
            },
        });
    });

    test('G1 getRootNodes of a small device', () => {
        const answer = concentratorCodec('G1').readAnswer(
            'getRootNodes',
            payloadOf(fixture('g1-getRootNodes-response.xml')),
        );
        assert.deepEqual(answer, {
            command: 'getRootNodes',
            nodes: [
                {
                    nodeId: 'Meter1',
                    nodeType: 'Example.ElectricityMeter',
                    state: 'None',
                    hasChildren: false,
                    isReadable: true,
                    isControllable: false,
                    hasCommands: false,
                },
                {
                    nodeId: 'Relay1',
                    nodeType: 'Example.Relay',
                    state: 'None',
                    hasChildren: false,
                    isReadable: true,
                    isControllable: true,
                    hasCommands: false,
                },
            ],
        });
    });

    test('G0 unimplemented command: an IQ error with no RFC 6120 child', () => {
        const stanza = fixture('g0-unimplemented-error.xml');
        assert.equal(stanza.child('error'), undefined);
        assert.deepEqual(concentratorCodec('G0').readFailure(stanza), { result: 'NotImplemented' });
        // G1 does not take a G0 payload for its own: only the (missing) RFC 6120 error is left.
        assert.equal(concentratorCodec('G1').readFailure(stanza).result, 'OtherError');
    });

    test('G3 nodeInfos: src/pt references, defaults for omitted booleans, messages skipped', () => {
        const answer = concentratorCodec('G3').readAnswer(
            'getChildNodes',
            payloadOf(fixture('g3-getChildNodes-response.xml')),
        );
        assert.deepEqual(answer, {
            command: 'getChildNodes',
            nodes: [
                {
                    nodeId: 'Relay1',
                    sourceId: 'MeteringTopology',
                    partition: 'Relays',
                    displayName: 'Relay',
                    nodeType: 'Example.Relay',
                    state: 'ErrorSigned',
                    hasChildren: false,
                    isReadable: true,
                    isControllable: true,
                    hasCommands: false,
                    parentId: 'Meter1',
                    lastChanged: new Date(Date.UTC(2024, 2, 19, 17, 58, 1)),
                    parameters: [{ id: 'on', name: 'Output', type: 'boolean', value: 'true' }],
                },
                {
                    nodeId: 'Relay2',
                    sourceId: 'MeteringTopology',
                    state: 'None',
                    hasChildren: false,
                    isReadable: false,
                    isControllable: false,
                    hasCommands: false,
                },
            ],
        });
    });

    test('G3 failure from an RFC 6120 error', () => {
        assert.deepEqual(concentratorCodec('G3').readFailure(fixture('g3-item-not-found.xml')), {
            result: 'NotFound',
            message: 'Node not found.',
        });
    });

    test('G2 containsNodes request with nd children', () => {
        assert.deepEqual(concentratorCodec('G2').readCommand(payloadOf(fixture('g2-containsNodes-request.xml'))), {
            command: 'containsNodes',
            nodes: [
                { nodeId: 'Meter1', sourceId: 'MeteringTopology' },
                { nodeId: 'Relay9', sourceId: 'MeteringTopology', partition: 'Relays' },
            ],
        });
        // G3 does not read the IEEE namespace.
        expectBadRequest(
            () => concentratorCodec('G3').readCommand(payloadOf(fixture('g2-containsNodes-request.xml'))),
            /urn:ieee:iot:concentrator:1\.0/,
        );
    });
});

describe('G2/G3 wire names', () => {
    test('answers are the generic elements of the IEEE/NF schema', () => {
        const g3 = concentratorCodec('G3');
        const names = COMMANDS.map((c) => g3.answer(ANSWERS[c.command]).local);
        assert.deepEqual(names, [
            'strings',
            'dataSources',
            'dataSources',
            'dataSources',
            'bool',
            'bools',
            'nodeInfo',
            'nodeInfos',
            'nodeInfos',
            'nodeInfos',
            'nodeInfos',
            'nodeInfos',
            'x',
        ]);
        assert.equal(
            g3.answer({ command: 'containsNodes', contains: [false, true] }).toString(),
            '<bools xmlns="urn:nf:iot:concentrator:1.0"><bool>false</bool><bool>true</bool></bools>',
        );
        assert.equal(
            g3.answer({ command: 'getNode', node: RELAY }).toString(),
            '<nodeInfo xmlns="urn:nf:iot:concentrator:1.0" id="Relay1" src="MeteringTopology" pt="Relays" nodeType="Example.Relay" state="None" hasChildren="false" isReadable="true" isControllable="true" parentId="Meter1"/>',
        );
        assert.equal(
            g3.answer({ command: 'getChildDataSources', sources: [ROOT] }).toString(),
            '<dataSources xmlns="urn:nf:iot:concentrator:1.0"><dataSource src="MeteringRoot" name="Metering" hasChildren="true"/></dataSources>',
        );
    });

    test('requests use id/src/pt, nd children and src for data sources', () => {
        const g2 = concentratorCodec('G2');
        assert.equal(
            g2
                .command({ command: 'getNodes', nodes: [METER_REF, RELAY_REF], parameters: true, messages: true })
                .toString(),
            '<getNodes xmlns="urn:ieee:iot:concentrator:1.0" parameters="true" messages="true"><nd id="Meter1" src="MeteringTopology"/><nd id="Relay1" src="MeteringTopology" pt="Relays"/></getNodes>',
        );
        assert.equal(
            g2
                .command({ command: 'getRootNodes', sourceId: 'MeteringTopology', parameters: false, messages: false })
                .toString(),
            '<getRootNodes xmlns="urn:ieee:iot:concentrator:1.0" src="MeteringTopology"/>',
        );
    });

    test('a node reference without src is accepted (src is optional in the schema)', () => {
        const g3 = concentratorCodec('G3');
        assert.deepEqual(g3.readCommand(wire(el('containsNode', { xmlns: g3.ns, id: 'Meter1' }))), {
            command: 'containsNode',
            node: { nodeId: 'Meter1' },
        });
    });

    test('the edit form is the bare jabber:x:data element', () => {
        const x = concentratorCodec('G2').answer(ANSWERS.getNodeParametersForEdit);
        assert.ok(x.is('x', 'jabber:x:data'));
        assert.equal(x.attr('type'), 'form');
        expectBadRequest(
            () =>
                concentratorCodec('G2').readAnswer(
                    'getNodeParametersForEdit',
                    wire(el('nodeInfo', { xmlns: 'urn:ieee:iot:concentrator:1.0' })),
                ),
            /jabber:x:data form/,
        );
    });
});

describe('codec selection', () => {
    test('concentratorCodec gives each generation its main namespace', () => {
        for (const g of GENERATION_LIST) {
            const c: ConcentratorCodec = concentratorCodec(g);
            assert.equal(c.generation, g);
            assert.equal(c.ns, GENERATIONS[g].concentrator);
            assert.equal(concentratorCodec(g), c, 'codecs are shared instances');
        }
    });

    test('concentratorCodecFor finds every spelling and answers in it', () => {
        const cases: Array<[string, Generation]> = [
            ['urn:xmpp:sn:concentrators', 'G0'],
            ['urn:xmpp:iot:concentrators', 'G1'],
            ['urn:ieee:iot:concentrator:1.0', 'G2'],
            ['urn:nf:iot:concentrator:1.0', 'G3'],
            ['urn:nfi:iot:concentrator:1.0', 'G3'],
        ];
        for (const [ns, g] of cases) {
            const c = concentratorCodecFor(ns);
            assert.ok(c, ns);
            assert.equal(c.generation, g, ns);
            assert.equal(c.ns, ns);
            assert.equal(c.answer({ command: 'containsNode', contains: true }).attr('xmlns'), ns);
        }
        for (const ns of ['urn:xmpp:sn', 'urn:xmpp:sn:0', 'urn:nf:iot:sd:1.0', 'urn:xmpp:iot:concentrator', '']) {
            assert.equal(concentratorCodecFor(ns), undefined, ns);
        }
    });

    test('the urn:nfi: codec reads urn:nf: requests too, and the fixture request in urn:nfi:', () => {
        const nfi = concentratorCodecFor('urn:nfi:iot:concentrator:1.0');
        assert.ok(nfi);
        assert.deepEqual(nfi.readCommand(payloadOf(fixture('g3-nfi-getNode-request.xml'))), {
            command: 'getNode',
            node: { nodeId: 'Meter1', sourceId: 'MeteringTopology' },
            parameters: true,
            messages: false,
        });
        const nf = concentratorCodec('G3');
        assert.deepEqual(nfi.readCommand(wire(nf.command({ command: 'getAllDataSources' }))), {
            command: 'getAllDataSources',
        });
        assert.deepEqual(nf.readCommand(payloadOf(fixture('g3-nfi-getNode-request.xml'))).command, 'getNode');
    });
});
