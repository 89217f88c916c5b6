/**
 * The LwM2M roles against libcoap's coap-client (Debian libcoap3-bin) as an independent CoAP peer.
 *
 * Server: a hand-written Register / Update / Send / De-register, and a Register whose object list
 * goes block-wise (libcoap sends a new token per Block1 block, which stock `coap` would not
 * reassemble).
 *
 * Device: our device takes requests only from the server it registered with, so the device
 * registers with a stand-in server on a known port, which then closes, and coap-client borrows
 * that port (`-a 127.0.0.1 -p PORT`): Observe, Block2 read, Block1 write, Execute,
 * Write-Attributes and Discover, bad input; a stranger on another port gets 4.01.
 *
 * coap-client exits 0 whatever the response code, so codes and options are read from its `-v 7`
 * message dumps (coapExchange() in test/support/libcoap.ts).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoapEndpoint } from '../../src/protocols/lwm2m/coap/endpoint';
import type { CoapRequest } from '../../src/protocols/lwm2m/coap/types';
import { type ExecuteEvent, Lwm2mDevice, type WriteEvent } from '../../src/protocols/lwm2m/device';
import { Lwm2mServer, type RegistrationInfo, type SendEvent } from '../../src/protocols/lwm2m/server';
import {
    coapExchange,
    dumpOption,
    type Exchange,
    ensureLibcoap,
    freeUdpPort,
    spawnCoapClient,
} from '../support/libcoap';

const LOCAL = '127.0.0.1';

async function until(cond: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
    }
}

/** The next `event` from `emitter` (fails after `ms`; harmless when a failed test never awaits it). */
function next<T>(emitter: EventEmitter, event: string, ms = 5_000): Promise<T> {
    const p = new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
            emitter.off(event, on);
            reject(new Error(`no '${event}' within ${ms} ms`));
        }, ms);
        const on = (v: T): void => {
            clearTimeout(timer);
            resolve(v);
        };
        emitter.once(event, on);
    });
    p.catch(() => undefined);
    return p;
}

type UpdateChanges = { objectsChanged: boolean; moved: boolean };

/** The server's next 'updated' event with both its arguments. */
function nextUpdate(server: Lwm2mServer, ms = 5_000): Promise<[RegistrationInfo, UpdateChanges]> {
    const p = new Promise<[RegistrationInfo, UpdateChanges]>((resolve, reject) => {
        const timer = setTimeout(() => {
            server.off('updated', on);
            reject(new Error(`no 'updated' within ${ms} ms`));
        }, ms);
        const on = (info: RegistrationInfo, changes: UpdateChanges): void => {
            clearTimeout(timer);
            resolve([info, changes]);
        };
        server.once('updated', on);
    });
    p.catch(() => undefined);
    return p;
}

/** The lines coap-client has finished printing (with -w each body ends with a newline). */
function completeLines(text: string): string[] {
    return text
        .split('\n')
        .slice(0, -1)
        .filter((l) => l !== '');
}

/**
 * coap-client's options to send from 127.0.0.1:`port`. The address matters: freeUdpPort() finds a
 * port free on 127.0.0.1, and coap-client would otherwise bind the wildcard address, which fails
 * when another process holds that port on some other address.
 */
function bindTo(port: string): string[] {
    return ['-a', LOCAL, '-p', port];
}

/** Describes an exchange for assertion messages. */
function show(x: Exchange): string {
    return `stdout:\n${x.stdout.toString()}\nstderr:\n${x.stderr}`;
}

const tmp = mkdtempSync(path.join(tmpdir(), 'derlink-lwm2m-libcoap-'));

