/**
 * The LwM2M server (Lwm2mServer) under a fleet of simulated clients: N of them (1,000 and
 * 10,000) register, the server observes /3316/0/5700 on each, and they notify at a fixed total
 * rate. The clients are a lean load generator in a process of its own (lwm2m-load.ts: one UDP
 * socket per client on 127.0.0.x, raw CoAP, no device engine), so that this process, which
 * hosts the server, measures its own CPU and memory.
 *
 * Per N:
 *  - registrations/s: all N register (CON POST /rd, link payload) as fast as the generator can,
 *    `DERLINK_LWM2M_REG_INFLIGHT` (64) at once; registerRatePerAddress is 0 (off) here;
 *  - observations/s: `server.observe(ep, '/3316/0/5700')` on every client,
 *    `DERLINK_LWM2M_OBS_INFLIGHT` (64) at once; every result must be ok;
 *  - memory per registration: heap used (after a full GC) with N registrations and their
 *    observations, minus the same server with none, divided by N (target under 4 KB); measured
 *    right after the observations and again at rest after the notification loads;
 *  - notifications/s at a fixed offered rate (`DERLINK_LWM2M_RATES`, 2,000 and 5,000/s; NON
 *    2.05 notifications, round robin over the clients, BENCH_DURATION_MS (10 s) each): handled
 *    ('notification' events), lost, this process's CPU over the window as a share of one core
 *    ("under one core" = CPU time / wall time < 1), p50/p99 latency from send to the event (the
 *    payload carries the send time; one machine clock);
 *  - the most notifications/s the server sustains: a closed loop of CON notifications,
 *    `DERLINK_LWM2M_WINDOW` (128) in flight on distinct clients, each next one sent when the
 *    server's ACK comes. On a machine with cores to spare the server is then saturated (one
 *    core); where the generator and the server share too few cores, neither reaches one core and
 *    the rate is a lower bound: the log prints both processes' CPU, and the row "server CPU per
 *    CON notification" is the figure that does not depend on it.
 *
 * The server measured is the compiled one in dist/ (which `npm run bench` builds first), as
 * shipped, unless DERLINK_LWM2M_CODE=src or dist is older than the sources: see loadServer().
 * The row names say which ("dist" or "src via tsx").
 *
 * Memory right after registering includes what coap's Server keeps of every response it sent
 * (the Register's 2.01 among them) for EXCHANGE_LIFETIME (247 s, purged every 124 s): with
 * DERLINK_LWM2M_REST_MS=400000 the last reading comes after that is gone.
 *
 * Baseline, in the same run, over the same client sockets: a bare `coap` server
 * (coap.createServer(), whose handler only answers 2.04 with res.end()) receiving the same
 * stream shape as requests: POST /3316/0/5700, Content-Format 0, the same token length and the
 * same payload. The ratio row compares maximum sustained rates, both under the same closed loop
 * of CONs: Lwm2mServer's CON notifications/s (each parsed, matched to its observation, checked
 * for freshness, decoded as an LwM2M float, emitted as a 'notification' event, and answered with
 * an empty ACK) ÷ the bare coap server's CON requests/s (each parsed, run through coap's
 * middleware into its 'request' handler, answered with a piggy-backed 2.04 that coap keeps in its
 * response cache). The fixed-rate rows print the bare server's figures at the same offered rate
 * (NON requests: it answers each with a NON 2.04, where the LwM2M server sends nothing back).
 *
 * Knobs (environment): DERLINK_LWM2M_SIZES ("1000,10000"), DERLINK_LWM2M_RATES ("2000,5000"),
 * BENCH_DURATION_MS (10000), DERLINK_LWM2M_WINDOW (128), DERLINK_LWM2M_REST_MS (2000: the least
 * time from the registrations to the last memory reading), DERLINK_LWM2M_REG_INFLIGHT (64),
 * DERLINK_LWM2M_OBS_INFLIGHT (64), DERLINK_LWM2M_PER_ADDRESS (1000 client sockets per 127.0.0.x),
 * DERLINK_LWM2M_CODE (dist or src), DERLINK_LWM2M_SNAPSHOTS (a directory: heap snapshots at each
 * memory reading). Needs an open files limit above N + 100 in the generator (checked).
 */

