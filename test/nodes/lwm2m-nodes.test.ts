/**
 * The LwM2M nodes in a Node-RED runtime (node-red-node-test-helper), over real UDP on loopback:
 * the SPMP scenario of the seed. A charge controller (lwm2m-device) bootstraps from
 * lwm2m-bootstrap, registers with lwm2m-server and is observed; its port voltage falls below a
 * Smart Load Rules threshold, spmp-rules writes the BTS (another lwm2m-device), and when the
 * voltage recovers past the hysteresis the previous value goes back. Then lwm2m-request's
 * operations, the editor's admin routes, and bad input and configuration as errors with codes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import helper from 'node-red-node-test-helper';
import { freeUdpPort as freePort } from '../support/libcoap';
import { loadWithHelpers, type Msg, node } from '../support/node-flows';
import { waitFor } from '../support/xmpp';

const NODES = ['lwm2m-server', 'lwm2m-events', 'lwm2m-request', 'lwm2m-bootstrap', 'lwm2m-device', 'spmp-rules'].map(
    (t) => require(`../../dist/nodes/${t}.js`),
);

helper.init(process.env.NODE_RED_PATH || require.resolve('node-red'));

before(async () => {
    await helper.startServer();
});
after(async () => {
    await helper.stopServer();
});
afterEach(async () => {
    await helper.unload();
});

/** The charger: voltage and current per port, SPMP port status and one smart-load rule. */
const chargerObjects = {
    3: { 0: { 0: 'Clear Blue', 1: 'SCC-40', 2: 'SN-0042', 3: '1.4.2', 11: [0], 16: 'U' } },
    3316: { 0: { 5700: 13.0, 5701: 'V' } },
    3317: { 0: { 5700: 3.1, 5701: 'A' } },
    42769: { 0: { 5750: 'BTS port', 2: 60, 5518: 0 } },
    // Rule 0: below 11.5 V turn LTE data off on the BTS; back on at 11.8 V (hysteresis 0.3 V).
    42772: { 0: { 0: 11.5, 1: 42771, 2: 0, 3: 5, 4: 'false', 5: 0, 6: 0.3, 7: 0, 8: true } },
};
const btsObjects = {
    3: { 0: { 0: 'Telco', 1: 'BTS-mini', 16: 'U' } },
    42771: { 0: { 5: true, 11: 43.0 } },
};

interface Flow {
    caught: Msg[];
    out(id: string): Msg[];
    warnings: Map<string, string[]>;
}

async function load(nodes: Msg[], core: unknown[] = []): Promise<Flow> {
    const out = await loadWithHelpers([...NODES, ...core], nodes);
    const warnings = new Map<string, string[]>();
    for (const n of nodes) {
        const warned: string[] = [];
        warnings.set(String(n.id), warned);
        node(String(n.id)).on('call:warn', (c) => warned.push(String(c.args[0])));
    }
    return { caught: out('caught'), warnings, out };
}

/** Sends msg into a node and waits for one message on `out`, or throws what the Catch node got. */
async function ask(into: string, msg: Msg, out: Msg[], caught: Msg[], ms = 10_000): Promise<Msg> {
    const before = { out: out.length, caught: caught.length };
    node(into).receive(msg);
    await waitFor(
        () => out.length > before.out || caught.length > before.caught,
        ms,
        () => `an answer from ${into}`,
    );
    if (caught.length > before.caught) {
        const e = caught[before.caught]?.error as { message?: string; code?: string } | undefined;
        throw Object.assign(new Error(e?.message ?? 'caught'), { code: e?.code });
    }
    return out[before.out] as Msg;
}

