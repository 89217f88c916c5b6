/**
 * XEP-0324 provisioning end to end through a real Prosody: DERlink's SensorServer and
 * ControlServer delegate "may this JID read / control, and what of it" to a provisioning server
 * (test/peers/provisioning-server.ts, on our own Session, answers written by hand from the XEP
 * examples) through the ProvisioningClient, which caches the answers until the server sends
 * clearCache. The account's presence subscriptions are decided by the server's isFriend.
 *
 * The engines are wired to the provisioning client exactly as the node runtimes wire them
 * (src/nodes/iot-sensor.ts and iot-actuator.ts `authorize`, iot-sensor.ts subscription decider).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { el } from '../../src/protocols/xml';
import type { Session } from '../../src/protocols/xmpp';
import { ControlClient, ControlError } from '../../src/protocols/xmpp-iot/control-client';
import { ControlServer, type ControlServerOptions } from '../../src/protocols/xmpp-iot/control-server';
import type {
    Field,
    Generation,
    NodeRef,
    ParameterDescription,
    ParameterValue,
    ReadoutRequest,
} from '../../src/protocols/xmpp-iot/model';
import { ProvisioningClient } from '../../src/protocols/xmpp-iot/provisioning-client';
import { ReadoutClient, type ReadoutFailure, type ReadoutResult } from '../../src/protocols/xmpp-iot/readout-client';
import { SensorServer, type SensorServerOptions } from '../../src/protocols/xmpp-iot/sensor-server';
import { ProvisioningServerPeer } from '../peers/provisioning-server';
import { type Prosody, startProsody } from '../support/prosody';
import { collect, online, waitFor } from '../support/xmpp';

/** How long the device waits for its provisioning server before it says no. */
const PROVISIONING_TIMEOUT_MS = 1500;
/** The requesters' bound; a refusal must come well before it. */
const CLIENT_TIMEOUT_MS = 8000;

const USERS = [
    'prov',
    'prov3',
    'device',
    'device3',
    'alice',
    'mallory',
    'carol',
    'olga',
    'ivan',
    'dave',
    'eve',
    'frank',
    'grace',
    'heidi',
    'stranger',
] as const;
type User = (typeof USERS)[number];

let server: Prosody;
const sessions = new Map<User, Session>();
let provSession: Session;
let prov: ProvisioningServerPeer;
let device: Session;
let provisioning: ProvisioningClient;
let sensor: SensorServer;
let control: ControlServer;
const provisioningEvents: Array<{ kind: string; detail: string }> = [];
const sensorActivity: Array<{ kind: string; from: string; detail: string }> = [];
const applied: Array<{ from: string; parameters: ParameterValue[] }> = [];

function s(user: User): Session {
    const session = sessions.get(user);
    if (!session) throw new Error(`no session for ${user}`);
    return session;
}

function bareOf(user: User): string {
    return `${user}@${server.domain}`;
}

const NODES: NodeRef[] = [{ nodeId: 'Meter1' }, { nodeId: 'Meter2' }];

const AT = { date: new Date(Date.UTC(2026, 10, 22, 10, 0, 0)), zoneless: false };

function fieldsOf(node: NodeRef | undefined): Field[] {
    const base = { timestamp: AT, quality: ['automaticReadout' as const], ...(node ? { node } : {}) };
    const n = node?.nodeId === 'Meter2' ? 2 : 1;
    return [
        {
            ...base,
            name: 'Power',
            type: 'numeric',
            value: n,
            text: `${n}.00`,
            decimals: 2,
            unit: 'kW',
            categories: ['momentary'],
        },
        {
            ...base,
            name: 'Energy',
            type: 'numeric',
            value: 100 * n,
            text: `${100 * n}`,
            decimals: 0,
            unit: 'kWh',
            categories: ['momentary'],
        },
        { ...base, name: 'Serial', type: 'string', value: `M-${n}`, text: `M-${n}`, categories: ['identity'] },
        { ...base, name: 'Alarm', type: 'boolean', value: false, text: 'false', categories: ['status'] },
    ];
}

