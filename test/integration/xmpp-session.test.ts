/**
 * The shared XMPP Session against a real Prosody (Debian package, started privately on loopback):
 * TLS per account, authentication, IQ routing and errors, presence subscription policies, access rules.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { el, type XmlElement } from '../../src/protocols/xml';
import { NS, Session, StanzaError, type SubscriptionEvent, XmppError } from '../../src/protocols/xmpp';
import { type Prosody, startProsody } from '../support/prosody';
import { accountOptions, collect, nextState, online, waitFor } from '../support/xmpp';

const ECHO = 'urn:derlink:test:echo';

let server: Prosody;
const sessions: Session[] = [];

async function use(user: string, extra: Parameters<typeof online>[2] = {}): Promise<Session> {
    const s = await online(server, user, extra);
    sessions.push(s);
    return s;
}

before(async () => {
    server = await startProsody({
        accounts: {
            alice: 'alice-pw',
            bob: 'bob-pw',
            carol: 'carol-pw',
            open: 'open-pw',
            closed: 'closed-pw',
            listy: 'listy-pw',
            guarded: 'guarded-pw',
            contacts: 'contacts-pw',
            dave: 'dave-pw',
            erin: 'erin-pw',
            frank: 'frank-pw',
            grace: 'grace-pw',
            heidi: 'heidi-pw',
            owner: 'owner-pw',
            ivan: 'ivan-pw',
            judy: 'judy-pw',
        },
    });
});

after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await server?.stop();
    server?.cleanup();
});

describe('TLS and authentication per account', () => {
    test('two accounts log in over STARTTLS trusting the test CA for their own connections only', {
        timeout: 30_000,
    }, async () => {
        const envBefore = { reject: process.env.NODE_TLS_REJECT_UNAUTHORIZED, extra: process.env.NODE_EXTRA_CA_CERTS };
        const alice = await use('alice');
        const bob = await use('bob');
        assert.deepEqual(
            { reject: process.env.NODE_TLS_REJECT_UNAUTHORIZED, extra: process.env.NODE_EXTRA_CA_CERTS },
            envBefore,
        );
        assert.match(alice.jid ?? '', /^alice@localhost\/derlink-[0-9a-f]{8}$/);
        assert.match(bob.jid ?? '', /^bob@localhost\/derlink-/);
        assert.equal(alice.streamManagementEnabled, true);
        // The CA is not trusted process-wide: a plain TLS client without it is refused.
        const refused = await new Promise<string>((resolve) => {
            const s = tls.connect({ host: server.host, port: server.directTlsPort, servername: 'localhost' });
            s.once('secureConnect', () => {
                s.destroy();
                resolve('connected');
            });
            s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        });
        assert.match(refused, /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    });

    test('direct TLS (XEP-0368) with the CA, and with a pinned fingerprint instead of the CA', {
        timeout: 30_000,
    }, async () => {
        const direct = await use('carol', { tls: 'direct', port: server.directTlsPort, resource: 'direct' });
        assert.match(direct.jid ?? '', /\/direct$/);
        const pinned = await use('carol', {
            tls: 'direct',
            port: server.directTlsPort,
            resource: 'pinned',
            trust: { fingerprint: server.fingerprint },
        });
        assert.match(pinned.jid ?? '', /\/pinned$/);
    });

    test('an untrusted certificate ends in tls-failed with the reason, and no stanza is sent', {
        timeout: 30_000,
    }, async () => {
        const s = new Session(accountOptions(server, 'alice', { trust: {}, resource: 'untrusted' }));
        const failed = nextState(s, 'tls-failed', 8000);
        s.start();
        const info = await failed;
        assert.ok(info.error instanceof XmppError);
        assert.equal((info.error as XmppError).code, 'TLS_FAILED');
        assert.match(info.error?.message ?? '', /not trusted/);
        assert.ok((info.retryInMs ?? 0) >= 2000, 'a certificate problem is retried at the longest backoff');
        await s.close();
        assert.equal(s.state, 'closed');
    });

    test('a wrong pinned fingerprint is refused even though the CA would be trusted', { timeout: 30_000 }, async () => {
        const s = new Session(
            accountOptions(server, 'alice', {
                resource: 'pin',
                trust: { ca: server.caPem, fingerprint: 'AA'.repeat(32) },
            }),
        );
        const failed = nextState(s, 'tls-failed', 8000);
        s.start();
        assert.match((await failed).error?.message ?? '', /fingerprint .* does not match/);
        await s.close();
    });

    test('a wrong password ends in auth-failed, naming the SASL condition', { timeout: 30_000 }, async () => {
        const s = new Session(accountOptions(server, 'alice', { password: 'wrong', resource: 'bad' }));
        const failed = nextState(s, 'auth-failed', 8000);
        s.start();
        const info = await failed;
        assert.equal((info.error as XmppError).code, 'AUTH_FAILED');
        assert.match(info.error?.message ?? '', /not-authorized/);
        await s.close();
    });

    test('without a configured host the server is found through DNS SRV (RFC 6120 §3.2)', {
        timeout: 30_000,
    }, async () => {
        const asked: string[] = [];
        const s = await use('carol', {
            host: undefined,
            port: undefined,
            resource: 'srv',
            resolveSrv: async (name) => {
                asked.push(name);
                return [
                    { name: server.host, port: server.port, priority: 10, weight: 5 },
                    { name: 'unreachable.invalid', port: 1, priority: 20, weight: 5 },
                ];
            },
        });
        assert.deepEqual(asked, ['_xmpp-client._tcp.localhost']);
        assert.match(s.jid ?? '', /\/srv$/);
    });

    test('without TLS the password still never travels as PLAIN: SCRAM logs in', {
        timeout: 30_000,
    }, async () => {
        const s = await use('bob', { tls: 'none', resource: 'cleartext' });
        assert.match(s.jid ?? '', /\/cleartext$/);
    });
});

describe('IQ requests and answers', () => {
    let alice: Session;
    let bob: Session;

    before(async () => {
        alice = await use('alice', { resource: 'iq' });
        bob = await use('bob', { resource: 'iq' });
        bob.handleIq('get', ECHO, 'echo', (req) => el('echo', { xmlns: ECHO }, req.payload.text()));
        bob.handleIq('get', ECHO, 'missing', () => {
            throw new StanzaError('item-not-found', 'no such thing');
        });
        bob.handleIq('get', ECHO, 'crash', () => {
            throw new Error('handler bug');
        });
        bob.handleIq('get', ECHO, 'silent', () => new Promise<never>(() => {}));
        bob.handleIq('get', ECHO, 'legacy', (req) => {
            // A peer that answers the old way: only a numeric code (XEP-0086), then never properly.
            void bob.send(el('iq', { type: 'error', id: req.id, to: req.from }, el('error', { code: '404' })));
            return new Promise<never>(() => {});
        });
        bob.handleIq('get', ECHO, 'vendor', (req) => {
            // A condition outside the stanzas namespace (Prosody discards error IQs without any <error/>).
            const error = el('error', { type: 'wait' }, el('overheated', { xmlns: 'urn:vendor:hp' }));
            void bob.send(el('iq', { type: 'error', id: req.id, to: req.from }, error));
            return new Promise<never>(() => {});
        });
    });

    test('round trip: the payload comes back', { timeout: 30_000 }, async () => {
        const answer = await alice.request(bob.jid, 'get', el('echo', { xmlns: ECHO }, 'ping <&> pong'));
        assert.equal(answer?.is('echo', ECHO), true);
        assert.equal(answer?.text(), 'ping <&> pong');
    });

    test('an unknown payload is answered service-unavailable (code NOT_SUPPORTED)', { timeout: 30_000 }, async () => {
        await assert.rejects(
            alice.request(bob.jid, 'get', el('nothing', { xmlns: 'urn:derlink:test:none' })),
            (err: StanzaError) => {
                assert.equal(err.condition, 'service-unavailable');
                assert.equal(err.code, 'NOT_SUPPORTED');
                return true;
            },
        );
    });

    test('handler errors reach the caller: a StanzaError as such, a crash as internal-server-error', {
        timeout: 30_000,
    }, async () => {
        await assert.rejects(alice.request(bob.jid, 'get', el('missing', { xmlns: ECHO })), (err: StanzaError) => {
            assert.equal(err.condition, 'item-not-found');
            assert.equal(err.code, 'NOT_FOUND');
            assert.equal(err.text, 'no such thing');
            return true;
        });
        const warnings = collect<Error>(bob, 'warning');
        await assert.rejects(alice.request(bob.jid, 'get', el('crash', { xmlns: ECHO })), {
            condition: 'internal-server-error',
        });
        assert.ok(
            warnings.some((w) => w.message === 'handler bug'),
            'the crash is reported on the serving side',
        );
    });

    test('a peer that never answers cannot hang the caller', { timeout: 30_000 }, async () => {
        await assert.rejects(
            alice.request(bob.jid, 'get', el('silent', { xmlns: ECHO }), { timeoutMs: 300 }),
            (err: XmppError) => {
                assert.equal(err.code, 'TIMEOUT');
                assert.match(err.message, /silent/);
                return true;
            },
        );
    });

    test('non-standard error answers still reject: legacy code only, and a vendor condition', {
        timeout: 30_000,
    }, async () => {
        await assert.rejects(alice.request(bob.jid, 'get', el('legacy', { xmlns: ECHO }), { timeoutMs: 3000 }), {
            condition: 'item-not-found',
            code: 'NOT_FOUND',
        });
        await assert.rejects(
            alice.request(bob.jid, 'get', el('vendor', { xmlns: ECHO }), { timeoutMs: 3000 }),
            (err: StanzaError) => {
                assert.equal(err.condition, 'undefined-condition');
                assert.equal(err.code, 'REMOTE_ERROR');
                assert.equal(err.type, 'wait');
                assert.equal(err.application?.is('overheated', 'urn:vendor:hp'), true);
                return true;
            },
        );
    });

    test('a request to an offline resource is answered by the server (not left to time out)', {
        timeout: 30_000,
    }, async () => {
        await assert.rejects(
            alice.request('bob@localhost/gone', 'get', el('echo', { xmlns: ECHO }), { timeoutMs: 5000 }),
            (err: StanzaError) => {
                assert.ok(
                    ['service-unavailable', 'recipient-unavailable', 'item-not-found'].includes(err.condition),
                    err.condition,
                );
                return true;
            },
        );
    });

    test('disco#info lists the features nodes registered; ping is answered', { timeout: 30_000 }, async () => {
        const feature = bob.addFeature(ECHO);
        const info = (await alice.request(bob.jid, 'get', el('query', { xmlns: NS.DISCO_INFO }))) as XmlElement;
        const vars = info.childrenNamed('feature').map((f) => f.attr('var'));
        assert.ok(vars.includes(ECHO) && vars.includes(NS.PING) && vars.includes(NS.DISCO_INFO), vars.join());
        assert.equal(info.child('identity')?.attr('category'), 'client');
        feature.dispose();
        const after = (await alice.request(bob.jid, 'get', el('query', { xmlns: NS.DISCO_INFO }))) as XmlElement;
        assert.ok(!after.childrenNamed('feature').some((f) => f.attr('var') === ECHO));
        assert.equal(await alice.request(bob.jid, 'get', el('ping', { xmlns: NS.PING })), undefined);
    });

    test('two nodes cannot serve the same IQ on one account', () => {
        assert.throws(() => bob.handleIq('get', ECHO, 'echo', () => undefined), { code: 'CONFLICT' });
    });

    test('bad input is refused before it reaches the wire', { timeout: 30_000 }, async () => {
        await assert.rejects(alice.request('not a jid@', 'get', el('echo', { xmlns: ECHO })), { code: 'BAD_INPUT' });
        await assert.rejects(alice.send(el('foo')), { code: 'BAD_INPUT' });
        await assert.rejects(alice.send(el('message', { to: bob.jid }, el('body', {}, 'bad \u0001 char'))), {
            code: 'BAD_INPUT',
        });
        // The session is unharmed.
        assert.equal(
            (await alice.request(bob.jid, 'get', el('echo', { xmlns: ECHO }, 'still here')))?.text(),
            'still here',
        );
    });
});

describe('access rules per namespace', () => {
    test('a JID outside the allowlist of a namespace gets forbidden; an allowed one is served', {
        timeout: 30_000,
    }, async () => {
        const guarded = await use('guarded', { access: [{ namespace: ECHO, allow: ['dave@localhost'] }] });
        guarded.handleIq('get', ECHO, 'echo', (req) => el('echo', { xmlns: ECHO }, req.payload.text()));
        const dave = await use('dave');
        const erin = await use('erin');
        assert.equal((await dave.request(guarded.jid, 'get', el('echo', { xmlns: ECHO }, 'ok')))?.text(), 'ok');
        await assert.rejects(erin.request(guarded.jid, 'get', el('echo', { xmlns: ECHO })), (err: StanzaError) => {
            assert.equal(err.condition, 'forbidden');
            assert.equal(err.code, 'ACCESS_DENIED');
            assert.match(err.text ?? '', /erin@localhost may not use/);
            return true;
        });
    });

    test('default access "roster": only contacts who see our presence may use a namespace', {
        timeout: 30_000,
    }, async () => {
        const contacts = await use('contacts', {
            defaultAccess: 'roster',
            subscriptions: 'allowlist',
            allowlist: ['frank@localhost'],
        });
        contacts.handleIq('get', ECHO, 'echo', () => el('echo', { xmlns: ECHO }, 'hi'));
        const frank = await use('frank', { subscriptions: 'all' });
        const grace = await use('grace');
        await assert.rejects(frank.request(contacts.jid, 'get', el('echo', { xmlns: ECHO })), {
            condition: 'forbidden',
        });
        await frank.subscribe('contacts@localhost');
        await waitFor(
            () =>
                contacts.roster.some(
                    (i) => i.jid === 'frank@localhost' && (i.subscription === 'from' || i.subscription === 'both'),
                ),
            5000,
            'roster push',
        );
        assert.equal((await frank.request(contacts.jid, 'get', el('echo', { xmlns: ECHO })))?.text(), 'hi');
        await grace.subscribe('contacts@localhost');
        await assert.rejects(grace.request(contacts.jid, 'get', el('echo', { xmlns: ECHO })), {
            condition: 'forbidden',
        });
    });
});

describe('payload handlers for messages and presence', () => {
    test('a message payload reaches its handlers; from a JID the rules refuse it is answered forbidden', {
        timeout: 30_000,
    }, async () => {
        const NS_DATA = 'urn:derlink:test:data';
        const guarded = sessions.find((s) => s.account.local === 'guarded') as Session;
        const dave = sessions.find((s) => s.account.local === 'dave') as Session;
        const erin = sessions.find((s) => s.account.local === 'erin') as Session;
        const got: string[] = [];
        const handle = guarded.handleMessage(NS_DATA, 'reading', (m) => {
            got.push(`${m.from.split('/')[0]}:${m.payload.text()}`);
        });
        const dropped = guarded.addAccessHook(NS_DATA, (from) => from.startsWith('dave@'));
        const bounced: XmlElement[] = [];
        erin.on('message', (m) => {
            if (m.attr('type') === 'error') bounced.push(m);
        });
        await dave.send(el('message', { to: guarded.jid }, el('reading', { xmlns: NS_DATA }, '42')));
        await erin.send(el('message', { to: guarded.jid, id: 'denied-1' }, el('reading', { xmlns: NS_DATA }, '13')));
        await waitFor(() => got.length === 1 && bounced.length === 1, 5000, 'one delivery and one bounce');
        assert.deepEqual(got, ['dave@localhost:42']);
        assert.equal(bounced[0]?.attr('id'), 'denied-1');
        assert.equal(StanzaError.fromStanza(bounced[0] as XmlElement).condition, 'forbidden');
        handle.dispose();
        dropped.dispose();
    });

    test('a presence extension reaches its handler (directed presence)', { timeout: 30_000 }, async () => {
        const NS_CAPS = 'http://jabber.org/protocol/caps';
        const dave = sessions.find((s) => s.account.local === 'dave') as Session;
        const erin = sessions.find((s) => s.account.local === 'erin') as Session;
        const seen: string[] = [];
        erin.handlePresence(NS_CAPS, 'c', (p) => {
            seen.push(`${p.from}|${p.payload.attr('node')}`);
        });
        await dave.send(
            el(
                'presence',
                { to: erin.jid },
                el('c', { xmlns: NS_CAPS, node: 'https://derlink.example/hp', ver: 'x', hash: 'sha-1' }),
            ),
        );
        await waitFor(() => seen.length === 1, 5000, 'the caps element');
        assert.equal(seen[0], `${dave.jid}|https://derlink.example/hp`);
    });
});

describe('presence subscription policies', () => {
    async function ask(requester: Session, target: string): Promise<SubscriptionEvent> {
        const events = collect<SubscriptionEvent>(requester, 'subscription');
        await requester.subscribe(target);
        await waitFor(
            () => events.some((e) => e.from === target && (e.type === 'subscribed' || e.type === 'unsubscribed')),
            5000,
            `answer from ${target}`,
        );
        return events.find(
            (e) => e.from === target && (e.type === 'subscribed' || e.type === 'unsubscribed'),
        ) as SubscriptionEvent;
    }

    test('"all" approves, subscribes back, and each then sees the other online', { timeout: 30_000 }, async () => {
        const open = await use('open', { subscriptions: 'all' });
        const bob = await use('heidi', { subscriptions: 'all' });
        const seen = collect<{ bare: string; available: boolean }>(bob, 'presence');
        const asked = collect<SubscriptionEvent>(open, 'subscription');
        assert.equal((await ask(bob, 'open@localhost')).type, 'subscribed');
        await waitFor(
            () => seen.some((p) => p.bare === 'open@localhost' && p.available),
            5000,
            "open's presence at heidi",
        );
        assert.ok(asked.some((e) => e.type === 'subscribe' && e.approved === true));
        await waitFor(
            () => open.presenceOf('heidi@localhost').length > 0,
            5000,
            "heidi's presence at open (mutual subscription)",
        );
        assert.equal(bob.presenceOf('open@localhost')[0]?.show, 'online');
    });

    test('"none" refuses', { timeout: 30_000 }, async () => {
        const closed = await use('closed', { subscriptions: 'none' });
        const dave = sessions.find((s) => s.account.local === 'dave') as Session;
        const asked = collect<SubscriptionEvent>(closed, 'subscription');
        assert.equal((await ask(dave, 'closed@localhost')).type, 'unsubscribed');
        assert.ok(asked.some((e) => e.type === 'subscribe' && e.approved === false));
        assert.equal(closed.roster.find((i) => i.jid === 'dave@localhost')?.subscription ?? 'none', 'none');
    });

    test('"ask" leaves a request to the owner: pending, unanswered, then approved (and subscribed back) or denied', {
        timeout: 30_000,
    }, async () => {
        const owner = await use('owner', { subscriptions: 'ask' });
        const ivan = await use('ivan', { subscriptions: 'all' });
        const judy = await use('judy', { subscriptions: 'all' });
        const asked = collect<SubscriptionEvent>(owner, 'subscription');
        const ivanHears = collect<SubscriptionEvent>(ivan, 'subscription');
        await ivan.subscribe('owner@localhost');
        await waitFor(() => asked.some((e) => e.from === 'ivan@localhost'), 5000, 'the request reaching the owner');
        assert.deepEqual(asked[0], { from: 'ivan@localhost', type: 'subscribe', pending: true });
        await new Promise((r) => setTimeout(r, 1000));
        assert.ok(
            !ivanHears.some((e) => e.type === 'subscribed' || e.type === 'unsubscribed'),
            'nothing answered the request before the owner did',
        );

        await owner.answerSubscription('ivan@localhost', true);
        await waitFor(() => ivanHears.some((e) => e.type === 'subscribed'), 5000, 'the approval');
        // Approved: the owner subscribes back, ivan's "all" policy accepts, and each sees the other.
        await waitFor(() => owner.presenceOf('ivan@localhost').length > 0, 5000, "ivan's presence at the owner");
        await waitFor(() => ivan.presenceOf('owner@localhost').length > 0, 5000, "the owner's presence at ivan");

        const judyHears = collect<SubscriptionEvent>(judy, 'subscription');
        await judy.subscribe('owner@localhost');
        await waitFor(() => asked.some((e) => e.from === 'judy@localhost'), 5000, "judy's request");
        await owner.answerSubscription('judy@localhost', false);
        await waitFor(() => judyHears.some((e) => e.type === 'unsubscribed'), 5000, 'the refusal');
        assert.equal(owner.presenceOf('judy@localhost').length, 0);
    });

    test('"allowlist" approves listed JIDs and refuses others', { timeout: 30_000 }, async () => {
        await use('listy', { subscriptions: 'allowlist', allowlist: ['dave@localhost'] });
        const dave = sessions.find((s) => s.account.local === 'dave') as Session;
        const erin = sessions.find((s) => s.account.local === 'erin') as Session;
        assert.equal((await ask(dave, 'listy@localhost')).type, 'subscribed');
        assert.equal((await ask(erin, 'listy@localhost')).type, 'unsubscribed');
    });

    test('presence changes of a peer arrive with show, status and priority', { timeout: 30_000 }, async () => {
        const open = sessions.find((s) => s.account.local === 'open') as Session;
        const bob = sessions.find((s) => s.account.local === 'heidi') as Session;
        const seen = collect<{ bare: string; show: string; status?: string; priority: number }>(bob, 'presence');
        await open.setPresence({ show: 'away', status: 'defrosting', priority: 5 });
        await waitFor(() => seen.some((p) => p.bare === 'open@localhost' && p.show === 'away'), 5000, 'away presence');
        const p = seen.find((x) => x.show === 'away');
        assert.equal(p?.status, 'defrosting');
        assert.equal(p?.priority, 5);
    });
});
