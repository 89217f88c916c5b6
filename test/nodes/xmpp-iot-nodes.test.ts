/**
 * The XMPP IoT nodes (iot-sensor, iot-readout, iot-actuator, iot-control) in a Node-RED runtime
 * (node-red-node-test-helper), talking to each other through a real Prosody: readouts from the
 * cache and through the flow, nodes of a concentrator, access refusals, sets with and without
 * acknowledgement, a flow that confirms or refuses sets, getForm, the editor's admin routes, and
 * bad input turned into errors with codes for Catch nodes.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import helper from 'node-red-node-test-helper';
import { accountConfig, collect, type Msg, node } from '../support/node-flows';
import { type Prosody, startProsody } from '../support/prosody';
import { waitFor } from '../support/xmpp';

const accountNode = require('../../dist/nodes/xmpp-account.js');
const presenceNode = require('../../dist/nodes/xmpp-presence.js');
const readoutNode = require('../../dist/nodes/iot-readout.js');
const sensorNode = require('../../dist/nodes/iot-sensor.js');
const controlNode = require('../../dist/nodes/iot-control.js');
const actuatorNode = require('../../dist/nodes/iot-actuator.js');
const ALL = [accountNode, presenceNode, readoutNode, sensorNode, controlNode, actuatorNode];

helper.init(process.env.NODE_RED_PATH || require.resolve('node-red'));

const PASSWORDS = { heatpump: 'hp-secret-1', aggregator: 'agg-secret-2', stranger: 'str-secret-3' } as const;
type User = keyof typeof PASSWORDS;
const HP = 'heatpump@localhost/nr';
const AGG = 'aggregator@localhost/nr';

let server: Prosody;

before(async () => {
    server = await startProsody({ accounts: { ...PASSWORDS } });
    await helper.startServer();
});

after(async () => {
    await helper.stopServer();
    await server.stop();
    server.cleanup();
});

afterEach(async () => {
    await helper.unload();
});

function account(user: User) {
    return accountConfig(server, `acc-${user}`, user, { resource: 'nr' });
}

const credentials = Object.fromEntries(Object.entries(PASSWORDS).map(([u, p]) => [`acc-${u}`, { password: p }]));

/** Loads a flow of the given nodes plus accounts, helpers and a Catch node, and waits until every account is online. */
async function load(nodes: Msg[], users: User[] = ['heatpump', 'aggregator']): Promise<{ caught: Msg[] }> {
    const used = users.filter((u) => nodes.some((n) => n.account === `acc-${u}`));
    const flow: Msg[] = [
        { id: 'f1', type: 'tab', label: 'iot' },
        ...users.map(account),
        ...nodes.map((n) => ({ z: 'f1', ...n })),
        { id: 'catcher', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'f1', type: 'helper' },
    ];
    const wired = new Set(nodes.flatMap((n) => ((n.wires as string[][] | undefined) ?? []).flat()));
    for (const id of wired) if (!nodes.some((n) => n.id === id)) flow.push({ id, z: 'f1', type: 'helper' });
    await helper.load(ALL, flow as Parameters<typeof helper.load>[1], credentials);
    const caught = collect('caught');
    // Wait for every account to be online by asking the runtime.
    await waitFor(
        () =>
            used.every(
                (u) =>
                    (
                        helper.getNode(`acc-${u}`) as unknown as { current?: () => { state: string } | undefined }
                    ).current?.()?.state === 'online',
            ),
        15_000,
        () => `accounts online (${used.join(', ')})`,
    );
    return { caught };
}

/** Sends msg into a node and waits for one message on an output helper or one Catch. */
async function ask(into: string, msg: Msg, out: Msg[], caught: Msg[], ms = 15_000): Promise<Msg> {
    const before = { out: out.length, caught: caught.length };
    node(into).receive(msg);
    await waitFor(
        () => out.length > before.out || caught.length > before.caught,
        ms,
        () => `an answer from ${into}`,
    );
    if (caught.length > before.caught) {
        const e = caught[before.caught]?.error as { message?: string; code?: string } | undefined;
        throw Object.assign(new Error(e?.message ?? 'caught'), { code: e?.code, caught: caught[before.caught] });
    }
    return out[before.out] as Msg;
}

