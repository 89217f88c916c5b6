/**
 * libcoap's command-line tools as test peers: `coap-client-notls` against our endpoint and
 * `coap-server-notls` for our endpoint to talk to. Debian package libcoap3-bin.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { ensureDebianPackages } from './debian';

export const COAP_CLIENT = 'coap-client-notls';
export const COAP_SERVER = 'coap-server-notls';

/** Installs libcoap3-bin when missing (on a fresh CI machine, as root). */
export function ensureLibcoap(): void {
    ensureDebianPackages(['libcoap3-bin'], { 'libcoap3-bin': COAP_CLIENT });
}

export interface ClientResult {
    code: number | null;
    /** The response body as coap-client printed it (-o - writes it raw to stdout). */
    stdout: Buffer;
    stderr: string;
}

/**
 * Runs coap-client with `args` (the URI last) and collects its output. It is killed after
 * `timeoutMs`; the result then has a null code.
 */
export function coapClient(args: readonly string[], timeoutMs = 10_000): Promise<ClientResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(COAP_CLIENT, ['-B', String(Math.ceil(timeoutMs / 1000)), ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        const out: Buffer[] = [];
        let err = '';
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => {
            err += d.toString();
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 2_000);
        child.on('error', (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ code, stdout: Buffer.concat(out), stderr: err });
        });
    });
}

/** A coap-client kept running (observe); stdout is collected as it arrives. */
export interface RunningClient {
    child: ChildProcess;
    output(): string;
    exited: Promise<number | null>;
    stop(): Promise<void>;
}

export function spawnCoapClient(args: readonly string[]): RunningClient {
    const child = spawn(COAP_CLIENT, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Bytes kept whole: a UTF-8 character may be split across two pipe reads.
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => {
        chunks.push(d);
    });
    child.stderr?.on('data', () => undefined);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    return {
        child,
        output: () => Buffer.concat(chunks).toString('utf8'),
        exited,
        stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
        },
    };
}

/** A UDP port that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    const { port } = s.address();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return port;
}

export interface RunningServer {
    port: number;
    child: ChildProcess;
    stop(): Promise<void>;
}

/**
 * Starts coap-server on 127.0.0.1 (it serves /time, observable, and with `-d` lets PUT create
 * resources). Resolves once it answers a GET of /.well-known/core.
 */
export async function startCoapServer(extraArgs: readonly string[] = []): Promise<RunningServer> {
    const port = await freeUdpPort();
    const child = spawn(COAP_SERVER, ['-A', '127.0.0.1', '-p', String(port), ...extraArgs], {
        stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
    });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    const stop = async (): Promise<void> => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
    };
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`coap-server exited: ${stderr}`);
        if (await pingCoap(port)) return { port, child, stop };
        await new Promise((r) => setTimeout(r, 50));
    }
    await stop();
    throw new Error(`coap-server did not answer on port ${port}: ${stderr}`);
}

/** Sends a CoAP ping (empty CON) and waits briefly for the RST. */
function pingCoap(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = dgram.createSocket('udp4');
        const done = (ok: boolean): void => {
            clearTimeout(timer);
            s.close();
            resolve(ok);
        };
        const timer = setTimeout(() => done(false), 200);
        s.on('message', (m) => done(m.length === 4 && ((m[0] as number) & 0x30) === 0x30));
        s.on('error', () => done(false));
        s.send(Buffer.from([0x40, 0x00, 0x12, 0x34]), port, '127.0.0.1');
    });
}

/**
 * One CoAP message as coap-client prints it on stdout, sent and received alike: at `-v 6` the
 * request and the final response; at `-v 7` also each block of a block-wise transfer (and the
 * request once more as the application presented it, before it was split into blocks).
 */
export interface DumpedMessage {
    type: string;
    /** A method (`POST`) on requests, a response code (`2.01`) on responses, `0.00` when empty. */
    code: string;
    messageId: number;
    /** Token as hex. */
    token: string;
    /** Options in the order printed: `['Location-Path', 'rd']`. */
    options: Array<[string, string]>;
    /** What followed `::` (`'text'`, or libcoap's note on binary data). */
    payload?: string;
}

const DUMP_LINE = /v:1 t:(CON|NON|ACK|RST) c:(\S+) i:([0-9a-f]+) \{([0-9a-f]*)\} \[(.*?)\](?: :: (.*))?$/gm;

/** Picks the message dumps out of coap-client's `-v 6`/`-v 7` output (log lines are skipped). */
export function parseCoapDump(text: string): DumpedMessage[] {
    const out: DumpedMessage[] = [];
    for (const m of text.matchAll(DUMP_LINE)) {
        const options: Array<[string, string]> = [];
        for (const part of (m[5] as string).split(',')) {
            const t = part.trim();
            if (t === '') continue;
            const colon = t.indexOf(':');
            options.push(colon < 0 ? [t, ''] : [t.slice(0, colon), t.slice(colon + 1)]);
        }
        const msg: DumpedMessage = {
            type: m[1] as string,
            code: m[2] as string,
            messageId: Number.parseInt(m[3] as string, 16),
            token: m[4] as string,
            options,
        };
        if (m[6] !== undefined) msg.payload = m[6];
        out.push(msg);
    }
    return out;
}

/** Whether a dumped message is a response (its code is `c.dd` with c in 2..5). */
export function isResponse(m: DumpedMessage): boolean {
    return /^[2-5]\.\d\d$/.test(m.code);
}

export interface Exchange extends ClientResult {
    /** Every message coap-client printed, requests and responses. */
    messages: DumpedMessage[];
    /** The responses only, in the order they came. */
    responses: DumpedMessage[];
    /** The last response (undefined when none came). */
    last: DumpedMessage | undefined;
}

/**
 * Runs coap-client at `-v 7` so that it prints each message it sends and receives (every block
 * included), and parses them: coap-client exits 0 whatever the response code, so the code is read
 * from these dumps. Pass `-o file` to keep the response body out of stdout.
 */
export async function coapExchange(args: readonly string[], timeoutMs = 10_000): Promise<Exchange> {
    const r = await coapClient(['-v', '7', ...args], timeoutMs);
    const messages = parseCoapDump(r.stdout.toString('utf8'));
    const responses = messages.filter(isResponse);
    return { ...r, messages, responses, last: responses[responses.length - 1] };
}

/** The values of option `name` in a dumped message. */
export function dumpOption(m: DumpedMessage | undefined, name: string): string[] {
    return (m?.options ?? []).filter(([n]) => n === name).map(([, v]) => v);
}
