/**
 * IEC 61850-8-2 GetDataValues round trips through a real server: client -> Prosody -> IED ->
 * Prosody -> client, an MMS Read of one FCD (`HP1LD/MMXN1.Watt[MX]`, an MV: mag, q, t) carried
 * in an IQ, answered by the server engine (Iec61850Server) from the shipped heat-pump model and
 * decoded by the client engine (Iec61850Client) into a ReadValue.
 *
 * The baseline is the cheapest exchange the same stack can make: a plain IQ get
 * (`<echo xmlns='urn:derlink:bench'>` with 64 characters of text, as xmpp-iq-echo) answered by a
 * handler on the IED's session, through the same Prosody in the same run, with the same kind of
 * sessions (DERlink Session, clear-text TCP, SCRAM-SHA-1, XEP-0198, the IED's session bound to
 * the 8-2 resource `IEC`). So the ratio is what the 8-2 layer (MMS encode and decode in XER,
 * association bookkeeping, access checks, the model lookup, the bigger stanzas) costs on top of
 * a bare IQ. Target (issue): at least 0.6 of the IQ echo's round trips per second.
 *
 * The 8-2 contender runs twice: with the engines' defaults (each side offers 10 outstanding
 * requests, so at 64 in flight the client queues the rest itself), and with 64 outstanding
 * negotiated on both sides, which is what the echo gets (nothing limits an IQ).
 *
 * Every answer is checked: the echo must bring the text back, every GetDataValues must bring
 * the value the IED holds (set with `update` before the run: mag.f 1234.5, quality good) with a
 * timestamp, or the run fails; failures are never measured.
 *
 * A third contender tells the stanzas' cost from the engines': an IQ echo whose request and
 * answer are the GetDataValues' own stanzas (the Read request and response in XER, built once),
 * answered by a handler, with no engine on either side. At 64 in flight the rows also give the
 * CPU time Prosody spends per request (from /proc): the 8-2 stanzas are bigger (XER nests a
 * dozen elements per PDU) and Prosody parses every element.
 *
 * Closed loop, as lib.ts runLoad: 1 and 64 requests in flight; rounds alternate the order of the
 * contenders, which each get fresh sessions (and a fresh association).
 *
 * Knobs (environment): BENCH_WARMUP_MS (1000), BENCH_DURATION_MS (3000), BENCH_ROUNDS (2).
 */
import { readFileSync } from 'node:fs';
import { Iec61850Client } from '../../src/protocols/iec61850/client';
import { NS_SCSM_8_2 } from '../../src/protocols/iec61850/mms/constants';
import type { Data } from '../../src/protocols/iec61850/mms/data';
import { encodePayload } from '../../src/protocols/iec61850/mms/envelope';
import { importScl } from '../../src/protocols/iec61850/scl';
import { Iec61850Server } from '../../src/protocols/iec61850/server';
import { el } from '../../src/protocols/xml';
import { Session } from '../../src/protocols/xmpp';
import type { Prosody } from '../support/prosody';
import { checkWatt, IEC_RESOURCE, MODEL_TEXT, NS_BENCH, WATT_REF, waitAssociated } from './iec61850-support';
import { type BenchRow, comparisonRows, type LoadResult, mergeLoads, row, runLoad } from './lib';
import { runRounds, waitOnline, windowKnobs } from './rounds';

const TEXT = 'DERlink IQ echo benchmark payload: 0123456789 abcdefghijklmnopqr';
const ACCOUNTS = { requester: 'bench-requester-pw', hp1: 'bench-hp1-pw' };
const CONCURRENCY = [1, 64] as const;
const REQUEST_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 20_000;
const REFERENCE = 'HP1LD/MMXN1.Watt[MX]';
const WATT = 1234.5;

const { warmupMs: WARMUP_MS, durationMs: DURATION_MS, rounds: ROUNDS } = windowKnobs(3000);

type Key = 'iq-echo' | 'xer-echo' | 'gdv-default' | 'gdv-64';

interface Pair {
    describe: string;
    call(): Promise<void>;
    close(): Promise<void>;
    /** Prosody's process, whose CPU time is sampled at the edges of each window. */
    prosodyPid: number | undefined;
}

/** One measured window: the load, and Prosody's CPU time (µs) in it. */
interface Run {
    load: LoadResult;
    prosodyMicros: number;
}

