/**
 * The load generator of greenbutton-server.bench.ts, in a process of its own so that the server process's CPU is its
 * own: HTTPS GET requests over `connections` keep-alive connections (one https.Agent with keepAlive, maxSockets =
 * connections, the server's certificate as its `ca`; nothing process-wide is touched), each checked: status 200 and
 * exactly one `<entry>` in the body (anything else counts as an error, with a few samples kept).
 *
 * Loads:
 *  - closed loop: one request in flight per connection, the next sent as soon as the previous one's body has
 *    arrived: the most the server sustains;
 *  - open loop: a fixed total rate, due requests sent every millisecond; when every connection is busy they queue
 *    in the agent. Latency is taken from the scheduled send time, so a server that falls behind shows it.
 *
 * Two commands per load, so the benchmark can sample its own CPU over the same window: `start` opens the
 * connections and runs the load for the warm-up, answering `started` while the load goes on; `measure` opens the
 * window on arrival, runs it for `durationMs`, stops the load, waits for what is in flight and answers `measured`.
 *
 * Not a benchmark itself (no `.bench.ts`): run.ts does not pick it up. Only its types may be imported elsewhere:
 * importing it listens on the process's IPC channel.
 */
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { serveCommands } from './command-child';

export interface LoadSpec {
    host: string;
    port: number;
    path: string;
    /** The server's certificate (PEM), trusted by this load's agent only. */
    ca: string;
    /** The Authorization header, or none. */
    authorization?: string;
    connections: number;
    /** Open loop: requests per second in total; closed loop when absent. */
    rate?: number;
    warmupMs: number;
}

export interface LoadReport {
    /** Responses that arrived in the window (checked or not). */
    completed: number;
    /** Of those, the ones that failed the check, and requests that failed outright. */
    errors: number;
    /** Failed requests outside the window (warm-up, drain): a sound load has none either. */
    errorsOutside: number;
    errorSamples: string[];
    /** Open loop: requests due in the window, and of those still unanswered after the drain. */
    scheduled: number;
    unfinished: number;
    seconds: number;
    perSecond: number;
    p50: number;
    p99: number;
    max: number;
    /** Connections opened over the whole load (warm-up included): more than `connections` means reconnects. */
    connectionsOpened: number;
    /** This process's CPU over the window, as a share of one core. */
    cores: number;
    /** Body size of the last good response. */
    bodyBytes: number;
}

export type ToLoad = { cmd: 'start'; spec: LoadSpec } | { cmd: 'measure'; durationMs: number } | { cmd: 'close' };

export type FromLoad =
    | { event: 'started'; connectionsOpened: number }
    | { event: 'measured'; report: LoadReport }
    | { event: 'closed' }
    | { event: 'error'; error: string };

function send(message: FromLoad): void {
    process.send?.(message);
}

