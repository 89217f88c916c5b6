import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { XmlElement } from '../../src/protocols/xml';
import { XmppError } from '../../src/protocols/xmpp/errors';
import {
    createStream,
    DEFAULT_STREAM_LIMITS,
    type StreamLimits,
    type XmppStream,
} from '../../src/protocols/xmpp/stream';

/**
 * A minimal hostile XMPP server on 127.0.0.1: it answers the client's stream header with its
 * own, then plays a script of writes. Everything the client sends is recorded.
 */
const SERVER_HEADER =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='localhost' version='1.0'>";

const LIMITS: StreamLimits = {
    ...DEFAULT_STREAM_LIMITS,
    maxStanzaBytes: 4096,
    maxDepth: 8,
    maxAttributes: 8,
    maxElements: 100,
};

/** One write of the script, sent `delayMs` after the previous one. */
interface Step {
    data: string;
    delayMs?: number;
}

interface Hostile {
    port: number;
    /** What the client sent after its stream header. */
    received(): string;
    /** Resolves once the client sent something matching `pattern` (or rejects after `ms`). */
    waitFor(pattern: RegExp, ms?: number): Promise<string>;
    close(): Promise<void>;
}

async function hostileServer(script: Step[]): Promise<Hostile> {
    let received = '';
    const sockets = new Set<net.Socket>();
    const server = net.createServer((sock) => {
        sockets.add(sock);
        sock.setEncoding('utf8');
        sock.on('error', () => {});
        sock.on('close', () => sockets.delete(sock));
        let answered = false;
        sock.on('data', (chunk: string) => {
            received += chunk;
            if (answered || !received.includes('<stream:stream')) return;
            answered = true;
            sock.write(SERVER_HEADER);
            void (async () => {
                for (const step of script) {
                    await sleep(step.delayMs ?? 20);
                    if (sock.destroyed || !sock.writable) return;
                    sock.write(step.data);
                }
            })();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const afterHeader = () => {
        const i = received.indexOf('<stream:stream');
        const end = i === -1 ? -1 : received.indexOf('>', i);
        return end === -1 ? '' : received.slice(end + 1);
    };
    return {
        port,
        received: afterHeader,
        async waitFor(pattern, ms = 3000) {
            const deadline = Date.now() + ms;
            while (Date.now() < deadline) {
                const text = afterHeader();
                if (pattern.test(text)) return text;
                await sleep(10);
            }
            throw new Error(`The client never sent ${pattern}; it sent ${JSON.stringify(afterHeader())}`);
        },
        close() {
            for (const s of sockets) s.destroy();
            return new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

interface Client {
    stream: XmppStream;
    errors: Error[];
    /** The first 'error' the stream emits. */
    firstError: Promise<Error>;
}

async function connectClient(port: number, limits: StreamLimits = LIMITS): Promise<Client> {
    const stream = await createStream('localhost', limits, 500);
    const errors: Error[] = [];
    let report: (err: Error) => void = () => {};
    const firstError = new Promise<Error>((resolve) => {
        report = resolve;
    });
    stream.on('error', (err: Error) => {
        errors.push(err);
        report(err);
    });
    await stream.connectTo({ host: '127.0.0.1', port, direct: false, domain: 'localhost', trust: {} }, 2000);
    await stream.open({ domain: 'localhost' });
    return { stream, errors, firstError };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    return Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`${what} did not happen within ${ms} ms`)))]);
}

// ---- process-level spies: nothing the server sends may crash the process ----

const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);
let cleanups: Array<() => Promise<void> | void> = [];

function watchProcess(): void {
    crashes.length = 0;
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
}

afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
    // Let late timers of the stream (disconnect timeouts) run while the spies still listen.
    await sleep(50);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
});

async function scenario(script: Step[], limits: StreamLimits = LIMITS): Promise<{ server: Hostile; client: Client }> {
    watchProcess();
    const server = await hostileServer(script);
    cleanups.push(() => server.close());
    const client = await connectClient(server.port, limits);
    cleanups.push(() => client.stream.destroy());
    return { server, client };
}