const CLK_TCK = 100; // USER_HZ: what /proc/<pid>/stat counts in on Linux

/** utime + stime of a process, in microseconds; NaN when it cannot be read. */
function processCpuMicros(pid: number | undefined): number {
    if (pid === undefined) return Number.NaN;
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return ((Number(rest[11]) + Number(rest[12])) / CLK_TCK) * 1e6;
    } catch {
        return Number.NaN;
    }
}

interface Contender {
    key: Key;
    label: string;
    open(prosody: Prosody): Promise<Pair>;
}

/** The requester's and the IED's sessions, online; `close` ends both and prints their warnings. */
async function openSessions(prosody: Prosody): Promise<{ a: Session; b: Session; close(): Promise<void> }> {
    const make = (user: keyof typeof ACCOUNTS, resource: string) =>
        new Session({
            jid: `${user}@${prosody.domain}`,
            password: ACCOUNTS[user],
            resource,
            host: prosody.host,
            port: prosody.port,
            tls: 'none',
            iqTimeoutMs: REQUEST_TIMEOUT_MS,
            connectTimeoutMs: CONNECT_TIMEOUT_MS,
        });
    const a = make('requester', 'client');
    const b = make('hp1', IEC_RESOURCE);
    const warnings: Error[] = [];
    for (const s of [a, b]) s.on('warning', (err) => warnings.push(err));
    const close = async () => {
        await Promise.all([a.close(), b.close()]);
        if (warnings.length > 0) console.error(`  DERlink warnings: ${warnings.map((w) => w.message).join('; ')}`);
    };
    try {
        a.start();
        b.start();
        await Promise.all([waitOnline(a, CONNECT_TIMEOUT_MS), waitOnline(b, CONNECT_TIMEOUT_MS)]);
    } catch (err) {
        await close();
        throw err;
    }
    return { a, b, close };
}

// ---- baseline: a plain IQ answered by a handler ------------------------------------------

async function openEcho(prosody: Prosody): Promise<Pair> {
    const { a, b, close } = await openSessions(prosody);
    b.handleIq('get', NS_BENCH, 'echo', (req) => el('echo', { xmlns: NS_BENCH }, req.payload.text()));
    const to = b.jid as string;
    return {
        describe: `${a.jid} -> ${to}, IQ echo, tcp, XEP-0198 ${a.streamManagementEnabled && b.streamManagementEnabled ? 'on' : 'off'}`,
        prosodyPid: prosody.pid(),
        async call() {
            const answer = await a.request(to, 'get', el('echo', { xmlns: NS_BENCH }, TEXT), {
                timeoutMs: REQUEST_TIMEOUT_MS,
            });
            if (answer?.text() !== TEXT) throw new Error(`IQ echo came back wrong: ${answer?.toString()}`);
        },
        close,
    };
}

// ---- the same stanzas without the engines ----------------------------------------------

/** The Read request GetDataValues sends for REFERENCE, and the server's answer (MV: mag{f}, q, t), as XER. */
function cannedXer(): { request: ReturnType<typeof encodePayload>; response: ReturnType<typeof encodePayload> } {
    const mv: Data = {
        kind: 'structure',
        components: [
            { kind: 'structure', components: [{ kind: 'floating-point', format: 'single', value: Math.fround(WATT) }] },
            { kind: 'bit-string', bits: '0000000000000' },
            {
                kind: 'utc-time',
                seconds: 0x66322ec0,
                fraction: 0x800000,
                quality: { leapSecondsKnown: false, clockFailure: false, clockNotSynchronized: false, accuracy: 10 },
            },
        ],
    };
    const request = encodePayload({
        assoId: '1:1',
        pdu: {
            pdu: 'confirmed-RequestPDU',
            invokeID: 42,
            request: {
                service: 'read',
                variableAccessSpecification: {
                    listOfVariable: [
                        { name: { scope: 'domain-specific', domainId: 'HP1LD', itemId: 'MMXN1$MX$Watt' } },
                    ],
                },
            },
        },
    });
    const response = encodePayload({
        assoId: '1:1',
        pdu: {
            pdu: 'confirmed-ResponsePDU',
            invokeID: 42,
            response: { service: 'read', listOfAccessResult: [{ success: mv }] },
        },
    });
    return { request, response };
}

