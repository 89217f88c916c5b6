/** The ESPI REST router (design note greenbutton-lwm2m A.3): routing, query parameters, paging, errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuery, QueryError, queryWindow, render } from '../../src/protocols/greenbutton';
import { fixtureHistory, fixtureService, GATEWAY_BASE, get, T0 } from '../support/espi';

const UP = 'Subscription/1/UsagePoint/1';
const BLOCKS = `${UP}/MeterReading/1/IntervalBlock`;
const ALL = '?published-min=2025-06-01T00:00:00Z&published-max=2025-06-03T00:00:00Z';

const entries = (xml: string) => (xml.match(/<entry>/g) ?? []).length;
const values = (xml: string) => [...xml.matchAll(/<espi:value>(-?\d+)<\/espi:value>/g)].map((m) => Number(m[1]));

function service(opts: Parameters<typeof fixtureService>[1] = {}) {
    return fixtureService(fixtureHistory().history, opts);
}

/** Expects a plain-text error answer. */
function textAnswer(r: ReturnType<typeof get>, status: number, body: RegExp): void {
    assert.equal(r.status, status, r.text);
    assert.equal(r.headers['Content-Type'], 'text/plain;charset=UTF-8');
    assert.match(r.text, body);
}

describe('parseQuery and queryWindow (A.3.2)', () => {
    it('reads RFC 3339 dates (Z or offset) and whole numbers', () => {
        assert.deepEqual(
            parseQuery(
                '?published-min=2025-06-01T09:00:00-04:00&published-max=2025-06-02T00:00:00.5Z&updated-min=2025-06-01T00:00:00Z' +
                    '&updated-max=2025-06-01T12:00:00%2B02:00&max-results=10&start-index=2&depth=3',
            ),
            {
                publishedMin: Date.UTC(2025, 5, 1, 13),
                publishedMax: Date.UTC(2025, 5, 2, 0, 0, 0, 500),
                updatedMin: Date.UTC(2025, 5, 1),
                updatedMax: Date.UTC(2025, 5, 1, 10),
                maxResults: 10,
                startIndex: 2,
                depth: 3,
            },
        );
        assert.deepEqual(parseQuery(''), {});
        assert.deepEqual(parseQuery('_=1&foo=bar'), {});
    });

    it('intersects the published and updated windows; none means the current value', () => {
        assert.equal(queryWindow({}), undefined);
        assert.equal(queryWindow({ maxResults: 5 }), undefined);
        assert.deepEqual(queryWindow({ publishedMin: 10, publishedMax: 100, updatedMin: 20, updatedMax: 200 }), {
            from: 20,
            to: 100,
        });
        assert.deepEqual(queryWindow({ updatedMax: 50 }), { from: 0, to: 50 });
        assert.deepEqual(queryWindow({ publishedMin: 50 }), { from: 50, to: Number.MAX_SAFE_INTEGER });
    });

    it('refuses malformed and repeated parameters with a QueryError naming them', () => {
        for (const [search, re] of [
            ['published-min=2025-01-01', /published-min=2025-01-01 is not an RFC 3339 date-time/],
            ['published-max=yesterday', /published-max=yesterday/],
            ['updated-min=2025-13-01T00:00:00Z', /updated-min=2025-13-01T00:00:00Z/],
            ['updated-max=2025-06-01T25:00:00Z', /updated-max/],
            ['published-min=2025-06-01 00:00:00Z', /published-min/],
            ['max-results=1.5', /max-results=1\.5 is not a whole number/],
            ['max-results=-1', /max-results=-1/],
            ['depth=ten', /depth=ten/],
            ['start-index=', /start-index= is not a whole number/],
            ['start-index=0', /start-index counts from 1/],
            ['depth=1&depth=2', /depth is given more than once/],
            [
                'published-min=2025-06-02T00:00:00Z&published-max=2025-06-01T00:00:00Z',
                /publishedMin must be before publishedMax/,
            ],
            [
                'updated-min=2025-06-01T00:00:00Z&updated-max=2025-06-01T00:00:00Z',
                /updatedMin must be before updatedMax/,
            ],
        ] as const)
            assert.throws(
                () => parseQuery(search),
                (e: unknown) => e instanceof QueryError && e.code === 'BAD_QUERY' && re.test(e.message),
                search,
            );
    });

    it('refuses calendar dates that do not exist (February 30th, April 31st)', () => {
        for (const search of ['published-min=2025-02-30T00:00:00Z', 'updated-max=2025-04-31T00:00:00Z'])
            assert.throws(() => parseQuery(search), QueryError, search);
    });
});

