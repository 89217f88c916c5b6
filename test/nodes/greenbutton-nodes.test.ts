/**
 * The Green Button nodes in a Node-RED runtime (node-red-node-test-helper): a simulated SE meter feeding
 * greenbutton-server on its own HTTPS port and greenbutton-out; the server mounted on Node-RED's HTTP server; the
 * output forms; input and configuration errors with their codes for Catch nodes.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import helper from 'node-red-node-test-helper';
import request from 'supertest';
import { parseWithCityssm, validateEspi } from '../support/espi';
import { loadWithHelpers, type Msg, node } from '../support/node-flows';
import { freePort } from '../support/prosody';
import { waitFor } from '../support/xmpp';

/** Node-RED's httpNode app as the nodes see it (the test helper does not serve it; supertest drives it). */
let httpNode: Parameters<typeof request>[0] | undefined;
const captureHttpNode = (RED: {
    httpNode: Parameters<typeof request>[0];
    nodes: { registerType: (t: string, f: unknown) => void; createNode: (n: unknown, c: unknown) => void };
}) => {
    httpNode = RED.httpNode;
    RED.nodes.registerType('capture-http-node', function (this: unknown, c: unknown) {
        RED.nodes.createNode(this, c);
    });
};
const NODES = [
    ...['sep-meter', 'greenbutton-out', 'greenbutton-server'].map((t) => require(`../../dist/nodes/${t}.js`)),
    captureHttpNode,
];
const nodeApp = () => request(httpNode as Parameters<typeof request>[0]);

helper.init(process.env.NODE_RED_PATH || require.resolve('node-red'));

before(async () => {
    await helper.startServer();
});
after(async () => {
    await helper.stopServer();
});
afterEach(async () => {
    await helper.unload();
});

const load = (nodes: Msg[], credentials: Record<string, unknown> = {}) => loadWithHelpers(NODES, nodes, credentials);

interface Got {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
    fingerprint: string;
}

/** A GET over HTTPS. The generated certificate is checked by its fingerprint (as a user compares it with the dialog's). */
function get(port: number, path: string, auth?: string): Promise<Got> {
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host: '127.0.0.1',
                port,
                path,
                rejectUnauthorized: false,
                headers: auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {},
            },
            (res) => {
                const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
                let body = '';
                res.setEncoding('utf8');
                res.on('data', (c: string) => {
                    body += c;
                });
                res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint }));
            },
        );
        req.on('error', reject);
        req.end();
    });
}

/** The IntervalReading values of a document, in order. */
const values = (xml: string) =>
    [...xml.matchAll(/<espi:IntervalReading>.*?<espi:value>(-?\d+)<\/espi:value><\/espi:IntervalReading>/g)].map((m) =>
        Number(m[1]),
    );
const USERS = { user1: 'display', password1: 'kitchen-2025', user2: 'logger', password2: 'solar!' };

