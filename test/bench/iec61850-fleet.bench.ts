/**
 * One 8-2 client node polling a fleet of heat pumps: N simulated IEDs (default 1,000), each its
 * own XMPP account and session (resource `IEC`) with an Iec61850Server of the shipped heat-pump
 * model, and one client: one XMPP session with one Iec61850Client (one association) per IED.
 * Once per period (10 s) the client reads `HP1LD/MMXN1.Watt[MX]` from every IED at once
 * (GetDataValues); every answer must bring the value that IED holds in that cycle (each IED's
 * is different and changes every cycle), or the run fails.
 *
 * Completion: how long after its cycle started each IED's answer came. Rows: the p99 over every
 * answer of every recorded cycle (the time by which 99 % of the fleet has been read; target
 * under 2 s), the p50, and the slowest cycle's last answer. A first, warm-up cycle is not
 * recorded (each client's first read of the FCD also fetches its type). Baseline, in the same
 * run, over the same sessions: half a period after each GetDataValues cycle, a cycle of plain IQ
 * echoes (a handler on each IED's session answers, as in xmpp-iq-echo) to every IED.
 *
 * Memory: the IEDs run in a process of their own (iec61850-fleet-servers.ts, with
 * --expose-gc), which measures itself after a full GC: before its sessions; with N bare sessions
 * online, after one echo cycle (the baseline: what the XMPP session alone costs once it has
 * carried traffic); with an Iec61850Server on each; and after the associations and the cycles.
 * Rows: resident memory per IED session, engine included (target under 100 KB), the engine's
 * own share, and the JS heap, each against the bare session's. The IEDs share one parsed
 * SclModel, as the engine allows (its values live in a per-server store): the child checks on
 * every run that no server wrote into the model and fails otherwise; DERLINK_FLEET_MODEL=each
 * parses one per IED instead.
 *
 * Prosody, the IEDs and the client share the machine's cores, so this measures the whole loop
 * on one machine; the CPU each process spent per cycle is printed (Prosody's is most of it).
 * Needs an open files limit above N + 200 (checked for this process and Prosody); Prosody's
 * defaults (epoll, no connection or rate limits without mod_limits) take 1,000 sessions from
 * one address, connected DERLINK_FLEET_BATCH at a time.
 *
 * Knobs (environment): DERLINK_FLEET (1000 IEDs), DERLINK_FLEET_CYCLES (6 recorded cycles),
 * DERLINK_FLEET_PERIOD_MS (10000), DERLINK_FLEET_TLS (`none`: clear-text TCP, the default, as
 * iec61850-getdatavalues; `ca`: STARTTLS trusting the test CA; `pin`: STARTTLS with the server
 * certificate's fingerprint pinned), DERLINK_FLEET_MODEL (`shared`, the default, or `each`),
 * DERLINK_FLEET_BATCH (25 sessions connecting at once).
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Iec61850Client } from '../../src/protocols/iec61850/client';
import { el } from '../../src/protocols/xml';
import { Session } from '../../src/protocols/xmpp';
import { type Prosody, startProsody } from '../support/prosody';
import { CommandChild } from './command-child';
import type { FleetSetup, FromServers, Memory, ToServers } from './iec61850-fleet-servers';
import { checkWatt, NS_BENCH, waitAssociated, wattOf } from './iec61850-support';
import { type BenchRow, collector, openFilesLimit, percentile, row } from './lib';
import { waitOnline } from './rounds';

function knob(name: string, fallback: number): number {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
}

const FLEET = knob('DERLINK_FLEET', 1000);
const CYCLES = knob('DERLINK_FLEET_CYCLES', 6);
const PERIOD_MS = knob('DERLINK_FLEET_PERIOD_MS', 10_000);
const BATCH = knob('DERLINK_FLEET_BATCH', 25);
/** `none`: clear-text TCP; `ca`: STARTTLS trusting the test CA (trust.ca); `pin`: STARTTLS with the certificate's fingerprint pinned. */
const TLS_KNOB = process.env.DERLINK_FLEET_TLS ?? 'none';
const TLS: 'none' | 'starttls' = TLS_KNOB === 'none' ? 'none' : 'starttls';
const TLS_LABEL = TLS_KNOB === 'none' ? 'tcp' : TLS_KNOB === 'ca' ? 'starttls (CA)' : 'starttls (pinned)';
const MODEL: 'shared' | 'each' = process.env.DERLINK_FLEET_MODEL === 'each' ? 'each' : 'shared';
/**
 * V8 options of the IED host process. A process hosting many IEDs answers in bursts; with Node's
 * default young generation (up to 16 MB semi-spaces) it keeps about 110 KB more per IED after them
 * (measured: 189 KB per IED session against 79 KB bare, at rest); `--max-semi-space-size=1` is the
 * setting the README recommends for such hosts (69 KB against 35 KB, same cycle time).
 * DERLINK_FLEET_V8=defaults measures Node's defaults instead.
 */
