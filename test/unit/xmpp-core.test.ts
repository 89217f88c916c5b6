import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { el, parseXml, type XmlElement } from '../../src/protocols/xml';
import { JidMatcher } from '../../src/protocols/xmpp/access';
import { Backoff } from '../../src/protocols/xmpp/backoff';
import { STANZA_CONDITIONS, StanzaError, XmppError } from '../../src/protocols/xmpp/errors';
import { NS } from '../../src/protocols/xmpp/namespaces';
import { acceptsSubscription, parsePresence, parseRosterQuery, presenceStanza } from '../../src/protocols/xmpp/roster';
import type { SrvRecord } from '../../src/protocols/xmpp/session-types';
import { pickSrv } from '../../src/protocols/xmpp/srv';
import {
    ackElement,
    ackRequestElement,
    enableElement,
    type OutItem,
    readH,
    resumeElement,
    StreamManagement,
    stampDelay,
} from '../../src/protocols/xmpp/stream-management';
import { secureContextFor, tlsOptions } from '../../src/protocols/xmpp/tls';
import { sessionOptionsFromConfig, type XmppAccountConfig } from '../../src/shared/xmpp-config';

const H_MOD = 2 ** 32;

/** Parses a stanza the way it arrives on a client stream (default namespace jabber:client). */
function stanza(xml: string): XmlElement {
    return parseXml(xml, { scope: { '': NS.CLIENT } });
}

function item(name = 'message', id?: string): OutItem {
    return { stanza: el(name, { id }), queuedAt: 0, resolve: () => {}, reject: () => {} };
}

function ids(items: readonly OutItem[]): Array<string | undefined> {
    return items.map((i) => i.stanza.attr('id'));
}

/** Expects `fn` to throw an error with code BAD_INPUT whose message matches `pattern`. */
function expectBadInput(fn: () => unknown, pattern: RegExp): void {
    let caught: unknown;
    try {
        fn();
    } catch (err) {
        caught = err;
    }
    assert.ok(caught instanceof Error, 'expected an error');
    assert.equal((caught as { code?: unknown }).code, 'BAD_INPUT', caught.message);
    assert.match(caught.message, pattern);
}

