/**
 * Green Button Atom documents against ESPI 4.0 (espi.xsd 4.0.20231213 with GBA's strict atom.xsd, xmllint), and a
 * round trip through @cityssm/green-button-parser (design note greenbutton-lwm2m A.1, A.2, A.4).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    type BlockGrouping,
    entry,
    entryDocument,
    feed,
    History,
    render,
    serviceStatusDocument,
    uuidV5Url,
} from '../../src/protocols/greenbutton';
import {
    assertValidEspi,
    type CityssmEntry,
    cityssm,
    type FixtureReading,
    fixtureHistory,
    fixtureService,
    GATEWAY_BASE,
    get,
    parseWithCityssm,
    T0,
    validateEspi,
} from '../support/espi';

const WINDOW = '?published-min=2025-06-01T00:00:00Z&published-max=2025-06-03T00:00:00Z';
const OUTSIDE = '?published-min=2024-01-01T00:00:00Z&published-max=2024-01-02T00:00:00Z';
const UP = 'Subscription/1/UsagePoint/1';
const ROOT = `${GATEWAY_BASE}/espi/1_1/resource`;

const count = (xml: string, re: RegExp) => (xml.match(re) ?? []).length;
const values = (xml: string) => [...xml.matchAll(/<espi:value>(-?\d+)<\/espi:value>/g)].map((m) => Number(m[1]));

/** GETs a resource, checks 200 and Atom, validates and returns the text. */
function valid(
    grouping: BlockGrouping,
    resource: string,
    search = '',
    opts: Parameters<typeof fixtureService>[1] = {},
): string {
    const { history } = fixtureHistory();
    const r = get(fixtureService(history, { grouping, ...opts }), resource, search);
    assert.equal(r.status, 200, `${resource}${search}: ${r.text}`);
    assert.equal(r.headers['Content-Type'], 'application/atom+xml;charset=UTF-8');
    assertValidEspi(r.text, `${resource}${search}`);
    return r.text;
}

describe('validator (xmllint, espi.xsd + strict atom.xsd)', () => {
    it('accepts the design note example feed and rejects broken documents', () => {
        const { history } = fixtureHistory();
        const xml = get(fixtureService(history), 'ReadingType/1').text;
        assert.equal(validateEspi(xml), undefined);
        // ReadingType children out of sequence order
        const swapped = xml.replace(
            '<espi:accumulationBehaviour>12</espi:accumulationBehaviour><espi:commodity>1</espi:commodity>',
            '<espi:commodity>1</espi:commodity><espi:accumulationBehaviour>12</espi:accumulationBehaviour>',
        );
        assert.notEqual(swapped, xml);
        assert.match(validateEspi(swapped) ?? '', /accumulationBehaviour.*not expected|fails to validate/s);
        // a decimal IntervalReading value (Int48 is an integer)
        const block = get(fixtureService(history), `${UP}/MeterReading/1/IntervalBlock`).text;
        assert.equal(validateEspi(block), undefined);
        const decimal = block.replace('<espi:value>1500</espi:value>', '<espi:value>1.5</espi:value>');
        assert.notEqual(decimal, block);
        assert.match(validateEspi(decimal) ?? '', /value.*1\.5|Int48|fails to validate/s);
        // a link without type (required by GBA's atom.xsd)
        const untyped = block.replace(' type="espi-feed/IntervalBlock"/>', '/>');
        assert.match(validateEspi(untyped) ?? '', /type/);
        // an unknown ESPI element in <content>
        const foo = xml.replace('<espi:ReadingType>', '<espi:Foo/><espi:ReadingType>');
        assert.ok(validateEspi(foo));
    });
});

