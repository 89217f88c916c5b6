import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { el, parseXml, type XmlElement } from '../../src/protocols/xml';
import { StanzaError } from '../../src/protocols/xmpp/errors';
import type { SensorDataCodec } from '../../src/protocols/xmpp-iot/codec';
import type {
    Field,
    FieldType,
    Generation,
    ReadoutError,
    ReadoutEvent,
    ReadoutRequest,
    WireTime,
} from '../../src/protocols/xmpp-iot/model';
import {
    IotSensorDataCodec,
    sensorDataCodec,
    sensorDataCodecFor,
    Xep0323Codec,
} from '../../src/protocols/xmpp-iot/sensordata';

// Zoneless wire times are local time: run in a zone that is not UTC, so that confusing the two fails.
process.env.TZ = 'Europe/Stockholm';

const NS = {
    G0: 'urn:xmpp:sn',
    G1: 'urn:xmpp:iot:sensordata',
    G2: 'urn:ieee:iot:sd:1.0',
    G3: 'urn:nf:iot:sd:1.0',
    NFI: 'urn:nfi:iot:sd:1.0',
} as const;

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'xmpp-iot', 'sensordata');

/** A fixture stanza, parsed the way the XMPP stream would hand it over (jabber:client in scope). */
function stanza(name: string): XmlElement {
    return parseXml(readFileSync(path.join(FIXTURES, name), 'utf8'), { scope: { '': 'jabber:client' } });
}

/** The payload of a fixture stanza: its first child element outside jabber:client. */
function payload(name: string): XmlElement {
    const p = stanza(name)
        .elements()
        .find((e) => e.ns !== 'jabber:client');
    assert.ok(p, `${name} has no payload`);
    return p;
}

/** A payload given as text, inside a message so that namespaces resolve as on the wire. */
function xml(text: string): XmlElement {
    const m = parseXml(`<message>${text}</message>`, { scope: { '': 'jabber:client' } });
    const p = m.elements()[0];
    assert.ok(p);
    return p;
}

/**
 * A canonical text of a tree: namespace-qualified names, attributes sorted, namespace
 * declarations left out (the resolved namespace is compared instead), text kept as is.
 */
function canon(e: XmlElement, indent = ''): string {
    const attrs = Object.entries(e.attrs)
        .filter(([k]) => k !== 'xmlns' && !k.startsWith('xmlns:'))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => ` ${k}=${JSON.stringify(v)}`)
        .join('');
    const kids = e.children.map((c) =>
        typeof c === 'string' ? `${indent}  ${JSON.stringify(c)}` : canon(c, `${indent}  `),
    );
    return [`${indent}<{${e.ns}}${e.local}${attrs}>`, ...kids].join('\n');
}

/** What we write, serialised and parsed again, is the golden tree up to attribute order. */
function assertSameXml(actual: XmlElement, golden: XmlElement): void {
    assert.equal(canon(parseXml(actual.toString())), canon(golden));
}

function expectBadRequest(fn: () => unknown, pattern: RegExp): StanzaError {
    let caught: unknown;
    try {
        fn();
    } catch (err) {
        caught = err;
    }
    assert.ok(caught instanceof StanzaError, `expected a StanzaError, got ${String(caught)}`);
    assert.equal(caught.condition, 'bad-request');
    assert.equal(caught.type, 'modify');
    assert.match(caught.text ?? '', pattern);
    return caught;
}

type DataEvent = Extract<ReadoutEvent, { kind: 'data' }>;

function dataEvent(codec: SensorDataCodec, element: XmlElement): DataEvent {
    const ev = codec.readEvent(element);
    if (ev?.kind !== 'data') assert.fail(`expected a data event, got ${ev?.kind ?? 'undefined'}`);
    return ev;
}

/** Encodes with data(), serialises, parses and decodes every element again. */
function roundTrip(codec: SensorDataCodec, fields: readonly Field[], errors: readonly ReadoutError[] = []) {
    const out = codec.data('7', fields, errors, true);
    const events = out.map((e) => dataEvent(codec, xml(e.toString())));
    return {
        elements: out,
        fields: events.flatMap((e) => e.fields),
        errors: events.flatMap((e) => e.errors),
        done: events.map((e) => e.done),
    };
}

/** A zoneless (device-local) wire time. */
function local(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): WireTime {
    return { date: new Date(y, mo - 1, d, h, mi, s, ms), zoneless: true };
}

function zoned(iso: string): WireTime {
    return { date: new Date(iso), zoneless: false };
}

const T1 = zoned('2024-05-02T10:15:00Z');
const T2 = zoned('2024-05-02T00:00:00Z');
const N1 = { nodeId: 'Meter1', sourceId: 'MBus', partition: 'Slave' };

function field(p: Pick<Field, 'name' | 'type' | 'value' | 'text'> & Partial<Field>): Field {
    return { node: N1, timestamp: T1, categories: [], quality: [], ...p };
}

/** One field of every type, with every optional attribute used somewhere. */
const EVERY_TYPE: Field[] = [
    field({
        name: 'Power',
        type: 'numeric',
        value: 1.25,
        text: '1.250',
        unit: 'kW',
        decimals: 3,
        categories: ['momentary'],
        quality: ['automaticReadout'],
        writable: false,
    }),
    field({ name: 'Relay', type: 'boolean', value: true, text: 'true', categories: ['status'], writable: true }),
    field({
        name: 'Serial',
        type: 'string',
        value: 'A-17 <&>',
        text: 'A-17 <&>',
        categories: ['identity'],
        localization: { module: 'Meters', steps: '12|Meters|x,4' },
    }),
    field({
        name: 'Installed',
        type: 'dateTime',
        value: new Date('2021-09-01T06:00:00Z'),
        text: '2021-09-01T06:00:00Z',
        categories: ['identity'],
    }),
    field({ name: 'Calibrated', type: 'date', value: '2023-01-15', text: '2023-01-15', categories: ['identity'] }),
    field({ name: 'Switch', type: 'time', value: '22:00:00', text: '22:00:00', categories: ['status'] }),
    field({ name: 'Uptime', type: 'duration', value: 'P3DT4H5M6.5S', text: 'P3DT4H5M6.5S', categories: ['status'] }),
    field({
        name: 'State',
        type: 'enum',
        value: 'Running',
        text: 'Running',
        enumType: 'MeterState',
        categories: ['status'],
        quality: ['warning'],
    }),
    field({ name: 'Phases', type: 'int', value: -3, text: '-3', categories: ['identity'] }),
    field({
        name: 'Pulses',
        type: 'long',
        value: 9007199254740993n,
        text: '9007199254740993',
        categories: ['momentary'],
        quality: ['inProgress', 'automaticReadout'],
    }),
    field({
        name: 'Energy',
        type: 'numeric',
        value: 10432.5,
        text: '10432.5',
        unit: 'kWh',
        decimals: 1,
        timestamp: T2,
        categories: ['historical'],
        historicalPeriods: ['hour', 'day'],
        quality: ['automaticReadout', 'signed'],
    }),
];

// ---------------------------------------------------------------------------------------------

describe('codec selection (sensordata/index.ts)', () => {
    test('sensorDataCodec gives the codec of each generation, writing its namespace, cached', () => {
        for (const g of ['G0', 'G1', 'G2', 'G3'] as const) {
            const codec = sensorDataCodec(g);
            assert.equal(codec.generation, g);
            assert.equal(codec.ns, NS[g]);
            assert.equal(sensorDataCodec(g), codec, 'one instance per generation');
        }
        assert.ok(sensorDataCodec('G0') instanceof Xep0323Codec);
        assert.ok(sensorDataCodec('G1') instanceof Xep0323Codec);
        assert.ok(sensorDataCodec('G2') instanceof IotSensorDataCodec);
        assert.ok(sensorDataCodec('G3') instanceof IotSensorDataCodec);
        assert.throws(() => sensorDataCodec('G9' as Generation), /Unknown XMPP IoT generation: G9/);
    });

    test('sensorDataCodecFor matches namespaces exactly', () => {
        assert.equal(sensorDataCodecFor(NS.G0), sensorDataCodec('G0'));
        assert.equal(sensorDataCodecFor(NS.G1), sensorDataCodec('G1'));
        assert.equal(sensorDataCodecFor(NS.G2), sensorDataCodec('G2'));
        assert.equal(sensorDataCodecFor(NS.G3), sensorDataCodec('G3'));
        for (const ns of [
            'urn:xmpp:sn:0', // a different XEP
            'urn:xmpp:sn:control',
            'urn:xmpp:iot:sensordata:1.0',
            'urn:ieee:iot:sd', // the transient 2017 namespace
            'urn:nf:iot:ctr:1.0',
            'URN:NF:IOT:SD:1.0',
            '',
        ]) {
            assert.equal(sensorDataCodecFor(ns), undefined, ns);
        }
    });

    test('the urn:nfi alias gives a G3 codec that writes urn:nfi (answers in the request namespace)', () => {
        const nfi = sensorDataCodecFor(NS.NFI);
        assert.ok(nfi);
        assert.equal(nfi.generation, 'G3');
        assert.equal(nfi.ns, NS.NFI);
        assert.equal(sensorDataCodecFor(NS.NFI), nfi);
        assert.notEqual(nfi, sensorDataCodec('G3'));
        assert.equal(nfi.accepted('x', false).attr('xmlns'), NS.NFI);
        assert.equal(nfi.data('x', [], [], true)[0]?.attr('xmlns'), NS.NFI);
        assert.throws(() => new IotSensorDataCodec('G2', NS.G3), /not a G2 sensor-data namespace/);
    });
});

