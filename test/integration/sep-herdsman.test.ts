/**
 * HerdsmanTransport, the zigbee coordinator and the read-only guard against the real zigbee-herdsman 11 Controller
 * (interview, Endpoint, ZCL encoding, database) over a fake Adapter that holds a simulated metering device
 * (test/support/zigbee-fake-adapter.ts). The fake records every frame that reaches the adapter; the audit below
 * runs over all of them.
 *
 * What a frame to the meter may be (the audit's predicate):
 * - ZCL: frame type global, command 0x00 Read Attributes, client→server, no manufacturer-specific bit;
 * - ZDO: Node_Desc_req, Active_EP_req or Simple_Desc_req (the interview's descriptor reads).
 * Nothing else may reach the meter: no permit-join unicast, no group or broadcast ZCL except the Green Power
 * commissioning broadcast to endpoint 242 that herdsman sends with every permit-join.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setLogger } from 'zigbee-herdsman';
import { Adapter } from 'zigbee-herdsman/dist/adapter';
import { backoffDelay, type CoordinatorOptions, ZigbeeCoordinator } from '../../src/protocols/sep/herdsman/coordinator';
import { judgeZclRequest, ReadOnlyViolation } from '../../src/protocols/sep/herdsman/guard';
import { classifyError, HerdsmanTransport } from '../../src/protocols/sep/herdsman/transport';
import { TransportError, type TransportState } from '../../src/protocols/sep/transport';
import { FakeAdapter, MeterSim, type RecordedFrame } from '../support/zigbee-fake-adapter';

/** Polls `cond` until it holds (or fails after `ms`). */
async function until(cond: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 5));
    }
}

const ZDO_READS_ACCEPTED = new Set([0x0002, 0x0004, 0x0005]);
const METERING = 0x0702;

/** Why `f` (a frame to the meter) is not acceptable, or undefined when it is. */
function auditViolation(f: RecordedFrame): string | undefined {
    if (f.kind === 'zdo')
        return ZDO_READS_ACCEPTED.has(f.clusterId ?? -1) ? undefined : `ZDO 0x${f.clusterId?.toString(16)}`;
    if (f.kind !== 'zcl') return `${f.kind} frame`;
    if (f.frameType !== 'global') return `cluster-specific command 0x${f.commandId?.toString(16)}`;
    if (f.commandId !== 0x00) return `global command 0x${f.commandId?.toString(16)}`;
    if (f.direction !== 'client-to-server') return 'server-to-client read';
    if (f.manufacturerSpecific) return 'manufacturer-specific';
    return undefined;
}

function countByKind(frames: RecordedFrame[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of frames) {
        const key =
            f.kind === 'zdo'
                ? `zdo 0x${(f.clusterId ?? 0).toString(16).padStart(4, '0')}`
                : f.kind === 'zcl'
                  ? `zcl ${f.frameType} cmd 0x${(f.commandId ?? 0).toString(16).padStart(2, '0')} cluster 0x${(f.clusterId ?? 0).toString(16).padStart(4, '0')}`
                  : f.kind;
        out[key] = (out[key] ?? 0) + 1;
    }
    return out;
}

const sim = new MeterSim();
const fakes: FakeAdapter[] = [];
let createFails = 0;
let radioChannel: number | undefined;
const originalCreate = Adapter.create;
let dir = '';
const warnings: string[] = [];
const herdsmanErrors: string[] = [];
const herdsmanOptionLogs: string[] = [];
/** The coordinator's logger; herdsman's own lines come through it too (prefixed `herdsman <namespace>:`). */
const logger = {
    info: () => undefined,
    debug: (m: string) => {
        if (m.startsWith('herdsman ') && m.includes('options')) herdsmanOptionLogs.push(m);
    },
    warn: (m: string) => {
        if (!m.startsWith('herdsman ')) warnings.push(m);
    },
    error: (m: string) => {
        if (m.startsWith('herdsman ')) herdsmanErrors.push(m);
        else warnings.push(m);
    },
};
const NETWORK_KEY = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf0, 0x0f];