describe('every document the service emits is valid ESPI 4.0', () => {
    it('Batch/Subscription/1, current: UsagePoint, LTP, three MeterReadings with type and latest block, summary', () => {
        const xml = valid('reading', 'Batch/Subscription/1');
        assert.equal(count(xml, /<entry>/g), 1 + 1 + 3 * 3 + 1);
        assert.equal(count(xml, /<espi:IntervalBlock>/g), 3);
        assert.deepEqual(values(xml).slice(0, 3), [1500, 12347178, 8500]);
        assert.match(xml, /<espi:dstStartRule>360E2000<\/espi:dstStartRule>/);
        assert.match(xml, /<espi:tzOffset>-18000<\/espi:tzOffset>/);
    });

    for (const grouping of ['reading', 'hour', 'day'] as const) {
        it(`Batch/Subscription/1 with a published window, grouping ${grouping}`, () => {
            const xml = valid(grouping, 'Batch/Subscription/1', WINDOW);
            const blocks = { reading: 7 + 7 + 4, hour: 3 + 3 + 3, day: 2 + 2 + 2 }[grouping];
            assert.equal(count(xml, /<espi:IntervalBlock>/g), blocks);
            assert.equal(count(xml, /<espi:IntervalReading>/g), 18);
            assert.equal(
                count(xml, /<espi:ReadingQuality><espi:quality>10<\/espi:quality><\/espi:ReadingQuality>/g),
                1,
            );
            assert.ok(values(xml).includes(-500), 'the negative demand');
        });
    }

    it('Batch/Subscription/1/UsagePoint/1', () => {
        const xml = valid('reading', 'Batch/Subscription/1/UsagePoint/1');
        assert.equal(count(xml, /<entry>/g), 12);
        assert.match(
            xml,
            /<link rel="self" href="[^"]+\/Batch\/Subscription\/1\/UsagePoint\/1" type="espi-feed\/Subscription"\/>/,
        );
    });

    it('UsagePoint feed and entry', () => {
        const f = valid('reading', 'Subscription/1/UsagePoint');
        assert.equal(count(f, /<entry>/g), 1);
        const e = valid('reading', UP);
        assert.match(e, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<entry xmlns="http:\/\/www\.w3\.org\/2005\/Atom"/);
        assert.match(e, /<espi:ServiceCategory><espi:kind>0<\/espi:kind><\/espi:ServiceCategory>/);
        assert.match(e, /<title>Home meter<\/title>/);
        assert.ok(e.includes(`<id>urn:uuid:${uuidV5Url(`${ROOT}/${UP}`)}</id>`));
        for (const [href, type] of [
            [`${ROOT}/${UP}/MeterReading`, 'espi-feed/MeterReading'],
            [`${ROOT}/LocalTimeParameters/1`, 'espi-entry/LocalTimeParameters'],
            [`${ROOT}/${UP}/ElectricPowerUsageSummary`, 'espi-feed/ElectricPowerUsageSummary'],
        ])
            assert.ok(e.includes(`<link rel="related" href="${href}" type="${type}"/>`), href);
        assert.ok(e.includes(`<link rel="up" href="${ROOT}/Subscription/1/UsagePoint" type="espi-feed/UsagePoint"/>`));
    });

    it('MeterReading feed and entry', () => {
        const f = valid('reading', `${UP}/MeterReading`);
        assert.equal(count(f, /<espi:MeterReading\/>/g), 3);
        const e = valid('reading', `${UP}/MeterReading/2`);
        assert.ok(
            e.includes(
                `<link rel="related" href="${ROOT}/${UP}/MeterReading/2/IntervalBlock" type="espi-feed/IntervalBlock"/>`,
            ),
        );
        assert.ok(e.includes(`<link rel="related" href="${ROOT}/ReadingType/2" type="espi-entry/ReadingType"/>`));
        assert.match(e, /<title>Summation delivered<\/title>/);
        assert.match(e, /<published>2025-06-01T13:00:00Z<\/published><updated>2025-06-02T14:20:00Z<\/updated>/);
    });

    it('IntervalBlock feed, current: the latest reading only', () => {
        const xml = valid('reading', `${UP}/MeterReading/1/IntervalBlock`);
        assert.equal(count(xml, /<entry>/g), 1);
        assert.deepEqual(values(xml), [1500]);
        const start = (T0 + 1520 * 60_000) / 1000;
        assert.ok(xml.includes(`<espi:interval><espi:duration>0</espi:duration><espi:start>${start}</espi:start>`));
        assert.ok(xml.includes(`${ROOT}/${UP}/MeterReading/1/IntervalBlock/${start}"`));
    });

    it('IntervalBlock feed with a window, grouping reading, hour and day', () => {
        const r = valid('reading', `${UP}/MeterReading/1/IntervalBlock`, WINDOW);
        assert.equal(count(r, /<entry>/g), 7);
        assert.deepEqual(values(r), [1234, -500, 2000, 750, 3100, 1000, 1500]);

        const h = valid('hour', `${UP}/MeterReading/1/IntervalBlock`, WINDOW);
        assert.deepEqual(
            [...h.matchAll(/<espi:interval><espi:duration>(\d+)<\/espi:duration><espi:start>(\d+)</g)].map((m) => [
                Number(m[1]),
                Number(m[2]),
            ]),
            [
                [3600, Date.UTC(2025, 5, 1, 13) / 1000],
                [3600, Date.UTC(2025, 5, 1, 14) / 1000],
                [3600, Date.UTC(2025, 5, 2, 14) / 1000],
            ],
        );
        assert.deepEqual(values(h), [1234, -500, 2000, 750, 3100, 1000, 1500]);

        const d = valid('day', `${UP}/MeterReading/2/IntervalBlock`, WINDOW);
        // New York days: 2025-06-01 and 06-02 start at 04:00 UTC (EDT)
        assert.deepEqual(
            [...d.matchAll(/<espi:interval><espi:duration>(\d+)<\/espi:duration><espi:start>(\d+)</g)].map((m) => [
                Number(m[1]),
                Number(m[2]),
            ]),
            [
                [86400, Date.UTC(2025, 5, 1, 4) / 1000],
                [86400, Date.UTC(2025, 5, 2, 4) / 1000],
            ],
        );
        assert.match(d, /<published>2025-06-01T13:00:00Z<\/published><updated>2025-06-01T14:20:00Z<\/updated>/);
    });

    it('IntervalBlock entry by id, for each grouping', () => {
        const id = (T0 + 40 * 60_000) / 1000;
        const r = valid('reading', `${UP}/MeterReading/1/IntervalBlock/${id}`);
        assert.deepEqual(values(r), [2000]);
        assert.match(
            r,
            /<espi:ReadingQuality><espi:quality>10<\/espi:quality><\/espi:ReadingQuality><espi:timePeriod>/,
        );
        const h = valid('hour', `${UP}/MeterReading/1/IntervalBlock/${Date.UTC(2025, 5, 1, 14) / 1000}`);
        assert.deepEqual(values(h), [750, 3100]);
        const d = valid('day', `${UP}/MeterReading/3/IntervalBlock/${Date.UTC(2025, 5, 2, 4) / 1000}`);
        assert.deepEqual(values(d), [8500]);
    });

    it('ReadingType feed and entry', () => {
        const f = valid('reading', 'ReadingType');
        assert.equal(count(f, /<espi:ReadingType>/g), 3);
        const e = valid('reading', 'ReadingType/3');
        assert.ok(
            e.includes(
                '<espi:ReadingType><espi:accumulationBehaviour>9</espi:accumulationBehaviour><espi:commodity>1</espi:commodity>' +
                    '<espi:dataQualifier>12</espi:dataQualifier><espi:flowDirection>19</espi:flowDirection>' +
                    '<espi:intervalLength>0</espi:intervalLength><espi:kind>12</espi:kind><espi:phase>0</espi:phase>' +
                    '<espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier><espi:timeAttribute>0</espi:timeAttribute>' +
                    '<espi:uom>72</espi:uom></espi:ReadingType>',
            ),
        );
        const one = valid('reading', 'ReadingType/1');
        assert.ok(one.includes('<id>urn:uuid:97666b21-9b02-51e5-acca-b1b1325177f1</id>'), 'design note A.2.2 vector');
    });

    it('LocalTimeParameters feed and entry', () => {
        const f = valid('reading', 'LocalTimeParameters');
        assert.equal(count(f, /<entry>/g), 1);
        const e = valid('reading', 'LocalTimeParameters/1');
        assert.ok(
            e.includes(
                '<espi:LocalTimeParameters><espi:dstEndRule>B40E2000</espi:dstEndRule><espi:dstOffset>3600</espi:dstOffset>' +
                    '<espi:dstStartRule>360E2000</espi:dstStartRule><espi:tzOffset>-18000</espi:tzOffset></espi:LocalTimeParameters>',
            ),
        );
    });

    it('ElectricPowerUsageSummary feed and entry', () => {
        const f = valid('reading', `${UP}/ElectricPowerUsageSummary`);
        assert.equal(count(f, /<entry>/g), 1);
        const e = valid('reading', `${UP}/ElectricPowerUsageSummary/1`);
        // today (06-02 New York): 12347.178 − 12346.928 kWh; yesterday: first of today − first of yesterday
        assert.match(e, /<espi:currentDayOverallConsumption>.*<espi:uom>72<\/espi:uom><espi:value>250<\/espi:value>/);
        assert.match(
            e,
            new RegExp(
                `<espi:peakDemand><espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier><espi:timeStamp>${(T0 + 1520 * 60_000) / 1000}</espi:timeStamp><espi:uom>38</espi:uom><espi:value>1500</espi:value>`,
            ),
        );
        assert.match(e, /<espi:previousDayOverallConsumption>.*<espi:value>1250<\/espi:value>/);
        assert.match(e, /<published>2025-06-02T04:00:00Z<\/published>/);
    });

    it('the empty feed (option empty-feed) and the 404 Atom variant', () => {
        const { history } = fixtureHistory();
        const empty = get(
            fixtureService(history, { emptyResult: 'empty-feed' }),
            `${UP}/MeterReading/1/IntervalBlock`,
            OUTSIDE,
        );
        assert.equal(empty.status, 200);
        assert.equal(count(empty.text, /<entry>/g), 0);
        assertValidEspi(empty.text, 'empty feed');
        const batch = get(fixtureService(history, { emptyResult: 'empty-feed' }), 'Batch/Subscription/1', OUTSIDE);
        assert.equal(batch.status, 200);
        assertValidEspi(batch.text, 'empty batch feed');
        const atom404 = get(
            fixtureService(history),
            `${UP}/MeterReading/1/IntervalBlock`,
            OUTSIDE,
            'application/atom+xml',
        );
        assert.equal(atom404.status, 404);
        assert.equal(atom404.headers['Content-Type'], 'application/atom+xml;charset=UTF-8');
        assert.equal(count(atom404.text, /<entry>/g), 0);
        assert.match(atom404.text, /<title>data not found<\/title>/);
        assertValidEspi(atom404.text, '404 Atom feed');
    });

    it('ReadServiceStatus', () => {
        const { history } = fixtureHistory();
        for (const online of [true, false]) {
            const r = get(fixtureService(history, { online: () => online }), 'ReadServiceStatus');
            assert.equal(r.status, 200);
            assertValidEspi(r.text, 'ServiceStatus');
            assert.ok(r.text.includes(`<currentStatus>${online ? 1 : 0}</currentStatus>`));
        }
        assert.equal(validateEspi(serviceStatusDocument(true).replace('>1<', '>x<')) === undefined, false);
    });

    it('an entry and a feed built directly, with characters that need escaping', () => {
        const e = entry({
            self: [`${ROOT}/ReadingType/9?a=1&b=2`, 'espi-entry/ReadingType'],
            up: [`${ROOT}/ReadingType`, 'espi-feed/ReadingType'],
            title: 'R&D <lab> "meter"',
            content: '<espi:ReadingType><espi:uom>38</espi:uom></espi:ReadingType>',
            published: 0,
            updated: 1500,
        });
        assert.match(e, /<published>1970-01-01T00:00:00Z<\/published><updated>1970-01-01T00:00:01\.500Z<\/updated>/);
        assertValidEspi(entryDocument(e), 'entry');
        const xml = render(
            feed({ self: `${ROOT}/ReadingType?x=<1>`, type: 'espi-feed/ReadingType', title: 'a & b', updated: 0 }, [e]),
        );
        assertValidEspi(xml, 'feed');
        assert.ok(xml.includes(`<id>urn:uuid:${uuidV5Url(`${ROOT}/ReadingType`)}</id>`), 'feed id without query');
    });
});

