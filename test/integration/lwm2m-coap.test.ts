/**
 * The CoAP endpoint the LwM2M roles share, against libcoap's coap-client and coap-server (Debian
 * libcoap3-bin), against itself, and against raw datagrams.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generate, type ParsedPacket, parse } from 'coap-packet';
import { CoapEndpoint, CoapTimeoutError, isFresher } from '../../src/protocols/lwm2m/coap/endpoint';
import type {
    CoapPeer,
    CoapRequest,
    CoapResponse,
    ObserverHandle,
    RequestHandler,
} from '../../src/protocols/lwm2m/coap/types';
import { coapClient, ensureLibcoap, type RunningServer, spawnCoapClient, startCoapServer } from '../support/libcoap';

const LOCAL = '127.0.0.1';

/** Polls `cond` until it holds (or fails after `ms`). */
async function until(cond: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
    }
}

/** An endpoint whose handler each test sets; every request is logged. */
interface Served {
    ep: CoapEndpoint;
    peer: CoapPeer;
    seen: CoapRequest[];
    handle: RequestHandler;
}
const endpoints: CoapEndpoint[] = [];
async function serve(opts: Parameters<typeof CoapEndpoint.open>[0] = {}): Promise<Served> {
    const seen: CoapRequest[] = [];
    const route: { handle: RequestHandler } = { handle: () => ({ code: '4.04' }) };
    const ep = await CoapEndpoint.open({ address: LOCAL, ...opts }, (req, obs) => {
        seen.push(req);
        return route.handle(req, obs);
    });
    endpoints.push(ep);
    return {
        ep,
        peer: { address: LOCAL, port: ep.port },
        seen,
        get handle() {
            return route.handle;
        },
        set handle(h: RequestHandler) {
            route.handle = h;
        },
    };
}
async function client(opts: Parameters<typeof CoapEndpoint.open>[0] = {}): Promise<CoapEndpoint> {
    const ep = await CoapEndpoint.open({ address: LOCAL, ...opts }, () => ({ code: '4.04' }));
    endpoints.push(ep);
    return ep;
}

/** A raw UDP socket to speak CoAP by hand; collects what comes back. */
interface Raw {
    sock: dgram.Socket;
    got: Buffer[];
    send(packet: Parameters<typeof generate>[0] | Buffer, to: CoapPeer): void;
    next(ms?: number): Promise<ParsedPacket>;
    peer: CoapPeer;
}
const raws: dgram.Socket[] = [];
async function raw(): Promise<Raw> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, LOCAL, () => r()));
    raws.push(sock);
    const got: Buffer[] = [];
    let read = 0;
    sock.on('message', (m) => got.push(m));
    return {
        sock,
        got,
        peer: { address: LOCAL, port: sock.address().port },
        send(packet, to) {
            const buf = Buffer.isBuffer(packet) ? packet : generate(packet);
            sock.send(buf, to.port, to.address);
        },
        async next(ms = 2_000) {
            await until(() => got.length > read, ms, 'a datagram');
            return parse(got[read++] as Buffer);
        },
    };
}
function opt(p: ParsedPacket, name: string): Buffer | undefined {
    return p.options.find((o) => o.name === name)?.value;
}
function uintOf(b: Buffer | undefined): number | undefined {
    if (b === undefined) return undefined;
    let v = 0;
    for (const x of b) v = v * 256 + x;
    return v;
}
function block1(num: number, more: boolean, szx: number): Buffer {
    const v = (num << 4) | (more ? 8 : 0) | szx;
    return v < 256 ? Buffer.of(v) : Buffer.of(v >> 8, v & 0xff);
}

const tmp = mkdtempSync(path.join(tmpdir(), 'derlink-coap-'));

before(() => ensureLibcoap());
after(async () => {
    for (const ep of endpoints) await ep.close();
    for (const s of raws) s.close();
    rmSync(tmp, { recursive: true, force: true });
});

