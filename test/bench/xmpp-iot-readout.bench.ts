/**
 * XEP-0323 momentary readouts through a real server: client -> Prosody -> device -> Prosody ->
 * client (IQ get `<req momentary>`, IQ result `<accepted>`, then one `<message><fields done>`).
 *
 * DERlink's side is what the iot-readout and iot-sensor nodes run, without Node-RED around it:
 * a ReadoutClient whose results are turned into the node's output message (fieldJson, payloadOf,
 * qualityOf, newestTimestamp), and a SensorServer in cache mode, reading a SensorStore that a
 * timer feeds every 100 ms as a flow would, with the node's ConcentratorServer beside it and the
 * node's access check ("anyone"). Each side has its own Session with the account defaults the
 * nodes use (XEP-0198 on). The baseline is slixmpp's xep_0323 client against slixmpp's xep_0323
 * device (Debian python3-slixmpp under /usr/bin/python3; test/peers/slixmpp_iot.py, `load`
 * command, `meter` device profile), through the same private Prosody in the same run.
 *
 * Like for like: both devices have node Device01 with the same three momentary numeric fields
 * (Voltage 230.1 V, Current 5.42 A, Power 1.247 kW); both clients ask for all momentary fields
 * without naming them (slixmpp's device answers only the last of several named fields) in G1
 * (urn:xmpp:iot:sensordata, all slixmpp speaks); all four connections use STARTTLS with the test
 * CA and SCRAM. Every readout must bring exactly those three fields with their values and units,
 * or the run fails: failures are never measured. slixmpp does not speak XEP-0198, so DERlink is
 * also measured with it turned off (the account's "stream management" setting); and DERlink with
 * generation auto-detection (what the nodes do by default; G3 against its own device) is compared
 * with its G1.
 *
 * Closed loop, as lib.ts runLoad: 1 and 16 readouts in flight, each worker starting its next
 * readout when one is done, a warm-up that is not recorded, then a timed window. slixmpp's loop
 * runs inside the Python client (the JSON-lines pipe is not timed). Rounds alternate the order of
 * the contenders, which each get fresh connections.
 *
 * Rows per concurrency: readouts/s, p50 and p99 latency; at 16 in flight also the CPU time the
 * client and the device together spend per readout (DERlink: this process, which runs both;
 * slixmpp: both Python processes, from /proc). Prosody's CPU per readout is printed, not tabled.
 * The device's limit on readouts per requester is set to its maximum (1000): DERlink holds a
 * readout's slot until the server acknowledged its last message, so 16 in flight need more than
 * 16 slots. slixmpp's device has no such limit.
 *
 * Knobs (environment): BENCH_WARMUP_MS (1000), BENCH_DURATION_MS (4000), BENCH_ROUNDS (2).
 */
import { readFileSync } from 'node:fs';
import { Session } from '../../src/protocols/xmpp';
import type { ConcentratorNode } from '../../src/protocols/xmpp-iot/codec';
import { ConcentratorServer, METERING_TOPOLOGY } from '../../src/protocols/xmpp-iot/concentrator-server';
import type { Generation } from '../../src/protocols/xmpp-iot/model';
import { ReadoutClient } from '../../src/protocols/xmpp-iot/readout-client';
import { SensorServer } from '../../src/protocols/xmpp-iot/sensor-server';
import { simpleAccess } from '../../src/shared/iot-access';
import { fieldJson, newestTimestamp, payloadOf, qualityOf } from '../../src/shared/iot-msg';
import { SensorStore } from '../../src/shared/iot-sensor-store';
import type { Prosody } from '../support/prosody';
import { type SlixmppPeer, startSlixmpp } from '../support/slixmpp';
import { type BenchRow, comparisonRows, type LoadResult, loadResult, mergeLoads, runLoad } from './lib';
import { runRounds, waitOnline, windowKnobs } from './rounds';