// ---------------------------------------------------------------------------------------------

describe('G0 golden stanzas (urn:xmpp:sn, seed 001, 2013)', () => {
    const g0 = sensorDataCodec('G0');

    test('req: decode and encode', () => {
        const golden = payload('g0-req.xml');
        const expected: ReadoutRequest = { id: '1', categories: ['momentary'], all: false, nodes: [], fields: [] };
        assert.deepEqual(g0.readRequest(golden), expected);
        assertSameXml(g0.request(expected), golden);
    });

    test('accepted: decode and encode', () => {
        const golden = payload('g0-accepted.xml');
        assert.deepEqual(g0.readEvent(golden), { kind: 'accepted', id: '1', queued: false });
        assertSameXml(g0.accepted('1', false), golden);
    });

    test('fields: decode (zoneless timestamp = local time) and encode', () => {
        const golden = payload('g0-fields.xml');
        const ev = dataEvent(g0, golden);
        const expected: Field = {
            node: { nodeId: 'Device01' },
            timestamp: local(2013, 3, 7, 16, 24, 30),
            name: 'Temperature',
            type: 'numeric',
            value: 23.4,
            text: '23.4',
            unit: '°C',
            decimals: 1,
            categories: ['momentary'],
            quality: ['automaticReadout'],
        };
        assert.deepEqual(ev, { kind: 'data', id: '1', fields: [expected], errors: [], done: true });
        // 16:24:30 in Stockholm (CET, UTC+1) on 7 March 2013.
        assert.equal(ev.fields[0]?.timestamp.date.toISOString(), '2013-03-07T15:24:30.000Z');
        const out = g0.data('1', ev.fields, [], true);
        assert.equal(out.length, 1);
        assertSameXml(out[0] as XmlElement, golden);
    });
});

// ---------------------------------------------------------------------------------------------

describe('G1 golden stanzas (slixmpp 1.8.3 captures and XEP-0323 v0.3+)', () => {
    const g1 = sensorDataCodec('G1');

    test('req with node and field: decode and encode', () => {
        const golden = payload('g1-req.xml');
        const expected: ReadoutRequest = {
            id: '1',
            categories: ['momentary'],
            all: false,
            nodes: [{ nodeId: 'Device01', sourceId: 'MeteringTopology', partition: 'Meter' }],
            fields: ['Power'],
        };
        assert.deepEqual(g1.readRequest(golden), expected);
        assertSameXml(g1.request(expected), golden);
    });

    test('accepted, accepted queued, started: decode and encode', () => {
        assert.deepEqual(g1.readEvent(payload('g1-accepted.xml')), { kind: 'accepted', id: '1', queued: false });
        assertSameXml(g1.accepted('1', false), payload('g1-accepted.xml'));
        assert.deepEqual(g1.readEvent(payload('g1-accepted-queued.xml')), { kind: 'accepted', id: '5', queued: true });
        assertSameXml(g1.accepted('5', true), payload('g1-accepted-queued.xml'));
        assert.deepEqual(g1.readEvent(payload('g1-started.xml')), { kind: 'started', id: '5' });
        assertSameXml(g1.started('5'), payload('g1-started.xml'));
    });

    test('fields (five slixmpp fields): decode and encode', () => {
        const golden = payload('g1-fields.xml');
        const ev = dataEvent(g1, golden);
        const at = local(2026, 11, 22, 4, 31, 4);
        const node = { nodeId: 'Device01' };
        const num = (name: string, text: string, unit: string, decimals: number, flag: 'automaticReadout' | 'status') =>
            ({
                node,
                timestamp: at,
                name,
                type: 'numeric',
                value: Number(text),
                text,
                unit,
                decimals,
                categories: flag === 'status' ? ['momentary', 'status'] : ['momentary'],
                quality: flag === 'status' ? [] : ['automaticReadout'],
            }) satisfies Field;
        assert.deepEqual(ev.fields, [
            num('Temperature', '20.9', '°C', 1, 'automaticReadout'),
            num('Power', '0.0', 'W', 1, 'automaticReadout'),
            num('Energy', '1234.500', 'kWh', 3, 'automaticReadout'),
            {
                node,
                timestamp: at,
                name: 'Output',
                type: 'boolean',
                value: false,
                text: 'false',
                categories: ['momentary', 'status'],
                quality: [],
            },
            num('Setpoint', '21', '°C', 0, 'status'),
        ]);
        assert.equal(ev.id, '1');
        assert.equal(ev.done, true);
        assert.deepEqual(ev.errors, []);
        assert.equal(ev.fields[0]?.timestamp.zoneless, true);
        assert.equal(ev.fields[0]?.timestamp.date.toISOString(), '2026-11-22T03:31:04.000Z');
        const out = g1.data('1', ev.fields, [], true);
        assert.equal(out.length, 1);
        assertSameXml(out[0] as XmlElement, golden);
    });

    test('the empty final fields of a historical readout: decode and encode', () => {
        const golden = payload('g1-fields-done-empty.xml');
        assert.deepEqual(g1.readEvent(golden), { kind: 'data', id: '1', fields: [], errors: [], done: true });
        const out = g1.data('1', [], [], true);
        assert.equal(out.length, 1);
        assertSameXml(out[0] as XmlElement, golden);
    });

    test('failure: decode and encode', () => {
        const golden = payload('g1-failure.xml');
        const expected: ReadoutError = {
            node: { nodeId: 'Device01' },
            timestamp: local(2026, 11, 22, 4, 31, 24),
            message: 'Timeout',
        };
        assert.deepEqual(g1.readEvent(golden), { kind: 'data', id: '1', fields: [], errors: [expected], done: true });
        const out = g1.data('1', [], [expected], true);
        assert.equal(out.length, 1);
        assertSameXml(out[0] as XmlElement, golden);
    });

    test('rejected in an IQ error without RFC 6120 error: decode, and rejection() writes it', () => {
        const iq = stanza('g1-rejected.xml');
        assert.equal(iq.child('error', 'jabber:client'), undefined);
        const golden = payload('g1-rejected.xml');
        assert.deepEqual(g1.readEvent(golden), { kind: 'rejected', id: '1', reason: 'Invalid nodeId Nope' });
        const given = new StanzaError('item-not-found', 'Invalid nodeId Nope');
        const err = g1.rejection('1', given);
        assert.ok(err instanceof StanzaError);
        assert.equal(err.condition, 'item-not-found');
        assert.equal(err.type, 'cancel');
        assert.equal(err.text, 'Invalid nodeId Nope');
        assert.ok(err.payload);
        assertSameXml(err.payload, golden);
    });

    test('cancel and cancelled: decode and encode', () => {
        const cancel = payload('g1-cancel.xml');
        assert.equal(g1.readCancel(cancel), '8');
        const c = g1.cancel('8');
        assert.equal(c.type, 'get');
        assertSameXml(c.payload, cancel);
        const cancelled = payload('g1-cancelled.xml');
        assert.deepEqual(g1.readEvent(cancelled), { kind: 'cancelled', id: '8' });
        const out = g1.cancelled('8');
        assert.ok(out);
        assertSameXml(out, cancelled);
    });

    test('separate done message: decode and encode', () => {
        const golden = payload('g1-done.xml');
        assert.deepEqual(g1.readEvent(golden), { kind: 'done', id: '5' });
        assertSameXml(g1.done('5'), golden);
    });

    test('v0.3+ fields of every type: decode and encode', () => {
        const golden = payload('g1-fields-v03.xml');
        const ev = dataEvent(g1, golden);
        assert.equal(ev.id, '42');
        assert.equal(ev.done, false);
        const node = { nodeId: 'Meter1', sourceId: 'MBus', partition: 'Slave' };
        const f = (p: Pick<Field, 'name' | 'type' | 'value' | 'text'> & Partial<Field>): Field => ({
            node,
            timestamp: T1,
            categories: [],
            quality: [],
            ...p,
        });
        assert.deepEqual(ev.fields, [
            f({
                name: 'Power',
                type: 'numeric',
                value: 1.25,
                text: '1.250',
                unit: 'kW',
                decimals: 3,
                categories: ['momentary'],
                quality: ['automaticReadout'],
                writable: false,
            }),
            f({ name: 'Phase count', type: 'int', value: 3, text: '3', categories: ['identity'] }),
            f({
                name: 'Pulses',
                type: 'long',
                value: 9007199254740993n,
                text: '9007199254740993',
                categories: ['momentary'],
                quality: ['inProgress'],
            }),
            f({
                name: 'Serial',
                type: 'string',
                value: '  A-17  ',
                text: '  A-17  ',
                categories: ['identity'],
                localization: { module: 'Meters', steps: '12|Meters|x,4' },
            }),
            f({ name: 'Relay', type: 'boolean', value: true, text: 'true', categories: ['status'], writable: true }),
            f({
                name: 'Installed',
                type: 'dateTime',
                value: new Date('2021-09-01T06:00:00Z'),
                text: '2021-09-01T08:00:00+02:00',
                categories: ['identity'],
            }),
            f({ name: 'Calibrated', type: 'date', value: '2023-01-15', text: '2023-01-15', categories: ['identity'] }),
            f({ name: 'Tariff switch', type: 'time', value: '22:00:00', text: '22:00:00', categories: ['status'] }),
            f({
                name: 'Uptime',
                type: 'duration',
                value: 'P3DT4H5M6.5S',
                text: 'P3DT4H5M6.5S',
                categories: ['status'],
            }),
            f({
                name: 'State',
                type: 'enum',
                value: 'Running',
                text: 'Running',
                enumType: 'MeterState',
                categories: ['status'],
                quality: ['warning'],
            }),
            f({
                name: 'Energy',
                type: 'numeric',
                value: 10432.5,
                text: '10432.5',
                unit: 'kWh',
                decimals: 1,
                timestamp: T2,
                categories: ['historical'],
                historicalPeriods: ['hour', 'day'],
                quality: ['automaticReadout', 'signed'],
            }),
        ]);
        assert.equal(ev.fields[0]?.timestamp.zoneless, false);
        const out = g1.data('42', ev.fields, [], false);
        assert.equal(out.length, 1);
        assertSameXml(out[0] as XmlElement, golden);
    });
});

