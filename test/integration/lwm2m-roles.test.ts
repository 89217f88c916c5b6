import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Lwm2mBootstrapServer } from '../../src/protocols/lwm2m/bootstrap-server';
import { CoapEndpoint } from '../../src/protocols/lwm2m/coap/endpoint';
import type { CoapReply, CoapRequest } from '../../src/protocols/lwm2m/coap/types';
import { Lwm2mDevice, type Lwm2mDeviceOptions } from '../../src/protocols/lwm2m/device';
import type { ObjectTree } from '../../src/protocols/lwm2m/device-tree';
import { OBJECTS } from '../../src/protocols/lwm2m/objects';
import {
    type Lwm2mResult,
    Lwm2mServer,
    type Lwm2mServerOptions,
    type NotificationEvent,
    type RegistrationInfo,
    type SendEvent,
} from '../../src/protocols/lwm2m/server';
import { SPMP_OBJECT_IDS, spmpObjects } from '../../src/protocols/lwm2m/spmp';

const definitions = new Map([...OBJECTS, ...spmpObjects()]);
const RULES = SPMP_OBJECT_IDS.smartLoadRules;

/** Resolves with the first `event` whose argument passes `test`, or fails after `ms`. */
function next<T>(
    emitter: NodeJS.EventEmitter,
    event: string,
    test: (v: T) => boolean = () => true,
    ms = 5000,
): Promise<T> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            emitter.removeListener(event, on);
            reject(new Error(`no '${event}' within ${ms} ms`));
        }, ms);
        const on = (v: T) => {
            if (!test(v)) return;
            clearTimeout(timer);
            emitter.removeListener(event, on);
            resolve(v);
        };
        emitter.on(event, on);
    });
}

function charger(tree: ObjectTree): void {
    tree.addInstance(3, 0, { 0: 'Clear Blue', 1: 'SCC-40', 2: 'SN-0042', 11: [0], 16: 'U' });
    tree.addInstance(3316, 0, { 5700: 13.1, 5701: 'V', 5601: 11.8, 5602: 14.2 });
    tree.addInstance(3317, 0, { 5700: 4.2, 5701: 'A' });
    tree.addInstance(3201, 0, { 5550: true });
}

async function device(server: Lwm2mServer, endpoint: string, extra: Partial<Lwm2mDeviceOptions> = {}) {
    const d = await Lwm2mDevice.start(
        {
            endpoint,
            server: { uri: `coap://127.0.0.1:${server.port}`, lifetime: 60 },
            definitions,
            maxRetryMs: 500,
            ...extra,
        },
        charger,
    );
    return d;
}