function scenario(ports: { server: number; bootstrap: number }): Msg[] {
    const uri = (p: number) => `coap://127.0.0.1:${p}`;
    return [
        {
            id: 'srv',
            type: 'lwm2m-server',
            port: ports.server,
            address: '127.0.0.1',
            allow: 'charger-* bts-*',
            lifetimeMin: 10,
            lifetimeMax: 3600,
            keepObservations: false,
        },
        {
            id: 'bs',
            type: 'lwm2m-bootstrap',
            port: ports.bootstrap,
            address: '127.0.0.1',
            endpoints: 'charger-*',
            serverUri: uri(ports.server),
            shortServerId: 3,
            lifetime: 120,
            binding: 'U',
            overrides: '',
            wires: [['bsOut']],
        },
        {
            id: 'charger',
            type: 'lwm2m-device',
            endpoint: 'charger-1',
            mode: 'bootstrap',
            bootstrapUri: uri(ports.bootstrap),
            lifetime: 120,
            port: 0,
            objects: JSON.stringify(chargerObjects),
            wires: [['chargerOut']],
        },
        {
            id: 'bts',
            type: 'lwm2m-device',
            endpoint: 'bts-1',
            mode: 'server',
            serverUri: uri(ports.server),
            lifetime: 120,
            port: 0,
            objects: JSON.stringify(btsObjects),
            wires: [['btsOut']],
        },
        {
            id: 'events',
            type: 'lwm2m-events',
            server: 'srv',
            endpoints: '',
            observe: '/3317/0/5700',
            wires: [['evOut']],
        },
        {
            id: 'rules',
            type: 'spmp-rules',
            server: 'srv',
            endpoint: 'charger-1',
            voltagePath: '/3316/0/5700',
            source: 'device',
            targetEndpoint: 'bts-1',
            wires: [['rulesOut']],
        },
        {
            id: 'req',
            type: 'lwm2m-request',
            server: 'srv',
            operation: 'read',
            endpoint: '',
            path: '',
            wires: [['reqOut']],
        },
    ];
}

type ServerHandle = {
    lwm2mServer(): Promise<{ observations(): Record<string, string[]>; registration(e: string): unknown }>;
};

describe('lwm2m nodes: the SPMP scenario', () => {
    test('the charger bootstraps, registers, is observed; low voltage sheds the BTS load and recovery restores it', {
        timeout: 60_000,
    }, async () => {
        const ports = { server: await freePort(), bootstrap: await freePort() };
        const f = await load(scenario(ports));
        const events = f.out('evOut');
        // Bootstrap, then registration of both devices.
        await waitFor(
            () => f.out('bsOut').some((m) => m.payload === 'bootstrapped' && m.topic === 'charger-1'),
            15_000,
            'bootstrap',
        );
        const registered = () =>
            events.filter((m) => (m.lwm2m as { event?: string }).event === 'registered').map((m) => m.topic);
        await waitFor(
            () => registered().includes('charger-1') && registered().includes('bts-1'),
            15_000,
            () => `registrations (${registered()})`,
        );
        // The events node's observation of the current comes in as a first notification.
        await waitFor(
            () => events.some((m) => m.topic === 'charger-1' && m.path === '/3317/0/5700' && m.payload === 3.1),
            10_000,
            'the observed current',
        );
        // spmp-rules observes the voltage and the rules object on the charger.
        const srv = helper.getNode('srv') as unknown as ServerHandle;
        const server = await srv.lwm2mServer();
        await waitFor(
            () => (server.observations()['charger-1'] ?? []).includes('/42772'),
            10_000,
            () => `rules observed (${JSON.stringify(server.observations())})`,
        );

        // Voltage falls below 11.5 V: the BTS gets LTE data off.
        const bts = f.out('btsOut');
        const rules = f.out('rulesOut');
        node('charger').receive({ topic: '/3316/0/5700', payload: 11.2 });
        await waitFor(() => bts.some((m) => m.topic === '/42771/0/5' && m.payload === false), 10_000, 'the BTS write');
        await waitFor(() => rules.length >= 1, 5000, 'the rule output');
        const applied = rules[0] as Msg & { lwm2m: Record<string, unknown> };
        assert.equal(applied.lwm2m.event, 'apply');
        assert.equal(applied.lwm2m.code, '2.04');
        assert.equal(applied.lwm2m.endpoint, 'bts-1');
        assert.equal(applied.lwm2m.voltage, 11.2);

        // Inside the hysteresis band (11.5..11.8 V): nothing happens.
        node('charger').receive({ topic: '/3316/0/5700', payload: 11.7 });
        await new Promise((r) => setTimeout(r, 800));
        assert.equal(rules.length, 1, 'no flapping inside the band');

        // Recovery: the previous value (true) goes back.
        node('charger').receive({ payload: { '/3316/0/5700': 12.6 } });
        await waitFor(() => bts.some((m) => m.topic === '/42771/0/5' && m.payload === true), 10_000, 'the restore');
        await waitFor(() => rules.length >= 2, 5000, 'the restore output');
        assert.equal((rules[1] as { lwm2m: { event: string } }).lwm2m.event, 'restore');

        // The BTS's state, read through lwm2m-request.
        const read = await ask('req', { endpoint: 'bts-1', topic: '/42771/0' }, f.out('reqOut'), f.caught);
        assert.deepEqual(read.payload, { 5: true, 11: 43 });
        assert.equal((read.lwm2m as { code: string }).code, '2.05');
        assert.equal(f.caught.length, 0, JSON.stringify(f.caught.map((c) => c.error)));
    });
});

