/**
 * The Green Button HTTPS server end to end, with real clients. A GreenButtonServer listens on 127.0.0.1 with a
 * certificate from generateSelfSigned; its history is fed by a real sep Poller reading a MeterSimulator on the real
 * clock (onRecord → readingsFromSepRecord(record) → history.add), as the sep-meter → greenbutton flow does.
 *
 * curl (Debian) is the third-party HTTPS client, always with --cacert (never -k) so TLS verification is real, and
 * -u for Basic authentication. Node's https and tls stand in for the keep-alive client, the slow-loris clients and a
 * client that does not trust the certificate (each with its own `ca`; nothing process-wide is touched).
 *
 * Covered: the current IntervalBlock against the Poller's last record; 401 for wrong, missing, malformed and unknown
 * credentials; the per-address rate limit (429 with Retry-After, lifted after blockMs); path traversal; unknown
 * resources; malformed query parameters; time windows outside and inside the history; HEAD and POST;
 * Batch/Subscription parsed by @cityssm/green-button-parser to the Poller's numbers; a slow-loris attack (the
 * Poller's slots keep the OpenSEG 1 s bound and curl is served while 20 TLS connections dribble a request, and the
 * server drops them after headersTimeoutMs); a client that does not trust the certificate.
 *
 * The Poller core refuses intervals under 7 s (MIN_POLL_INTERVAL_MS), so it runs at 7 s with startGraceMs at the
 * interval (the first slot is polled at start, not up to 7 s later); the slow-loris wave is timed to straddle a slot
 * boundary.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import {
    ATOM_MEDIA_TYPE,
    BasicAuth,
    GreenButtonServer,
    GreenButtonService,
    generateSelfSigned,
    History,
    localTimeParameters,
    readingsFromSepRecord,
} from '../../src/protocols/greenbutton';
import {
    MeterSimulator,
    MIN_POLL_INTERVAL_MS,
    Poller,
    type PollerRecord,
    type SlotRecord,
} from '../../src/protocols/sep';
import { ensureDebianPackages } from '../support/debian';
import { cityssm, parseWithCityssm } from '../support/espi';

const LOCAL = '127.0.0.1';
/** The Poller core's floor; the fastest real-clock polling there is. */
const INTERVAL_MS = MIN_POLL_INTERVAL_MS;
const HEADERS_TIMEOUT_MS = 2_000;
/**
 * Node advertises it floored to whole seconds (Keep-Alive: timeout=2) and its agent keeps a socket for the hint
 * minus 1 s, so below 2 s Node clients would never reuse a connection; the server itself waits 1 s more
 * (keepAliveTimeoutBuffer, Node 24.6).
 */
const KEEP_ALIVE_MS = 2_000;
const BLOCK_MS = 1_500;
const SLOW_CLIENTS = 20;
/** OpenSEG: a query goes out within 1 s of its slot start. */
const OPENSEG_LIMIT_MS = 1_000;

const USER = 'alice';
const PASSWORD = 'correct horse battery staple';
const OTHER = { user: 'bob', password: 'hunter2-hunter2' };
const AUTH = `${USER}:${PASSWORD}`;

const ROOT = '/espi/1_1/resource';
const UP = `${ROOT}/Subscription/1/UsagePoint/1`;
const DEMAND_BLOCKS = `${UP}/MeterReading/1/IntervalBlock`;
const SUMMATION_BLOCKS = `${UP}/MeterReading/2/IntervalBlock`;
const BATCH = `${ROOT}/Batch/Subscription/1`;
const ATOM = `${ATOM_MEDIA_TYPE};charset=UTF-8`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await sleep(20);
    }
}

/** A port free on 127.0.0.1 just now, so the gateway's hrefs can name the port it will listen on. */
function freeTcpPort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, LOCAL, () => {
            const { port } = s.address() as net.AddressInfo;
            s.close(() => resolve(port));
        });
    });
}

// --- the clients ------------------------------------------------------------------------------------------------

interface CurlResult {
    exit: number;
    /** 0 when curl got no response (its %{http_code} 000). */
    status: number;
    head: string;
    headers: Map<string, string>;
    body: string;
    stderr: string;
}

interface CurlOptions {
    /** user:password for -u; null sends no credentials. */
    auth?: string | null;
    /** Pass --cacert (default true; false leaves curl with the system CAs only). */
    trust?: boolean;
    port?: number;
    /** Send HEAD (-I); the headers then come on stdout without -D. */
    head?: boolean;
    args?: string[];
}

let certFile = '';
let mainPort = 0;