/**
 * An IQ echo whose request and answer are a GetDataValues' own stanzas (the Read request and
 * response in XER, built once), answered by a handler: what the bigger 8-2 stanzas cost the
 * XMPP layers and Prosody, without the engines' work.
 */
async function openXerEcho(prosody: Prosody): Promise<Pair> {
    const { a, b, close } = await openSessions(prosody);
    const { request, response } = cannedXer();
    // The answer comes back parsed (attribute order may differ): check its size and the value it carries.
    const expected = response.toString();
    const value = /<floating-point>[0-9A-F]+<\/floating-point>/.exec(expected)?.[0] as string;
    b.handleIq('get', NS_SCSM_8_2, request.local, () => response.clone());
    const to = b.jid as string;
    return {
        describe: `${a.jid} -> ${to}, IQ echo of 8-2 Read stanzas (${Buffer.byteLength(request.toString())} + ${Buffer.byteLength(expected)} octets of payload), no engine, tcp`,
        prosodyPid: prosody.pid(),
        async call() {
            const answer = await a.request(to, 'get', request.clone(), { timeoutMs: REQUEST_TIMEOUT_MS });
            const got = answer?.toString() ?? '';
            if (answer?.local !== 'ApplData' || got.length !== expected.length || !got.includes(value))
                throw new Error(`XER echo came back wrong: ${got}`);
        },
        close,
    };
}

// ---- 8-2 GetDataValues -------------------------------------------------------------------

async function openGdv(prosody: Prosody, outstanding: number | undefined): Promise<Pair> {
    const { a, b, close: closeSessions } = await openSessions(prosody);
    const limits = outstanding === undefined ? {} : { maxServOutstanding: outstanding };
    const server = new Iec61850Server(b, {
        model: importScl(MODEL_TEXT),
        access: { associate: ['*'], read: ['*'] },
        ...limits,
    });
    const warnings: Error[] = [];
    server.on('warning', (err) => warnings.push(err));
    const client = new Iec61850Client(a, { server: b.jid as string, timeoutMs: REQUEST_TIMEOUT_MS, ...limits });
    client.on('warning', (err) => warnings.push(err));
    let negotiated: { maxPduSize?: number; maxServOutstanding?: number } = {};
    client.on('state', (state, info) => {
        if (state === 'associated') negotiated = info;
    });
    const close = async () => {
        await client.close();
        server.close();
        await closeSessions();
        if (warnings.length > 0) console.error(`  8-2 warnings: ${warnings.map((w) => w.message).join('; ')}`);
    };
    try {
        const set = server.update(WATT_REF, WATT);
        if (set?.error) throw new Error(`update of mag.f refused: ${set.error}`);
        const associated = waitAssociated(client, CONNECT_TIMEOUT_MS, '8-2 client');
        client.start();
        await associated;
        checkWatt(await client.getDataValues(REFERENCE), REFERENCE, WATT);
    } catch (err) {
        await close();
        throw err;
    }
    return {
        describe: `${a.jid} -> ${b.jid}, GetDataValues ${REFERENCE}, tcp, XEP-0198 ${a.streamManagementEnabled && b.streamManagementEnabled ? 'on' : 'off'}, maxServOutstanding ${negotiated.maxServOutstanding ?? '?'}, maxPduSize ${negotiated.maxPduSize ?? '?'}`,
        prosodyPid: prosody.pid(),
        async call() {
            checkWatt(await client.getDataValues(REFERENCE), REFERENCE, WATT);
        },
        close,
    };
}

// ---- the benchmark ---------------------------------------------------------------------

const CONTENDERS: readonly Contender[] = [
    { key: 'iq-echo', label: 'IQ echo', open: (p) => openEcho(p) },
    { key: 'xer-echo', label: 'IQ echo of 8-2 stanzas', open: (p) => openXerEcho(p) },
    { key: 'gdv-default', label: 'GetDataValues (defaults)', open: (p) => openGdv(p, undefined) },
    { key: 'gdv-64', label: 'GetDataValues (64 outstanding)', open: (p) => openGdv(p, 64) },
];

function fmt({ load: r, prosodyMicros }: Run): string {
    return `${Math.round(r.perSecond)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${Math.round(r.cpuMicrosPerRequest)} µs CPU/req here, ${Math.round(prosodyMicros / r.completed)} µs in Prosody (${r.completed} in ${r.seconds.toFixed(2)} s)`;
}