/** Like ask, but expects a Catch; returns the caught error. */
async function refused(into: string, msg: Msg, out: Msg[], caught: Msg[]): Promise<{ code?: string; message: string }> {
    try {
        const m = await ask(into, msg, out, caught);
        assert.fail(`expected an error, got ${JSON.stringify(m.payload)}`);
    } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        return err as { code?: string; message: string };
    }
}

const sensor = (extra: Msg = {}) => ({
    id: 'sensor',
    type: 'iot-sensor',
    account: 'acc-heatpump',
    mode: 'cache',
    nodes: '[]',
    access: 'allowlist',
    allowlist: 'aggregator@localhost',
    maxPerRequester: 4,
    timeout: 5,
    wires: [['requests'], ['activity']],
    ...extra,
});

const readout = (extra: Msg = {}) => ({
    id: 'readout',
    type: 'iot-readout',
    account: 'acc-aggregator',
    device: HP,
    generation: 'auto',
    categories: 'momentary',
    fields: '',
    nodes: '',
    timeout: 10,
    wires: [['results']],
    ...extra,
});

describe('iot-sensor + iot-readout', () => {
    test('cache mode: values fed by messages are read with units, types, timestamps and quality', {
        timeout: 40_000,
    }, async () => {
        const { caught } = await load([sensor(), readout()]);
        const results = collect('results');
        const activity = collect('activity');
        const s = node('sensor');
        s.receive({ topic: 'supplyTemp', payload: 45.5, unit: '°C', decimals: 1 });
        s.receive({
            payload: {
                returnTemp: { value: 38.25, unit: '°C', decimals: 2 },
                running: true,
                mode: 'heating',
                energy: { value: 1234.5, unit: 'kWh', timestamp: '2026-11-22T10:00:00Z' },
                starts: { value: '17', type: 'int' },
            },
        });

        const all = await ask('readout', { payload: {} }, results, caught);
        assert.deepEqual(all.payload, {
            supplyTemp: 45.5,
            returnTemp: 38.25,
            running: true,
            mode: 'heating',
            energy: 1234.5,
            starts: 17,
        });
        assert.equal(all.topic, HP);
        assert.equal(all.quality, 'good');
        const fields = all.fields as Array<Record<string, unknown>>;
        const supply = fields.find((f) => f.name === 'supplyTemp');
        assert.equal(supply?.unit, '°C');
        assert.equal(supply?.decimals, 1);
        assert.equal(supply?.type, 'numeric');
        const energy = fields.find((f) => f.name === 'energy');
        assert.equal(energy?.timestamp, '2026-11-22T10:00:00.000Z');
        assert.equal(energy?.unit, 'kWh');
        assert.equal(fields.find((f) => f.name === 'running')?.type, 'boolean');
        assert.equal(fields.find((f) => f.name === 'starts')?.type, 'int');
        assert.ok(['G1', 'G2', 'G3', 'G0'].includes(String((all.xmpp as Msg).generation)));

        // Only the fields asked for (msg.payload.fields).
        const one = await ask('readout', { payload: { fields: ['returnTemp', 'running'] } }, results, caught);
        assert.deepEqual(one.payload, { returnTemp: 38.25, running: true });
        await waitFor(
            () => activity.some((a) => a.payload === 'readout'),
            5000,
            () => 'an activity message for the readout',
        );
        assert.equal(activity.find((a) => a.payload === 'readout')?.topic, AGG);
        assert.deepEqual(caught, []);
    });

    test('each generation set in the reader is spoken and answered in kind', { timeout: 40_000 }, async () => {
        const nodes: Msg[] = [sensor()];
        for (const g of ['G0', 'G1', 'G2', 'G3'])
            nodes.push(readout({ id: `r${g}`, generation: g, wires: [[`out${g}`]] }));
        const { caught } = await load(nodes);
        node('sensor').receive({ topic: 'power', payload: 2.5, unit: 'kW' });
        for (const g of ['G0', 'G1', 'G2', 'G3']) {
            const out = collect(`out${g}`);
            const m = await ask(`r${g}`, {}, out, caught);
            assert.deepEqual(m.payload, { power: 2.5 }, g);
            assert.equal((m.xmpp as Msg).generation, g);
            assert.equal((m.fields as Msg[])[0]?.unit, 'kW', g);
        }
    });

    test('access: a JID outside the allowlist gets a clear rejection, and no readout is served', {
        timeout: 40_000,
    }, async () => {
        const { caught } = await load(
            [sensor(), readout({ account: 'acc-stranger' })],
            ['heatpump', 'aggregator', 'stranger'],
        );
        const results = collect('results');
        const activity = collect('activity');
        node('sensor').receive({ topic: 'supplyTemp', payload: 45.5 });
        const err = await refused('readout', {}, results, caught);
        assert.equal(err.code, 'ACCESS_DENIED', err.message);
        assert.match(err.message, /heatpump@localhost\/nr/);
        await waitFor(
            () => activity.some((a) => a.payload === 'rejected'),
            5000,
            () => 'a rejected activity',
        );
        assert.ok(!activity.some((a) => a.payload === 'readout'), 'a refused readout was served');
    });

    test('roster access: refused until the reader is a friend, read once it is', { timeout: 40_000 }, async () => {
        const { caught } = await load([
            sensor({ access: 'roster', allowlist: '' }),
            readout({ device: 'heatpump@localhost' }),
            {
                id: 'pres',
                type: 'xmpp-presence',
                account: 'acc-aggregator',
                watch: '',
                presenceEvents: true,
                subscriptionEvents: true,
                rosterEvents: false,
                wires: [['presence']],
            },
        ]);
        const results = collect('results');
        const presence = collect('presence');
        node('sensor').receive({ topic: 'supplyTemp', payload: 41 });
        const before = await refused('readout', { topic: HP }, results, caught);
        assert.equal(before.code, 'ACCESS_DENIED', before.message);

        node('pres').receive({ operation: 'subscribe', topic: 'heatpump@localhost' });
        await waitFor(
            () => presence.some((p) => p.topic === 'heatpump@localhost' && (p.payload as Msg)?.available === true),
            10_000,
            () => 'the heat pump online for the aggregator',
        );
        // A bare JID: the reader picks the online resource.
        const m = await ask('readout', {}, results, caught);
        assert.deepEqual(m.payload, { supplyTemp: 41 });
        assert.equal(m.topic, HP);
    });

    test('flow mode: the request goes out, the flow answers, the reader gets the answer', {
        timeout: 40_000,
    }, async () => {
        const { caught } = await load([sensor({ mode: 'flow', timeout: 2 }), readout()]);
        const results = collect('results');
        const requests = collect('requests');
        node('requests').on('input', (req) => {
            const p = req.payload as { fields?: string[] };
            if (p.fields?.includes('slow')) return; // never answered: the sensor times it out
            node('sensor').receive({ ...req, payload: { flowTemp: 52.5, pumpOn: false } });
        });
        const m = await ask('readout', {}, results, caught);
        assert.deepEqual(m.payload, { flowTemp: 52.5, pumpOn: false });
        const req = requests[0] as Msg;
        assert.equal(req.topic, AGG);
        assert.deepEqual((req.payload as Msg).categories, ['momentary']);
        assert.equal(typeof req._iotReadout, 'string');

        const late = await refused('readout', { payload: { fields: ['slow'] } }, results, caught);
        assert.match(late.message, /did not answer within 2 s/);
        // The flow's late answer is an error of its own, not a crash.
        const stale = requests.at(-1) as Msg;
        const before = caught.length;
        node('sensor').receive({ ...stale, payload: { slow: 1 } });
        await waitFor(
            () => caught.length > before,
            5000,
            () => 'a TIMEOUT error for the late answer',
        );
        assert.equal((caught.at(-1)?.error as Msg | undefined)?.code, 'TIMEOUT');
    });

    test('a scheduled readout (when) is delivered at its time; cancel stops one without an error', {
        timeout: 40_000,
    }, async () => {
        const { caught } = await load([sensor(), readout()]);
        const results = collect('results');
        const activity = collect('activity');
        node('sensor').receive({ topic: 'power', payload: 3.25, unit: 'kW' });
        const when = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000);
        const m = await ask('readout', { payload: { when: when.toISOString() } }, results, caught);
        assert.deepEqual(m.payload, { power: 3.25 });
        assert.equal((m.xmpp as Msg).queued, true);
        assert.ok(Date.now() >= when.getTime() - 50, 'delivered at its time, not before');

        const served = () => activity.filter((a) => a.payload === 'readout').length;
        await waitFor(() => served() === 1, 5000, 'the activity message of the first readout');
        const later = new Date(Math.ceil((Date.now() + 2000) / 1000) * 1000);
        node('readout').receive({ payload: { when: later.toISOString() } });
        await new Promise((r) => setTimeout(r, 400));
        node('readout').receive({ payload: { cancel: true } });
        await new Promise((r) => setTimeout(r, later.getTime() - Date.now() + 800));
        assert.equal(results.length, 1, 'the cancelled readout sent nothing');
        assert.deepEqual(caught, [], 'a cancel on request is not an error');
        assert.equal(served(), 1, 'the device did not read');

        const bad = await refused('readout', { payload: { cancel: 42 } }, results, caught);
        assert.equal(bad.code, 'BAD_INPUT');
    });

    test('concentrator: values per node, readout of one node, unknown node refused', { timeout: 40_000 }, async () => {
        const meters = JSON.stringify([
            { nodeId: 'Meters', displayName: 'All meters', nodeType: 'Group' },
            { nodeId: 'Meter1', displayName: 'Main', nodeType: 'ElectricityMeter', parentId: 'Meters' },
            { nodeId: 'Meter2', displayName: 'Heat pump', nodeType: 'ElectricityMeter', parentId: 'Meters' },
        ]);
        const { caught } = await load([sensor({ nodes: meters }), readout()]);
        const results = collect('results');
        const s = node('sensor');
        s.receive({ node: 'Meter1', payload: { power: { value: 3.2, unit: 'kW' } } });
        s.receive({ node: 'Meter2', payload: { power: { value: 1.1, unit: 'kW' } } });
        const one = await ask('readout', { payload: { nodes: ['Meter2'] } }, results, caught);
        assert.deepEqual(one.payload, { power: 1.1 });
        assert.equal((one.fields as Msg[])[0]?.node, 'Meter2');
        const both = await ask('readout', { payload: { nodes: 'Meter1,Meter2' } }, results, caught);
        assert.deepEqual(
            (both.fields as Msg[]).map((f) => `${f.node}:${f.value}`),
            ['Meter1:3.2', 'Meter2:1.1'],
        );
        const missing = await refused('readout', { payload: { nodes: ['Meter9'] } }, results, caught);
        assert.match(missing.message, /Meter9/);

        // Feeding a node that does not exist is the flow's error, with a code, and stores nothing.
        const before = caught.length;
        s.receive({ node: 'Meter9', payload: { power: 1 } });
        await waitFor(
            () => caught.length > before,
            5000,
            () => 'BAD_INPUT for msg.node Meter9',
        );
        assert.equal((caught.at(-1)?.error as Msg | undefined)?.code, 'BAD_INPUT');
    });

    test('bad input and bad configuration give errors with codes, and nothing breaks', {
        timeout: 40_000,
    }, async () => {
        const { caught } = await load([
            sensor(),
            sensor({ id: 'broken', nodes: '[{"nodeId": "A"}, {"nodeId": "A"}]', wires: [[], []] }),
            sensor({ id: 'noList', access: 'allowlist', allowlist: '', wires: [[], []] }),
            sensor({
                id: 'cycle',
                nodes: '[{"nodeId": "A", "parentId": "B"}, {"nodeId": "B", "parentId": "A"}]',
                wires: [[], []],
            }),
            sensor({ id: 'nullNode', nodes: '[null]', wires: [[], []] }),
            sensor({ id: 'fraction', maxPerRequester: 2.5, wires: [[], []] }),
            sensor({ id: 'longWait', timeout: 601, wires: [[], []] }),
            readout(),
        ]);
        const results = collect('results');
        const cases: Array<[string, Msg, string, RegExp]> = [
            ['readout', { payload: { categories: ['bogus'] } }, 'BAD_INPUT', /bogus/],
            ['readout', { payload: { from: 'yesterday-ish' } }, 'BAD_INPUT', /from/],
            ['readout', { payload: { fields: [1, 2] } }, 'BAD_INPUT', /fields/],
            ['readout', { topic: 'not a jid' }, 'BAD_INPUT', /JID/],
            ['sensor', { payload: [1, 2, 3] }, 'BAD_INPUT', /array/],
            ['sensor', { payload: 5 }, 'BAD_INPUT', /msg.topic/],
            ['sensor', { topic: 'x', payload: 'abc', type: 'numeric' }, 'BAD_INPUT', /x/],
            ['broken', { topic: 'x', payload: 1 }, 'CONFIG', /twice/],
            ['noList', { topic: 'x', payload: 1 }, 'CONFIG', /allowlist/],
            ['cycle', { topic: 'x', payload: 1 }, 'CONFIG', /own ancestor/],
            ['nullNode', { topic: 'x', payload: 1 }, 'CONFIG', /Node 1 must be an object/],
            ['fraction', { topic: 'x', payload: 1 }, 'CONFIG', /whole number/],
            ['longWait', { topic: 'x', payload: 1 }, 'CONFIG', /Timeout must be a number from 1 to 600/],
        ];
        for (const [into, msg, code, text] of cases) {
            const before = caught.length;
            node(into).receive(msg);
            await waitFor(
                () => caught.length > before,
                10_000,
                () => `an error for ${JSON.stringify(msg)}`,
            );
            const e = caught.at(-1)?.error as { code?: string; message?: string };
            assert.equal(e.code, code, `${into} ${JSON.stringify(msg)}: ${e.message}`);
            assert.match(String(e.message), text);
        }
        // After all that, the sensor still serves, and holds nothing from the refused inputs.
        node('sensor').receive({ topic: 'ok', payload: 1 });
        const m = await ask('readout', {}, results, caught);
        assert.deepEqual(m.payload, { ok: 1 });
    });
});

