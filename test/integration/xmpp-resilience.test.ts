/**
 * What happens to a Session when the server misbehaves: a dead link (Prosody frozen with
 * SIGSTOP), a crash and restart (SIGKILL), a graceful restart, a stanza over the size limit.
 * Each scenario runs on its own private Prosody.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { el, type XmlElement } from '../../src/protocols/xml';
import { type IncomingMessage, type Session, type SessionState, StanzaError } from '../../src/protocols/xmpp';
import { type Prosody, startProsody } from '../support/prosody';
import { nextState, online, waitFor } from '../support/xmpp';

const NS_TEST = 'urn:derlink:test:seq';
const ECHO = 'urn:derlink:test:echo';

let server: Prosody | undefined;
const sessions: Session[] = [];

async function use(user: string, extra: Parameters<typeof online>[2] = {}): Promise<Session> {
    const s = await online(server as Prosody, user, extra);
    sessions.push(s);
    return s;
}

afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await server?.stop();
    server?.cleanup();
    server = undefined;
});

function states(session: Session): SessionState[] {
    const seen: SessionState[] = [];
    session.on('state', (s) => seen.push(s));
    return seen;
}

describe('dead link (XEP-0199)', () => {
    test('a frozen server is detected within interval + timeout, and the session resumes when it thaws', {
        timeout: 60_000,
    }, async () => {
        server = await startProsody({ accounts: { alice: 'a', bob: 'b' } });
        const keepalive = { intervalMs: 1000, timeoutMs: 1000 };
        const alice = await use('alice', { keepalive });
        const bob = await use('bob', { keepalive });
        bob.handleIq('get', ECHO, 'echo', (req) => el('echo', { xmlns: ECHO }, req.payload.text()));
        const seen = states(alice);

        server.pause();
        const frozenAt = Date.now();
        await waitFor(() => alice.state !== 'online', 10_000, 'alice to notice the dead link');
        const detectedMs = Date.now() - frozenAt;
        // The check runs every interval/4, so detection takes at most 1.25 x interval + timeout (+ scheduling).
        assert.ok(
            detectedMs <= 1.25 * keepalive.intervalMs + keepalive.timeoutMs + 1000,
            `detected after ${detectedMs} ms`,
        );
        assert.equal(alice.state, 'resuming', 'XEP-0198 session held by the server: resume, not a new login');

        // Stanzas sent while the link is down wait in the queue.
        const sent = alice.send(el('message', { to: bob.jid, id: 'while-frozen' }, el('body', {}, 'queued')));
        const received: string[] = [];
        bob.on('message', (m) => received.push(m.attr('id') ?? ''));
        assert.ok(alice.queued >= 1);

        server.resume();
        const info = await nextState(alice, 'online', 15_000);
        assert.equal(info.resumed, true, 'the session was resumed');
        await sent;
        await waitFor(() => received.includes('while-frozen'), 10_000, 'the queued message');
        assert.deepEqual(
            seen.filter((s, i) => s !== seen[i - 1]),
            seen.filter((s, i) => s !== seen[i - 1]).filter((s) => ['resuming', 'online'].includes(s)),
            `only resuming/online expected, saw ${seen.join(' > ')}`,
        );
        assert.equal((await alice.request(bob.jid, 'get', el('echo', { xmlns: ECHO }, 'after')))?.text(), 'after');
    });
});

describe('server crash and restart', () => {
    test('kill -9 and restart mid-stream: the session comes back by itself and no outbound stanza is lost', {
        timeout: 60_000,
    }, async () => {
        server = await startProsody({ accounts: { sender: 's', receiver: 'r' } });
        const sender = await use('sender');
        const receiver = await use('receiver');
        const got = new Map<string, number>();
        receiver.handleMessage(NS_TEST, 'seq', (m: IncomingMessage) => {
            got.set(m.payload.text(), (got.get(m.payload.text()) ?? 0) + 1);
        });
        const senderStates = states(sender);
        const receiverStates = states(receiver);

        const total = 60;
        const deliveries: Array<Promise<void>> = [];
        const failures: Error[] = [];
        for (let i = 0; i < total; i++) {
            const msg = el(
                'message',
                { to: 'receiver@localhost', type: 'normal', id: `m${i}` },
                el('seq', { xmlns: NS_TEST }, String(i)),
            );
            deliveries.push(sender.send(msg).catch((err: Error) => void failures.push(err)));
            if (i === 20) await server.kill();
            if (i === 40) await server.start();
            await new Promise((r) => setTimeout(r, 25));
        }
        let settled = 0;
        for (const d of deliveries) void d.then(() => settled++);
        await waitFor(
            () => settled === total,
            20_000,
            () => `every send to settle (${settled} of ${total})`,
        );
        assert.deepEqual(failures, [], 'every send settled successfully');
        await waitFor(
            () => got.size === total,
            20_000,
            () => `all ${total} messages (have ${got.size})`,
        );
        const missing = Array.from({ length: total }, (_, i) => String(i)).filter((k) => !got.has(k));
        assert.deepEqual(missing, []);
        assert.equal(sender.state, 'online');
        assert.equal(receiver.state, 'online');
        assert.ok(senderStates.includes('offline') || senderStates.includes('resuming'), senderStates.join(' > '));
        assert.ok(receiverStates.includes('online'));
        assert.equal(sender.queued, 0);
        // Duplicates are possible only for stanzas the dead server handled but never acknowledged.
        const duplicates = [...got.values()].filter((n) => n > 1).length;
        assert.ok(duplicates <= 5, `${duplicates} duplicates`);
    });

    test('a graceful server restart (system-shutdown) is survived the same way', { timeout: 60_000 }, async () => {
        server = await startProsody({ accounts: { alice: 'a', bob: 'b' } });
        const alice = await use('alice');
        const bob = await use('bob');
        bob.handleIq('get', ECHO, 'echo', (req) => el('echo', { xmlns: ECHO }, req.payload.text()));
        await server.stop();
        await waitFor(() => alice.state !== 'online', 5000, 'alice offline');
        const pending = alice.request('bob@localhost', 'get', el('ping', { xmlns: 'urn:xmpp:ping' }), {
            timeoutMs: 20_000,
        });
        await server.start();
        await nextState(alice, 'online', 15_000);
        await waitFor(() => bob.state === 'online', 15_000, 'bob online');
        // The request queued while offline went out on the new session (answered by bob's server on its behalf).
        await pending;
        assert.equal((await alice.request(bob.jid, 'get', el('echo', { xmlns: ECHO }, 'again')))?.text(), 'again');
    });
});

describe('redirects', () => {
    test('see-other-host (RFC 6120 §4.9.3.19): the session follows the redirect and comes online there', {
        timeout: 30_000,
    }, async () => {
        server = await startProsody({ accounts: { alice: 'a' } });
        const target = `127.0.0.1:${server.port}`;
        let redirected = 0;
        // Stands in for a server that sends every client elsewhere; Prosody cannot be told to.
        const redirector = net.createServer((sock) => {
            sock.on('error', () => {});
            sock.once('data', () => {
                redirected++;
                sock.end(
                    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='r' from='localhost' version='1.0'>" +
                        `<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>${target}</see-other-host></stream:error></stream:stream>`,
                );
            });
        });
        await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
        try {
            const port = (redirector.address() as net.AddressInfo).port;
            const alice = await use('alice', { port, resource: 'moved' });
            assert.equal(redirected, 1);
            assert.match(alice.jid ?? '', /\/moved$/);
        } finally {
            await new Promise<void>((resolve) => redirector.close(() => resolve()));
        }
    });
});

describe('hostile peers', () => {
    test('a stanza over the account limit is dropped and bounced; the session stays online and is not poisoned', {
        timeout: 60_000,
    }, async () => {
        server = await startProsody({ accounts: { small: 's', big: 'b' } });
        const small = await use('small', { limits: { maxStanzaBytes: 16 * 1024 } });
        const big = await use('big');
        small.handleIq('get', ECHO, 'echo', (req) => el('echo', { xmlns: ECHO }, req.payload.text()));
        const warnings: string[] = [];
        const seen = states(small);
        small.on('warning', (e) => warnings.push(e.message));
        const bounced: XmlElement[] = [];
        big.on('message', (m) => {
            if (m.attr('type') === 'error') bounced.push(m);
        });
        await big.send(el('message', { to: small.jid, id: 'huge' }, el('body', {}, 'x'.repeat(64 * 1024))));
        await waitFor(() => bounced.length === 1, 5000, 'the policy-violation bounce at the sender');
        assert.equal(bounced[0]?.attr('id'), 'huge');
        assert.equal(StanzaError.fromStanza(bounced[0] as XmlElement).condition, 'policy-violation');
        assert.ok(
            warnings.some((w) => /Dropped a <message\/> from big@localhost.*larger than 16384/.test(w)),
            warnings.join('\n'),
        );
        assert.deepEqual(seen, [], 'the session never left online');
        assert.equal((await big.request(small.jid, 'get', el('echo', { xmlns: ECHO }, 'fine')))?.text(), 'fine');

        // Sent while the receiver is offline, the stanza waits in offline storage and is delivered at the
        // next login: it must not knock the session off line again and again.
        await small.close();
        await big.send(el('message', { to: 'small@localhost', id: 'stored' }, el('body', {}, 'y'.repeat(64 * 1024))));
        const again = await use('small', { limits: { maxStanzaBytes: 16 * 1024 } });
        const againStates = states(again);
        again.handleIq('get', ECHO, 'echo', (req) => el('echo', { xmlns: ECHO }, req.payload.text()));
        await waitFor(() => bounced.length === 2, 5000, 'the bounce of the stored message');
        await new Promise((r) => setTimeout(r, 500));
        assert.deepEqual(againStates, [], 'still online after the stored oversized message');
        assert.equal((await big.request(again.jid, 'get', el('echo', { xmlns: ECHO }, 'ok')))?.text(), 'ok');
    });
});