function options(): CoordinatorOptions {
    return {
        dataDir: dir,
        adapterType: 'zstack',
        serialPath: '/dev/null-fake',
        channel: 15,
        panId: 0x1a2b,
        extendedPanId: [1, 2, 3, 4, 5, 6, 7, 8],
        networkKey: NETWORK_KEY,
        meters: [sim.ieee.toUpperCase()],
        logger,
        backoff: { initialMs: 20, maxMs: 200 },
    };
}

const lastFake = (): FakeAdapter => {
    const f = fakes.at(-1);
    assert.ok(f, 'no adapter created');
    return f;
};

before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'derlink-zigbee-'));
    setLogger({
        debug: (m) => {
            if (typeof m === 'string' && m.includes('options')) herdsmanOptionLogs.push(m);
        },
        info: () => undefined,
        warning: () => undefined,
        error: (m) => herdsmanErrors.push(String(m)),
    });
    Adapter.create = async (n, t, b, a) => {
        if (createFails > 0) {
            createFails--;
            throw new Error('fake: serial port not found');
        }
        const f = new FakeAdapter(n, t, b, a, sim);
        if (radioChannel !== undefined) f.channel = radioChannel;
        fakes.push(f);
        return f;
    };
});

after(() => {
    Adapter.create = originalCreate;
    rmSync(dir, { recursive: true, force: true });
});

describe('guard predicate on golden bytes', () => {
    test('a Read Attributes request passes; write, configure reporting and a cluster command do not', () => {
        assert.equal(judgeZclRequest(Buffer.from('102a0000000004', 'hex')).allowed, true);
        const write = judgeZclRequest(Buffer.from('1001020103220100', 'hex'));
        assert.equal(write.allowed, false);
        assert.match(write.reason, /write/);
        assert.equal(judgeZclRequest(Buffer.from('100306000000002500', 'hex')).allowed, false);
        const fastPoll = judgeZclRequest(Buffer.from('0102030501', 'hex'));
        assert.equal(fastPoll.allowed, false);
        assert.match(fastPoll.reason, /cluster-specific/);
        // a read, but server-to-client, and a manufacturer-specific read
        assert.equal(judgeZclRequest(Buffer.from('182a000000', 'hex')).allowed, false);
        assert.equal(judgeZclRequest(Buffer.from('14f1102a000000', 'hex')).allowed, false);
        assert.equal(
            judgeZclRequest(Buffer.from('14f1102a000000', 'hex'), { allowManufacturerSpecific: true }).allowed,
            true,
        );
        assert.equal(judgeZclRequest(Buffer.from('10', 'hex')).allowed, false);
    });

    test('backoff doubles from 1 s and stops at 60 s', () => {
        assert.deepEqual(
            [0, 1, 2, 3, 4, 5, 6, 7, 20].map((a) => backoffDelay(a)),
            [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000],
        );
    });

    test('errors are sorted into TransportError kinds', () => {
        assert.equal(classifyError(new Error('ZCL command x failed (Timeout after 50ms [address=1])')).kind, 'timeout');
        assert.equal(classifyError(new RangeError('The value of "offset" is out of range')).kind, 'decode');
        assert.equal(classifyError(new Error("ZCL command x failed (Read for '153' not available)")).kind, 'decode');
        assert.equal(classifyError(new Error('boom')).kind, 'other');
        // herdsman's rethrow carries the options JSON (with "timeout") before the cause
        const wrapped = (cause: string) =>
            `ZCL command 0x0015bc001a00beef/1 seMetering.read([{"attrId":0}], {"timeout":500,"sendPolicy":"immediate"}) failed (${cause})`;
        assert.equal(classifyError(new RangeError(wrapped('The value of "offset" is out of range.'))).kind, 'decode');
        assert.equal(classifyError(new Error(wrapped('Timeout after 500ms [address=1]'))).kind, 'timeout');
        assert.equal(classifyError(new Error(wrapped("Data request failed with error: 'MAC_NO_ACK'"))).kind, 'other');
    });
});