describe('one device role per account', () => {
    test('a second iot-sensor or iot-actuator on the same account is a CONFIG error; the first keeps serving', {
        timeout: 40_000,
    }, async () => {
        const { caught } = await load([
            sensor(),
            sensor({ id: 'sensor2', wires: [[], []] }),
            actuator(),
            actuator({ id: 'actuator2', wires: [[]] }),
            readout(),
        ]);
        const results = collect('results');
        for (const pair of [
            ['sensor', 'sensor2'],
            ['actuator', 'actuator2'],
        ]) {
            const errors: string[] = [];
            for (const id of pair) {
                const before = caught.length;
                node(id).receive({ payload: id.startsWith('sensor') ? { probe: 1 } : { on: true } });
                await new Promise((r) => setTimeout(r, 300));
                for (const c of caught.slice(before)) {
                    const e = c.error as Msg;
                    errors.push(`${id}:${e.code}:${e.message}`);
                }
            }
            assert.equal(errors.length, 1, `exactly one of ${pair.join(', ')} refuses: ${errors.join(' | ')}`);
            assert.match(errors[0] ?? '', /CONFIG:.*Another node already serves/);
        }
        const served = await ask('readout', {}, results, caught);
        assert.deepEqual(served.payload, { probe: 1 });
    });
});