const V8_DEFAULTS = process.env.DERLINK_FLEET_V8 === 'defaults';
const IED_V8_FLAGS = V8_DEFAULTS ? [] : ['--max-semi-space-size=1'];
const V8_LABEL = V8_DEFAULTS ? 'Node defaults' : '--max-semi-space-size=1';
const REFERENCE = 'HP1LD/MMXN1.Watt[MX]';
const TEXT = 'DERlink IQ echo benchmark payload: 0123456789 abcdefghijklmnopqr';
const REQUEST_TIMEOUT_MS = 30_000;
const SETUP_TIMEOUT_MS = 5 * 60_000;
const POLLER = 'poller';

const KB = 1024;

function ownMemory(gc: () => void): Memory {
    gc();
    const m = process.memoryUsage();
    return {
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
    };
}

const CLK_TCK = 100;

/** utime + stime of a process in ms (Linux /proc), NaN when unreadable. */
function cpuMs(pid: number | undefined): number {
    if (pid === undefined) return Number.NaN;
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return ((Number(rest[11]) + Number(rest[12])) / CLK_TCK) * 1000;
    } catch {
        return Number.NaN;
    }
}

/** Resident memory of a process in bytes (Linux /proc), NaN when unreadable. */
function rssOf(pid: number | undefined): number {
    if (pid === undefined) return Number.NaN;
    try {
        const line = readFileSync(`/proc/${pid}/status`, 'utf8')
            .split('\n')
            .find((l) => l.startsWith('VmRSS:'));
        return Number(line?.split(/\s+/)[1]) * KB;
    } catch {
        return Number.NaN;
    }
}

/** The IED process: commands in, one awaited answer per command. */
class Servers extends CommandChild<ToServers, FromServers> {
    constructor() {
        super('fleet servers', path.join(__dirname, 'iec61850-fleet-servers.ts'), ['--expose-gc', ...IED_V8_FLAGS]);
    }
}

interface Cycle {
    /** ms after the cycle's start at which each IED's answer came. */
    completions: number[];
    /** CPU (ms) of the client, the IEDs and Prosody from the start of the cycle to its last answer. */
    cpu: { client: number; servers: number; prosody: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** All N requests at once; every answer checked by `call`. */
async function cycle(
    n: number,
    call: (i: number) => Promise<void>,
    pids: { servers: number | undefined; prosody: number | undefined },
): Promise<Cycle> {
    const cpu0 = { client: process.cpuUsage(), servers: cpuMs(pids.servers), prosody: cpuMs(pids.prosody) };
    const t0 = performance.now();
    const completions = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
            await call(i);
            return performance.now() - t0;
        }),
    );
    const client = process.cpuUsage(cpu0.client);
    return {
        completions,
        cpu: {
            client: (client.user + client.system) / 1000,
            servers: cpuMs(pids.servers) - cpu0.servers,
            prosody: cpuMs(pids.prosody) - cpu0.prosody,
        },
    };
}

function describeCycle(c: Cycle): string {
    const sorted = [...c.completions].sort((a, b) => a - b);
    return `p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, last ${sorted[sorted.length - 1]?.toFixed(0)} ms; CPU client ${c.cpu.client.toFixed(0)} ms, IEDs ${c.cpu.servers.toFixed(0)} ms, Prosody ${c.cpu.prosody.toFixed(0)} ms`;
}

const kb = (bytes: number) => (bytes / KB).toFixed(1);

