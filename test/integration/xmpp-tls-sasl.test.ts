/**
 * SASL mechanism choice against real servers, and self-signed certificates: a Prosody with a
 * self-signed certificate that offers only PLAIN (the explicit self-signed opt-in, pinning
 * instead of it, PLAIN over TLS but never in clear), and one that offers SCRAM-SHA-1 but not
 * SCRAM-SHA-256.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Session, type XmppError } from '../../src/protocols/xmpp';
import { type Prosody, startProsody } from '../support/prosody';
import { accountOptions, nextState, online } from '../support/xmpp';

/** Logs in and returns the negotiation steps (the chosen SASL mechanism among them). */
async function loginSteps(on: Prosody, user: string, extra: Parameters<typeof accountOptions>[2]): Promise<string[]> {
    const steps: string[] = [];
    const s = await online(on, user, { ...extra, logger: { debug: (m) => steps.push(m) } });
    await s.close();
    return steps;
}

let server: Prosody;
const sessions: Session[] = [];

before(async () => {
    server = await startProsody({
        accounts: { meter: 'meter-pw' },
        selfSigned: true,
        disableMechanisms: ['SCRAM-SHA-1', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'],
        // The server would take PLAIN in clear; the client must still refuse to send it.
        plainInClear: true,
    });
});

after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await server?.stop();
    server?.cleanup();
});

async function failsWith(
    extra: Parameters<typeof accountOptions>[2],
    state: 'tls-failed' | 'auth-failed',
): Promise<XmppError> {
    const s = new Session(accountOptions(server, 'meter', extra));
    const failed = nextState(s, state, 8000);
    s.start();
    const info = await failed;
    await s.close();
    return info.error as XmppError;
}

describe('self-signed server certificate', () => {
    test('is refused unless the account opts in, with a hint how to trust it', { timeout: 30_000 }, async () => {
        const err = await failsWith({ trust: {}, resource: 'strict' }, 'tls-failed');
        assert.equal(err.code, 'TLS_FAILED');
        assert.match(err.message, /DEPTH_ZERO_SELF_SIGNED_CERT/);
        assert.match(err.message, /pin its fingerprint, or allow self-signed/);
    });

    test('is accepted with "accept self-signed"; only PLAIN is offered, and it is used because the stream is encrypted', {
        timeout: 30_000,
    }, async () => {
        const steps: string[] = [];
        const s = await online(server, 'meter', {
            trust: { allowSelfSigned: true },
            resource: 'lenient',
            logger: { debug: (m) => steps.push(m) },
        });
        sessions.push(s);
        assert.match(s.jid ?? '', /\/lenient$/);
        assert.ok(
            steps.some((m) => /authenticate with PLAIN \(offered: PLAIN\)/.test(m)),
            steps.join('\n'),
        );
    });

    test('is accepted when its fingerprint is pinned, without the self-signed opt-in', {
        timeout: 30_000,
    }, async () => {
        const s = await online(server, 'meter', { trust: { fingerprint: server.fingerprint }, resource: 'pinned' });
        sessions.push(s);
        assert.match(s.jid ?? '', /\/pinned$/);
    });

    test('direct TLS with the opt-in works the same way', { timeout: 30_000 }, async () => {
        const s = await online(server, 'meter', {
            tls: 'direct',
            port: server.directTlsPort,
            trust: { allowSelfSigned: true },
            resource: 'direct',
        });
        sessions.push(s);
        assert.match(s.jid ?? '', /\/direct$/);
    });
});

describe('PLAIN never in clear', () => {
    test('an account without TLS refuses a server that offers only PLAIN, saying why', {
        timeout: 30_000,
    }, async () => {
        const err = await failsWith({ tls: 'none', resource: 'clear' }, 'auth-failed');
        assert.equal(err.code, 'AUTH_FAILED');
        assert.match(err.message, /refuses to send a password in clear/);
    });
});

describe('SCRAM variants', () => {
    test('SCRAM-SHA-256 is chosen when offered (Prosody 0.12 offers it next to SCRAM-SHA-1)', {
        timeout: 30_000,
    }, async () => {
        const full = await startProsody({ accounts: { meter: 'meter-pw' } });
        try {
            const steps = await loginSteps(full, 'meter', { resource: 'sha256' });
            assert.ok(
                steps.some((m) => /authenticate with SCRAM-SHA-256 \(offered: .*SCRAM-SHA-1/.test(m)),
                steps.join('\n'),
            );
        } finally {
            await full.stop();
            full.cleanup();
        }
    });

    test('SCRAM-SHA-1 is used, server signature checked, when SCRAM-SHA-256 is not offered', {
        timeout: 30_000,
    }, async () => {
        const sha1 = await startProsody({
            accounts: { meter: 'meter-pw' },
            disableMechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'],
        });
        try {
            const steps = await loginSteps(sha1, 'meter', { resource: 'sha1' });
            assert.ok(
                steps.some((m) => /authenticate with SCRAM-SHA-1 \(offered: (?!.*SCRAM-SHA-256)/.test(m)),
                steps.join('\n'),
            );
            const wrong = new Session(accountOptions(sha1, 'meter', { password: 'not-the-password', resource: 'bad' }));
            const failed = nextState(wrong, 'auth-failed', 8000);
            wrong.start();
            assert.match((await failed).error?.message ?? '', /not-authorized/);
            await wrong.close();
        } finally {
            await sha1.stop();
            sha1.cleanup();
        }
    });
});