const POLICY_VIOLATION =
    /<stream:error><policy-violation xmlns=["']urn:ietf:params:xml:ns:xmpp-streams["']\/><\/stream:error>/;

async function expectLimit(script: Step[], message: RegExp): Promise<void> {
    const { server, client } = await scenario(script);
    const pending = client.stream.inbox.next(3000, 'a stanza');
    const err = await withTimeout(client.firstError, 3000, 'an error event');
    assert.ok(err instanceof XmppError, `expected an XmppError, got ${err}`);
    assert.equal(err.code, 'PROTOCOL_ERROR');
    assert.equal(err.condition, 'policy-violation');
    assert.match(err.message, message);
    await assert.rejects(pending, (e: Error) => e === err, 'the waiting reader learns the same error');
    await server.waitFor(POLICY_VIOLATION);
    await sleep(100);
    assert.deepEqual(crashes, []);
}

async function expectMalformed(script: Step[], message: RegExp): Promise<void> {
    const { server, client } = await scenario(script);
    const pending = client.stream.inbox.next(3000, 'a stanza');
    const err = await withTimeout(client.firstError, 3000, 'an error event');
    assert.ok(err instanceof XmppError, `expected an XmppError, got ${err}`);
    assert.equal(err.code, 'PROTOCOL_ERROR');
    assert.match(err.message, /^Malformed XML from server: /);
    assert.match(err.message, message);
    await assert.rejects(pending, (e: Error) => e === err);
    // The client closes the stream with a stream error of its own.
    await server.waitFor(/<stream:error><[a-z-]+ xmlns=["']urn:ietf:params:xml:ns:xmpp-streams["']\/><\/stream:error>/);
    await sleep(100);
    assert.deepEqual(crashes, []);
}

const AFTER = "<message from='juliet@localhost/balcony' id='after'><body>next</body></message>";

/**
 * A stanza over a limit is skipped, not built, and reported as `dropped` with its name,
 * attributes and the reason; the stream stays open and the next stanza arrives as usual.
 */
async function expectDropped(script: Step[], reason: RegExp): Promise<void> {
    const { server, client } = await scenario([...script, { data: AFTER }]);
    const dropped: Array<{ name: string; attrs: Record<string, string>; reason: string }> = [];
    client.stream.on('dropped', (d: (typeof dropped)[number]) => dropped.push(d));
    const next = await client.stream.inbox.next(3000, 'the stanza after the dropped one');
    assert.equal(next.attr('id'), 'after', 'the stanza after the refused one is delivered');
    assert.equal(dropped.length, 1, `expected one dropped stanza, got ${JSON.stringify(dropped)}`);
    assert.equal(dropped[0]?.name, 'message');
    assert.equal(dropped[0]?.attrs.id, 'big');
    assert.match(dropped[0]?.reason ?? '', reason);
    assert.deepEqual(client.errors, [], 'no stream error: the stream stays open');
    assert.doesNotMatch(server.received(), /stream:error/);
    assert.deepEqual(crashes, []);
}

describe('stream parser limits against a hostile server', () => {
    test('(a) a stanza larger than maxStanzaBytes is dropped; the stream goes on', async () => {
        await expectDropped(
            [{ data: `<message id='big'><body>${'x'.repeat(200_000)}</body></message>` }],
            /larger than 4096 characters/,
        );
    });

    test('(a) a large stanza dribbled in small pieces is caught too', async () => {
        const steps: Step[] = [{ data: "<message id='big'><body>" }];
        for (let i = 0; i < 10; i++) steps.push({ data: 'y'.repeat(500), delayMs: 5 });
        steps.push({ data: '</body></message>' });
        await expectDropped(steps, /larger than 4096 characters/);
    });

    test('(b) a stanza nested deeper than maxDepth is dropped', async () => {
        await expectDropped(
            [{ data: `<message id='big'>${'<a>'.repeat(20)}${'</a>'.repeat(20)}</message>` }],
            /nested deeper than 8/,
        );
    });

    test('(c) an element with too many attributes is dropped', async () => {
        const attrs = Array.from({ length: 9 }, (_, i) => `a${i}='${i}'`).join(' ');
        await expectDropped(
            [{ data: `<message id='big'><body ${attrs}>x</body></message>` }],
            /more than 8 attributes/,
        );
    });

    test('(f) a stanza with too many elements is dropped', async () => {
        await expectDropped([{ data: `<message id='big'>${'<x/>'.repeat(150)}</message>` }], /more than 100 elements/);
    });

    test('a text run beyond the hard limit (what the parser would have to buffer) closes the stream with policy-violation', async () => {
        await expectLimit(
            [{ data: `<message><body>${'z'.repeat(1_200_000)}</body></message>` }],
            /larger than \d+ characters/,
        );
    });

    test('(d) an illegal entity &foo;: error naming it, no crash', async () => {
        await expectMalformed([{ data: '<message><body>&foo;</body></message>' }], /&foo;/);
    });

    test('(e) a &#1; character reference: error naming it, no crash', async () => {
        await expectMalformed([{ data: "<message><body a='1'>&#1;</body></message>" }], /0x1\b|&#1;/);
    });

    test('an illegal entity in an attribute value: error, no crash', async () => {
        await expectMalformed([{ data: "<message to='&bar;'/>" }], /&bar;/);
    });

    test('whitespace keepalives between stanzas are ignored; the stanza after them is delivered as jabber:client', async () => {
        const { client } = await scenario([
            { data: ' ' },
            { data: '\n' },
            { data: '\t \r\n' },
            {
                data: "<message from='juliet@localhost/balcony' to='romeo@localhost' type='chat' id='m1'><body>hello &amp; bye</body></message>",
            },
            { data: '  ' },
            { data: "<presence from='juliet@localhost/balcony'/>" },
        ]);
        const message = await client.stream.inbox.next(3000, 'the message');
        assert.ok(message instanceof XmlElement);
        assert.equal(message.local, 'message');
        assert.equal(message.ns, 'jabber:client');
        assert.equal(message.attr('id'), 'm1');
        assert.equal(message.attr('from'), 'juliet@localhost/balcony');
        assert.equal(message.child('body', 'jabber:client')?.text(), 'hello & bye');
        assert.equal(message.parent, undefined);

        const presence = await client.stream.inbox.next(3000, 'the presence');
        assert.ok(presence.is('presence', 'jabber:client'));
        await sleep(50);
        assert.deepEqual(client.errors, []);
        assert.deepEqual(crashes, []);
    });

    test('keepalives adding up to more than maxStanzaBytes are not mistaken for one large stanza', async () => {
        // RFC 6120 §4.6.1: a server may send whitespace keepalives for as long as the stream is idle.
        const steps: Step[] = [];
        for (let i = 0; i < 30; i++) steps.push({ data: ' '.repeat(50), delayMs: 10 });
        steps.push({
            data: "<message from='juliet@localhost/balcony'><body>still here</body></message>",
            delayMs: 100,
        });
        const { client } = await scenario(steps, { ...LIMITS, maxStanzaBytes: 1024 });
        const message = await client.stream.inbox.next(3000, 'the message after the keepalives');
        assert.equal(message.childText('body'), 'still here');
        assert.deepEqual(
            client.errors.map((e) => e.message),
            [],
        );
        assert.deepEqual(crashes, []);
    });

    test('a stanza exactly at the depth and attribute limits passes through', async () => {
        // iq (depth 1) > q (2) > six nested <a/> (3..8): depth 8; iq carries 8 attributes.
        const attrs = Array.from({ length: 6 }, (_, i) => `a${i}='${i}'`).join(' ');
        const deep = `${'<a>'.repeat(6)}${'</a>'.repeat(6)}`;
        const { client } = await scenario([
            { data: `<iq type='result' id='r1' ${attrs}><q xmlns='urn:example'>${deep}</q></iq>` },
        ]);
        const iq = await client.stream.inbox.next(3000, 'the iq');
        assert.ok(iq.is('iq', 'jabber:client'));
        assert.equal(Object.keys(iq.attrs).length, 8);
        assert.equal(iq.child('q', 'urn:example')?.elements().length, 1);
        assert.deepEqual(client.errors, []);
    });
});
