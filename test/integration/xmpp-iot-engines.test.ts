/**
 * DERlink's XMPP IoT client and device engines against each other through a real Prosody, in
 * every wire generation: readout (momentary, selected fields, nodes, scheduled, cancel, errors),
 * control (set, refusals, getForm), concentrator browsing, and hostile requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { el } from '../../src/protocols/xml';
import type { Session } from '../../src/protocols/xmpp';
import type { ConcentratorNode } from '../../src/protocols/xmpp-iot/codec';
import { concentratorCodec } from '../../src/protocols/xmpp-iot/concentrator';
import { ConcentratorServer, METERING_TOPOLOGY } from '../../src/protocols/xmpp-iot/concentrator-server';
import { ControlClient, ControlError } from '../../src/protocols/xmpp-iot/control-client';
import { ControlServer } from '../../src/protocols/xmpp-iot/control-server';
import { GENERATIONS } from '../../src/protocols/xmpp-iot/generations';
import type {
    Field,
    Generation,
    NodeRef,
    ParameterDescription,
    ParameterValue,
} from '../../src/protocols/xmpp-iot/model';
import { ReadoutClient, type ReadoutFailure } from '../../src/protocols/xmpp-iot/readout-client';
import { SensorServer } from '../../src/protocols/xmpp-iot/sensor-server';
import { type Prosody, startProsody } from '../support/prosody';
import { online, waitFor } from '../support/xmpp';

const GENERATION_LIST: Generation[] = ['G0', 'G1', 'G2', 'G3'];

let server: Prosody;
let device: Session;
let client: Session;
let stranger: Session;
let sensor: SensorServer;
let control: ControlServer;
let concentrator: ConcentratorServer;
const applied: Array<{ node?: string; parameters: ParameterValue[]; acknowledged: boolean }> = [];
let slowReads = 0;
let reads = 0;

const NODES: ConcentratorNode[] = [
    {
        nodeId: 'Meter1',
        nodeType: 'ElectricityMeter',
        state: 'None',
        hasChildren: false,
        isReadable: true,
        isControllable: false,
        hasCommands: false,
        sourceId: 'MeteringTopology',
    },
    {
        nodeId: 'Pump',
        nodeType: 'HeatPump',
        state: 'None',
        hasChildren: true,
        isReadable: true,
        isControllable: true,
        hasCommands: false,
        sourceId: 'MeteringTopology',
    },
    {
        nodeId: 'Compressor',
        nodeType: 'Compressor',
        state: 'None',
        hasChildren: false,
        isReadable: true,
        isControllable: false,
        hasCommands: false,
        sourceId: 'MeteringTopology',
        parentId: 'Pump',
    },
];

const PARAMETERS: ParameterDescription[] = [
    { name: 'Output', type: 'boolean', value: 'false' },
    { name: 'Setpoint', type: 'double', min: 10, max: 30, value: '21' },
    { name: 'Mode', type: 'string', options: [{ value: 'eco' }, { value: 'comfort' }], value: 'eco' },
    { name: 'Serial', type: 'string', readOnly: true, value: 'HP-0042' },
];

function fieldsOf(node: NodeRef | undefined): Field[] {
    const at = { date: new Date(Date.UTC(2026, 10, 22, 10, 0, 0)), zoneless: false };
    const base = {
        timestamp: at,
        categories: ['momentary' as const],
        quality: ['automaticReadout' as const],
        ...(node ? { node } : {}),
    };
    if (node?.nodeId === 'Meter1') {
        return [
            { ...base, name: 'Power', type: 'numeric', value: 1.27, text: '1.27', decimals: 2, unit: 'kW' },
            { ...base, name: 'Energy', type: 'numeric', value: 10432.5, text: '10432.5', decimals: 1, unit: 'kWh' },
        ];
    }
    return [
        { ...base, name: 'Temperature', type: 'numeric', value: 20.9, text: '20.9', decimals: 1, unit: '°C' },
        { ...base, name: 'Output', type: 'boolean', value: false, text: 'false', categories: ['momentary', 'status'] },
        { ...base, name: 'Serial', type: 'string', value: 'HP-0042', text: 'HP-0042', categories: ['identity'] },
    ];
}

before(async () => {
    server = await startProsody({ accounts: { device: 'd', client: 'c', stranger: 's' } });
    device = await online(server, 'device', { resource: 'dev' });
    client = await online(server, 'client', { resource: 'app' });
    stranger = await online(server, 'stranger', { resource: 'x' });
    sensor = new SensorServer(device, {
        device: {
            nodes: () => NODES,
            read: async (ctx) => {
                reads++;
                if (ctx.node?.nodeId === 'Compressor') {
                    slowReads++;
                    throw new Error('Compressor bus timeout');
                }
                return { fields: fieldsOf(ctx.node) };
            },
        },
        authorize: (from) => !from.startsWith('stranger@'),
        maxPerRequester: 2,
    });
    control = new ControlServer(device, {
        actuator: {
            nodes: () => [],
            parameters: () => PARAMETERS,
            apply: async (ctx) => {
                applied.push({ parameters: ctx.parameters, acknowledged: ctx.acknowledged });
                if (ctx.parameters.some((p) => p.name === 'Mode' && p.text === 'comfort')) {
                    return { reason: 'locked', parameter: 'Mode', message: 'Mode is locked during defrost' };
                }
                return undefined;
            },
        },
        authorize: (from) => !from.startsWith('stranger@'),
    });
    concentrator = new ConcentratorServer(device, {
        tree: {
            sources: () => [METERING_TOPOLOGY],
            nodes: () => NODES,
            parametersForEdit: (n) => [{ name: 'nodeType', type: 'string', value: n.nodeType ?? '', readOnly: true }],
        },
    });
});

after(async () => {
    sensor?.dispose();
    control?.dispose();
    concentrator?.dispose();
    await Promise.all([device, client, stranger].map((s) => s?.close()));
    await server?.stop();
    server?.cleanup();
});

describe('disco#info and generation detection', () => {
    test('the device advertises every generation; the client picks the newest (G3)', { timeout: 20_000 }, async () => {
        for (const g of GENERATION_LIST) {
            assert.ok(device.features.includes(GENERATIONS[g].sensorData), g);
            assert.ok(device.features.includes(GENERATIONS[g].control), g);
        }
        const readout = new ReadoutClient(client);
        const r = await readout.read(device.jid as string, {
            categories: ['momentary'],
            all: false,
            nodes: [{ nodeId: 'Meter1' }],
            fields: [],
        });
        assert.equal(r.generation, 'G3');
        readout.dispose();
    });
});

for (const generation of GENERATION_LIST) {
    describe(`readout in ${generation}`, () => {
        test('momentary readout of one node: values, units, decimals, timestamps', { timeout: 20_000 }, async () => {
            const readout = new ReadoutClient(client);
            const r = await readout.read(
                device.jid as string,
                { categories: ['momentary'], all: false, nodes: [{ nodeId: 'Meter1' }], fields: [] },
                { generation },
            );
            readout.dispose();
            assert.equal(r.generation, generation);
            const power = r.fields.find((f) => f.name === 'Power');
            assert.equal(power?.value, 1.27);
            assert.equal(power?.unit, 'kW');
            assert.equal(power?.decimals, 2);
            assert.equal(power?.node?.nodeId, 'Meter1');
            assert.equal(power?.timestamp.date.toISOString(), '2026-11-22T10:00:00.000Z');
            assert.equal(r.fields.find((f) => f.name === 'Energy')?.text, '10432.5');
            assert.deepEqual(r.errors, []);
        });

        test('selected fields from every node; a failing node reports an error, the others their data', {
            timeout: 20_000,
        }, async () => {
            const readout = new ReadoutClient(client);
            const r = await readout.read(
                device.jid as string,
                { categories: [], all: true, nodes: [], fields: ['Power', 'Output'] },
                { generation },
            );
            readout.dispose();
            assert.deepEqual(r.fields.map((f) => `${f.node?.nodeId}:${f.name}`).sort(), [
                'Meter1:Power',
                'Pump:Output',
            ]);
            assert.equal(r.fields.find((f) => f.name === 'Output')?.value, false);
            assert.equal(r.errors.length, 1);
            assert.equal(r.errors[0]?.node?.nodeId, 'Compressor');
            assert.match(r.errors[0]?.message ?? '', /bus timeout/);
            assert.deepEqual(r.missing, []);
        });

        test('an unknown node is refused with NOT_FOUND, not left waiting', { timeout: 20_000 }, async () => {
            const readout = new ReadoutClient(client);
            await assert.rejects(
                readout.read(
                    device.jid as string,
                    { categories: ['momentary'], all: false, nodes: [{ nodeId: 'Nope' }], fields: [] },
                    { generation, timeoutMs: 5000 },
                ),
                (err: ReadoutFailure) => {
                    assert.equal(err.code, 'NOT_FOUND');
                    assert.match(err.message, /Nope/);
                    return true;
                },
            );
            readout.dispose();
        });

        test('a requester the device does not know is refused with ACCESS_DENIED', { timeout: 20_000 }, async () => {
            const readout = new ReadoutClient(stranger);
            await assert.rejects(
                readout.read(
                    device.jid as string,
                    { categories: ['momentary'], all: false, nodes: [], fields: [] },
                    { generation, timeoutMs: 5000 },
                ),
                { code: 'ACCESS_DENIED' },
            );
            readout.dispose();
        });

        test('a scheduled readout is queued, started at its time, and delivered', { timeout: 20_000 }, async () => {
            const readout = new ReadoutClient(client);
            const events: string[] = [];
            const when = { date: new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000), zoneless: false };
            const r = await readout.read(
                device.jid as string,
                { categories: ['momentary'], all: false, nodes: [{ nodeId: 'Meter1' }], fields: ['Power'], when },
                { generation, onEvent: (e) => events.push(e.kind) },
            );
            readout.dispose();
            assert.equal(r.queued, true);
            assert.deepEqual(events.slice(0, 2), ['accepted', 'started']);
            assert.equal(r.fields[0]?.name, 'Power');
        });

        test('a scheduled readout cancelled before its time is never read; the caller is told at once', {
            timeout: 20_000,
        }, async () => {
            const readout = new ReadoutClient(client);
            const accepted: Array<{ id: string; queued: boolean }> = [];
            const when = { date: new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000), zoneless: false };
            const pending = readout.read(
                device.jid as string,
                { categories: ['momentary'], all: false, nodes: [{ nodeId: 'Meter1' }], fields: [], when },
                {
                    generation,
                    onEvent: (e) => {
                        if (e.kind === 'accepted') accepted.push({ id: e.id, queued: e.queued });
                    },
                },
            );
            pending.catch(() => undefined); // rejected by the cancel below, before assert.rejects looks
            await waitFor(() => accepted.length > 0, 5000, 'accepted');
            assert.equal(accepted[0]?.queued, true);
            assert.equal(sensor.active > 0, true, 'the device holds the scheduled readout');
            const readsBefore = reads;
            assert.deepEqual(readout.readouts(), [{ device: device.jid as string, id: accepted[0]?.id }]);
            await readout.cancel(device.jid as string, accepted[0]?.id as string);
            await assert.rejects(pending, { code: 'CLOSED', message: /cancelled/ });
            await waitFor(() => sensor.active === 0, 5000, 'the device to drop the readout');
            await new Promise((r) => setTimeout(r, when.date.getTime() - Date.now() + 500));
            assert.equal(reads, readsBefore, 'the device did not read after the cancel');
            assert.deepEqual(readout.readouts(), []);
            readout.dispose();
        });
    });

    describe(`control in ${generation}`, () => {
        test('an acknowledged set is validated, applied and confirmed', { timeout: 20_000 }, async () => {
            const c = new ControlClient(client);
            applied.length = 0;
            await c.set(
                device.jid as string,
                {
                    nodes: [],
                    parameters: [
                        { name: 'Output', type: 'boolean', text: 'true' },
                        { name: 'Setpoint', type: 'double', text: '22.5' },
                    ],
                },
                { generation },
            );
            assert.deepEqual(
                applied[0]?.parameters.map((p) => `${p.name}=${p.text}`),
                ['Output=true', 'Setpoint=22.5'],
            );
            assert.equal(applied[0]?.acknowledged, true);
        });

        test('out of range, unknown, read-only and locked parameters are refused with typed errors', {
            timeout: 20_000,
        }, async () => {
            const c = new ControlClient(client);
            const cases: Array<[ParameterValue, string, RegExp]> = [
                [{ name: 'Setpoint', type: 'double', text: '99' }, 'BAD_INPUT', /outside the range/],
                [{ name: 'Nope', type: 'boolean', text: 'true' }, 'NOT_FOUND', /Nope/],
                [{ name: 'Serial', type: 'string', text: 'X' }, 'ACCESS_DENIED', /read-only/],
                [{ name: 'Mode', type: 'string', text: 'comfort' }, 'CONFLICT', /locked/],
                [{ name: 'Mode', type: 'string', text: 'turbo' }, 'BAD_INPUT', /not one of eco, comfort/],
            ];
            for (const [parameter, code, message] of cases) {
                await assert.rejects(
                    c.set(device.jid as string, { nodes: [], parameters: [parameter] }, { generation }),
                    (err: ControlError) => {
                        assert.ok(err instanceof ControlError, `${parameter.name}: ${err}`);
                        assert.equal(err.code, code, `${parameter.name}: ${err.message}`);
                        assert.match(err.message, message);
                        return true;
                    },
                );
            }
        });

        test('getForm describes the parameters with types, ranges and options', { timeout: 20_000 }, async () => {
            const c = new ControlClient(client);
            const form = await c.getForm(device.jid as string, [], { generation });
            const setpoint = form.find((p) => p.name === 'Setpoint');
            assert.equal(setpoint?.type, 'double');
            assert.equal(setpoint?.min, 10);
            assert.equal(setpoint?.max, 30);
            assert.deepEqual(
                form.find((p) => p.name === 'Mode')?.options?.map((o) => o.value),
                ['eco', 'comfort'],
            );
            assert.equal(form.find((p) => p.name === 'Serial')?.readOnly, true);
        });

        if (generation === 'G0' || generation === 'G1') {
            test('a set without acknowledgement (message) is applied', { timeout: 20_000 }, async () => {
                const c = new ControlClient(client);
                applied.length = 0;
                await c.set(
                    device.jid as string,
                    { nodes: [], parameters: [{ name: 'Output', type: 'boolean', text: 'false' }] },
                    { generation, acknowledged: false },
                );
                await waitFor(() => applied.length === 1, 5000, 'the message set');
                assert.equal(applied[0]?.acknowledged, false);
            });
        }
    });

    describe(`concentrator in ${generation}`, () => {
        test('data sources, root and child nodes, node lookup and the parameter form', {
            timeout: 20_000,
        }, async () => {
            const codec = concentratorCodec(generation);
            const ask = async (command: Parameters<typeof codec.command>[0]) =>
                codec.readAnswer(
                    command.command,
                    await client.request(device.jid as string, 'get', codec.command(command)),
                );
            const sources = await ask({ command: 'getAllDataSources' });
            assert.deepEqual('sources' in sources ? sources.sources.map((s) => s.sourceId) : [], ['MeteringTopology']);
            const roots = await ask({
                command: 'getRootNodes',
                sourceId: 'MeteringTopology',
                parameters: false,
                messages: false,
            });
            assert.deepEqual('nodes' in roots ? roots.nodes.map((n) => n.nodeId) : [], ['Meter1', 'Pump']);
            const children = await ask({
                command: 'getChildNodes',
                node: { nodeId: 'Pump', sourceId: 'MeteringTopology' },
                parameters: false,
                messages: false,
            });
            assert.deepEqual('nodes' in children ? children.nodes.map((n) => n.nodeId) : [], ['Compressor']);
            const contains = await ask({
                command: 'containsNode',
                node: { nodeId: 'Nope', sourceId: 'MeteringTopology' },
            });
            assert.equal('contains' in contains ? contains.contains : undefined, false);
            const form = await ask({
                command: 'getNodeParametersForEdit',
                node: { nodeId: 'Meter1', sourceId: 'MeteringTopology' },
            });
            assert.equal('form' in form ? form.form[0]?.value : undefined, 'ElectricityMeter');
        });
    });
}

describe('hostile requests', () => {
    test('a flood of readout requests from one requester is bounded; the rest are refused, none hang', {
        timeout: 30_000,
    }, async () => {
        const readout = new ReadoutClient(client);
        const when = { date: new Date(Date.now() + 3000), zoneless: false };
        const results = await Promise.allSettled(
            Array.from({ length: 8 }, () =>
                readout.read(
                    device.jid as string,
                    { categories: ['momentary'], all: false, nodes: [{ nodeId: 'Meter1' }], fields: [], when },
                    { generation: 'G1', timeoutMs: 10_000 },
                ),
            ),
        );
        readout.dispose();
        const ok = results.filter((r) => r.status === 'fulfilled').length;
        const refused = results.filter((r) => r.status === 'rejected');
        assert.equal(ok, 2, 'maxPerRequester readouts run');
        assert.equal(refused.length, 6);
        for (const r of refused) assert.match(String((r as PromiseRejectedResult).reason), /already in progress/);
    });

    test('a malformed request gets bad-request; a cancel of an unknown readout is harmless', {
        timeout: 20_000,
    }, async () => {
        await assert.rejects(
            client.request(
                device.jid as string,
                'get',
                el('req', { xmlns: GENERATIONS.G1.sensorData, seqnr: 'abc', momentary: 'true' }),
            ),
            {
                condition: 'bad-request',
            },
        );
        await assert.rejects(
            client.request(device.jid as string, 'get', el('req', { xmlns: GENERATIONS.G3.sensorData })),
            { condition: 'bad-request' },
        );
        const cancelled = await client.request(
            device.jid as string,
            'get',
            el('cancel', { xmlns: GENERATIONS.G1.sensorData, seqnr: '424242' }),
        );
        assert.equal(cancelled?.local, 'cancelled');
        assert.ok(slowReads > 0);
    });
});