const ACCOUNTS = {
    'ours-client': 'bench-ours-client-pw',
    'ours-device': 'bench-ours-device-pw',
    'slix-client': 'bench-slix-client-pw',
    'slix-device': 'bench-slix-device-pw',
};
const CONCURRENCY = [1, 16] as const;
const NODE_ID = 'Device01';
/** The device's fields, the same as the slixmpp peer's `meter` profile. */
const METER = [
    { name: 'Voltage', value: 230.1, text: '230.1', decimals: 1, unit: 'V' },
    { name: 'Current', value: 5.42, text: '5.42', decimals: 2, unit: 'A' },
    { name: 'Power', value: 1.247, text: '1.247', decimals: 3, unit: 'kW' },
] as const;
/** What the slixmpp client must see in every readout: name -> [value, unit]. */
const SLIX_EXPECT = Object.fromEntries(METER.map((f) => [f.name, [f.text, f.unit]]));
const READOUT_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 20_000;
/** The iot-sensor node's upper bound for "readouts per requester" (see the header). */
const MAX_PER_REQUESTER = 1000;
/** How often the "flow" puts fresh values into the sensor's cache. */
const FEED_MS = 100;

const { warmupMs: WARMUP_MS, durationMs: DURATION_MS, rounds: ROUNDS } = windowKnobs(4000);

/** One measured window: the load, and Prosody's CPU time (µs) in it. */
interface Run {
    load: LoadResult;
    prosodyMicros: number;
}

/** A connected client and device of one implementation. */
interface Pair {
    describe: string;
    run(concurrency: number): Promise<Run>;
    close(): Promise<void>;
}

type Key = 'slixmpp' | 'derlink-g1' | 'derlink-g1-nosm' | 'derlink-auto';

interface Contender {
    key: Key;
    label: string;
    open(prosody: Prosody): Promise<Pair>;
}

// ---- CPU of other processes --------------------------------------------------------------

const CLK_TCK = 100; // USER_HZ: what /proc/<pid>/stat counts in on Linux

/** utime + stime of a process (every thread), in microseconds; NaN when it cannot be read. */
function processCpuMicros(pid: number | undefined): number {
    if (pid === undefined) return Number.NaN;
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // The command name (field 2) is in parentheses and may hold spaces; fields 14 and 15 follow.
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return ((Number(rest[11]) + Number(rest[12])) / CLK_TCK) * 1e6;
    } catch {
        return Number.NaN;
    }
}

// ---- DERlink ---------------------------------------------------------------------------

/** The message iot-readout sends for a readout, checked: exactly the meter's three fields. */
function checkedMessage(result: Awaited<ReturnType<ReadoutClient['read']>>): Record<string, unknown> {
    // As src/nodes/iot-readout.ts builds its output.
    const fields = result.fields.map(fieldJson);
    const msg = {
        topic: result.device,
        payload: payloadOf(fields),
        fields,
        timestamp: newestTimestamp(fields) ?? new Date().toISOString(),
        quality: qualityOf(result.fields),
        xmpp: { device: result.device, generation: result.generation, id: result.id, missing: result.missing },
    };
    const wrong =
        result.errors.length > 0 ||
        fields.length !== METER.length ||
        METER.some((m) => {
            const f = fields.find((x) => x.name === m.name);
            return f?.value !== m.value || f.unit !== m.unit || msg.payload[m.name] !== m.value;
        });
    if (wrong) {
        throw new Error(
            `DERlink readout brought ${JSON.stringify(msg.payload)} (${fields.length} fields, ${result.errors.length} errors), not the meter's three fields`,
        );
    }
    return msg;
}