// ---------------------------------------------------------------------------------------------

describe('G0/G1 reading details', () => {
    const g0 = sensorDataCodec('G0');
    const g1 = sensorDataCodec('G1');
    const wrap = (ns: string, body: string, attrs = 'seqnr="3"') =>
        xml(
            `<fields xmlns="${ns}" ${attrs}><node nodeId="N"><timestamp value="2024-01-01T00:00:00Z">${body}</timestamp></node></fields>`,
        );

    test('both done forms end a readout: done attribute (true or 1) and the separate done element', () => {
        assert.equal(dataEvent(g1, wrap(NS.G1, '', 'seqnr="3" done="true"')).done, true);
        assert.equal(dataEvent(g1, wrap(NS.G1, '', 'seqnr="3" done="1"')).done, true);
        assert.equal(dataEvent(g1, wrap(NS.G1, '', 'seqnr="3" done="false"')).done, false);
        assert.equal(dataEvent(g1, wrap(NS.G1, '', 'seqnr="3"')).done, false);
        assert.equal(dataEvent(g1, xml(`<failure xmlns="${NS.G1}" seqnr="3" done="true"/>`)).done, true);
        assert.deepEqual(g1.readEvent(xml(`<done xmlns="${NS.G1}" seqnr="3"/>`)), { kind: 'done', id: '3' });
        assert.deepEqual(g0.readEvent(xml(`<done xmlns="${NS.G0}" seqnr="3"/>`)), { kind: 'done', id: '3' });
    });

    test('timeSpan and duration are both read as duration, in both generations', () => {
        for (const [codec, ns] of [
            [g0, NS.G0],
            [g1, NS.G1],
        ] as const) {
            const ev = dataEvent(
                codec,
                wrap(
                    ns,
                    '<timeSpan name="A" value="PT3M30S"/><duration name="B" value="-P1D"/><timeSpan name="C" value="01:30:00"/>',
                ),
            );
            assert.deepEqual(
                ev.fields.map((f) => [f.name, f.type, f.value]),
                [
                    ['A', 'duration', 'PT3M30S'],
                    ['B', 'duration', '-P1D'],
                    ['C', 'duration', '01:30:00'],
                ],
            );
        }
    });

    test('identification is read as identity (fields and requests)', () => {
        const ev = dataEvent(g1, wrap(NS.G1, '<string name="Serial" value="X" identification="true"/>'));
        assert.deepEqual(ev.fields[0]?.categories, ['identity']);
        const req = g1.readRequest(xml(`<req xmlns="${NS.G1}" seqnr="4" identification="true"/>`));
        assert.deepEqual(req.categories, ['identity']);
    });

    test('historical sub-periods give category historical and the periods; plain historical too', () => {
        const ev = dataEvent(
            g1,
            wrap(
                NS.G1,
                '<numeric name="A" value="1" unit="" historicalDay="true"/>' +
                    '<numeric name="B" value="1" unit="" historicalYear="true" historicalQuarter="true" status="true"/>' +
                    '<numeric name="C" value="1" unit="" historical="true"/>',
            ),
        );
        assert.deepEqual(
            ev.fields.map((f) => [f.name, f.categories, f.historicalPeriods]),
            [
                ['A', ['historical'], ['day']],
                ['B', ['status', 'historical'], ['quarter', 'year']],
                ['C', ['historical'], undefined],
            ],
        );
    });

    test('every quality flag and empty unit / dataType', () => {
        const all = [
            'missing',
            'inProgress',
            'automaticEstimate',
            'manualEstimate',
            'manualReadout',
            'automaticReadout',
            'timeOffset',
            'warning',
            'error',
            'signed',
            'invoiced',
            'endOfSeries',
            'powerFailure',
            'invoiceConfirmed',
        ];
        const flags = all.map((q) => `${q}="true"`).join(' ');
        const ev = dataEvent(
            g1,
            wrap(NS.G1, `<numeric name="A" value="1" unit="" ${flags}/><enum name="E" value="x" dataType=""/>`),
        );
        assert.deepEqual(ev.fields[0]?.quality, all);
        assert.equal(ev.fields[0]?.unit, undefined);
        assert.equal('unit' in (ev.fields[0] as Field), false);
        assert.equal('enumType' in (ev.fields[1] as Field), false);
    });

    test('unknown field elements and foreign namespaces are skipped; the rest is kept', () => {
        const ev = dataEvent(
            g1,
            wrap(
                NS.G1,
                '<vector name="V" value="1,2"/><numeric name="A" value="1" unit=""/>' +
                    '<numeric xmlns="urn:example:other" name="F" value="2" unit=""/><field name="X" value="1"/>' +
                    '<timestamp name="P" value="1"/><boolean name="B" value="true"/>',
            ),
        );
        assert.deepEqual(
            ev.fields.map((f) => f.name),
            ['A', 'B'],
        );
    });

    test('fields whose value is not of their type are skipped, never invented', () => {
        const ev = dataEvent(
            g1,
            wrap(
                NS.G1,
                '<numeric name="bad1" value="1,5" unit="W"/>' +
                    '<numeric name="bad2" value="" unit="W"/>' +
                    '<numeric name="bad3" unit="W"/>' +
                    '<numeric value="3" unit="W"/>' +
                    '<int name="bad4" value="3.5"/>' +
                    '<int name="bad5" value="2147483648"/>' +
                    '<long name="bad6" value="9223372036854775808"/>' +
                    '<boolean name="bad7" value="maybe"/>' +
                    '<dateTime name="bad8" value="yesterday"/>' +
                    '<date name="bad9" value="2023-13-01"/>' +
                    '<time name="bad10" value="25:00:00"/>' +
                    '<duration name="bad11" value="3 minutes"/>' +
                    '<string name="bad12"/>' +
                    '<numeric name="good" value="-1.5E3" unit="W"/>' +
                    '<boolean name="good2" value="1"/>',
            ),
        );
        assert.deepEqual(
            ev.fields.map((f) => [f.name, f.value, f.decimals]),
            [
                ['good', -1500, 1],
                ['good2', true, undefined],
            ],
        );
    });

    test('a timestamp that is not a date-time drops its fields, not the others', () => {
        const ev = dataEvent(
            g1,
            xml(
                `<fields xmlns="${NS.G1}" seqnr="1"><node nodeId="N">` +
                    '<timestamp value="soon"><numeric name="A" value="1" unit=""/></timestamp>' +
                    '<timestamp><numeric name="B" value="1" unit=""/></timestamp>' +
                    '<timestamp value="2024-01-01T00:00:00+01:00"><numeric name="C" value="1" unit=""/></timestamp>' +
                    '</node></fields>',
            ),
        );
        assert.deepEqual(
            ev.fields.map((f) => [f.name, f.timestamp]),
            [['C', zoned('2023-12-31T23:00:00Z')]],
        );
    });

    test('node-less data: node without (or with empty) nodeId, timestamp directly under fields', () => {
        const ev = dataEvent(
            g1,
            xml(
                `<fields xmlns="${NS.G1}" seqnr="1">` +
                    '<node><timestamp value="2024-01-01T00:00:00Z"><numeric name="A" value="1" unit=""/></timestamp></node>' +
                    '<node nodeId="" sourceId="S"><timestamp value="2024-01-01T00:00:00Z"><numeric name="B" value="1" unit=""/></timestamp></node>' +
                    '<timestamp value="2024-01-01T00:00:00Z"><numeric name="C" value="1" unit=""/></timestamp>' +
                    '<node nodeId="N" sourceId="" cacheType=""><timestamp value="2024-01-01T00:00:00Z"><numeric name="D" value="1" unit=""/></timestamp></node>' +
                    '</fields>',
            ),
        );
        assert.deepEqual(
            ev.fields.map((f) => [f.name, f.node]),
            [
                ['A', undefined],
                ['B', undefined],
                ['C', undefined],
                ['D', { nodeId: 'N' }],
            ],
        );
    });

    test('failure errors: node attributes, zoneless and missing timestamps, several errors', () => {
        const before = Date.now();
        const ev = dataEvent(
            g1,
            xml(
                `<failure xmlns="${NS.G1}" seqnr="9">` +
                    '<error nodeId="N1" sourceId="S" cacheType="C" timestamp="2024-01-01T12:00:00"> No answer. </error>' +
                    '<error timestamp="not a time">Bus error</error>' +
                    '</failure>',
            ),
        );
        assert.equal(ev.done, false);
        assert.deepEqual(ev.errors[0], {
            node: { nodeId: 'N1', sourceId: 'S', partition: 'C' },
            timestamp: local(2024, 1, 1, 12),
            message: 'No answer.',
        });
        const second = ev.errors[1];
        assert.ok(second);
        assert.equal(second.message, 'Bus error');
        assert.equal(second.node, undefined);
        assert.equal(second.timestamp.zoneless, false);
        assert.ok(second.timestamp.date.getTime() >= before && second.timestamp.date.getTime() <= Date.now());
    });

    test('rejected: several error texts joined; event seqnr read in canonical form', () => {
        assert.deepEqual(
            g1.readEvent(
                xml(
                    `<rejected xmlns="${NS.G1}" seqnr="007"><error>Access denied.</error><error>Try later.</error></rejected>`,
                ),
            ),
            { kind: 'rejected', id: '7', reason: 'Access denied.; Try later.' },
        );
        assert.deepEqual(g0.readEvent(xml(`<rejected xmlns="${NS.G0}" seqnr="+2"/>`)), {
            kind: 'rejected',
            id: '2',
            reason: '',
        });
        // slixmpp answers a request without seqnr with an accepted without seqnr: it matches no request.
        assert.deepEqual(g1.readEvent(xml(`<accepted xmlns="${NS.G1}"/>`)), {
            kind: 'accepted',
            id: '',
            queued: false,
        });
    });

    test('elements of other kinds and other namespaces give undefined', () => {
        for (const text of [
            `<req xmlns="${NS.G1}" seqnr="1"/>`,
            `<cancel xmlns="${NS.G1}" seqnr="1"/>`,
            `<resp xmlns="${NS.G1}" id="1"/>`,
            `<fields xmlns="${NS.G0}" seqnr="1"/>`,
            `<fields xmlns="urn:xmpp:sn:0" seqnr="1"/>`,
            `<resp xmlns="${NS.G3}" id="1"/>`,
            '<fields seqnr="1"/>',
        ]) {
            assert.equal(g1.readEvent(xml(text)), undefined, text);
        }
        assert.equal(g0.readEvent(xml(`<fields xmlns="${NS.G1}" seqnr="1"/>`)), undefined);
        assert.equal(g0.readEvent(xml(`<accepted xmlns="urn:xmpp:sn:0" seqnr="1"/>`)), undefined);
    });
});