const PARAMETERS = JSON.stringify([
    { name: 'on', type: 'boolean', label: 'Power', value: 'false' },
    { name: 'setpoint', type: 'double', label: 'Setpoint', min: 10, max: 60, value: '20' },
    { name: 'mode', type: 'string', options: 'heating,cooling,off', value: 'off' },
    { name: 'serial', type: 'string', value: 'HP-0042', readOnly: true },
]);

const actuator = (extra: Msg = {}) => ({
    id: 'actuator',
    type: 'iot-actuator',
    account: 'acc-heatpump',
    parameters: PARAMETERS,
    nodes: '',
    access: 'allowlist',
    allowlist: 'aggregator@localhost',
    confirm: 'none',
    timeout: 5,
    wires: [['sets']],
    ...extra,
});

const control = (extra: Msg = {}) => ({
    id: 'control',
    type: 'iot-control',
    account: 'acc-aggregator',
    device: HP,
    generation: 'auto',
    mode: 'iq',
    nodes: '',
    typing: 'form',
    timeout: 10,
    wires: [['done']],
    ...extra,
});

describe('iot-control + iot-actuator', () => {
    test('acknowledged set: typed values reach the flow, the form shows them afterwards', {
        timeout: 40_000,
    }, async () => {
        const { caught } = await load([actuator(), control()]);
        const sets = collect('sets');
        const done = collect('done');
        const m = await ask('control', { payload: { on: true, setpoint: 21.5, mode: 'heating' } }, done, caught);
        assert.equal((m.xmpp as Msg).acknowledged, true);
        assert.deepEqual(
            ((m.xmpp as Msg).parameters as Msg[]).map((p) => `${p.name}:${p.type}:${p.value}`),
            ['on:boolean:true', 'setpoint:double:21.5', 'mode:enum:heating'],
        );
        assert.equal(sets.length, 1);
        assert.deepEqual(sets[0]?.payload, { on: true, setpoint: 21.5, mode: 'heating' });
        assert.equal(sets[0]?.topic, AGG);

        const form = await ask('control', { operation: 'getForm' }, done, caught);
        const params = form.payload as Array<{ name: string; type: string; value?: string; readOnly?: boolean }>;
        assert.deepEqual(
            params.map((p) => `${p.name}=${p.value}`),
            ['on=true', 'setpoint=21.5', 'mode=heating', 'serial=HP-0042'],
        );
        assert.equal(params.find((p) => p.name === 'serial')?.readOnly, true);
    });

    test('refusals: out of range, read-only, unknown parameter, wrong type; nothing reaches the flow', {
        timeout: 40_000,
    }, async () => {
        const { caught } = await load([actuator(), control({ typing: 'payload' })]);
        const sets = collect('sets');
        const done = collect('done');
        const cases: Array<[Msg, string, RegExp]> = [
            [{ payload: { setpoint: 99 } }, 'BAD_INPUT', /setpoint/],
            [{ payload: { serial: 'X' } }, 'ACCESS_DENIED', /serial is read-only/],
            [{ payload: { nothere: 1 } }, 'NOT_FOUND', /nothere/],
            [{ payload: { on: 'maybe' }, types: { on: 'boolean' } }, 'BAD_INPUT', /on/],
            [{ payload: { mode: 'turbo' } }, 'BAD_INPUT', /mode/],
        ];
        for (const [msg, code, text] of cases) {
            const e = await refused('control', msg, done, caught);
            assert.equal(e.code, code, `${JSON.stringify(msg)}: ${e.message}`);
            assert.match(e.message, text);
        }
        assert.deepEqual(sets, [], 'a refused set reached the actuator flow');
    });

    test('a stranger may not set; message-mode sets arrive without an answer', { timeout: 40_000 }, async () => {
        const { caught } = await load(
            [
                actuator(),
                control({ id: 'strangerControl', account: 'acc-stranger', wires: [['strangerDone']] }),
                control({ id: 'fire', mode: 'message', generation: 'G1', typing: 'payload', wires: [['fired']] }),
            ],
            ['heatpump', 'aggregator', 'stranger'],
        );
        const sets = collect('sets');
        const e = await refused('strangerControl', { payload: { on: true } }, collect('strangerDone'), caught);
        assert.equal(e.code, 'ACCESS_DENIED', e.message);
        assert.deepEqual(sets, []);

        const fired = await ask('fire', { payload: { on: true } }, collect('fired'), caught);
        assert.equal((fired.xmpp as Msg).acknowledged, false);
        await waitFor(
            () => sets.length === 1,
            10_000,
            () => 'the message-mode set at the actuator',
        );
        const set = sets[0] as Msg | undefined;
        assert.deepEqual(set?.payload, { on: true });
        assert.equal((set?.xmpp as Msg | undefined)?.acknowledged, false);
    });

    test('confirm by flow: the flow accepts one set and refuses another', { timeout: 40_000 }, async () => {
        const { caught } = await load([actuator({ confirm: 'flow' }), control()]);
        const done = collect('done');
        node('sets').on('input', (m) => {
            const p = m.payload as { setpoint?: number };
            node('actuator').receive(
                p.setpoint === 55
                    ? { ...m, payload: false, error: 'Compressor is defrosting' }
                    : { ...m, payload: true },
            );
        });
        const ok = await ask('control', { payload: { setpoint: 30 } }, done, caught);
        assert.deepEqual((ok.xmpp as Msg).applied, { nodes: [], parameters: ['setpoint'] });
        const no = await refused('control', { payload: { setpoint: 55 } }, done, caught);
        assert.match(no.message, /defrosting/);
        const form = await ask('control', { operation: 'getForm' }, done, caught);
        assert.equal((form.payload as Array<{ name: string; value?: string }>)[1]?.value, '30');
    });

    test('bad input to both nodes gives codes; current values fed to the actuator are checked', {
        timeout: 40_000,
    }, async () => {
        const { caught } = await load(
            [
                actuator(),
                control({ device: '' }),
                actuator({ id: 'plugs', account: 'acc-stranger', nodes: 'Plug1, Plug2', wires: [[]] }),
                actuator({ id: 'slowConfirm', account: 'acc-aggregator', timeout: 0, wires: [[]] }),
            ],
            ['heatpump', 'aggregator', 'stranger'],
        );
        const cases: Array<[string, Msg, string, RegExp]> = [
            ['plugs', { topic: 'Plug3', payload: { on: true } }, 'BAD_INPUT', /Plug1, Plug2\); got "Plug3"/],
            ['plugs', { payload: { on: true } }, 'BAD_INPUT', /must name one of this actuator's nodes/],
            ['slowConfirm', { payload: { on: true } }, 'CONFIG', /Timeout must be a number from 1 to 600/],
            ['control', { payload: { on: true } }, 'BAD_INPUT', /No device/],
            ['control', { topic: HP, operation: 'reboot' }, 'BAD_INPUT', /reboot/],
            ['control', { topic: HP, payload: 'on' }, 'BAD_INPUT', /payload/],
            ['actuator', { payload: { setpoint: 'warm' } }, 'BAD_INPUT', /double/],
            ['actuator', { payload: { nothere: 1 } }, 'BAD_INPUT', /nothere/],
            ['actuator', { payload: 3 }, 'BAD_INPUT', /object/],
        ];
        for (const [into, msg, code, text] of cases) {
            const before = caught.length;
            node(into).receive(msg);
            await waitFor(
                () => caught.length > before,
                10_000,
                () => `an error for ${JSON.stringify(msg)}`,
            );
            const e = caught.at(-1)?.error as { code?: string; message?: string };
            assert.equal(e.code, code, `${into} ${JSON.stringify(msg)}: ${e.message}`);
            assert.match(String(e.message), text);
        }
        node('actuator').receive({ payload: { setpoint: 44 } });
        const form = await ask('control', { topic: HP, operation: 'getForm' }, collect('done'), caught);
        assert.equal((form.payload as Array<{ name: string; value?: string }>)[1]?.value, '44');
    });
});

