import { readFileSync } from 'node:fs';
/**
 * The simulated heat-pump fleet of iec61850-fleet.bench.ts, in a process of its own so that its
 * memory is measured without the polling client's: N XMPP sessions (one account each, resource
 * `IEC`), each answering a plain IQ echo (the fleet benchmark's baseline), and then an
 * Iec61850Server on each. Started by the benchmark with `--import tsx --expose-gc` and an IPC
 * channel; it answers the commands below and reports its memory (after a full GC) at each step.
 *
 * Not a benchmark itself (no `.bench.ts`): run.ts does not pick it up. Only its types may be
 * imported elsewhere: importing it listens on the process's IPC channel.
 */
import { performance } from 'node:perf_hooks';
import { importScl, type SclModel } from '../../src/protocols/iec61850/scl';
import { Iec61850Server } from '../../src/protocols/iec61850/server';
import { el } from '../../src/protocols/xml';
import { Session } from '../../src/protocols/xmpp';
import { serveCommands } from './command-child';
import { IEC_RESOURCE, MODEL_TEXT, NS_BENCH, WATT_REF, wattOf } from './iec61850-support';
import { waitOnline } from './rounds';

export interface FleetSetup {
    host: string;
    port: number;
    domain: string;
    tls: 'none' | 'starttls';
    /** How the sessions trust Prosody's certificate under STARTTLS. */
    trust: { ca: string } | { fingerprint: string };
    /** Accounts hp0..hp(n-1), in order: [user, password]. */
    accounts: Array<[string, string]>;
    /** `shared`: one parsed SclModel for every server; `each`: one parse per server. */
    model: 'shared' | 'each';
    /** Sessions started at once while connecting. */
    batch: number;
}

export interface Memory {
    rss: number;
    heapUsed: number;
    /** V8's heap as reserved (live objects, garbage not yet returned, and the young generation's room). */
    heapTotal: number;
    external: number;
    arrayBuffers: number;
    /** From /proc/self/smaps_rollup (bytes): freed pages the kernel has not taken back yet, and transparent huge pages. */
    lazyFree?: number;
    anonHugePages?: number;
}

function smaps(field: string): number | undefined {
    try {
        const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
        return m ? Number(m[1]) * 1024 : undefined;
    } catch {
        return undefined;
    }
}

export type ToServers =
    | { cmd: 'sessions'; setup: FleetSetup }
    | { cmd: 'servers' }
    | { cmd: 'update'; cycle: number }
    | { cmd: 'memory' }
    | { cmd: 'close' };

export type FromServers =
    | { event: 'sessions'; memoryBefore: Memory; memory: Memory; ms: number; gc: boolean }
    | { event: 'servers'; memory: Memory; ms: number; modelMutated: boolean }
    | { event: 'updated'; ms: number }
    | { event: 'memory'; memory: Memory; associations: number; warnings: string[] }
    | { event: 'closed' }
    | { event: 'error'; error: string };

const gc = (globalThis as { gc?: () => void }).gc;
/** Quiet time before a memory reading. */
const SETTLE_MS = Number(process.env.DERLINK_FLEET_SETTLE_MS ?? 8000);

function memory(): Memory {
    // Twice: a full GC can leave work (weak callbacks, finalisers) that the second one completes.
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    return {
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        lazyFree: smaps('LazyFree'),
        anonHugePages: smaps('AnonHugePages'),
    };
}

const sessions: Session[] = [];
const servers: Iec61850Server[] = [];
const warnings: string[] = [];
let associations = 0;
let setup: FleetSetup | undefined;

function send(message: FromServers): void {
    process.send?.(message);
}

function warn(what: string, err: Error): void {
    if (warnings.length < 20) warnings.push(`${what}: ${err.message}`);
}