describe('Backoff', () => {
    test('delays grow by the factor from minMs until maxMs', () => {
        const b = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0.5 });
        const delays = Array.from({ length: 7 }, () => b.next());
        // equal jitter with random 0.5: three quarters of each ceiling (100, 200, 400, 800, 1000, 1000, 1000)
        assert.deepEqual(delays, [75, 150, 300, 600, 750, 750, 750]);
        assert.equal(b.attempt, 7);
    });

    test('a custom factor is honoured', () => {
        const b = new Backoff({ minMs: 10, maxMs: 100_000, factor: 10, random: () => 0 });
        assert.deepEqual([b.next(), b.next(), b.next()], [5, 50, 500]);
    });

    test('jitter keeps every delay within [ceiling/2, ceiling]', () => {
        const low = new Backoff({ minMs: 1000, maxMs: 8000, random: () => 0 });
        const high = new Backoff({ minMs: 1000, maxMs: 8000, random: () => 0.999999 });
        const ceilings = [1000, 2000, 4000, 8000, 8000];
        for (const c of ceilings) {
            assert.equal(low.next(), c / 2);
            const h = high.next();
            assert.ok(h <= c && h >= c - 1, `delay ${h} for ceiling ${c}`);
        }
        const real = new Backoff({ minMs: 1000, maxMs: 60_000 });
        for (let i = 0; i < 200; i++) {
            const ceiling = Math.min(60_000, 1000 * 2 ** i);
            const d = real.next();
            assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${i}: ${d} outside [${ceiling / 2}, ${ceiling}]`);
        }
    });

    test('reset starts again from minMs', () => {
        const b = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0 });
        b.next();
        b.next();
        b.next();
        b.reset();
        assert.equal(b.attempt, 0);
        assert.equal(b.next(), 50);
    });

    test('minMs must be positive and maxMs at least minMs', () => {
        for (const [minMs, maxMs] of [
            [0, 10],
            [-5, 10],
            [Number.NaN, 10],
            [10, 5],
            [10, Number.NaN],
        ] as const) {
            assert.throws(
                () => new Backoff({ minMs, maxMs }),
                (err: Error) => err instanceof RangeError && /0 < minMs <= maxMs/.test(err.message),
            );
        }
    });

    test('a factor that is not a positive number is refused instead of producing NaN delays', () => {
        for (const factor of [Number.NaN, 0, -2]) {
            let delay: number | undefined;
            let caught: unknown;
            try {
                delay = new Backoff({ minMs: 100, maxMs: 1000, factor }).next();
            } catch (err) {
                caught = err;
            }
            assert.ok(caught instanceof RangeError, `factor ${factor} gave delay ${delay}`);
            assert.match(caught.message, /factor/);
        }
    });

    test('an unbounded maxMs never yields a delay setTimeout cannot hold (2^31-1 ms)', () => {
        let b: Backoff | undefined;
        try {
            b = new Backoff({ minMs: 1000, maxMs: Number.POSITIVE_INFINITY, random: () => 0.5 });
        } catch (err) {
            assert.ok(err instanceof RangeError);
            return;
        }
        for (let i = 0; i < 100; i++) {
            const d = b.next();
            assert.ok(Number.isFinite(d) && d <= 2 ** 31 - 1, `attempt ${i}: delay ${d}`);
        }
    });
});

describe('StreamManagement (XEP-0198)', () => {
    test('start resets the counters; an id is kept only for a resumable session', () => {
        const sm = new StreamManagement();
        sm.start('sess-1', true);
        assert.equal(sm.id, 'sess-1');
        assert.equal(sm.resumable, true);
        assert.equal(sm.enabled, true);
        sm.received();
        sm.start('sess-2', false);
        assert.equal(sm.id, undefined);
        assert.equal(sm.resumable, false);
        assert.equal(sm.inbound, 0);
        sm.start(undefined, true);
        assert.equal(sm.resumable, false, 'no id, nothing to resume');
    });

    test('inbound stanzas are counted only while enabled, and the counter wraps at 2^32', () => {
        const sm = new StreamManagement();
        sm.received();
        assert.equal(sm.inbound, 0);
        sm.start('s', true);
        sm.received();
        sm.received();
        assert.equal(sm.inbound, 2);
        sm.inbound = H_MOD - 1;
        sm.received();
        assert.equal(sm.inbound, 0);
        sm.suspend();
        sm.received();
        assert.equal(sm.inbound, 0);
    });

    test('ack(h) hands back the acknowledged items in order', () => {
        const sm = new StreamManagement();
        sm.start('s', true);
        for (const id of ['1', '2', '3']) sm.sent(item('message', id));
        let r = sm.ack(2);
        assert.deepEqual(ids(r.items), ['1', '2']);
        assert.equal(r.excess, 0);
        assert.equal(sm.acked, 2);
        r = sm.ack(2);
        assert.deepEqual(r.items, [], 'the same h again acknowledges nothing new');
        r = sm.ack(3);
        assert.deepEqual(ids(r.items), ['3']);
        assert.equal(sm.unacked.length, 0);
    });

    test('ack counting wraps around 2^32', () => {
        const sm = new StreamManagement();
        sm.start('s', true);
        sm.acked = H_MOD - 2;
        for (const id of ['a', 'b', 'c', 'd', 'e']) sm.sent(item('message', id));
        const r = sm.ack(2); // 2^32-2 -> 2 covers four stanzas
        assert.deepEqual(ids(r.items), ['a', 'b', 'c', 'd']);
        assert.equal(r.excess, 0);
        assert.equal(sm.acked, 2);
        assert.deepEqual(ids(sm.unacked), ['e']);
    });

    test('an h beyond what was sent acknowledges everything and reports the excess', () => {
        const sm = new StreamManagement();
        sm.start('s', true);
        sm.sent(item('message', 'x'));
        sm.sent(item('message', 'y'));
        const r = sm.ack(5);
        assert.deepEqual(ids(r.items), ['x', 'y']);
        assert.equal(r.excess, 3);
        assert.equal(sm.unacked.length, 0);
    });

    test('resumed(h) acknowledges up to h and hands back the rest to send again, in order', () => {
        const sm = new StreamManagement();
        sm.start('s', true);
        for (const id of ['1', '2', '3', '4']) sm.sent(item('message', id));
        sm.suspend();
        assert.equal(sm.enabled, false);
        const { acked, resend } = sm.resumed(1);
        assert.deepEqual(ids(acked), ['1']);
        assert.deepEqual(ids(resend), ['2', '3', '4']);
        assert.equal(sm.unacked.length, 0);
        assert.equal(sm.enabled, true);
        assert.equal(sm.id, 's', 'the session is still the same');
    });

    test('lost(h) acknowledges up to h, hands back the rest and forgets the session', () => {
        const sm = new StreamManagement();
        sm.start('s', true);
        sm.received();
        for (const id of ['1', '2', '3']) sm.sent(item('message', id));
        const { acked, undelivered } = sm.lost(2);
        assert.deepEqual(ids(acked), ['1', '2']);
        assert.deepEqual(ids(undelivered), ['3']);
        assert.equal(sm.id, undefined);
        assert.equal(sm.resumable, false);
        assert.equal(sm.enabled, false);
        assert.equal(sm.inbound, 0);
        assert.equal(sm.acked, 0);
    });

    test('lost() without h acknowledges nothing and hands back everything', () => {
        const sm = new StreamManagement();
        sm.start('s', true);
        sm.sent(item('message', '1'));
        sm.sent(item('iq', '2'));
        const { acked, undelivered } = sm.lost();
        assert.deepEqual(acked, []);
        assert.deepEqual(ids(undelivered), ['1', '2']);
    });

    test('readH accepts 0..2^32-1 in decimal and rejects garbage', () => {
        const h = (value?: string) => readH(el('a', { xmlns: NS.SM, h: value }));
        assert.equal(h('0'), 0);
        assert.equal(h('42'), 42);
        assert.equal(h('4294967295'), H_MOD - 1);
        for (const bad of [
            undefined,
            '',
            '4294967296',
            '99999999999',
            '-1',
            '1.5',
            ' 1',
            '1 ',
            '0x10',
            '1e3',
            'abc',
            '+1',
        ]) {
            assert.equal(h(bad), undefined, `h=${JSON.stringify(bad)}`);
        }
    });

    test('the XEP-0198 elements have the namespace and attributes of the specification', () => {
        const check = (e: XmlElement, local: string, attrs: Record<string, string>) => {
            const back = parseXml(e.toString());
            assert.ok(back.is(local, 'urn:xmpp:sm:3'), back.toString());
            for (const [k, v] of Object.entries(attrs)) assert.equal(back.attr(k), v);
            assert.equal(back.children.length, 0);
        };
        check(enableElement(), 'enable', { resume: 'true' });
        check(resumeElement('some-long-sm-id', 5), 'resume', { previd: 'some-long-sm-id', h: '5' });
        check(ackElement(H_MOD - 1), 'a', { h: '4294967295' });
        check(ackRequestElement(), 'r', {});
    });

    test('stampDelay adds one XEP-0203 delay to messages only, and only once', () => {
        const queuedAt = Date.UTC(2024, 0, 2, 3, 4, 5, 600);
        const message = el('message', { to: 'a@b' }, el('body', {}, 'hi'));
        stampDelay(message, queuedAt, 'me@example.com');
        stampDelay(message, queuedAt + 60_000, 'me@example.com');
        const delays = message.childrenNamed('delay', 'urn:xmpp:delay');
        assert.equal(delays.length, 1);
        assert.equal(delays[0]?.attr('stamp'), '2024-01-02T03:04:05.600Z');
        assert.equal(delays[0]?.attr('from'), 'me@example.com');

        for (const name of ['iq', 'presence']) {
            const other = el(name, { type: 'get' });
            stampDelay(other, queuedAt, 'me@example.com');
            assert.equal(other.children.length, 0, `<${name}/> was stamped`);
        }

        const already = el('message', {}, el('delay', { xmlns: 'urn:xmpp:delay', stamp: '2000-01-01T00:00:00Z' }));
        stampDelay(already, queuedAt, 'me@example.com');
        assert.equal(already.children.length, 1);
        assert.equal(already.child('delay')?.attr('stamp'), '2000-01-01T00:00:00Z');
    });
});

describe('StanzaError', () => {
    test('toElement gives type, the condition and text in the stanzas namespace, then the application condition', () => {
        const app = el('too-many-subscriptions', { xmlns: 'http://jabber.org/protocol/pubsub#errors' });
        const err = new StanzaError('policy-violation', 'Slow down', { type: 'wait', application: app });
        const e = parseXml(el('iq', { xmlns: 'jabber:client', type: 'error' }, err.toElement()).toString()).child(
            'error',
        );
        assert.ok(e);
        assert.equal(e.attr('type'), 'wait');
        const [condition, text, application, extra] = e.elements();
        assert.ok(condition?.is('policy-violation', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
        assert.ok(text?.is('text', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
        assert.equal(text?.text(), 'Slow down');
        assert.ok(application?.is('too-many-subscriptions', 'http://jabber.org/protocol/pubsub#errors'));
        assert.equal(extra, undefined);
    });

    test('without text there is no <text/>; the type defaults to the condition’s', () => {
        const e = new StanzaError('item-not-found').toElement();
        assert.equal(e.attr('type'), 'cancel');
        assert.equal(e.elements().length, 1);
        assert.equal(
            e.toString(),
            '<error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>',
        );
    });

    test('an unknown condition becomes undefined-condition (REMOTE_ERROR)', () => {
        const err = new StanzaError('made-up-condition', 'odd');
        assert.equal(err.condition, 'undefined-condition');
        assert.equal(err.code, 'REMOTE_ERROR');
        assert.equal(err.message, 'undefined-condition: odd');
        assert.ok(err instanceof XmppError);
        assert.equal(err.name, 'StanzaError');
    });

    test('the condition table is exactly the RFC 6120 §8.3.3 list with the types the RFC recommends', () => {
        // RFC 6120 §8.3.3.x: "the associated error type SHOULD be ..."
        const rfc: Record<string, string[]> = {
            'bad-request': ['modify'],
            conflict: ['cancel'],
            'feature-not-implemented': ['cancel', 'modify'],
            forbidden: ['auth'],
            gone: ['cancel'],
            'internal-server-error': ['cancel'],
            'item-not-found': ['cancel'],
            'jid-malformed': ['modify'],
            'not-acceptable': ['modify'],
            'not-allowed': ['cancel'],
            'not-authorized': ['auth'],
            'policy-violation': ['modify', 'wait'],
            'recipient-unavailable': ['wait'],
            redirect: ['modify'],
            'registration-required': ['auth'],
            'remote-server-not-found': ['cancel'],
            'remote-server-timeout': ['wait'],
            'resource-constraint': ['wait'],
            'service-unavailable': ['cancel'],
            'subscription-required': ['auth'],
            'undefined-condition': ['auth', 'cancel', 'continue', 'modify', 'wait'],
            'unexpected-request': ['wait', 'modify'],
        };
        assert.deepEqual(Object.keys(STANZA_CONDITIONS).sort(), Object.keys(rfc).sort());
        for (const [condition, types] of Object.entries(rfc)) {
            const err = new StanzaError(condition);
            assert.equal(err.condition, condition);
            assert.ok(types.includes(err.type), `${condition}: type ${err.type}, RFC says ${types.join(' or ')}`);
        }
    });

    test('conditions map to the codes a flow switches on', () => {
        const expected: Record<string, string[]> = {
            ACCESS_DENIED: [
                'forbidden',
                'not-authorized',
                'not-allowed',
                'registration-required',
                'subscription-required',
            ],
            NOT_FOUND: ['item-not-found', 'gone'],
            BAD_INPUT: ['bad-request', 'jid-malformed', 'not-acceptable'],
            NOT_SUPPORTED: ['feature-not-implemented', 'service-unavailable'],
            CONFLICT: ['conflict'],
            UNREACHABLE: ['recipient-unavailable', 'remote-server-not-found', 'remote-server-timeout'],
        };
        for (const [code, conditions] of Object.entries(expected)) {
            for (const c of conditions) assert.equal(new StanzaError(c).code, code, c);
        }
    });

    test('fromStanza reads condition, type, text and an application-specific condition', () => {
        const err = StanzaError.fromStanza(
            stanza(`<iq type='error' id='1' from='pubsub.example'>
                <error type='wait'>
                    <policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
                    <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Too many requests</text>
                    <too-many-subscriptions xmlns='http://jabber.org/protocol/pubsub#errors'/>
                </error>
            </iq>`),
        );
        assert.equal(err.condition, 'policy-violation');
        assert.equal(err.type, 'wait');
        assert.equal(err.text, 'Too many requests');
        assert.equal(err.code, 'ACCESS_DENIED');
        assert.equal(err.message, 'policy-violation: Too many requests');
        assert.ok(err.application?.is('too-many-subscriptions', 'http://jabber.org/protocol/pubsub#errors'));
    });

    test('fromStanza: an application condition before the defined one does not hide it', () => {
        const err = StanzaError.fromStanza(
            stanza(
                "<message type='error'><error type='cancel'><app-cond xmlns='urn:example:app'/><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
            ),
        );
        assert.equal(err.condition, 'item-not-found');
        assert.equal(err.application?.local, 'app-cond');
    });

    test('fromStanza without an <error/> child gives undefined-condition saying so', () => {
        const err = StanzaError.fromStanza(stanza("<iq type='error' id='1'/>"));
        assert.equal(err.condition, 'undefined-condition');
        assert.equal(err.code, 'REMOTE_ERROR');
        assert.match(err.message, /without an <error\/> element/);
    });

    test('fromStanza: an unknown condition in the stanzas namespace becomes undefined-condition, an unknown type is ignored', () => {
        const err = StanzaError.fromStanza(
            stanza(
                "<iq type='error'><error type='bogus'><payment-required xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
            ),
        );
        assert.equal(err.condition, 'undefined-condition');
        assert.equal(err.type, 'cancel');
    });

    test('fromStanza: a defined condition sent in the wrong namespace is still recognised', () => {
        // A peer that forgot xmlns on the condition: it inherits jabber:client.
        const err = StanzaError.fromStanza(
            stanza("<iq type='error' id='1'><error type='cancel'><item-not-found/></error></iq>"),
        );
        assert.equal(err.condition, 'item-not-found');
        assert.equal(err.code, 'NOT_FOUND');
    });

    test('fromStanza: a legacy code alone (XEP-0086) gives the mapped condition and its type', () => {
        const cases: Array<[string, string, string]> = [
            ['400', 'bad-request', 'modify'],
            ['401', 'not-authorized', 'auth'],
            ['403', 'forbidden', 'auth'],
            ['404', 'item-not-found', 'cancel'],
            ['405', 'not-allowed', 'cancel'],
            ['409', 'conflict', 'cancel'],
            ['501', 'feature-not-implemented', 'cancel'],
            ['503', 'service-unavailable', 'cancel'],
            ['504', 'remote-server-timeout', 'wait'],
        ];
        for (const [code, condition, type] of cases) {
            const err = StanzaError.fromStanza(stanza(`<iq type='error'><error code='${code}'/></iq>`));
            assert.equal(err.condition, condition, `code ${code}`);
            assert.equal(err.type, type, `code ${code}`);
        }
    });

    test('fromStanza: legacy codes 502 and 510 map to service-unavailable (XEP-0086 §4)', () => {
        for (const code of ['502', '510']) {
            const err = StanzaError.fromStanza(stanza(`<iq type='error'><error code='${code}'/></iq>`));
            assert.equal(err.condition, 'service-unavailable', `code ${code}`);
        }
    });

    test('fromStanza: a legacy code without a defined condition mentions the code', () => {
        const err = StanzaError.fromStanza(stanza("<iq type='error'><error code='402' type='auth'/></iq>"));
        assert.equal(err.condition, 'undefined-condition');
        assert.equal(err.type, 'auth');
        assert.match(err.message, /legacy error code 402/);
    });

    test('fromStanza prefers the condition element over the legacy code', () => {
        const err = StanzaError.fromStanza(
            stanza(
                "<iq type='error'><error code='404' type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
            ),
        );
        assert.equal(err.condition, 'bad-request');
        assert.equal(err.type, 'modify');
    });

    test('toElement of an error read from a stanza leaves that stanza intact and keeps the application namespace', () => {
        const original = stanza(
            "<iq type='error' xmlns:app='urn:example:app'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><app:busy/></error></iq>",
        );
        const errorElement = original.child('error');
        assert.ok(errorElement);
        const busy = errorElement.child('busy');
        assert.ok(busy);
        const err = StanzaError.fromStanza(original);
        const reply = parseXml(el('iq', { xmlns: 'jabber:client', type: 'error' }, err.toElement()).toString());
        assert.ok(busy.parent === errorElement, 'the original application element was re-parented into the reply');
        assert.equal(busy.ns, 'urn:example:app');
        assert.ok(reply.child('error')?.child('busy', 'urn:example:app'), reply.toString());
    });
});

describe('roster and presence', () => {
    test('parseRosterQuery reads the RFC 6121 roster result', () => {
        const iq = stanza(`<iq id='bv1bs71f' to='juliet@example.com/chamber' type='result'>
            <query xmlns='jabber:iq:roster' ver='ver11'>
                <item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item>
                <item jid='mercutio@example.com' name='Mercutio' subscription='from'/>
                <item jid='benvolio@example.net' name='Benvolio' subscription='both'/>
            </query></iq>`);
        const query = iq.child('query', 'jabber:iq:roster');
        assert.ok(query);
        assert.deepEqual(parseRosterQuery(query), [
            { jid: 'romeo@example.net', name: 'Romeo', subscription: 'both', groups: ['Friends'] },
            { jid: 'mercutio@example.com', name: 'Mercutio', subscription: 'from', groups: [] },
            { jid: 'benvolio@example.net', name: 'Benvolio', subscription: 'both', groups: [] },
        ]);
    });

    test('parseRosterQuery skips bad items and tolerates odd attributes', () => {
        const query = parseXml(`<query xmlns='jabber:iq:roster'>
            <item/>
            <item jid='@bad'/>
            <item jid='a@b@c' subscription='both'/>
            <item xmlns='urn:other' jid='foreign@example.net'/>
            <item jid='Nurse@Example.com' subscription='sometimes' ask='subscribe' name=''><group>A</group><group>B</group></item>
            <item jid='tybalt@example.com' subscription='remove' ask='unsubscribe'/>
        </query>`);
        assert.deepEqual(parseRosterQuery(query), [
            { jid: 'nurse@example.com', subscription: 'none', ask: 'subscribe', groups: ['A', 'B'] },
            { jid: 'tybalt@example.com', subscription: 'remove', groups: [] },
        ]);
    });

    test('parsePresence reads show, status and priority', () => {
        const now = new Date('2024-05-06T07:08:09.000Z');
        const p = parsePresence(
            stanza(
                "<presence from='Romeo@Example.net/orchard'><show>dnd</show><status>Busy</status><priority>5</priority></presence>",
            ),
            now,
        );
        assert.deepEqual(p, {
            jid: 'romeo@example.net/orchard',
            bare: 'romeo@example.net',
            available: true,
            show: 'dnd',
            status: 'Busy',
            priority: 5,
            timestamp: '2024-05-06T07:08:09.000Z',
        });
    });

    test('parsePresence: an unknown show is online; priority is clamped to -128..127; garbage priority is 0', () => {
        const read = (inner: string) => parsePresence(stanza(`<presence from='a@b/r'>${inner}</presence>`));
        assert.equal(read('<show>online</show>')?.show, 'online');
        assert.equal(read('<show>AWAY</show>')?.show, 'online');
        assert.equal(read('')?.show, 'online');
        assert.equal(read('<priority>300</priority>')?.priority, 127);
        assert.equal(read('<priority>-300</priority>')?.priority, -128);
        assert.equal(read('<priority>abc</priority>')?.priority, 0);
        assert.equal(read('')?.priority, 0);
        assert.equal(read('')?.status, undefined);
    });

    test('parsePresence: unavailable is read, other types and bad senders are not', () => {
        assert.equal(parsePresence(stanza("<presence type='unavailable' from='a@b/r'/>"))?.available, false);
        for (const type of ['subscribe', 'subscribed', 'unsubscribe', 'probe', 'error']) {
            assert.equal(parsePresence(stanza(`<presence type='${type}' from='a@b/r'/>`)), undefined, type);
        }
        assert.equal(parsePresence(stanza('<presence/>')), undefined);
        assert.equal(parsePresence(stanza("<presence from='a@@b'/>")), undefined);
    });

    test('presenceStanza builds show, status and a clamped integer priority', () => {
        assert.equal(
            presenceStanza({ show: 'away', status: 'Out & about', priority: 5 }).toString(),
            '<presence><show>away</show><status>Out &amp; about</status><priority>5</priority></presence>',
        );
        assert.equal(presenceStanza({}).toString(), '<presence><priority>0</priority></presence>');
        assert.equal(presenceStanza({ priority: 1000 }).childText('priority'), '127');
        assert.equal(presenceStanza({ priority: -1000 }).childText('priority'), '-128');
        assert.equal(presenceStanza({ priority: 2.7 }).childText('priority'), '2');
        const addressed = presenceStanza({}, { to: 'a@b', type: undefined });
        assert.deepEqual(addressed.attrs, { to: 'a@b' });
    });

    test('acceptsSubscription follows the policy', () => {
        const allow = new JidMatcher(['friend@example.org']);
        assert.ok(acceptsSubscription('all', allow, 'anyone@x'));
        assert.ok(!acceptsSubscription('none', allow, 'friend@example.org'));
        assert.ok(acceptsSubscription('allowlist', allow, 'friend@example.org/r'));
        assert.ok(!acceptsSubscription('allowlist', allow, 'stranger@example.org'));
    });
});

describe('pickSrv (RFC 2782)', () => {
    const rec = (name: string, priority: number, weight: number, port = 5222): SrvRecord => ({
        name,
        port,
        priority,
        weight,
    });

    test('the lowest priority wins whatever the order and weights', () => {
        const records = [rec('backup.example', 20, 100), rec('primary.example', 10, 0), rec('other.example', 30, 100)];
        for (const r of [0, 0.5, 0.999]) assert.equal(pickSrv(records, () => r)?.name, 'primary.example');
    });

    test('among equal priorities the choice is weighted', () => {
        const records = [rec('light.example', 10, 10), rec('heavy.example', 10, 30)];
        assert.equal(pickSrv(records, () => 0)?.name, 'light.example');
        assert.equal(pickSrv(records, () => 0.24)?.name, 'light.example');
        assert.equal(pickSrv(records, () => 0.26)?.name, 'heavy.example');
        assert.equal(pickSrv(records, () => 0.999)?.name, 'heavy.example');
        const counts = { light: 0, heavy: 0 };
        for (let i = 0; i < 400; i++) {
            const name = pickSrv(records, () => i / 400)?.name;
            if (name === 'light.example') counts.light++;
            else counts.heavy++;
        }
        assert.deepEqual(counts, { light: 100, heavy: 300 });
    });

    test('weights all zero: a uniform choice', () => {
        const records = [rec('a.example', 1, 0), rec('b.example', 1, 0)];
        assert.equal(pickSrv(records, () => 0.1)?.name, 'a.example');
        assert.equal(pickSrv(records, () => 0.9)?.name, 'b.example');
    });

    test('a "." target means the service is not offered', () => {
        assert.equal(pickSrv([rec('.', 0, 0, 0)]), undefined);
        assert.equal(pickSrv([rec('', 0, 0, 0)]), undefined);
        assert.equal(pickSrv([]), undefined);
        assert.equal(pickSrv([rec('.', 0, 0, 0), rec('xmpp.example', 5, 1)])?.name, 'xmpp.example');
    });
});

describe('sessionOptionsFromConfig', () => {
    const base: XmppAccountConfig = { jid: 'Device@Example.com' };

    test('defaults for a minimal configuration', () => {
        const o = sessionOptionsFromConfig(base, 'secret');
        assert.equal(o.jid, 'device@example.com');
        assert.equal(o.password, 'secret');
        assert.equal(o.tls, 'starttls');
        assert.equal(o.trust?.ca, undefined);
        assert.equal(o.trust?.fingerprint, undefined);
        assert.equal(o.trust?.allowSelfSigned, false);
        assert.deepEqual(o.presence, { priority: 0 });
        assert.equal(o.subscriptions, 'ask', 'the XEP-0324 friend model: the owner decides');
        assert.deepEqual(o.allowlist, []);
        assert.deepEqual(o.access, []);
        assert.equal(o.defaultAccess, 'all');
        assert.equal(o.streamManagement, true);
        assert.deepEqual(o.reconnect, { minMs: 1000, maxMs: 60_000 });
        assert.deepEqual(o.keepalive, { intervalMs: 60_000, timeoutMs: 10_000 });
        assert.deepEqual(o.limits, { maxStanzaBytes: 1024 * 1024 });
        assert.equal(o.resource, undefined);
        assert.equal(o.host, undefined);
        assert.equal(o.port, undefined);
    });

    test('every field is carried over and converted', () => {
        const o = sessionOptionsFromConfig(
            {
                jid: ' meter@grid.example/from-jid ',
                resource: ' ',
                host: ' xmpp.grid.example ',
                port: '5223',
                tls: 'direct',
                ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
                fingerprint: `${'AB:'.repeat(31)}AB`,
                allowSelfSigned: true,
                priority: '-5',
                presenceStatus: 'Metering',
                subscriptions: 'allowlist',
                allowlist: 'ops@grid.example, *.grid.example\nroster',
                defaultAccess: 'roster',
                accessRules: 'urn:xmpp:iot:control = ops@grid.example',
                keepalive: 0,
                keepaliveTimeout: '30',
                reconnectMin: '0.5',
                reconnectMax: 120,
                streamManagement: false,
                maxStanzaKiB: '64',
            },
            'pw',
        );
        assert.equal(o.jid, 'meter@grid.example');
        assert.equal(o.resource, 'from-jid');
        assert.equal(o.host, 'xmpp.grid.example');
        assert.equal(o.port, 5223);
        assert.equal(o.tls, 'direct');
        assert.match(o.trust?.ca ?? '', /BEGIN CERTIFICATE/);
        assert.equal(o.trust?.allowSelfSigned, true);
        assert.deepEqual(o.presence, { priority: -5, status: 'Metering' });
        assert.equal(o.subscriptions, 'allowlist');
        assert.deepEqual(o.allowlist, ['ops@grid.example', '*.grid.example', 'roster']);
        assert.equal(o.defaultAccess, 'roster');
        assert.deepEqual(o.access, [{ namespace: 'urn:xmpp:iot:control', allow: ['ops@grid.example'] }]);
        assert.deepEqual(o.keepalive, { intervalMs: 0, timeoutMs: 30_000 });
        assert.deepEqual(o.reconnect, { minMs: 500, maxMs: 120_000 });
        assert.equal(o.streamManagement, false);
        assert.deepEqual(o.limits, { maxStanzaBytes: 64 * 1024 });
        assert.equal(sessionOptionsFromConfig({ ...base, resource: 'desk' }, 'pw').resource, 'desk');
    });

    test('a bad or incomplete JID is BAD_INPUT', () => {
        expectBadInput(() => sessionOptionsFromConfig({ jid: 'a@b@c' }, 'pw'), /no valid domain/);
        expectBadInput(() => sessionOptionsFromConfig({ jid: '' }, 'pw'), /non-empty/);
        expectBadInput(() => sessionOptionsFromConfig({ jid: undefined as unknown as string }, 'pw'), /non-empty/);
        expectBadInput(() => sessionOptionsFromConfig({ jid: 'example.com' }, 'pw'), /needs a user part/);
    });

    test('a missing password is BAD_INPUT naming the account', () => {
        expectBadInput(() => sessionOptionsFromConfig(base, undefined), /No password is set for device@example.com/);
        expectBadInput(() => sessionOptionsFromConfig(base, ''), /No password/);
    });

    test('an unknown TLS mode, subscription policy or default access is BAD_INPUT listing the choices', () => {
        expectBadInput(
            () => sessionOptionsFromConfig({ ...base, tls: 'ssl' }, 'pw'),
            /TLS mode must be one of starttls, direct, none \(got "ssl"\)/,
        );
        expectBadInput(
            () => sessionOptionsFromConfig({ ...base, subscriptions: 'some' }, 'pw'),
            /Subscription policy must be one of/,
        );
        expectBadInput(
            () => sessionOptionsFromConfig({ ...base, defaultAccess: 'everyone' }, 'pw'),
            /Default access must be one of/,
        );
    });

    test('a CA that is not PEM and a malformed fingerprint are BAD_INPUT', () => {
        expectBadInput(
            () => sessionOptionsFromConfig({ ...base, ca: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA' }, 'pw'),
            /PEM/,
        );
        expectBadInput(() => sessionOptionsFromConfig({ ...base, fingerprint: 'AB:CD' }, 'pw'), /64 hex digits/);
        expectBadInput(() => sessionOptionsFromConfig({ ...base, fingerprint: 'G'.repeat(64) }, 'pw'), /64 hex digits/);
    });

    test('numbers outside their range, or not numbers, are BAD_INPUT naming the field and the range', () => {
        const cases: Array<[Partial<XmppAccountConfig>, RegExp]> = [
            [{ port: 0 }, /Port must be a whole number from 1 to 65535 \(got "0"\)/],
            [{ port: '65536' }, /Port/],
            [{ port: 'http' }, /Port/],
            [{ priority: 128 }, /Priority must be a whole number from -128 to 127/],
            [{ priority: '-129' }, /Priority/],
            [{ keepalive: -1 }, /Keepalive interval/],
            [{ keepalive: '3601' }, /Keepalive interval/],
            [{ keepaliveTimeout: 0 }, /Keepalive timeout/],
            [{ reconnectMin: '0.05' }, /Minimum reconnect delay/],
            [{ reconnectMax: 100_000 }, /Maximum reconnect delay/],
            [{ reconnectMin: 10, reconnectMax: 5 }, /Maximum reconnect delay must be a number from 10 to 86400/],
            [{ maxStanzaKiB: 8 }, /Largest stanza/],
            [{ maxStanzaKiB: 'lots' }, /Largest stanza/],
            [{ keepalive: 'NaN' }, /Keepalive interval/],
            [{ port: Number.POSITIVE_INFINITY }, /Port/],
        ];
        for (const [extra, pattern] of cases) {
            expectBadInput(() => sessionOptionsFromConfig({ ...base, ...extra }, 'pw'), pattern);
        }
    });

    test('a port or priority that is not a whole number is BAD_INPUT', () => {
        expectBadInput(() => sessionOptionsFromConfig({ ...base, port: '5222.5' }, 'pw'), /Port/);
        expectBadInput(() => sessionOptionsFromConfig({ ...base, priority: '1.5' }, 'pw'), /Priority/);
    });

    test('a bad access rule is BAD_INPUT with its line number', () => {
        expectBadInput(
            () => sessionOptionsFromConfig({ ...base, accessRules: 'urn:a = *\nurn:b = ops@@grid.example' }, 'pw'),
            /Access rule line 2: "ops@@grid.example" is not a JID/,
        );
        expectBadInput(
            () => sessionOptionsFromConfig({ ...base, accessRules: 'no equals sign' }, 'pw'),
            /Access rule line 1/,
        );
    });

    test('a bad allowlist entry is BAD_INPUT here, not a plain error later when the session is built', () => {
        expectBadInput(
            () =>
                sessionOptionsFromConfig({ ...base, subscriptions: 'allowlist', allowlist: 'ops@@grid.example' }, 'pw'),
            /ops@@grid.example/,
        );
    });
});

describe('TLS secure contexts', () => {
    test('one context per distinct trust store, shared by the connections that use it', () => {
        assert.equal(secureContextFor(undefined), secureContextFor(''));
        const a = tlsOptions('example.com', {}, false).secureContext;
        const b = tlsOptions('example.org', { fingerprint: 'AB' }, true).secureContext;
        assert.equal(a, b, 'no CA: the system store context');
        assert.equal(a, secureContextFor(undefined));
        const ca = tls.rootCertificates[0] as string;
        const withCa = tlsOptions('example.com', { ca }, false).secureContext;
        assert.notEqual(withCa, a, 'a private CA gets its own context');
        assert.equal(tlsOptions('example.net', { ca: `${ca}\n` }, true).secureContext, withCa);
    });
});