interface ParsedReadingType {
    uom: number;
    powerOfTenMultiplier?: number;
    flowDirection: number;
    kind: number;
    uom_value?: string;
    kind_value?: string;
    flowDirection_value?: string;
    accumulationBehaviour_value?: string;
}

interface ParsedIntervalReading {
    timePeriod?: { duration: number; start: number };
    value?: number;
    ReadingQuality?: unknown[];
}

interface ParsedIntervalBlock {
    interval: { duration: number; start: number };
    IntervalReading?: ParsedIntervalReading[];
}

const blocksOf = (e: CityssmEntry) => e.content.IntervalBlock as ParsedIntervalBlock[];
const readingTypeOf = (e: CityssmEntry | undefined) => e?.content.ReadingType as ParsedReadingType | undefined;

describe('render', () => {
    it('joins chunks of any size and script exactly as string concatenation does', () => {
        const chunks = [
            '<a>',
            'Ærøskøbing €',
            '€'.repeat(40_000),
            '😀 and a lone ascii tail',
            '',
            'x'.repeat(200_000),
            '</a>',
        ];
        const out = render(chunks);
        assert.equal(out, chunks.join(''));
        assert.equal(render([]), '');
        assert.equal(render(['😀']), '😀');
    });
});

describe('round trip through @cityssm/green-button-parser', () => {
    const toPairs = (list: FixtureReading[]) => list.map((r) => [r.time / 1000, r.base]);

    for (const grouping of ['reading', 'hour', 'day'] as const) {
        it(`resolves every IntervalBlock to its ReadingType and gives back the values (${grouping})`, async () => {
            const { history, demand, delivered, received } = fixtureHistory();
            const xml = get(fixtureService(history, { grouping }), 'Batch/Subscription/1', WINDOW).text;
            const json = await parseWithCityssm(xml);
            const { helpers } = await cityssm();
            const blocks = helpers.getEntriesByContentType(json, 'IntervalBlock');
            assert.equal(blocks.length, { reading: 18, hour: 9, day: 6 }[grouping]);
            const got = new Map<string, number[][]>();
            for (const b of blocks) {
                const rt = readingTypeOf(helpers.getReadingTypeEntryFromIntervalBlockEntry(json, b));
                assert.ok(rt, `ReadingType of ${b.links.self}`);
                const up = helpers.getUsagePointEntryFromIntervalBlockEntry(json, b);
                assert.equal(up?.links.self, `${ROOT}/${UP}`);
                const key = `${rt.uom}/${rt.flowDirection}/${rt.kind}`;
                const p = Number(rt.powerOfTenMultiplier ?? 0);
                for (const ib of blocksOf(b))
                    for (const r of ib.IntervalReading ?? [])
                        got.set(key, [
                            ...(got.get(key) ?? []),
                            [Number(r.timePeriod?.start), Number(r.value) * 10 ** p],
                        ]);
            }
            assert.deepEqual(Object.fromEntries(got), {
                '38/1/8': toPairs(demand),
                '72/1/12': toPairs(delivered),
                '72/19/12': toPairs(received),
            });
            const rts = helpers.getEntriesByContentType(json, 'ReadingType').map((e) => readingTypeOf(e));
            assert.deepEqual(
                rts.map((r) => [r?.uom_value, r?.kind_value, r?.flowDirection_value, r?.accumulationBehaviour_value]),
                [
                    ['W', 'Demand', 'Forward', 'Instantaneous'],
                    ['Wh', 'Energy', 'Forward', 'Summation'],
                    ['Wh', 'Energy', 'Reverse', 'Summation'],
                ],
            );
            const q = blocks
                .flatMap((b) => blocksOf(b).flatMap((ib) => ib.IntervalReading ?? []))
                .filter((r) => r.ReadingQuality !== undefined);
            assert.equal(q.length, 1);
            assert.equal(Number(q[0]?.timePeriod?.start), (T0 + 40 * 60_000) / 1000);
        });
    }

    it('parses a lone entry document', async () => {
        const { history } = fixtureHistory();
        const id = Date.UTC(2025, 5, 1, 13) / 1000;
        const xml = get(fixtureService(history, { grouping: 'hour' }), `${UP}/MeterReading/2/IntervalBlock/${id}`).text;
        const json = await parseWithCityssm(xml);
        assert.equal(json.entries.length, 1);
        const e = json.entries[0];
        assert.ok(e);
        assert.equal(e.links.self, `${ROOT}/${UP}/MeterReading/2/IntervalBlock/${id}`);
        assert.equal(e.links.up, `${ROOT}/${UP}/MeterReading/2/IntervalBlock`);
        const ib = blocksOf(e)[0];
        assert.deepEqual(ib?.interval, { duration: 3600, start: id });
        assert.deepEqual(
            ib?.IntervalReading?.map((r) => r.value),
            [12345678, 12345928, 12346178],
        );
        const lt = await parseWithCityssm(get(fixtureService(history), 'LocalTimeParameters/1').text);
        assert.deepEqual(lt.entries[0]?.content.LocalTimeParameters, {
            dstEndRule: 'B40E2000',
            dstOffset: 3600,
            dstStartRule: '360E2000',
            tzOffset: -18000,
        });
    });
});

