import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { el, parseXml, type XmlElement } from '../../src/protocols/xml';
import { StanzaError } from '../../src/protocols/xmpp';
import type { ControlCodec } from '../../src/protocols/xmpp-iot/codec';
import { controlCodec, controlCodecFor, G01ControlCodec, G23ControlCodec } from '../../src/protocols/xmpp-iot/control';
import {
    FORM_NAMESPACES,
    formTitle,
    formToParameters,
    parametersToForm,
    submittedValues,
} from '../../src/protocols/xmpp-iot/dataform';
import { isParameterText } from '../../src/protocols/xmpp-iot/lexical';
import {
    type ControlFailure,
    type ControlFailureReason,
    type ControlRequest,
    type Generation,
    PARAMETER_TYPES,
    type ParameterDescription,
    type ParameterType,
    type ParameterValue,
} from '../../src/protocols/xmpp-iot/model';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'xmpp-iot', 'control');
const GENERATIONS: readonly Generation[] = ['G0', 'G1', 'G2', 'G3'];
const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

function fixture(name: string): XmlElement {
    return parseXml(readFileSync(path.join(FIXTURES, name), 'utf8'));
}

/** The first child element (the payload of an IQ or message fixture). */
function payloadOf(stanza: XmlElement): XmlElement {
    const first = stanza.elements()[0];
    assert.ok(first, `<${stanza.name}> has no child element`);
    return first;
}

interface Tree {
    name: string;
    attrs: Array<[string, string]>;
    children: Array<Tree | string>;
}

/**
 * A comparable picture of an element: `{namespace}local` names (prefixes do not matter),
 * attributes sorted with namespace declarations and `ignore` left out, text trimmed and
 * whitespace-only text dropped.
 */
function tree(e: XmlElement, ignore: readonly string[] = []): Tree {
    return {
        name: `{${e.ns}}${e.local}`,
        attrs: Object.entries(e.attrs)
            .filter(([k]) => k !== 'xmlns' && !k.startsWith('xmlns:') && !ignore.includes(k))
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        children: e.children.map((c) => (typeof c === 'string' ? c.trim() : tree(c, ignore))).filter((c) => c !== ''),
    };
}

/** Serialises and parses again (what the peer gets), then compares with the golden element. */
function assertSameXml(actual: XmlElement, golden: XmlElement, ignore: readonly string[] = []): void {
    const wire = parseXml(actual.toString());
    assert.deepEqual(tree(wire, ignore), tree(golden, ignore));
}

/** The error reply an engine builds around a StanzaError: payload first, then `<error/>`. */
function errorIq(err: StanzaError, id = 'c4'): XmlElement {
    return el('iq', { type: 'error', id }, err.payload, err.toElement());
}

/** Runs `fn`, expects a StanzaError with `condition`, returns it. */
function expectStanzaError(fn: () => unknown, condition: string): StanzaError {
    let caught: unknown;
    try {
        fn();
    } catch (err) {
        caught = err;
    }
    assert.ok(caught instanceof StanzaError, `expected a StanzaError, got ${String(caught)}`);
    assert.equal(caught.condition, condition, caught.message);
    return caught;
}

/** A valid lexical value of every parameter type. */
const VALID: Readonly<Record<ParameterType, string>> = {
    boolean: 'true',
    color: '9400D3',
    string: ' two  spaces ',
    date: '2026-12-24',
    dateTime: '2026-11-22T04:31:04Z',
    double: '22.50',
    duration: 'PT3M30S',
    int: '-17',
    long: '9007199254740993',
    time: '07:30:00',
    enum: 'Auto',
};

/** Values that are not of the type (string and enum take any text). */
const INVALID: Readonly<Partial<Record<ParameterType, readonly string[]>>> = {
    boolean: ['maybe'],
    color: ['GG0000', '12345', '9400D3F'],
    date: ['2026-13-01', '24.12.2026'],
    dateTime: ['yesterday', '2026-13-01T00:00:00'],
    double: ['abc', '1,5'],
    duration: ['P', '3 minutes'],
    int: ['2147483648', '1.5', 'abc'],
    long: ['9223372036854775808', '12e3'],
    time: ['25:00:00', 'noon'],
};

/** Parameter element names per generation family. */
const G23_ELEMENT: Readonly<Record<ParameterType, string>> = {
    boolean: 'b',
    color: 'cl',
    string: 's',
    date: 'd',
    dateTime: 'dt',
    double: 'db',
    duration: 'dr',
    enum: 'e',
    int: 'i',
    long: 'l',
    time: 't',
};

function elementNameOf(generation: Generation, type: ParameterType): string {
    if (generation === 'G2' || generation === 'G3') return G23_ELEMENT[type];
    return type === 'enum' ? 'string' : type;
}

/** A set element with one parameter of `type` and value `value`, in the generation's dialect. */
function oneParameterSet(generation: Generation, type: ParameterType, name: string, value: string): XmlElement {
    const codec = controlCodec(generation);
    const g23 = generation === 'G2' || generation === 'G3';
    const attrs = g23 ? { n: name, v: value, t: type === 'enum' ? 'Modes' : undefined } : { name, value };
    return parseXml(el('set', { xmlns: codec.ns }, el(elementNameOf(generation, type), attrs)).toString());
}

// ---------------------------------------------------------------------------------------------

describe('lexical checks of parameter values', () => {
    test('every valid sample is accepted and every invalid one refused', () => {
        for (const type of PARAMETER_TYPES) {
            assert.equal(isParameterText(type, VALID[type]), true, `${type} ${VALID[type]}`);
            for (const bad of INVALID[type] ?? []) assert.equal(isParameterText(type, bad), false, `${type} ${bad}`);
        }
    });

    test('tolerated forms: 1/0 and yes/no booleans, RRGGBBAA colours, INF, time-of-day durations', () => {
        assert.equal(isParameterText('boolean', '1'), true);
        assert.equal(isParameterText('boolean', 'No'), true);
        assert.equal(isParameterText('color', '9400d3c0'), true);
        assert.equal(isParameterText('double', '-INF'), true);
        assert.equal(isParameterText('double', '1E3'), true);
        assert.equal(isParameterText('duration', '01:30:00'), true);
        assert.equal(isParameterText('int', '+0042'), true);
        assert.equal(isParameterText('int', '-2147483648'), true);
        assert.equal(isParameterText('int', '-2147483649'), false);
    });
});

// ---------------------------------------------------------------------------------------------