import dgram from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { createServer, globalAgent, globalAgentIPv6, type IncomingMessage, type OutgoingMessage } from 'coap';
import type { NotificationEvent } from '../../src/protocols/lwm2m/server';
import * as sourceServer from '../../src/protocols/lwm2m/server';
import { CommandChild } from './command-child';
import { type BenchRow, collector, openFilesLimit, percentile, row } from './lib';
import type { FromLoad, LoadReport, LoadSpec, ToLoad } from './lwm2m-load';

function knob(name: string, fallback: number): number {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
}
function list(name: string, fallback: number[]): number[] {
    const v = process.env[name];
    if (!v) return fallback;
    const out = v
        .split(',')
        .map((s) => Number(s.trim()))
        .filter((x) => Number.isFinite(x) && x > 0);
    return out.length > 0 ? out : fallback;
}

const SIZES = list('DERLINK_LWM2M_SIZES', [1000, 10_000]);
const RATES = list('DERLINK_LWM2M_RATES', [2000, 5000]);
const DURATION_MS = knob('BENCH_DURATION_MS', 10_000);
/**
 * CONs in flight in the closed loop. 256 overflows the server socket's receive buffer (Linux
 * default 208 KB holds about 200 such datagrams) whenever the server pauses, and loses some.
 */
const WINDOW = knob('DERLINK_LWM2M_WINDOW', 128);
const REG_INFLIGHT = knob('DERLINK_LWM2M_REG_INFLIGHT', 64);
const OBS_INFLIGHT = knob('DERLINK_LWM2M_OBS_INFLIGHT', 64);
const PER_ADDRESS = knob('DERLINK_LWM2M_PER_ADDRESS', 1000);
const HOST = '127.0.0.1';
const RESOURCE = '/3316/0/5700';
/** Quiet time before a memory reading. */
const SETTLE_MS = 2000;
/**
 * Least time from the registrations to the last memory reading (DERLINK_LWM2M_REST_MS, default
 * 2 s; the loads take longer). coap's Server keeps every response it sent (the 2.01 of each
 * Register among them) in its response cache for EXCHANGE_LIFETIME (247 s; stale entries go at
 * its purge, every 124 s), each with a RetrySend and a MAX_RTT (202 s) timer that hold the
 * request, the response and our RequestMeta: 400000 measures a registration once that is gone.
 */
const REST_MS = knob('DERLINK_LWM2M_REST_MS', 2000);
const KB = 1024;

type ServerModule = typeof import('../../src/protocols/lwm2m/server');
type Lwm2mServer = Awaited<ReturnType<ServerModule['Lwm2mServer']['open']>>;

const ROOT = path.resolve(__dirname, '..', '..');
/** The sources the compiled server is made of: dist is stale when one of them is newer. */
const SERVER_SOURCES = ['server.ts', 'coap/endpoint.ts', 'content.ts', 'link-format.ts', 'path.ts'];

/**
 * The server as shipped: dist/ (tsc output, which `npm run bench` builds first), unless
 * DERLINK_LWM2M_CODE=src or dist is older than the sources. Memory is the reason: tsx (esbuild
 * with keepNames) wraps every named function in __name(), which defines `name` on each closure
 * and gives it a property array of about 250 bytes, so the source run through tsx costs about
 * 1.3 KB more per observed registration than the compiled code (five closures each).
 */
function loadServer(): { mod: ServerModule; code: string } {
    const wanted = process.env.DERLINK_LWM2M_CODE ?? 'dist';
    const built = path.join(ROOT, 'dist', 'protocols', 'lwm2m', 'server.js');
    if (wanted === 'dist') {
        let stale: string | undefined;
        try {
            // tsc (incremental) rewrites only the outputs whose source changed: compare each pair.
            stale = SERVER_SOURCES.find(
                (f) =>
                    statSync(path.join(ROOT, 'src', 'protocols', 'lwm2m', f)).mtimeMs >
                    statSync(path.join(ROOT, 'dist', 'protocols', 'lwm2m', f.replace(/\.ts$/, '.js'))).mtimeMs,
            );
            if (!stale) return { mod: createRequire(__filename)(built) as ServerModule, code: 'dist' };
        } catch {
            stale = 'its compiled files (missing)';
        }
        console.error(
            `  dist/protocols/lwm2m is older than src/protocols/lwm2m/${stale} (npm run build): measuring src through tsx`,
        );
    }
    return { mod: sourceServer, code: 'src via tsx' };
}