describe('herdsman coordinator, transport and guard', () => {
    let coordinator: ZigbeeCoordinator;
    let transport: HerdsmanTransport;
    const states: TransportState[] = [];

    test('options are checked and the network key never appears in errors', () => {
        assert.throws(() => new ZigbeeCoordinator({ ...options(), channel: 27 }), /channel/);
        assert.throws(
            () => new ZigbeeCoordinator({ ...options(), networkKey: [1, 2, 3] }),
            /networkKey must be 16 bytes/,
        );
        assert.throws(() => new ZigbeeCoordinator({ ...options(), meters: ['nope'] }), /IEEE/);
    });

    test('the coordinator starts; the meter joins only after an explicit permit-join and is interviewed', async () => {
        coordinator = new ZigbeeCoordinator(options());
        coordinator.onState((s) => states.push(s));
        const joined: string[] = [];
        const interviews: string[] = [];
        coordinator.on('meterJoined', (ieee) => joined.push(ieee));
        coordinator.on('meterInterview', (_ieee, status) => interviews.push(status));
        assert.equal(await coordinator.start(), true);
        assert.equal(coordinator.state(), 'ready');
        assert.deepEqual(states, ['connecting', 'ready']);
        transport = new HerdsmanTransport(coordinator, { ieee: sim.ieee });

        await assert.rejects(transport.readAttributes([0x0000], { timeoutMs: 500 }), (e: TransportError) => {
            return e instanceof TransportError && e.kind === 'unavailable' && /not known/.test(e.message);
        });
        assert.equal(
            sim.frames.filter((f) => f.kind === 'permit-join').length,
            0,
            'no permit-join before the operator asks',
        );
        await coordinator.permitJoin(60);
        assert.equal(sim.frames.filter((f) => f.kind === 'permit-join').length, 1);

        // a stranger is refused (herdsman sends it a ZDO Leave; that is not the meter)
        lastFake().emitJoin('0x00124b0000000bad', 0x7777);
        await until(
            () => sim.frames.some((f) => f.kind === 'zdo' && f.clusterId === 0x0034),
            2000,
            'leave to stranger',
        );
        assert.equal(coordinator.controller()?.getDeviceByIeeeAddr('0x00124b0000000bad'), undefined);

        lastFake().emitJoin();
        await until(() => interviews.includes('successful') || interviews.includes('failed'), 5000, 'interview');
        assert.deepEqual(interviews, ['started', 'successful']);
        assert.deepEqual(joined, [sim.ieee]);
        const device = coordinator.controller()?.getDeviceByIeeeAddr(sim.ieee);
        assert.ok(device);
        assert.equal(device.modelID, 'SIM-METER-1');
        assert.equal(device.manufacturerName, 'DERlink Test');
        assert.equal(device.skipDefaultResponse, true);
        assert.equal(typeof device.customReadResponse, 'function');
        assert.ok(device.getEndpoint(1)?.supportsInputCluster('seMetering'));
        await coordinator.permitJoin(0);
    });

    test('1,000 polls read the meter; every frame sent to it during join, interview and polls is a read', async (t) => {
        const t0 = Date.now();
        for (let i = 0; i < 1000; i++) {
            sim.metering.set(0x0000, { type: 0x25, value: 123_456_789 + i });
            const records = await transport.readAttributes([0x0000, 0x0400, 0x0200], { timeoutMs: 1000 });
            assert.equal(records.length, 3);
            assert.deepEqual(records[0], { id: 0x0000, status: 0, type: 0x25, raw: 123_456_789 + i });
            assert.deepEqual(records[1], { id: 0x0400, status: 0, type: 0x2a, raw: -250 });
            assert.deepEqual(records[2], { id: 0x0200, status: 0, type: 0x18, raw: 0 });
        }
        const elapsed = Date.now() - t0;
        const frames = [...sim.frames]; // everything since the first Controller started
        const toMeter = frames.filter((f) => f.toMeter);
        const violations = toMeter.map((f) => [f, auditViolation(f)] as const).filter(([, v]) => v !== undefined);
        assert.deepEqual(violations, [], 'every frame to the meter is a read');
        // nothing sent to groups or by inter-PAN; broadcasts only the Green Power commissioning frames
        assert.equal(frames.filter((f) => f.kind === 'zcl-group' || f.kind === 'interpan').length, 0);
        for (const b of frames.filter((f) => f.kind === 'zcl-broadcast')) {
            assert.equal(b.endpoint, 242);
            assert.equal(b.clusterId, 0x0021);
        }
        const polls = toMeter.filter((f) => f.kind === 'zcl' && f.clusterId === METERING);
        assert.equal(polls.length, 1000);
        for (const p of polls) {
            assert.deepEqual(p.attrIds, [0x0000, 0x0400, 0x0200]);
            assert.equal(p.profileId, 0x0104);
            assert.equal(p.bytes?.[0], 0x10, 'frame control: global, client→server, disable default response');
        }
        const audit = { toMeter: countByKind(toMeter), notToMeter: countByKind(frames.filter((f) => !f.toMeter)) };
        // herdsman 11.1.1's interview: three descriptor reads and one Read per genBasic attribute it wants
        assert.deepEqual(audit.toMeter, {
            'zdo 0x0002': 1,
            'zdo 0x0005': 1,
            'zdo 0x0004': 1,
            'zcl global cmd 0x00 cluster 0x0000': 9,
            'zcl global cmd 0x00 cluster 0x0702': 1000,
        });
        t.diagnostic(`frame audit (join + interview + 1000 polls, ${elapsed} ms): ${JSON.stringify(audit)}`);
        t.diagnostic(`guard counters: ${JSON.stringify(coordinator.guardStats())}`);
        assert.equal(coordinator.guardStats().blocked, 0);
        assert.ok(coordinator.guardStats().meterZclReads >= 1000);
    });

    test('the guard blocks a write, configure reporting, a bind and cluster commands before the adapter', async () => {
        const device = coordinator.controller()?.getDeviceByIeeeAddr(sim.ieee);
        const endpoint = device?.getEndpoint(1);
        assert.ok(endpoint);
        const coordinatorEndpoint = coordinator.controller()?.getDevicesByType('Coordinator')[0]?.getEndpoint(1);
        assert.ok(coordinatorEndpoint);
        const before = sim.frames.length;
        const blockedBefore = coordinator.guardStats().blocked;
        const warned = warnings.length;
        const isViolation = (e: Error) => /read-only guard blocked/.test(e.message);

        // raw numeric attribute: herdsman's own write:false check does not apply, so only the guard stops it
        await assert.rejects(endpoint.write('seMetering', { 770: { value: 1, type: 0x22 } }), isViolation);
        await assert.rejects(endpoint.write('genBasic', { locationDesc: 'x' }), isViolation);
        await assert.rejects(
            endpoint.configureReporting('seMetering', [
                {
                    attribute: 'instantaneousDemand',
                    minimumReportInterval: 1,
                    maximumReportInterval: 60,
                    reportableChange: 1,
                },
            ]),
            isViolation,
        );
        await assert.rejects(endpoint.bind('seMetering', coordinatorEndpoint), isViolation);
        await assert.rejects(endpoint.command('genOnOff', 'toggle', {}), isViolation);
        await assert.rejects(
            endpoint.command('seMetering', 'getProfile', { intervalChannel: 0, endTime: 0, numberOfPeriods: 1 }),
            isViolation,
        );
        await assert.rejects(coordinator.controller()!.permitJoin(10, device), isViolation);
        // a reply nobody asked for: a readRsp to the meter without a Read from it
        await assert.rejects(endpoint.readResponse('genTime', 7, { time: 1 }), isViolation);

        assert.equal(sim.frames.length, before, 'the fake adapter saw none of them');
        assert.equal(coordinator.guardStats().blocked - blockedBefore, 8);
        const logged = warnings.slice(warned);
        assert.equal(logged.length, 8);
        assert.match(logged[0]!, /global write \(0x02\).*not a read/);
        assert.match(logged[2]!, /configReport \(0x06\)/);
        assert.match(logged[3]!, /Bind_req is not a read-type ZDO request/);
        assert.match(logged[4]!, /cluster-specific command 0x02/);
        assert.match(logged[6]!, /Mgmt_Permit_Joining_req/);
        assert.match(logged[7]!, /readRsp/);
        assert.equal(coordinator.guard.blockedFrames().length, 8);

        // reads still work afterwards
        const records = await transport.readAttributes([0x0000], { timeoutMs: 500 });
        assert.equal(records[0]?.status, 0);
    });

    test('the meter’s own frames get no automatic Default Response or Read Response', async () => {
        const before = sim.frames.length;
        // attribute report with disable-default-response = 0, and a Read of our genTime
        lastFake().emitFromMeter(METERING, Buffer.from('005c0a00042ae8ffff', 'hex'));
        lastFake().emitFromMeter(0x000a, Buffer.from('005d000000', 'hex'));
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(sim.frames.length, before);
        assert.equal(coordinator.guardStats().blocked, 8, 'nor did herdsman try to send one');
    });

    test('replies the spec requires pass the guard only as answers to the meter (when herdsman is allowed to send them)', async () => {
        const device = coordinator.controller()?.getDeviceByIeeeAddr(sim.ieee);
        assert.ok(device);
        const before = sim.frames.length;
        const stats0 = coordinator.guardStats();
        device.skipDefaultResponse = false;
        try {
            // a report with disable-default-response = 0: herdsman answers with a Default Response, TSN 0x5e
            lastFake().emitFromMeter(METERING, Buffer.from('005e0a00042ae8ffff', 'hex'));
            await until(() => sim.frames.length > before, 1000, 'default response');
        } finally {
            device.skipDefaultResponse = true;
        }
        const [rsp] = sim.frames.slice(before);
        assert.equal(rsp?.toMeter, true);
        assert.equal(rsp?.frameType, 'global');
        assert.equal(rsp?.commandId, 0x0b);
        assert.equal(rsp?.tsn, 0x5e);
        assert.equal(rsp?.bytes?.[3], 0x0a, 'it answers the report (command 0x0a)');
        assert.equal(coordinator.guardStats().meterReplies, stats0.meterReplies + 1);
        assert.equal(coordinator.guardStats().blocked, stats0.blocked);
    });

    test('per-attribute status: unsupported InstantaneousDemand gives a 0x86 record, the summation is still read', async () => {
        sim.unsupported.add(0x0400);
        try {
            const records = await transport.readAttributes([0x0000, 0x0400, 0x0301], { timeoutMs: 500 });
            assert.deepEqual(records, [
                { id: 0x0000, status: 0, type: 0x25, raw: 123_457_788 },
                { id: 0x0400, status: 0x86 },
                { id: 0x0301, status: 0, type: 0x22, raw: 1 },
            ]);
        } finally {
            sim.unsupported.delete(0x0400);
        }
        const se = new HerdsmanTransport(coordinator, { ieee: sim.ieee, profileId: 0x0109, endpoint: 1 });
        assert.equal((await se.readAttributes([0x0000], { timeoutMs: 500 }))[0]?.status, 0);
        assert.equal(sim.frames.at(-1)?.profileId, 0x0109, 'the configured profile goes into the APS frame');
        sim.next('unsupported');
        const all = await transport.readAttributes([0x0000, 0x0400], { timeoutMs: 500 });
        assert.deepEqual(
            all.map((r) => r.status),
            [0x86, 0x86],
        );
    });

    test('sentinel values pass through raw', async () => {
        sim.next('sentinel');
        const records = await transport.readAttributes([0x0000, 0x0400], { timeoutMs: 500 });
        assert.deepEqual(records, [
            { id: 0x0000, status: 0, type: 0x25, raw: 0xffffffffffff },
            { id: 0x0400, status: 0, type: 0x2a, raw: -8388608 },
        ]);
    });

    test('timeout, truncated and corrupt answers, wrong profile and unknown meters map to TransportError kinds', async () => {
        const kindOf = async (p: Promise<unknown>) => {
            try {
                await p;
                return 'resolved';
            } catch (e) {
                assert.ok(e instanceof TransportError, String(e));
                return e.kind;
            }
        };
        sim.next('timeout');
        const t0 = Date.now();
        assert.equal(await kindOf(transport.readAttributes([0x0000], { timeoutMs: 60 })), 'timeout');
        assert.ok(Date.now() - t0 < 1000);
        sim.next('truncated');
        assert.equal(await kindOf(transport.readAttributes([0x0000, 0x0400], { timeoutMs: 500 })), 'decode');
        sim.next('bad-type');
        assert.equal(await kindOf(transport.readAttributes([0x0000, 0x0400], { timeoutMs: 500 })), 'decode');
        sim.next('unsupported-cluster');
        assert.equal(await kindOf(transport.readAttributes([0x0000], { timeoutMs: 500 })), 'status');
        sim.next('delayed');
        sim.delayMs = 40;
        assert.equal((await transport.readAttributes([0x0000], { timeoutMs: 500 }))[0]?.status, 0);
        const stranger = new HerdsmanTransport(coordinator, { ieee: '0x1111111111111111' });
        assert.equal(await kindOf(stranger.readAttributes([0x0000], { timeoutMs: 100 })), 'unavailable');
        const noEndpoint = new HerdsmanTransport(coordinator, { ieee: sim.ieee, endpoint: 9 });
        assert.equal(await kindOf(noEndpoint.readAttributes([0x0000], { timeoutMs: 100 })), 'unavailable');
        const aborted = new AbortController();
        aborted.abort();
        assert.equal(await kindOf(transport.readAttributes([0], { timeoutMs: 100, signal: aborted.signal })), 'other');
        // and the next read is fine
        assert.equal((await transport.readAttributes([0x0000], { timeoutMs: 500 }))[0]?.status, 0);
    });

    test('after an adapter disconnect the coordinator starts a new Controller and reads work again', async () => {
        const old = lastFake();
        const created = fakes.length;
        states.length = 0;
        old.emitDisconnect();
        await until(() => coordinator.state() !== 'ready', 1000, 'down');
        await assert.rejects(
            transport.readAttributes([0x0000], { timeoutMs: 100 }),
            (e: TransportError) => e.kind === 'unavailable',
        );
        await until(() => coordinator.state() === 'ready', 3000, 'ready again');
        assert.equal(fakes.length, created + 1);
        assert.notEqual(lastFake(), old);
        assert.ok(old.stopped);
        assert.deepEqual(states, ['down', 'connecting', 'ready']);
        const zdoBefore = sim.frames.filter((f) => f.kind === 'zdo' && f.toMeter).length;
        const records = await transport.readAttributes([0x0000, 0x0400], { timeoutMs: 500 });
        assert.equal(records[0]?.status, 0);
        assert.equal(sim.frames.filter((f) => f.kind === 'zdo' && f.toMeter).length, zdoBefore, 'no new interview');
        const device = coordinator.controller()?.getDeviceByIeeeAddr(sim.ieee);
        assert.equal(device?.skipDefaultResponse, true, 'the new Device object is prepared too');
        assert.equal(coordinator.restartCount(), 1);
    });

    test('reconnect() on the transport restarts the Controller on the same files', async () => {
        const created = fakes.length;
        const restarts = coordinator.restartCount();
        await transport.reconnect();
        assert.equal(coordinator.state(), 'ready');
        assert.equal(fakes.length, created + 1);
        assert.equal(coordinator.restartCount(), restarts + 1);
        assert.equal((await transport.readAttributes([0x0000], { timeoutMs: 500 }))[0]?.status, 0);
    });

    test('a failing start is retried with backoff until the adapter is back', async () => {
        await coordinator.stop();
        assert.equal(coordinator.state(), 'down');
        createFails = 2;
        states.length = 0;
        const created = fakes.length;
        const t0 = Date.now();
        assert.equal(await coordinator.start(), false);
        await until(() => coordinator.state() === 'ready', 3000, 'ready after retries');
        assert.ok(Date.now() - t0 >= 20 + 40, 'waited 20 ms then 40 ms');
        assert.equal(fakes.length, created + 1);
        assert.deepEqual(states, ['connecting', 'down', 'connecting', 'down', 'connecting', 'ready']);
        assert.ok(warnings.some((w) => /start failed \(fake: serial port not found\); retrying in 20 ms/.test(w)));
        const key = JSON.stringify(NETWORK_KEY).slice(1, -1);
        assert.ok(!warnings.some((w) => w.includes(key)), 'no key in our logs');
        assert.ok(
            herdsmanOptionLogs.some((m) => m.includes('"networkKey":"HIDDEN"')),
            'herdsman hides it in its own',
        );
        assert.ok(!herdsmanOptionLogs.some((m) => m.includes(key)));
    });

    test('a second coordinator on the same database knows the meter without a new join', async () => {
        await coordinator.stop();
        const framesBefore = sim.frames.length;
        const second = new ZigbeeCoordinator(options());
        try {
            assert.equal(await second.start(), true);
            const started = sim.frames.slice(framesBefore);
            assert.equal(started.filter((f) => f.toMeter).length, 0, 'nothing sent to the meter at start');
            const device = second.controller()?.getDeviceByIeeeAddr(sim.ieee);
            assert.ok(device, 'meter loaded from database.db');
            assert.equal(device.interviewState, 'SUCCESSFUL');
            assert.equal(device.skipDefaultResponse, true);
            const t2 = new HerdsmanTransport(second, { ieee: sim.ieee });
            const records = await t2.readAttributes([0x0000, 0x0302], { timeoutMs: 500 });
            assert.deepEqual(records[1], { id: 0x0302, status: 0, type: 0x22, raw: 1000 });
            assert.equal(
                sim.frames.filter((f) => f.kind === 'permit-join' && (f.seconds ?? 0) > 0).length,
                1,
                'one permit-join in all',
            );
        } finally {
            await second.stop();
        }
    });

    test('a channel change broadcast (it would move the meter) is blocked and the start fails', async () => {
        radioChannel = 20;
        const framesBefore = sim.frames.length;
        const warned = warnings.length;
        const third = new ZigbeeCoordinator(options());
        try {
            assert.equal(await third.start(), false);
            assert.equal(third.state(), 'down');
            assert.ok(warnings.slice(warned).some((w) => /blocked Mgmt_NWK_Update_req to broadcast/.test(w)));
            assert.equal(
                sim.frames.slice(framesBefore).filter((f) => f.kind === 'zdo' && f.clusterId === 0x0038).length,
                0,
            );
        } finally {
            await third.stop();
            radioChannel = undefined;
        }
    });

    test('ReadOnlyViolation is what herdsman callers see', (t) => {
        t.diagnostic(`herdsman error log: ${JSON.stringify(herdsmanErrors)}`);
        // the only errors herdsman logged come from stopping the Controller whose start was refused above
        for (const e of herdsmanErrors)
            assert.match(e, /^herdsman zh:controller: Failed to (stop Touchlink|disable join on stop)/);
        const v = new ReadOnlyViolation('sendZdo', 'meter x', 'Bind_req', 'not a read');
        assert.equal(classifyError(v).kind, 'other');
        assert.match(v.message, /read-only guard blocked Bind_req to meter x \(sendZdo\): not a read/);
    });
});
