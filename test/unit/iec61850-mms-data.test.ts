import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ENCODER, MAX_DATA_DEPTH, NS_SCSM_8_2 } from '../../src/protocols/iec61850/mms/constants';
import {
    binaryTimeFromDate,
    binaryTimeToDate,
    bitStringFromBytes,
    bitStringToBytes,
    type Data,
    decodeData,
    decodeDataItem,
    decodeDataXml,
    encodeData,
    encodeDataItem,
    type TimeQuality,
    utcTimeFromDate,
    utcTimeToDate,
} from '../../src/protocols/iec61850/mms/data';
import { MmsError, type MmsReason } from '../../src/protocols/iec61850/mms/errors';
import { el, parseXml, serialize, type XmlElement } from '../../src/protocols/xml';
import { generator } from '../support/mms-gen';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'iec61850', 'mms');

function fixture(name: string): XmlElement {
    return parseXml(readFileSync(path.join(FIXTURES, name), 'utf8'));
}

/** Every element named `local` in document order. */
function all(root: XmlElement, local: string): XmlElement[] {
    const out: XmlElement[] = [];
    const walk = (e: XmlElement) => {
        if (e.local === local) out.push(e);
        for (const c of e.elements()) walk(c);
    };
    walk(root);
    return out;
}

function expectMmsError(fn: () => unknown, reason: MmsReason, pattern?: RegExp): MmsError {
    let caught: unknown;
    try {
        fn();
    } catch (err) {
        caught = err;
    }
    assert.ok(
        caught instanceof MmsError,
        `expected an MmsError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`,
    );
    assert.equal(caught.reason, reason, `wrong reason for: ${caught.message}`);
    if (pattern) assert.match(caught.message, pattern);
    return caught;
}

interface Shape {
    name: string;
    text?: string;
    children?: Shape[];
}

/** Structure of an element: local names, and trimmed text of leaves (namespaces and whitespace between elements ignored). */
function shape(e: XmlElement): Shape {
    const kids = e.elements();
    if (kids.length === 0) return { name: e.local, text: e.text().trim() };
    return { name: e.local, children: kids.map(shape) };
}

const GOOD: TimeQuality = { leapSecondsKnown: false, clockFailure: false, clockNotSynchronized: false, accuracy: 10 };
const UTC_EXAMPLE: Data = { kind: 'utc-time', seconds: 0x66322ec0, fraction: 0x800000, quality: GOOD };
const single = (value: number): Data => ({ kind: 'floating-point', format: 'single', value });
const mv = (value: number): Data => ({
    kind: 'structure',
    components: [
        { kind: 'structure', components: [single(value)] },
        { kind: 'bit-string', bits: '0000000000000' },
        UTC_EXAMPLE,
    ],
});