// ---------------------------------------------------------------------------------------------

describe('G0/G1 requests and cancels (client side)', () => {
    const g1 = sensorDataCodec('G1');

    test('flags, sub-periods, zoneless local times, tokens, nodes and fields', () => {
        const req: ReadoutRequest = {
            id: '-12',
            categories: ['momentary', 'peak', 'status', 'computed', 'identity', 'historical'],
            all: true,
            historicalPeriods: ['day', 'second'],
            nodes: [{ nodeId: 'N1' }, { nodeId: 'N2', sourceId: 'S', partition: 'C' }],
            fields: ['Power', 'Energy'],
            from: zoned('2026-02-28T23:00:00Z'),
            to: local(2026, 3, 1, 0, 0, 0),
            when: zoned('2026-03-01T11:30:00.250Z'),
            tokens: { service: ['s1', 's2'], device: ['d1'], user: ['u1'] },
        };
        const out = g1.request(req);
        assert.deepEqual(out.attrs, {
            xmlns: NS.G1,
            seqnr: '-12',
            momentary: 'true',
            peak: 'true',
            status: 'true',
            computed: 'true',
            identity: 'true',
            historicalSecond: 'true',
            historicalDay: 'true',
            all: 'true',
            historical: 'true',
            // Stockholm local time (CET), no zone, no fraction: what slixmpp parses.
            from: '2026-03-01T00:00:00',
            to: '2026-03-01T00:00:00',
            when: '2026-03-01T12:30:00',
            serviceToken: 's1 s2',
            deviceToken: 'd1',
            userToken: 'u1',
        });
        assert.equal(
            out.toString().replace(/^<req[^>]*>/, ''),
            '<node nodeId="N1"/><node nodeId="N2" sourceId="S" cacheType="C"/><field name="Power"/><field name="Energy"/></req>',
        );
        // And back: the device reads the same request (times as zoneless local instants).
        const back = g1.readRequest(xml(out.toString()));
        assert.deepEqual(back, {
            ...req,
            historicalPeriods: ['second', 'day'],
            from: local(2026, 3, 1),
            when: local(2026, 3, 1, 12, 30, 0),
        });
    });

    test('a request with no category sends no flag (G0/G1 flags are hints)', () => {
        const out = g1.request({ id: '1', categories: [], all: false, nodes: [], fields: [] });
        assert.deepEqual(out.attrs, { xmlns: NS.G1, seqnr: '1' });
    });

    test('seqnr must be a canonical xs:int: other ids are refused with a clear Error', () => {
        for (const id of ['abc', '1.5', '', ' 1', '007', '+3', '2147483648', '-2147483649', '0x10']) {
            assert.throws(
                () => g1.request({ id, categories: [], all: true, nodes: [], fields: [] }),
                (err: unknown) =>
                    err instanceof Error &&
                    !(err instanceof StanzaError) &&
                    /seqnr must be an xs:int/.test(err.message),
                id,
            );
            assert.throws(() => g1.cancel(id), /seqnr must be an xs:int/);
        }
        assert.equal(
            g1.request({ id: '2147483647', categories: [], all: true, nodes: [], fields: [] }).attr('seqnr'),
            '2147483647',
        );
        assert.equal(g1.cancel('-2147483648').payload.attr('seqnr'), '-2147483648');
    });

    test('an invalid date is refused', () => {
        assert.throws(
            () =>
                g1.request({
                    id: '1',
                    categories: [],
                    all: true,
                    nodes: [],
                    fields: [],
                    when: { date: new Date(Number.NaN), zoneless: false },
                }),
            /when is not a valid date/,
        );
    });
});

// ---------------------------------------------------------------------------------------------