/** Runs curl against the gateway (asynchronously: the server lives in this process). */
function curl(target: string, o: CurlOptions = {}): Promise<CurlResult> {
    const args = ['-sS', '--max-time', '10', '-w', '%{http_code}'];
    if (o.trust !== false) args.push('--cacert', certFile);
    const auth = o.auth === undefined ? AUTH : o.auth;
    if (auth !== null) args.push('-u', auth);
    args.push(...(o.head ? ['-I'] : ['-D', '-']), ...(o.args ?? []));
    args.push(`https://${LOCAL}:${o.port ?? mainPort}${target}`);
    return new Promise((resolve, reject) => {
        const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.stderr.on('data', (b: Buffer) => err.push(b));
        child.on('error', reject);
        child.on('close', (code) => {
            const stdout = Buffer.concat(out).toString('utf8');
            const status = Number(stdout.slice(-3));
            const rest = stdout.slice(0, -3);
            const end = rest.indexOf('\r\n\r\n');
            const head = end < 0 ? '' : rest.slice(0, end);
            const headers = new Map<string, string>();
            for (const line of head.split('\r\n').slice(1)) {
                const colon = line.indexOf(':');
                if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
            }
            resolve({
                exit: code ?? -1,
                status,
                head,
                headers,
                body: end < 0 ? rest : rest.slice(end + 4),
                stderr: Buffer.concat(err).toString('utf8'),
            });
        });
    });
}

const show = (r: CurlResult) => `curl exit ${r.exit}, ${r.stderr}\n${r.head}\n\n${r.body.slice(0, 1500)}`;

interface NodeResponse {
    status: number;
    headers: IncomingHttpHeaders;
    body: string;
    reusedSocket: boolean;
    localPort: number;
}

/** One request with Node's https client. */
function nodeGet(target: string, o: https.RequestOptions = {}): Promise<NodeResponse> {
    return new Promise((resolve, reject) => {
        const req = https.request(
            { host: LOCAL, port: mainPort, path: target, method: 'GET', auth: AUTH, ...o },
            (res) => {
                const localPort = res.socket.localPort ?? 0;
                const chunks: Buffer[] = [];
                res.on('data', (c: Buffer) => chunks.push(c));
                res.on('end', () =>
                    resolve({
                        status: res.statusCode ?? 0,
                        headers: res.headers,
                        body: Buffer.concat(chunks).toString('utf8'),
                        reusedSocket: req.reusedSocket,
                        localPort,
                    }),
                );
                res.on('error', reject);
            },
        );
        req.on('error', reject);
        req.end();
    });
}

// --- Atom picking ----------------------------------------------------------------------------------------------

const count = (xml: string, tag: string) => xml.split(tag).length - 1;

/** [start s, value] of every IntervalReading in a document, in order. */
function intervalReadings(xml: string): [number, number][] {
    const out: [number, number][] = [];
    const re =
        /<espi:IntervalReading>(?:<espi:ReadingQuality>.*?<\/espi:ReadingQuality>)?<espi:timePeriod><espi:duration>\d+<\/espi:duration><espi:start>(\d+)<\/espi:start><\/espi:timePeriod><espi:value>(-?\d+)<\/espi:value><\/espi:IntervalReading>/g;
    for (const m of xml.matchAll(re)) out.push([Number(m[1]), Number(m[2])]);
    return out;
}

// --- the gateway ------------------------------------------------------------------------------------------------

type OkRecord = SlotRecord & { responseAt: string; kW: number; kWh: number };

const isOk = (r: PollerRecord): r is OkRecord =>
    r.kind === 'slot' && r.responseAt !== null && r.kW !== undefined && r.kWh !== undefined;

/** The time the history keeps for a record (TimeType is whole seconds), in s. */
const secondOf = (r: OkRecord) => Math.floor(Date.parse(r.responseAt) / 1000);

const tmp = mkdtempSync(path.join(tmpdir(), 'derlink-greenbutton-https-'));
const cert = generateSelfSigned({ commonName: 'derlink-gateway.test' });
const records: PollerRecord[] = [];
const listenerErrors: string[] = [];
const okRecords = () => records.filter(isOk);
const lastOk = () => okRecords().at(-1) as OkRecord;

let history: History;
let service: GreenButtonService;
let server: GreenButtonServer;
let rlServer: GreenButtonServer | undefined;
let poller: Poller;
const sockets: tls.TLSSocket[] = [];

/**
 * Runs `fn` with the latest good record and runs it again if a new slot was written meanwhile, so the comparison
 * is always with the record the server answered from.
 */
async function withLatest<T>(fn: (r: OkRecord) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
        const n = okRecords().length;
        try {
            const result = await fn(lastOk());
            if (okRecords().length === n || attempt === 2) return result;
        } catch (err) {
            if (okRecords().length === n || attempt === 2) throw err;
        }
    }
}