describe('lwm2m nodes: requests, admin routes, errors', () => {
    test('lwm2m-request runs every operation and turns refusals into errors with codes', {
        timeout: 60_000,
    }, async () => {
        const ports = { server: await freePort(), bootstrap: await freePort() };
        const f = await load([
            ...scenario(ports),
            {
                id: 'badDevice',
                type: 'lwm2m-device',
                endpoint: 'x',
                mode: 'server',
                serverUri: 'http://nope',
                wires: [[]],
            },
            {
                id: 'badObjects',
                type: 'lwm2m-device',
                endpoint: 'y',
                mode: 'server',
                serverUri: 'coap://127.0.0.1:1',
                objects: '{"3316": {"0": {"9999": 1}}}',
                wires: [[]],
            },
            { id: 'noServer', type: 'lwm2m-request', server: 'missing', wires: [[]] },
            {
                id: 'badRules',
                type: 'spmp-rules',
                server: 'srv',
                endpoint: 'c',
                source: 'node',
                rules: '{oops',
                wires: [[]],
            },
        ]);
        const out = f.out('reqOut');
        await waitFor(
            () => f.out('evOut').filter((m) => (m.lwm2m as { event?: string }).event === 'registered').length >= 2,
            15_000,
            'registrations',
        );
        const req = (msg: Msg) => ask('req', { endpoint: 'charger-1', ...msg }, out, f.caught);

        assert.equal((await req({ topic: '/3316/0/5700' })).payload, 13);
        const w = await req({ operation: 'write', topic: '/3316/0/5750', payload: 'battery bank A' });
        assert.equal(w.payload, '2.04');
        assert.equal((await req({ topic: '/3316/0/5750', format: 'senml-json' })).payload, 'battery bank A');
        const inst = await req({ topic: '/3316/0', format: 'tlv' });
        assert.equal((inst.lwm2m as { contentFormat: number }).contentFormat, 11542);
        assert.equal((inst.payload as Record<string, unknown>)['5750'], 'battery bank A');
        const created = await req({
            operation: 'create',
            topic: '/42772',
            payload: { 0: 10.5, 1: 42771, 2: 0, 3: 11, 4: '20', 5: 0 },
        });
        assert.equal(created.payload, '/42772/1');
        const links = await req({ operation: 'discover', topic: '/42772/1' });
        assert.ok((links.payload as Array<{ path: string }>).some((l) => l.path === '/42772/1/0'));
        assert.equal(
            (await req({ operation: 'write-attributes', topic: '/3316/0/5700', payload: { pmin: 1, st: 0.2 } }))
                .payload,
            '2.04',
        );
        assert.equal((await req({ operation: 'execute', topic: '/1/0/8' })).payload, '2.04');
        assert.equal((await req({ operation: 'delete', topic: '/42772/1' })).payload, '2.02');
        const obs = await req({ operation: 'observe', topic: '/3317/0/5700' });
        assert.equal(obs.payload, 3.1);
        assert.equal((await req({ operation: 'cancel', topic: '/3317/0/5700' })).payload, true);

        const refusals: Array<[string, Msg, string, RegExp]> = [
            [
                'req',
                { endpoint: 'charger-1', operation: 'write', topic: '/3316/0/5700', payload: 1 },
                'LWM2M_4_05',
                /answered 4\.05/,
            ],
            ['req', { endpoint: 'charger-1', topic: '/3316/7/5700' }, 'LWM2M_4_04', /4\.04/],
            ['req', { endpoint: 'nobody', topic: '/3/0' }, 'UNKNOWN_ENDPOINT', /nobody/],
            ['req', { endpoint: 'charger-1', operation: 'explode', topic: '/3/0' }, 'BAD_INPUT', /explode/],
            ['req', { endpoint: 'charger-1', topic: '/3/zero' }, 'BAD_REQUEST', /zero/],
            [
                'req',
                { endpoint: 'charger-1', operation: 'write', topic: '/3316/0/5750', payload: { nested: 1 } },
                'BAD_REQUEST',
                /./,
            ],
            [
                'req',
                { endpoint: 'charger-1', operation: 'write-attributes', topic: '/3316/0/5700', payload: 5 },
                'BAD_INPUT',
                /pmin/,
            ],
            ['req', { topic: '/3/0' }, 'BAD_INPUT', /No endpoint/],
            ['charger', { topic: '/3316/0/5700', payload: 'high' }, 'BAD_INPUT', /float/],
            ['charger', { topic: '/3316/5/5700', payload: 1 }, 'BAD_INPUT', /does not exist/],
            ['charger', { payload: 'nothing' }, 'BAD_INPUT', /msg.topic/],
            ['badDevice', { topic: '/3/0/0', payload: 'x' }, 'CONFIG', /coap:\/\//],
            ['badObjects', { topic: '/3/0/0', payload: 'x' }, 'CONFIG', /9999/],
            ['noServer', { topic: '/3/0' }, 'CONFIG', /No LwM2M server/],
            ['badRules', { payload: 12 }, 'CONFIG', /not JSON/],
        ];
        for (const [into, msg, code, text] of refusals) {
            const before = f.caught.length;
            node(into).receive(msg);
            await waitFor(
                () => f.caught.length > before,
                10_000,
                () => `an error from ${into} for ${JSON.stringify(msg)}`,
            );
            const e = f.caught.at(-1)?.error as { code?: string; message?: string };
            assert.equal(e.code, code, `${into} ${JSON.stringify(msg)}: ${e.message}`);
            assert.match(String(e.message), text, `${into} ${JSON.stringify(msg)}`);
        }
        // After all that, the device still answers.
        assert.equal((await req({ topic: '/3316/0/5750' })).payload, 'battery bank A');

        // The editor's routes: the live registration table and the object tree.
        const regs = await helper.request().get('/derlink/lwm2m-server/srv/registrations').expect(200);
        const charger = (
            regs.body.registrations as Array<{ endpoint: string; objects: Record<string, number[]> }>
        ).find((r) => r.endpoint === 'charger-1');
        assert.deepEqual(charger?.objects['3316'], [0]);
        const objs = await helper.request().get('/derlink/lwm2m-server/srv/objects').expect(200);
        const names = new Map((objs.body.objects as Array<{ id: number; name: string }>).map((o) => [o.id, o.name]));
        assert.equal(names.get(3316), 'Voltage');
        assert.equal(names.get(42772), 'SPMP Smart Load Rules');
        await helper.request().get('/derlink/lwm2m-server/nope/registrations').expect(404);
    });
});

describe('lwm2m nodes: the examples', () => {
    test('the three LwM2M examples run together as the demo deploys them: devices register, values arrive, rules act', {
        timeout: 60_000,
    }, async () => {
        const dir = path.join(__dirname, '../../examples/LwM2M');
        const flows = readdirSync(dir).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Msg[]);
        // One server config node, shared by id as the editor's "Import copy" does; the core nodes the examples use.
        const seen = new Set<string>();
        const nodes = flows
            .flat()
            .filter((n) => !seen.has(String(n.id)) && seen.add(String(n.id)))
            .filter((n) => !['comment', 'catch'].includes(String(n.type)))
            .map((n) => (n.type === 'debug' ? { ...n, type: 'helper', wires: [] } : n));
        const core = ['common/20-inject.js', 'function/10-function.js'].map((m) =>
            require(`@node-red/nodes/core/${m}`),
        );
        const f = await load(nodes, core);
        const devices = ['scc-demo-1', 'charger-1', 'bts-1', 'rpi-charger'];
        const srv = helper.getNode('lwm2m-demo-server') as unknown as {
            lwm2mServer(): Promise<{
                registrations(): Array<{ endpoint: string }>;
                observations(): Record<string, string[]>;
            }>;
        };
        const server = await srv.lwm2mServer();
        await waitFor(
            () => devices.every((d) => server.registrations().some((r) => r.endpoint === d)),
            20_000,
            () => `all example devices registered (${server.registrations().map((r) => r.endpoint)})`,
        );
        // Telemetry: the events node observes the four values on every endpoint.
        await waitFor(
            () => (server.observations()['scc-demo-1'] ?? []).length === 4,
            10_000,
            () => `telemetry observed (${JSON.stringify(server.observations())})`,
        );
        // Shedding: 11.6 V turns LTE data off on bts-1.
        const rulesFlow = flows.find((fl) => fl.some((n) => n.type === 'spmp-rules')) as Msg[];
        const low = rulesFlow.find((n) => n.type === 'inject' && n.name === '11.6 V') as Msg;
        await waitFor(() => (server.observations()['charger-1'] ?? []).includes('/42772'), 10_000, 'rules observed');
        node(String(low.id)).receive({});
        const btsOut = rulesFlow.find((n) => n.name === 'BTS: writes received') as Msg;
        await waitFor(
            () => f.out(String(btsOut.id)).some((m) => m.topic === '/42771/0/5' && m.payload === false),
            10_000,
            'the BTS shed LTE data',
        );
        assert.equal(f.caught.length, 0, JSON.stringify(f.caught.map((c) => c.error)));
    });
});