interface Memory {
    heapUsed: number;
    rss: number;
    external: number;
}

/** UDP datagrams the kernel dropped for want of receive buffer, machine-wide (/proc/net/snmp RcvbufErrors). */
function udpDrops(): number {
    try {
        const lines = readFileSync('/proc/net/snmp', 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('Udp:'));
        const names = lines[0]?.split(/\s+/) ?? [];
        const values = lines[1]?.split(/\s+/) ?? [];
        return Number(values[names.indexOf('RcvbufErrors')]);
    } catch {
        return Number.NaN;
    }
}

/** DERLINK_LWM2M_SNAPSHOTS=dir writes a heap snapshot there at each memory reading (for finding what a registration costs). */
function snapshot(label: string): void {
    const dir = process.env.DERLINK_LWM2M_SNAPSHOTS;
    if (!dir) return;
    const file = writeHeapSnapshot(path.join(dir, `lwm2m-${label}.heapsnapshot`));
    console.error(`    heap snapshot: ${file}`);
}

function memory(gc: () => void): Memory {
    gc();
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, rss: m.rss, external: m.external };
}

/** CLOCK_MONOTONIC in ms, the generator's clock too (performance.timeOrigin differs between processes by ms). */
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Waits for `promise`, at most `ms`; leaves no timer behind. */
async function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
}

/** The generator process: commands in, one awaited answer per command. */
class Generator extends CommandChild<ToLoad, FromLoad> {
    constructor() {
        super('load generator', path.join(__dirname, 'lwm2m-load.ts'));
    }
}

/** What the receiving side counts during one load: events (or requests) and their latencies. */
class Receiver {
    recording = false;
    count = 0;
    latencies: number[] = [];
    epoch = 0;
    bad = 0;

    start(epoch: number): void {
        this.epoch = epoch;
        this.count = 0;
        this.bad = 0;
        this.latencies = [];
        this.recording = true;
    }

    /** One message arrived carrying its send time (ms since epoch) as `sent`. */
    take(sent: number): void {
        if (!this.recording) return;
        this.count++;
        if (Number.isFinite(sent)) this.latencies.push(nowMs() - this.epoch - sent);
        else this.bad++;
    }
}

interface Measured {
    label: string;
    offered: number | undefined;
    sent: number;
    handled: number;
    /** handled / window seconds. */
    perSecond: number;
    lost: number;
    /** Server process CPU (window and drain) over the window's wall time: the share of one core. */
    cores: number;
    cpuMicrosPerMessage: number;
    p50: number;
    p99: number;
    generatorCores: number;
    /** Datagrams the kernel dropped (full receive buffers) during the load, machine-wide. */
    kernelDrops: number;
    /** Longest this process's event loop was blocked during the load. */
    loopDelayMaxMs: number;
}