describe('LwM2M roles: our device against our server over UDP', () => {
    let server: Lwm2mServer;
    let dev: Lwm2mDevice;

    before(async () => {
        server = await Lwm2mServer.open({ port: 0, address: '127.0.0.1', definitions, lifetime: { min: 1 } });
        const registered = next<RegistrationInfo>(server, 'registered', (r) => r.endpoint === 'charger-1');
        dev = await device(server, 'charger-1');
        const info = await registered;
        assert.deepEqual(info.objects['3316'], [0]);
        assert.equal(info.objects['0'], undefined, 'Security is never listed');
        assert.equal(info.version, '1.1');
        assert.deepEqual(info.formats, [60, 110, 112, 11542]);
    });
    after(async () => {
        await dev?.stop();
        await server?.close();
    });

    it('reads a resource, an instance and an object, in the format asked and in the default', async () => {
        const one = await server.read('charger-1', '/3316/0/5700');
        assert.equal(one.code, '2.05');
        assert.equal(one.contentFormat, 0, 'a single resource comes as text');
        assert.equal(one.value, 13.1);
        for (const format of [undefined, 11542, 110, 112]) {
            const inst = await server.read('charger-1', '/3316/0', format === undefined ? {} : { format });
            assert.equal(inst.code, '2.05');
            assert.equal(inst.contentFormat, format ?? 112);
            assert.deepEqual(inst.value, { 5700: 13.1, 5701: 'V', 5601: 11.8, 5602: 14.2 });
        }
        const dev3 = await server.read('charger-1', '/3');
        assert.deepEqual((dev3.value as Record<string, Record<string, unknown>>)['0']?.['11'], { 0: 0 });
    });

    it('writes, executes, creates, discovers and deletes, with the device seeing each', async () => {
        const wrote = next<{ path: string; value: unknown }>(dev, 'write', (w) => w.path === '/3201/0/5550');
        assert.equal((await server.write('charger-1', '/3201/0/5550', false)).code, '2.04');
        assert.equal((await wrote).value, false);
        assert.equal(dev.tree.get('/3201/0/5550'), false);

        const executed = next<{ path: string; args: string }>(dev, 'execute');
        assert.equal((await server.execute('charger-1', '/3316/0/5605', "0='now'")).code, '2.04');
        assert.deepEqual(await executed, { path: '/3316/0/5605', args: "0='now'" });

        const created = await server.create('charger-1', `/${RULES}`, {
            0: 11.5,
            1: 42771,
            2: 0,
            3: 5,
            4: 'false',
            5: 0,
        });
        assert.equal(created.code, '2.01', created.message);
        assert.equal(created.location, `/${RULES}/0`);
        assert.equal(dev.tree.get(`/${RULES}/0/0`), 11.5);

        const links = await server.discover('charger-1', '/3316/0');
        assert.equal(links.code, '2.05');
        assert.ok(links.links?.some((l) => l.target === '/3316/0/5700'));

        assert.equal((await server.delete('charger-1', `/${RULES}/0`)).code, '2.02');
        assert.deepEqual(dev.tree.instances(RULES), []);
    });

    it('answers wrong requests with the right CoAP codes and keeps serving', async () => {
        const ro = await server.write('charger-1', '/3316/0/5700', 1.5);
        assert.equal(ro.code, '4.05', `Sensor Value is read-only: ${ro.message}`);
        assert.equal((await server.read('charger-1', '/3316/9')).code, '4.04');
        assert.equal((await server.read('charger-1', '/4242')).code, '4.04');
        assert.equal((await server.read('charger-1', '/0/0')).code, '4.04', 'Security is hidden from servers');
        assert.equal((await server.execute('charger-1', '/3316/0/5700')).code, '4.05');
        await assert.rejects(server.write('charger-1', '/3316/0/5821', 'high'), /is float/);
        await assert.rejects(server.read('nobody', '/3/0'), { code: 'UNKNOWN_ENDPOINT' });
        await assert.rejects(server.read('charger-1', '/3/x'), { code: 'BAD_REQUEST' });
        assert.equal((await server.read('charger-1', '/3316/0/5700')).value, 13.1);
    });

    it('observes with attributes: st gates small moves, pmax repeats, cancel stops', async () => {
        const attrs = await server.writeAttributes('charger-1', '/3316/0/5700', { st: 0.5, pmax: 1 });
        assert.equal(attrs.code, '2.04', attrs.message);
        const first = await server.observe('charger-1', '/3316/0/5700');
        assert.equal(first.code, '2.05');
        assert.equal(first.value, 13.1);
        const seen: NotificationEvent[] = [];
        const on = (n: NotificationEvent) => {
            if (n.path === '/3316/0/5700') seen.push(n);
        };
        server.on('notification', on);
        dev.set('/3316/0/5700', 13.2); // below st
        dev.set('/3316/0/5700', 12.4); // moved 0.7 from 13.1
        await next<NotificationEvent>(server, 'notification', (n) => n.value === 12.4);
        // pmax: the value comes again within about a second without a change.
        const repeat = await next<NotificationEvent>(server, 'notification', (n) => n.path === '/3316/0/5700', 3000);
        assert.equal(repeat.value, 12.4);
        assert.ok(!seen.some((n) => n.value === 13.2), 'a move under st is not notified');
        assert.ok(seen.every((n, i) => i === 0 || (n.sequence ?? 0) > (seen[i - 1]?.sequence ?? 0)));
        assert.deepEqual(server.observations(), { 'charger-1': ['/3316/0/5700'] });
        assert.equal(await server.cancelObservation('charger-1', '/3316/0/5700'), true);
        const count = seen.length;
        dev.set('/3316/0/5700', 9.9);
        await new Promise((r) => setTimeout(r, 1500));
        server.off('notification', on);
        assert.equal(seen.length, count, 'no notification after cancel');
        assert.deepEqual(server.observations(), {});
    });

    it('receives Send (1.1) with absolute paths', async () => {
        const got = next<SendEvent>(server, 'send');
        assert.equal(await dev.send(['/3316/0/5700', '/3317/0/5700']), '2.04');
        const s = await got;
        assert.equal(s.endpoint, 'charger-1');
        assert.deepEqual(Object.keys(s.values), ['/3316/0/5700', '/3317/0/5700']);
        assert.equal(s.values['/3317/0/5700'], 4.2);
    });

    it('takes the new object list on Update when the device adds an instance', async () => {
        const updated = next<RegistrationInfo>(server, 'updated', (r) => (r.objects['3316'] ?? []).length === 2);
        dev.tree.addInstance(3316, 1, { 5700: 48.0, 5701: 'V' });
        const info = await updated;
        assert.deepEqual(info.objects['3316'], [0, 1]);
    });
});

