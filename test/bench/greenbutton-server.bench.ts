/**
 * The Green Button HTTPS server under load while the meter poller runs: a GreenButtonServer (self-signed certificate
 * from generateSelfSigned, Basic authentication with one user, the ESPI router with one-reading blocks) answering
 * `GET .../Subscription/1/UsagePoint/1/MeterReading/1/IntervalBlock` without time parameters, the current value: an
 * Atom feed of one IntervalBlock entry with the latest demand reading. Its history is fed by a sep Poller reading a
 * MeterSimulator every 7 s on the real clock (onRecord → readingsFromSepRecord(record) → history.add), in
 * this process, beside the server.
 *
 * The client is a load generator in a process of its own (greenbutton-load.ts): `DERLINK_GB_CONNECTIONS` (32)
 * keep-alive connections through one https.Agent that trusts the certificate (its own `ca`; nothing process-wide),
 * each request with the Authorization header, each response checked (status 200 and exactly one <entry>; errors
 * are counted and shown, warm-up included).
 *  - Closed loop (the maximum): one request in flight per connection, `DERLINK_GB_WARMUP_MS` (2 s) warm-up, then
 *    `DERLINK_GB_DURATION_MS` (15 s, at least two poll slots) measured: requests/s, p50/p99 latency, this process's
 *    CPU per request (the figure that does not depend on how many cores the generator leaves the server).
 *  - Open loop: `DERLINK_GB_RATE` (2,000/s) offered for `DERLINK_GB_OPEN_MS` (10 s): achieved rate and p99 latency
 *    counted from each request's scheduled send time.
 *  - The poller meanwhile: for every slot whose query went out during a load, requestAt − slotStart (the poller's
 *    schedule deviation: its timer waits behind the request handling on the event loop), the maximum reported, and
 *    the polls lost over the whole run (slots not ok, gap records).
 *  - What limits the rate: the generator's CPU (near one core: the client is the bottleneck, as it usually is for
 *    the bare server), this process's p99 event-loop delay and its share of time in GC pauses. With two cores the
 *    generator and the server share the machine, and whatever else runs on it moves the absolute rate: CPU per
 *    request and the ratios are the figures to compare.
 *
 * Baseline, in the same run, with the same certificate, client and connections: a bare node:https server that
 * answers every request with a fixed string, the body our server sent to a probe before the loads (same size), with
 * Content-Length and no authentication. Ratio = our requests/s ÷ the bare server's. The poller runs during the
 * baseline too (its slots then are the baseline of the schedule deviation).
 *
 * The code measured is the compiled one in dist/ (which `npm run bench` builds first) unless dist is older than the
 * sources or DERLINK_GB_CODE=src: then src through tsx.
 *
 * Knobs (environment): DERLINK_GB_CONNECTIONS (32), DERLINK_GB_DURATION_MS (15000), DERLINK_GB_WARMUP_MS (2000),
 * DERLINK_GB_RATE (2000; 0 skips the open loop), DERLINK_GB_OPEN_MS (10000), DERLINK_GB_CODE (dist or src).
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import * as sourceGreenButton from '../../src/protocols/greenbutton';
import * as sourceSep from '../../src/protocols/sep';
import { CommandChild } from './command-child';
import type { FromLoad, LoadReport, LoadSpec, ToLoad } from './greenbutton-load';
import { type BenchRow, row } from './lib';
import { shippedCores } from './shipped';

type GreenButton = typeof import('../../src/protocols/greenbutton');
type Sep = typeof import('../../src/protocols/sep');
type SlotRecord = import('../../src/protocols/sep').SlotRecord;
type PollerRecord = import('../../src/protocols/sep').PollerRecord;

function knob(name: string, fallback: number, min = 1): number {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v >= min ? Math.floor(v) : fallback;
}

const CONNECTIONS = knob('DERLINK_GB_CONNECTIONS', 32);
const DURATION_MS = knob('DERLINK_GB_DURATION_MS', 15_000);
const WARMUP_MS = knob('DERLINK_GB_WARMUP_MS', 2000);
const RATE = knob('DERLINK_GB_RATE', 2000, 0);
const OPEN_MS = knob('DERLINK_GB_OPEN_MS', 10_000);
const POLL_MS = 7000;
const HOST = '127.0.0.1';
const PATH = '/espi/1_1/resource/Subscription/1/UsagePoint/1/MeterReading/1/IntervalBlock';
const USER = { user: 'bench', password: 'correct horse battery staple' };
const AUTHORIZATION = `Basic ${Buffer.from(`${USER.user}:${USER.password}`).toString('base64')}`;

/** The Green Button and sep cores as shipped (dist/) unless DERLINK_GB_CODE=src or dist is older than a source. */
function loadCode(): { gb: GreenButton; sep: Sep; code: string } {
    const { cores, code } = shippedCores({ greenbutton: sourceGreenButton, sep: sourceSep }, [
        'greenbutton',
        'xml',
        'sep',
    ]);
    return { gb: cores.greenbutton as GreenButton, sep: cores.sep as Sep, code };
}