const PARAMETERS: ParameterDescription[] = [
    { name: 'Output', type: 'boolean', value: 'false' },
    { name: 'Setpoint', type: 'double', min: 10, max: 30, value: '21' },
    { name: 'Mode', type: 'string', options: [{ value: 'eco' }, { value: 'comfort' }], value: 'eco' },
];

/**
 * The SensorServer's `authorize` as src/nodes/iot-sensor.ts builds it in provisioning mode, plus the
 * allowed categories, which the node drops today (see the categories bug below): they are passed on
 * so that the test turns green once SensorServer honours them.
 */
function readAccess(p: ProvisioningClient): NonNullable<SensorServerOptions['authorize']> {
    return async (from, request) => {
        const verdict = await p.canRead(from, {
            nodes: request.nodes,
            fields: request.fields,
            categories: request.categories,
            all: request.all,
            ...(request.tokens ? { tokens: request.tokens } : {}),
        });
        if (!verdict.allowed) return false;
        if (!verdict.fields && !verdict.nodes && !verdict.categories) return true;
        return Object.assign(
            {
                ...(verdict.fields ? { fields: verdict.fields } : {}),
                ...(verdict.nodes ? { nodes: verdict.nodes } : {}),
            },
            verdict.categories ? { categories: verdict.categories } : {},
        );
    };
}

/** The ControlServer's `authorize` as src/nodes/iot-actuator.ts builds it in provisioning mode. */
function controlAccess(p: ProvisioningClient): NonNullable<ControlServerOptions['authorize']> {
    return async (from, request) => {
        const verdict = await p.canControl(from, {
            nodes: request.nodes,
            parameters: request.parameters.map((x) => x.name),
        });
        return verdict.allowed ? (verdict.parameters ? { parameters: verdict.parameters } : true) : false;
    };
}

/** The rule table every provisioning server of this file starts with. */
function installRules(peer: ProvisioningServerPeer): void {
    peer.read.set(bareOf('alice'), { allowed: true });
    peer.read.set(bareOf('mallory'), { allowed: false });
    peer.read.set(bareOf('carol'), { allowed: true, fields: ['Power'] });
    peer.read.set(bareOf('olga'), { allowed: true, nodes: ['Meter2'] });
    peer.read.set(bareOf('ivan'), { allowed: true, categories: ['momentary'] });
    peer.control.set(bareOf('alice'), { allowed: true });
    peer.control.set(bareOf('mallory'), { allowed: false });
    peer.control.set(bareOf('carol'), { allowed: true, parameters: ['Output'] });
    peer.friends.set(bareOf('alice'), true);
    peer.friends.set(bareOf('dave'), true);
    peer.friends.set(bareOf('eve'), false);
    peer.friends.set(bareOf('frank'), true);
}

async function startProvisioningServer(): Promise<void> {
    provSession = await online(server, 'prov', { resource: 'srv' });
    prov = new ProvisioningServerPeer(provSession);
    installRules(prov);
}

async function read(
    user: User,
    request: Partial<Omit<ReadoutRequest, 'id'>> = {},
    options: { to?: string; generation?: Generation } = {},
): Promise<ReadoutResult> {
    const client = new ReadoutClient(s(user));
    try {
        return await client.read(
            options.to ?? (device.jid as string),
            { categories: [], all: true, nodes: [], fields: [], ...request },
            { generation: options.generation ?? 'G1', timeoutMs: CLIENT_TIMEOUT_MS },
        );
    } finally {
        assert.equal(client.active, 0, 'nothing left waiting in the readout client');
        client.dispose();
    }
}

function set(user: User, parameters: ParameterValue[]) {
    return new ControlClient(s(user)).set(
        device.jid as string,
        { nodes: [], parameters },
        { generation: 'G1', timeoutMs: CLIENT_TIMEOUT_MS },
    );
}

/** Runs `fn`, which must reject, and returns the error and how long it took. */
async function refusal(fn: () => Promise<unknown>): Promise<{ err: Error; ms: number }> {
    const t0 = Date.now();
    try {
        await fn();
    } catch (err) {
        return { err: err as Error, ms: Date.now() - t0 };
    }
    throw new assert.AssertionError({ message: 'expected a refusal, got a success' });
}