const FORM_PARAMS: ParameterDescription[] = [
    {
        name: 'Delay',
        type: 'int',
        label: 'Delay (ms)',
        description: 'Delay before switching.',
        value: '250',
        min: 0,
        max: 4095,
    },
    { name: 'Output', type: 'boolean', label: 'Output', value: 'false' },
    { name: 'Setpoint', type: 'double', value: '21.5', min: 5, max: 30.5 },
    { name: 'Lamp', type: 'color', label: 'Lamp colour', value: '9400D3' },
    {
        name: 'Mode',
        type: 'enum',
        label: 'Mode',
        value: 'Auto',
        options: [{ value: 'Auto', label: 'Automatic' }, { value: 'Manual' }],
    },
    { name: 'Serial', type: 'string', label: 'Serial number', value: 'A-17', pattern: '^[A-Z]-\\d+$', readOnly: true },
];

/** One description per parameter type using every ParameterDescription field that applies. */
const EVERY_TYPE: ParameterDescription[] = PARAMETER_TYPES.map((type, i) => {
    const p: ParameterDescription = {
        name: `P${i}-${type}`,
        type,
        label: `Label ${type}`,
        description: `Description of ${type} <&>`,
        value: VALID[type],
    };
    if (type === 'int' || type === 'long' || type === 'double') {
        p.min = -10;
        p.max = type === 'double' ? 99.5 : 100;
    }
    if (type === 'enum') p.options = [{ value: 'Auto', label: 'Automatic' }, { value: 'Manual' }];
    if (type === 'string' || type === 'color' || type === 'date')
        p.pattern = type === 'color' ? '^[0-9A-F]{6}$' : '^.+$';
    if (i % 2 === 0) p.readOnly = true;
    return p;
});