before(async () => {
    ensureDebianPackages(['curl'], { curl: 'curl' });
    certFile = path.join(tmp, 'gateway.crt');
    writeFileSync(certFile, cert.cert);
    mainPort = await freeTcpPort();
    history = new History({ capacity: 1_000 });
    service = new GreenButtonService({
        info: {
            baseUrl: `https://${LOCAL}:${mainPort}`,
            subscriptionId: '1',
            usagePointId: '1',
            title: 'Simulated SE meter',
            serviceKind: 0,
            localTime: localTimeParameters('Europe/Oslo'),
        },
        history,
    });
    server = new GreenButtonServer({
        service,
        // These tests send many wrong credentials on purpose; the rate limit has its own server below.
        auth: new BasicAuth({
            users: [{ user: USER, password: PASSWORD }, OTHER],
            rateLimit: { failures: 1_000, windowMs: 60_000, blockMs: 60_000 },
        }),
        key: cert.key,
        cert: cert.cert,
        host: LOCAL,
        port: mainPort,
        headersTimeoutMs: HEADERS_TIMEOUT_MS,
        keepAliveTimeoutMs: KEEP_ALIVE_MS,
    });
    const addr = await server.listen();
    assert.equal(addr.port, mainPort);

    poller = new Poller({
        transport: new MeterSimulator({ seed: 42 }),
        intervalMs: INTERVAL_MS,
        startGraceMs: INTERVAL_MS, // poll the current slot at start instead of waiting up to 7 s
        statsEverySlots: 0,
        onRecord: (record) => {
            records.push(record);
            const parsed = readingsFromSepRecord(record);
            for (const r of parsed.readings)
                history.add(r.key, r.spec, {
                    time: r.time,
                    value: r.value,
                    ...(r.quality === undefined ? {} : { quality: r.quality }),
                });
        },
        onLog: (level, message) => {
            if (level === 'warn') listenerErrors.push(message);
        },
    });
    poller.start();
    await until(() => okRecords().length >= 1, INTERVAL_MS + 3_000, 'the first good poll');
});

after(async () => {
    poller?.stop();
    for (const s of sockets) s.destroy();
    await rlServer?.close();
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
});