before(() => ensureLibcoap());
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('coap-client registers with our Lwm2mServer', () => {
    let server: Lwm2mServer;
    let base: string;
    before(async () => {
        server = await Lwm2mServer.open({ port: 0, address: LOCAL });
        base = `coap://${LOCAL}:${server.port}`;
    });
    after(async () => {
        await server?.close();
    });

    test('Register 2.01 with Location-Path, Update 2.04, De-register 2.02, with the events', async () => {
        // One local port for all three, as a real client keeps its socket.
        const local = String(await freeUdpPort());
        const registered = next<RegistrationInfo>(server, 'registered');
        const reg = await coapExchange([
            ...bindTo(local),
            '-m',
            'post',
            '-t',
            '40',
            '-e',
            '</3/0>,</3316/0>',
            `${base}/rd?ep=lib-1&lt=60&lwm2m=1.1&b=U`,
        ]);
        assert.equal(reg.last?.code, '2.01', show(reg));
        const location = dumpOption(reg.last, 'Location-Path');
        assert.equal(location.length, 2, show(reg));
        assert.equal(location[0], 'rd');
        const id = location[1] as string;
        assert.match(id, /^[A-Za-z0-9_-]+$/);

        const info = await registered;
        assert.equal(info.id, id);
        assert.equal(info.endpoint, 'lib-1');
        assert.equal(info.lifetime, 60);
        assert.equal(info.version, '1.1');
        assert.equal(info.binding, 'U');
        assert.equal(info.queueMode, false);
        assert.equal(info.address, LOCAL);
        assert.equal(info.port, Number(local));
        assert.deepEqual(info.objects, { 3: [0], 3316: [0] });
        assert.deepEqual(
            server.registrations().map((r) => [r.id, r.endpoint, r.objects]),
            [[id, 'lib-1', { 3: [0], 3316: [0] }]],
        );

        // Update: a new lifetime and a new object list.
        const updated = nextUpdate(server);
        const upd = await coapExchange([
            ...bindTo(local),
            '-m',
            'post',
            '-t',
            '40',
            '-e',
            '</3/0>,</3316/0>,</3316/1>',
            `${base}/rd/${id}?lt=120`,
        ]);
        assert.equal(upd.last?.code, '2.04', show(upd));
        const [uinfo, changes] = await updated;
        assert.equal(uinfo.id, id);
        assert.equal(uinfo.lifetime, 120);
        assert.deepEqual(uinfo.objects, { 3: [0], 3316: [0, 1] });
        assert.deepEqual(changes, { objectsChanged: true, moved: false });
        assert.equal(server.registration('lib-1')?.lifetime, 120);

        // Send (1.1) from the registered address: the server takes the SenML JSON values.
        const senml = '[{"n":"/3316/0/5700","v":231.5},{"n":"/3316/0/5701","vs":"V"}]';
        const sent = next<SendEvent>(server, 'send');
        const send = await coapExchange([...bindTo(local), '-m', 'post', '-t', '110', '-e', senml, `${base}/dp`]);
        assert.equal(send.last?.code, '2.04', show(send));
        const sendEvent = await sent;
        assert.equal(sendEvent.endpoint, 'lib-1');
        assert.deepEqual(sendEvent.values, { '/3316/0/5700': 231.5, '/3316/0/5701': 'V' });
        // The same Send from an address that did not register is refused.
        const foreign = await coapExchange(['-m', 'post', '-t', '110', '-e', senml, `${base}/dp`]);
        assert.equal(foreign.last?.code, '4.03', show(foreign));

        // An Update from another port (a NAT rebinding) moves the registration there.
        const local2 = String(await freeUdpPort());
        const moved = nextUpdate(server);
        const upd2 = await coapExchange([...bindTo(local2), '-m', 'post', `${base}/rd/${id}`]);
        assert.equal(upd2.last?.code, '2.04', show(upd2));
        const [minfo, mchanges] = await moved;
        assert.deepEqual(mchanges, { objectsChanged: false, moved: true });
        assert.equal(minfo.port, Number(local2));
        assert.deepEqual(minfo.objects, { 3: [0], 3316: [0, 1] }, 'an Update without payload keeps the objects');
        assert.equal(minfo.lifetime, 120);

        // De-register.
        const gone = next<RegistrationInfo>(server, 'deregistered');
        const del = await coapExchange([...bindTo(local2), '-m', 'delete', `${base}/rd/${id}`]);
        assert.equal(del.last?.code, '2.02', show(del));
        assert.equal((await gone).id, id);
        assert.deepEqual(server.registrations(), []);

        // The registration is gone: another Update gets 4.04.
        const stale = await coapExchange([...bindTo(local), '-m', 'post', `${base}/rd/${id}`]);
        assert.equal(stale.last?.code, '4.04', show(stale));
    });

    test('a 3 KB object list sent block-wise (-b 64, a new token per block) registers whole', async () => {
        const links = ['</3/0>', ...Array.from({ length: 300 }, (_, i) => `</3316/${i}>`)].join(',');
        assert.ok(links.length > 3000);
        const file = path.join(tmp, 'links.txt');
        writeFileSync(file, links);
        const registered = next<RegistrationInfo>(server, 'registered');
        const reg = await coapExchange([
            '-m',
            'post',
            '-t',
            '40',
            '-b',
            '64',
            '-f',
            file,
            `${base}/rd?ep=lib-big&lt=60&lwm2m=1.1&b=U`,
        ]);
        assert.equal(reg.last?.code, '2.01', show(reg));
        const location = dumpOption(reg.last, 'Location-Path');
        assert.equal(location[0], 'rd');

        // The premise: libcoap sent the body in 64-byte blocks, each block with a token of its own.
        const blocks = reg.messages.filter((m) => m.code === 'POST' && dumpOption(m, 'Block1').length > 0);
        const numbers = new Set(blocks.map((m) => dumpOption(m, 'Block1')[0]?.split('/')[0]));
        assert.equal(numbers.size, Math.ceil(links.length / 64), show(reg));
        assert.equal(new Set(blocks.map((m) => m.token)).size, numbers.size, 'a new token per block');
        assert.equal(reg.responses.filter((m) => m.code === '2.31').length, numbers.size - 1);
        assert.equal(reg.responses.filter((m) => m.code === '2.01').length, 1);

        const info = await registered;
        assert.equal(info.endpoint, 'lib-big');
        assert.equal(info.id, location[1]);
        assert.deepEqual(info.objects['3'], [0]);
        assert.deepEqual(
            info.objects['3316'],
            Array.from({ length: 300 }, (_, i) => i),
        );
        // Registered once, not once per block.
        assert.equal(server.registrations().filter((r) => r.endpoint === 'lib-big').length, 1);
    });
});