export default async function iec61850Fleet(): Promise<BenchRow[]> {
    if (!['none', 'ca', 'pin'].includes(TLS_KNOB))
        throw new Error(`DERLINK_FLEET_TLS must be none, ca or pin, not ${TLS_KNOB}`);
    const gc = collector();
    const names = Array.from({ length: FLEET }, (_, i) => `hp${i}`);
    const accounts: Record<string, string> = { [POLLER]: 'bench-poller-pw' };
    for (const name of names) accounts[name] = `bench-${name}-pw`;

    const need = FLEET + 200;
    const own = openFilesLimit('self');
    if (own < need) {
        throw new Error(
            `open files limit ${own} is too low for ${FLEET} IEDs (the IED process and Prosody each need about ${need}); raise ulimit -n`,
        );
    }

    let prosody: Prosody | undefined;
    let servers: Servers | undefined;
    const clients: Iec61850Client[] = [];
    let poller: Session | undefined;
    const stopAll = async () => {
        await Promise.allSettled(clients.map((c) => c.close()));
        await poller?.close().catch(() => {});
        await servers?.stop({ cmd: 'close' }, 'closed', 60_000);
        await prosody?.stop();
        prosody?.cleanup();
    };
    const onSignal = (signal: NodeJS.Signals) => {
        servers?.kill();
        void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);

    try {
        prosody = await startProsody({ accounts, logLevel: 'warn' });
        const prosodyLimit = openFilesLimit(prosody.pid() ?? 'self');
        if (prosodyLimit < need) {
            throw new Error(`Prosody's open files limit is ${prosodyLimit}, too low for ${FLEET} sessions`);
        }
        const prosodyRss0 = rssOf(prosody.pid());
        console.error(
            `  ${FLEET} IEDs, ${CYCLES} cycles every ${PERIOD_MS} ms, ${TLS_LABEL}, model ${MODEL}; open files limit: here ${own}, Prosody ${prosodyLimit}`,
        );

        // ---- the IEDs: bare sessions first (the memory baseline), then an engine on each
        servers = new Servers();
        const setup: FleetSetup = {
            host: prosody.host,
            port: prosody.port,
            domain: prosody.domain,
            tls: TLS,
            trust: TLS_KNOB === 'pin' ? { fingerprint: prosody.fingerprint } : { ca: prosody.caPem },
            accounts: names.map((n) => [n, accounts[n] as string]),
            model: MODEL,
            batch: BATCH,
        };
        const bare = await servers.ask({ cmd: 'sessions', setup }, 'sessions', SETUP_TIMEOUT_MS);
        if (!bare.gc) console.error('  the IED process has no gc(): memory figures include garbage');
        console.error(
            `  ${FLEET} bare sessions online in ${(bare.ms / 1000).toFixed(1)} s; per session: RSS ${kb((bare.memory.rss - bare.memoryBefore.rss) / FLEET)} KB, heap ${kb((bare.memory.heapUsed - bare.memoryBefore.heapUsed) / FLEET)} KB, external ${kb((bare.memory.external - bare.memoryBefore.external) / FLEET)} KB`,
        );

        // ---- the client's session (an echo over the bare fleet first), then the engines, then one Iec61850Client per IED
        const memClient0 = ownMemory(gc);
        poller = new Session({
            jid: `${POLLER}@${prosody.domain}`,
            password: accounts[POLLER] as string,
            resource: 'fleet',
            host: prosody.host,
            port: prosody.port,
            tls: TLS,
            trust: TLS_KNOB === 'pin' ? { fingerprint: prosody.fingerprint } : { ca: prosody.caPem },
            iqTimeoutMs: REQUEST_TIMEOUT_MS,
            connectTimeoutMs: 30_000,
        });
        const warnings: string[] = [];
        poller.on('warning', (err) => {
            if (warnings.length < 20) warnings.push(err.message);
        });
        poller.start();
        await waitOnline(poller, 30_000);
        const session = poller;
        const pids = { servers: servers.pid, prosody: prosody.pid() };
        const domain = prosody.domain;
        const ping = () =>
            cycle(
                FLEET,
                async (i) => {
                    const answer = await session.request(
                        `${names[i]}@${domain}/IEC`,
                        'get',
                        el('echo', { xmlns: NS_BENCH }, TEXT),
                        { timeoutMs: REQUEST_TIMEOUT_MS },
                    );
                    if (answer?.text() !== TEXT) throw new Error(`IQ echo of ${names[i]} came back wrong`);
                },
                pids,
            );
        // The bare sessions carry some traffic before they are measured, so that the baseline has
        // the buffers a working session has (the engines' figure is taken after traffic too).
        console.error(`  IQ echo to the bare fleet (warm-up): ${describeCycle(await ping())}`);
        const bareAfter = (await servers.ask({ cmd: 'memory' }, 'memory', 60_000)).memory;
        console.error(
            `  after that, per bare session: RSS ${kb((bareAfter.rss - bare.memoryBefore.rss) / FLEET)} KB, heap ${kb((bareAfter.heapUsed - bare.memoryBefore.heapUsed) / FLEET)} KB`,
        );
        const engines = await servers.ask({ cmd: 'servers' }, 'servers', SETUP_TIMEOUT_MS);
        console.error(
            `  ${FLEET} Iec61850Servers created in ${(engines.ms / 1000).toFixed(1)} s; engine per IED: RSS ${kb((engines.memory.rss - bareAfter.rss) / FLEET)} KB, heap ${kb((engines.memory.heapUsed - bareAfter.heapUsed) / FLEET)} KB; the engine ${engines.modelMutated ? 'WRITES INTO' : 'does not write into'} the SclModel it is given`,
        );
        if (MODEL === 'shared' && engines.modelMutated) {
            throw new Error(
                'the server engine writes into the SclModel it is given, so the IEDs cannot share one: run with DERLINK_FLEET_MODEL=each',
            );
        }

        const t0 = performance.now();
        for (const name of names) {
            const client = new Iec61850Client(session, {
                server: `${name}@${prosody.domain}`,
                timeoutMs: REQUEST_TIMEOUT_MS,
            });
            client.on('warning', (err) => {
                if (warnings.length < 20) warnings.push(`${name}: ${err.message}`);
            });
            clients.push(client);
        }
        const associated = clients.map((c, i) => waitAssociated(c, SETUP_TIMEOUT_MS, `client of ${names[i]}`));
        for (const c of clients) c.start();
        await Promise.all(associated);
        const associateMs = performance.now() - t0;
        const memClient1 = ownMemory(gc);
        console.error(
            `  ${FLEET} associations in ${(associateMs / 1000).toFixed(1)} s; client side per association: RSS ${kb((memClient1.rss - memClient0.rss) / FLEET)} KB, heap ${kb((memClient1.heapUsed - memClient0.heapUsed) / FLEET)} KB`,
        );

        // ---- the cycles: GetDataValues at 0, IQ echo at half a period
        const gdv: Cycle[] = [];
        const echo: Cycle[] = [];
        const read = (c: number) =>
            cycle(
                FLEET,
                async (i) => checkWatt(await clients[i]!.getDataValues(REFERENCE), REFERENCE, wattOf(i, c)),
                pids,
            );
        // Cycle 0 is the warm-up, not recorded: each client's first read of the FCD also asks for
        // its type (GetVariableAccessAttributes), and both processes' code is still cold.
        const start = performance.now();
        for (let c = 0; c <= CYCLES; c++) {
            await servers.ask({ cmd: 'update', cycle: c }, 'updated', 60_000);
            await sleep(start + c * PERIOD_MS - performance.now());
            const r = await read(c);
            if (c > 0) gdv.push(r);
            console.error(`  cycle ${c}${c === 0 ? ' (warm-up)' : ''} GetDataValues: ${describeCycle(r)}`);
            await sleep(start + (c + 0.5) * PERIOD_MS - performance.now());
            const e = await ping();
            if (c > 0) echo.push(e);
            console.error(`  cycle ${c}${c === 0 ? ' (warm-up)' : ''} IQ echo:       ${describeCycle(e)}`);
        }

        const after = await servers.ask({ cmd: 'memory' }, 'memory', 60_000);
        const memClient2 = ownMemory(gc);
        const prosodyRss1 = rssOf(prosody.pid());
        if (after.associations < FLEET) {
            throw new Error(`only ${after.associations} of ${FLEET} IEDs saw an association`);
        }
        if (after.warnings.length > 0) console.error(`  IED warnings: ${after.warnings.join('; ')}`);
        if (warnings.length > 0) console.error(`  client warnings: ${warnings.join('; ')}`);
        const perServer = (m: Memory, k: keyof Memory) => ((m[k] ?? 0) - (bare.memoryBefore[k] ?? 0)) / FLEET;
        const bareRss = perServer(bareAfter, 'rss');
        const bareHeap = perServer(bareAfter, 'heapUsed');
        console.error(
            `  after the cycles, per IED session: RSS ${kb(perServer(after.memory, 'rss'))} KB, heap ${kb(perServer(after.memory, 'heapUsed'))} KB (V8 heap reserved ${kb(perServer(after.memory, 'heapTotal'))} KB, bare ${kb(perServer(bareAfter, 'heapTotal'))} KB), external ${kb(perServer(after.memory, 'external'))} KB, lazily freed ${kb(perServer(after.memory, 'lazyFree'))} KB (bare ${kb(perServer(bareAfter, 'lazyFree'))} KB), in transparent huge pages ${kb(perServer(after.memory, 'anonHugePages'))} KB (bare ${kb(perServer(bareAfter, 'anonHugePages'))} KB); client side per polled IED: RSS ${kb((memClient2.rss - memClient0.rss) / FLEET)} KB, heap ${kb((memClient2.heapUsed - memClient0.heapUsed) / FLEET)} KB; Prosody RSS per connection ${kb((prosodyRss1 - prosodyRss0) / (FLEET + 1))} KB`,
        );

        // ---- rows
        const pooled = (cs: Cycle[]) => cs.flatMap((c) => c.completions).sort((a, b) => a - b);
        const slowest = (cs: Cycle[]) => Math.max(...cs.flatMap((c) => c.completions));
        const gdvAll = pooled(gdv);
        const echoAll = pooled(echo);
        const cpuPerRead = (cs: Cycle[], k: keyof Cycle['cpu']) =>
            (cs.reduce((s, c) => s + c.cpu[k], 0) / (cs.length * FLEET)) * 1000;
        const label = `${FLEET} IEDs, ${TLS_LABEL}`;
        const echoName = `IQ echo to the same ${FLEET} sessions`;
        const rows: BenchRow[] = [
            row({
                name: `iec61850-fleet poll of ${label}`,
                metric: 'p99 completion of a cycle',
                value: percentile(gdvAll, 99),
                unit: 'ms',
                baseline: { name: echoName, value: percentile(echoAll, 99) },
                target: '< 2000 ms',
            }),
            row({
                name: `iec61850-fleet poll of ${label}`,
                metric: 'p50 completion of a cycle',
                value: percentile(gdvAll, 50),
                unit: 'ms',
                baseline: { name: echoName, value: percentile(echoAll, 50) },
            }),
            row({
                name: `iec61850-fleet poll of ${label}`,
                metric: `slowest cycle's last answer (of ${CYCLES})`,
                value: slowest(gdv),
                unit: 'ms',
                baseline: { name: echoName, value: slowest(echo) },
            }),
            row({
                name: `iec61850-fleet poll of ${label}`,
                metric: 'client CPU per read',
                value: cpuPerRead(gdv, 'client'),
                unit: 'µs',
                baseline: { name: echoName, value: cpuPerRead(echo, 'client') },
            }),
            row({
                name: `iec61850-fleet poll of ${label}`,
                metric: 'IED CPU per read',
                value: cpuPerRead(gdv, 'servers'),
                unit: 'µs',
                baseline: { name: echoName, value: cpuPerRead(echo, 'servers') },
            }),
            row({
                name: `iec61850-fleet IED session with Iec61850Server, ${label}, model ${MODEL}, ${V8_LABEL}`,
                metric: 'resident memory per IED session',
                value: perServer(after.memory, 'rss') / KB,
                unit: 'KB',
                baseline: { name: 'bare Session (no engine)', value: bareRss / KB },
                target: '< 100 KB',
            }),
            row({
                name: `iec61850-fleet IED session with Iec61850Server, ${label}, model ${MODEL}, ${V8_LABEL}`,
                metric: "the engine's own resident memory per IED",
                value: (perServer(after.memory, 'rss') - bareRss) / KB,
                unit: 'KB',
                baseline: { name: 'bare Session (no engine)', value: bareRss / KB },
            }),
            row({
                name: `iec61850-fleet IED session with Iec61850Server, ${label}, model ${MODEL}, ${V8_LABEL}`,
                metric: 'JS heap per IED session',
                value: perServer(after.memory, 'heapUsed') / KB,
                unit: 'KB',
                baseline: { name: 'bare Session (no engine)', value: bareHeap / KB },
            }),
        ];
        return rows;
    } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        await stopAll();
    }
}
