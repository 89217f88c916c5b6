/**
 * IQ round trips through a real server: A -> Prosody -> B -> Prosody -> A, where A asks
 * `<echo xmlns='urn:derlink:bench'>text</echo>` and B answers with the same text.
 *
 * Measured for DERlink's Session and, as the baseline, for the stock xmpp.js client doing the
 * same echo through the same private Prosody: both on clear-text TCP with SCRAM-SHA-1 and
 * XEP-0198, same payload, same concurrency (1 and 64 requests in flight), same warm-up and
 * duration. Rounds alternate the order of the clients so neither always runs on a warmer
 * process. DERlink over STARTTLS (with the account's own CA) is measured too, against DERlink
 * on clear text.
 *
 * Rows per concurrency: requests/s, p50 and p99 latency; at 64 in flight also the CPU time this
 * process (both clients of the pair) spends per round trip, which other work on a shared machine
 * disturbs far less than the rates and latencies.
 *
 * Neither library nor the test Prosody turns Nagle's algorithm off (TCP_NODELAY), so with one
 * request in flight the latency is mostly TCP's delayed-ACK wait (~40 ms on Linux) whenever a
 * client writes a small element (an XEP-0198 <a/> or <r/>) just before a stanza; that is part of
 * what is measured, not noise.
 *
 * Knobs (environment): BENCH_WARMUP_MS (1000), BENCH_DURATION_MS (3000), BENCH_ROUNDS (2).
 */
import { readFileSync } from 'node:fs';
import { el } from '../../src/protocols/xml';
import { Session } from '../../src/protocols/xmpp';
import type { Prosody } from '../support/prosody';
import { type BenchRow, comparisonRows, type LoadResult, mergeLoads, runLoad, within } from './lib';
import { runRounds, waitOnline, windowKnobs } from './rounds';

const NS_BENCH = 'urn:derlink:bench';
const NS_STREAMS = 'http://etherx.jabber.org/streams';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

/** 64 characters of plain text, the same for every client. */
const TEXT = 'DERlink IQ echo benchmark payload: 0123456789 abcdefghijklmnopqr';
const ACCOUNTS = { requester: 'bench-requester-pw', echo: 'bench-echo-pw' };
const CONCURRENCY = [1, 64] as const;
const REQUEST_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 20_000;

const { warmupMs: WARMUP_MS, durationMs: DURATION_MS, rounds: ROUNDS } = windowKnobs(3000);

/** Two connected clients of one library: `call` makes one echo round trip, `close` ends both. */
interface Pair {
    describe: string;
    call(): Promise<void>;
    close(): Promise<void>;
}

interface Contender {
    key: 'derlink-tcp' | 'derlink-starttls' | 'xmppjs-tcp';
    label: string;
    open(prosody: Prosody): Promise<Pair>;
}

// ---- DERlink ---------------------------------------------------------------------------

async function openDerlink(prosody: Prosody, tls: 'none' | 'starttls'): Promise<Pair> {
    const make = (user: keyof typeof ACCOUNTS) =>
        new Session({
            jid: `${user}@${prosody.domain}`,
            password: ACCOUNTS[user],
            resource: `derlink-${tls}`,
            host: prosody.host,
            port: prosody.port,
            tls,
            trust: { ca: prosody.caPem },
            iqTimeoutMs: REQUEST_TIMEOUT_MS,
            connectTimeoutMs: CONNECT_TIMEOUT_MS,
        });
    const a = make('requester');
    const b = make('echo');
    const warnings: Error[] = [];
    for (const s of [a, b]) s.on('warning', (err) => warnings.push(err));
    const close = async () => {
        await Promise.all([a.close(), b.close()]);
        if (warnings.length > 0) console.error(`  DERlink warnings: ${warnings.map((w) => w.message).join('; ')}`);
    };
    try {
        b.handleIq('get', NS_BENCH, 'echo', (req) => el('echo', { xmlns: NS_BENCH }, req.payload.text()));
        a.start();
        b.start();
        await Promise.all([waitOnline(a, CONNECT_TIMEOUT_MS), waitOnline(b, CONNECT_TIMEOUT_MS)]);
    } catch (err) {
        await close();
        throw err;
    }
    const to = b.jid as string;
    return {
        describe: `${a.jid} -> ${to}, tls ${tls}, XEP-0198 ${a.streamManagementEnabled && b.streamManagementEnabled ? 'on' : 'off'}`,
        async call() {
            const answer = await a.request(to, 'get', el('echo', { xmlns: NS_BENCH }, TEXT), {
                timeoutMs: REQUEST_TIMEOUT_MS,
            });
            if (answer?.text() !== TEXT) throw new Error(`DERlink echo came back wrong: ${answer?.toString()}`);
        },
        close,
    };
}

// ---- stock xmpp.js ---------------------------------------------------------------------

function xmppjsVersion(): string {
    try {
        return (JSON.parse(readFileSync(require.resolve('@xmpp/client/package.json'), 'utf8')) as { version: string })
            .version;
    } catch {
        return '?';
    }
}