function percentile(sorted: readonly number[], p: number): number {
    if (sorted.length === 0) return Number.NaN;
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One running load: its agent, its workers or pacer, and what the window records. */
class Load {
    readonly spec: LoadSpec;
    readonly agent: https.Agent;
    readonly #sockets = new WeakSet<object>();
    connectionsOpened = 0;
    stopping = false;
    /** In the window: responses, errors, latencies. */
    recording = false;
    windowStart = 0;
    completed = 0;
    errors = 0;
    /** Failed requests outside the window (warm-up, drain). */
    errorsOutside = 0;
    errorSamples: string[] = [];
    latencies: number[] = [];
    scheduled = 0;
    inFlight = 0;
    bodyBytes = 0;
    #done: Promise<void> = Promise.resolve();
    #headers: Record<string, string>;

    constructor(spec: LoadSpec) {
        this.spec = spec;
        this.agent = new https.Agent({
            keepAlive: true,
            maxSockets: spec.connections,
            maxFreeSockets: spec.connections,
            // Round robin over the connections: at a low offered rate 'lifo' would leave most of them idle until the
            // server's keep-alive timeout closes them, and open new ones in the next burst.
            scheduling: 'fifo',
            ca: spec.ca,
        });
        this.#headers = spec.authorization ? { Authorization: spec.authorization } : {};
    }

    #error(message: string): void {
        this.errors++;
        if (this.errorSamples.length < 5) this.errorSamples.push(message);
    }

    /**
     * One request; resolves when its body has arrived (or it failed), never rejects. Closed loop: a response that
     * arrives in the window counts (its latency only when it was also sent in it). Open loop: a request scheduled
     * in the window counts, whenever its response arrives.
     */
    request(scheduledAt?: number): Promise<boolean> {
        const closed = this.spec.rate === undefined;
        const t0 = scheduledAt ?? performance.now();
        const startedInWindow = this.recording && t0 >= this.windowStart;
        this.inFlight++;
        return new Promise<boolean>((resolve) => {
            let settled = false;
            const finish = (error?: string) => {
                if (settled) return;
                settled = true;
                this.inFlight--;
                if (closed ? this.recording : startedInWindow) {
                    this.completed++;
                    if (error) this.#error(error);
                    else if (startedInWindow) this.latencies.push(performance.now() - t0);
                } else if (error) {
                    this.errorsOutside++;
                    if (this.errorSamples.length < 5) this.errorSamples.push(`(outside the window) ${error}`);
                }
                resolve(error === undefined);
            };
            const req = https.request(
                {
                    agent: this.agent,
                    host: this.spec.host,
                    port: this.spec.port,
                    path: this.spec.path,
                    method: 'GET',
                    headers: this.#headers,
                },
                (res) => {
                    const parts: Buffer[] = [];
                    res.on('data', (b: Buffer) => parts.push(b));
                    res.on('error', (err) => finish(`response: ${err.message}`));
                    res.on('end', () => {
                        const body = Buffer.concat(parts).toString('utf8');
                        const first = body.indexOf('<entry>');
                        const entries = first < 0 ? 0 : body.indexOf('<entry>', first + 1) < 0 ? 1 : 2;
                        if (res.statusCode !== 200 || entries !== 1) {
                            finish(`HTTP ${res.statusCode} with ${entries} entries: ${body.slice(0, 160)}`);
                            return;
                        }
                        this.bodyBytes = body.length;
                        finish();
                    });
                },
            );
            req.on('socket', (s) => {
                if (this.#sockets.has(s)) return;
                this.#sockets.add(s);
                this.connectionsOpened++;
            });
            req.on('error', (err) => finish(`request: ${err.message}`));
            req.end();
        });
    }

    /** Starts the load (closed loop: one worker per connection; open loop: a pacer). */
    run(): void {
        if (this.spec.rate === undefined) {
            const worker = async () => {
                while (!this.stopping) {
                    // A failing server is not hammered in a tight loop.
                    if (!(await this.request())) await sleep(10);
                }
            };
            this.#done = Promise.all(Array.from({ length: this.spec.connections }, worker)).then(() => {});
            return;
        }
        const perMs = this.spec.rate / 1000;
        const t0 = performance.now();
        let sent = 0;
        this.#done = new Promise<void>((resolve) => {
            const tick = () => {
                if (this.stopping) {
                    resolve();
                    return;
                }
                const now = performance.now();
                const due = (now - t0) * perMs;
                while (sent < due) {
                    // The time this one was due: latency counts from it, not from when the pacer got round to it.
                    const at = t0 + sent / perMs;
                    sent++;
                    if (this.recording && at >= this.windowStart) this.scheduled++;
                    void this.request(at);
                }
                setTimeout(tick, 1);
            };
            tick();
        });
    }

    async stop(): Promise<void> {
        this.stopping = true;
        await this.#done;
    }
}

let current: Load | undefined;

async function start(spec: LoadSpec): Promise<void> {
    if (current) throw new Error('a load is already running');
    const load = new Load(spec);
    current = load;
    load.run();
    await sleep(spec.warmupMs);
    send({ event: 'started', connectionsOpened: load.connectionsOpened });
}

async function measure(durationMs: number): Promise<LoadReport> {
    const load = current;
    if (!load) throw new Error('no load is running');
    load.windowStart = performance.now();
    load.recording = true;
    const cpu0 = process.cpuUsage();
    await sleep(durationMs);
    const seconds = (performance.now() - load.windowStart) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const windowEnd = performance.now();
    // Closed loop: responses after the window do not count; open loop: those scheduled in it do, drained for 3 s.
    if (load.spec.rate === undefined) load.recording = false;
    const completedInWindow = load.completed;
    const stopped = load.stop();
    if (load.spec.rate !== undefined) {
        const drainUntil = windowEnd + 3000;
        while (load.inFlight > 0 && performance.now() < drainUntil) await sleep(10);
        load.recording = false;
    }
    await Promise.race([stopped, sleep(5000)]);
    load.agent.destroy();
    current = undefined;
    const open = load.spec.rate !== undefined;
    const completed = open ? load.completed : completedInWindow;
    const sorted = load.latencies.sort((a, b) => a - b);
    return {
        completed,
        errors: load.errors,
        errorsOutside: load.errorsOutside,
        errorSamples: load.errorSamples,
        scheduled: load.scheduled,
        unfinished: open ? load.scheduled - load.completed : 0,
        seconds,
        perSecond: completed / seconds,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] ?? Number.NaN,
        connectionsOpened: load.connectionsOpened,
        cores: (cpu.user + cpu.system) / 1e6 / seconds,
        bodyBytes: load.bodyBytes,
    };
}

async function handle(m: ToLoad): Promise<void> {
    switch (m.cmd) {
        case 'start':
            await start(m.spec);
            return;
        case 'measure':
            send({ event: 'measured', report: await measure(m.durationMs) });
            return;
        case 'close':
            await current?.stop();
            current?.agent.destroy();
            current = undefined;
            send({ event: 'closed' });
            process.disconnect?.();
            return;
    }
}

serveCommands<ToLoad>(handle, 1000);