const GC_KINDS: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One GET from this process (its own `ca`, no agent): status and body. */
function probe(port: number, ca: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = https.get({ host: HOST, port, path: PATH, ca, headers, agent: false }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (b: Buffer) => parts.push(b));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
            res.on('error', reject);
        });
        req.on('error', reject);
    });
}

/** The baseline: node:https with the same certificate, answering a fixed body, no authentication. */
async function bareServer(key: string, cert: string, body: string): Promise<{ server: https.Server; port: number }> {
    const buf = Buffer.from(body, 'utf8');
    const headers = { 'Content-Type': 'application/atom+xml;charset=UTF-8', 'Content-Length': String(buf.length) };
    const server = https.createServer({ key, cert }, (_req, res) => {
        res.writeHead(200, headers);
        res.end(buf);
    });
    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, HOST, () => {
            server.off('error', reject);
            resolve();
        });
    });
    return { server, port: (server.address() as AddressInfo).port };
}

interface Phase {
    label: string;
    /** Date.now() from the load's start (warm-up included) to its report. */
    from: number;
    to: number;
}

interface Measured {
    label: string;
    report: LoadReport;
    /** This process's CPU over the measured command, µs, and per completed request. */
    cpuMicros: number;
    cpuMicrosPerRequest: number;
    cores: number;
    loopDelayMaxMs: number;
    loopDelayP99Ms: number;
    /** GC pauses of this process in the window: the longest (and its kind), and their sum. */
    gcMaxMs: number;
    gcMaxKind: string;
    gcTotalMs: number;
    phase: Phase;
}