describe('LwM2M roles: registration lifetime, queue mode, restarts', () => {
    let dir: string;
    before(() => {
        dir = mkdtempSync(path.join(tmpdir(), 'derlink-lwm2m-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps a short registration alive with Updates and expires one that goes silent', async () => {
        const server = await Lwm2mServer.open({ port: 0, address: '127.0.0.1', definitions, lifetime: { min: 1 } });
        try {
            const d = await device(server, 'short-lived', {
                server: { uri: `coap://127.0.0.1:${server.port}`, lifetime: 2 },
            });
            await next(server, 'registered');
            await next(server, 'updated', () => true, 4000);
            await next(server, 'updated', () => true, 4000);
            // Silence without De-register, as on a power loss.
            const expired = next<RegistrationInfo>(server, 'expired', (r) => r.endpoint === 'short-lived', 8000);
            await d.stop({ deregister: false });
            await expired;
            assert.equal(server.registration('short-lived'), undefined);
        } finally {
            await server.close();
        }
    });

    it('holds requests for a sleeping queue-mode client until its next Update', async () => {
        const server = await Lwm2mServer.open({ port: 0, address: '127.0.0.1', definitions, awakeMs: 200 });
        const d = await device(server, 'sleeper', { queueMode: true });
        try {
            const info = await next<RegistrationInfo>(server, 'registered');
            assert.equal(info.queueMode, true);
            await new Promise((r) => setTimeout(r, 300));
            const queued = next(server, 'queued');
            const pending = server.read('sleeper', '/3316/0/5700');
            await queued;
            assert.equal(server.stats.queued, 1);
            await d.update();
            const r: Lwm2mResult = await pending;
            assert.equal(r.queued, true);
            assert.equal(r.value, 13.1);
            assert.equal(server.stats.queued, 0);
        } finally {
            await d.stop();
            await server.close();
        }
    });

    it('brings observations back after the server restarts and the client registers again', async () => {
        const file = path.join(dir, 'observations.json');
        const options: Lwm2mServerOptions = { port: 0, address: '127.0.0.1', definitions, observationsFile: file };
        const first = await Lwm2mServer.open(options);
        const port = first.port;
        const d = await device(first, 'restarted');
        try {
            await next(first, 'registered');
            assert.equal((await first.observe('restarted', '/3316/0/5700')).code, '2.05');
            await first.close();
            const second = await Lwm2mServer.open({ ...options, port });
            try {
                assert.deepEqual(second.observations(), { restarted: ['/3316/0/5700'] });
                const again = next(second, 'registered', () => true, 8000);
                await d.update(); // answered 4.04 by the new server: the device registers again
                await again;
                const n = next<NotificationEvent>(second, 'notification', (x) => x.value === 11.0, 5000);
                await new Promise((r) => setTimeout(r, 300));
                d.set('/3316/0/5700', 11.0);
                assert.equal((await n).endpoint, 'restarted');
            } finally {
                await d.stop();
                await second.close();
            }
        } finally {
            await d.stop();
        }
    });
});

describe('LwM2M roles: bootstrap', () => {
    it('bootstraps a device, which then registers with the server it was given', async () => {
        const server = await Lwm2mServer.open({ port: 0, address: '127.0.0.1', definitions });
        const bs = await Lwm2mBootstrapServer.open({
            port: 0,
            address: '127.0.0.1',
            configFor: (ep) =>
                ep === 'factory-new'
                    ? {
                          security: [{ instanceId: 1, uri: `coap://127.0.0.1:${server.port}`, shortServerId: 7 }],
                          servers: [{ instanceId: 0, shortServerId: 7, lifetime: 120, binding: 'U' }],
                      }
                    : undefined,
        });
        try {
            const done = next<{ steps: Array<{ step: string; code: string }> }>(bs, 'bootstrapped');
            const registered = next<RegistrationInfo>(server, 'registered', (r) => r.endpoint === 'factory-new');
            const d = await Lwm2mDevice.start(
                { endpoint: 'factory-new', bootstrap: { uri: `coap://127.0.0.1:${bs.port}` }, definitions },
                charger,
            );
            try {
                const steps = (await done).steps.map((s) => `${s.step} ${s.code}`);
                assert.deepEqual(steps, [
                    'delete /0 2.02',
                    'delete /1 2.02',
                    'write /0/1 2.04',
                    'write /1/0 2.04',
                    'finish 2.04',
                ]);
                const info = await registered;
                assert.equal(info.lifetime, 120);
                assert.equal(d.tree.get('/0/1/10'), 7);
                assert.equal(d.tree.get('/0/0/1'), true, 'the bootstrap account stays');
            } finally {
                await d.stop();
            }
            // An endpoint without a configuration is refused, with the reason.
            const refused = next<{ endpoint: string }>(bs, 'refused');
            const stranger = await Lwm2mDevice.start(
                {
                    endpoint: 'stranger',
                    bootstrap: { uri: `coap://127.0.0.1:${bs.port}` },
                    definitions,
                    maxRetryMs: 60_000,
                },
                charger,
            );
            const failed = next<{ reason: string }>(stranger, 'bootstrap-failed');
            assert.equal((await refused).endpoint, 'stranger');
            assert.match((await failed).reason, /4\.00: no bootstrap configuration/);
            await stranger.stop();
        } finally {
            await bs.close();
            await server.close();
        }
    });
});

describe('LwM2M roles: bad input gets the right code and breaks nothing', () => {
    let server: Lwm2mServer;
    let probe: CoapEndpoint;
    const peer = () => ({ address: '127.0.0.1', port: server.port });
    const link = Buffer.from('</3/0>,</3316/0>');

    before(async () => {
        server = await Lwm2mServer.open({
            port: 0,
            address: '127.0.0.1',
            definitions,
            allow: (ep) => !ep.startsWith('blocked'),
            registerRatePerAddress: 10,
            lifetime: { min: 30, max: 3600 },
        });
        probe = await CoapEndpoint.open({ port: 0, address: '127.0.0.1' }, () => ({ code: '4.04' }));
    });
    after(async () => {
        await probe?.close();
        await server?.close();
    });

    const register = (query: string[], payload: Buffer = link, contentFormat = 40) =>
        probe.request(peer(), { method: 'POST', path: '/rd', query, payload, contentFormat });

    it('refuses bad registrations with 4.00, 4.03, 4.12 and 4.15', async () => {
        const cases: Array<[string[], string, Buffer?, number?]> = [
            [['lt=60'], '4.00'],
            [['ep=', 'lt=60'], '4.00'],
            [['ep=x', 'lt=abc'], '4.00'],
            [['ep=x', 'lt=5'], '4.00'],
            [['ep=x', 'lt=99999'], '4.00'],
            [['ep=x', 'b=Z'], '4.00'],
            [['ep=x', 'lwm2m=9.9'], '4.12'],
            [['ep=blocked-1'], '4.03'],
            [['ep=x'], '4.00', Buffer.from('<<<not links')],
            [['ep=x'], '4.15', link, 11542],
        ];
        for (const [query, code, payload, cf] of cases) {
            const res = await register(query, payload, cf);
            assert.equal(res.code, code, `${query.join('&')} → ${res.code} ${res.payload.toString()}`);
        }
        assert.equal(server.registrations().length, 0);
    });

    it('lets a second registration of a name replace the first, whose location then answers 4.04', async () => {
        const a = await register(['ep=twin', 'lt=60']);
        assert.equal(a.code, '2.01');
        const replaced = next<[RegistrationInfo]>(server, 'registered');
        const b = await register(['ep=twin', 'lt=60']);
        assert.equal(b.code, '2.01');
        await replaced;
        assert.notDeepEqual(a.locationPath, b.locationPath);
        const stale = await probe.request(peer(), { method: 'POST', path: `/${a.locationPath.join('/')}` });
        assert.equal(stale.code, '4.04');
        const fresh = await probe.request(peer(), { method: 'POST', path: `/${b.locationPath.join('/')}` });
        assert.equal(fresh.code, '2.04');
        assert.equal(server.registrations().filter((r) => r.endpoint === 'twin').length, 1);
    });

    it('slows a registration flood from one address with 5.03 and keeps the table whole', async () => {
        const codes: string[] = [];
        for (let i = 0; i < 80; i++) codes.push((await register([`ep=flood-${i}`, 'lt=60'])).code);
        assert.ok(codes.includes('5.03'), 'the flood is cut');
        const accepted = codes.filter((c) => c === '2.01').length;
        assert.ok(accepted >= 40 && accepted < 80, `${accepted} accepted`);
        assert.equal(server.registrations().filter((r) => r.endpoint.startsWith('flood-')).length, accepted);
    });

    it('answers Send from an unregistered client 4.03 and a bad Send payload 4.00', async () => {
        const outsider = await CoapEndpoint.open({ port: 0, address: '127.0.0.1' }, () => ({ code: '4.04' }));
        const res = await outsider.request(peer(), {
            method: 'POST',
            path: '/dp',
            contentFormat: 110,
            payload: Buffer.from('[{"n":"/3/0/0","vs":"x"}]'),
        });
        await outsider.close();
        assert.equal(res.code, '4.03');
        const bad = await probe.request(peer(), {
            method: 'POST',
            path: '/dp',
            contentFormat: 110,
            payload: Buffer.from('[{"n":'),
        });
        assert.equal(bad.code, '4.00', 'the flood test registered the probe, so its Send is read');
        const wrongFormat = await probe.request(peer(), {
            method: 'POST',
            path: '/dp',
            contentFormat: 0,
            payload: Buffer.from('1'),
        });
        assert.equal(wrongFormat.code, '4.15');
        assert.equal((await probe.request(peer(), { method: 'GET', path: '/nothing' })).code, '4.04');
        assert.equal((await probe.request(peer(), { method: 'GET', path: '/rd' })).code, '4.05');
    });

    it('a device refuses strangers (4.01) and bad payloads from its server (4.00, 4.15, 4.13)', async () => {
        // A hand-made server: answers Register, then writes junk to the device.
        let registeredFrom: { address: string; port: number } | undefined;
        const fake = await CoapEndpoint.open({ port: 0, address: '127.0.0.1' }, (req: CoapRequest): CoapReply => {
            if (req.path[0] === 'rd') {
                registeredFrom = req.peer;
                return { code: '2.01', locationPath: ['rd', 'fake'] };
            }
            return { code: '4.04' };
        });
        const d = await Lwm2mDevice.start(
            { endpoint: 'victim', server: { uri: `coap://127.0.0.1:${fake.port}`, lifetime: 60 }, definitions },
            charger,
        );
        try {
            await next(d, 'registered');
            const to = registeredFrom as { address: string; port: number };
            const stranger = await probe.request(to, { method: 'GET', path: '/3/0/0' });
            assert.equal(stranger.code, '4.01');
            const badTlv = await fake.request(to, {
                method: 'PUT',
                path: '/3201/0',
                contentFormat: 11542,
                payload: Buffer.from('c8ff10', 'hex'),
            });
            assert.equal(badTlv.code, '4.00');
            const unknown = await fake.request(to, {
                method: 'PUT',
                path: '/3201/0/5550',
                contentFormat: 9999,
                payload: Buffer.from('1'),
            });
            assert.equal(unknown.code, '4.15');
            const noPath = await fake.request(to, {
                method: 'PUT',
                path: '/3201/7/5550',
                contentFormat: 0,
                payload: Buffer.from('1'),
            });
            assert.equal(noPath.code, '4.04');
            const badValue = await fake.request(to, {
                method: 'PUT',
                path: '/3201/0/5550',
                contentFormat: 0,
                payload: Buffer.from('2'),
            });
            assert.equal(badValue.code, '4.00');
            const huge = await fake.request(to, {
                method: 'PUT',
                path: '/3201/0/5750',
                contentFormat: 0,
                payload: Buffer.alloc(300 * 1024, 0x41),
                timeoutMs: 20_000,
            });
            assert.equal(huge.code, '4.13');
            const ok = await fake.request(to, { method: 'GET', path: '/3201/0/5550' });
            assert.equal(ok.code, '2.05');
            assert.equal(ok.payload.toString(), '1', 'nothing the junk said was written');
        } finally {
            await d.stop();
            await fake.close();
        }
    });
});