describe('editor routes', () => {
    test('account peers and device form, and their errors', { timeout: 40_000 }, async () => {
        await load([
            actuator(),
            {
                id: 'pres',
                type: 'xmpp-presence',
                account: 'acc-aggregator',
                watch: '',
                presenceEvents: true,
                subscriptionEvents: false,
                rosterEvents: false,
                wires: [['presence']],
            },
        ]);
        const presence = collect('presence');
        node('pres').receive({ operation: 'subscribe', topic: 'heatpump@localhost' });
        await waitFor(
            () => presence.some((p) => (p.payload as Msg)?.available === true),
            10_000,
            () => 'the heat pump online',
        );
        const peers = await helper.request().get('/derlink/xmpp-account/acc-aggregator/peers').expect(200);
        assert.equal(peers.body.account, 'aggregator@localhost');
        assert.ok(
            (peers.body.online as Array<{ jid: string }>).some((p) => p.jid === HP),
            JSON.stringify(peers.body),
        );
        assert.ok((peers.body.roster as Array<{ jid: string }>).some((r) => r.jid === 'heatpump@localhost'));
        await helper.request().get('/derlink/xmpp-account/nope/peers').expect(404);

        const form = await helper
            .request()
            .post('/derlink/iot-control/form')
            .send({ account: 'acc-aggregator', jid: HP, generation: 'auto', nodes: '' })
            .expect(200);
        assert.deepEqual(
            (form.body.parameters as Array<{ name: string }>).map((p) => p.name),
            ['on', 'setpoint', 'mode', 'serial'],
        );
        const bad = await helper
            .request()
            .post('/derlink/iot-control/form')
            .send({ account: 'acc-aggregator', jid: 'not a jid' })
            .expect(400);
        assert.match(bad.body.error, /JID/);
        await helper.request().post('/derlink/iot-control/form').send({ account: 'nope', jid: HP }).expect(404);
    });
});