describe('XEP-0004 control forms (dataform.ts)', () => {
    test('the namespace table names each XEP', () => {
        assert.equal(FORM_NAMESPACES.data.ns, 'jabber:x:data');
        assert.equal(FORM_NAMESPACES.data.xep, 'XEP-0004');
        assert.equal(FORM_NAMESPACES.validate.xep, 'XEP-0122');
        assert.equal(FORM_NAMESPACES.layout.xep, 'XEP-0141');
        assert.equal(FORM_NAMESPACES.dynamic.ns, 'urn:xmpp:xdata:dynamic');
        assert.equal(FORM_NAMESPACES.dynamic.xep, 'XEP-0336');
        assert.equal(FORM_NAMESPACES.color.ns, 'urn:xmpp:xdata:color');
        assert.equal(FORM_NAMESPACES.color.xep, 'XEP-0331');
    });

    test('parametersToForm matches the golden form', () => {
        assertSameXml(parametersToForm(FORM_PARAMS, 'Relay1'), fixture('g1-form.xml'));
    });

    test('every field carries xdd:notSame and XEP-0122 validation; read-only ones xdd:readOnly', () => {
        const x = parametersToForm(EVERY_TYPE, 'All');
        const fields = x.childrenNamed('field', 'jabber:x:data');
        assert.equal(fields.length, EVERY_TYPE.length);
        for (const [i, f] of fields.entries()) {
            assert.ok(f.child('notSame', 'urn:xmpp:xdata:dynamic'), `${f.attr('var')} lacks notSame`);
            assert.ok(f.child('validate', FORM_NAMESPACES.validate.ns)?.attr('datatype'), `${f.attr('var')} validate`);
            assert.equal(f.child('readOnly', 'urn:xmpp:xdata:dynamic') !== undefined, i % 2 === 0);
        }
    });

    test('field types and datatypes per parameter type', () => {
        const x = parametersToForm(EVERY_TYPE, 'All');
        const got = Object.fromEntries(
            x.childrenNamed('field', 'jabber:x:data').map((f) => {
                const v = f.child('validate', FORM_NAMESPACES.validate.ns);
                return [f.attr('var')?.split('-')[1], `${f.attr('type')} ${v?.attr('datatype')}`];
            }),
        );
        assert.deepEqual(got, {
            boolean: 'boolean xs:boolean',
            color: 'text-single xdc:Color',
            string: 'text-single xs:string',
            date: 'text-single xs:date',
            dateTime: 'text-single xs:dateTime',
            double: 'text-single xs:double',
            duration: 'text-single xs:duration',
            int: 'text-single xs:int',
            long: 'text-single xs:long',
            time: 'text-single xs:time',
            enum: 'list-single xs:string',
        });
    });

    test('an RRGGBBAA colour value gives xdc:ColorAlpha with the 8-digit regex', () => {
        const x = parametersToForm([{ name: 'Lamp', type: 'color', value: '9400D3C0' }], 'T');
        const v = x.child('field', 'jabber:x:data')?.child('validate', FORM_NAMESPACES.validate.ns);
        assert.equal(v?.attr('datatype'), 'xdc:ColorAlpha');
        assert.equal(v?.lookupNs('xdc'), 'urn:xmpp:xdata:color');
        assert.equal(v?.childText('regex', FORM_NAMESPACES.validate.ns), '^[0-9a-fA-F]{8}$');
    });

    test('round trip of every ParameterDescription field, through the wire', () => {
        const x = parseXml(parametersToForm(EVERY_TYPE, 'All').toString());
        assert.deepEqual(formToParameters(x), EVERY_TYPE);
        assert.equal(formTitle(x), 'All');
        assert.deepEqual(formToParameters(fixture('g1-form.xml')), FORM_PARAMS);
    });

    test('a string with options comes back as an enum (a form cannot tell them apart)', () => {
        const p: ParameterDescription = { name: 'Colour', type: 'string', options: [{ value: 'red' }] };
        assert.deepEqual(formToParameters(parametersToForm([p], 'T')), [{ ...p, type: 'enum' }]);
        const n: ParameterDescription = { name: 'Step', type: 'int', options: [{ value: '1' }, { value: '10' }] };
        assert.deepEqual(formToParameters(parametersToForm([n], 'T')), [n]);
    });

    test('FORM_TYPE becomes a hidden field that reading skips', () => {
        const x = parametersToForm(FORM_PARAMS.slice(0, 1), 'T', 'urn:example:form');
        const hidden = x.childrenNamed('field', 'jabber:x:data').find((f) => f.attr('var') === 'FORM_TYPE');
        assert.equal(hidden?.attr('type'), 'hidden');
        assert.equal(hidden?.childText('value', 'jabber:x:data'), 'urn:example:form');
        assert.deepEqual(
            formToParameters(x).map((p) => p.name),
            ['Delay'],
        );
    });

    test('an empty form has no page and no title when the title is empty', () => {
        const x = parametersToForm([], '');
        assert.equal(x.elements().length, 0);
        assert.deepEqual(formToParameters(x), []);
    });

    test('tolerant reading: no validation means string; unknown datatypes are strings; bad ranges ignored', () => {
        const x = parseXml(`<x xmlns='jabber:x:data' type='form'>
            <field var='A'><value>a</value></field>
            <field var='B' type='text-single'><validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='x:weird'/></field>
            <field var='C' type='text-single'><validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:int'>
              <range min='low' max='12'/></validate></field>
            <field var='D' type='text-multi'><value>l1</value><value>l2</value></field>
            <field var='E' type='list-multi'><option><value>x</value></option><option label='no value'/></field>
            <field type='fixed'><value>Heading</value></field>
            <field var='F' type='hidden'><value>secret</value></field>
            <field var='A' type='boolean'/>
            <field var='G' type='text-single'><validate xmlns='http://jabber.org/protocol/xdata-validate' xmlns:c='urn:xmpp:xdata:color' datatype='c:color'/></field>
            <field var='H' type='text-single'><validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:unsignedShort'/></field>
          </x>`);
        assert.deepEqual(formToParameters(x), [
            { name: 'A', type: 'string', value: 'a' },
            { name: 'B', type: 'string' },
            { name: 'C', type: 'int', max: 12 },
            { name: 'D', type: 'string', value: 'l1\nl2' },
            { name: 'E', type: 'string', options: [{ value: 'x' }] },
            { name: 'G', type: 'color' },
            { name: 'H', type: 'int' },
        ]);
    });

    test('reading something that is not a form is bad-request', () => {
        expectStanzaError(() => formToParameters(parseXml('<x xmlns="jabber:x:oob"/>')), 'bad-request');
        expectStanzaError(() => formToParameters(parseXml('<query xmlns="jabber:x:data"/>')), 'bad-request');
    });

    test('a hostile form: 1000 fields of unknown types, no vars, duplicates, junk validation', () => {
        const fields: string[] = [];
        for (let i = 0; i < 1000; i++) {
            fields.push(
                `<field var='f${i}' type='x-unknown-${i % 7}' label='L${i}'>` +
                    `<validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='${i % 3 === 0 ? 'nonsense' : `q:${i}`}'>` +
                    `<range min='${i}' max='NaN'/><regex/></validate><value>${i}</value><unknown xmlns='urn:x'/>` +
                    `<option><value>o${i}</value></option></field>`,
            );
        }
        fields.push("<field type='text-single'><value>no var</value></field>", "<field var='f1'/>");
        const x = parseXml(`<x xmlns='jabber:x:data' type='form'>${fields.join('')}</x>`);
        const started = performance.now();
        const params = formToParameters(x);
        assert.ok(performance.now() - started < 1000, 'reading took too long');
        assert.equal(params.length, 1000);
        assert.deepEqual(params[999], {
            name: 'f999',
            type: 'string',
            label: 'L999',
            value: '999',
            min: 999,
            options: [{ value: 'o999' }],
        });
        assert.ok(params.every((p) => p.type === 'string'));
    });

    test('submittedValues reads a submit form, typed only where the form says so', () => {
        const x = parseXml(`<x xmlns='jabber:x:data' type='submit'>
            <field var='FORM_TYPE' type='hidden'><value>urn:example</value></field>
            <field var='xdd session'><value>s1</value></field>
            <field var='Delay'><value>300</value></field>
            <field var='Output' type='boolean'><value>1</value></field>
            <field var='Lamp'><validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xdc:Color'/><value>FF0000</value></field>
            <field var='Mode' type='list-single'><value>Auto</value></field>
            <field var='Notes' type='text-multi'><value>a</value><value>b</value></field>
            <field var='Empty'/>
          </x>`);
        assert.deepEqual(submittedValues(x), [
            { name: 'Delay', text: '300' },
            { name: 'Output', text: '1', type: 'boolean' },
            { name: 'Lamp', text: 'FF0000', type: 'color' },
            { name: 'Mode', text: 'Auto' },
            { name: 'Notes', text: 'a\nb' },
            { name: 'Empty', text: '' },
        ]);
    });

    test('submittedValues refuses other form types, fields without var and repeated vars', () => {
        expectStanzaError(() => submittedValues(parametersToForm(FORM_PARAMS, 'T')), 'bad-request');
        expectStanzaError(
            () =>
                submittedValues(parseXml("<x xmlns='jabber:x:data' type='submit'><field><value>1</value></field></x>")),
            'bad-request',
        );
        const twice = expectStanzaError(
            () =>
                submittedValues(
                    parseXml("<x xmlns='jabber:x:data' type='submit'><field var='A'/><field var='A'/></x>"),
                ),
            'bad-request',
        );
        assert.match(twice.text ?? '', /"A"/);
    });

    test('a hostile submitted form of 1000 fields is read in full', () => {
        const fields = Array.from(
            { length: 1000 },
            (_, i) => `<field var='p${i}' type='weird'><value>${i}</value></field>`,
        );
        const x = parseXml(`<x xmlns='jabber:x:data' type='submit'>${fields.join('')}</x>`);
        const values = submittedValues(x);
        assert.equal(values.length, 1000);
        assert.deepEqual(values[500], { name: 'p500', text: '500' });
    });
});

// ---------------------------------------------------------------------------------------------

describe('control codec index', () => {
    test('controlCodec gives each generation its namespace and message support', () => {
        const expected: Record<Generation, [string, boolean]> = {
            G0: ['urn:xmpp:sn:control', true],
            G1: ['urn:xmpp:iot:control', true],
            G2: ['urn:ieee:iot:ctr:1.0', false],
            G3: ['urn:nf:iot:ctr:1.0', false],
        };
        for (const g of GENERATIONS) {
            const codec = controlCodec(g);
            assert.equal(codec.generation, g);
            assert.deepEqual([codec.ns, codec.supportsMessageSet], expected[g]);
            assert.equal(controlCodec(g), codec, 'codecs are shared');
        }
        assert.ok(controlCodec('G1') instanceof G01ControlCodec);
        assert.ok(controlCodec('G2') instanceof G23ControlCodec);
    });

    test('controlCodecFor matches namespaces exactly and writes the spelling it was asked for', () => {
        assert.equal(controlCodecFor('urn:xmpp:sn:control')?.generation, 'G0');
        assert.equal(controlCodecFor('urn:xmpp:iot:control')?.generation, 'G1');
        assert.equal(controlCodecFor('urn:ieee:iot:ctr:1.0')?.generation, 'G2');
        assert.equal(controlCodecFor('urn:nf:iot:ctr:1.0'), controlCodec('G3'));
        const nfi = controlCodecFor('urn:nfi:iot:ctr:1.0');
        assert.equal(nfi?.generation, 'G3');
        assert.equal(nfi?.ns, 'urn:nfi:iot:ctr:1.0');
        assert.equal(nfi?.setResult({ nodes: [], parameters: [] })?.attr('xmlns'), 'urn:nfi:iot:ctr:1.0');
        for (const other of ['urn:xmpp:sn:0', 'urn:xmpp:sn', 'urn:xmpp:iot:sensordata', 'urn:nf:iot:sd:1.0', '']) {
            assert.equal(controlCodecFor(other), undefined, other);
        }
        assert.throws(() => new G23ControlCodec('G2', 'urn:nf:iot:ctr:1.0'), RangeError);
    });
});

