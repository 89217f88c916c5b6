/**
 * The load generator of lwm2m-server.bench.ts, in a process of its own so that the server
 * process's CPU and memory are its own: N simulated LwM2M clients, each its own UDP socket (the
 * server tells clients apart by address:port), spread over loopback addresses 127.0.0.x (1,000
 * sockets per address). No device engine: every datagram is built and read here from raw bytes
 * (coap-packet's parse only for the few requests the server sends).
 *
 * Each simulated client registers (CON POST /rd?ep=sim-N&lt=3600&lwm2m=1.1&b=U with a link
 * payload), answers the server's GET /3316/0/5700 with Observe: 0 (2.05 piggy-backed, Observe,
 * text/plain), and then, on command, sends:
 *  - `notify`: notifications on that observation (2.05, same token, increasing Observe numbers,
 *    Content-Format 0);
 *  - `post`: the same shape as a request for a bare CoAP server (POST /3316/0/5700,
 *    Content-Format 0, same token length and payload), the benchmark's baseline.
 * Every payload is the send time as text (ms since an epoch the benchmark chooses, 3 decimals,
 * process.hrtime (CLOCK_MONOTONIC) on both sides: one machine clock).
 *
 * Loads: open loop at a fixed total rate (NON or CON; CONs are not retransmitted, an
 * unacknowledged one counts as lost), or closed loop (CON only): `window` messages in flight on
 * distinct clients, the next sent as soon as one is acknowledged, which measures the most the
 * server sustains.
 *
 * Not a benchmark itself (no `.bench.ts`): run.ts does not pick it up. Only its types may be
 * imported elsewhere: importing it listens on the process's IPC channel.
 */

import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { generate, parse } from 'coap-packet';
import { serveCommands } from './command-child';

export type ToLoad =
    | { cmd: 'setup'; n: number; perAddress: number }
    | { cmd: 'register'; host: string; port: number; inFlight: number }
    | { cmd: 'load'; load: LoadSpec }
    | { cmd: 'close' };

export interface LoadSpec {
    host: string;
    port: number;
    /** `notify`: notifications on the observation; `post`: POST requests to a bare CoAP server. */
    kind: 'notify' | 'post';
    confirmable: boolean;
    /** Open loop: messages per second in total. */
    rate?: number;
    /** Closed loop (CON): messages in flight. */
    window?: number;
    durationMs: number;
    /** Payload times are ms since this (process.hrtime, in ms). */
    epoch: number;
}

export interface LoadReport {
    sent: number;
    /** CONs acknowledged (0 for NON). */
    acked: number;
    /** Measured length of the sending window. */
    seconds: number;
    /** This process's CPU (user + system) over the window, ms. */
    cpuMs: number;
}

export type FromLoad =
    | { event: 'ready'; sockets: number; addresses: number; ms: number }
    | { event: 'registered'; ok: number; failed: number; retransmits: number; ms: number; cpuMs: number }
    | { event: 'loaded'; report: LoadReport; observed: number }
    | { event: 'closed' }
    | { event: 'error'; error: string };

const LINKS = Buffer.from('</>;rt="oma.lwm2m";ct="60 110 112 11542",</3/0>,</3316/0>');
const REGISTER_TIMEOUT_MS = 3000;
const REGISTER_TRIES = 5;

interface Sim {
    index: number;
    sock: dgram.Socket;
    endpoint: string;
    /** Register exchange. */
    regToken: Buffer;
    regMid: number;
    registered: boolean;
    onRegistered?: (ok: boolean) => void;
    /** The observation the server holds on /3316/0/5700 (its token), once it asked. */
    token?: Buffer;
    observe: number;
    mid: number;
    /** Message ID of the CON in flight on this client, or -1. */
    outstanding: number;
    sentAt: number;
}

const sims: Sim[] = [];
let observed = 0;
/** Called when a CON of the current load is acknowledged. */
let onAck: ((sim: Sim) => void) | undefined;

function send(message: FromLoad): void {
    process.send?.(message);
}

/** CLOCK_MONOTONIC in ms: one clock for every process on the machine (timeOrigin differs between processes by ms). */
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// ---- raw CoAP: the few shapes this generator sends -------------------------------------------