const names = (r: ReadoutResult) => r.fields.map((f) => `${f.node?.nodeId}:${f.name}`).sort();

before(async () => {
    server = await startProsody({ accounts: Object.fromEntries(USERS.map((u) => [u, `${u}-pw`])) });
    await startProvisioningServer();
    device = await online(server, 'device', { resource: 'dev' });
    for (const u of USERS) {
        if (u === 'prov' || u === 'device' || u === 'prov3' || u === 'device3') continue;
        sessions.set(u, await online(server, u, { resource: 'r' }));
    }
    provisioning = new ProvisioningClient(device, provSession.jid as string, { timeoutMs: PROVISIONING_TIMEOUT_MS });
    provisioning.onEvent = (e) => provisioningEvents.push(e);
    sensor = new SensorServer(device, {
        device: { nodes: () => NODES, read: async (ctx) => ({ fields: fieldsOf(ctx.node) }) },
        authorize: readAccess(provisioning),
        onActivity: (e) => sensorActivity.push(e),
    });
    control = new ControlServer(device, {
        actuator: {
            nodes: () => [],
            parameters: () => PARAMETERS,
            apply: async (ctx) => {
                applied.push({ from: ctx.from, parameters: ctx.parameters });
                return undefined;
            },
        },
        authorize: controlAccess(provisioning),
    });
});

after(async () => {
    sensor?.dispose();
    control?.dispose();
    provisioning?.dispose();
    prov?.dispose();
    await Promise.all([provSession, device, ...sessions.values()].map((x) => x?.close()));
    await server?.stop();
    server?.cleanup();
});

