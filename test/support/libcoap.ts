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
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
    });
    child.stderr?.on('data', () => undefined);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    return {
        child,
        output: () => out,
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
