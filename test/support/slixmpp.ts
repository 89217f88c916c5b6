/**
 * Runs the slixmpp peer (test/peers/slixmpp_iot.py, Debian python3-slixmpp) as a device or a
 * client and talks to it in JSON lines.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ensureDebianPackages } from './debian';
import type { Prosody } from './prosody';

const SCRIPT = path.resolve(__dirname, '..', 'peers', 'slixmpp_iot.py');

export interface SlixmppPeer {
    /** The bound full JID. */
    jid: string;
    /** Every JSON line the peer printed. */
    lines: Array<Record<string, unknown>>;
    /** Sends a command and waits for the answer with the same id. */
    command(cmd: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>;
    /** Waits until a line satisfies `predicate`. */
    waitFor(
        predicate: (line: Record<string, unknown>) => boolean,
        timeoutMs?: number,
    ): Promise<Record<string, unknown>>;
    stop(): Promise<void>;
    stderr(): string;
}

export function ensureSlixmpp(): void {
    ensureDebianPackages(['python3-slixmpp']);
}

export async function startSlixmpp(
    server: Prosody,
    mode: 'device' | 'client',
    user: string,
    resource = mode,
): Promise<SlixmppPeer> {
    ensureSlixmpp();
    const password = server.accounts[user];
    if (password === undefined) throw new Error(`No account ${user} on the test server`);
    const ca = path.join(server.dir, 'slixmpp-ca.pem');
    writeFileSync(ca, server.caPem);
    const child: ChildProcessWithoutNullStreams = spawn(
        '/usr/bin/python3',
        [
            SCRIPT,
            mode,
            '--jid',
            `${user}@${server.domain}/${resource}`,
            '--password',
            password,
            '--host',
            server.host,
            '--port',
            String(server.port),
            '--ca',
            ca,
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const lines: Array<Record<string, unknown>> = [];
    const waiters = new Set<{
        predicate: (l: Record<string, unknown>) => boolean;
        resolve: (l: Record<string, unknown>) => void;
    }>();
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
    });
    createInterface({ input: child.stdout }).on('line', (text) => {
        let line: Record<string, unknown>;
        try {
            line = JSON.parse(text) as Record<string, unknown>;
        } catch {
            return;
        }
        lines.push(line);
        for (const w of [...waiters]) {
            if (w.predicate(line)) {
                waiters.delete(w);
                w.resolve(line);
            }
        }
    });
    const waitFor = (predicate: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
            const hit = lines.find(predicate);
            if (hit) return resolve(hit);
            const timer = setTimeout(() => {
                if (waiters.delete(w))
                    reject(
                        new Error(
                            `slixmpp ${mode} did not print the expected line within ${timeoutMs} ms; stderr:\n${err.slice(-2000)}`,
                        ),
                    );
            }, timeoutMs);
            // A line that arrives clears the timer, so that a finished test leaves nothing running.
            const w = {
                predicate,
                resolve: (l: Record<string, unknown>) => {
                    clearTimeout(timer);
                    resolve(l);
                },
            };
            waiters.add(w);
        });
    const online = await waitFor((l) => l.event === 'online' || l.event === 'error', 20_000);
    if (online.event !== 'online') throw new Error(`slixmpp ${mode} could not log in: ${JSON.stringify(online)}`);
    let nextId = 1;
    return {
        jid: String(online.jid),
        lines,
        waitFor,
        command(cmd, timeoutMs = 10_000) {
            const id = nextId++;
            child.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
            return waitFor((l) => l.id === id, timeoutMs);
        },
        async stop() {
            if (child.exitCode !== null) return;
            child.stdin.write('{"cmd":"quit"}\n');
            const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
            const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
            if (mode === 'device') child.kill('SIGTERM');
            await exited;
            clearTimeout(timer);
        },
        stderr: () => err,
    };
}