// ---------------------------------------------------------------------------------------------

describe('every parameter type in every generation', () => {
    for (const generation of GENERATIONS) {
        const codec = controlCodec(generation);
        const g23 = generation === 'G2' || generation === 'G3';

        test(`${generation}: set() writes each type and readSet() reads it back`, () => {
            const parameters: ParameterValue[] = PARAMETER_TYPES.map((type) =>
                type === 'enum'
                    ? { name: 'Mode', type, text: VALID.enum, enumType: 'Waher.Things.Modes' }
                    : { name: `P-${type}`, type, text: VALID[type] },
            );
            const req: ControlRequest = { nodes: [{ nodeId: 'N1' }], parameters };
            const wire = parseXml(codec.set(req).toString());
            assert.deepEqual(
                wire.elements().map((e) => e.local),
                [g23 ? 'nd' : 'node', ...PARAMETER_TYPES.map((t) => elementNameOf(generation, t))],
            );
            const read = codec.readSet(wire);
            // G0/G1 have no enum element: an enum is a string there, and the enum type is lost.
            const expected = parameters.map((p) =>
                p.type === 'enum' && !g23 ? { name: p.name, type: 'string', text: p.text } : p,
            );
            assert.deepEqual(read, { nodes: [{ nodeId: 'N1' }], parameters: expected });
        });

        test(`${generation}: values that are not of their element's type are bad-request naming the parameter`, () => {
            for (const [type, values] of Object.entries(INVALID) as Array<[ParameterType, string[]]>) {
                for (const value of values) {
                    const err = expectStanzaError(
                        () => codec.readSet(oneParameterSet(generation, type, `Param-${type}`, value)),
                        'bad-request',
                    );
                    assert.match(err.text ?? '', new RegExp(`Param-${type}`), `${type} ${value}: ${err.text}`);
                    assert.equal(err.type, 'modify');
                    if (g23) {
                        assert.equal(err.application?.local, 'paramError');
                        assert.equal(err.application?.attr('var'), `Param-${type}`);
                        assert.equal(err.application?.attr('n'), `Param-${type}`);
                    } else {
                        assert.equal(err.payload?.local, 'setResponse');
                        assert.equal(err.payload?.attr('responseCode'), 'OtherError');
                        assert.equal(err.payload?.child('parameter')?.attr('name'), `Param-${type}`);
                        assert.equal(err.application?.attr('var'), generation === 'G1' ? `Param-${type}` : undefined);
                    }
                }
            }
        });

        test(`${generation}: valid values with surrounding spaces are accepted and trimmed, strings kept`, () => {
            const read = codec.readSet(oneParameterSet(generation, 'int', 'Delay', ' 42 '));
            assert.deepEqual(read.parameters, [{ name: 'Delay', type: 'int', text: '42' }]);
            const s = codec.readSet(oneParameterSet(generation, 'string', 'Label', ' padded '));
            assert.equal(s.parameters[0]?.text, ' padded ');
        });

        test(`${generation}: every failure reason survives setError → wire → readSetError`, () => {
            const reasons: ControlFailureReason[] = [
                'not-found',
                'forbidden',
                'locked',
                'not-implemented',
                'bad-value',
                'form-error',
                'other',
            ];
            for (const reason of reasons) {
                for (const parameter of [undefined, 'Delay']) {
                    const failure: ControlFailure = { reason, message: `Failure ${reason}.`, node: { nodeId: 'N1' } };
                    if (parameter) failure.parameter = parameter;
                    const wire = parseXml(errorIq(codec.setError(failure)).toString());
                    const read = codec.readSetError(wire);
                    const expected: ControlFailure = { ...failure };
                    // G2/G3 errors carry no node, and bad-request cannot say "form" there.
                    if (g23) {
                        delete expected.node;
                        if (reason === 'form-error') expected.reason = 'bad-value';
                    }
                    assert.deepEqual(read, expected, `${reason} ${parameter}`);
                }
            }
        });
    }
});

// ---------------------------------------------------------------------------------------------