async function measure(
    gen: Generator,
    receiver: Receiver,
    spec: Omit<LoadSpec, 'epoch' | 'durationMs' | 'host'>,
    label: string,
): Promise<Measured> {
    const epoch = nowMs();
    receiver.start(epoch);
    const drops0 = udpDrops();
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const cpu0 = process.cpuUsage();
    const done = await gen.ask(
        { cmd: 'load', load: { ...spec, host: HOST, durationMs: DURATION_MS, epoch } },
        'loaded',
        DURATION_MS + 60_000,
    );
    // The generator waited 300 ms for late ACKs after its window; events are all in by now.
    const cpu = process.cpuUsage(cpu0);
    receiver.recording = false;
    loopDelay.disable();
    const r: LoadReport = done.report;
    const sorted = receiver.latencies.sort((a, b) => a - b);
    // Not kept: a load's latencies (8 bytes each, 300,000 of them) would count as the server's memory.
    receiver.latencies = [];
    const cpuMicros = cpu.user + cpu.system;
    const m: Measured = {
        label,
        offered: spec.rate,
        sent: r.sent,
        handled: receiver.count,
        perSecond: receiver.count / r.seconds,
        lost: r.sent - receiver.count,
        // CPU of the window and its drain (the tail of what was sent in it) over the sending window.
        cores: cpuMicros / 1e6 / r.seconds,
        cpuMicrosPerMessage: cpuMicros / Math.max(1, receiver.count),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        generatorCores: r.cpuMs / 1000 / r.seconds,
        kernelDrops: udpDrops() - drops0,
        loopDelayMaxMs: loopDelay.max / 1e6,
    };
    if (receiver.bad > 0) throw new Error(`${label}: ${receiver.bad} messages without a readable send time`);
    console.error(
        `    ${label}: sent ${m.sent}, handled ${m.handled} (${m.perSecond.toFixed(0)}/s), lost ${m.lost}, server CPU ${m.cores.toFixed(2)} core (${m.cpuMicrosPerMessage.toFixed(1)} µs/msg), latency p50 ${m.p50.toFixed(2)} ms p99 ${m.p99.toFixed(2)} ms; kernel dropped ${m.kernelDrops} datagrams (full receive buffers); event loop blocked at most ${m.loopDelayMaxMs.toFixed(0)} ms; generator ${m.generatorCores.toFixed(2)} core${m.generatorCores > 0.9 ? ' (generator-bound!)' : ''}`,
    );
    return m;
}

/** A bare coap server: its handler takes the send time and answers 2.04, nothing more. */
async function bareCoap(receiver: Receiver): Promise<{ port: number; close: () => Promise<void> }> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(0, HOST, () => {
            sock.off('error', reject);
            resolve();
        });
    });
    const server = createServer({ type: 'udp4' }, (req: IncomingMessage, res: OutgoingMessage) => {
        receiver.take(Number(req.payload.toString('latin1')));
        res.code = '2.04';
        res.end();
    });
    server.listen(sock);
    return {
        port: sock.address().port,
        close: async () => {
            server.close();
            await new Promise<void>((r) => sock.close(() => r()));
        },
    };
}