describe('iec61850 mms data: golden vectors of the wire note §5', () => {
    test('5.1 read response: one float32 2300.0 W', () => {
        const [success] = all(fixture('5.1-read-response.xml'), 'success');
        assert.ok(success);
        assert.deepEqual(decodeDataItem(success), single(2300));
    });

    test('5.2 read response: MV structure mag{f}, q, t', () => {
        const [success] = all(fixture('5.2-read-response-structure.xml'), 'success');
        assert.ok(success);
        assert.equal(success.ns, NS_SCSM_8_2);
        const data = decodeDataItem(success);
        assert.deepEqual(data, mv(2300));
        const t = (data as { components: Data[] }).components[2] as Extract<Data, { kind: 'utc-time' }>;
        assert.equal(utcTimeToDate(t).toISOString(), '2024-05-01T12:00:00.500Z');
    });

    test('5.3 write request: boolean true', () => {
        const items = all(fixture('5.3-write-request.xml'), 'Data');
        assert.equal(items.length, 1);
        assert.deepEqual(decodeDataItem(items[0] as XmlElement), { kind: 'boolean', value: true });
    });

    test('5.6 operate: APC Oper structure', () => {
        const listOfData = all(fixture('5.6-operate-write.xml'), 'listOfData')[0] as XmlElement;
        const data = decodeDataItem(listOfData.elements()[0] as XmlElement);
        assert.deepEqual(data, {
            kind: 'structure',
            components: [
                { kind: 'structure', components: [single(45.5)] },
                {
                    kind: 'structure',
                    components: [
                        { kind: 'integer', value: 3n },
                        { kind: 'octet-string', value: new Uint8Array(Buffer.from('scada@ds', 'latin1')) },
                    ],
                },
                { kind: 'unsigned', value: 17n },
                UTC_EXAMPLE,
                { kind: 'boolean', value: false },
                { kind: 'bit-string', bits: '00' },
            ],
        });
    });

    test('5.7 information report: every AccessResult', () => {
        const results = all(fixture('5.7-information-report.xml'), 'success').map((s) => decodeDataItem(s));
        const entryTime: Data = { kind: 'binary-time', msOfDay: 0x02932ff4, days: 0x398b };
        assert.deepEqual(results, [
            { kind: 'visible-string', value: 'HP1LD/LLN0$BR$brcbHP01' },
            { kind: 'bit-string', bits: '0111101110' },
            { kind: 'unsigned', value: 118n },
            entryTime,
            { kind: 'visible-string', value: 'HP1LD/LLN0$DS_HP' },
            { kind: 'boolean', value: false },
            { kind: 'octet-string', value: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0x77]) },
            { kind: 'unsigned', value: 3n },
            { kind: 'bit-string', bits: '1010' },
            mv(2300),
            mv(45.5),
            { kind: 'bit-string', bits: '0100000' },
            { kind: 'bit-string', bits: '0100000' },
        ]);
        assert.equal(
            binaryTimeToDate(entryTime as Extract<Data, { kind: 'binary-time' }>).toISOString(),
            '2024-05-01T12:00:00.500Z',
        );
        assert.deepEqual(binaryTimeFromDate(new Date('2024-05-01T12:00:00.500Z')), entryTime);
        assert.deepEqual(utcTimeFromDate(new Date('2024-05-01T12:00:00.500Z'), GOOD), UTC_EXAMPLE);
    });

    test('encoding the decoded examples gives the same structure and text', () => {
        let compared = 0;
        for (const name of [
            '5.1-read-response.xml',
            '5.2-read-response-structure.xml',
            '5.3-write-request.xml',
            '5.6-operate-write.xml',
            '5.7-information-report.xml',
        ]) {
            const root = fixture(name);
            const holders = [...all(root, 'success'), ...all(root, 'listOfData').flatMap((l) => l.elements())];
            for (const holder of holders) {
                const original = holder.elements()[0] as XmlElement;
                assert.deepEqual(
                    shape(encodeData(decodeData(original))),
                    shape(original),
                    `${name}: ${original.local}`,
                );
                compared++;
            }
        }
        assert.equal(compared, 1 + 1 + 1 + 1 + 13);
    });

    test('the encoder writes the §4.1 forms', () => {
        assert.equal(serialize(encodeData(single(2300))), '<floating-point>08450FC000</floating-point>');
        assert.equal(
            serialize(encodeData(single(2300), { floatForm: 'raw' })),
            '<floating-point>450FC000</floating-point>',
        );
        assert.equal(
            serialize(encodeData({ kind: 'floating-point', format: 'double', value: 1 })),
            '<floating-point>0B3FF0000000000000</floating-point>',
        );
        assert.equal(serialize(encodeData(UTC_EXAMPLE)), '<utc-time>66322EC08000000A</utc-time>');
        assert.equal(
            serialize(encodeDataItem({ kind: 'boolean', value: true })),
            '<Data><boolean><true/></boolean></Data>',
        );
        assert.equal(
            serialize(encodeData({ kind: 'array', elements: [{ kind: 'integer', value: -5n }] })),
            '<array><Data><integer>-5</integer></Data></array>',
        );
        assert.equal(
            serialize(encodeData({ kind: 'mMSString', value: 'a\u0007b\tc' })),
            '<mMSString>a<bel/>b\tc</mMSString>',
        );
        assert.equal(ENCODER.floatForm, 'prefixed');
    });

    test('the decoder accepts the §4.1 variants', () => {
        assert.deepEqual(decodeDataXml('<floating-point>450FC000</floating-point>'), single(2300));
        assert.deepEqual(decodeDataXml('<floating-point>08450fc000</floating-point>'), single(2300));
        assert.deepEqual(decodeDataXml('<floating-point>3FF0000000000000</floating-point>'), {
            kind: 'floating-point',
            format: 'double',
            value: 1,
        });
        assert.deepEqual(decodeDataXml('<boolean>true</boolean>'), { kind: 'boolean', value: true });
        assert.deepEqual(decodeDataXml('<integer> 007 </integer>'), { kind: 'integer', value: 7n });
        assert.deepEqual(decodeDataXml('<bit-string>0101 1</bit-string>'), { kind: 'bit-string', bits: '01011' });
        assert.deepEqual(decodeDataXml('<octet-string>0a 0B</octet-string>'), {
            kind: 'octet-string',
            value: Uint8Array.from([10, 11]),
        });
        assert.deepEqual(decodeDataXml('<binary-time>02932FF4</binary-time>'), {
            kind: 'binary-time',
            msOfDay: 0x02932ff4,
        });
        assert.deepEqual(decodeDataXml(`<x:integer xmlns:x="${NS_SCSM_8_2}">1</x:integer>`), {
            kind: 'integer',
            value: 1n,
        });
    });

    test('bit-string helpers carry the bit count and padding', () => {
        assert.deepEqual(bitStringToBytes('0100001000000'), { bytes: Uint8Array.from([0x42, 0x00]), padding: 3 });
        assert.equal(bitStringFromBytes(Uint8Array.from([0x42, 0x00]), 13), '0100001000000');
        assert.deepEqual(bitStringToBytes(''), { bytes: new Uint8Array(0), padding: 0 });
        expectMmsError(() => bitStringFromBytes(new Uint8Array(1), 9), 'out-of-range');
    });
});