describe('G0/G1 device side', () => {
    const g0 = sensorDataCodec('G0');
    const g1 = sensorDataCodec('G1');

    test('readRequest: a missing or non-integer seqnr is a bad-request naming the attribute', () => {
        for (const [codec, ns] of [
            [g0, NS.G0],
            [g1, NS.G1],
        ] as const) {
            expectBadRequest(
                () => codec.readRequest(xml(`<req xmlns="${ns}" momentary="true"/>`)),
                /without seqnr attribute/,
            );
            expectBadRequest(
                () => codec.readRequest(xml(`<req xmlns="${ns}" seqnr="abc"/>`)),
                /seqnr attribute "abc" is not an xs:int/,
            );
            expectBadRequest(
                () => codec.readRequest(xml(`<req xmlns="${ns}" seqnr="4294967296"/>`)),
                /seqnr .*not an xs:int/,
            );
            expectBadRequest(() => codec.readCancel(xml(`<cancel xmlns="${ns}"/>`)), /without seqnr attribute/);
            expectBadRequest(() => codec.readCancel(xml(`<cancel xmlns="${ns}" seqnr="1e3"/>`)), /seqnr/);
        }
    });

    test('readRequest: bad dates, booleans, nodes, fields and elements are bad-requests naming the problem', () => {
        const r =
            (attrs: string, body = '') =>
            () =>
                g1.readRequest(xml(`<req xmlns="${NS.G1}" seqnr="1" ${attrs}>${body}</req>`));
        expectBadRequest(r('when="tomorrow"'), /when attribute "tomorrow" is not an xs:dateTime/);
        expectBadRequest(r('from="2024-02-30T25:00:00"'), /from attribute .* is not an xs:dateTime/);
        expectBadRequest(r('to=""'), /to attribute "" is not an xs:dateTime/);
        expectBadRequest(r('momentary="maybe"'), /momentary attribute "maybe" is not an xs:boolean/);
        expectBadRequest(r('historicalDay="2"'), /historicalDay attribute/);
        expectBadRequest(r('', '<node sourceId="S"/>'), /node element without nodeId/);
        expectBadRequest(r('', '<node nodeId=""/>'), /empty nodeId/);
        expectBadRequest(r('', '<field/>'), /field element without name/);
        expectBadRequest(
            () => g1.readRequest(xml(`<cancel xmlns="${NS.G1}" seqnr="1"/>`)),
            /expected <req> in urn:xmpp:iot:sensordata, got <cancel>/,
        );
        expectBadRequest(() => g1.readRequest(xml(`<req xmlns="${NS.G0}" seqnr="1"/>`)), /got <req> in urn:xmpp:sn$/);
        expectBadRequest(
            () => g0.readRequest(xml('<req xmlns="urn:xmpp:sn:0" seqnr="1"/>')),
            /got <req> in urn:xmpp:sn:0/,
        );
    });

    test('a hostile attribute value is cut short in the error text', () => {
        const long = 'x'.repeat(10_000);
        const err = expectBadRequest(() => g1.readRequest(xml(`<req xmlns="${NS.G1}" seqnr="${long}"/>`)), /seqnr/);
        assert.ok((err.text ?? '').length < 200, `error text is ${(err.text ?? '').length} characters`);
    });

    test('readRequest keeps the seqnr as received, tolerates yes/no and empty token lists', () => {
        const req = g1.readRequest(
            xml(
                `<req xmlns="${NS.G1}" seqnr="007" momentary="yes" peak="0" all="false" serviceToken="  " userToken=" a  b ">` +
                    '<node nodeId="N" sourceId="" cacheType=""/><field name=""/><other xmlns="urn:example" nodeId="x"/></req>',
            ),
        );
        assert.deepEqual(req, {
            id: '007',
            categories: ['momentary'],
            all: false,
            nodes: [{ nodeId: 'N' }],
            fields: [''],
            tokens: { user: ['a', 'b'] },
        });
        assert.equal(g1.accepted(req.id, false).attr('seqnr'), '007');
    });

    test('data(): fields grouped by node then timestamp; zoneless stays zoneless, others get Z', () => {
        const a = { nodeId: 'A' };
        const b = { nodeId: 'A', sourceId: 'S2' };
        const tz = local(2026, 11, 22, 4, 31, 4);
        const n = (name: string, node: typeof a, timestamp: WireTime): Field => ({
            node,
            timestamp,
            name,
            type: 'numeric',
            value: 1,
            text: '1',
            decimals: 0,
            categories: ['momentary'],
            quality: [],
        });
        const fields = [n('f1', a, T1), n('f2', b, T1), n('f3', a, tz), n('f4', a, T1), n('f5', b, T1)];
        const out = g1.data('3', fields, [], false);
        assert.equal(out.length, 1);
        assert.equal(
            out[0]?.toString(),
            `<fields xmlns="${NS.G1}" seqnr="3">` +
                '<node nodeId="A"><timestamp value="2024-05-02T10:15:00Z">' +
                '<numeric name="f1" value="1" unit="" momentary="true"/><numeric name="f4" value="1" unit="" momentary="true"/>' +
                '</timestamp><timestamp value="2026-11-22T04:31:04"><numeric name="f3" value="1" unit="" momentary="true"/></timestamp></node>' +
                '<node nodeId="A" sourceId="S2"><timestamp value="2024-05-02T10:15:00Z">' +
                '<numeric name="f2" value="1" unit="" momentary="true"/><numeric name="f5" value="1" unit="" momentary="true"/>' +
                '</timestamp></node></fields>',
        );
    });

    test('data(): errors go in a separate failure; done="true" only on the last element of the last part', () => {
        const f = field({ name: 'P', type: 'numeric', value: 2, text: '2', decimals: 0 });
        const e: ReadoutError = { node: { nodeId: 'B' }, timestamp: T1, message: 'No answer' };
        const nodeless: ReadoutError = { timestamp: local(2024, 1, 1), message: 'General failure' };

        const both = g1.data('3', [f], [e, nodeless], true);
        assert.deepEqual(
            both.map((x) => [x.local, x.attr('seqnr'), x.attr('done')]),
            [
                ['fields', '3', undefined],
                ['failure', '3', 'true'],
            ],
        );
        assert.equal(
            both[1]?.toString(),
            `<failure xmlns="${NS.G1}" seqnr="3" done="true">` +
                '<error nodeId="B" timestamp="2024-05-02T10:15:00Z">No answer</error>' +
                '<error nodeId="" timestamp="2024-01-01T00:00:00">General failure</error></failure>',
        );
        const notLast = g1.data('3', [f], [e], false);
        assert.deepEqual(
            notLast.map((x) => x.attr('done')),
            [undefined, undefined],
        );
        const onlyErrors = g1.data('3', [], [e], true);
        assert.deepEqual(
            onlyErrors.map((x) => [x.local, x.attr('done')]),
            [['failure', 'true']],
        );
        const onlyFields = g1.data('3', [f], [], true);
        assert.deepEqual(
            onlyFields.map((x) => [x.local, x.attr('done')]),
            [['fields', 'true']],
        );
        const nothing = g1.data('3', [], [], false);
        assert.equal(nothing[0]?.toString(), `<fields xmlns="${NS.G1}" seqnr="3"/>`);
        // The node-less error reads back node-less.
        assert.deepEqual(dataEvent(g1, xml(both[1]?.toString() ?? '')).errors[1], nodeless);
    });

    test('data(): node-less fields are written under nodeId="" and read back node-less', () => {
        const f: Field = {
            timestamp: T1,
            name: 'X',
            type: 'boolean',
            value: true,
            text: 'true',
            categories: [],
            quality: [],
        };
        const out = g1.data('1', [f], [], true);
        assert.match(out[0]?.toString() ?? '', /<node nodeId="">/);
        assert.deepEqual(dataEvent(g1, xml(out[0]?.toString() ?? '')).fields, [f]);
    });

    test('data(): values from text when valid, else formatted; unit and dataType always present', () => {
        const out = g1.data(
            '1',
            [
                field({ name: 'a', type: 'numeric', value: 1.5, text: '', decimals: 2 }),
                field({ name: 'b', type: 'numeric', value: 1.5, text: 'garbage' }),
                field({ name: 'c', type: 'boolean', value: false, text: 'no' }),
                field({ name: 'd', type: 'int', value: 42, text: '' }),
                field({ name: 'e', type: 'long', value: 12345678901234567890n, text: '' }),
                field({ name: 'f', type: 'dateTime', value: new Date('2024-01-01T00:00:00.5Z'), text: '' }),
                field({ name: 'g', type: 'enum', value: 'On', text: 'On' }),
                field({ name: 'h', type: 'numeric', value: 3, text: '3.000', unit: '' }),
                field({ name: 'i', type: 'numeric', value: 3, text: '3', categories: ['historical'] }),
            ],
            [],
            true,
        );
        const ts = out[0]?.elements()[0]?.elements()[0];
        assert.ok(ts);
        assert.deepEqual(
            ts.elements().map((e) => e.toString()),
            [
                '<numeric name="a" value="1.50" unit=""/>',
                '<numeric name="b" value="1.5" unit=""/>',
                '<boolean name="c" value="false"/>',
                '<int name="d" value="42"/>',
                '<long name="e" value="12345678901234567890"/>',
                '<dateTime name="f" value="2024-01-01T00:00:00.500Z"/>',
                '<enum name="g" value="On" dataType=""/>',
                '<numeric name="h" value="3.000" unit=""/>',
                // The field XSD has no plain `historical`: a historical value of unknown period is Other.
                '<numeric name="i" value="3" unit="" historicalOther="true"/>',
            ],
        );
    });

    test('G0 writes timeSpan, int/long as numeric, date/time as string; no inProgress, no writable', () => {
        const fields = [
            field({ name: 'U', type: 'duration', value: 'PT3M30S', text: 'PT3M30S' }),
            field({ name: 'I', type: 'int', value: 3, text: '3', quality: ['inProgress', 'automaticReadout'] }),
            field({ name: 'L', type: 'long', value: 10n ** 18n, text: '1000000000000000000', writable: true }),
            field({ name: 'D', type: 'date', value: '2023-01-15', text: '2023-01-15' }),
            field({ name: 'T', type: 'time', value: '22:00:00', text: '22:00:00' }),
        ];
        const ts = (codec: SensorDataCodec) =>
            codec
                .data('1', fields, [], true)[0]
                ?.elements()[0]
                ?.elements()[0]
                ?.elements()
                .map((e) => e.toString());
        assert.deepEqual(ts(g0), [
            '<timeSpan name="U" value="PT3M30S"/>',
            '<numeric name="I" value="3" unit="" automaticReadout="true"/>',
            '<numeric name="L" value="1000000000000000000" unit=""/>',
            '<string name="D" value="2023-01-15"/>',
            '<string name="T" value="22:00:00"/>',
        ]);
        assert.deepEqual(ts(g1), [
            '<duration name="U" value="PT3M30S"/>',
            '<int name="I" value="3" inProgress="true" automaticReadout="true"/>',
            '<long name="L" value="1000000000000000000" writable="true"/>',
            '<date name="D" value="2023-01-15"/>',
            '<time name="T" value="22:00:00"/>',
        ]);
    });

    test('accepted, started, done, cancelled', () => {
        assert.equal(g0.accepted('5', true).toString(), `<accepted xmlns="${NS.G0}" seqnr="5" queued="true"/>`);
        assert.equal(g0.accepted('5', false).toString(), `<accepted xmlns="${NS.G0}" seqnr="5"/>`);
        assert.equal(g0.started('5').toString(), `<started xmlns="${NS.G0}" seqnr="5"/>`);
        assert.equal(g0.done('5').toString(), `<done xmlns="${NS.G0}" seqnr="5"/>`);
        assert.equal(g0.cancelled('5')?.toString(), `<cancelled xmlns="${NS.G0}" seqnr="5"/>`);
        assert.equal(g0.cancel('5').payload.toString(), `<cancel xmlns="${NS.G0}" seqnr="5"/>`);
    });

    test('rejection(): the rejected payload next to the RFC 6120 condition, everything of the error kept', () => {
        const app = el('too-many', { xmlns: 'urn:example:app' });
        const given = new StanzaError('resource-constraint', '4 readouts are in progress', {
            type: 'wait',
            application: app,
        });
        const err = g0.rejection('12', given);
        assert.equal(err.condition, 'resource-constraint');
        assert.equal(err.type, 'wait');
        assert.equal(err.text, '4 readouts are in progress');
        assert.equal(err.application, app);
        assert.equal(
            err.payload?.toString(),
            `<rejected xmlns="${NS.G0}" seqnr="12"><error>4 readouts are in progress</error></rejected>`,
        );
        // No text: the condition is the reason.
        assert.equal(
            g1.rejection('1', new StanzaError('forbidden')).payload?.toString(),
            `<rejected xmlns="${NS.G1}" seqnr="1"><error>forbidden</error></rejected>`,
        );
        assert.deepEqual(g0.readEvent(xml(err.payload?.toString() ?? '')), {
            kind: 'rejected',
            id: '12',
            reason: '4 readouts are in progress',
        });
    });
});