async function runSize(n: number, gc: () => void, mod: ServerModule, code: string): Promise<BenchRow[]> {
    const gen = new Generator();
    let server: Lwm2mServer | undefined;
    let bare: { port: number; close: () => Promise<void> } | undefined;
    const stopKillOnSignal = gen.killOnSignal();
    try {
        const ready = await gen.ask({ cmd: 'setup', n, perAddress: PER_ADDRESS }, 'ready', 120_000).catch((err) => {
            const limit = openFilesLimit(gen.pid ?? 'self');
            throw limit < n + 100
                ? new Error(`the generator's open files limit ${limit} is too low for ${n} sockets; raise ulimit -n`)
                : err;
        });
        console.error(
            `  N = ${n}: ${ready.sockets} client sockets on ${ready.addresses} address(es) 127.0.0.1..${ready.addresses}, set up in ${ready.ms.toFixed(0)} ms`,
        );

        const notified = new Receiver();
        const memBefore = memory(gc);
        server = await mod.Lwm2mServer.open({
            port: 0,
            address: HOST,
            registerRatePerAddress: 0,
            maxRegistrations: n + 1000,
        });
        const warnings: string[] = [];
        server.on('warning', (err: Error) => {
            if (warnings.length < 10) warnings.push(err.message);
        });
        server.on('notification', (e: NotificationEvent) => notified.take(e.value as number));
        let registeredEvents = 0;
        server.on('registered', () => {
            registeredEvents++;
        });
        await sleep(200);
        const memBaseline = memory(gc);
        snapshot(`${n}-empty`);

        // ---- registrations
        const cpuReg0 = process.cpuUsage();
        const reg = await gen.ask(
            { cmd: 'register', host: HOST, port: server.port, inFlight: REG_INFLIGHT },
            'registered',
            10 * 60_000,
        );
        const cpuReg = process.cpuUsage(cpuReg0);
        const tRegistered = performance.now();
        await sleep(100);
        if (reg.failed > 0 || server.stats.registrations !== n)
            throw new Error(
                `registrations: ${reg.ok} ok, ${reg.failed} failed, server holds ${server.stats.registrations} of ${n}`,
            );
        const regPerSecond = n / (reg.ms / 1000);
        console.error(
            `    registered ${n} in ${reg.ms.toFixed(0)} ms: ${regPerSecond.toFixed(0)}/s (${REG_INFLIGHT} in flight, ${reg.retransmits} retransmissions, ${registeredEvents} 'registered' events); server CPU ${((cpuReg.user + cpuReg.system) / 1000 / reg.ms).toFixed(2)} core, generator ${(reg.cpuMs / reg.ms).toFixed(2)} core`,
        );

        // ---- observations
        const cpuObs0 = process.cpuUsage();
        const tObs = performance.now();
        let next = 0;
        const failures: string[] = [];
        await Promise.all(
            Array.from({ length: OBS_INFLIGHT }, async () => {
                while (next < n) {
                    const i = next++;
                    const s = server as Lwm2mServer;
                    const r = await s.observe(`sim-${i}`, RESOURCE).catch((err: Error) => ({
                        ok: false,
                        code: 'error',
                        message: err.message,
                    }));
                    if (!r.ok && failures.length < 5) failures.push(`sim-${i}: ${r.code} ${r.message ?? ''}`);
                }
            }),
        );
        const obsMs = performance.now() - tObs;
        const cpuObs = process.cpuUsage(cpuObs0);
        if (failures.length > 0 || server.stats.observations !== n)
            throw new Error(`observations: server holds ${server.stats.observations} of ${n}; ${failures.join('; ')}`);
        const obsPerSecond = n / (obsMs / 1000);
        console.error(
            `    observed ${RESOURCE} on ${n} in ${obsMs.toFixed(0)} ms: ${obsPerSecond.toFixed(0)}/s (${OBS_INFLIGHT} in flight); server CPU ${((cpuObs.user + cpuObs.system) / 1000 / obsMs).toFixed(2)} core`,
        );

        await sleep(SETTLE_MS);
        const memLoaded = memory(gc);
        snapshot(`${n}-observed`);
        const perReg = (m: Memory, k: keyof Memory) => (m[k] - memBaseline[k]) / n;
        console.error(
            `    memory per registration (with its observation), right after: heap ${(perReg(memLoaded, 'heapUsed') / KB).toFixed(2)} KB, RSS ${(perReg(memLoaded, 'rss') / KB).toFixed(2)} KB, external ${(perReg(memLoaded, 'external') / KB).toFixed(2)} KB (empty server: heap ${((memBaseline.heapUsed - memBefore.heapUsed) / KB).toFixed(0)} KB)`,
        );

        // ---- the bare coap baseline, beside it
        const posted = new Receiver();
        bare = await bareCoap(posted);

        // ---- fixed offered rates (NON), then saturation (closed loop of CONs); each side in turn
        const fixed: Array<{ rate: number; lwm2m: Measured; coap: Measured }> = [];
        for (const rate of RATES) {
            const lwm2m = await measure(
                gen,
                notified,
                { port: server.port, kind: 'notify', confirmable: false, rate },
                `NON notifications at ${rate}/s`,
            );
            const coap = await measure(
                gen,
                posted,
                { port: bare.port, kind: 'post', confirmable: false, rate },
                `bare coap, NON POST at ${rate}/s`,
            );
            fixed.push({ rate, lwm2m, coap });
        }
        const satLwm2m = await measure(
            gen,
            notified,
            { port: server.port, kind: 'notify', confirmable: true, window: WINDOW },
            `CON notifications, ${WINDOW} in flight`,
        );
        const satCoap = await measure(
            gen,
            posted,
            { port: bare.port, kind: 'post', confirmable: true, window: WINDOW },
            `bare coap, CON POST, ${WINDOW} in flight`,
        );
        console.error(
            `    ratio (max sustained, closed loop of ${WINDOW} CONs): Lwm2mServer ${satLwm2m.perSecond.toFixed(0)} CON notifications/s ÷ bare coap ${satCoap.perSecond.toFixed(0)} CON POST requests/s = ${(satLwm2m.perSecond / satCoap.perSecond).toFixed(2)}`,
        );

        await bare.close();
        bare = undefined;
        await sleep(Math.max(0, REST_MS - (performance.now() - tRegistered)));
        const memAfter = memory(gc);
        snapshot(`${n}-after`);
        console.error(
            `    memory per registration at rest, ${((performance.now() - tRegistered) / 1000).toFixed(0)} s after the registrations (bare coap server closed): heap ${(perReg(memAfter, 'heapUsed') / KB).toFixed(2)} KB, RSS ${(perReg(memAfter, 'rss') / KB).toFixed(2)} KB`,
        );
        if (warnings.length > 0) console.error(`    server warnings: ${warnings.join('; ')}`);

        // ---- rows
        const name = `lwm2m-server (${code}), ${n} clients`;
        const rows: BenchRow[] = [
            row({ name, metric: 'registrations/s', value: regPerSecond, unit: '/s', target: '10,000 registrations' }),
            row({ name, metric: 'observations set up/s', value: obsPerSecond, unit: '/s' }),
            row({
                name,
                metric: 'heap per registration (with observation)',
                value: perReg(memLoaded, 'heapUsed') / KB,
                unit: 'KB',
                target: '< 4 KB',
            }),
            row({
                name,
                metric: 'heap per registration after the loads',
                value: perReg(memAfter, 'heapUsed') / KB,
                unit: 'KB',
            }),
        ];
        for (const f of fixed) {
            const bareName = `bare coap, NON POST at ${f.rate}/s`;
            rows.push(
                row({
                    name,
                    metric: `NON notifications/s handled at ${f.rate}/s offered`,
                    value: f.lwm2m.perSecond,
                    unit: '/s',
                    baseline: { name: bareName, value: f.coap.perSecond },
                    target: f.rate >= 2000 ? '>= 2000/s under one core' : undefined,
                }),
                row({
                    name,
                    metric: `server CPU at ${f.rate}/s offered`,
                    value: f.lwm2m.cores,
                    unit: 'cores',
                    baseline: { name: bareName, value: f.coap.cores },
                    target: '< 1',
                }),
                row({
                    name,
                    metric: `lost notifications at ${f.rate}/s offered`,
                    value: f.lwm2m.lost,
                    unit: 'msgs',
                    baseline: { name: bareName, value: f.coap.lost },
                }),
                row({
                    name,
                    metric: `p50 notify-to-event latency at ${f.rate}/s`,
                    value: f.lwm2m.p50,
                    unit: 'ms',
                    baseline: { name: bareName, value: f.coap.p50 },
                }),
                row({
                    name,
                    metric: `p99 notify-to-event latency at ${f.rate}/s`,
                    value: f.lwm2m.p99,
                    unit: 'ms',
                    baseline: { name: bareName, value: f.coap.p99 },
                }),
            );
        }
        const satName = `bare coap (2.04 only), CON POST, ${WINDOW} in flight`;
        rows.push(
            row({
                name,
                metric: `max CON notifications/s (${WINDOW} in flight)`,
                value: satLwm2m.perSecond,
                unit: '/s',
                baseline: { name: satName, value: satCoap.perSecond },
            }),
            row({
                name,
                metric: `server CPU per CON notification (${WINDOW} in flight)`,
                value: satLwm2m.cpuMicrosPerMessage,
                unit: 'µs',
                baseline: { name: satName, value: satCoap.cpuMicrosPerMessage },
            }),
        );
        return rows;
    } finally {
        stopKillOnSignal();
        await bare?.close();
        await server?.close();
        await gen.stop({ cmd: 'close' }, 'closed', 30_000);
    }
}

export default async function lwm2mServerBench(): Promise<BenchRow[]> {
    const gc = collector();
    const rows: BenchRow[] = [];
    const { mod, code } = loadServer();
    console.error(
        `  Lwm2mServer from ${code}; sizes ${SIZES.join(', ')}; offered rates ${RATES.join(', ')}/s; ${DURATION_MS} ms per load; closed loop of ${WINDOW} CONs for the maximum`,
    );
    try {
        for (const n of SIZES) rows.push(...(await runSize(n, gc, mod, code)));
    } finally {
        // Loading coap opens the sockets of its two global agents (udp4, udp6), which nothing here
        // uses; closed, they no longer keep this process alive once the rows are sent.
        await Promise.all(
            [globalAgent, globalAgentIPv6].map((a) => atMost(new Promise<void>((r) => a.close(() => r())), 1000)),
        );
    }
    return rows;
}