/** Option value of a CoAP uint (RFC 7252 §3.2): big-endian, no leading zero bytes, empty for 0. */
function uintBytes(v: number): Buffer {
    const out: number[] = [];
    for (let x = v; x > 0; x = Math.floor(x / 256)) out.unshift(x & 0xff);
    return Buffer.from(out);
}

/** A CoAP message from options already in number order; every delta and length under 13. */
function message(
    type: 0 | 1 | 2,
    code: number,
    mid: number,
    token: Buffer,
    opts: ReadonlyArray<readonly [number, Buffer]>,
    payload: Buffer,
): Buffer {
    let size = 4 + token.length + (payload.length > 0 ? 1 + payload.length : 0);
    for (const [, v] of opts) size += 1 + v.length;
    const out = Buffer.allocUnsafe(size);
    out[0] = 0x40 | (type << 4) | token.length;
    out[1] = code;
    out.writeUInt16BE(mid, 2);
    let at = 4 + token.copy(out, 4);
    let last = 0;
    for (const [num, v] of opts) {
        const delta = num - last;
        if (delta >= 13 || v.length >= 13) throw new Error('option too large for this encoder');
        out[at++] = (delta << 4) | v.length;
        at += v.copy(out, at);
        last = num;
    }
    if (payload.length > 0) {
        out[at++] = 0xff;
        payload.copy(out, at);
    }
    return out;
}

const CODE_205 = (2 << 5) | 5;
const CODE_POST = 2;
const OPT_OBSERVE = 6;
const OPT_URI_PATH = 11;
const OPT_CONTENT_FORMAT = 12;
const TEXT = Buffer.alloc(0); // Content-Format 0 (text/plain) is the empty uint
const PATH = ['3316', '0', '5700'].map((s) => [OPT_URI_PATH, Buffer.from(s)] as const);

function value(epoch: number): Buffer {
    return Buffer.from((nowMs() - epoch).toFixed(3));
}

function notification(sim: Sim, confirmable: boolean, epoch: number): Buffer {
    sim.observe = (sim.observe + 1) & 0xffffff;
    sim.mid = (sim.mid + 1) & 0xffff;
    return message(
        confirmable ? 0 : 1,
        CODE_205,
        sim.mid,
        sim.token as Buffer,
        [
            [OPT_OBSERVE, uintBytes(sim.observe)],
            [OPT_CONTENT_FORMAT, TEXT],
        ],
        value(epoch),
    );
}

function post(sim: Sim, confirmable: boolean, epoch: number): Buffer {
    sim.mid = (sim.mid + 1) & 0xffff;
    return message(
        confirmable ? 0 : 1,
        CODE_POST,
        sim.mid,
        sim.token as Buffer,
        [...PATH, [OPT_CONTENT_FORMAT, TEXT]],
        value(epoch),
    );
}

// ---- what the server sends to a simulated client -----------------------------------------------

function onMessage(sim: Sim, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 4) return;
    const type = ((msg[0] as number) >> 4) & 3;
    const code = msg[1] as number;
    const mid = msg.readUInt16BE(2);
    // Fast path, the load: the ACK (empty, or piggy-backed 2.04 from the bare server) of our CON.
    if (type === 2 && mid === sim.outstanding && sim.registered) {
        sim.outstanding = -1;
        onAck?.(sim);
        return;
    }
    if (code >> 5 === 0 && code !== 0) {
        onRequest(sim, msg, rinfo);
        return;
    }
    if (!sim.registered && code >> 5 === 2) {
        // The Register answer: piggy-backed on the ACK, or a separate CON response.
        const tkl = (msg[0] as number) & 0x0f;
        const token = msg.subarray(4, 4 + tkl);
        if (!token.equals(sim.regToken)) return;
        if (type === 0)
            sim.sock.send(message(2, 0, mid, Buffer.alloc(0), [], Buffer.alloc(0)), rinfo.port, rinfo.address);
        const ok = code === ((2 << 5) | 1);
        sim.registered = ok;
        sim.onRegistered?.(ok);
    }
}