async function openXmppjs(prosody: Prosody): Promise<Pair> {
    const { client, xml } = await import('@xmpp/client');
    type XmppClient = ReturnType<typeof client>;
    type XmppElement = ReturnType<typeof xml>;
    const clients: XmppClient[] = [];
    const errors: Error[] = [];

    const stopAll = async () => {
        await Promise.all(
            clients.map(async (x) => {
                x.reconnect.stop();
                if (x.status !== 'offline') await within(x.stop(), 5000, 'xmpp.js stop').catch(() => {});
            }),
        );
        if (errors.length > 0) console.error(`  xmpp.js errors: ${errors.map((e) => e.message).join('; ')}`);
    };

    const connect = async (user: keyof typeof ACCOUNTS): Promise<{ x: XmppClient; jid: string }> => {
        const x = client({
            service: `xmpp://${prosody.host}:${prosody.port}`,
            domain: prosody.domain,
            username: user,
            password: ACCOUNTS[user],
            resource: 'xmppjs',
        });
        clients.push(x);
        x.on('error', (err: Error) => errors.push(err));
        // The stock client upgrades with STARTTLS whenever the server offers it, and it cannot be
        // given a private CA without touching process-wide TLS settings. To compare like with like
        // (clear-text TCP on both sides), hide the offer from it while it negotiates; removed once online.
        const hideStarttls = (e: XmppElement) => {
            if (e.is('features', NS_STREAMS)) e.remove('starttls', NS_TLS);
        };
        let mechanism: string | undefined;
        const seeAuth = (e: XmppElement) => {
            if (e.is('auth', NS_SASL)) mechanism = e.attrs.mechanism;
        };
        x.prependListener('element', hideStarttls);
        x.on('send', seeAuth);
        let jid: string;
        try {
            jid = (await within(x.start(), CONNECT_TIMEOUT_MS, `xmpp.js login of ${user}`)).toString();
        } finally {
            x.off('element', hideStarttls);
            x.off('send', seeAuth);
        }
        // xmpp.js asks for XEP-0198 after it reports online; wait for the answer so both clients run with it.
        for (let waited = 0; !x.streamManagement.enabled && waited < 5000; waited += 10) {
            await new Promise((r) => setTimeout(r, 10));
        }
        if (x.isSecure()) throw new Error('xmpp.js ended up on an encrypted stream; the comparison would not be fair');
        if (mechanism !== 'SCRAM-SHA-1')
            throw new Error(`xmpp.js logged in with ${mechanism ?? 'no SASL'}, not SCRAM-SHA-1`);
        return { x, jid };
    };

    try {
        const b = await connect('echo');
        b.x.iqCallee.get(NS_BENCH, 'echo', (ctx) => xml('echo', { xmlns: NS_BENCH }, ctx.element.text()));
        const a = await connect('requester');
        return {
            describe: `${a.jid} -> ${b.jid}, clear text, SCRAM-SHA-1, XEP-0198 ${a.x.streamManagement.enabled && b.x.streamManagement.enabled ? 'on' : 'off'}`,
            async call() {
                const answer = await a.x.iqCaller.get(
                    xml('echo', { xmlns: NS_BENCH }, TEXT),
                    b.jid,
                    REQUEST_TIMEOUT_MS,
                );
                if (answer?.text() !== TEXT) throw new Error(`xmpp.js echo came back wrong: ${answer?.toString()}`);
            },
            close: stopAll,
        };
    } catch (err) {
        await stopAll();
        throw err;
    }
}

// ---- the benchmark ---------------------------------------------------------------------

const XMPPJS = `xmpp.js ${xmppjsVersion()}`;

const CONTENDERS: readonly Contender[] = [
    { key: 'xmppjs-tcp', label: `${XMPPJS} tcp`, open: (p) => openXmppjs(p) },
    { key: 'derlink-tcp', label: 'DERlink tcp', open: (p) => openDerlink(p, 'none') },
    { key: 'derlink-starttls', label: 'DERlink starttls', open: (p) => openDerlink(p, 'starttls') },
];

function fmt(r: LoadResult): string {
    return `${Math.round(r.perSecond)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${Math.round(r.cpuMicrosPerRequest)} µs CPU/req (${r.completed} in ${r.seconds.toFixed(2)} s)`;
}

export default async function xmppIqEcho(): Promise<BenchRow[]> {
    const runs = await runRounds({
        accounts: ACCOUNTS,
        contenders: CONTENDERS,
        concurrency: CONCURRENCY,
        rounds: ROUNDS,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
        measure: (pair, concurrency) =>
            runLoad(() => pair.call(), { concurrency, warmupMs: WARMUP_MS, durationMs: DURATION_MS }),
        show: fmt,
    });

    const rows: BenchRow[] = [];
    const result = (key: Contender['key'], concurrency: number): LoadResult =>
        mergeLoads(runs.get(`${key} ${concurrency}`) ?? []);
    for (const concurrency of CONCURRENCY) {
        const inFlight = `${concurrency} in flight`;
        const stock = result('xmppjs-tcp', concurrency);
        const clear = result('derlink-tcp', concurrency);
        const tls = result('derlink-starttls', concurrency);
        const compare = (
            name: string,
            subject: LoadResult,
            baselineName: string,
            baseline: LoadResult,
            target?: string,
        ) => {
            rows.push(
                ...comparisonRows(name, subject, baselineName, baseline, {
                    rate: 'requests/s',
                    rateUnit: 'req/s',
                    cpu: 'client CPU per request',
                    concurrency,
                    target,
                }),
            );
        };
        compare(
            `xmpp-iq-echo DERlink tcp, ${inFlight}`,
            clear,
            `${XMPPJS} tcp, ${inFlight}`,
            stock,
            `>= 0.9 of stock ${XMPPJS}`,
        );
        compare(`xmpp-iq-echo DERlink starttls, ${inFlight}`, tls, `DERlink tcp, ${inFlight}`, clear);
    }
    return rows;
}