describe('coap-client against our endpoint', () => {
    let s: Served;
    let uri: string;
    before(async () => {
        s = await serve();
        uri = `coap://${LOCAL}:${s.ep.port}`;
    });

    test('GET: path, query in order, Accept arrive; code, Content-Format and payload go back', async () => {
        s.seen.length = 0;
        s.handle = () => ({ code: '2.05', contentFormat: 0, payload: Buffer.from('22.5') });
        const r = await coapClient(['-m', 'get', '-A', '11543', `${uri}/3303/0/5700?ep=node-1&lt=300&b`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.toString().trimEnd(), '22.5');
        assert.equal(s.seen.length, 1);
        const req = s.seen[0] as CoapRequest;
        assert.equal(req.method, 'GET');
        assert.deepEqual(req.path, ['3303', '0', '5700']);
        assert.deepEqual(req.query, ['ep=node-1', 'lt=300', 'b']);
        assert.equal(req.accept, 11543);
        assert.equal(req.contentFormat, undefined);
        assert.equal(req.peer.address, LOCAL);
    });

    test('PUT, POST and DELETE with content formats and reply codes', async () => {
        s.seen.length = 0;
        s.handle = (req) => {
            if (req.method === 'PUT') return { code: '2.04' };
            if (req.method === 'POST') return { code: '2.01', locationPath: ['rd', 'x1'] };
            return { code: '2.02' };
        };
        const put = await coapClient(['-m', 'put', '-t', '11542', '-e', 'abc', `${uri}/3/0/1`]);
        assert.equal(put.code, 0, put.stderr);
        const post = await coapClient(['-m', 'post', '-t', '40', '-e', '</1/0>', `${uri}/rd?ep=c1`]);
        assert.equal(post.code, 0, post.stderr);
        const del = await coapClient(['-m', 'delete', `${uri}/rd/x1`]);
        assert.equal(del.code, 0, del.stderr);
        assert.deepEqual(
            s.seen.map((r) => [r.method, r.path.join('/'), r.query.join('&'), r.contentFormat, r.payload.toString()]),
            [
                ['PUT', '3/0/1', '', 11542, 'abc'],
                ['POST', 'rd', 'ep=c1', 40, '</1/0>'],
                ['DELETE', 'rd/x1', '', undefined, ''],
            ],
        );
    });

    test('an error code comes back to coap-client', async () => {
        s.handle = () => ({ code: '4.04', payload: Buffer.from('no such thing') });
        const r = await coapClient(['-m', 'get', `${uri}/nope`]);
        assert.match(`${r.stdout.toString()}${r.stderr}`, /4\.04/);
    });

    test('Block1 upload with a new token per block arrives complete and byte-exact', async () => {
        s.seen.length = 0;
        const body = Buffer.alloc(3000);
        for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 3) & 0xff;
        const file = path.join(tmp, 'upload.bin');
        writeFileSync(file, body);
        s.handle = () => ({ code: '2.04' });
        const r = await coapClient(['-m', 'put', '-b', '64', '-t', '42', '-f', file, `${uri}/5/0/0`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(s.seen.length, 1, 'the handler sees one request');
        const req = s.seen[0] as CoapRequest;
        assert.equal(req.payload.length, 3000);
        assert.ok(req.payload.equals(body), 'body is byte-exact');
        assert.deepEqual(req.path, ['5', '0', '0']);
        assert.equal(req.contentFormat, 42);
        assert.equal(s.ep.pending.uploads, 0);
    });

    test('Block2: a 5 KB reply is read whole', async () => {
        const big = Buffer.alloc(5 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = 0x41 + (i % 26);
        s.handle = () => ({ code: '2.05', contentFormat: 42, payload: big });
        s.seen.length = 0;
        const out = path.join(tmp, 'block2.bin');
        const r = await coapClient(['-m', 'get', '-o', out, `${uri}/big`]);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(readFileSync(out).equals(big), 'reply is byte-exact');
        // coap-client asks for each block with a new token; later blocks come from our cache.
        assert.equal(s.seen.length, 1, 'the handler runs once');
    });

    test('Observe: coap-client receives the first value and the notifications in order', async () => {
        let observer: ObserverHandle | undefined;
        let closed = false;
        s.handle = (_req, obs) => {
            if (obs) {
                observer = obs;
                obs.onClose(() => {
                    closed = true;
                });
            }
            return { code: '2.05', contentFormat: 0, payload: Buffer.from('v0') };
        };
        const c = spawnCoapClient(['-s', '3', '-w', '-B', '6', `${uri}/3316/0/5700`]);
        try {
            await until(() => observer !== undefined && c.output().includes('v0'), 5_000, 'registration');
            assert.equal(await observer?.notify({ code: '2.05', contentFormat: 0, payload: Buffer.from('v1') }), true);
            await until(() => c.output().includes('v1'), 3_000, 'v1');
            assert.equal(
                await observer?.notify({ code: '2.05', contentFormat: 0, payload: Buffer.from('v2') }, true),
                true,
            );
            await until(() => c.output().includes('v2'), 3_000, 'v2');
            const lines = c
                .output()
                .split('\n')
                .filter((l) => l !== '');
            assert.deepEqual(lines, ['v0', 'v1', 'v2']);
            // coap-client deregisters when -s runs out; the observation ends.
            await until(() => closed, 8_000, 'deregistration');
            assert.equal(observer?.closed, true);
            assert.equal(await observer?.notify({ code: '2.05', payload: Buffer.from('v3') }), false);
            assert.equal(s.ep.pending.observations, 0);
        } finally {
            await c.stop();
        }
    });

    test('a throwing or rejecting handler gives 5.00 and the endpoint still serves', async () => {
        const before = s.ep.stats.handlerErrors;
        const events: string[] = [];
        const onHandlerError = (e: Error): void => {
            events.push(e.message);
        };
        s.ep.on('handlerError', onHandlerError);
        s.handle = () => {
            throw new Error('boom');
        };
        const r1 = await coapClient(['-m', 'get', `${uri}/x`]);
        assert.match(`${r1.stdout.toString()}${r1.stderr}`, /5\.00/);
        s.handle = async () => {
            throw new Error('async boom');
        };
        const r2 = await coapClient(['-m', 'get', `${uri}/x`]);
        assert.match(`${r2.stdout.toString()}${r2.stderr}`, /5\.00/);
        assert.equal(s.ep.stats.handlerErrors, before + 2);
        assert.deepEqual(events, ['boom', 'async boom']);
        s.ep.off('handlerError', onHandlerError);
        s.handle = () => ({ code: '2.05', payload: Buffer.from('fine') });
        const r3 = await coapClient(['-m', 'get', `${uri}/x`]);
        assert.equal(r3.stdout.toString().trimEnd(), 'fine');
    });
});

describe('our endpoint against coap-server', () => {
    let srv: RunningServer;
    let ep: CoapEndpoint;
    let peer: CoapPeer;
    before(async () => {
        srv = await startCoapServer(['-d', '4']);
        peer = { address: LOCAL, port: srv.port };
        ep = await client({ requestTimeoutMs: 5_000 });
    });
    after(async () => {
        await srv?.stop();
    });

    test('GET /.well-known/core', async () => {
        const r = await ep.request(peer, { method: 'GET', path: '/.well-known/core' });
        assert.equal(r.code, '2.05');
        assert.equal(r.contentFormat, 40);
        assert.match(r.payload.toString(), /<\/time>/);
    });

    test('4.04 resolves', async () => {
        const r = await ep.request(peer, { method: 'GET', path: '/no/such/resource' });
        assert.equal(r.code, '4.04');
    });

    test('a 5 KB PUT goes out block-wise and comes back block-wise', async () => {
        const big = Buffer.alloc(5 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
        const put = await ep.request(peer, { method: 'PUT', path: '/dyn1', contentFormat: 42, payload: big });
        assert.equal(put.code, '2.01');
        const get = await ep.request(peer, { method: 'GET', path: '/dyn1' });
        assert.equal(get.code, '2.05');
        assert.ok(get.payload.equals(big), 'byte-exact round trip');
    });

    test('observe /time: notifications arrive; cancel() stops them', async () => {
        const seen: CoapResponse[] = [];
        let ended = 0;
        const obs = await ep.observe(
            peer,
            { method: 'GET', path: '/time' },
            (r) => seen.push(r),
            () => {
                ended++;
            },
        );
        assert.equal(obs.response.code, '2.05');
        assert.equal(typeof obs.response.observe, 'number');
        await until(() => seen.length >= 2, 5_000, 'two notifications');
        assert.ok(seen.every((r) => r.code === '2.05' && r.payload.length > 0));
        const seqs = seen.map((r) => r.observe as number);
        assert.ok(
            seqs.every((v, i) => i === 0 || v > (seqs[i - 1] as number)),
            'increasing Observe',
        );
        await obs.cancel();
        assert.equal(ended, 1);
        const count = seen.length;
        // /time changes every second: a cancelled observation would have notified in 1.5 s.
        await new Promise((r) => setTimeout(r, 1_500));
        assert.equal(seen.length, count);
        assert.equal(ep.pending.observing, 0);
        assert.equal(ep.pending.agentTokens, 0);
    });
});

describe('endpoint to endpoint', () => {
    let s: Served;
    let c: CoapEndpoint;
    before(async () => {
        s = await serve();
        c = await client({ requestTimeoutMs: 3_000 });
    });

    test('request/response: options both ways', async () => {
        s.seen.length = 0;
        s.handle = () => ({
            code: '2.01',
            locationPath: ['rd', 'a b'],
            contentFormat: 11543,
            payload: Buffer.from('{}'),
        });
        const r = await c.request(s.peer, {
            method: 'POST',
            path: '/rd',
            query: ['ep=x&y', 'lt=60', 'b=U'],
            contentFormat: 40,
            accept: 11543,
            payload: Buffer.from('</3/0>'),
        });
        assert.equal(r.code, '2.01');
        assert.deepEqual(r.locationPath, ['rd', 'a b']);
        assert.equal(r.contentFormat, 11543);
        assert.equal(r.payload.toString(), '{}');
        assert.deepEqual(r.peer, s.peer);
        const req = s.seen[0] as CoapRequest;
        assert.deepEqual(req.query, ['ep=x&y', 'lt=60', 'b=U']);
        assert.equal(req.contentFormat, 40);
        assert.equal(req.accept, 11543);
        assert.equal(req.peer.port, c.port);
    });

    test('every method arrives as sent; FETCH without Content-Format gets 4.15', async () => {
        s.seen.length = 0;
        s.handle = (req) => ({ code: '2.05', payload: Buffer.from(req.method) });
        for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'FETCH', 'PATCH', 'iPATCH'] as const) {
            const r = await c.request(s.peer, { method, path: '/m', contentFormat: 60, payload: Buffer.of(0xa0) });
            assert.equal(r.payload.toString(), method);
        }
        assert.deepEqual(
            s.seen.map((r) => r.method),
            ['GET', 'POST', 'PUT', 'DELETE', 'FETCH', 'PATCH', 'iPATCH'],
        );
        const bad = await c.request(s.peer, { method: 'FETCH', path: '/m' });
        assert.equal(bad.code, '4.15');
        assert.equal(s.seen.length, 7);
    });

    test('60 requests at once each get their own answer', async () => {
        s.handle = async (req) => {
            await new Promise((r) => setTimeout(r, Math.random() * 80));
            return { code: '2.05', payload: Buffer.from(req.path.join('/')) };
        };
        const replies = await Promise.all(
            Array.from({ length: 60 }, (_, i) => c.request(s.peer, { method: 'GET', path: `/n/${i}` })),
        );
        assert.deepEqual(
            replies.map((r) => r.payload.toString()),
            Array.from({ length: 60 }, (_, i) => `n/${i}`),
        );
        assert.deepEqual(c.pending, {
            agentTokens: 0,
            agentMessageIds: 0,
            requests: 0,
            uploads: 0,
            observations: 0,
            observing: 0,
        });
    });

    test('NON request', async () => {
        s.handle = () => ({ code: '2.05', payload: Buffer.from('non') });
        const r = await c.request(s.peer, { method: 'GET', path: '/n', confirmable: false });
        assert.equal(r.payload.toString(), 'non');
    });

    test('4.04 and 5.00 resolve', async () => {
        s.handle = () => ({ code: '4.04' });
        assert.equal((await c.request(s.peer, { method: 'GET', path: '/x' })).code, '4.04');
        s.handle = () => {
            throw new Error('x');
        };
        const r = await c.request(s.peer, { method: 'GET', path: '/x' });
        assert.equal(r.code, '5.00');
        assert.equal(r.payload.toString(), 'Internal error');
    });

    test('a slow handler answers in a separate response', async () => {
        s.handle = async () => {
            await new Promise((r) => setTimeout(r, 150));
            return { code: '2.05', payload: Buffer.from('late') };
        };
        const r = await c.request(s.peer, { method: 'GET', path: '/slow' });
        assert.equal(r.payload.toString(), 'late');
    });

    test('a peer that never answers: CoapTimeoutError, and nothing is left behind', async () => {
        const silent = await raw();
        const t0 = Date.now();
        await assert.rejects(
            c.request(silent.peer, { method: 'GET', path: '/x', timeoutMs: 300 }),
            (e: unknown) => e instanceof CoapTimeoutError && e.timeoutMs === 300,
        );
        assert.ok(Date.now() - t0 < 1_500);
        await until(() => silent.got.length >= 1, 1_000, 'the request');
        assert.deepEqual(
            { ...c.pending, uploads: 0, observations: 0 },
            { agentTokens: 0, agentMessageIds: 0, requests: 0, uploads: 0, observations: 0, observing: 0 },
        );
    });

    test('large payloads both ways (5 KB, Block1 out and Block2 back)', async () => {
        const up = Buffer.alloc(5000);
        for (let i = 0; i < up.length; i++) up[i] = (i * 31) & 0xff;
        const down = Buffer.alloc(5200, 0x5a);
        s.seen.length = 0;
        s.handle = () => ({ code: '2.04', payload: down });
        const r = await c.request(s.peer, { method: 'PUT', path: '/fw', contentFormat: 42, payload: up });
        assert.equal(r.code, '2.04');
        assert.ok(r.payload.equals(down));
        assert.equal(s.seen.length, 1);
        assert.ok((s.seen[0] as CoapRequest).payload.equals(up));
    });

    test('observe, notify, cancel', async () => {
        let observer: ObserverHandle | undefined;
        let closed = 0;
        s.handle = (_req, obs) => {
            if (obs) observer = obs;
            obs?.onClose(() => {
                closed++;
            });
            return { code: '2.05', contentFormat: 0, payload: Buffer.from('0') };
        };
        const got: string[] = [];
        let ended = 0;
        const obs = await c.observe(
            s.peer,
            { method: 'GET', path: '/3316/0/5700' },
            (r) => got.push(r.payload.toString()),
            () => {
                ended++;
            },
        );
        assert.equal(obs.response.payload.toString(), '0');
        assert.ok(observer);
        assert.equal(await observer.notify({ code: '2.05', payload: Buffer.from('1') }), true);
        assert.equal(await observer.notify({ code: '2.05', payload: Buffer.from('2') }, true), true);
        await until(() => got.length === 2, 2_000, 'notifications');
        assert.deepEqual(got, ['1', '2']);
        await obs.cancel();
        assert.equal(ended, 1);
        await until(() => closed === 1, 2_000, 'onClose');
        assert.equal(observer.closed, true);
        assert.equal(await observer.notify({ code: '2.05', payload: Buffer.from('3') }), false);
        assert.equal(s.ep.pending.observations, 0);
        assert.equal(c.pending.observing, 0);
    });

    test('observe, forget: the next notification gets RST and ends the observation', async () => {
        let observer: ObserverHandle | undefined;
        let closed = 0;
        s.handle = (_req, obs) => {
            if (obs) observer = obs;
            obs?.onClose(() => {
                closed++;
            });
            return { code: '2.05', payload: Buffer.from('0') };
        };
        const got: string[] = [];
        const obs = await c.observe(
            s.peer,
            { method: 'GET', path: '/r' },
            (r) => got.push(r.payload.toString()),
            () => undefined,
        );
        assert.ok(observer);
        obs.forget();
        assert.equal(await observer.notify({ code: '2.05', payload: Buffer.from('1') }), true);
        await until(() => closed === 1, 2_000, 'RST to end it');
        assert.equal(observer.closed, true);
        assert.deepEqual(got, []);
        // Confirmable: RST instead of ACK, so notify() itself reports the observer gone.
        const first = observer;
        const obs2 = await c.observe(
            s.peer,
            { method: 'GET', path: '/r' },
            () => undefined,
            () => undefined,
        );
        assert.notEqual(observer, first);
        obs2.forget();
        assert.equal(await observer.notify({ code: '2.05', payload: Buffer.from('2') }, true), false);
        assert.equal(closed, 2);
        assert.equal(observer.closed, true);
        assert.equal(s.ep.pending.observations, 0);
    });

    test('observe answered with 4.04: resolves, shows it, ends at once', async () => {
        s.handle = () => ({ code: '4.04' });
        let ended = 0;
        const obs = await c.observe(
            s.peer,
            { method: 'GET', path: '/none' },
            () => undefined,
            () => {
                ended++;
            },
        );
        assert.equal(obs.response.code, '4.04');
        assert.equal(obs.response.observe, undefined);
        await until(() => ended === 1, 1_000, 'onEnd');
        assert.equal(s.ep.pending.observations, 0);
    });

    test('observe answered without Observe (not observable): ends at once', async () => {
        s.handle = () => ({ code: '2.05', payload: Buffer.from('plain') });
        let ended = 0;
        const obs = await c.observe(
            s.peer,
            { method: 'POST', path: '/p' },
            () => undefined,
            () => {
                ended++;
            },
        );
        assert.equal(obs.response.code, '2.05');
        assert.equal(obs.response.observe, undefined);
        await until(() => ended === 1, 1_000, 'onEnd');
    });

    test('end(reply) sends a last response without Observe and ends both sides', async () => {
        let observer: ObserverHandle | undefined;
        s.handle = (_req, obs) => {
            observer = obs;
            return { code: '2.05', payload: Buffer.from('0') };
        };
        const got: CoapResponse[] = [];
        let ended = 0;
        await c.observe(
            s.peer,
            { method: 'GET', path: '/e' },
            (r) => got.push(r),
            () => {
                ended++;
            },
        );
        observer?.end({ code: '2.05', payload: Buffer.from('last') });
        await until(() => ended === 1, 2_000, 'onEnd');
        assert.equal(got.length, 1);
        assert.equal(got[0]?.payload.toString(), 'last');
        assert.equal(got[0]?.observe, undefined);
    });
});

describe('observe details with a raw peer', () => {
    test('stale (re-ordered) notifications are dropped (RFC 7641 §3.4)', async () => {
        const c = await client();
        const peer = await raw();
        const got: string[] = [];
        const pending = c.observe(
            peer.peer,
            { method: 'GET', path: '/o' },
            (r) => got.push(r.payload.toString()),
            () => undefined,
        );
        const req = await peer.next();
        assert.equal(req.code, '0.01');
        assert.equal(uintOf(opt(req, 'Observe')), 0);
        peer.send(
            {
                code: '2.05',
                messageId: req.messageId,
                ack: true,
                token: req.token,
                options: [{ name: 'Observe', value: Buffer.of(10) }],
                payload: Buffer.from('first'),
            },
            { address: LOCAL, port: c.port },
        );
        const obs = await pending;
        assert.equal(obs.response.observe, 10);
        const notify = (seq: number, text: string, mid: number, con = false): void =>
            peer.send(
                {
                    code: '2.05',
                    messageId: mid,
                    confirmable: con,
                    token: req.token,
                    options: [{ name: 'Observe', value: Buffer.of(seq) }],
                    payload: Buffer.from(text),
                },
                { address: LOCAL, port: c.port },
            );
        notify(12, 'a', 100);
        notify(11, 'stale', 101);
        notify(13, 'b', 102, true);
        await until(() => got.length === 2, 2_000, 'notifications');
        const ack = await peer.next();
        assert.equal(ack.ack, true);
        assert.equal(ack.messageId, 102);
        assert.deepEqual(got, ['a', 'b']);
        assert.equal(isFresher(0xfffffe, Date.now(), 1, Date.now()), true, 'wrap-around counts as newer');
        assert.equal(isFresher(5, Date.now() - 200_000, 3, Date.now()), true, 'after 128 s anything is newer');
        obs.forget();
    });

    test('an unanswered confirmable notification ends the observation', async () => {
        const s = await serve({ ackTimeoutMs: 40, maxRetransmit: 2 });
        let observer: ObserverHandle | undefined;
        let closed = false;
        s.handle = (_req, obs) => {
            observer = obs;
            obs?.onClose(() => {
                closed = true;
            });
            return { code: '2.05', payload: Buffer.from('0') };
        };
        const peer = await raw();
        peer.send(
            {
                code: 'GET',
                messageId: 7,
                confirmable: true,
                token: Buffer.from('tk01'),
                options: [
                    { name: 'Observe', value: Buffer.alloc(0) },
                    { name: 'Uri-Path', value: Buffer.from('x') },
                ],
            },
            s.peer,
        );
        const first = await peer.next();
        assert.equal(first.code, '2.05');
        assert.equal(first.ack, true);
        assert.equal(typeof uintOf(opt(first, 'Observe')), 'number');
        assert.ok(observer);
        const t0 = Date.now();
        assert.equal(await observer.notify({ code: '2.05', payload: Buffer.from('1') }, true), false);
        assert.ok(Date.now() - t0 < 2_000);
        assert.equal(closed, true);
        // 1 first response + 1 notification + 2 retransmissions of it.
        assert.equal(peer.got.length, 4);
        assert.equal(s.ep.pending.observations, 0);
    });

    test('GET with Observe: 1 and the same token ends the observation and is answered', async () => {
        const s = await serve();
        let closed = false;
        s.handle = (req, obs) => {
            obs?.onClose(() => {
                closed = true;
            });
            return { code: '2.05', payload: Buffer.from(`obs=${req.observe}`) };
        };
        const peer = await raw();
        const token = Buffer.from('tok2');
        peer.send(
            {
                code: 'GET',
                messageId: 1,
                confirmable: true,
                token,
                options: [{ name: 'Observe', value: Buffer.alloc(0) }],
            },
            s.peer,
        );
        assert.equal((await peer.next()).payload.toString(), 'obs=0');
        assert.equal(s.ep.pending.observations, 1);
        peer.send(
            {
                code: 'GET',
                messageId: 2,
                confirmable: true,
                token,
                options: [{ name: 'Observe', value: Buffer.of(1) }],
            },
            s.peer,
        );
        const r = await peer.next();
        assert.equal(r.payload.toString(), 'obs=1');
        assert.equal(opt(r, 'Observe'), undefined);
        assert.equal(closed, true);
        assert.equal(s.ep.pending.observations, 0);
    });
});

describe('bad input', () => {
    let s: Served;
    before(async () => {
        s = await serve({ maxBodyBytes: 200, maxUploads: 2, uploadLifetimeMs: 300 });
        s.handle = (req) => ({ code: '2.04', payload: Buffer.from(`got ${req.payload.length}`) });
    });

    test('malformed datagrams are counted, never crash; a CON with a header gets RST', async () => {
        const peer = await raw();
        const before = s.ep.stats.malformed;
        peer.send(Buffer.from([0xde, 0xad]), s.peer); // truncated
        peer.send(Buffer.from('this is not CoAP at all'), s.peer); // text: a RST with reserved code class 3
        peer.send(Buffer.from([0x80, 0x01, 0x00, 0x01]), s.peer); // version 2, silently ignored
        peer.send(Buffer.from([0x49, 0x01, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 9]), s.peer); // CON, token length 9
        peer.send(Buffer.from([0x40, 0x01, 0x12, 0x35, 0xf1, 0x41]), s.peer); // CON, option delta 15
        peer.send(Buffer.from([0x50, 0x01, 0x12, 0x36, 0xd1]), s.peer); // NON, option cut short
        await until(() => s.ep.stats.malformed === before + 6, 2_000, 'malformed count');
        await until(() => peer.got.length >= 2, 2_000, 'RSTs');
        const rsts = peer.got.map((b) => parse(b));
        assert.ok(rsts.every((p) => p.reset && p.code === '0.00'));
        assert.deepEqual(rsts.map((p) => p.messageId).sort(), [0x1234, 0x1235]);
        const ok = await (await client()).request(s.peer, { method: 'PUT', path: '/a', payload: Buffer.from('xy') });
        assert.equal(ok.payload.toString(), 'got 2');
        assert.equal(peer.got.length, 2, 'nothing else came back');
    });

    test('a duplicate CON request is answered from the cache, not handled twice', async () => {
        const peer = await raw();
        const n = s.seen.length;
        const req = {
            code: 'PUT',
            messageId: 0x4242,
            confirmable: true,
            token: Buffer.from('dup1'),
            options: [{ name: 'Uri-Path' as const, value: Buffer.from('d') }],
            payload: Buffer.from('abc'),
        };
        peer.send(req, s.peer);
        const first = await peer.next();
        peer.send(req, s.peer);
        const second = await peer.next();
        assert.equal(first.payload.toString(), 'got 3');
        assert.equal(second.messageId, 0x4242);
        assert.equal(second.payload.toString(), 'got 3');
        assert.equal(s.seen.length, n + 1);
    });

    test('duplicates of a CON whose handler is slow: dropped while it runs, the ACK replayed after', async () => {
        const slow = await serve();
        let calls = 0;
        slow.handle = async () => {
            calls++;
            await new Promise((r) => setTimeout(r, 200));
            return { code: '2.05', payload: Buffer.from('slow') };
        };
        const peer = await raw();
        const req = { code: 'GET', messageId: 0x5151, confirmable: true, token: Buffer.from('dup2'), options: [] };
        peer.send(req, slow.peer);
        peer.send(req, slow.peer); // while the handler runs, before any ACK
        const ack = await peer.next();
        assert.equal(ack.code, '0.00');
        assert.equal(ack.ack, true);
        assert.equal(ack.messageId, 0x5151);
        peer.send(req, slow.peer); // after the empty ACK: the ACK again
        const again = await peer.next();
        assert.equal(again.code, '0.00');
        assert.equal(again.messageId, 0x5151);
        const res = await peer.next();
        assert.equal(res.code, '2.05');
        assert.equal(res.confirmable, true);
        assert.equal(res.payload.toString(), 'slow');
        peer.send({ code: '0.00', messageId: res.messageId, ack: true }, slow.peer);
        assert.equal(calls, 1, 'the handler ran once');
        assert.equal(peer.got.length, 3);
    });

    test('a CoAP ping gets RST', async () => {
        const peer = await raw();
        peer.send(Buffer.from([0x40, 0x00, 0x22, 0x22]), s.peer);
        const r = await peer.next();
        assert.equal(r.reset, true);
        assert.equal(r.messageId, 0x2222);
    });

    test('Block1 out of order gets 4.08', async () => {
        const peer = await raw();
        const refused = s.ep.stats.uploadsRefused;
        const put = (mid: number, b: Buffer, payload: Buffer, p = 'ooo'): void =>
            peer.send(
                {
                    code: 'PUT',
                    messageId: mid,
                    confirmable: true,
                    token: Buffer.of(mid),
                    options: [
                        { name: 'Uri-Path', value: Buffer.from(p) },
                        { name: 'Block1', value: b },
                    ],
                    payload,
                },
                s.peer,
            );
        put(1, block1(0, true, 0), Buffer.alloc(16, 1));
        const cont = await peer.next();
        assert.equal(cont.code, '2.31');
        assert.deepEqual(opt(cont, 'Block1'), block1(0, true, 0));
        put(2, block1(2, true, 0), Buffer.alloc(16, 1));
        assert.equal((await peer.next()).code, '4.08');
        put(3, block1(5, false, 0), Buffer.alloc(3, 1), 'never-started');
        assert.equal((await peer.next()).code, '4.08');
        assert.equal(s.ep.stats.uploadsRefused, refused + 2);
    });

    test('Block1 with different tokens per block, retransmitted block, Block1 echoed on the final answer', async () => {
        const peer = await raw();
        const send = (mid: number, b: Buffer, payload: Buffer): void =>
            peer.send(
                {
                    code: 'POST',
                    messageId: mid,
                    confirmable: true,
                    token: Buffer.of(0xa0, mid),
                    options: [
                        { name: 'Uri-Path', value: Buffer.from('q') },
                        { name: 'Uri-Query', value: Buffer.from('k=1') },
                        { name: 'Block1', value: b },
                    ],
                    payload,
                },
                s.peer,
            );
        send(10, block1(0, true, 0), Buffer.alloc(16, 0x61));
        assert.equal((await peer.next()).code, '2.31');
        send(10, block1(0, true, 0), Buffer.alloc(16, 0x61)); // retransmission
        assert.equal((await peer.next()).code, '2.31');
        send(11, block1(1, false, 0), Buffer.from('end'));
        const fin = await peer.next();
        assert.equal(fin.code, '2.04');
        assert.equal(fin.payload.toString(), 'got 19');
        assert.deepEqual(opt(fin, 'Block1'), block1(1, false, 0));
        send(11, block1(1, false, 0), Buffer.from('end')); // retransmission of the last block: the cached answer
        const again = await peer.next();
        assert.equal(again.messageId, 11);
        assert.equal(again.payload.toString(), 'got 19');
    });

    test('oversize upload gets 4.13 with Size1', async () => {
        const peer = await raw();
        const send = (mid: number, b: Buffer, extra: Array<{ name: 'Size1'; value: Buffer }> = []): void =>
            peer.send(
                {
                    code: 'PUT',
                    messageId: mid,
                    confirmable: true,
                    token: Buffer.of(mid),
                    options: [{ name: 'Uri-Path', value: Buffer.from('big') }, { name: 'Block1', value: b }, ...extra],
                    payload: Buffer.alloc(64, 2),
                },
                s.peer,
            );
        for (let i = 0; i < 3; i++) {
            send(20 + i, block1(i, true, 2));
            assert.equal((await peer.next()).code, '2.31');
        }
        send(23, block1(3, true, 2));
        const r = await peer.next();
        assert.equal(r.code, '4.13');
        assert.equal(uintOf(opt(r, 'Size1')), 200);
        // Announced too large in Size1 up front.
        send(30, block1(0, true, 2), [{ name: 'Size1', value: Buffer.of(0x10, 0x00) }]);
        assert.equal((await peer.next()).code, '4.13');
        assert.equal(s.ep.pending.uploads, 0);
    });

    test('coap-client: an oversize Block1 upload is refused', async () => {
        const file = path.join(tmp, 'over.bin');
        writeFileSync(file, Buffer.alloc(600, 1));
        const refused = s.ep.stats.uploadsRefused;
        const r = await coapClient(['-m', 'put', '-b', '64', '-f', file, `coap://${LOCAL}:${s.ep.port}/over`]);
        assert.match(`${r.stdout.toString()}${r.stderr}`, /4\.13/);
        assert.equal(s.ep.stats.uploadsRefused, refused + 1);
    });

    test('too many uploads at once get 5.03; stale uploads expire', async () => {
        const peer = await raw();
        const start = (mid: number, p: string, num = 0): void =>
            peer.send(
                {
                    code: 'PUT',
                    messageId: mid,
                    confirmable: true,
                    token: Buffer.of(mid),
                    options: [
                        { name: 'Uri-Path', value: Buffer.from(p) },
                        { name: 'Block1', value: block1(num, true, 0) },
                    ],
                    payload: Buffer.alloc(16),
                },
                s.peer,
            );
        start(40, 'u1');
        assert.equal((await peer.next()).code, '2.31');
        start(41, 'u2');
        assert.equal((await peer.next()).code, '2.31');
        start(42, 'u3');
        const busy = await peer.next();
        assert.equal(busy.code, '5.03');
        assert.equal(s.ep.pending.uploads, 2);
        // uploadLifetimeMs is 300 here.
        await until(() => s.ep.pending.uploads === 0, 2_000, 'expiry');
        start(43, 'u1', 1);
        assert.equal((await peer.next()).code, '4.08', 'the expired upload is gone');
        start(44, 'u3');
        assert.equal((await peer.next()).code, '2.31', 'room again');
    });
});

describe('close()', () => {
    test('releases the socket and every timer: a process that used an endpoint exits by itself', async () => {
        const modulePath = path.join(__dirname, '../../src/protocols/lwm2m/coap/endpoint.ts');
        const script = `
            const { CoapEndpoint } = await import(${JSON.stringify(modulePath)});
            const a = await CoapEndpoint.open({ address: '127.0.0.1' }, (req, obs) => ({ code: '2.05', payload: Buffer.alloc(req.path[0] === 'big' ? 3000 : 4, 1) }));
            const b = await CoapEndpoint.open({ address: '127.0.0.1', requestTimeoutMs: 60000 }, () => ({ code: '2.04' }));
            const peer = { address: '127.0.0.1', port: a.port };
            await b.request(peer, { method: 'GET', path: '/big' });
            await b.request(peer, { method: 'PUT', path: '/x', payload: Buffer.alloc(3000, 2) });
            await b.observe(peer, { method: 'GET', path: '/o' }, () => {}, () => {});
            const pending = b.request({ address: '127.0.0.1', port: 9 }, { method: 'GET', path: '/never' }).catch((e) => e.message);
            await b.close();
            await a.close();
            console.log('closed', await pending);
        `;
        const node = process.execPath;
        const child = spawn(node, ['--import', 'tsx', '--input-type=module', '-e', script], {
            cwd: path.join(__dirname, '../..'),
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
        });
        child.stderr.on('data', (d: Buffer) => {
            err += d.toString();
        });
        const t0 = Date.now();
        const code = await new Promise<number | null>((resolve) => {
            const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
            child.on('close', (c) => {
                clearTimeout(timer);
                resolve(c);
            });
        });
        assert.equal(code, 0, err);
        assert.match(out, /closed CoAP endpoint closed/);
        assert.ok(Date.now() - t0 < 8_000);
    });
});