describe('GreenButtonService routing', () => {
    it('answers IntervalBlock without time parameters with exactly the latest reading', () => {
        const r = get(service(), BLOCKS);
        assert.equal(r.status, 200);
        assert.equal(entries(r.text), 1);
        assert.deepEqual(values(r.text), [1500]);
        // max-results alone is not a time parameter: still the current value
        assert.deepEqual(values(get(service(), BLOCKS, '?max-results=5').text), [1500]);
        const batch = get(service(), 'Batch/Subscription/1');
        assert.equal((batch.text.match(/<espi:IntervalBlock>/g) ?? []).length, 3);
    });

    it('serves the current value from a cache that each new reading renews', () => {
        const { history } = fixtureHistory();
        const svc = fixtureService(history);
        const first = svc.handle('GET', `/espi/1_1/resource/${BLOCKS}`, '');
        assert.equal(typeof first.body, 'string', 'a current-state document is built once, whole');
        assert.equal(
            svc.handle('GET', `/espi/1_1/resource/${BLOCKS}`, ''),
            first,
            'the same answer while nothing changed',
        );
        const later = T0 + 1600 * 60_000;
        history.add(
            'demand',
            { unit: 'kW', resolution: 0.001, title: 'Instantaneous demand' },
            { time: later, value: 4.2 },
        );
        const second = get(svc, BLOCKS);
        assert.deepEqual(values(second.text), [4200], 'the new reading, not the cached one');
        assert.ok(second.text.includes(`<espi:start>${later / 1000}</espi:start>`));
        const batch = get(svc, 'Batch/Subscription/1');
        assert.ok(batch.text.includes('<espi:value>4200</espi:value>'), 'every current document is renewed');
    });

    it('answers a window with the readings in [min, max)', () => {
        const r = get(service(), BLOCKS, '?published-min=2025-06-01T13:20:00Z&published-max=2025-06-01T14:20:00Z');
        assert.equal(r.status, 200);
        assert.deepEqual(values(r.text), [-500, 2000, 750]);
        const u = get(service(), BLOCKS, '?updated-min=2025-06-01T09:20:00-04:00&updated-max=2025-06-01T14:00:01Z');
        assert.deepEqual(values(u.text), [-500, 2000, 750]);
        const open = get(service(), BLOCKS, '?published-min=2025-06-02T14:20:00Z');
        assert.deepEqual(values(open.text), [1500]);
        const upTo = get(service(), BLOCKS, '?published-max=2025-06-01T13:20:00Z');
        assert.deepEqual(values(upTo.text), [1234]);
        const both = get(service(), BLOCKS, `${ALL}&updated-min=2025-06-02T00:00:00Z`);
        assert.deepEqual(values(both.text), [1000, 1500]);
    });

    it('pages with start-index, max-results and depth', () => {
        const page = (q: string) => values(get(service(), BLOCKS, `${ALL}&${q}`).text);
        assert.deepEqual(page('start-index=1'), [1234, -500, 2000, 750, 3100, 1000, 1500]);
        assert.deepEqual(page('start-index=3&max-results=2'), [2000, 750]);
        assert.deepEqual(page('depth=1'), [1234]);
        assert.deepEqual(page('max-results=3&depth=2'), [1234, -500]);
        assert.deepEqual(page('start-index=7'), [1500]);
        assert.deepEqual(page('start-index=8'), []);
        assert.deepEqual(page('max-results=0'), []);
        const capped = get(service({ maxEntries: 2 }), BLOCKS, `${ALL}&max-results=5`);
        assert.deepEqual(values(capped.text), [1234, -500]);
        // paging counts every entry of a batch feed
        const batch = get(service(), 'Batch/Subscription/1', '?start-index=2&max-results=1').text;
        assert.equal(entries(batch), 1);
        assert.match(batch, /<espi:LocalTimeParameters>/);
    });

    it('answers 400 to bad query parameters, naming them', () => {
        for (const [q, re] of [
            ['published-min=2025-06-02T00:00:00Z&published-max=2025-06-01T00:00:00Z', /publishedMin must be before/],
            ['published-min=2025-01-01', /published-min=2025-01-01/],
            ['published-max=yesterday', /published-max=yesterday/],
            ['updated-min=2025-13-01T00:00:00Z', /updated-min=2025-13-01T00:00:00Z/],
            ['max-results=2.5', /max-results=2\.5/],
            ['start-index=0', /start-index/],
            ['max-results=1&max-results=1', /max-results is given more than once/],
        ] as const) {
            const r = get(service(), BLOCKS, `?${q}`);
            textAnswer(r, 400, re);
            assert.match(r.text, /^bad request: /);
        }
        textAnswer(get(service(), 'Batch/Subscription/1', '?depth=x'), 400, /depth=x/);
    });

    it('ignores unknown parameters', () => {
        const r = get(service(), BLOCKS, '?_=1717171717&format=atom');
        assert.equal(r.status, 200);
        assert.deepEqual(values(r.text), [1500]);
        assert.ok(r.text.includes(`href="${GATEWAY_BASE}/espi/1_1/resource/${BLOCKS}?_=1717171717&amp;format=atom"`));
    });

    it('answers 404 naming an unknown subscription, usage point, meter reading or block', () => {
        textAnswer(get(service(), 'Subscription/2/UsagePoint'), 404, /Subscription 2/);
        textAnswer(get(service(), 'Batch/Subscription/7'), 404, /Subscription 7/);
        textAnswer(get(service(), 'Batch/Subscription/1/UsagePoint/3'), 404, /UsagePoint 3/);
        textAnswer(get(service(), 'Subscription/1/UsagePoint/9'), 404, /UsagePoint 9/);
        textAnswer(get(service(), `${UP}/MeterReading/9`), 404, /MeterReading 9/);
        textAnswer(get(service(), `${UP}/MeterReading/9/IntervalBlock`), 404, /MeterReading 9/);
        textAnswer(get(service(), `${BLOCKS}/123`), 404, /IntervalBlock 123/);
        textAnswer(get(service(), `${BLOCKS}/${(T0 + 1000) / 1000}`), 404, /IntervalBlock/);
        textAnswer(get(service({ grouping: 'hour' }), `${BLOCKS}/${(T0 + 60_000) / 1000}`), 404, /IntervalBlock/);
        textAnswer(get(service(), 'ReadingType/9'), 404, /ReadingType 9/);
        textAnswer(get(service(), 'LocalTimeParameters/2'), 404, /LocalTimeParameters 2/);
        textAnswer(get(service(), `${UP}/ElectricPowerUsageSummary/2`), 404, /ElectricPowerUsageSummary 2/);
        textAnswer(get(service(), `${UP}/UsageSummary`), 404, /UsageSummary/);
        textAnswer(get(service(), 'Nothing'), 404, /no resource Nothing/);
        textAnswer(get(service(), 'ReadingType/a.b'), 404, /"a\.b" is not a resource id/);
        const outside = service().handle('GET', '/other/path', '');
        assert.equal(outside.status, 404);
    });

    it('answers 400 to dot segments, encoded separators and bad percent-encoding', () => {
        for (const p of [
            'ReadingType/../LocalTimeParameters',
            'ReadingType/%2e%2e/LocalTimeParameters',
            'ReadingType/%2E%2E',
            'ReadingType/.',
            'Subscription%2F1/UsagePoint',
            'Subscription/1%2fUsagePoint',
            'ReadingType/%5C1',
            'ReadingType/%00',
        ])
            textAnswer(get(service(), p), 400, /dot segments or encoded separators/);
        textAnswer(get(service(), 'ReadingType/%zz'), 400, /percent-encoding/);
        textAnswer(get(service(), 'Subscription//UsagePoint'), 400, /empty path segment/);
        assert.equal(get(service(), 'ReadingType/').status, 200, 'a trailing slash is fine');
    });

    it('answers 405 with Allow to anything but GET and HEAD', () => {
        for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
            const r = service().handle(m, `/espi/1_1/resource/${BLOCKS}`, '');
            assert.equal(r.status, 405, m);
            assert.equal(r.headers.Allow, 'GET, HEAD');
            assert.match(String(r.body), new RegExp(`^${m} is not supported`));
        }
        assert.equal(service().handle('HEAD', `/espi/1_1/resource/${BLOCKS}`, '').status, 200);
    });

    it('answers a window outside the history with 404 "data not found" by default', () => {
        const out = '?published-min=2024-01-01T00:00:00Z&published-max=2024-01-02T00:00:00Z';
        for (const accept of ['', '*/*', 'text/plain', 'application/atom+xml, */*']) {
            const r = get(service(), BLOCKS, out, accept);
            textAnswer(r, 404, /^data not found\n$/);
        }
        textAnswer(get(service(), 'Batch/Subscription/1', out), 404, /^data not found\n$/);
        const xml = get(service(), BLOCKS, out, 'application/xml');
        assert.equal(xml.status, 404);
        assert.equal(entries(xml.text), 0);
        assert.match(xml.text, /^<\?xml[^>]*>\n<feed /);
        const feed = get(service({ emptyResult: 'empty-feed' }), BLOCKS, out);
        assert.equal(feed.status, 200);
        assert.equal(entries(feed.text), 0);
        // an empty history has no current value either
        const none = fixtureService(fixtureHistory().history);
        assert.equal(get(none, `${UP}/MeterReading/4/IntervalBlock`).status, 404);
    });

    it('reports ReadServiceStatus 1 when online and 0 when not', () => {
        let online = true;
        const s = service({ online: () => online });
        const a = get(s, 'ReadServiceStatus');
        assert.equal(a.status, 200);
        assert.match(
            a.text,
            /<ServiceStatus xmlns="http:\/\/naesb\.org\/espi"><currentStatus>1<\/currentStatus><\/ServiceStatus>/,
        );
        online = false;
        assert.match(get(s, 'ReadServiceStatus').text, /<currentStatus>0<\/currentStatus>/);
        assert.match(get(service(), 'ReadServiceStatus').text, /<currentStatus>1<\/currentStatus>/);
        textAnswer(get(s, 'ReadServiceStatus/1'), 404, /no resource/);
    });

    it('keeps entry ids stable across requests and services', () => {
        const id = (xml: string) => [...xml.matchAll(/<id>(urn:uuid:[^<]+)<\/id>/g)].map((m) => m[1]);
        const a = id(get(service(), 'Batch/Subscription/1').text);
        const b = id(get(service(), 'Batch/Subscription/1').text);
        assert.deepEqual(a, b);
        assert.equal(new Set(a).size, a.length);
    });

    it('renders a streamed body and a whole one the same way', () => {
        const r = service().handle('GET', `/espi/1_1/resource/${BLOCKS}`, ALL);
        assert.notEqual(typeof r.body, 'string');
        const once = render(r.body as Iterable<string>);
        assert.equal(once, get(service(), BLOCKS, ALL).text);
        assert.match(once, /<\/feed>\n$/);
    });
});