/** The server's requests: only GET /3316/0/5700 with Observe: 0 is expected (anything else gets 4.04). */
function onRequest(sim: Sim, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let packet: ReturnType<typeof parse>;
    try {
        packet = parse(msg);
    } catch {
        return;
    }
    const path = packet.options
        .filter((o) => o.name === 'Uri-Path')
        .map((o) => o.value.toString())
        .join('/');
    const observe = packet.options.find((o) => o.name === 'Observe');
    const isObserve = packet.code === '0.01' && path === '3316/0/5700' && observe && observe.value.length === 0;
    if (!packet.confirmable) sim.mid = (sim.mid + 1) & 0xffff;
    const answer = isObserve
        ? generate({
              code: '2.05',
              messageId: packet.messageId,
              token: packet.token,
              ack: packet.confirmable,
              confirmable: false,
              options: [
                  { name: 'Observe', value: uintBytes(sim.observe) },
                  { name: 'Content-Format', value: TEXT },
              ],
              payload: Buffer.from('0.000'),
          })
        : generate({
              code: '4.04',
              messageId: packet.confirmable ? packet.messageId : sim.mid,
              token: packet.token,
              ack: packet.confirmable,
              confirmable: false,
          });
    if (isObserve) {
        if (!sim.token) observed++;
        sim.token = Buffer.from(packet.token);
    }
    sim.sock.send(answer, rinfo.port, rinfo.address);
}

// ---- commands ------------------------------------------------------------------------------------

async function setup(n: number, perAddress: number): Promise<void> {
    const t0 = performance.now();
    const addresses = Math.ceil(n / perAddress);
    if (addresses > 250) throw new Error(`${n} clients at ${perAddress} per address need more than 250 addresses`);
    for (let i = 0; i < n; i += 500) {
        await Promise.all(
            Array.from({ length: Math.min(500, n - i) }, (_, k) => {
                const index = i + k;
                const sock = dgram.createSocket('udp4');
                const sim: Sim = {
                    index,
                    sock,
                    endpoint: `sim-${index}`,
                    regToken: Buffer.from([index >> 24, index >> 16, index >> 8, index].map((b) => b & 0xff)),
                    regMid: 0,
                    registered: false,
                    observe: 1,
                    mid: Math.floor(Math.random() * 0x10000),
                    outstanding: -1,
                    sentAt: 0,
                };
                sims.push(sim);
                sock.on('message', (msg, rinfo) => onMessage(sim, msg, rinfo));
                sock.on('error', () => {});
                return new Promise<void>((resolve, reject) => {
                    sock.once('error', reject);
                    sock.bind(0, `127.0.0.${1 + Math.floor(index / perAddress)}`, () => {
                        sock.off('error', reject);
                        resolve();
                    });
                });
            }),
        );
    }
    send({ event: 'ready', sockets: sims.length, addresses, ms: performance.now() - t0 });
}

function registerOne(sim: Sim, host: string, port: number, counters: { retransmits: number }): Promise<boolean> {
    return new Promise((resolve) => {
        let tries = 0;
        let timer: NodeJS.Timeout | undefined;
        sim.onRegistered = (ok) => {
            clearTimeout(timer);
            sim.onRegistered = undefined;
            resolve(ok);
        };
        sim.regMid = sim.mid = (sim.mid + 1) & 0xffff;
        const datagram = message(
            0,
            CODE_POST,
            sim.regMid,
            sim.regToken,
            [
                [OPT_URI_PATH, Buffer.from('rd')],
                [OPT_CONTENT_FORMAT, uintBytes(40)],
                [15, Buffer.from(`ep=${sim.endpoint}`)],
                [15, Buffer.from('lt=3600')],
                [15, Buffer.from('lwm2m=1.1')],
                [15, Buffer.from('b=U')],
            ],
            LINKS,
        );
        const attempt = () => {
            if (tries++ > 0) counters.retransmits++;
            if (tries > REGISTER_TRIES) {
                sim.onRegistered = undefined;
                resolve(false);
                return;
            }
            sim.sock.send(datagram, port, host);
            timer = setTimeout(attempt, REGISTER_TIMEOUT_MS * 2 ** (tries - 1));
        };
        attempt();
    });
}