async function openDerlink(
    prosody: Prosody,
    generation: Generation | 'auto',
    streamManagement: boolean,
): Promise<Pair> {
    const make = (user: keyof typeof ACCOUNTS, resource: string) =>
        new Session({
            jid: `${user}@${prosody.domain}`,
            password: ACCOUNTS[user],
            resource,
            host: prosody.host,
            port: prosody.port,
            tls: 'starttls',
            trust: { ca: prosody.caPem },
            streamManagement,
            iqTimeoutMs: READOUT_TIMEOUT_MS,
            connectTimeoutMs: CONNECT_TIMEOUT_MS,
        });
    const clientSession = make('ours-client', 'client');
    const deviceSession = make('ours-device', 'device');
    const warnings: Error[] = [];
    for (const s of [clientSession, deviceSession]) s.on('warning', (err) => warnings.push(err));

    // The device, as src/nodes/iot-sensor.ts sets it up in cache mode with one node.
    const nodes: ConcentratorNode[] = [
        {
            nodeId: NODE_ID,
            sourceId: METERING_TOPOLOGY.sourceId,
            state: 'None',
            hasChildren: false,
            isReadable: true,
            isControllable: false,
            hasCommands: false,
        },
    ];
    const store = new SensorStore(nodes, 1000);
    const feed = () =>
        store.put(
            undefined,
            Object.fromEntries(METER.map((m) => [m.name, { value: m.value, unit: m.unit, decimals: m.decimals }])),
            {},
        );
    feed();
    const feeder = setInterval(feed, FEED_MS);
    const allowed = simpleAccess(deviceSession, { access: 'anyone' });
    let served = 0;
    const problems: string[] = [];
    const sensor = new SensorServer(deviceSession, {
        device: {
            nodes: () => nodes,
            read: (ctx) => Promise.resolve({ fields: store.read(ctx.node, ctx.request) }),
        },
        authorize: async (from) => allowed(from),
        maxPerRequester: MAX_PER_REQUESTER,
        defaultNodeId: 'Device',
        onActivity: (e) => {
            if (e.kind === 'readout') served++;
            else problems.push(`${e.kind}: ${e.detail}`);
        },
    });
    const concentrator = new ConcentratorServer(deviceSession, {
        tree: { sources: () => [METERING_TOPOLOGY], nodes: () => nodes },
        authorize: (from) => allowed(from),
    });
    const readout = new ReadoutClient(clientSession);

    const close = async () => {
        clearInterval(feeder);
        readout.dispose();
        sensor.dispose();
        concentrator.dispose();
        await Promise.all([clientSession.close(), deviceSession.close()]);
        if (warnings.length > 0) console.error(`  DERlink warnings: ${warnings.map((w) => w.message).join('; ')}`);
        if (problems.length > 0) console.error(`  DERlink device problems: ${problems.slice(0, 5).join('; ')}`);
    };
    try {
        clientSession.start();
        deviceSession.start();
        await Promise.all([
            waitOnline(clientSession, CONNECT_TIMEOUT_MS),
            waitOnline(deviceSession, CONNECT_TIMEOUT_MS),
        ]);
    } catch (err) {
        await close();
        throw err;
    }
    const to = deviceSession.jid as string;
    // As src/nodes/iot-readout.ts asks: momentary, no field or node named.
    const request = { categories: ['momentary' as const], all: false, nodes: [], fields: [] };
    const options = { generation, timeoutMs: READOUT_TIMEOUT_MS };
    let spoken: Generation | undefined;
    const call = async () => {
        const result = await readout.read(to, request, options);
        spoken ??= result.generation;
        checkedMessage(result);
    };
    // One readout before describing: with 'auto' it also asks the device which generation it speaks.
    try {
        await call();
    } catch (err) {
        await close();
        throw err;
    }
    const sm = clientSession.streamManagementEnabled && deviceSession.streamManagementEnabled;
    if (sm !== streamManagement) {
        await close();
        throw new Error(`DERlink: XEP-0198 is ${sm ? 'on' : 'off'}, expected ${streamManagement ? 'on' : 'off'}`);
    }
    return {
        describe: `${clientSession.jid} -> ${to}, ${spoken} (asked ${generation}), starttls, XEP-0198 ${sm ? 'on' : 'off'}`,
        async run(concurrency) {
            let prosodyStart = Number.NaN;
            let prosodyMicros = Number.NaN;
            const servedBefore = served;
            const load = await runLoad(call, {
                concurrency,
                warmupMs: WARMUP_MS,
                durationMs: DURATION_MS,
                onWindow: (edge) => {
                    const now = processCpuMicros(prosody.pid());
                    if (edge === 'start') prosodyStart = now;
                    else prosodyMicros = now - prosodyStart;
                },
            });
            if (problems.length > 0) throw new Error(`DERlink device: ${problems[0]}`);
            // Every readout the client counted was also served by the device (a few more may still be
            // finishing). The device counts a readout once its messages are acknowledged (XEP-0198), a
            // little after the client has them: give the count a moment to catch up.
            for (let t = 0; t < 40 && served - servedBefore < load.completed; t++)
                await new Promise((r) => setTimeout(r, 50));
            if (served - servedBefore < load.completed)
                throw new Error(`DERlink device served ${served - servedBefore} readouts, the client saw more`);
            return { load, prosodyMicros };
        },
        close,
    };
}