// ---------------------------------------------------------------------------------------------

describe('G2/G3 golden stanzas', () => {
    const g2 = sensorDataCodec('G2');
    const g3 = sensorDataCodec('G3');

    test('G3 req: decode and encode', () => {
        const golden = payload('g3-req.xml');
        const expected: ReadoutRequest = {
            id: '5f0c2d9e',
            categories: ['momentary', 'status'],
            all: false,
            nodes: [{ nodeId: 'Meter1', sourceId: 'MeteringTopology' }],
            fields: ['Power', 'Energy'],
        };
        assert.deepEqual(g3.readRequest(golden), expected);
        assertSameXml(g3.request(expected), golden);
    });

    test('G2 req with all, times, tokens and partitions: decode and encode', () => {
        const golden = payload('g2-req.xml');
        const expected: ReadoutRequest = {
            id: '0b6f3c1e9a8d4e27b1c2d3e4f5a6b7c8',
            categories: [],
            all: true,
            nodes: [{ nodeId: 'Meter1', sourceId: 'MeteringTopology', partition: 'Main' }, { nodeId: 'Meter2' }],
            fields: [],
            from: zoned('2026-02-28T00:00:00Z'),
            to: zoned('2026-03-01T00:00:00Z'),
            when: zoned('2026-03-01T12:30:00Z'),
            tokens: { service: ['svc:1', 'svc:2'], device: ['dev:9'], user: ['usr:3'] },
        };
        assert.deepEqual(g2.readRequest(golden), expected);
        assertSameXml(g2.request(expected), golden);
    });

    test('accepted (G3) and done: decode and encode', () => {
        const golden = payload('g3-accepted.xml');
        assert.deepEqual(g3.readEvent(golden), { kind: 'accepted', id: '5f0c2d9e', queued: false });
        assertSameXml(g3.accepted('5f0c2d9e', false), golden);
        const done = payload('g3-done.xml');
        assert.deepEqual(g3.readEvent(done), { kind: 'done', id: '5f0c2d9e' });
        assertSameXml(g3.done('5f0c2d9e'), done);
    });

    test('resp with a node: decode and encode', () => {
        const golden = payload('g3-resp.xml');
        const node = { nodeId: 'Meter1', sourceId: 'MeteringTopology' };
        const at = zoned('2026-03-01T10:15:00Z');
        const expected: Field[] = [
            {
                node,
                timestamp: at,
                name: 'Power',
                type: 'numeric',
                value: 1.27,
                text: '1.27',
                unit: 'kW',
                decimals: 2,
                categories: ['momentary'],
                quality: ['automaticReadout'],
            },
            {
                node,
                timestamp: at,
                name: 'Energy',
                type: 'numeric',
                value: 10432.5,
                text: '10432.5',
                unit: 'kWh',
                decimals: 1,
                categories: ['momentary'],
                quality: ['automaticReadout'],
            },
            {
                node,
                timestamp: at,
                name: 'Relay',
                type: 'boolean',
                value: true,
                text: 'true',
                categories: ['status'],
                quality: [],
                writable: true,
            },
        ];
        assert.deepEqual(g3.readEvent(golden), {
            kind: 'data',
            id: '5f0c2d9e',
            fields: expected,
            errors: [],
            done: true,
        });
        const out = g3.data('5f0c2d9e', expected, [], true);
        assert.equal(out.length, 1);
        assertSameXml(out[0] as XmlElement, golden);
    });

    test('resp without nodes, with an err and more="true": decode and encode', () => {
        const golden = payload('g3-resp-nodeless.xml');
        const at = zoned('2026-03-01T10:15:00.250Z');
        const fields: Field[] = [
            {
                timestamp: at,
                name: 'Temperature',
                type: 'numeric',
                value: 21.5,
                text: '21.50',
                unit: '°C',
                decimals: 2,
                categories: ['momentary'],
                quality: ['automaticReadout'],
            },
        ];
        const errors: ReadoutError[] = [{ timestamp: at, message: 'Humidity sensor did not answer.' }];
        assert.deepEqual(g3.readEvent(golden), { kind: 'data', id: '77', fields, errors, done: false });
        const out = g3.data('77', fields, errors, false);
        assert.equal(out.length, 1);
        assertSameXml(out[0] as XmlElement, golden);
    });

    test('IoTGateway-style resp (G2): every type, zoneless ts with milliseconds, non-schema all ignored', () => {
        const ev = dataEvent(g2, payload('g2-resp-waher.xml'));
        assert.equal(ev.id, 'a1');
        assert.equal(ev.done, false);
        const at = local(2018, 7, 18, 15, 19, 57, 732);
        assert.equal(at.date.toISOString(), '2018-07-18T13:19:57.732Z'); // CEST
        const node = { nodeId: 'Meter1', sourceId: 'MeteringTopology', partition: 'Main' };
        for (const f of ev.fields) {
            assert.deepEqual(f.node, node);
            assert.deepEqual(f.timestamp, at);
        }
        const strip = (f: Field) => {
            const { node: _n, timestamp: _t, ...rest } = f;
            return rest;
        };
        assert.deepEqual(ev.fields.map(strip), [
            {
                name: 'Temperature',
                type: 'numeric',
                value: 21.5,
                text: '21.50',
                unit: '°C',
                decimals: 2,
                categories: ['momentary'],
                quality: ['automaticReadout'],
                writable: true,
            },
            {
                name: 'Ratio',
                type: 'numeric',
                value: 0.5,
                text: '0.5',
                decimals: 1,
                categories: ['momentary', 'computed'],
                quality: ['inProgress'],
            },
            {
                name: 'Serial',
                type: 'string',
                value: 'A-17',
                text: 'A-17',
                categories: ['identity'],
                quality: [],
                localization: { module: 'Waher.Things', steps: '3|Waher.Things|x,5' },
            },
            {
                name: 'Relay',
                type: 'boolean',
                value: false,
                text: 'false',
                categories: ['status'],
                quality: [
                    'missing',
                    'automaticEstimate',
                    'manualEstimate',
                    'manualReadout',
                    'timeOffset',
                    'warning',
                    'error',
                    'signed',
                    'invoiced',
                    'endOfSeries',
                    'powerFailure',
                    'invoiceConfirmed',
                ],
            },
            {
                name: 'Calibrated',
                type: 'date',
                value: '2023-01-15',
                text: '2023-01-15',
                categories: ['identity'],
                quality: [],
            },
            {
                name: 'Installed',
                type: 'dateTime',
                value: new Date('2021-09-01T06:00:00Z'),
                text: '2021-09-01T06:00:00.000Z',
                categories: ['identity'],
                quality: [],
            },
            {
                name: 'Uptime',
                type: 'duration',
                value: 'PT3M30S',
                text: 'PT3M30S',
                categories: ['status'],
                quality: [],
            },
            {
                name: 'State',
                type: 'enum',
                value: 'Running',
                text: 'Running',
                enumType: 'Waher.Things.MeterState',
                categories: ['status'],
                quality: [],
            },
            { name: 'Phases', type: 'int', value: 3, text: '3', categories: ['identity'], quality: [] },
            {
                name: 'Pulses',
                type: 'long',
                value: -9007199254740993n,
                text: '-9007199254740993',
                categories: ['momentary'],
                quality: [],
            },
            {
                name: 'Switch',
                type: 'time',
                value: '22:00:00.1234567',
                text: '22:00:00.1234567',
                categories: ['status'],
                quality: [],
            },
            {
                name: 'All',
                type: 'numeric',
                value: 1,
                text: '1',
                decimals: 0,
                categories: ['momentary', 'peak', 'status', 'computed', 'identity', 'historical'],
                quality: [],
            },
        ]);
        // Written back: UTC with Z for ts and dt, all="true" never on a field.
        const out = g2.data('a1', ev.fields, [], true);
        const ts = out[0]?.elements()[0]?.elements()[0];
        assert.equal(ts?.attr('v'), '2018-07-18T13:19:57.732Z');
        assert.equal(ts?.elements()[5]?.toString(), '<dt n="Installed" i="true" v="2021-09-01T06:00:00Z"/>');
        assert.equal(ts?.elements()[11]?.attr('all'), undefined);
    });

    test('cancel: iq set with <cancel id>; the answer is an empty result', () => {
        const golden = payload('g3-cancel.xml');
        assert.equal(g3.readCancel(golden), '5f0c2d9e');
        const c = g3.cancel('5f0c2d9e');
        assert.equal(c.type, 'set');
        assertSameXml(c.payload, golden);
        assert.equal(g3.cancelled('5f0c2d9e'), undefined);
        assert.equal(g2.cancelled('5f0c2d9e'), undefined);
        assert.throws(() => g3.cancel(''), /id must not be empty/);
    });
});

// ---------------------------------------------------------------------------------------------