async function register(host: string, port: number, inFlight: number): Promise<void> {
    const counters = { retransmits: 0 };
    let next = 0;
    let ok = 0;
    let failed = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const worker = async () => {
        while (next < sims.length) {
            const sim = sims[next++] as Sim;
            if (await registerOne(sim, host, port, counters)) ok++;
            else failed++;
        }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const cpu = process.cpuUsage(cpu0);
    send({
        event: 'registered',
        ok,
        failed,
        retransmits: counters.retransmits,
        ms: performance.now() - t0,
        cpuMs: (cpu.user + cpu.system) / 1000,
    });
}

async function load(spec: LoadSpec): Promise<LoadReport> {
    const ready = sims.filter((s) => s.token !== undefined);
    if (ready.length === 0) throw new Error('no simulated client is observed');
    for (const s of ready) s.outstanding = -1;
    const build = spec.kind === 'notify' ? notification : post;
    let sent = 0;
    let acked = 0;
    let cursor = 0;
    const sendOne = (sim: Sim) => {
        const datagram = build(sim, spec.confirmable, spec.epoch);
        if (spec.confirmable) {
            sim.outstanding = sim.mid;
            sim.sentAt = performance.now();
        }
        sim.sock.send(datagram, spec.port, spec.host);
        sent++;
    };
    /** The next client with nothing in flight (round robin), or undefined when all are busy. */
    const nextFree = (): Sim | undefined => {
        for (let k = 0; k < ready.length; k++) {
            const sim = ready[cursor] as Sim;
            cursor = (cursor + 1) % ready.length;
            if (sim.outstanding === -1) return sim;
        }
        return undefined;
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let stopping = false;
    await new Promise<void>((resolve) => {
        if (spec.window !== undefined) {
            // Closed loop: `window` CONs in flight; an ACK sends the next.
            onAck = (_sim) => {
                acked++;
                if (stopping) return;
                const sim = nextFree();
                if (sim) sendOne(sim);
            };
            // Opened 16 at a time every 5 ms, not as one burst into the server's receive buffer.
            let opened = 0;
            const open = (): void => {
                for (let k = 0; k < 16 && opened < (spec.window ?? 0) && !stopping; k++, opened++) {
                    const sim = nextFree();
                    if (sim) sendOne(sim);
                }
                if (opened < (spec.window ?? 0) && !stopping) setTimeout(open, 5);
            };
            open();
            // A CON that went unanswered for 2 s is counted lost and its slot reused.
            const reaper = setInterval(() => {
                const now = performance.now();
                for (const sim of ready) {
                    if (sim.outstanding !== -1 && now - sim.sentAt > 2000) {
                        sim.outstanding = -1;
                        const s = nextFree();
                        if (s && !stopping) sendOne(s);
                    }
                }
            }, 500);
            setTimeout(() => {
                stopping = true;
                clearInterval(reaper);
                resolve();
            }, spec.durationMs);
            return;
        }
        // Open loop: every millisecond, send what the rate owes by now, round robin over the clients.
        const rate = spec.rate ?? 1000;
        onAck = () => {
            acked++;
        };
        const tick = () => {
            const elapsed = performance.now() - t0;
            const due = Math.min(spec.durationMs, elapsed) * (rate / 1000);
            while (sent < due) {
                const sim = ready[cursor] as Sim;
                cursor = (cursor + 1) % ready.length;
                sendOne(sim);
            }
            if (elapsed >= spec.durationMs) {
                resolve();
                return;
            }
            setTimeout(tick, 1);
        };
        tick();
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    // Late ACKs still count for a moment; then the load is over.
    await new Promise((r) => setTimeout(r, 300));
    onAck = undefined;
    for (const s of ready) s.outstanding = -1;
    return { sent, acked, seconds, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function closeAll(): Promise<void> {
    await Promise.all(sims.map((s) => new Promise<void>((r) => s.sock.close(() => r()))));
    sims.length = 0;
}

async function handle(m: ToLoad): Promise<void> {
    switch (m.cmd) {
        case 'setup':
            await setup(m.n, m.perAddress);
            return;
        case 'register':
            await register(m.host, m.port, m.inFlight);
            return;
        case 'load':
            send({ event: 'loaded', report: await load(m.load), observed });
            return;
        case 'close':
            await closeAll();
            send({ event: 'closed' });
            process.disconnect?.();
            return;
    }
}

serveCommands<ToLoad>(handle, 1000);