describe('G0 (urn:xmpp:sn:control, 2013)', () => {
    const g0 = controlCodec('G0');

    test('decodes the seed set (FOSDEM 2014) and encodes it back', () => {
        const iq = fixture('g0-seed-set.xml');
        const req = g0.readSet(payloadOf(iq));
        assert.deepEqual(req, { nodes: [], parameters: [{ name: 'Output', type: 'boolean', text: 'true' }] });
        assertSameXml(g0.set(req), payloadOf(iq), ['xml:lang']);
    });

    test('answers with the seed setResponse and reads it', () => {
        const golden = payloadOf(fixture('g0-seed-setresponse.xml'));
        const ok = g0.setResult({ nodes: [], parameters: [] });
        assert.ok(ok);
        assertSameXml(ok, golden);
        assert.deepEqual(g0.readSetResult(golden), { nodes: [], parameters: [] });
    });

    test('a locked failure matches the golden error (setResponse Locked + conflict, no paramError)', () => {
        const err = g0.setError({
            reason: 'locked',
            message: 'Locked by the local panel.',
            node: { nodeId: 'Relay1', sourceId: 'Local' },
        });
        assert.equal(err.condition, 'conflict');
        assert.equal(err.type, 'wait');
        assert.equal(err.application, undefined);
        assertSameXml(errorIq(err, '2'), fixture('g0-error-locked.xml'));
        assert.deepEqual(g0.readSetError(fixture('g0-error-locked.xml')), {
            reason: 'locked',
            message: 'Locked by the local panel.',
            node: { nodeId: 'Relay1', sourceId: 'Local' },
        });
    });

    test('the form is wrapped in getFormResponse with the v0.1 xdd namespace', () => {
        const params: ParameterDescription[] = [
            { name: 'Output', type: 'boolean', label: 'Output', description: 'Digital output.', value: 'true' },
        ];
        const form = g0.form(params, 'digital.output@clayster.com');
        assertSameXml(form, fixture('g0-form.xml'));
        assert.deepEqual(g0.readForm(parseXml(form.toString())), params);
    });

    test('reads getFormResponse in the concentrators namespace (v0.1 example typo)', () => {
        assert.deepEqual(g0.readForm(fixture('g0-getformresponse-typo.xml')), [
            { name: 'Output', type: 'boolean', label: 'Output', value: 'false' },
        ]);
    });

    test('reads a submitted form wrapped in <form> (v0.1 XSD)', () => {
        const req = g0.readSet(payloadOf(fixture('g0-set-form-wrapped.xml')));
        assert.deepEqual(req.parameters, [{ name: 'Output', type: 'string', text: 'true' }]);
        const empty = parseXml("<set xmlns='urn:xmpp:sn:control'><form/></set>");
        const err = expectStanzaError(() => g0.readSet(empty), 'bad-request');
        assert.equal(err.payload?.attr('responseCode'), 'FormError');
    });

    test('a set in another generation namespace is refused', () => {
        expectStanzaError(() => g0.readSet(payloadOf(fixture('g1-slixmpp-set.xml'))), 'bad-request');
        expectStanzaError(() => g0.readGetForm(payloadOf(fixture('g1-getform.xml'))), 'bad-request');
    });
});

// ---------------------------------------------------------------------------------------------