describe('readout decided by the provisioning server', () => {
    test('the server advertises urn:xmpp:iot:provisioning; the device discovers it and asks canRead with the bare JID', {
        timeout: 20_000,
    }, async () => {
        const info = await device.request(
            provSession.jid as string,
            'get',
            el('query', { xmlns: 'http://jabber.org/protocol/disco#info' }),
        );
        assert.ok(info?.childrenNamed('feature').some((f) => f.attr('var') === 'urn:xmpp:iot:provisioning'));
        const before = prov.count('canRead', bareOf('alice'));
        const r = await read('alice');
        assert.deepEqual(names(r), [
            'Meter1:Alarm',
            'Meter1:Energy',
            'Meter1:Power',
            'Meter1:Serial',
            'Meter2:Alarm',
            'Meter2:Energy',
            'Meter2:Power',
            'Meter2:Serial',
        ]);
        assert.equal(prov.count('canRead', bareOf('alice')), before + 1);
        const q = prov.queries.at(-1);
        assert.equal(q?.kind, 'canRead');
        assert.equal(q?.jid, bareOf('alice'), 'the requester is named by its bare JID');
        assert.equal(q?.from, device.jid, 'the device itself asks');
        assert.equal(q?.stanza.child('canRead')?.ns, 'urn:xmpp:iot:provisioning');
        assert.ok(q?.flags.includes('all'), `all="true" is passed on (${q?.flags})`);
    });

    test('denied: the requester gets ACCESS_DENIED at once, no data is sent', { timeout: 20_000 }, async () => {
        const messages = collect<unknown>(s('mallory'), 'message');
        const { err, ms } = await refusal(() => read('mallory'));
        assert.equal((err as ReadoutFailure).code, 'ACCESS_DENIED', err.message);
        assert.match(err.message, /Access denied/);
        assert.ok(ms < 3000, `refused after ${ms} ms`);
        assert.equal(prov.count('canRead', bareOf('mallory')), 1);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(messages.length, 0, 'no data message reached the refused requester');
        assert.equal(sensor.active, 0);
    });

    test('partial field permission: canReadResponse lists Power, so only Power comes back', {
        timeout: 20_000,
    }, async () => {
        const r = await read('carol');
        assert.deepEqual(names(r), ['Meter1:Power', 'Meter2:Power']);
        assert.equal(r.ignored, 0, 'the device itself sent nothing else');
        assert.equal(r.fields.find((f) => f.node?.nodeId === 'Meter2')?.text, '2.00');
        const sub = await read('carol', { fields: ['Power', 'Serial'] });
        assert.deepEqual(names(sub), ['Meter1:Power', 'Meter2:Power']);
        assert.deepEqual(sub.missing, ['Serial'], 'the refused field is reported missing');
    });

    test('partial node permission: canReadResponse lists Meter2, so only Meter2 is read', {
        timeout: 20_000,
    }, async () => {
        const r = await read('olga');
        assert.deepEqual(names(r), ['Meter2:Alarm', 'Meter2:Energy', 'Meter2:Power', 'Meter2:Serial']);
    });

    test('the answer is cached: a second identical readout asks nothing; clearCache makes the device ask again', {
        timeout: 30_000,
    }, async () => {
        const request = { fields: ['Energy'] };
        const n0 = prov.count('canRead', bareOf('alice'));
        assert.deepEqual(names(await read('alice', request)), ['Meter1:Energy', 'Meter2:Energy']);
        assert.equal(prov.count('canRead', bareOf('alice')), n0 + 1);
        assert.deepEqual(names(await read('alice', request)), ['Meter1:Energy', 'Meter2:Energy']);
        assert.equal(prov.count('canRead', bareOf('alice')), n0 + 1, 'served from the cache');

        // XEP-0324 §3.5: rules are taken as unchanged until clearCache.
        prov.read.set(bareOf('alice'), { allowed: false });
        assert.deepEqual(names(await read('alice', request)), ['Meter1:Energy', 'Meter2:Energy']);
        assert.equal(prov.count('canRead', bareOf('alice')), n0 + 1);

        const answer = await prov.clearCache(device.jid as string);
        assert.equal(answer?.local, 'clearCacheResponse');
        assert.equal(answer?.ns, 'urn:xmpp:iot:provisioning');
        assert.ok(provisioningEvents.some((e) => e.kind === 'clearCache'));
        const { err } = await refusal(() => read('alice', request));
        assert.equal((err as ReadoutFailure).code, 'ACCESS_DENIED');
        assert.equal(prov.count('canRead', bareOf('alice')), n0 + 2, 'asked again after clearCache');

        prov.read.set(bareOf('alice'), { allowed: true });
        await prov.clearCache(device.jid as string);
        assert.deepEqual(names(await read('alice', request)), ['Meter1:Energy', 'Meter2:Energy']);
        assert.equal(prov.count('canRead', bareOf('alice')), n0 + 3);
    });

    test('clearCache from anyone but the provisioning server is answered and ignored', {
        timeout: 20_000,
    }, async () => {
        const request = { fields: ['Power'], nodes: [{ nodeId: 'Meter1' }] };
        await read('alice', request);
        const n = prov.count('canRead', bareOf('alice'));
        const answer = await s('stranger').request(
            device.jid as string,
            'set',
            el('clearCache', { xmlns: 'urn:xmpp:iot:provisioning' }),
        );
        assert.equal(answer?.local, 'clearCacheResponse');
        await read('alice', request);
        assert.equal(prov.count('canRead', bareOf('alice')), n, 'the cache survived the spoofed clearCache');
    });

    test('a server that does not answer: refused after the provisioning timeout, not cached, nothing hangs', {
        timeout: 20_000,
    }, async () => {
        const request = { fields: ['Serial'] };
        prov.mode = 'silent';
        try {
            const { err, ms } = await refusal(() => read('alice', request));
            assert.equal((err as ReadoutFailure).code, 'ACCESS_DENIED', err.message);
            assert.ok(
                ms >= PROVISIONING_TIMEOUT_MS - 100 && ms < PROVISIONING_TIMEOUT_MS + 3000,
                `refused after ${ms} ms`,
            );
        } finally {
            prov.mode = 'answer';
        }
        assert.equal(sensor.active, 0, 'no readout left running on the device');
        const unreachable = provisioningEvents.filter((e) => e.kind === 'unreachable').at(-1);
        assert.match(unreachable?.detail ?? '', /did not decide.*denied/);
        assert.ok(sensorActivity.some((e) => e.kind === 'rejected' && e.from.startsWith(bareOf('alice'))));
        // The refusal was not cached: the next readout asks again and is allowed.
        const n = prov.count('canRead', bareOf('alice'));
        assert.deepEqual(names(await read('alice', request)), ['Meter1:Serial', 'Meter2:Serial']);
        assert.equal(prov.count('canRead', bareOf('alice')), n + 1);
    });

    test('a server that answers with an error: refused at once', { timeout: 20_000 }, async () => {
        prov.mode = 'error';
        try {
            const { err, ms } = await refusal(() => read('alice', { fields: ['Alarm'] }));
            assert.equal((err as ReadoutFailure).code, 'ACCESS_DENIED');
            assert.ok(ms < 3000, `refused after ${ms} ms`);
        } finally {
            prov.mode = 'answer';
        }
    });

    test('the server offline: refused at once (service-unavailable); back online, readouts are allowed again', {
        timeout: 30_000,
    }, async () => {
        const request = { fields: ['Power', 'Energy'] };
        prov.dispose();
        await provSession.close();
        const { err, ms } = await refusal(() => read('alice', request));
        assert.equal((err as ReadoutFailure).code, 'ACCESS_DENIED', err.message);
        assert.ok(ms < 3000, `refused after ${ms} ms`);
        assert.match(provisioningEvents.at(-1)?.detail ?? '', /did not decide \(service-unavailable.*denied/);
        await startProvisioningServer();
        assert.equal(names(await read('alice', request)).length, 4);
        assert.equal(prov.count('canRead', bareOf('alice')), 1);
    });
});

describe('control decided by the provisioning server', () => {
    test('allowed: the set is applied; canControl names the requester and the parameters', {
        timeout: 20_000,
    }, async () => {
        applied.length = 0;
        const result = await set('alice', [
            { name: 'Output', type: 'boolean', text: 'true' },
            { name: 'Setpoint', type: 'double', text: '22.5' },
        ]);
        assert.deepEqual(result?.parameters, ['Output', 'Setpoint']);
        assert.deepEqual(
            applied.map((a) => a.parameters.map((p) => `${p.name}=${p.text}`)),
            [['Output=true', 'Setpoint=22.5']],
        );
        const q = prov.queries.filter((x) => x.kind === 'canControl').at(-1);
        assert.equal(q?.jid, bareOf('alice'));
        assert.deepEqual(q?.names, ['Output', 'Setpoint']);
    });

    test('denied: ControlError ACCESS_DENIED at once, nothing applied', { timeout: 20_000 }, async () => {
        applied.length = 0;
        const { err, ms } = await refusal(() => set('mallory', [{ name: 'Output', type: 'boolean', text: 'true' }]));
        assert.ok(err instanceof ControlError, String(err));
        assert.equal(err.code, 'ACCESS_DENIED');
        assert.ok(ms < 3000, `refused after ${ms} ms`);
        assert.equal(applied.length, 0);
    });

    test('parameter subset: an allowed parameter is set, a parameter outside the subset is refused', {
        timeout: 20_000,
    }, async () => {
        applied.length = 0;
        await set('carol', [{ name: 'Output', type: 'boolean', text: 'false' }]);
        assert.equal(applied.length, 1);
        const { err } = await refusal(() => set('carol', [{ name: 'Setpoint', type: 'double', text: '20' }]));
        assert.ok(err instanceof ControlError, String(err));
        assert.equal(err.code, 'ACCESS_DENIED');
        assert.equal(err.failure.parameter, 'Setpoint');
        assert.equal(applied.length, 1, 'the refused set was not applied');
    });

    test('cached per request; clearCache makes the device ask again', { timeout: 20_000 }, async () => {
        const mode = [{ name: 'Mode', type: 'string' as const, text: 'comfort' }];
        const n0 = prov.count('canControl', bareOf('alice'));
        await set('alice', mode);
        await set('alice', mode);
        assert.equal(prov.count('canControl', bareOf('alice')), n0 + 1);
        await prov.clearCache(device.jid as string);
        await set('alice', mode);
        assert.equal(prov.count('canControl', bareOf('alice')), n0 + 2);
    });

    test('a server that does not answer: ACCESS_DENIED after the provisioning timeout, nothing hangs', {
        timeout: 20_000,
    }, async () => {
        applied.length = 0;
        prov.mode = 'silent';
        try {
            const { err, ms } = await refusal(() => set('alice', [{ name: 'Setpoint', type: 'double', text: '11' }]));
            assert.ok(err instanceof ControlError, String(err));
            assert.equal(err.code, 'ACCESS_DENIED');
            assert.ok(
                ms >= PROVISIONING_TIMEOUT_MS - 100 && ms < PROVISIONING_TIMEOUT_MS + 3000,
                `refused after ${ms} ms`,
            );
        } finally {
            prov.mode = 'answer';
        }
        assert.equal(applied.length, 0);
    });
});

describe('friendship (isFriend) decided by the provisioning server', () => {
    let decider: { dispose(): void };

    before(() => {
        // As src/nodes/iot-sensor.ts does in provisioning mode.
        decider = device.setSubscriptionDecider((from) => provisioning.isFriend(from));
    });

    after(() => decider?.dispose());

    const answerTo = async (user: User): Promise<string> => {
        const events = collect<{ from: string; type: string }>(s(user), 'subscription');
        await s(user).subscribe(device.jid as string);
        const bare = (device.jid as string).split('/')[0];
        await waitFor(
            () => events.some((e) => e.from === bare && (e.type === 'subscribed' || e.type === 'unsubscribed')),
            10_000,
            `an answer to ${user}'s subscription`,
        );
        return events.find((e) => e.from === bare && (e.type === 'subscribed' || e.type === 'unsubscribed'))
            ?.type as string;
    };

    test('a friend is approved, a foe refused; each asked once with its bare JID', { timeout: 30_000 }, async () => {
        assert.equal(await answerTo('dave'), 'subscribed');
        assert.equal(await answerTo('eve'), 'unsubscribed');
        assert.equal(prov.count('isFriend', bareOf('dave')), 1);
        assert.equal(prov.count('isFriend', bareOf('eve')), 1);
        assert.equal(prov.queries.find((q) => q.kind === 'isFriend' && q.jid === bareOf('dave'))?.jid, bareOf('dave'));
    });

    test('a server that does not answer: the subscription is refused (deny by default), not left pending', {
        timeout: 20_000,
    }, async () => {
        prov.mode = 'silent';
        try {
            const t0 = Date.now();
            assert.equal(await answerTo('frank'), 'unsubscribed');
            assert.ok(Date.now() - t0 < PROVISIONING_TIMEOUT_MS + 3000);
        } finally {
            prov.mode = 'answer';
        }
    });

    test('a friend recommendation from the server makes the device subscribe; one from a stranger is ignored', {
        timeout: 20_000,
    }, async () => {
        const bare = (device.jid as string).split('/')[0];
        const grace = collect<{ from: string; type: string }>(s('grace'), 'subscription');
        const heidi = collect<{ from: string; type: string }>(s('heidi'), 'subscription');
        await s('stranger').send(
            el(
                'message',
                { to: device.jid },
                el('friend', { xmlns: 'urn:xmpp:iot:provisioning', jid: bareOf('heidi') }),
            ),
        );
        await prov.friend(device.jid as string, bareOf('grace'));
        await waitFor(
            () => grace.some((e) => e.from === bare && e.type === 'subscribe'),
            10_000,
            'the subscribe to grace',
        );
        await new Promise((r) => setTimeout(r, 500));
        assert.deepEqual(heidi, [], 'the stranger cannot recommend friends');
    });

    test('unfriend from the server ends the friendship', { timeout: 20_000 }, async () => {
        const bare = (device.jid as string).split('/')[0];
        const dave = collect<{ from: string; type: string }>(s('dave'), 'subscription');
        await prov.unfriend(device.jid as string, bareOf('dave'));
        await waitFor(
            () => dave.some((e) => e.from === bare && e.type === 'unsubscribed'),
            10_000,
            'unsubscribed to dave',
        );
    });
});

describe('a G3 provisioning server (urn:nf:iot:prov:d:1.0), found by disco#info', () => {
    let prov3Session: Session;
    let prov3: ProvisioningServerPeer;
    let device3: Session;
    let client3: ProvisioningClient;
    let sensor3: SensorServer;

    before(async () => {
        prov3Session = await online(server, 'prov3', { resource: 'srv' });
        prov3 = new ProvisioningServerPeer(prov3Session, { dialect: 'G3' });
        installRules(prov3);
        device3 = await online(server, 'device3', { resource: 'dev' });
        client3 = new ProvisioningClient(device3, prov3Session.jid as string, { timeoutMs: PROVISIONING_TIMEOUT_MS });
        sensor3 = new SensorServer(device3, {
            device: { nodes: () => NODES, read: async (ctx) => ({ fields: fieldsOf(ctx.node) }) },
            authorize: readAccess(client3),
        });
    });

    after(async () => {
        sensor3?.dispose();
        client3?.dispose();
        prov3?.dispose();
        await Promise.all([prov3Session, device3].map((x) => x?.close()));
    });

    test('allowed, narrowed to a field, and denied, in G3 on both sides', { timeout: 30_000 }, async () => {
        const to = device3.jid as string;
        assert.equal(names(await read('alice', {}, { to, generation: 'G3' })).length, 8);
        assert.deepEqual(names(await read('carol', { fields: ['Power', 'Energy'] }, { to, generation: 'G3' })), [
            'Meter1:Power',
            'Meter2:Power',
        ]);
        const { err } = await refusal(() => read('mallory', {}, { to, generation: 'G3' }));
        assert.equal((err as ReadoutFailure).code, 'ACCESS_DENIED');
        const q = prov3.queries.find((x) => x.kind === 'canRead' && x.jid === bareOf('carol'));
        const canRead = q?.stanza.child('canRead');
        assert.equal(canRead?.ns, 'urn:nf:iot:prov:d:1.0');
        assert.deepEqual(
            canRead?.childrenNamed('f').map((f) => f.attr('n')),
            ['Power', 'Energy'],
            'the fields are asked about as <f n>',
        );
        assert.equal(prov.queries.filter((x) => x.from === device3.jid).length, 0, 'the G1 server was not asked');
    });
});

describe('narrowed permissions', () => {
    test('a partial parameter permission applies the permitted parameters and reports the reduced set', {
        timeout: 20_000,
    }, async () => {
        // XEP-0324 §3.4.3: with a narrowed canControlResponse the device acts only on the listed
        // parameters and reports the narrowed set in its answer (NF's IoT Gateway does the same).
        applied.length = 0;
        const result = await set('carol', [
            { name: 'Output', type: 'boolean', text: 'true' },
            { name: 'Setpoint', type: 'double', text: '25' },
        ]);
        assert.deepEqual(result?.parameters, ['Output']);
        assert.deepEqual(
            applied.map((a) => a.parameters.map((p) => p.name)),
            [['Output']],
        );
    });

    test('a field outside the permitted list is refused, not read, when no requested field is permitted', {
        timeout: 20_000,
    }, async () => {
        // carol may read Power only. She asks for Serial alone: the request and the permission do
        // not overlap, and an empty field list would mean "every field", so the readout is refused.
        const messages = collect<{ toString(): string }>(s('carol'), 'message');
        await assert.rejects(read('carol', { fields: ['Serial'] }), { code: 'ACCESS_DENIED' });
        await new Promise((res) => setTimeout(res, 200));
        assert.ok(!messages.some((m) => m.toString().includes('M-1')), 'the device sent a field carol may not read');
    });

    test('a node outside the permitted list is refused, not read, when no requested node is permitted', {
        timeout: 20_000,
    }, async () => {
        // olga may read Meter2 only. She asks for Meter1: no overlap, so the readout is refused.
        await assert.rejects(read('olga', { nodes: [{ nodeId: 'Meter1' }] }), { code: 'ACCESS_DENIED' });
    });

    test('categories narrowed by canReadResponse are honoured', { timeout: 20_000 }, async () => {
        // ivan may read momentary values only (canReadResponse momentary="true" identity="false"
        // status="false" ...): identity and status fields are not sent.
        const r = await read('ivan');
        assert.deepEqual(
            r.fields.filter((f) => !f.categories.includes('momentary')).map((f) => f.name),
            [],
            'only momentary fields',
        );
        assert.equal(r.fields.length, 4);
    });
});