describe('greenbutton-server and greenbutton-out', () => {
    test('a simulated meter read every 7 s is served over HTTPS with Basic auth and written as Atom', {
        timeout: 60_000,
    }, async () => {
        const port = await freePort();
        const out = await load(
            [
                {
                    id: 'meter',
                    type: 'sep-meter',
                    transport: 'simulator',
                    interval: 7,
                    statsEvery: 0,
                    wires: [['srv', 'gbout', 'records'], []],
                },
                {
                    id: 'srv',
                    type: 'greenbutton-server',
                    port,
                    host: '127.0.0.1',
                    history: 100,
                    persist: false,
                    wires: [[]],
                },
                {
                    id: 'gbout',
                    type: 'greenbutton-out',
                    output: 'feed',
                    keep: 10,
                    baseUrl: 'https://gw.test:8443',
                    wires: [['docs']],
                },
            ],
            { srv: USERS },
        );
        await waitFor(
            () => out('records').some((r) => (r.payload as { kW?: number } | null)?.kW !== undefined),
            25_000,
            'a reading',
        );
        await waitFor(() => out('docs').length > 0, 5000, 'a feed');
        const reading = out('records').find((r) => (r.payload as { kW?: number } | null)?.kW !== undefined) as Msg & {
            payload: { kW: number; kWh: number };
        };
        const info = await helper.request().get('/derlink/greenbutton-server/srv/info').expect(200);
        const meta = info.body as {
            url: string;
            fingerprint256: string;
            serving: boolean;
            users: number;
            readings: number;
        };
        assert.equal(meta.users, 2);
        assert.match(meta.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
        assert.equal(meta.serving, true);

        const path = '/espi/1_1/resource/Subscription/1/UsagePoint/1/MeterReading/1/IntervalBlock';
        const ok = await get(port, path, 'display:kitchen-2025');
        assert.equal(ok.status, 200, ok.body);
        assert.equal(ok.fingerprint, meta.fingerprint256, 'the certificate served is the one the dialog shows');
        assert.match(String(ok.headers['content-type']), /^application\/atom\+xml/);
        assert.equal((ok.body.match(/<entry>/g) ?? []).length, 1, 'no time parameters: the current value only');
        const latest = out('records')
            .filter((r) => (r.payload as { kW?: number } | null)?.kW !== undefined)
            .at(-1) as typeof reading;
        assert.deepEqual(values(ok.body), [Math.round(latest.payload.kW * 1000)]);
        assert.equal(validateEspi(ok.body), undefined);

        const second = await get(port, path, 'logger:solar!');
        assert.equal(second.status, 200);
        const wrong = await get(port, path, 'display:kitchen');
        assert.equal(wrong.status, 401);
        assert.match(String(wrong.headers['www-authenticate']), /^Basic realm="greenbutton"/);
        assert.doesNotMatch(wrong.body, /espi/);
        assert.equal((await get(port, path)).status, 401);
        const old = await get(
            port,
            `${path}?published-min=2001-01-01T00:00:00Z&published-max=2001-01-02T00:00:00Z`,
            'display:kitchen-2025',
        );
        assert.equal(old.status, 404);
        assert.equal(old.body.trim(), 'data not found');

        const doc = out('docs')[0] as Msg & {
            payload: string;
            headers: Record<string, string>;
            espi: { series: { key: string; uom: number }[] };
        };
        assert.equal(validateEspi(doc.payload), undefined);
        assert.match(doc.headers['Content-Type'] as string, /^application\/atom\+xml/);
        assert.deepEqual(
            doc.espi.series.map((s) => [s.key, s.uom]),
            [
                ['demand', 38],
                ['summation-delivered', 72],
            ],
        );
        const parsed = (await parseWithCityssm(doc.payload)) as { entries: { content: Record<string, unknown> }[] };
        const blocks = parsed.entries.filter((e) => e.content.IntervalBlock);
        assert.equal(blocks.length, 2, 'one block per series for the first reading');
        const first = out('records').find(
            (r) => (r.payload as { kW?: number } | null)?.kW !== undefined,
        ) as typeof reading;
        assert.deepEqual(values(doc.payload), [
            Math.round(first.payload.kW * 1000),
            Math.round(first.payload.kWh * 1000),
        ]);
        assert.deepEqual(out('caught'), []);
    });

    test("mounted on Node-RED's HTTP server: readings from the input, Basic auth on every request", {
        timeout: 20_000,
    }, async () => {
        const out = await load(
            [
                {
                    id: 'srv',
                    type: 'greenbutton-server',
                    serveOn: 'nodered',
                    prefix: '/gb',
                    baseUrl: 'https://gw.test/gb',
                    persist: false,
                    accessLog: true,
                    wires: [['access']],
                },
                { id: 'cap', type: 'capture-http-node' },
            ],
            { srv: USERS },
        );
        const t = Date.parse('2025-06-01T12:00:07Z');
        node('srv').receive({ payload: 2.5, unit: 'kW', timestamp: t });
        node('srv').receive({ payload: { kW: 2.75, kWh: 1234.5678 }, timestamp: t + 7000 });
        const path = '/gb/espi/1_1/resource/Subscription/1/UsagePoint/1/MeterReading/1/IntervalBlock';
        await nodeApp().get(path).expect(401);
        const cur = await nodeApp().get(path).auth('display', 'kitchen-2025').expect(200);
        // payload 2.5 with unit kW came in as series "kW" (topic-less), and so did { kW }: the latest wins.
        assert.deepEqual(values(cur.text), [2750]);
        assert.ok(cur.text.includes(`<espi:start>${(t + 7000) / 1000}</espi:start>`), 'tagged with the reading time');
        const all = await nodeApp()
            .get(`${path}?published-min=2025-06-01T00:00:00Z`)
            .auth('display', 'kitchen-2025')
            .expect(200);
        assert.deepEqual(values(all.text), [2500, 2750]);
        assert.equal(validateEspi(all.text), undefined);
        const energy = await nodeApp()
            .get('/gb/espi/1_1/resource/Subscription/1/UsagePoint/1/MeterReading/2/IntervalBlock')
            .auth('logger', 'solar!')
            .expect(200);
        assert.deepEqual(values(energy.text), [1234568], 'kWh with three decimals in Wh');
        await nodeApp().get('/gb/espi/1_1/resource/Nope').auth('logger', 'solar!').expect(404);
        await nodeApp().get('/gb/espi/1_1/resource/ReadingType?max-results=x').auth('logger', 'solar!').expect(400);
        await waitFor(() => out('access').length >= 5, 3000, 'access records');
        const statuses = out('access').map((m) => (m.payload as { status: number }).status);
        assert.deepEqual(statuses.slice(0, 5), [401, 200, 200, 200, 404]);
        assert.ok(
            out('access').every((m) => !JSON.stringify(m).includes('kitchen-2025')),
            'no password in access records',
        );

        // A reading older than the latest of its series is refused with BAD_INPUT, and nothing is lost.
        node('srv').receive({ payload: 1, unit: 'kW', timestamp: t - 60_000 });
        await waitFor(() => out('caught').length > 0, 3000, 'an error');
        const e = out('caught')[0]?.error as { code: string; message: string };
        assert.equal(e.code, 'BAD_INPUT');
        assert.match(e.message, /older than the latest/);
        const after = await nodeApp().get(`${path}?published-min=2025-06-01T00:00:00Z`).auth('display', 'kitchen-2025');
        assert.deepEqual(values(after.text), [2500, 2750]);
    });

    test('greenbutton-out: entry form, array batches, and bad input as BAD_INPUT', { timeout: 20_000 }, async () => {
        const out = await load([
            { id: 'gbEntry', type: 'greenbutton-out', output: 'entry', unit: 'W', wires: [['entries']] },
            {
                id: 'gbBlocks',
                type: 'greenbutton-out',
                output: 'blocks',
                grouping: 'day',
                timezone: 'Europe/Oslo',
                wires: [['feeds']],
            },
        ]);
        node('gbEntry').receive({ payload: { kW: 1.5, kWh: 10.25 }, timestamp: '2025-03-01T10:00:00Z' });
        await waitFor(() => out('entries').length === 2, 3000, 'one entry per series');
        for (const m of out('entries')) {
            const xml = (m as { payload: string }).payload;
            assert.match(xml, /^<\?xml[^>]*>\n<entry xmlns="http:\/\/www.w3.org\/2005\/Atom"/);
            assert.equal(validateEspi(xml), undefined);
        }
        assert.deepEqual(
            out('entries').map((m) => values((m as { payload: string }).payload)[0]),
            [1500, 10250],
        );
        const day = Date.parse('2025-03-01T00:00:00+01:00');
        const batch = Array.from({ length: 96 * 2 }, (_, i) => ({
            time: day + i * 900_000,
            value: 100 + i,
            unit: 'Wh',
        }));
        node('gbBlocks').receive({
            payload: batch,
            espi: { accumulation: 'deltaData', intervalLength: 900, resolution: 1 },
        });
        await waitFor(() => out('feeds').length === 1, 5000, 'a feed');
        const xml = (out('feeds')[0] as { payload: string }).payload;
        assert.equal(validateEspi(xml), undefined);
        assert.equal((xml.match(/<entry>/g) ?? []).length, 2, 'two local days');
        assert.equal((xml.match(/<espi:IntervalReading>/g) ?? []).length, 192);
        assert.ok(xml.includes('<espi:timePeriod><espi:duration>900</espi:duration>'), 'each reading covers 900 s');
        assert.ok(xml.includes('<espi:interval><espi:duration>86400</espi:duration>'), 'a block is a local day');
        const series = (out('feeds')[0] as { espi: { series: { uom: number; readings: number }[] } }).espi.series;
        assert.deepEqual(
            series.map((x) => [x.uom, x.readings]),
            [[72, 192]],
        );

        const bad: Array<[Msg, RegExp]> = [
            [{ payload: 'many' }, /not a finite number/],
            [{ payload: 5, unit: 'furlong' }, /Unit "furlong"/],
            [{ payload: null }, /msg.payload is null/],
            [{ payload: 1, timestamp: 'yesterday' }, /not a time/],
            [{ payload: [{ value: 1, unit: 'kW' }] }, /Reading 0 has no time/],
        ];
        for (const [msg, text] of bad) {
            const before = out('caught').length;
            node('gbEntry').receive(msg);
            await waitFor(() => out('caught').length > before, 3000, `an error for ${JSON.stringify(msg)}`);
            const e = out('caught').at(-1)?.error as { code?: string; message?: string };
            assert.equal(e.code, 'BAD_INPUT', e.message);
            assert.match(String(e.message), text);
        }
        assert.equal(out('entries').length, 2, 'bad input wrote nothing');
    });

    test('configuration errors are CONFIG errors; a server without users refuses to serve', {
        timeout: 20_000,
    }, async () => {
        const port = await freePort();
        const out = await load(
            [
                { id: 'nouser', type: 'greenbutton-server', port, host: '127.0.0.1', persist: false, wires: [[]] },
                { id: 'nopass', type: 'greenbutton-server', port, host: '127.0.0.1', persist: false, wires: [[]] },
                { id: 'badbase', type: 'greenbutton-out', baseUrl: 'gateway.local/', wires: [[]] },
                { id: 'badzone', type: 'greenbutton-out', timezone: 'Mars/Olympus', wires: [[]] },
                { id: 'redmount', type: 'greenbutton-server', serveOn: 'nodered', persist: false, wires: [[]] },
                { id: 'notls', type: 'greenbutton-server', tlsMode: 'config', port, persist: false, wires: [[]] },
            ],
            { nopass: { user1: 'display' }, redmount: USERS, notls: USERS },
        );
        await assert.rejects(
            get(port, '/espi/1_1/resource/ReadServiceStatus', 'display:x'),
            'nothing listens without users',
        );
        const info = await helper.request().get('/derlink/greenbutton-server/nouser/info').expect(200);
        assert.equal((info.body as { serving: boolean; users: number }).serving, false);
        await helper.request().get('/derlink/greenbutton-server/notls/info').expect(404);
        const cases: Array<[string, RegExp]> = [
            ['nopass', /User "display" has no password/],
            ['badbase', /not an absolute URL/],
            ['badzone', /Mars\/Olympus/],
            ['redmount', /base URL/],
            ['notls', /TLS configuration gives no certificate/],
        ];
        for (const [id, text] of cases) {
            const before = out('caught').length;
            node(id).receive({ payload: 1, unit: 'kW' });
            await waitFor(() => out('caught').length > before, 3000, `an error from ${id}`);
            const e = out('caught').at(-1)?.error as { code?: string; message?: string };
            assert.equal(e.code, 'CONFIG', `${id}: ${e.message}`);
            assert.match(String(e.message), text, id);
        }
    });

    test('keeps its certificate and history in the user directory across restarts; a damaged history is set aside', {
        timeout: 30_000,
    }, async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'gb-userdir-'));
        helper.settings({ userDir: dir });
        try {
            const port = await freePort();
            const flow = [
                { id: 'keep', type: 'greenbutton-server', port, host: '127.0.0.1', history: 100, wires: [[]] },
            ];
            const info = async () =>
                (await helper.request().get('/derlink/greenbutton-server/keep/info').expect(200)).body as {
                    fingerprint256: string;
                    serving: boolean;
                };
            const path1 = '/espi/1_1/resource/Subscription/1/UsagePoint/1/MeterReading/1/IntervalBlock';
            const t = Date.parse('2025-06-01T12:00:07Z');
            await load(flow, { keep: USERS });
            const first = await info();
            node('keep').receive({ payload: 1.25, unit: 'kW', timestamp: t });
            await helper.unload(); // close writes the history
            const history = path.join(dir, 'derlink-greenbutton-keep.json');
            const tls = path.join(dir, 'derlink-greenbutton-keep-tls.json');
            assert.ok(existsSync(history), 'the history file');
            assert.equal(statSync(tls).mode & 0o777, 0o600, 'the key file is private');

            await load(flow, { keep: USERS });
            const again = await info();
            assert.equal(again.fingerprint256, first.fingerprint256, 'the same certificate after a restart');
            let got: Got | undefined;
            for (let i = 0; i < 50 && got?.status !== 200; i++) {
                got = await get(port, path1, 'display:kitchen-2025').catch(() => undefined);
                if (got?.status !== 200) await new Promise((r) => setTimeout(r, 100));
            }
            assert.deepEqual(values(got?.body ?? ''), [1250], 'the reading survived the restart');
            await helper.unload();

            writeFileSync(history, '{"version":1,"series":[{"id":"1"');
            await load(flow, { keep: USERS });
            let fresh: Got | undefined;
            for (let i = 0; i < 50 && fresh?.status !== 404; i++) {
                fresh = await get(port, path1, 'display:kitchen-2025').catch(() => undefined);
                if (fresh?.status !== 404) await new Promise((r) => setTimeout(r, 100));
            }
            assert.equal(fresh?.status, 404, 'a new, empty history');
            assert.ok(
                readdirSync(dir).some((f) => f.startsWith('derlink-greenbutton-keep.json.damaged-')),
                'the damaged file is kept aside',
            );
        } finally {
            helper.settings({ userDir: undefined });
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test('a port in use is retried until it is free', { timeout: 40_000 }, async () => {
        const port = await freePort();
        const blocker = net.createServer();
        await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
        try {
            await load(
                [{ id: 'busy', type: 'greenbutton-server', port, host: '127.0.0.1', persist: false, wires: [[]] }],
                { busy: USERS },
            );
            const serving = async () =>
                (
                    (await helper.request().get('/derlink/greenbutton-server/busy/info').expect(200)).body as {
                        serving: boolean;
                    }
                ).serving;
            await new Promise((r) => setTimeout(r, 500));
            assert.equal(await serving(), false, 'not serving while the port is taken');
        } finally {
            await new Promise<void>((r) => blocker.close(() => r()));
        }
        let up = false;
        for (let i = 0; i < 30 && !up; i++) {
            await new Promise((r) => setTimeout(r, 500));
            up = (
                (await helper.request().get('/derlink/greenbutton-server/busy/info').expect(200)).body as {
                    serving: boolean;
                }
            ).serving;
        }
        assert.ok(up, 'serving once the port came free (retried every 10 s)');
        assert.equal((await get(port, '/espi/1_1/resource/ReadServiceStatus', 'display:kitchen-2025')).status, 200);
    });
});