describe('G1 (urn:xmpp:iot:control): slixmpp and XEP-0325 v0.2-v0.5.1', () => {
    const g1 = controlCodec('G1');

    test("decodes slixmpp's captured set and encodes the same stanza", () => {
        const set = payloadOf(fixture('g1-slixmpp-set.xml'));
        const req = g1.readSet(set);
        assert.deepEqual(req, {
            nodes: [{ nodeId: 'Device01' }],
            parameters: [
                { name: 'Output', type: 'boolean', text: 'true' },
                { name: 'Setpoint', type: 'double', text: '22.5' },
            ],
        });
        assertSameXml(g1.set(req), set);
    });

    test("answers slixmpp with responseCode OK and reads slixmpp's answer", () => {
        const golden = payloadOf(fixture('g1-slixmpp-setresponse.xml'));
        const ok = g1.setResult({ nodes: [], parameters: [] });
        assert.ok(ok);
        assertSameXml(ok, golden);
        assert.deepEqual(g1.readSetResult(golden), { nodes: [], parameters: [] });
        assert.deepEqual(g1.readSetResult(undefined), { nodes: [], parameters: [] });
    });

    test("reads slixmpp's message set as unacknowledged", () => {
        const req = g1.readSet(payloadOf(fixture('g1-slixmpp-message-set.xml')));
        assert.deepEqual(req, {
            nodes: [],
            parameters: [{ name: 'Output', type: 'boolean', text: 'false' }],
            unacknowledged: true,
        });
    });

    test('reads the slixmpp NotFound shape (IQ error without an <error/> child)', () => {
        assert.deepEqual(g1.readSetError(fixture('g1-slixmpp-notfound.xml')), {
            reason: 'not-found',
            parameter: 'Nope',
            message: 'Invalid field Nope',
        });
    });

    test('reads the slixmpp OtherError shape with its node', () => {
        assert.deepEqual(g1.readSetError(fixture('g1-slixmpp-othererror.xml')), {
            reason: 'other',
            parameter: 'Setpoint',
            message: 'Setpoint must be a number',
            node: { nodeId: 'Device01' },
        });
    });

    test('reads the v0.3+ model: RFC 6120 condition with paramError', () => {
        assert.deepEqual(g1.readSetError(fixture('g1-v03-paramerror.xml')), {
            reason: 'bad-value',
            parameter: 'Delay',
            message: 'Value out of range 0..4095.',
        });
    });

    test('reads other error shapes: result attribute, setResponse inside <error/>, <text>, nothing at all', () => {
        const withResult = parseXml(
            "<iq type='error'><setResponse xmlns='urn:xmpp:iot:control' result='InsufficientPrivileges'/></iq>",
        );
        assert.deepEqual(g1.readSetError(withResult), { reason: 'forbidden', message: 'Access denied.' });
        const inside = parseXml(
            `<iq type='error'><error type='cancel'><item-not-found xmlns='${STANZAS}'/>` +
                "<setResponse xmlns='urn:xmpp:iot:control' responseCode='NotFound'><error var='Relay9'>No such node</error></setResponse>" +
                '</error></iq>',
        );
        assert.deepEqual(g1.readSetError(inside), {
            reason: 'not-found',
            parameter: 'Relay9',
            message: 'No such node',
        });
        const text = parseXml(
            `<iq type='error'><error type='wait'><conflict xmlns='${STANZAS}'/><text xmlns='${STANZAS}'>Busy</text></error></iq>`,
        );
        assert.deepEqual(g1.readSetError(text), { reason: 'locked', message: 'Busy' });
        const formError = parseXml(
            `<iq type='error'><setResponse xmlns='urn:xmpp:iot:control' responseCode='FormError'/>` +
                `<error type='modify'><bad-request xmlns='${STANZAS}'/></error></iq>`,
        );
        assert.equal(g1.readSetError(formError).reason, 'form-error');
        const unknownCondition = parseXml(
            `<iq type='error'><setResponse xmlns='urn:xmpp:iot:control' responseCode='Locked'/>` +
                `<error type='cancel'><weird-thing xmlns='${STANZAS}'/></error></iq>`,
        );
        assert.equal(g1.readSetError(unknownCondition).reason, 'locked');
        assert.deepEqual(g1.readSetError(parseXml("<iq type='error'/>")), {
            reason: 'other',
            message: 'The device could not perform the operation.',
        });
        const v03Unnamespaced = parseXml(
            "<iq type='error'><error type='modify'><bad-request/><paramError var='X'>Too big</paramError></error></iq>",
        );
        assert.deepEqual(g1.readSetError(v03Unnamespaced), { reason: 'bad-value', parameter: 'X', message: 'Too big' });
    });

    test('a failed value matches the golden error: setResponse for old clients, condition and paramError for new', () => {
        const failure: ControlFailure = {
            reason: 'bad-value',
            parameter: 'Delay',
            message: 'Value out of range 0..4095.',
        };
        const err = g1.setError(failure);
        assert.equal(err.condition, 'bad-request');
        assert.equal(err.type, 'modify');
        assertSameXml(errorIq(err), fixture('g1-error-bad-value.xml'));
        assert.deepEqual(g1.readSetError(fixture('g1-error-bad-value.xml')), failure);
    });

    test('setError conditions, types and response codes follow the XEP-0325 v0.3 table', () => {
        const table: Array<[ControlFailureReason, string, string, string]> = [
            ['not-found', 'item-not-found', 'cancel', 'NotFound'],
            ['forbidden', 'forbidden', 'cancel', 'InsufficientPrivileges'],
            ['locked', 'conflict', 'wait', 'Locked'],
            ['not-implemented', 'feature-not-implemented', 'cancel', 'NotImplemented'],
            ['bad-value', 'bad-request', 'modify', 'OtherError'],
            ['form-error', 'bad-request', 'modify', 'FormError'],
            ['other', 'internal-server-error', 'cancel', 'OtherError'],
        ];
        for (const [reason, condition, type, code] of table) {
            const err = g1.setError({ reason, message: 'm' });
            assert.deepEqual(
                [err.condition, err.type, err.payload?.attr('responseCode')],
                [condition, type, code],
                reason,
            );
            assert.equal(err.payload?.child('error')?.attr('var'), '', 'var is required even without a parameter');
            assert.equal(err.application, undefined, 'no paramError without a parameter');
        }
    });

    test('setResult lists applied nodes and parameters (v0.3 reduced operation) and reads them back', () => {
        const golden = payloadOf(fixture('g1-v03-setresponse-reduced.xml'));
        const expected = {
            nodes: [{ nodeId: 'Relay1', sourceId: 'MeteringTopology', partition: 'Relays' }],
            parameters: ['Output'],
        };
        assert.deepEqual(g1.readSetResult(golden), expected);
        const written = g1.setResult(expected);
        assert.ok(written);
        assert.equal(written.attr('responseCode'), 'OK');
        assertSameXml(written, golden, ['responseCode']);
    });

    test('a setResponse with an error code inside an IQ result throws, and the payload reads as the failure', () => {
        const payload = parseXml(
            "<setResponse xmlns='urn:xmpp:iot:control' responseCode='FormError'><error var='Delay'>Not a number</error></setResponse>",
        );
        const err = expectStanzaError(() => g1.readSetResult(payload), 'bad-request');
        assert.equal(err.text, 'Not a number');
        assert.ok(err.payload);
        assert.deepEqual(g1.readSetError(el('iq', { type: 'error' }, err.payload)), {
            reason: 'form-error',
            parameter: 'Delay',
            message: 'Not a number',
        });
        assert.deepEqual(g1.readSetResult(parseXml("<setResponse xmlns='urn:xmpp:iot:control' result='OK'/>")), {
            nodes: [],
            parameters: [],
        });
        assert.deepEqual(g1.readSetResult(parseXml('<somethingElse xmlns="urn:x"/>')), { nodes: [], parameters: [] });
    });

    test('every element, tokens and node attributes of a set decode and encode', () => {
        const set = payloadOf(fixture('g1-set-all-types.xml'));
        const req = g1.readSet(set);
        assert.deepEqual(req, {
            nodes: [{ nodeId: 'Relay1', sourceId: 'MeteringTopology', partition: 'Relays' }],
            parameters: [
                { name: 'Output', type: 'boolean', text: 'true' },
                { name: 'Lamp', type: 'color', text: '9400D3' },
                { name: 'Label', type: 'string', text: 'Main relay' },
                { name: 'Holiday', type: 'date', text: '2026-12-24' },
                { name: 'Start', type: 'dateTime', text: '2026-11-22T04:31:04Z' },
                { name: 'Setpoint', type: 'double', text: '22.50' },
                { name: 'Ramp', type: 'duration', text: 'PT3M30S' },
                { name: 'Delay', type: 'int', text: '-17' },
                { name: 'Counter', type: 'long', text: '9007199254740993' },
                { name: 'Opens', type: 'time', text: '07:30:00' },
            ],
            tokens: { service: ['svc1', 'svc2'], device: ['dev1'], user: ['usr1'] },
        });
        assertSameXml(g1.set(req), set);
    });

    test('unknown elements, enum, numeric, missing name or value are refused', () => {
        const cases: Array<[string, RegExp]> = [
            ["<enum name='Mode' value='Auto'/>", /<enum>.*"Mode"/],
            ["<numeric name='Power' value='1'/>", /<numeric>.*"Power"/],
            ["<int value='1'/>", /<int> without a name/],
            ["<int name='Delay'/>", /"Delay" has no value/],
            ["<boolean xmlns='urn:xmpp:sn:control' name='Output' value='true'/>", /<boolean>.*"Output"/],
            ['<node/>', /<node> without nodeId/],
        ];
        for (const [child, pattern] of cases) {
            const err = expectStanzaError(
                () => g1.readSet(parseXml(`<set xmlns='urn:xmpp:iot:control'>${child}</set>`)),
                'bad-request',
            );
            assert.match(err.text ?? '', pattern, child);
        }
    });

    test('a hostile value is quoted cut short in the error', () => {
        const long = 'x'.repeat(10_000);
        const err = expectStanzaError(
            () => g1.readSet(parseXml(`<set xmlns='urn:xmpp:iot:control'><int name='Delay' value='${long}'/></set>`)),
            'bad-request',
        );
        assert.ok((err.text ?? '').length < 300, `message of ${err.text?.length} characters`);
    });

    test('reads a set through a submitted form: strings unless typed, the session skipped', () => {
        const req = g1.readSet(payloadOf(fixture('g1-set-form.xml')));
        assert.deepEqual(req, {
            nodes: [{ nodeId: 'Relay1' }],
            parameters: [
                { name: 'Delay', type: 'string', text: '300' },
                { name: 'Output', type: 'boolean', text: '1' },
            ],
        });
    });

    test('form problems are FormError / bad-request naming the parameter', () => {
        const notSubmit = parseXml(
            "<set xmlns='urn:xmpp:iot:control'><x xmlns='jabber:x:data' type='form'><field var='A'><value>1</value></field></x></set>",
        );
        const e1 = expectStanzaError(() => g1.readSet(notSubmit), 'bad-request');
        assert.equal(e1.payload?.attr('responseCode'), 'FormError');
        assert.match(e1.text ?? '', /submit/);
        const badBoolean = parseXml(
            "<set xmlns='urn:xmpp:iot:control'><x xmlns='jabber:x:data' type='submit'><field var='Output' type='boolean'><value>maybe</value></field></x></set>",
        );
        const e2 = expectStanzaError(() => g1.readSet(badBoolean), 'bad-request');
        assert.match(e2.text ?? '', /"Output"/);
        assert.equal(e2.payload?.attr('responseCode'), 'FormError');
        assert.equal(e2.application?.attr('var'), 'Output');
    });

    test('getForm encodes and decodes nodes and tokens', () => {
        const getForm = payloadOf(fixture('g1-getform.xml'));
        const read = g1.readGetForm(getForm);
        assert.deepEqual(read, {
            nodes: [{ nodeId: 'Relay1' }, { nodeId: 'Relay2', sourceId: 'MeteringTopology' }],
            tokens: { service: ['svc1'] },
        });
        assertSameXml(g1.getForm(read.nodes, read.tokens), getForm, ['xml:lang']);
        assert.deepEqual(g1.readGetForm(g1.getForm([])), { nodes: [] });
    });

    test('the form is bare (v0.3+) and equals the golden form', () => {
        const form = g1.form(FORM_PARAMS, 'Relay1');
        assertSameXml(form, fixture('g1-form.xml'));
        assert.deepEqual(g1.readForm(parseXml(form.toString())), FORM_PARAMS);
    });

    test('reads the v0.2 getFormResponse wrapper and its error codes', () => {
        assert.deepEqual(g1.readForm(payloadOf(fixture('g1-v02-getformresponse.xml'))), [
            { name: 'Delay', type: 'int', label: 'Delay', value: '250', min: 0, max: 4095 },
            { name: 'Output', type: 'boolean', label: 'Output', value: '0', readOnly: true },
        ]);
        const err = expectStanzaError(
            () => g1.readForm(payloadOf(fixture('g1-v02-getformresponse-error.xml'))),
            'feature-not-implemented',
        );
        assert.match(err.text ?? '', /NotImplemented/);
        expectStanzaError(
            () => g1.readForm(parseXml("<getFormResponse xmlns='urn:xmpp:iot:control'/>")),
            'bad-request',
        );
    });
});