describe('G2/G3 details', () => {
    const g2 = sensorDataCodec('G2');
    const g3 = sensorDataCodec('G3');

    test('resp, accepted, started and done are read in any G2/G3 namespace (IoTGateway answers resp in nf)', () => {
        for (const codec of [g2, g3, sensorDataCodecFor(NS.NFI) as SensorDataCodec]) {
            for (const ns of [NS.G2, NS.G3, NS.NFI]) {
                const ev = dataEvent(
                    codec,
                    xml(`<resp xmlns="${ns}" id="r1"><ts v="2026-03-01T10:15:00Z"><b n="B" v="true"/></ts></resp>`),
                );
                assert.equal(ev.id, 'r1');
                assert.equal(ev.done, true);
                assert.deepEqual(
                    ev.fields.map((f) => [f.name, f.value]),
                    [['B', true]],
                );
                assert.deepEqual(codec.readEvent(xml(`<accepted xmlns="${ns}" id="r1" queued="true"/>`)), {
                    kind: 'accepted',
                    id: 'r1',
                    queued: true,
                });
                assert.deepEqual(codec.readEvent(xml(`<started xmlns="${ns}" id="r1"/>`)), {
                    kind: 'started',
                    id: 'r1',
                });
                assert.deepEqual(codec.readEvent(xml(`<done xmlns="${ns}" id="r1"/>`)), { kind: 'done', id: 'r1' });
            }
        }
        assert.deepEqual(g2.readEvent(payload('nfi-resp.xml')), {
            kind: 'data',
            id: '77',
            fields: [],
            errors: [],
            done: true,
        });
    });

    test('elements of other kinds and other namespaces give undefined', () => {
        for (const codec of [g2, g3]) {
            for (const text of [
                `<req xmlns="${NS.G3}" id="1" all="true"/>`,
                `<cancel xmlns="${NS.G2}" id="1"/>`,
                `<fields xmlns="${NS.G3}" id="1"/>`,
                `<rejected xmlns="${NS.G3}" id="1"/>`,
                `<cancelled xmlns="${NS.G3}" id="1"/>`,
                `<resp xmlns="${NS.G1}" id="1"/>`,
                `<fields xmlns="${NS.G1}" seqnr="1"/>`,
                '<resp xmlns="urn:ieee:iot:sd" id="1"/>',
                '<resp xmlns="urn:nf:iot:ctr:1.0"/>',
                '<resp id="1"/>',
            ]) {
                assert.equal(codec.readEvent(xml(text)), undefined, `${codec.generation}: ${text}`);
            }
        }
    });

    test('request: all="true" when no category is asked for; periods collapse to h; times in UTC', () => {
        const base = { id: 'r', nodes: [], fields: [] };
        assert.deepEqual(g3.request({ ...base, categories: [], all: false }).attrs, {
            xmlns: NS.G3,
            id: 'r',
            all: 'true',
        });
        assert.deepEqual(g3.request({ ...base, categories: ['momentary', 'identity'], all: false }).attrs, {
            xmlns: NS.G3,
            id: 'r',
            m: 'true',
            i: 'true',
        });
        assert.deepEqual(g2.request({ ...base, categories: [], all: false, historicalPeriods: ['day'] }).attrs, {
            xmlns: NS.G2,
            id: 'r',
            h: 'true',
        });
        assert.deepEqual(
            g2.request({
                ...base,
                categories: ['peak', 'computed', 'status', 'historical'],
                all: true,
                when: local(2026, 7, 1, 12, 0, 0),
                from: local(2026, 1, 1, 0, 0, 0, 5),
            }).attrs,
            {
                xmlns: NS.G2,
                id: 'r',
                p: 'true',
                s: 'true',
                c: 'true',
                h: 'true',
                all: 'true',
                from: '2025-12-31T23:00:00.005Z', // CET
                when: '2026-07-01T10:00:00Z', // CEST
            },
        );
        assert.throws(() => g3.request({ ...base, id: '', categories: [], all: true }), /id must not be empty/);
    });

    test('readRequest: zoneless times accepted as local, the categories read', () => {
        const req = g3.readRequest(
            xml(
                `<req xmlns="${NS.G3}" id="x" m="1" p="true" c="true" h="true" when="2026-07-01T12:00:00" to="2026-07-01">` +
                    '<nd id="N" pt="P"/><f n="A"/></req>',
            ),
        );
        assert.deepEqual(req, {
            id: 'x',
            categories: ['momentary', 'peak', 'computed', 'historical'],
            all: false,
            nodes: [{ nodeId: 'N', partition: 'P' }],
            fields: ['A'],
            when: local(2026, 7, 1, 12),
            to: local(2026, 7, 1),
        });
        // The nfi spelling is a G3 request.
        assert.equal(g3.readRequest(xml(`<req xmlns="${NS.NFI}" id="y" all="true"/>`)).id, 'y');
        assert.equal(g3.readCancel(xml(`<cancel xmlns="${NS.NFI}" id="y"/>`)), 'y');
    });

    test('readRequest: a missing id, bad times and bad children are bad-requests naming the problem', () => {
        for (const codec of [g2, g3]) {
            const ns = codec.ns;
            const r =
                (attrs: string, body = '') =>
                () =>
                    codec.readRequest(xml(`<req xmlns="${ns}" ${attrs}>${body}</req>`));
            expectBadRequest(r('all="true"'), /<req> without id attribute/);
            expectBadRequest(r('id="" all="true"'), /empty id attribute/);
            expectBadRequest(r('id="1" when="next week"'), /when attribute "next week" is not an xs:dateTime/);
            expectBadRequest(r('id="1" from="2026-02"'), /from attribute "2026-02" is not an xs:dateTime/);
            expectBadRequest(r('id="1" m="sometimes"'), /m attribute "sometimes" is not an xs:boolean/);
            expectBadRequest(r('id="1"', '<nd src="S"/>'), /nd element without id attribute/);
            expectBadRequest(r('id="1"', '<f/>'), /f element without n attribute/);
            expectBadRequest(() => codec.readCancel(xml(`<cancel xmlns="${ns}"/>`)), /<cancel> without id attribute/);
            expectBadRequest(
                () => codec.readRequest(xml(`<req xmlns="${NS.G1}" seqnr="1"/>`)),
                /got <req> in urn:xmpp:iot:sensordata/,
            );
        }
        // A G2 request is not a G3 request (the engine picks the codec by namespace).
        expectBadRequest(
            () => g3.readRequest(xml(`<req xmlns="${NS.G2}" id="1"/>`)),
            /expected <req> in urn:nf:iot:sd:1.0 or urn:nfi:iot:sd:1.0/,
        );
    });

    test('data(): nodes and node-less fields never mix in one resp; more on all but the last', () => {
        const nodeless: Field = {
            timestamp: T1,
            name: 'X',
            type: 'int',
            value: 1,
            text: '1',
            categories: [],
            quality: [],
        };
        const withNode = field({ name: 'Y', type: 'int', value: 2, text: '2' });
        const out = g3.data('id1', [nodeless, withNode], [], true);
        assert.deepEqual(
            out.map((r) => r.toString()),
            [
                `<resp xmlns="${NS.G3}" id="id1" more="true"><nd id="Meter1" src="MBus" pt="Slave"><ts v="2024-05-02T10:15:00Z"><i n="Y" v="2"/></ts></nd></resp>`,
                `<resp xmlns="${NS.G3}" id="id1"><ts v="2024-05-02T10:15:00Z"><i n="X" v="1"/></ts></resp>`,
            ],
        );
        assert.deepEqual(
            g3.data('id1', [nodeless, withNode], [], false).map((r) => r.attr('more')),
            ['true', 'true'],
        );
        assert.deepEqual(
            g3.data('id1', [withNode], [], true).map((r) => r.attr('more')),
            [undefined],
        );
        assert.equal(g3.data('id1', [], [], true)[0]?.toString(), `<resp xmlns="${NS.G3}" id="id1"/>`);
        assert.equal(g3.data('id1', [], [], false)[0]?.toString(), `<resp xmlns="${NS.G3}" id="id1" more="true"/>`);
        // And both come back, in order, with the node-less field node-less.
        const back = roundTrip(g3, [withNode, nodeless]);
        assert.deepEqual(back.fields, [withNode, nodeless]);
        assert.deepEqual(back.done, [false, true]);
    });

    test('data(): errors as err in the ts of their node and instant, after the fields', () => {
        const f1 = field({ name: 'P', type: 'numeric', value: 1, text: '1', decimals: 0, unit: 'W' });
        const errs: ReadoutError[] = [
            { node: N1, timestamp: T1, message: 'Phase 2 missing' },
            { node: N1, timestamp: local(2024, 5, 2, 12, 15), message: 'Same instant, zoneless' },
            { node: { nodeId: 'Other' }, timestamp: T2, message: 'No answer' },
            { timestamp: T2, message: 'Device-wide' },
        ];
        const out = g2.data('e', [f1], errs, true);
        assert.deepEqual(
            out.map((r) => r.toString()),
            [
                `<resp xmlns="${NS.G2}" id="e" more="true">` +
                    '<nd id="Meter1" src="MBus" pt="Slave"><ts v="2024-05-02T10:15:00Z"><q n="P" v="1" u="W"/>' +
                    '<err>Phase 2 missing</err><err>Same instant, zoneless</err></ts></nd>' +
                    '<nd id="Other"><ts v="2024-05-02T00:00:00Z"><err>No answer</err></ts></nd></resp>',
                `<resp xmlns="${NS.G2}" id="e"><ts v="2024-05-02T00:00:00Z"><err>Device-wide</err></ts></resp>`,
            ],
        );
        const back = roundTrip(g2, [f1], errs);
        assert.deepEqual(back.errors, [
            errs[0],
            { node: N1, timestamp: T1, message: 'Same instant, zoneless' },
            errs[2],
            errs[3],
        ]);
    });

    test('data(): no u without unit, t always on e, dt values converted to UTC', () => {
        const out = g3.data(
            'i',
            [
                field({ name: 'a', type: 'numeric', value: 2, text: '2.0' }),
                field({ name: 'b', type: 'enum', value: 'On', text: 'On' }),
                field({ name: 'c', type: 'dateTime', value: new Date(2024, 0, 1, 12), text: '2024-01-01T12:00:00' }),
                field({ name: 'd', type: 'duration', value: 'PT1S', text: 'PT1S', historicalPeriods: ['hour'] }),
            ],
            [],
            true,
        );
        assert.deepEqual(
            out[0]
                ?.elements()[0]
                ?.elements()[0]
                ?.elements()
                .map((e) => e.toString()),
            [
                '<q n="a" v="2.0"/>',
                '<e n="b" v="On" t=""/>',
                '<dt n="c" v="2024-01-01T11:00:00Z"/>',
                '<dr n="d" h="true" v="PT1S"/>',
            ],
        );
    });

    test('a ts whose v is not a date-time: fields skipped, errors kept; bad values and unknown elements skipped', () => {
        const before = Date.now();
        const ev = dataEvent(
            g3,
            xml(
                `<resp xmlns="${NS.G3}" id="z" more="1">` +
                    '<ts v="later"><q n="A" v="1"/><err>Clock lost</err></ts>' +
                    '<ts v="2026-01-01T00:00:00Z"><q n="B" v="1.2.3"/><q n="C" v="NaN"/><zz n="D" v="1"/>' +
                    '<x xmlns="urn:example:ext"><q n="E" v="1"/></x><i n="F" v="9999999999"/><l n="G" v="12"/><e n="H" v="X"/></ts>' +
                    '</resp>',
            ),
        );
        assert.equal(ev.done, false);
        assert.deepEqual(
            ev.fields.map((f) => [f.name, f.type, f.value, f.enumType]),
            [
                ['C', 'numeric', Number.NaN, undefined],
                ['G', 'long', 12, undefined],
                ['H', 'enum', 'X', undefined],
            ],
        );
        assert.equal(ev.errors.length, 1);
        assert.equal(ev.errors[0]?.message, 'Clock lost');
        assert.ok((ev.errors[0]?.timestamp.date.getTime() ?? 0) >= before);
    });

    test('rejection() is the error as given (RFC 6120 only)', () => {
        const e = new StanzaError('forbidden', 'Access denied.');
        assert.equal(g3.rejection('x', e), e);
        assert.equal(g3.rejection('x', e).payload, undefined);
    });

    test('accepted and started are written in the codec namespace with id', () => {
        assert.equal(g2.accepted('a', true).toString(), `<accepted xmlns="${NS.G2}" id="a" queued="true"/>`);
        assert.equal(g3.started('a').toString(), `<started xmlns="${NS.G3}" id="a"/>`);
    });
});

