/**
 * The ZigBee SE metering nodes in a Node-RED runtime (node-red-node-test-helper): sep-meter on the
 * simulated meter, read once per 7 s slot with time tags and statistics; configuration errors
 * (below the 7 s floor, no coordinator, a coordinator without a network key or with a bad meter
 * address) as CONFIG errors for Catch nodes. The herdsman path itself is tested through a fake
 * adapter in test/integration/sep-herdsman.test.ts.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import helper from 'node-red-node-test-helper';
import { loadWithHelpers, type Msg, node } from '../support/node-flows';
import { waitFor } from '../support/xmpp';

const NODES = ['zigbee-coordinator', 'sep-meter'].map((t) => require(`../../dist/nodes/${t}.js`));

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

const load = (nodes: Msg[], credentials: Record<string, unknown> = {}) => loadWithHelpers(NODES, nodes, credentials);

describe('sep-meter', () => {
    test('reads the simulated meter once per 7 s slot, tags each reading, and reports statistics', {
        timeout: 40_000,
    }, async () => {
        const out = await load([
            {
                id: 'meter',
                type: 'sep-meter',
                transport: 'simulator',
                interval: 7,
                statsEvery: 0,
                wires: [['records'], ['stats']],
            },
        ]);
        const records = out('records');
        await waitFor(() => records.some((r) => (r.sep as { status: string }).status === 'ok'), 20_000, 'a reading');
        const r = records.find((m) => (m.sep as { status: string }).status === 'ok') as Msg & {
            payload: { kW: number; kWh: number };
            sep: { slotStart: string; responseAt: string; requestAt: string; slot: number; late?: boolean };
        };
        assert.equal(typeof r.payload.kW, 'number');
        assert.ok(r.payload.kWh > 10_000, `kWh ${r.payload.kWh}`);
        assert.equal(r.quality, 'good');
        assert.equal(r.timestamp, r.sep.responseAt);
        assert.equal(Date.parse(r.sep.slotStart) % 7000, 0, 'slots are aligned to the clock');
        const sent = Date.parse(r.sep.requestAt) - Date.parse(r.sep.slotStart);
        assert.ok(sent >= 0 && sent < 1000, `asked ${sent} ms after the slot start`);
        // The tag is the answer's arrival: within the simulated meter's latency (up to 400 ms) of the query. A node
        // started up to 1 s into a slot still asks in that slot (start grace), so the tag may then pass the 1 s mark,
        // and the record says so.
        const answered = Date.parse(r.sep.responseAt) - Date.parse(r.sep.requestAt);
        assert.ok(answered >= 0 && answered < 600, `tagged ${answered} ms after the query`);
        const sinceSlot = Date.parse(r.sep.responseAt) - Date.parse(r.sep.slotStart);
        assert.equal(r.sep.late === true, sinceSlot > 1000, `late flag for a tag ${sinceSlot} ms into the slot`);
        node('meter').receive({ payload: 'stats' });
        await waitFor(() => out('stats').length > 0, 5000, 'statistics');
        const stats = out('stats')[0]?.payload as { totalQueries: number; ok: number; lost: number };
        assert.ok(stats.totalQueries >= 1 && stats.ok >= 1 && stats.lost === 0, JSON.stringify(stats));
    });

    test('bad configuration is a CONFIG error with the reason', { timeout: 20_000 }, async () => {
        const out = await load(
            [
                { id: 'fast', type: 'sep-meter', transport: 'simulator', interval: 5, wires: [[], []] },
                { id: 'lonely', type: 'sep-meter', transport: 'herdsman', ieee: '0x00124b0012345678', wires: [[], []] },
                {
                    id: 'badIeee',
                    type: 'sep-meter',
                    transport: 'herdsman',
                    coordinator: 'zc',
                    ieee: 'meter-1',
                    wires: [[], []],
                },
                {
                    id: 'keyless',
                    type: 'sep-meter',
                    transport: 'herdsman',
                    coordinator: 'zc',
                    ieee: '0x00124b0012345678',
                    wires: [[], []],
                },
                {
                    id: 'zc',
                    type: 'zigbee-coordinator',
                    serialPath: '/dev/null',
                    channel: 11,
                    panId: '0x1a62',
                    meters: '0x00124b0012345678',
                },
            ],
            {},
        );
        const cases: Array<[string, RegExp]> = [
            ['fast', /below 7 s.*OpenSEG/],
            ['lonely', /No ZigBee coordinator/],
            ['badIeee', /16 hexadecimal digits/],
            ['keyless', /network key/],
        ];
        for (const [id, text] of cases) {
            const before = out('caught').length;
            node(id).receive({ payload: 'stats' });
            await waitFor(() => out('caught').length > before, 5000, `an error from ${id}`);
            const e = out('caught').at(-1)?.error as { code?: string; message?: string };
            assert.equal(e.code, 'CONFIG', `${id}: ${e.message}`);
            assert.match(String(e.message), text, id);
        }
    });
});