describe('Green Button over HTTPS, fed by a polled simulated meter', () => {
    test('the right user gets the current IntervalBlock: one entry, the latest poll', async () => {
        await withLatest(async (rec) => {
            const r = await curl(DEMAND_BLOCKS);
            assert.equal(r.status, 200, show(r));
            assert.equal(r.exit, 0, show(r));
            assert.equal(r.headers.get('content-type'), ATOM);
            assert.equal(r.headers.get('cache-control'), 'no-store');
            assert.match(
                r.body,
                /^<\?xml version="1.0" encoding="UTF-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"/,
            );
            assert.equal(count(r.body, '<entry>'), 1, r.body);
            assert.equal(count(r.body, '<espi:IntervalReading>'), 1, r.body);
            assert.deepEqual(intervalReadings(r.body), [[secondOf(rec), Math.round(rec.kW * 1000)]], r.body);
            // The summation's block: Wh with powerOfTenMultiplier 0, i.e. kWh × 1000.
            const s = await curl(SUMMATION_BLOCKS);
            assert.equal(s.status, 200, show(s));
            assert.deepEqual(intervalReadings(s.body), [[secondOf(rec), Math.round(rec.kWh * 1000)]], s.body);
        });
        // The entry's self href resolves on this server (hrefs carry the real host and port).
        const feed = (await curl(DEMAND_BLOCKS)).body;
        const self = /<entry>.*?<link rel="self" href="https:\/\/127\.0\.0\.1:(\d+)([^"]+)"/.exec(feed);
        assert.ok(self, feed);
        assert.equal(Number(self[1]), mainPort);
        const one = await curl(self[2] as string);
        assert.equal(one.status, 200, show(one));
        assert.match(one.body, /^<\?xml[^>]*>\n<entry xmlns=/);
    });

    test('wrong password, no credentials, a malformed header, an unknown user: 401 and no data', async () => {
        const cases: [string, CurlOptions][] = [
            ['wrong password', { auth: `${USER}:${PASSWORD}x` }],
            ["another user's password", { auth: `${USER}:${OTHER.password}` }],
            ['no credentials', { auth: null }],
            ['not base64', { auth: null, args: ['-H', 'Authorization: Basic !!!not-base64!!!'] }],
            ['no colon', { auth: null, args: ['-H', `Authorization: Basic ${Buffer.from(USER).toString('base64')}`] }],
            ['a Bearer token', { auth: null, args: ['-H', 'Authorization: Bearer abc.def.ghi'] }],
            ['unknown user', { auth: `mallory:${PASSWORD}` }],
            ['empty user and password', { auth: ':' }],
        ];
        for (const [what, o] of cases) {
            for (const target of [DEMAND_BLOCKS, BATCH]) {
                const r = await curl(target, o);
                assert.equal(r.status, 401, `${what}: ${show(r)}`);
                assert.equal(r.headers.get('www-authenticate'), 'Basic realm="greenbutton", charset="UTF-8"', what);
                assert.equal(r.headers.get('content-type'), 'text/plain;charset=UTF-8', what);
                assert.equal(r.body, 'authentication required\n', what);
                assert.doesNotMatch(r.body, /espi|<feed|<entry/, what);
            }
        }
        // And the other, valid user does get in.
        const bob = await curl(DEMAND_BLOCKS, { auth: `${OTHER.user}:${OTHER.password}` });
        assert.equal(bob.status, 200, show(bob));
    });

    test('rate limit: the 6th request after 5 wrong passwords gets 429 with Retry-After, until blockMs passes', async () => {
        rlServer = new GreenButtonServer({
            service,
            auth: new BasicAuth({
                users: [{ user: USER, password: PASSWORD }],
                rateLimit: { failures: 5, windowMs: 60_000, blockMs: BLOCK_MS },
            }),
            key: cert.key,
            cert: cert.cert,
            host: LOCAL,
            port: 0,
        });
        const port = (await rlServer.listen()).port;
        const ok = await curl(DEMAND_BLOCKS, { port });
        assert.equal(ok.status, 200, show(ok));
        let blockedAt = 0;
        for (let i = 1; i <= 5; i++) {
            const r = await curl(DEMAND_BLOCKS, { port, auth: `${USER}:wrong-${i}` });
            assert.equal(r.status, 401, `wrong password ${i}: ${show(r)}`);
            blockedAt = Date.now();
        }
        const sixth = await curl(DEMAND_BLOCKS, { port });
        assert.equal(sixth.status, 429, show(sixth));
        const retry = Number(sixth.headers.get('retry-after'));
        assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= Math.ceil(BLOCK_MS / 1000), show(sixth));
        assert.equal(sixth.body, 'too many failed logins; try again later\n');
        assert.doesNotMatch(sixth.body, /espi|<feed/);
        // Blocked per address: 127.0.0.2 (loopback too) still gets in meanwhile.
        const other = await curl(DEMAND_BLOCKS, { port, args: ['--interface', '127.0.0.2'] });
        assert.equal(other.status, 200, show(other));
        const stillBlocked = await curl(DEMAND_BLOCKS, { port });
        assert.equal(stillBlocked.status, 429, show(stillBlocked));
        // After the block the right password works again (and a wrong one is a plain 401, not a new block yet).
        await sleep(Math.max(0, blockedAt + BLOCK_MS + 100 - Date.now()));
        const again = await curl(DEMAND_BLOCKS, { port });
        assert.equal(again.status, 200, show(again));
        assert.equal(count(again.body, '<entry>'), 1);
        const wrong = await curl(DEMAND_BLOCKS, { port, auth: `${USER}:wrong` });
        assert.equal(wrong.status, 401, show(wrong));
    });

    test('path traversal: dot segments sent raw, %2e%2e and %2F are 400, nothing from /etc/passwd', async () => {
        const cases: [string, string[]][] = [
            [`${ROOT}/../../etc/passwd`, ['--path-as-is']],
            [`${ROOT}/../../../../../../etc/passwd`, ['--path-as-is']],
            [`${ROOT}/./ReadingType`, ['--path-as-is']],
            [`${ROOT}/%2e%2e/%2e%2e/etc/passwd`, []],
            [`${ROOT}/%2E%2E/%2E%2E/etc/passwd`, []],
            [`${ROOT}/ReadingType/%2e%2e%2f%2e%2e%2fetc%2fpasswd`, []],
            [`${ROOT}/..%2F..%2Fetc%2Fpasswd`, []],
            [`${ROOT}/ReadingType%2F1`, []],
            [`${ROOT}/ReadingType%5C1`, []],
            [`${ROOT}/ReadingType/1%00`, []],
        ];
        for (const [target, args] of cases) {
            const r = await curl(target, { args });
            assert.equal(r.status, 400, `${target}: ${show(r)}`);
            assert.equal(r.headers.get('content-type'), 'text/plain;charset=UTF-8', target);
            assert.match(r.body, /^bad request: /, target);
            assert.doesNotMatch(r.body, /root:/, target);
        }
        // Outside the resource tree: 404, and still nothing from the file system.
        for (const target of ['/espi/1_1/../../etc/passwd', '/../../../etc/passwd', '/etc/passwd']) {
            const r = await curl(target, { args: ['--path-as-is'] });
            assert.equal(r.status, 404, `${target}: ${show(r)}`);
            assert.doesNotMatch(r.body, /root:/, target);
        }
    });

    test('unknown resources: 404 with a body naming them', async () => {
        const cases: [string, RegExp][] = [
            [`${ROOT}/Nope`, /^not found: no resource Nope\n$/],
            [`${ROOT}/Subscription/9/UsagePoint`, /^not found: Subscription 9\n$/],
            [`${ROOT}/Subscription/1/UsagePoint/7`, /^not found: UsagePoint 7\n$/],
            [`${UP}/MeterReading/99`, /^not found: MeterReading 99\n$/],
            [`${UP}/MeterReading/1/IntervalBlock/12345`, /^not found: IntervalBlock 12345\n$/],
            [`${ROOT}/ReadingType/42`, /^not found: ReadingType 42\n$/],
            [`${ROOT}/Batch/Subscription/2`, /^not found: Subscription 2\n$/],
        ];
        for (const [target, body] of cases) {
            const r = await curl(target);
            assert.equal(r.status, 404, `${target}: ${show(r)}`);
            assert.equal(r.headers.get('content-type'), 'text/plain;charset=UTF-8', target);
            assert.match(r.body, body, target);
        }
    });

    test('malformed query parameters: 400 naming the parameter', async () => {
        const cases: [string, RegExp][] = [
            ['published-min=yesterday', /published-min=yesterday is not an RFC 3339 date-time/],
            ['published-max=2025-13-45', /published-max=2025-13-45 is not an RFC 3339 date-time/],
            ['updated-min=2025-01-01T00:00:00', /updated-min=2025-01-01T00:00:00 is not an RFC 3339/],
            ['max-results=-1', /max-results=-1 is not a whole number/],
            ['max-results=1e3', /max-results=1e3 is not a whole number/],
            ['depth=ten', /depth=ten is not a whole number/],
            ['start-index=0', /start-index counts from 1/],
            [
                'published-min=2025-01-01T00:00:00Z&published-min=2025-01-02T00:00:00Z',
                /published-min is given more than once/,
            ],
            [
                'published-min=2025-01-02T00:00:00Z&published-max=2025-01-01T00:00:00Z',
                /publishedMin must be before publishedMax/,
            ],
        ];
        for (const [query, body] of cases) {
            const r = await curl(`${DEMAND_BLOCKS}?${query}`);
            assert.equal(r.status, 400, `${query}: ${show(r)}`);
            assert.equal(r.headers.get('content-type'), 'text/plain;charset=UTF-8', query);
            assert.match(r.body, /^bad request: /, query);
            assert.match(r.body, body, query);
        }
        // Parameters the gateway does not know are ignored (cache busters).
        const r = await curl(`${DEMAND_BLOCKS}?_=12345&foo=bar`);
        assert.equal(r.status, 200, show(r));
    });

    test('an impossible calendar date (2025-02-30, hour 24) is 400, not read as another day', async () => {
        for (const query of [
            'published-min=2025-02-30T00:00:00Z',
            'updated-min=2025-04-31T12:00:00Z',
            'published-min=2025-01-01T24:00:00Z',
        ]) {
            const r = await curl(`${DEMAND_BLOCKS}?${query}`);
            assert.equal(r.status, 400, `${query}: ${show(r)}`);
            assert.match(r.body, new RegExp(`^bad request: ${query.split('=')[0]}=`), query);
        }
    });

    test('HEAD gives the headers and no body; POST, PUT and DELETE get 405 with Allow', async () => {
        const head = await curl(DEMAND_BLOCKS, { head: true });
        assert.equal(head.status, 200, show(head));
        assert.equal(head.headers.get('content-type'), ATOM);
        assert.equal(head.body, '');
        // A lone entry: the same Content-Length as its GET, and no body.
        const mr = `${UP}/MeterReading/1`;
        const [entryHead, entryGet] = [await curl(mr, { head: true }), await curl(mr)];
        assert.equal(entryHead.status, 200, show(entryHead));
        assert.equal(entryHead.body, '');
        assert.equal(entryHead.headers.get('content-length'), String(Buffer.byteLength(entryGet.body)));
        // HEAD needs credentials like GET.
        const anon = await curl(DEMAND_BLOCKS, { head: true, auth: null });
        assert.equal(anon.status, 401, show(anon));
        assert.equal(anon.body, '');

        for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
            const r = await curl(DEMAND_BLOCKS, { args: ['-X', method, '--data', '<entry/>'] });
            assert.equal(r.status, 405, `${method}: ${show(r)}`);
            assert.equal(r.headers.get('allow'), 'GET, HEAD', method);
            assert.match(r.body, new RegExp(`^${method} is not supported`), method);
        }
    });

    test("HEAD on a feed does not claim Content-Length: 0 (RFC 9110 8.6: it must equal GET's length)", async () => {
        await withLatest(async () => {
            const [head, get] = [await curl(DEMAND_BLOCKS, { head: true }), await curl(DEMAND_BLOCKS)];
            assert.equal(get.status, 200, show(get));
            const length = head.headers.get('content-length');
            // Either no Content-Length (the feed is streamed, its length unknown up front) or the GET body's length.
            if (length !== undefined) assert.equal(length, String(Buffer.byteLength(get.body)), show(head));
        });
    });

    test('Batch/Subscription/1 parses with @cityssm/green-button-parser to the Poller numbers', async () => {
        const { helpers } = await cityssm();
        await withLatest(async (rec) => {
            const r = await curl(BATCH);
            assert.equal(r.status, 200, show(r));
            assert.equal(r.headers.get('content-type'), ATOM);
            const json = await parseWithCityssm(r.body);
            const blocks = helpers.getEntriesByContentType(json, 'IntervalBlock');
            assert.equal(blocks.length, 2, 'one current block per MeterReading');
            const byUom = new Map<number, number[]>();
            for (const b of blocks) {
                const rt = helpers.getReadingTypeEntryFromIntervalBlockEntry(json, b);
                assert.ok(rt, 'the parser follows IntervalBlock → MeterReading → ReadingType');
                const t = rt.content.ReadingType;
                assert.equal(Number(t.powerOfTenMultiplier), 0);
                type Block = { IntervalReading?: { timePeriod?: { start?: number }; value?: number }[] };
                const readings = (b.content.IntervalBlock as Block[]).flatMap((ib) => ib.IntervalReading ?? []);
                assert.equal(readings.length, 1);
                assert.equal(readings[0]?.timePeriod?.start, secondOf(rec));
                byUom.set(
                    Number(t.uom),
                    readings.map((x) => Number(x.value)),
                );
            }
            assert.deepEqual(byUom.get(38), [Math.round(rec.kW * 1000)], 'demand, W');
            assert.deepEqual(byUom.get(72), [Math.round(rec.kWh * 1000)], 'summation delivered, Wh');
            assert.equal(helpers.getEntriesByContentType(json, 'UsagePoint').length, 1);
            assert.equal(helpers.getEntriesByContentType(json, 'LocalTimeParameters').length, 1);
        });
    });

    test('slow-loris: 20 dribbling TLS clients do not delay the Poller or curl, and are dropped after headersTimeoutMs', async (t) => {
        // Start the wave 1.5 s before a slot boundary, so the slot's query goes out while all 20 hang (the server
        // drops none of them before 2 s).
        const lead = 1_500;
        let boundary = Math.ceil(Date.now() / INTERVAL_MS) * INTERVAL_MS;
        if (boundary - Date.now() < lead + 50) boundary += INTERVAL_MS;
        await sleep(boundary - lead - Date.now());

        interface Slow {
            connectedAt: number;
            closedAt?: number;
            sent: number;
            received: string;
            closed: Promise<void>;
        }
        const auth = `Authorization: Basic ${Buffer.from(AUTH).toString('base64')}\r\n`;
        const requestLine = `GET ${DEMAND_BLOCKS} HTTP/1.1\r\n`;
        const headers = `Host: ${LOCAL}\r\n${auth}X-Slow: ${'a'.repeat(64)}`;
        const slowClient = (i: number) =>
            new Promise<Slow>((resolve, reject) => {
                // Even clients dribble the request line from its first byte; odd ones send it with some headers,
                // then dribble a header that never ends.
                const [prefix, drip] = i % 2 === 0 ? ['', requestLine + headers] : [requestLine + auth, headers];
                let closedResolve = () => {};
                const s: Slow = {
                    connectedAt: 0,
                    sent: 0,
                    received: '',
                    closed: new Promise<void>((r) => {
                        closedResolve = r;
                    }),
                };
                let timer: NodeJS.Timeout | undefined;
                const sock = tls.connect({ host: LOCAL, port: mainPort, ca: cert.cert });
                sockets.push(sock);
                sock.on('secureConnect', () => {
                    s.connectedAt = Date.now();
                    if (prefix) sock.write(prefix);
                    const step = () => {
                        if (s.sent < drip.length && !sock.destroyed) sock.write(drip[s.sent++] as string);
                    };
                    step();
                    timer = setInterval(step, 500);
                    resolve(s);
                });
                sock.on('data', (d: Buffer) => {
                    s.received += d.toString('latin1');
                });
                sock.on('error', (err) => {
                    if (!s.connectedAt) reject(err);
                });
                sock.on('close', () => {
                    clearInterval(timer);
                    s.closedAt = Date.now();
                    closedResolve();
                });
            });
        const waveStart = Date.now();
        const slow = await Promise.all(Array.from({ length: SLOW_CLIENTS }, (_, i) => slowClient(i)));
        const allConnected = Math.max(...slow.map((s) => s.connectedAt));
        assert.ok(allConnected < boundary, `the 20 TLS handshakes took ${allConnected - waveStart} ms`);
        const openAt = (at: number) => slow.filter((s) => s.connectedAt <= at && (s.closedAt ?? Infinity) > at).length;

        // (b) Normal requests are served while the slow clients hang, until the boundary slot is recorded.
        const served: { status: number; ms: number; open: number }[] = [];
        const isBoundarySlot = (r: PollerRecord) => r.kind === 'slot' && Date.parse(r.slotStart) === boundary;
        while (!records.some(isBoundarySlot) && Date.now() < boundary + 3_000) {
            const t0 = Date.now();
            const batch = await Promise.all([curl(DEMAND_BLOCKS), curl(BATCH), curl(`${ROOT}/ReadServiceStatus`)]);
            const done = Date.now();
            for (const r of batch) {
                assert.equal(r.status, 200, show(r));
                served.push({ status: r.status, ms: done - t0, open: openAt(done) });
            }
            await sleep(200);
        }
        const slot = records.find(isBoundarySlot) as SlotRecord | undefined;
        assert.ok(slot, 'the slot at the boundary was recorded');
        assert.equal(slot.status, 'ok', slot.reason);
        assert.ok(served.length >= 3);
        assert.ok(
            served.some((x) => x.open === SLOW_CLIENTS),
            'some curl requests were answered while all the slow clients hung',
        );

        // (a) Every slot whose query went out during the wave kept the OpenSEG bound, with all 20 hanging.
        const lastClose = async () => {
            await Promise.all(slow.map((s) => s.closed));
            return Math.max(...slow.map((s) => s.closedAt ?? 0));
        };
        const dropped = await Promise.race([lastClose(), sleep(HEADERS_TIMEOUT_MS + 5_000).then(() => undefined)]);
        const stillOpen = slow.filter((s) => s.closedAt === undefined).length;
        assert.ok(dropped !== undefined, `${stillOpen} slow clients still open ${HEADERS_TIMEOUT_MS + 5_000} ms on`);
        const during = records.filter(
            (r): r is SlotRecord =>
                r.kind === 'slot' &&
                r.requestAt !== null &&
                Date.parse(r.requestAt) >= waveStart &&
                Date.parse(r.requestAt) <= dropped,
        );
        assert.ok(during.length >= 1, 'a slot was polled during the wave');
        const delays = during.map((r) => Date.parse(r.requestAt as string) - Date.parse(r.slotStart));
        for (const [i, r] of during.entries()) {
            const at = Date.parse(r.requestAt as string);
            assert.ok(
                (delays[i] as number) < OPENSEG_LIMIT_MS,
                `slot ${r.slot} queried ${delays[i]} ms after its start`,
            );
            assert.equal(openAt(at), SLOW_CLIENTS, `slow clients open when slot ${r.slot} was queried`);
        }

        // The server dropped each slow client after headersTimeoutMs (checked once a second), not before.
        const lifetimes = slow.map((s) => (s.closedAt as number) - s.connectedAt);
        for (const [i, ms] of lifetimes.entries()) {
            assert.ok(ms >= HEADERS_TIMEOUT_MS - 100, `slow client ${i} closed after only ${ms} ms`);
            assert.ok(ms <= HEADERS_TIMEOUT_MS + 2_500, `slow client ${i} closed after ${ms} ms`);
            // Whatever came back is at most an error status line, never a resource.
            assert.doesNotMatch(slow[i]?.received ?? '', /<feed|<entry|HTTP\/1\.1 200/, `slow client ${i}`);
        }
        const sent = slow.map((s) => s.sent);
        t.diagnostic(
            `slot delays under slow-loris: ${delays.join(', ')} ms (rtt ${during.map((r) => r.rttMs).join(', ')} ms); ` +
                `slow clients dropped after ${Math.min(...lifetimes)}-${Math.max(...lifetimes)} ms ` +
                `(bytes dripped ${Math.min(...sent)}-${Math.max(...sent)}); curl during the wave ` +
                `${Math.min(...served.map((s) => s.ms))}-${Math.max(...served.map((s) => s.ms))} ms; ` +
                `answers to slow clients: ${[...new Set(slow.map((s) => s.received.split('\r\n')[0] || '(none)'))].join(' | ')}`,
        );
        // The server still serves after the wave.
        const r = await curl(DEMAND_BLOCKS);
        assert.equal(r.status, 200, show(r));
    });

    test('a request whose headers time out is answered 408 Request Timeout, not 400 Bad Request', async (t) => {
        const sock = tls.connect({ host: LOCAL, port: mainPort, ca: cert.cert });
        sockets.push(sock);
        let received = '';
        sock.on('data', (d: Buffer) => {
            received += d.toString('latin1');
        });
        sock.on('error', () => {});
        await new Promise<void>((resolve, reject) => {
            sock.once('secureConnect', resolve);
            sock.once('error', reject);
        });
        sock.write(`GET ${DEMAND_BLOCKS} HTTP/1.1\r\nHost: ${LOCAL}\r\n`);
        const t0 = Date.now();
        await new Promise<void>((resolve) => sock.once('close', () => resolve()));
        const ms = Date.now() - t0;
        assert.ok(ms >= HEADERS_TIMEOUT_MS - 100 && ms <= HEADERS_TIMEOUT_MS + 2_500, `closed after ${ms} ms`);
        t.diagnostic(`incomplete headers: closed after ${ms} ms with ${JSON.stringify(received.split('\r\n')[0])}`);
        assert.match(received, /^HTTP\/1\.1 408 /, `the server answered: ${JSON.stringify(received)}`);
    });

    test('an interval outside the history is 404 "data not found"; one inside gives the readings in it', async () => {
        await until(() => okRecords().length >= 2, INTERVAL_MS + 3_000, 'two good polls');
        const outside = await curl(
            `${DEMAND_BLOCKS}?published-min=2001-01-01T00:00:00Z&published-max=2001-01-02T00:00:00Z`,
        );
        assert.equal(outside.status, 404, show(outside));
        assert.equal(outside.headers.get('content-type'), 'text/plain;charset=UTF-8');
        assert.equal(outside.body, 'data not found\n');
        const future = await curl(`${DEMAND_BLOCKS}?updated-min=2999-01-01T00:00:00Z`);
        assert.equal(future.status, 404, show(future));
        assert.equal(future.body, 'data not found\n');
        // An Atom-only client gets the "no data" answer as an empty feed, still 404.
        const atomOnly = await curl(`${DEMAND_BLOCKS}?published-max=2001-01-01T00:00:00Z`, {
            args: ['-H', 'Accept: application/atom+xml'],
        });
        assert.equal(atomOnly.status, 404, show(atomOnly));
        assert.equal(atomOnly.headers.get('content-type'), ATOM);
        assert.equal(count(atomOnly.body, '<entry>'), 0);

        await withLatest(async () => {
            const oks = okRecords();
            const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
            // Everything from the first poll on: one block per poll, the Poller's numbers, oldest first.
            const all = await curl(
                `${DEMAND_BLOCKS}?published-min=${iso(secondOf(oks[0] as OkRecord))}&published-max=2999-01-01T00:00:00Z`,
            );
            assert.equal(all.status, 200, show(all));
            assert.equal(all.headers.get('content-type'), ATOM);
            assert.equal(count(all.body, '<entry>'), oks.length);
            assert.deepEqual(
                intervalReadings(all.body),
                oks.map((r) => [secondOf(r), Math.round(r.kW * 1000)]),
            );
            // Only the second poll: [its second, the next second).
            const second = oks[1] as OkRecord;
            const one = await curl(
                `${SUMMATION_BLOCKS}?published-min=${iso(secondOf(second))}&published-max=${iso(secondOf(second) + 1)}`,
            );
            assert.equal(one.status, 200, show(one));
            assert.deepEqual(intervalReadings(one.body), [[secondOf(second), Math.round(second.kWh * 1000)]]);
            // max-results and start-index page through the window.
            const page = await curl(
                `${DEMAND_BLOCKS}?published-min=${iso(secondOf(oks[0] as OkRecord))}&max-results=1&start-index=2`,
            );
            assert.equal(page.status, 200, show(page));
            assert.deepEqual(intervalReadings(page.body), [[secondOf(second), Math.round(second.kW * 1000)]]);
        });
    });

    test("keep-alive: Node's https agent reuses one TLS connection; the server closes it when idle", async (t) => {
        const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cert.cert });
        try {
            const rs: NodeResponse[] = [];
            for (const target of [DEMAND_BLOCKS, BATCH, `${UP}/MeterReading/1`, `${ROOT}/Nope`]) {
                rs.push(await nodeGet(target, { agent }));
                await sleep(20); // the agent pools the socket once the response has ended
            }
            assert.deepEqual(
                rs.map((r) => r.status),
                [200, 200, 200, 404],
            );
            assert.deepEqual(
                rs.map((r) => r.reusedSocket),
                [false, true, true, true],
            );
            assert.equal(new Set(rs.map((r) => r.localPort)).size, 1);
            assert.equal(rs[0]?.headers['content-type'], ATOM);
            assert.equal(rs[0]?.headers['keep-alive'], `timeout=${Math.floor(KEEP_ALIVE_MS / 1000)}`);
            assert.equal(count(rs[1]?.body ?? '', '<espi:IntervalBlock>'), 2);
        } finally {
            agent.destroy();
        }
        // A raw TLS client that stays idle after its answer: the server closes the connection.
        const sock = tls.connect({ host: LOCAL, port: mainPort, ca: cert.cert });
        sockets.push(sock);
        let received = '';
        sock.on('error', () => {});
        await new Promise<void>((resolve, reject) => {
            sock.once('secureConnect', resolve);
            sock.once('error', reject);
        });
        const auth = Buffer.from(AUTH).toString('base64');
        sock.write(`GET ${ROOT}/ReadServiceStatus HTTP/1.1\r\nHost: ${LOCAL}\r\nAuthorization: Basic ${auth}\r\n\r\n`);
        let answeredAt = 0;
        const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
        sock.on('data', (d: Buffer) => {
            received += d.toString('latin1');
            const m = /\r\nContent-Length: (\d+)\r\n[\s\S]*?\r\n\r\n([\s\S]*)$/.exec(received);
            if (m && Buffer.byteLength(m[2] as string, 'latin1') >= Number(m[1])) answeredAt = Date.now();
        });
        await closed;
        assert.match(received, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(received, /<currentStatus>1<\/currentStatus>/);
        assert.ok(answeredAt > 0, received);
        const idle = Date.now() - answeredAt;
        assert.ok(idle >= KEEP_ALIVE_MS - 200 && idle <= KEEP_ALIVE_MS + 2_500, `closed after ${idle} ms idle`);
        t.diagnostic(`idle keep-alive connection closed by the server after ${idle} ms`);
    });

    test('a client that does not trust the certificate fails the handshake; the server keeps serving', async () => {
        // Node's https with the default CA store (no `ca`): the self-signed certificate is refused.
        await assert.rejects(nodeGet(DEMAND_BLOCKS), (err: NodeJS.ErrnoException) => {
            assert.match(String(err.code), /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/, String(err));
            return true;
        });
        // A raw TLS client as well, and one trusting a different self-signed certificate.
        const stranger = generateSelfSigned({ commonName: 'someone-else.test' });
        for (const ca of [undefined, stranger.cert]) {
            await new Promise<void>((resolve, reject) => {
                const sock = tls.connect({ host: LOCAL, port: mainPort, ...(ca ? { ca } : {}) });
                sockets.push(sock);
                sock.once('secureConnect', () => reject(new Error('the handshake succeeded')));
                sock.once('error', (err: NodeJS.ErrnoException) => {
                    try {
                        assert.match(String(err.code), /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
                        resolve();
                    } catch (e) {
                        reject(e);
                    }
                });
            });
        }
        // curl without --cacert: exit 60 (peer certificate cannot be authenticated), no HTTP status.
        const untrusting = await curl(DEMAND_BLOCKS, { trust: false });
        assert.equal(untrusting.exit, 60, show(untrusting));
        assert.equal(untrusting.status, 0);
        // The server is unharmed.
        const r = await curl(DEMAND_BLOCKS);
        assert.equal(r.status, 200, show(r));
        assert.equal(count(r.body, '<entry>'), 1);
    });

    test('the Poller fed the history from every good slot, and no listener threw', () => {
        assert.deepEqual(listenerErrors, []);
        const oks = okRecords();
        assert.ok(oks.length >= 2);
        const demand = history.byKey('demand');
        assert.ok(demand);
        assert.equal(demand.ring.length, oks.length);
        assert.equal(history.byKey('summation-delivered')?.ring.length, oks.length);
    });
});