// ---------------------------------------------------------------------------------------------
// Property: decode(encode(d)) = d, with a small seeded generator (no fast-check in devDependencies).

describe('iec61850 mms data: encode-then-decode is the identity', () => {
    test('1000 random Data trees, through XML text', () => {
        const tree = generator(0x61850);
        for (let i = 0; i < 1000; i++) {
            const d = tree(5);
            const text = serialize(encodeData(d));
            assert.deepStrictEqual(decodeDataXml(text), d, text);
        }
    });

    test('300 random Data trees, raw float form, without text', () => {
        const tree = generator(82);
        for (let i = 0; i < 300; i++) {
            const d = tree(4);
            assert.deepStrictEqual(decodeData(encodeData(d, { floatForm: 'raw' })), d);
        }
    });
});

// ---------------------------------------------------------------------------------------------
// Hostile input

function deepTree(levels: number): XmlElement {
    const root = el('structure');
    let at = root;
    for (let i = 1; i < levels; i++) {
        const inner = el('structure');
        at.append(el('Data', {}, inner));
        at = inner;
    }
    return root;
}

describe('iec61850 mms data: hostile input yields a typed error', () => {
    test('nesting depth 10,000: in text, in a tree, and handed to the encoder', () => {
        const text = serialize(deepTree(10_000));
        const e = expectMmsError(() => decodeDataXml(text), 'xml', /nested/);
        assert.equal(e.code, 'BAD_INPUT');
        expectMmsError(() => decodeData(deepTree(10_000)), 'too-deep');
        let data: Data = { kind: 'integer', value: 1n };
        for (let i = 0; i < 10_000; i++) data = { kind: 'structure', components: [data] };
        assert.equal(expectMmsError(() => encodeData(data), 'too-deep').code, 'LIMIT');
        const cyclic: { kind: 'array'; elements: Data[] } = { kind: 'array', elements: [] };
        cyclic.elements.push(cyclic);
        expectMmsError(() => encodeData(cyclic), 'too-deep');
    });

    test('the depth limit is exact and configurable', () => {
        decodeData(deepTree(MAX_DATA_DEPTH - 1));
        expectMmsError(() => decodeData(deepTree(MAX_DATA_DEPTH)), 'too-deep');
        decodeData(deepTree(MAX_DATA_DEPTH), { maxDepth: MAX_DATA_DEPTH + 1 });
        expectMmsError(() => decodeData(deepTree(3), { maxDepth: 3 }), 'too-deep');
    });

    test('wrong lexical forms and out-of-range values', () => {
        const cases: Array<[string, MmsReason]> = [
            ['<integer>abc</integer>', 'bad-lexical'],
            ['<integer>1.5</integer>', 'bad-lexical'],
            ['<integer>+1</integer>', 'bad-lexical'],
            ['<integer></integer>', 'bad-lexical'],
            [`<integer>${'9'.repeat(100_000)}</integer>`, 'bad-lexical'],
            ['<integer>9223372036854775808</integer>', 'out-of-range'],
            ['<integer>-9223372036854775809</integer>', 'out-of-range'],
            ['<unsigned>-1</unsigned>', 'out-of-range'],
            ['<unsigned>18446744073709551616</unsigned>', 'out-of-range'],
            ['<boolean>yes</boolean>', 'bad-lexical'],
            ['<boolean/>', 'bad-lexical'],
            ['<boolean><true>x</true></boolean>', 'unexpected-content'],
            ['<boolean><true/><false/></boolean>', 'missing-element'],
            ['<bit-string>012</bit-string>', 'bad-lexical'],
            ['<octet-string>ABC</octet-string>', 'bad-lexical'],
            ['<octet-string>0G</octet-string>', 'bad-lexical'],
            ['<floating-point>09450FC000</floating-point>', 'bad-lexical'],
            ['<floating-point>450FC0</floating-point>', 'bad-lexical'],
            ['<floating-point>083FF0000000000000</floating-point>', 'bad-lexical'],
            ['<utc-time>00</utc-time>', 'bad-lexical'],
            ['<binary-time>05265C00</binary-time>', 'out-of-range'],
            ['<binary-time>0000000000</binary-time>', 'bad-lexical'],
            ['<visible-string>caf\u00e9</visible-string>', 'bad-lexical'],
            ['<integer>5<x/></integer>', 'unexpected-content'],
            ['<structure>text</structure>', 'unexpected-content'],
            ['<structure><Data/></structure>', 'missing-element'],
            ['<structure><Data><integer>1</integer><integer>2</integer></Data></structure>', 'missing-element'],
            ['<structure><Data>1</Data></structure>', 'unexpected-content'],
        ];
        for (const [xml, reason] of cases) {
            const e = expectMmsError(() => decodeDataXml(xml), reason);
            assert.equal(e.code, 'BAD_INPUT', xml.slice(0, 60));
        }
    });

    test('unknown and unsupported elements', () => {
        assert.match(expectMmsError(() => decodeDataXml('<foo/>'), 'unknown-element').message, /<foo>/);
        const e = expectMmsError(
            () => decodeDataXml('<structure><Data><integer>1</integer></Data><Foo/></structure>'),
            'unknown-element',
        );
        assert.equal(e.path, 'structure/Data[1]');
        expectMmsError(() => decodeDataXml('<boolean><maybe/></boolean>'), 'unknown-element');
        expectMmsError(() => decodeDataXml('<mMSString>a<foo/></mMSString>'), 'unknown-element');
        expectMmsError(
            () => decodeDataXml('<array><Data><structure><Data><bogus/></Data></structure></Data></array>'),
            'unknown-element',
        );
        const bcd = expectMmsError(() => decodeDataXml('<bcd>12</bcd>'), 'unsupported');
        assert.equal(bcd.code, 'NOT_SUPPORTED');
    });

    test('truncated, malformed and hostile XML', () => {
        const text = readFileSync(path.join(FIXTURES, '5.2-read-response-structure.xml'), 'utf8');
        for (const cut of [10, 100, 300, text.length - 5]) {
            expectMmsError(() => decodeDataXml(text.slice(0, cut)), 'xml');
        }
        expectMmsError(() => decodeDataXml(''), 'xml');
        expectMmsError(
            () => decodeDataXml('<!DOCTYPE x [<!ENTITY a "aaaa">]><visible-string>&a;</visible-string>'),
            'xml',
        );
        expectMmsError(() => decodeDataXml('<visible-string>&a;</visible-string>'), 'xml');
        const big = `<octet-string>${'00'.repeat(5 * 1024 * 1024)}</octet-string>`;
        expectMmsError(() => decodeDataXml(big, { maxBytes: 1024 * 1024 }), 'xml', /bytes/);
        expectMmsError(() => decodeDataXml(null as unknown as string), 'wrong-type');
    });

    test('the encoder refuses values of the wrong type', () => {
        const cases: Array<[unknown, MmsReason]> = [
            [null, 'wrong-type'],
            [{ kind: 'nope' }, 'wrong-type'],
            [{ kind: 'integer', value: '5' }, 'wrong-type'],
            [{ kind: 'integer', value: 1.5 }, 'wrong-type'],
            [{ kind: 'integer', value: 2n ** 63n }, 'out-of-range'],
            [{ kind: 'unsigned', value: -1n }, 'out-of-range'],
            [{ kind: 'boolean', value: 1 }, 'wrong-type'],
            [{ kind: 'bit-string', bits: '012' }, 'wrong-type'],
            [{ kind: 'octet-string', value: [1, 2] }, 'wrong-type'],
            [{ kind: 'floating-point', format: 'half', value: 1 }, 'wrong-type'],
            [{ kind: 'visible-string', value: 'café' }, 'out-of-range'],
            [{ kind: 'mMSString', value: '\ud800' }, 'out-of-range'],
            [{ kind: 'binary-time', msOfDay: 86_400_000 }, 'out-of-range'],
            [{ kind: 'utc-time', seconds: -1, fraction: 0, quality: GOOD }, 'out-of-range'],
            [{ kind: 'utc-time', seconds: 0, fraction: 0, quality: { ...GOOD, accuracy: 32 } }, 'out-of-range'],
            [{ kind: 'structure', components: 'x' }, 'wrong-type'],
            [{ kind: 'structure', components: [{ kind: 'integer', value: 'x' }] }, 'wrong-type'],
        ];
        for (const [value, reason] of cases) expectMmsError(() => encodeData(value as Data), reason);
        const nested = expectMmsError(
            () =>
                encodeData({
                    kind: 'structure',
                    components: [{ kind: 'boolean', value: true }, null as unknown as Data],
                }),
            'wrong-type',
        );
        assert.equal(nested.path, 'structure/Data[1]');
    });
});