// ---------------------------------------------------------------------------------------------

describe('round trips of every field type in every generation', () => {
    /** What each generation's wire can carry of a field. */
    function expectedAfter(g: Generation, f: Field): Field {
        if (g === 'G1') return f;
        if (g === 'G0') {
            const out: Field = { ...f, quality: f.quality.filter((q) => q !== 'inProgress') };
            delete out.writable;
            const retype: Partial<Record<FieldType, FieldType>> = {
                int: 'numeric',
                long: 'numeric',
                date: 'string',
                time: 'string',
            };
            const t = retype[f.type];
            if (t === 'numeric') return { ...out, type: t, value: Number(f.text), decimals: 0 };
            if (t === 'string') return { ...out, type: t };
            return out;
        }
        const out: Field = { ...f };
        delete out.historicalPeriods;
        if (f.type === 'dateTime') out.text = (f.value as Date).toISOString().replace('.000Z', 'Z');
        return out;
    }

    for (const g of ['G0', 'G1', 'G2', 'G3'] as const) {
        test(`${g}: every type survives data() and readEvent()`, () => {
            const codec = sensorDataCodec(g);
            const back = roundTrip(codec, EVERY_TYPE);
            assert.deepEqual(back.done, [true]);
            assert.equal(back.fields.length, EVERY_TYPE.length);
            for (let i = 0; i < EVERY_TYPE.length; i++) {
                const f = EVERY_TYPE[i] as Field;
                assert.deepEqual(back.fields[i], expectedAfter(g, f), `${g} ${f.type} ${f.name}`);
            }
        });
    }

    test('G0 and G1 keep zoneless timestamps zoneless; G2/G3 move them to UTC (same instant)', () => {
        const f = field({
            name: 'T',
            type: 'boolean',
            value: true,
            text: 'true',
            timestamp: local(2026, 1, 15, 8, 30),
        });
        for (const g of ['G0', 'G1'] as const) {
            const back = roundTrip(sensorDataCodec(g), [f]);
            assert.deepEqual(back.fields, [f]);
            assert.match(back.elements[0]?.toString() ?? '', /<timestamp value="2026-01-15T08:30:00">/);
        }
        for (const g of ['G2', 'G3'] as const) {
            const back = roundTrip(sensorDataCodec(g), [f]);
            assert.deepEqual(back.fields, [{ ...f, timestamp: zoned('2026-01-15T07:30:00Z') }]);
            assert.match(back.elements[0]?.toString() ?? '', /<ts v="2026-01-15T07:30:00Z">/);
        }
    });

    test('requests survive request() and readRequest() in every generation', () => {
        const req: ReadoutRequest = {
            id: '31',
            categories: ['momentary', 'status'],
            all: false,
            nodes: [{ nodeId: 'N', sourceId: 'S', partition: 'P' }],
            fields: ['F1', 'F 2'],
            from: zoned('2026-01-01T00:00:00Z'),
            tokens: { user: ['u1', 'u2'] },
        };
        for (const g of ['G0', 'G1', 'G2', 'G3'] as const) {
            const codec = sensorDataCodec(g);
            const back = codec.readRequest(xml(codec.request(req).toString()));
            // G0/G1 send from in zoneless local time: the same instant, read back zoneless.
            const from = g === 'G0' || g === 'G1' ? { date: req.from?.date as Date, zoneless: true } : req.from;
            assert.deepEqual(back, { ...req, from }, g);
            assert.equal(codec.readCancel(xml(codec.cancel('31').payload.toString())), '31');
        }
    });
});

// ---------------------------------------------------------------------------------------------

describe('hostile sizes', () => {
    test('a req with 10000 field children still parses (G1 and G3)', () => {
        const many = Array.from({ length: 10_000 }, (_, i) => i);
        const g1 = sensorDataCodec('G1').readRequest(
            parseXml(`<req xmlns="${NS.G1}" seqnr="1">${many.map((i) => `<field name="F${i}"/>`).join('')}</req>`),
        );
        assert.equal(g1.fields.length, 10_000);
        assert.equal(g1.fields[0], 'F0');
        assert.equal(g1.fields[9_999], 'F9999');
        const g3 = sensorDataCodec('G3').readRequest(
            parseXml(`<req xmlns="${NS.G3}" id="x">${many.map((i) => `<f n="F${i}"/>`).join('')}</req>`),
        );
        assert.equal(g3.fields.length, 10_000);
        assert.equal(g3.fields[9_999], 'F9999');
    });

    test('a resp of 10000 fields with malformed numbers skips exactly those fields', () => {
        const many = Array.from({ length: 10_000 }, (_, i) =>
            i % 1000 === 0 ? `<q n="F${i}" v="12,5" u="W"/>` : `<q n="F${i}" v="${i}.5" u="W"/>`,
        );
        const ev = dataEvent(
            sensorDataCodec('G3'),
            parseXml(`<resp xmlns="${NS.G3}" id="x"><ts v="2026-01-01T00:00:00Z">${many.join('')}</ts></resp>`),
        );
        assert.equal(ev.fields.length, 9_990);
        assert.equal(ev.fields[0]?.name, 'F1');
        assert.equal(ev.fields[0]?.value, 1.5);
        assert.ok(!ev.fields.some((f) => f.name === 'F5000'));
    });

    test('a G1 fields message of 10000 fields with one malformed value', () => {
        const many = Array.from({ length: 10_000 }, (_, i) =>
            i === 4242
                ? `<numeric name="F${i}" value="1..2" unit=""/>`
                : `<numeric name="F${i}" value="${i}" unit=""/>`,
        );
        const ev = dataEvent(
            sensorDataCodec('G1'),
            parseXml(
                `<fields xmlns="${NS.G1}" seqnr="1" done="true"><node nodeId="N"><timestamp value="2026-01-01T00:00:00">${many.join('')}</timestamp></node></fields>`,
            ),
        );
        assert.equal(ev.fields.length, 9_999);
        assert.ok(!ev.fields.some((f) => f.name === 'F4242'));
        assert.equal(ev.fields[9_998]?.value, 9_999);
    });
});