export default async function bench(): Promise<BenchRow[]> {
    const { gb, sep, code } = loadCode();
    const cert = gb.generateSelfSigned({ commonName: 'localhost' });

    // ---- the gateway: history fed by the poller, router, HTTPS server
    const history = new gb.History({ capacity: 20_000 });
    const service = new gb.GreenButtonService({
        info: {
            baseUrl: 'https://localhost:8443',
            subscriptionId: '1',
            usagePointId: '1',
            title: 'House meter',
            serviceKind: gb.SERVICE_KIND.electricity,
            localTime: gb.localTimeParameters('Europe/Oslo'),
        },
        history,
    });
    const records: Array<{ record: PollerRecord; at: number }> = [];
    const feedErrors: string[] = [];
    const poller = new sep.Poller({
        transport: new sep.MeterSimulator({ seed: 8 }),
        intervalMs: POLL_MS,
        store: new sep.MemoryStore(),
        statsEverySlots: 0,
        onRecord: (record) => {
            records.push({ record, at: Date.now() });
            try {
                for (const r of gb.readingsFromSepRecord(record).readings)
                    history.add(r.key, r.spec, {
                        time: r.time,
                        value: r.value,
                        ...(r.quality === undefined ? {} : { quality: r.quality }),
                    });
            } catch (err) {
                if (feedErrors.length < 5) feedErrors.push((err as Error).message);
            }
        },
    });
    const server = new gb.GreenButtonServer({
        service,
        auth: new gb.BasicAuth({ users: [USER] }),
        key: cert.key,
        cert: cert.cert,
        host: HOST,
        port: 0,
    });
    let bare: { server: https.Server; port: number } | undefined;
    const gen = new CommandChild<ToLoad, FromLoad>('load generator', path.join(__dirname, 'greenbutton-load.ts'));
    const stopKillOnSignal = gen.killOnSignal();
    try {
        const { port } = await server.listen();
        console.error(
            `  ${availableParallelism()} CPUs, load average ${loadavg()
                .map((l) => l.toFixed(2))
                .join(
                    ' ',
                )} (the generator and the server share them; other work on the machine skews absolute numbers)`,
        );
        console.error(
            `  GreenButtonServer (${code}) on ${HOST}:${port}, certificate ${cert.fingerprint256.slice(0, 23)}…; sep Poller every ${POLL_MS / 1000} s on the simulated meter`,
        );
        const t0 = Date.now();
        poller.start();
        while (!(history.byId('1')?.ring.length ?? 0)) {
            if (Date.now() - t0 > 3 * POLL_MS) throw new Error(`no reading from the poller within ${3 * POLL_MS} ms`);
            await sleep(50);
        }
        console.error(
            `  first reading after ${Date.now() - t0} ms: series ${history
                .list()
                .map((s) => `${s.id} ${s.key}`)
                .join(', ')}`,
        );

        // ---- probes: the body the baseline will send, and the server refusing a request without credentials
        const ok = await probe(port, cert.cert, { Authorization: AUTHORIZATION });
        if (ok.status !== 200 || ok.body.split('<entry>').length !== 2)
            throw new Error(`probe: HTTP ${ok.status}, body ${ok.body.slice(0, 300)}`);
        const refused = await probe(port, cert.cert, {});
        if (refused.status !== 401) throw new Error(`probe without credentials: HTTP ${refused.status}, not 401`);
        bare = await bareServer(cert.key, cert.cert, ok.body);
        console.error(
            `  probe: 200 with one entry, ${Buffer.byteLength(ok.body)} bytes (the bare server's fixed body); 401 without credentials`,
        );

        const phases: Phase[] = [];
        const measure = async (
            label: string,
            p: number,
            authorization: string | undefined,
            rate: number | undefined,
            durationMs: number,
            warmupMs: number,
        ): Promise<Measured> => {
            const phase: Phase = { label, from: Date.now(), to: Number.POSITIVE_INFINITY };
            phases.push(phase);
            const spec: LoadSpec = {
                host: HOST,
                port: p,
                path: PATH,
                ca: cert.cert,
                connections: CONNECTIONS,
                warmupMs,
                ...(authorization ? { authorization } : {}),
                ...(rate ? { rate } : {}),
            };
            await gen.ask({ cmd: 'start', spec }, 'started', warmupMs + 30_000);
            const loop = monitorEventLoopDelay({ resolution: 5 });
            loop.enable();
            const gcs: Array<{ ms: number; kind: number }> = [];
            const gcObserver = new PerformanceObserver((list) => {
                for (const e of list.getEntries())
                    gcs.push({ ms: e.duration, kind: (e as { detail?: { kind?: number } }).detail?.kind ?? 0 });
            });
            gcObserver.observe({ entryTypes: ['gc'] });
            const cpu0 = process.cpuUsage();
            const { report } = await gen.ask({ cmd: 'measure', durationMs }, 'measured', durationMs + 30_000);
            const cpu = process.cpuUsage(cpu0);
            loop.disable();
            gcObserver.disconnect();
            phase.to = Date.now();
            const longest = gcs.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, kind: 0 });
            const cpuMicros = cpu.user + cpu.system;
            const m: Measured = {
                label,
                report,
                cpuMicros,
                cpuMicrosPerRequest: cpuMicros / Math.max(1, report.completed),
                cores: cpuMicros / 1e6 / report.seconds,
                loopDelayMaxMs: loop.max / 1e6,
                loopDelayP99Ms: loop.percentile(99) / 1e6,
                gcMaxMs: longest.ms,
                gcMaxKind: GC_KINDS[longest.kind] ?? String(longest.kind),
                gcTotalMs: gcs.reduce((t, g) => t + g.ms, 0),
                phase,
            };
            const r = report;
            console.error(
                `    ${label}: ${r.completed} responses in ${r.seconds.toFixed(1)} s = ${r.perSecond.toFixed(0)}/s${rate ? ` (offered ${rate}/s: ${r.scheduled} scheduled, ${r.unfinished} unanswered)` : ''}, errors ${r.errors} (+${r.errorsOutside} outside the window), latency p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms max ${r.max.toFixed(1)} ms; server CPU ${m.cores.toFixed(2)} core (${m.cpuMicrosPerRequest.toFixed(0)} µs/request), event-loop delay p99 ${m.loopDelayP99Ms.toFixed(1)} ms, max ${m.loopDelayMaxMs.toFixed(1)} ms; GC ${gcs.length} pauses, ${m.gcTotalMs.toFixed(0)} ms in all, longest ${m.gcMaxMs.toFixed(1)} ms (${m.gcMaxKind}); generator ${r.cores.toFixed(2)} core${r.cores > 0.9 ? ' (generator-bound!)' : ''}; ${r.connectionsOpened} connections opened; body ${r.bodyBytes} bytes`,
            );
            for (const s of r.errorSamples) console.error(`      error: ${s}`);
            return m;
        };

        const ours = await measure('ours, closed loop', port, AUTHORIZATION, undefined, DURATION_MS, WARMUP_MS);
        const base = await measure('bare, closed loop', bare.port, undefined, undefined, DURATION_MS, WARMUP_MS);
        const open = RATE
            ? {
                  ours: await measure(`ours, ${RATE}/s offered`, port, AUTHORIZATION, RATE, OPEN_MS, 1000),
                  base: await measure(`bare, ${RATE}/s offered`, bare.port, undefined, RATE, OPEN_MS, 1000),
              }
            : undefined;
        poller.stop();

        // ---- the poller during the loads
        const slots = records.map((r) => r.record).filter((r): r is SlotRecord => r.kind === 'slot');
        const deviation = (r: SlotRecord) => Date.parse(r.requestAt as string) - Date.parse(r.slotStart);
        const during = (label: (l: string) => boolean) =>
            slots.filter((r) => {
                if (r.requestAt === null) return false;
                const at = Date.parse(r.requestAt);
                return phases.some((p) => label(p.label) && at >= p.from && at <= p.to);
            });
        const oursSlots = during((l) => l.startsWith('ours'));
        const bareSlots = during((l) => l.startsWith('bare'));
        const closedSlots = during((l) => l === 'ours, closed loop');
        const maxDev = (xs: SlotRecord[]) => Math.max(...xs.map(deviation));
        const lost = records.filter((r) => r.record.status !== 'ok').length;
        const stats = poller.stats();
        console.error(
            `  poller: ${slots.length} slots (${records.length - slots.length} gap records), ${lost} not ok, stats lost ${stats.lost}, missed ${stats.missedSlots}, late answers ${stats.lateResponses}; requestAt − slotStart under our load: ${oursSlots.map(deviation).join(', ')} ms (closed loop: ${closedSlots.length} slots); under the bare server's: ${bareSlots.map(deviation).join(', ')} ms`,
        );
        if (feedErrors.length > 0) console.error(`  readings the history refused: ${feedErrors.join('; ')}`);
        if (closedSlots.length < 2)
            console.error(`  warning: only ${closedSlots.length} poll slot(s) fell in the closed-loop load`);

        // ---- rows
        const name = `greenbutton-server (${code}): current IntervalBlock over HTTPS keep-alive, Basic auth, ${CONNECTIONS} connections, sep Poller at ${POLL_MS / 1000} s`;
        const bareName = `bare node:https, fixed ${Buffer.byteLength(ok.body)} B body, no auth`;
        const rows: BenchRow[] = [
            row({
                name,
                metric: 'requests/s, closed loop (max)',
                value: ours.report.perSecond,
                unit: '/s',
                baseline: { name: bareName, value: base.report.perSecond },
                target: '>= 2000/s',
            }),
            row({
                name,
                metric: 'p50 latency, closed loop',
                value: ours.report.p50,
                unit: 'ms',
                baseline: { name: bareName, value: base.report.p50 },
            }),
            row({
                name,
                metric: 'p99 latency, closed loop',
                value: ours.report.p99,
                unit: 'ms',
                baseline: { name: bareName, value: base.report.p99 },
            }),
            row({
                name,
                metric: 'server CPU per request, closed loop',
                value: ours.cpuMicrosPerRequest,
                unit: 'µs',
                baseline: { name: bareName, value: base.cpuMicrosPerRequest },
            }),
            row({
                name,
                metric: 'load generator CPU, closed loop (near 1: the client limits the rate)',
                value: ours.report.cores,
                unit: 'cores',
                baseline: { name: bareName, value: base.report.cores },
            }),
            row({
                name,
                metric: 'failed responses, closed loop (not 200 with one entry; warm-up included)',
                value: ours.report.errors + ours.report.errorsOutside,
                unit: 'responses',
                baseline: { name: bareName, value: base.report.errors + base.report.errorsOutside },
                target: '0',
            }),
        ];
        if (open) {
            rows.push(
                row({
                    name,
                    metric: `requests/s achieved at ${RATE}/s offered`,
                    value: open.ours.report.perSecond,
                    unit: '/s',
                    baseline: { name: bareName, value: open.base.report.perSecond },
                    target: `${RATE}/s`,
                }),
                row({
                    name,
                    metric: `p99 latency at ${RATE}/s offered (from the scheduled send)`,
                    value: open.ours.report.p99,
                    unit: 'ms',
                    baseline: { name: bareName, value: open.base.report.p99 },
                }),
                row({
                    name,
                    metric: `server CPU at ${RATE}/s offered`,
                    value: open.ours.cores,
                    unit: 'cores',
                    baseline: { name: bareName, value: open.base.cores },
                }),
                row({
                    name,
                    metric: `failed or unanswered requests at ${RATE}/s offered`,
                    value: open.ours.report.errors + open.ours.report.errorsOutside + open.ours.report.unfinished,
                    unit: 'requests',
                    baseline: {
                        name: bareName,
                        value: open.base.report.errors + open.base.report.errorsOutside + open.base.report.unfinished,
                    },
                    target: '0',
                }),
            );
        }
        rows.push(
            row({
                name,
                metric: `max poll slot deviation (requestAt − slotStart) under our load, ${oursSlots.length} slots`,
                value: oursSlots.length ? maxDev(oursSlots) : Number.NaN,
                unit: 'ms',
                baseline: bareSlots.length
                    ? {
                          name: `same poller under the bare server's load, ${bareSlots.length} slots`,
                          value: maxDev(bareSlots),
                      }
                    : undefined,
                target: '< 50 ms (spec: 1 s)',
            }),
            row({
                name,
                metric: 'p99 event-loop delay, closed loop',
                value: ours.loopDelayP99Ms,
                unit: 'ms',
                baseline: { name: bareName, value: base.loopDelayP99Ms },
            }),
            row({
                name,
                metric: 'GC pauses, closed loop (share of the window)',
                value: (100 * ours.gcTotalMs) / (ours.report.seconds * 1000),
                unit: '%',
                baseline: { name: bareName, value: (100 * base.gcTotalMs) / (base.report.seconds * 1000) },
            }),
            row({
                name,
                metric: `lost polls over the run (${slots.length} slots, not ok or in gaps)`,
                value: lost,
                unit: 'polls',
                target: '0',
            }),
        );
        return rows;
    } finally {
        stopKillOnSignal();
        poller.stop();
        await gen.stop({ cmd: 'close' }, 'closed', 10_000);
        await server.close();
        if (bare) {
            const s = bare.server;
            await new Promise<void>((resolve) => {
                s.close(() => resolve());
                s.closeAllConnections();
            });
        }
    }
}