async function openSessions(s: FleetSetup): Promise<void> {
    setup = s;
    const before = memory();
    const t0 = performance.now();
    for (let i = 0; i < s.accounts.length; i += s.batch) {
        const batch = s.accounts.slice(i, i + s.batch).map(([user, password]) => {
            const session = new Session({
                jid: `${user}@${s.domain}`,
                password,
                resource: IEC_RESOURCE,
                host: s.host,
                port: s.port,
                tls: s.tls,
                trust: s.trust,
                connectTimeoutMs: 30_000,
            });
            session.on('warning', (err) => warn(user, err));
            session.handleIq('get', NS_BENCH, 'echo', (req) => el('echo', { xmlns: NS_BENCH }, req.payload.text()));
            sessions.push(session);
            session.start();
            return waitOnline(session, 60_000);
        });
        await Promise.all(batch);
    }
    const ms = performance.now() - t0;
    send({ event: 'sessions', memoryBefore: before, memory: memory(), ms, gc: gc !== undefined });
}

/** A fingerprint of the model's values: changes when a server writes into the model it was given. */
function modelValues(model: SclModel): string {
    const seen = new WeakSet<object>();
    return JSON.stringify(model.server, (_key, value: unknown) => {
        if (typeof value === 'function') return undefined;
        if (value !== null && typeof value === 'object') {
            if (seen.has(value)) return '[seen]';
            seen.add(value);
        }
        return value;
    });
}

function openServers(): void {
    if (!setup) throw new Error('servers before sessions');
    const t0 = performance.now();
    const shared = setup.model === 'shared' ? importScl(MODEL_TEXT) : undefined;
    const sharedBefore = shared ? modelValues(shared) : undefined;
    let probe: { model: SclModel; before: string } | undefined;
    sessions.forEach((session, i) => {
        const model = shared ?? importScl(MODEL_TEXT);
        if (i === 0 && !shared) probe = { model, before: modelValues(model) };
        const server = new Iec61850Server(session, { model, access: { associate: ['*'], read: ['*'] } });
        server.on('warning', (err) => warn(`server ${i}`, err));
        server.on('association', (e) => {
            if (e.type === 'open') associations++;
            else if (e.type !== 'conclude')
                warn(`server ${i}`, new Error(`association ${e.type}: ${JSON.stringify(e)}`));
        });
        servers.push(server);
        update(i, 0);
    });
    const ms = performance.now() - t0;
    // Does the engine write into the SclModel it was handed (so that servers cannot share one)?
    const modelMutated = shared
        ? modelValues(shared) !== sharedBefore
        : probe
          ? modelValues(probe.model) !== probe.before
          : false;
    send({ event: 'servers', memory: memory(), ms, modelMutated });
}

function update(i: number, cycle: number): void {
    const result = servers[i]?.update(WATT_REF, wattOf(i, cycle));
    if (result?.error) throw new Error(`server ${i}: update of ${WATT_REF} refused: ${result.error}`);
}

async function closeAll(): Promise<void> {
    for (const server of servers) server.close();
    for (let i = 0; i < sessions.length; i += 100) {
        await Promise.all(sessions.slice(i, i + 100).map((s) => s.close(1000)));
    }
}

async function handle(message: ToServers): Promise<void> {
    switch (message.cmd) {
        case 'sessions':
            await openSessions(message.setup);
            return;
        case 'servers':
            openServers();
            return;
        case 'update': {
            const t0 = performance.now();
            for (let i = 0; i < servers.length; i++) update(i, message.cycle);
            send({ event: 'updated', ms: performance.now() - t0 });
            return;
        }
        case 'memory': {
            // Measured at rest: after the last answers were acknowledged (the session asks 5 s after
            // a burst) and V8 had time to give back what the burst made it take; the same for the
            // bare sessions and the engines.
            await new Promise((r) => setTimeout(r, SETTLE_MS));
            send({ event: 'memory', memory: memory(), associations, warnings: [...warnings] });
            return;
        }
        case 'close':
            await closeAll();
            send({ event: 'closed' });
            process.disconnect?.();
            return;
    }
}

serveCommands<ToServers>(handle, 2000);