describe('coap-client manages our Lwm2mDevice from its server’s address', () => {
    let device: Lwm2mDevice;
    /** The port the stand-in server had; coap-client binds it with -p. */
    let serverPort: string;
    let deviceUri: string;
    const seen: CoapRequest[] = [];
    const identity = {
        0: `Manufacturer ${'Ä-ö-ü-ß "quoted" '.repeat(25)}`.slice(0, 500),
        1: `Model ${'M'.repeat(494)}`,
        2: `SN-${Array.from({ length: 120 }, (_, i) => i.toString(36).padStart(4, '0')).join('')}`.slice(0, 480),
        3: `Firmware ${'1.2.3-rc.'.repeat(56)}`,
    };

    before(async () => {
        const port = await freeUdpPort();
        serverPort = String(port);
        // A stand-in server for the device to register with.
        const stand = await CoapEndpoint.open({ port, address: LOCAL }, (req) => {
            seen.push(req);
            if (req.method === 'POST' && req.path.length === 1 && req.path[0] === 'rd')
                return { code: '2.01', locationPath: ['rd', 'x'] };
            if (req.method === 'POST') return { code: '2.04' };
            if (req.method === 'DELETE') return { code: '2.02' };
            return { code: '4.04' };
        });
        try {
            device = await Lwm2mDevice.start(
                { endpoint: 'dev-lib', address: LOCAL, server: { uri: `coap://${LOCAL}:${port}`, lifetime: 300 } },
                (tree) => {
                    tree.addInstance(3, 0, { ...identity, 16: 'U' });
                    tree.addInstance(3316, 0, { 5700: 230.5, 5701: 'V', 5750: 'mains' });
                },
            );
            if (device.state !== 'registered') await next(device, 'registered', 10_000);
        } finally {
            await stand.close();
        }
        assert.equal(device.location, '/rd/x');
        const register = seen.find((r) => r.method === 'POST' && r.path.join('/') === 'rd');
        assert.ok(register, 'the device registered');
        assert.ok(register.query.includes('ep=dev-lib'));
        deviceUri = `coap://${LOCAL}:${device.port}`;
    });
    after(async () => {
        await device?.stop({ deregister: false });
    });

    test('a stranger (another port) gets 4.01 and changes nothing', async () => {
        const get = await coapExchange(['-m', 'get', '-o', path.join(tmp, 'stranger.out'), `${deviceUri}/3/0/0`]);
        assert.equal(get.last?.code, '4.01', show(get));
        const put = await coapExchange(['-m', 'put', '-t', '0', '-e', 'hijacked', `${deviceUri}/3316/0/5750`]);
        assert.equal(put.last?.code, '4.01', show(put));
        assert.equal(device.tree.get('/3316/0/5750'), 'mains');
        // From the server's port the same read is answered.
        const ok = await coapExchange([
            ...bindTo(serverPort),
            '-m',
            'get',
            '-o',
            path.join(tmp, 'server.out'),
            `${deviceUri}/3316/0/5701`,
        ]);
        assert.equal(ok.last?.code, '2.05', show(ok));
        assert.equal(readFileSync(path.join(tmp, 'server.out'), 'utf8'), 'V');
    });

    test('Observe: coap-client gets the first value and each change, in order', async () => {
        const observed = next<{ path: string; format: number }>(device, 'observed');
        const ended = next<{ path: string }>(device, 'observe-ended', 12_000);
        const c = spawnCoapClient(['-B', '10', ...bindTo(serverPort), '-s', '4', '-w', `${deviceUri}/3316/0/5700`]);
        try {
            const o = await observed;
            assert.equal(o.path, '/3316/0/5700');
            const lines = (): string[] => completeLines(c.output());
            await until(() => lines().length >= 1, 5_000, 'the first value');
            const values = [231.5, 232.25, 229.75, 0.5];
            for (const [i, v] of values.entries()) {
                assert.equal(device.set('/3316/0/5700', v), true);
                await until(() => lines().length >= i + 2, 3_000, `notification ${v}`);
            }
            assert.deepEqual(lines(), ['230.5', '231.5', '232.25', '229.75', '0.5']);
            // When -s runs out coap-client cancels; the device ends the observation.
            assert.equal((await ended).path, '/3316/0/5700');
            assert.equal(await c.exited, 0);
        } finally {
            await c.stop();
        }
    });

    test('Block2: GET /3/0 as SenML JSON with -b 64 comes back whole', async () => {
        const out = path.join(tmp, 'device.json');
        const r = await coapExchange([
            ...bindTo(serverPort),
            '-m',
            'get',
            '-A',
            '110',
            '-b',
            '64',
            '-o',
            out,
            `${deviceUri}/3/0`,
        ]);
        assert.equal(r.last?.code, '2.05', show(r));
        const body = readFileSync(out, 'utf8');
        assert.ok(Buffer.byteLength(body) > 2000, `${Buffer.byteLength(body)} bytes`);
        const blocks = r.responses.filter((m) => m.code === '2.05');
        assert.ok(blocks.length >= Math.ceil(Buffer.byteLength(body) / 64), `${blocks.length} blocks`);
        assert.ok(blocks.every((m) => dumpOption(m, 'Content-Format')[0] === 'application/senml+json'));
        assert.ok(
            blocks.every((m) => /^\d+\/[M_]\/64$/.test(dumpOption(m, 'Block2')[0] ?? '')),
            'every block is 64 bytes (the size coap-client asked for)',
        );
        const records = JSON.parse(body) as Array<{ bn?: string; n?: string; vs?: string; v?: number }>;
        const values = new Map<string, unknown>();
        let bn = '';
        for (const rec of records) {
            if (rec.bn !== undefined) bn = rec.bn;
            values.set(`${bn}${rec.n ?? ''}`, rec.vs ?? rec.v);
        }
        for (const [rid, text] of Object.entries(identity)) assert.equal(values.get(`/3/0/${rid}`), text, rid);
        assert.equal(values.get('/3/0/16'), 'U');
    });

    test('Block1: a 1,500-byte PUT with -b 64 writes the string exactly and emits write', async () => {
        let value = '';
        for (let i = 0; Buffer.byteLength(value) < 1500; i++)
            value += i % 7 === 0 ? 'é' : String.fromCharCode(0x61 + (i % 26));
        value = Buffer.from(value).subarray(0, 1500).toString('utf8');
        if (Buffer.byteLength(value) !== 1500) value = `${value}x`;
        assert.equal(Buffer.byteLength(value), 1500);
        const file = path.join(tmp, 'apptype.txt');
        writeFileSync(file, value);
        const wrote = next<WriteEvent>(device, 'write');
        const r = await coapExchange([
            ...bindTo(serverPort),
            '-m',
            'put',
            '-t',
            '0',
            '-b',
            '64',
            '-f',
            file,
            `${deviceUri}/3316/0/5750`,
        ]);
        assert.equal(r.last?.code, '2.04', show(r));
        const blocks = r.messages.filter((m) => m.code === 'PUT' && dumpOption(m, 'Block1').length > 0);
        assert.equal(new Set(blocks.map((m) => dumpOption(m, 'Block1')[0])).size, Math.ceil(1500 / 64), show(r));
        const ev = await wrote;
        assert.equal(ev.path, '/3316/0/5750');
        assert.equal(ev.mode, 'replace');
        assert.equal(ev.by, 'server');
        assert.equal(ev.value, value);
        assert.equal(device.tree.get('/3316/0/5750'), value);
    });

    for (const blocks of [['-b', '64'], []]) {
        const how = blocks.length > 0 ? '64-byte blocks (-b 64)' : 'the default block size';
        test(`Observe /3/0 with ${how}: each 1.9 KB SenML JSON notification arrives whole`, async () => {
            const observed = next<{ path: string; format: number }>(device, 'observed');
            const ended = next<{ path: string }>(device, 'observe-ended', 12_000);
            const c = spawnCoapClient([
                '-B',
                '10',
                ...bindTo(serverPort),
                '-s',
                '4',
                '-w',
                '-A',
                '110',
                ...blocks,
                `${deviceUri}/3/0`,
            ]);
            // Decoded whole, not chunk by chunk: a UTF-8 character may straddle two pipe reads.
            const raw: Buffer[] = [];
            c.child.stdout?.on('data', (d: Buffer) => raw.push(d));
            const text = (): string => Buffer.concat(raw).toString('utf8');
            // Bodies are the JSON lines; libcoap's warnings (on stdout) are kept for the failure message.
            const bodies = (): string[] => completeLines(text()).filter((l) => l.startsWith('['));
            const wait = async (n: number, what: string): Promise<void> => {
                try {
                    await until(() => bodies().length >= n, 3_000, what);
                } catch (err) {
                    const said = completeLines(text()).filter((l) => !l.startsWith('['));
                    throw new Error(`${(err as Error).message}; coap-client said: ${JSON.stringify(said)}`);
                }
            };
            const manufacturers = (): unknown[] =>
                bodies().map((l) => {
                    const records = JSON.parse(l) as Array<{ bn?: string; n?: string; vs?: string }>;
                    assert.equal(records[0]?.bn, '/3/0/');
                    return records.find((r) => r.n === '0')?.vs;
                });
            try {
                assert.deepEqual(await observed, { path: '/3/0', format: 110, attributes: {} });
                await wait(1, 'the first value');
                const next1 = `${'N'.repeat(300)} 1`;
                const next2 = `${'O'.repeat(300)} 2`;
                device.set('/3/0/0', next1);
                // About 1.9 KB: more than a block (the 64 bytes coap-client asked for, or our 1,024),
                // and more than libcoap takes in one datagram (1,152 bytes), so it must go block-wise
                // as the first response did (RFC 7959 §2.6).
                await wait(2, `the first notification (1.9 KB, ${how})`);
                device.set('/3/0/0', next2);
                await wait(3, 'the second notification');
                assert.deepEqual(manufacturers(), [identity[0], next1, next2]);
                assert.equal((await ended).path, '/3/0');
            } finally {
                // Let coap-client cancel the observation itself when -s runs out (a killed one
                // would leave the device notifying the port the next tests bind).
                await Promise.race([c.exited, new Promise((r) => setTimeout(r, 8_000))]);
                await c.stop();
                device.set('/3/0/0', identity[0]);
            }
        });
    }

    test('an RST that matches nothing is not answered (RFC 7252 §4.2), and the device still serves', async () => {
        const sock = dgram.createSocket('udp4');
        const got: Buffer[] = [];
        sock.on('message', (m) => got.push(m));
        try {
            await new Promise<void>((r) => sock.bind(0, LOCAL, () => r()));
            // libcoap sends such an RST (message ID 0) when it discards a datagram it cannot take.
            for (const rst of [Buffer.from([0x70, 0x00, 0x00, 0x00]), Buffer.from([0x70, 0x00, 0x12, 0x34])])
                sock.send(rst, device.port, LOCAL);
            // An unmatched empty ACK, likewise.
            sock.send(Buffer.from([0x60, 0x00, 0x12, 0x35]), device.port, LOCAL);
            await new Promise((r) => setTimeout(r, 300));
            assert.deepEqual(
                got.map((m) => m.toString('hex')),
                [],
                'nothing comes back to empty RST/ACK messages',
            );
        } finally {
            sock.close();
        }
        const out = path.join(tmp, 'after-rst.out');
        const ok = await coapExchange([...bindTo(serverPort), '-m', 'get', '-o', out, `${deviceUri}/3316/0/5701`]);
        assert.equal(ok.last?.code, '2.05', show(ok));
        assert.equal(readFileSync(out, 'utf8'), 'V');
    });

    test('Execute: Reboot with and without arguments; bad arguments 4.00; not executable 4.05', async () => {
        const executed: ExecuteEvent[] = [];
        const onExecute = (e: ExecuteEvent): void => {
            executed.push(e);
        };
        device.on('execute', onExecute);
        try {
            const plain = await coapExchange([...bindTo(serverPort), '-m', 'post', `${deviceUri}/3/0/4`]);
            assert.equal(plain.last?.code, '2.04', show(plain));
            const args = await coapExchange([
                ...bindTo(serverPort),
                '-m',
                'post',
                '-e',
                "0='soft',1",
                `${deviceUri}/3/0/4`,
            ]);
            assert.equal(args.last?.code, '2.04', show(args));
            const bad = await coapExchange([
                ...bindTo(serverPort),
                '-m',
                'post',
                '-e',
                'reboot now',
                `${deviceUri}/3/0/4`,
            ]);
            assert.equal(bad.last?.code, '4.00', show(bad));
            const notExec = await coapExchange([...bindTo(serverPort), '-m', 'post', `${deviceUri}/3/0/0`]);
            assert.equal(notExec.last?.code, '4.05', show(notExec));
            await until(() => executed.length >= 2, 2_000, 'execute events');
            await new Promise((r) => setTimeout(r, 50));
            assert.deepEqual(executed, [
                { path: '/3/0/4', args: '' },
                { path: '/3/0/4', args: "0='soft',1" },
            ]);
        } finally {
            device.off('execute', onExecute);
        }
    });

    test('Write-Attributes (PUT with a query, no payload) then Discover (-A 40) shows them', async () => {
        const wa = await coapExchange([
            ...bindTo(serverPort),
            '-m',
            'put',
            `${deviceUri}/3316/0/5700?pmin=2&pmax=30&st=0.5`,
        ]);
        assert.equal(wa.last?.code, '2.04', show(wa));
        const bad = await coapExchange([...bindTo(serverPort), '-m', 'put', `${deviceUri}/3316/0/5700?pmin=soon`]);
        assert.equal(bad.last?.code, '4.00', show(bad));
        const out = path.join(tmp, 'discover.out');
        const d = await coapExchange([
            ...bindTo(serverPort),
            '-m',
            'get',
            '-A',
            '40',
            '-o',
            out,
            `${deviceUri}/3316/0`,
        ]);
        assert.equal(d.last?.code, '2.05', show(d));
        assert.equal(dumpOption(d.last, 'Content-Format')[0], 'application/link-format');
        const links = readFileSync(out, 'utf8').split(',');
        assert.equal(links[0], '</3316/0>');
        const sensor = links.find((l) => l.startsWith('</3316/0/5700>'));
        assert.ok(sensor, readFileSync(out, 'utf8'));
        const params = sensor.split(';').slice(1).sort();
        assert.deepEqual(params, ['pmax=30', 'pmin=2', 'st=0.5']);
        assert.ok(links.some((l) => l === '</3316/0/5750>'));
        // Clear them again for the tests after this one.
        const clear = await coapExchange([...bindTo(serverPort), '-m', 'put', `${deviceUri}/3316/0/5700?pmin&pmax&st`]);
        assert.equal(clear.last?.code, '2.04', show(clear));
        const again = await coapExchange([
            ...bindTo(serverPort),
            '-m',
            'get',
            '-A',
            '40',
            '-o',
            out,
            `${deviceUri}/3316/0/5700`,
        ]);
        assert.equal(again.last?.code, '2.05', show(again));
        assert.equal(readFileSync(out, 'utf8'), '</3316/0/5700>');
    });

    test('bad input: 4.05, 4.15, 4.04, 4.00, and the device still answers', async () => {
        const kept = device.tree.get('/3316/0/5750');
        const writes: WriteEvent[] = [];
        const onWrite = (w: WriteEvent): void => {
            writes.push(w);
        };
        device.on('write', onWrite);
        try {
            const ro = await coapExchange([
                ...bindTo(serverPort),
                '-m',
                'put',
                '-t',
                '0',
                '-e',
                '1',
                `${deviceUri}/3316/0/5700`,
            ]);
            assert.equal(ro.last?.code, '4.05', show(ro));

            const cf = await coapExchange([
                ...bindTo(serverPort),
                '-m',
                'put',
                '-t',
                '9999',
                '-e',
                'x',
                `${deviceUri}/3316/0/5750`,
            ]);
            assert.equal(cf.last?.code, '4.15', show(cf));

            const nf = await coapExchange([
                ...bindTo(serverPort),
                '-m',
                'get',
                '-o',
                path.join(tmp, 'nf.out'),
                `${deviceUri}/3316/7/5700`,
            ]);
            assert.equal(nf.last?.code, '4.04', show(nf));

            // TLV: a resource (id 5750, 16-bit id) claiming 7 bytes of value and carrying 2.
            const tlv = path.join(tmp, 'bad.tlv');
            writeFileSync(tlv, Buffer.from([0xe7, 0x16, 0x76, 0x41, 0x42]));
            const bad = await coapExchange([
                ...bindTo(serverPort),
                '-m',
                'put',
                '-t',
                '11542',
                '-f',
                tlv,
                `${deviceUri}/3316/0/5750`,
            ]);
            assert.equal(bad.last?.code, '4.00', show(bad));

            const accept = await coapExchange([
                ...bindTo(serverPort),
                '-m',
                'get',
                '-A',
                '9999',
                '-o',
                path.join(tmp, 'accept.out'),
                `${deviceUri}/3316/0`,
            ]);
            assert.equal(accept.last?.code, '4.06', show(accept));

            const out = path.join(tmp, 'after.out');
            const ok = await coapExchange([...bindTo(serverPort), '-m', 'get', '-o', out, `${deviceUri}/3316/0/5750`]);
            assert.equal(ok.last?.code, '2.05', show(ok));
            assert.equal(readFileSync(out, 'utf8'), kept);
            await new Promise((r) => setImmediate(r));
            assert.deepEqual(writes, []);
            assert.equal(device.tree.get('/3316/0/5750'), kept);

            // The same resource in well-formed TLV is written: the 4.00 was the malformation.
            const good = path.join(tmp, 'good.tlv');
            writeFileSync(good, Buffer.from([0xe2, 0x16, 0x76, 0x6f, 0x6b]));
            const wrote = next<WriteEvent>(device, 'write');
            const put = await coapExchange([
                ...bindTo(serverPort),
                '-m',
                'put',
                '-t',
                '11542',
                '-f',
                good,
                `${deviceUri}/3316/0/5750`,
            ]);
            assert.equal(put.last?.code, '2.04', show(put));
            assert.equal((await wrote).value, 'ok');
            assert.equal(device.tree.get('/3316/0/5750'), 'ok');
        } finally {
            device.off('write', onWrite);
        }
    });
});
