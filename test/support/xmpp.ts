/** Helpers for tests that drive DERlink Sessions against a real Prosody. */
import { Session, type SessionOptions, type SessionState, type StateInfo } from '../../src/protocols/xmpp';
import type { Prosody } from './prosody';

/** Resolves when `predicate` holds, polling every 20 ms; rejects with `what` after `timeoutMs`. */
export async function waitFor(
    predicate: () => boolean,
    timeoutMs: number,
    what: string | (() => string),
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
        if (Date.now() > deadline) {
            throw new Error(
                `Timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`,
            );
        }
        await new Promise((r) => setTimeout(r, 20));
    }
}

/** Resolves with the info of the next time the session enters `state`. */
export function nextState(session: Session, state: SessionState, timeoutMs: number): Promise<StateInfo> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            session.off('state', on);
            reject(
                new Error(
                    `${session.account.bare} did not reach ${state} within ${timeoutMs} ms (is ${session.state})`,
                ),
            );
        }, timeoutMs);
        const on = (s: SessionState, info: StateInfo) => {
            if (s !== state) return;
            clearTimeout(timer);
            session.off('state', on);
            resolve(info);
        };
        session.on('state', on);
    });
}

/** Options for an account of the test server, trusting its CA for this account only. */
export function accountOptions(server: Prosody, user: string, extra: Partial<SessionOptions> = {}): SessionOptions {
    const password = server.accounts[user];
    if (password === undefined) throw new Error(`No account ${user} on the test server`);
    return {
        jid: `${user}@${server.domain}`,
        password,
        host: server.host,
        port: server.port,
        tls: 'starttls',
        trust: { ca: server.caPem },
        reconnect: { minMs: 200, maxMs: 2000 },
        connectTimeoutMs: 5000,
        ...extra,
    };
}

/** A started session that is online (or rejects with the state it ended in). */
export async function online(server: Prosody, user: string, extra: Partial<SessionOptions> = {}): Promise<Session> {
    const steps: string[] = [];
    const t0 = Date.now();
    const session = new Session({
        logger: {
            debug: (m) => steps.push(`${Date.now() - t0} ms ${m}`),
            warn: (m) => steps.push(`${Date.now() - t0} ms WARN ${m}`),
        },
        ...accountOptions(server, user, extra),
    });
    const up = nextState(session, 'online', 10_000);
    session.start();
    try {
        await up;
    } catch (err) {
        throw new Error(`${(err as Error).message}; steps: ${steps.join(' | ')}`);
    }
    return session;
}

/** Collects every event of one kind a session emits. */
export function collect<T>(
    session: Session,
    event: 'presence' | 'subscription' | 'roster' | 'message' | 'warning',
): T[] {
    const out: T[] = [];
    (session as unknown as { on(e: string, f: (x: T) => void): void }).on(event, (x: T) => out.push(x));
    return out;
}