describe('large windows stream', () => {
    it('20,000 readings grouped by day come as bounded chunks and validate', () => {
        const history = new History({ capacity: 20_000, now: () => 0 });
        const start = Date.UTC(2025, 0, 1);
        for (let i = 0; i < 20_000; i++)
            history.add(
                'demand',
                { unit: 'kW', resolution: 0.001 },
                { time: start + i * 120_000, value: ((i % 1000) - 300) / 1000 },
            );
        const service = fixtureService(history, { grouping: 'day' });
        const r = service.handle(
            'GET',
            `/espi/1_1/resource/${UP}/MeterReading/1/IntervalBlock`,
            '?published-min=2024-12-01T00:00:00Z&published-max=2025-03-01T00:00:00Z',
        );
        assert.equal(r.status, 200);
        assert.notEqual(typeof r.body, 'string', 'the body is an iterable of chunks');
        let chunks = 0;
        let largest = 0;
        let total = 0;
        let xml = '';
        for (const c of r.body as Iterable<string>) {
            chunks++;
            largest = Math.max(largest, c.length);
            total += c.length;
            xml += c;
        }
        // 20,000 × 2 min is 27.8 days: a head, 29 New York day blocks, a tail
        assert.equal(count(xml, /<entry>/g), 29);
        assert.equal(chunks, 31);
        assert.ok(total > 2_000_000, `total ${total}`);
        assert.ok(largest < 200_000, `largest chunk ${largest}`);
        assert.equal(count(xml, /<espi:IntervalReading>/g), 20_000);
        assertValidEspi(xml, '20,000 readings');
    });
});