// ---------------------------------------------------------------------------------------------

describe('G2 (urn:ieee:iot:ctr:1.0) and G3 (urn:nf:iot:ctr:1.0, urn:nfi:iot:ctr:1.0)', () => {
    const g2 = controlCodec('G2');
    const g3 = controlCodec('G3');

    test('every Control.xsd element, tokens and nd attributes decode and encode', () => {
        const set = payloadOf(fixture('g2-set-all-types.xml'));
        const req = g2.readSet(set);
        assert.deepEqual(req, {
            nodes: [{ nodeId: 'Plug3', sourceId: 'MeteringTopology', partition: 'Plugs' }],
            parameters: [
                { name: 'Output', type: 'boolean', text: 'true' },
                { name: 'Lamp', type: 'color', text: '9400D3' },
                { name: 'Label', type: 'string', text: 'Main plug' },
                { name: 'Holiday', type: 'date', text: '2026-12-24' },
                { name: 'Start', type: 'dateTime', text: '2026-11-22T04:31:04.000Z' },
                { name: 'Setpoint', type: 'double', text: '21.5' },
                { name: 'Ramp', type: 'duration', text: 'PT3M30S' },
                { name: 'Mode', type: 'enum', text: 'Auto', enumType: 'Waher.Things.Modes' },
                { name: 'Delay', type: 'int', text: '250' },
                { name: 'Counter', type: 'long', text: '9007199254740993' },
                { name: 'Opens', type: 'time', text: '07:30:00' },
            ],
            tokens: { service: ['svc1', 'svc2'], device: ['dev1'], user: ['usr1'] },
        });
        assertSameXml(g2.set(req), set);
    });

    test("decodes the G3 example and answers with Waher's empty <resp/>", () => {
        const set = payloadOf(fixture('g3-set-waher.xml'));
        const req = g3.readSet(set);
        assert.deepEqual(req, {
            nodes: [{ nodeId: 'Plug3' }],
            parameters: [
                { name: 'Output', type: 'boolean', text: 'true' },
                { name: 'Setpoint', type: 'double', text: '21.5' },
            ],
        });
        assertSameXml(g3.set(req), set);
        const resp = g3.setResult({ nodes: [], parameters: [] });
        assert.ok(resp);
        assertSameXml(resp, payloadOf(fixture('g3-resp.xml')));
        assert.deepEqual(g3.readSetResult(payloadOf(fixture('g3-resp.xml'))), { nodes: [], parameters: [] });
    });

    test('a reduced <resp> lists nd and p, both ways; any other result is success', () => {
        const golden = payloadOf(fixture('g3-resp-reduced.xml'));
        const expected = { nodes: [{ nodeId: 'Plug3', sourceId: 'MeteringTopology' }], parameters: ['Output'] };
        assert.deepEqual(g3.readSetResult(golden), expected);
        const written = g3.setResult(expected);
        assert.ok(written);
        assertSameXml(written, golden);
        assert.deepEqual(g3.readSetResult(undefined), { nodes: [], parameters: [] });
        assert.deepEqual(g3.readSetResult(parseXml('<other xmlns="urn:x"/>')), { nodes: [], parameters: [] });
    });

    test('the G3 codec reads urn:nfi: requests; the G2 codec does not read G3 ones', () => {
        const nfiSet = payloadOf(fixture('g3-nfi-set.xml'));
        assert.deepEqual(g3.readSet(nfiSet).parameters, [{ name: 'Output', type: 'boolean', text: 'false' }]);
        assert.equal(controlCodecFor('urn:nfi:iot:ctr:1.0')?.readSet(nfiSet).parameters.length, 1);
        expectStanzaError(() => g2.readSet(nfiSet), 'bad-request');
        expectStanzaError(() => g2.readSet(payloadOf(fixture('g3-set-waher.xml'))), 'bad-request');
        expectStanzaError(() => g3.readSet(payloadOf(fixture('g1-slixmpp-set.xml'))), 'bad-request');
    });

    test("reads Waher's item-not-found with paramError n", () => {
        assert.deepEqual(g3.readSetError(fixture('g3-error-waher-notfound.xml')), {
            reason: 'not-found',
            parameter: 'Nope',
            message: 'Parameter not found.',
        });
    });

    test('reads the XSD paramError var', () => {
        assert.deepEqual(g2.readSetError(fixture('g2-error-xsd.xml')), {
            reason: 'bad-value',
            parameter: 'Setpoint',
            message: 'Value not valid.',
        });
    });

    test("reads Waher's forbidden with <text>, and an error without <error/>", () => {
        assert.deepEqual(g3.readSetError(fixture('g3-error-forbidden.xml')), {
            reason: 'forbidden',
            message: 'Access denied.',
        });
        assert.equal(g3.readSetError(fixture('g1-slixmpp-notfound.xml')).reason, 'other');
    });

    test('a failed value matches the golden error with paramError var and n', () => {
        const failure: ControlFailure = { reason: 'bad-value', parameter: 'Setpoint', message: 'Value not valid.' };
        const err = g3.setError(failure);
        assert.equal(err.payload, undefined, 'G2/G3 have no legacy payload');
        assertSameXml(errorIq(err, 'c11'), fixture('g3-error-bad-value.xml'));
        assert.deepEqual(g3.readSetError(fixture('g3-error-bad-value.xml')), failure);
    });

    test("not-found uses Waher's types: modify for a parameter, cancel for a node", () => {
        assert.equal(
            g3.setError({ reason: 'not-found', parameter: 'P', message: 'Parameter not found.' }).type,
            'modify',
        );
        assert.equal(g3.setError({ reason: 'not-found', message: 'Node not found.' }).type, 'cancel');
        const denied = g3.setError({ reason: 'forbidden', message: 'Access denied.' });
        assert.deepEqual([denied.condition, denied.type, denied.text], ['forbidden', 'cancel', 'Access denied.']);
    });

    test('an enum without enumType goes out as <s>; an <e> without t is read as an enum', () => {
        const set = g3.set({ nodes: [], parameters: [{ name: 'Mode', type: 'enum', text: 'Auto' }] });
        assert.deepEqual(
            set.elements().map((e) => [e.local, e.attr('n'), e.attr('v'), e.attr('t')]),
            [['s', 'Mode', 'Auto', undefined]],
        );
        const read = g3.readSet(parseXml("<set xmlns='urn:nf:iot:ctr:1.0'><e n='Mode' v='Auto'/></set>"));
        assert.deepEqual(read.parameters, [{ name: 'Mode', type: 'enum', text: 'Auto' }]);
    });

    test('unknown elements (sensor-data q among them), missing n or v are bad-request', () => {
        const cases: Array<[string, RegExp]> = [
            ["<q n='Power' v='1'/>", /<q>.*"Power"/],
            ["<boolean name='Output' value='true'/>", /<boolean>/],
            ["<i v='1'/>", /<i> without n/],
            ["<i n='Delay'/>", /"Delay" has no value/],
            ["<nd src='S'/>", /<nd> without id/],
        ];
        for (const [child, pattern] of cases) {
            const err = expectStanzaError(
                () => g3.readSet(parseXml(`<set xmlns='urn:nf:iot:ctr:1.0'>${child}</set>`)),
                'bad-request',
            );
            assert.match(err.text ?? '', pattern, child);
        }
    });

    test('reads a set through a submitted form: strings unless the form gives a datatype', () => {
        const req = g3.readSet(payloadOf(fixture('g3-set-form.xml')));
        assert.deepEqual(req, {
            nodes: [{ nodeId: 'Plug3' }],
            parameters: [
                { name: 'Setpoint', type: 'string', text: '22' },
                { name: 'Delay', type: 'int', text: '300' },
                { name: 'Notes', type: 'string', text: 'line one\nline two' },
            ],
        });
        const bad = parseXml(
            "<set xmlns='urn:nf:iot:ctr:1.0'><x xmlns='jabber:x:data' type='submit'><field var='Delay'>" +
                "<validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:int'/><value>many</value></field></x></set>",
        );
        const err = expectStanzaError(() => g3.readSet(bad), 'bad-request');
        assert.equal(err.application?.attr('n'), 'Delay');
        assert.match(err.text ?? '', /"Delay"/);
    });

    test('a set with a hostile submitted form of 1000 fields', () => {
        const fields = Array.from(
            { length: 1000 },
            (_, i) => `<field var='p${i}' type='x${i}'><value>v${i}</value></field>`,
        );
        const set = parseXml(
            `<set xmlns='urn:nf:iot:ctr:1.0'><x xmlns='jabber:x:data' type='submit'>${fields.join('')}</x></set>`,
        );
        const req = g3.readSet(set);
        assert.equal(req.parameters.length, 1000);
        assert.deepEqual(req.parameters[999], { name: 'p999', type: 'string', text: 'v999' });
    });

    test('getForm encodes and decodes nd and tokens; the form is the bare golden form', () => {
        const getForm = payloadOf(fixture('g3-getform.xml'));
        const read = g3.readGetForm(getForm);
        assert.deepEqual(read, {
            nodes: [{ nodeId: 'Plug3', sourceId: 'MeteringTopology', partition: 'Plugs' }],
            tokens: { service: ['svc1'] },
        });
        assertSameXml(g3.getForm(read.nodes, read.tokens), getForm, ['xml:lang']);
        for (const codec of [g2, g3]) {
            const form = codec.form(FORM_PARAMS, 'Relay1');
            assertSameXml(form, fixture('g1-form.xml'));
            assert.deepEqual(codec.readForm(parseXml(form.toString())), FORM_PARAMS);
        }
        assert.deepEqual(g3.readForm(payloadOf(fixture('g1-v02-getformresponse.xml'))).length, 2);
    });
});

// ---------------------------------------------------------------------------------------------

describe('codec objects satisfy the contract shape', () => {
    test('each codec round-trips a ControlResult and a getForm with tokens', () => {
        for (const g of GENERATIONS) {
            const codec: ControlCodec = controlCodec(g);
            const result = { nodes: [{ nodeId: 'A', sourceId: 'S', partition: 'P' }], parameters: ['X', 'Y'] };
            const written = codec.setResult(result);
            assert.ok(written, g);
            assert.deepEqual(codec.readSetResult(parseXml(written.toString())), result, g);
            const tokens = { service: ['s1'], device: ['d1', 'd2'], user: ['u1'] };
            const gf = codec.readGetForm(parseXml(codec.getForm([{ nodeId: 'A' }], tokens).toString()));
            assert.deepEqual(gf, { nodes: [{ nodeId: 'A' }], tokens }, g);
        }
    });
});