// ---- slixmpp ---------------------------------------------------------------------------

interface SlixLoad {
    completed?: number;
    seconds?: number;
    latencies_ms?: number[];
    cpu_seconds?: Record<string, number>;
    secure?: boolean;
    version?: string;
    error?: string;
}

let slixmppVersion = '?';

function pidOf(peer: SlixmppPeer): number | undefined {
    const pid = peer.lines.find((l) => l.event === 'online')?.pid;
    return typeof pid === 'number' ? pid : undefined;
}

async function openSlixmpp(prosody: Prosody): Promise<Pair> {
    // startSlixmpp passes a fixed argument list; the peer also takes its profile from the environment.
    const previous = process.env.SLIXMPP_IOT_PROFILE;
    let device: SlixmppPeer;
    process.env.SLIXMPP_IOT_PROFILE = 'meter';
    try {
        device = await startSlixmpp(prosody, 'device', 'slix-device');
    } finally {
        if (previous === undefined) delete process.env.SLIXMPP_IOT_PROFILE;
        else process.env.SLIXMPP_IOT_PROFILE = previous;
    }
    let client: SlixmppPeer;
    try {
        client = await startSlixmpp(prosody, 'client', 'slix-client');
    } catch (err) {
        await device.stop();
        throw err;
    }
    const close = async () => {
        await Promise.all([client.stop(), device.stop()]);
    };
    const devicePid = pidOf(device);
    const load = async (concurrency: number, warmupMs: number, durationMs: number): Promise<SlixLoad> => {
        const prosodyPid = prosody.pid();
        const answer = (await client.command(
            {
                cmd: 'load',
                to: device.jid,
                concurrency,
                warmup: warmupMs / 1000,
                seconds: durationMs / 1000,
                expect: SLIX_EXPECT,
                readout_timeout: READOUT_TIMEOUT_MS / 1000,
                cpu_pids: {
                    ...(devicePid !== undefined ? { device: devicePid } : {}),
                    ...(prosodyPid !== undefined ? { prosody: prosodyPid } : {}),
                },
            },
            warmupMs + durationMs + 40_000,
        )) as SlixLoad;
        if (answer.error) throw new Error(`slixmpp load failed: ${answer.error}\n${client.stderr().slice(-2000)}`);
        if (answer.version) slixmppVersion = answer.version;
        return answer;
    };
    let first: SlixLoad;
    try {
        // A short check run: the pair works, every readout brings the fields, and the stream is encrypted.
        first = await load(1, 0, 200);
        if (!first.secure) throw new Error('slixmpp ended up on a clear-text stream; the comparison would not be fair');
        if (!first.completed) throw new Error('slixmpp completed no readout in its check run');
    } catch (err) {
        await close();
        throw err;
    }
    return {
        describe: `${client.jid} -> ${device.jid}, slixmpp ${first.version ?? '?'} G1, starttls, XEP-0198 off, pids ${pidOf(client)}, ${devicePid}`,
        async run(concurrency) {
            const answer = await load(concurrency, WARMUP_MS, DURATION_MS);
            const cpu = answer.cpu_seconds ?? {};
            return {
                load: loadResult(
                    answer.completed ?? 0,
                    answer.seconds ?? Number.NaN,
                    answer.latencies_ms ?? [],
                    ((cpu.client ?? Number.NaN) + (cpu.device ?? Number.NaN)) * 1e6,
                ),
                prosodyMicros: (cpu.prosody ?? Number.NaN) * 1e6,
            };
        },
        close,
    };
}