export default async function iec61850GetDataValues(): Promise<BenchRow[]> {
    const runs = await runRounds({
        accounts: ACCOUNTS,
        contenders: CONTENDERS,
        concurrency: CONCURRENCY,
        rounds: ROUNDS,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
        measure: async (pair, concurrency): Promise<Run> => {
            let prosodyStart = Number.NaN;
            let prosodyMicros = Number.NaN;
            const load = await runLoad(() => pair.call(), {
                concurrency,
                warmupMs: WARMUP_MS,
                durationMs: DURATION_MS,
                onWindow: (edge) => {
                    const now = processCpuMicros(pair.prosodyPid);
                    if (edge === 'start') prosodyStart = now;
                    else prosodyMicros = now - prosodyStart;
                },
            });
            if (load.completed === 0)
                throw new Error(`${pair.describe}: nothing completed at ${concurrency} in flight`);
            return { load, prosodyMicros };
        },
        show: fmt,
    });

    const rows: BenchRow[] = [];
    const result = (key: Key, concurrency: number): LoadResult =>
        mergeLoads((runs.get(`${key} ${concurrency}`) ?? []).map((r) => r.load));
    /** Prosody's CPU per request over every round (µs). */
    const prosodyPer = (key: Key, concurrency: number): number => {
        const rs = runs.get(`${key} ${concurrency}`) ?? [];
        return rs.reduce((t, r) => t + r.prosodyMicros, 0) / rs.reduce((n, r) => n + r.load.completed, 0);
    };
    const summary: string[] = [];
    for (const concurrency of CONCURRENCY) {
        const inFlight = `${concurrency} in flight`;
        const echo = result('iq-echo', concurrency);
        const compare = (name: string, subject: LoadResult, target?: string) => {
            rows.push(
                ...comparisonRows(name, subject, `IQ echo, ${inFlight}`, echo, {
                    rate: 'requests/s',
                    rateUnit: 'req/s',
                    cpu: 'client + server CPU per request',
                    concurrency,
                    target,
                }),
            );
        };
        const dflt = result('gdv-default', concurrency);
        const wide = result('gdv-64', concurrency);
        compare(`iec61850-getdatavalues defaults, ${inFlight}`, dflt, '>= 0.6 of the IQ echo');
        compare(`iec61850-getdatavalues 64 outstanding, ${inFlight}`, wide);
        compare(
            `iec61850-getdatavalues IQ echo of the 8-2 stanzas (no engine), ${inFlight}`,
            result('xer-echo', concurrency),
        );
        // The engines alone: GetDataValues against an IQ echo of the very same stanzas.
        for (const [name, key] of [
            ['defaults', 'gdv-default'],
            ['64 outstanding', 'gdv-64'],
        ] as const) {
            rows.push(
                row({
                    name: `iec61850-getdatavalues ${name}, ${inFlight}`,
                    metric: 'requests/s against the same stanzas without engines',
                    value: result(key, concurrency).perSecond,
                    unit: 'req/s',
                    baseline: {
                        name: `IQ echo of the 8-2 stanzas, ${inFlight}`,
                        value: result('xer-echo', concurrency).perSecond,
                    },
                }),
            );
        }
        if (concurrency > 1) {
            for (const [name, key] of [
                ['defaults', 'gdv-default'],
                ['64 outstanding', 'gdv-64'],
                ['IQ echo of the 8-2 stanzas (no engine)', 'xer-echo'],
            ] as const) {
                rows.push(
                    row({
                        name: `iec61850-getdatavalues ${name}, ${inFlight}`,
                        metric: 'Prosody CPU per request',
                        value: prosodyPer(key, concurrency),
                        unit: 'µs',
                        baseline: { name: `IQ echo, ${inFlight}`, value: prosodyPer('iq-echo', concurrency) },
                    }),
                );
            }
        }
        const x = (r: LoadResult) => (r.perSecond / echo.perSecond).toFixed(2);
        summary.push(
            `${inFlight}: defaults ${x(dflt)}, 64 outstanding ${x(wide)}, the same stanzas without engines ${x(result('xer-echo', concurrency))}`,
        );
    }
    console.error(`  GetDataValues/s against the IQ echo (target >= 0.6): ${summary.join('; ')}`);
    return rows;
}