// ---- the benchmark ---------------------------------------------------------------------

const CONTENDERS: readonly Contender[] = [
    { key: 'slixmpp', label: 'slixmpp', open: (p) => openSlixmpp(p) },
    { key: 'derlink-g1', label: 'DERlink G1', open: (p) => openDerlink(p, 'G1', true) },
    { key: 'derlink-g1-nosm', label: 'DERlink G1 without XEP-0198', open: (p) => openDerlink(p, 'G1', false) },
    { key: 'derlink-auto', label: 'DERlink auto', open: (p) => openDerlink(p, 'auto', true) },
];

function fmt(r: Run): string {
    const l = r.load;
    return `${Math.round(l.perSecond)} readouts/s, p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, ${Math.round(l.cpuMicrosPerRequest)} µs client+device CPU/readout, Prosody ${Math.round(r.prosodyMicros / l.completed)} µs/readout (${l.completed} in ${l.seconds.toFixed(2)} s)`;
}

export default async function xmppIotReadout(): Promise<BenchRow[]> {
    const runs = await runRounds({
        accounts: ACCOUNTS,
        contenders: CONTENDERS,
        concurrency: CONCURRENCY,
        rounds: ROUNDS,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
        measure: async (pair, concurrency) => {
            const result = await pair.run(concurrency);
            if (result.load.completed === 0)
                throw new Error(`${pair.describe}: no readout completed at ${concurrency} in flight`);
            return result;
        },
        show: fmt,
    });

    const SLIX = `slixmpp ${slixmppVersion}`;
    const rows: BenchRow[] = [];
    const result = (key: Key, concurrency: number): LoadResult =>
        mergeLoads((runs.get(`${key} ${concurrency}`) ?? []).map((r) => r.load));
    const summary: string[] = [];
    for (const concurrency of CONCURRENCY) {
        const inFlight = `${concurrency} in flight`;
        const slix = result('slixmpp', concurrency);
        const g1 = result('derlink-g1', concurrency);
        const noSm = result('derlink-g1-nosm', concurrency);
        const auto = result('derlink-auto', concurrency);
        const compare = (
            name: string,
            subject: LoadResult,
            baselineName: string,
            baseline: LoadResult,
            target?: string,
        ) => {
            rows.push(
                ...comparisonRows(name, subject, baselineName, baseline, {
                    rate: 'readouts/s',
                    rateUnit: 'readouts/s',
                    cpu: 'client + device CPU per readout',
                    concurrency,
                    target,
                }),
            );
        };
        compare(`xmpp-iot-readout DERlink G1, ${inFlight}`, g1, `${SLIX}, ${inFlight}`, slix, `>= 3x ${SLIX}`);
        compare(`xmpp-iot-readout DERlink G1 without XEP-0198, ${inFlight}`, noSm, `${SLIX}, ${inFlight}`, slix);
        compare(`xmpp-iot-readout DERlink auto (G3), ${inFlight}`, auto, `DERlink G1, ${inFlight}`, g1);
        const x = (a: LoadResult, b: LoadResult) => (a.perSecond / b.perSecond).toFixed(2);
        summary.push(
            `${inFlight}: DERlink G1 ${x(g1, slix)}x, without XEP-0198 ${x(noSm, slix)}x, auto (G3) ${x(auto, slix)}x`,
        );
    }
    console.error(`  Readouts/s against ${SLIX} (target: DERlink G1 >= 3x): ${summary.join('; ')}`);
    return rows;
}
