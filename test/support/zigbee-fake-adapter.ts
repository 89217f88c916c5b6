/**
 * A herdsman Adapter with no radio behind it (design note zigbee-sep §6): the real Controller, interview, Endpoint,
 * ZCL encoding and database run above it. Inside is a {@link MeterSim}, a metering device at one network address:
 * it parses the exact ZCL bytes herdsman hands to the adapter with herdsman's own `Zcl.Header`/`Zcl.Frame`, answers
 * Read Attributes with real readRsp bytes built by `Zcl.Frame.create(...).toBuffer()`, and answers the ZDO
 * descriptor requests of the interview with real ZDO response bytes parsed by `Zdo.Buffalo.readResponse`.
 * Every frame that reaches the adapter is recorded in `sim.frames`, the audit trail of the tests.
 *
 * Use: replace the static `Adapter.create` with `(n, t, b, a) => new FakeAdapter(n, t, b, a, sim)` and restore
 * it afterwards.
 */
import { Zcl, Zdo } from 'zigbee-herdsman';
import { Adapter, type Events as AdapterEvents, type TsType } from 'zigbee-herdsman/dist/adapter';

const SE_METERING = 0x0702;
const GEN_BASIC = 0x0000;
const COORDINATOR_IEEE = '0x00124b0000c0ffee';

export type MeterBehaviour =
    | 'ok'
    | 'unsupported'
    | 'unsupported-cluster'
    | 'timeout'
    | 'truncated'
    | 'bad-type'
    | 'delayed'
    | 'sentinel';

export interface AttrValue {
    type: number;
    value: unknown;
}

/** One frame that reached the adapter (so passed the guard). */
export interface RecordedFrame {
    kind: 'zcl' | 'zdo' | 'zcl-group' | 'zcl-broadcast' | 'permit-join' | 'interpan';
    at: number;
    ieee?: string;
    nwk?: number;
    endpoint?: number;
    toMeter: boolean;
    clusterId?: number;
    /** ZCL only: from the bytes. */
    frameType?: 'global' | 'specific';
    direction?: 'client-to-server' | 'server-to-client';
    manufacturerSpecific?: boolean;
    commandId?: number;
    tsn?: number;
    /** permit-join only: the seconds asked for. */
    seconds?: number;
    /** ZCL Read only: the attribute IDs in the request. */
    attrIds?: number[];
    profileId?: number;
    bytes?: Buffer;
}

export interface MeterSimOptions {
    ieee?: string;
    nwk?: number;
    endpoint?: number;
    profileId?: number;
    manufacturerCode?: number;
    modelId?: string;
    manufacturerName?: string;
}

/** The simulated metering device: attribute tables and the behaviour of its next answers. */
export class MeterSim {
    readonly ieee: string;
    nwk: number;
    readonly endpoint: number;
    readonly profileId: number;
    readonly manufacturerCode: number;
    readonly metering = new Map<number, AttrValue>();
    readonly basic = new Map<number, AttrValue>();
    /** Attribute IDs the meter does not have (answered with 0x86). */
    readonly unsupported = new Set<number>();
    /** Behaviours for the next metering reads, consumed in order; then `defaultBehaviour`. */
    readonly queue: MeterBehaviour[] = [];
    defaultBehaviour: MeterBehaviour = 'ok';
    delayMs = 30;
    readonly frames: RecordedFrame[] = [];
    readsAnswered = 0;

    constructor(o: MeterSimOptions = {}) {
        this.ieee = (o.ieee ?? '0x0015bc001a00beef').toLowerCase();
        this.nwk = o.nwk ?? 0x4a21;
        this.endpoint = o.endpoint ?? 1;
        this.profileId = o.profileId ?? 0x0104;
        this.manufacturerCode = o.manufacturerCode ?? 0x1015;
        const D = Zcl.DataType;
        this.metering.set(0x0000, { type: D.UINT48, value: 123_456_789 }); // CurrentSummationDelivered
        this.metering.set(0x0001, { type: D.UINT48, value: 4_321 }); // CurrentSummationReceived
        this.metering.set(0x0200, { type: D.BITMAP8, value: 0 }); // Status
        this.metering.set(0x0300, { type: D.ENUM8, value: 0 }); // UnitofMeasure kW/kWh
        this.metering.set(0x0301, { type: D.UINT24, value: 1 }); // Multiplier
        this.metering.set(0x0302, { type: D.UINT24, value: 1000 }); // Divisor
        this.metering.set(0x0303, { type: D.BITMAP8, value: 0x33 }); // SummationFormatting
        this.metering.set(0x0304, { type: D.BITMAP8, value: 0x33 }); // DemandFormatting
        this.metering.set(0x0306, { type: D.BITMAP8, value: 0 }); // MeteringDeviceType electric
        this.metering.set(0x0400, { type: D.INT24, value: -250 }); // InstantaneousDemand
        this.basic.set(0x0000, { type: D.UINT8, value: 8 }); // zclVersion
        this.basic.set(0x0001, { type: D.UINT8, value: 1 }); // appVersion
        this.basic.set(0x0002, { type: D.UINT8, value: 2 }); // stackVersion
        this.basic.set(0x0003, { type: D.UINT8, value: 3 }); // hwVersion
        this.basic.set(0x0004, { type: D.CHAR_STR, value: o.manufacturerName ?? 'DERlink Test' });
        this.basic.set(0x0005, { type: D.CHAR_STR, value: o.modelId ?? 'SIM-METER-1' });
        this.basic.set(0x0006, { type: D.CHAR_STR, value: '20261205' }); // dateCode
        this.basic.set(0x0007, { type: D.ENUM8, value: 1 }); // powerSource mains
        this.basic.set(0x4000, { type: D.CHAR_STR, value: '1.0.0' }); // swBuildId
    }

    /** Queues `behaviour` for the next `count` metering reads. */
    next(behaviour: MeterBehaviour, count = 1): this {
        for (let i = 0; i < count; i++) this.queue.push(behaviour);
        return this;
    }

    /** Frames to the meter so far. */
    toMeter(): RecordedFrame[] {
        return this.frames.filter((f) => f.toMeter);
    }
}

/** One implementation for herdsman's overloaded `sendZdo`/`sendZclFrameInterPANBroadcast` signatures. */
// biome-ignore lint/suspicious/noExplicitAny: the overloads' result types differ by argument
type OverloadedResult = any;

const le16 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff];

/** The FakeAdapter; one per Controller start, all sharing the sim. */
export class FakeAdapter extends Adapter {
    readonly sim: MeterSim;
    started = false;
    stopped = false;
    /** Channel the "radio" is on; the configured one, so the Controller does not broadcast a channel change. */
    channel: number;

    constructor(
        networkOptions: TsType.NetworkOptions,
        transportOptions: TsType.TransportOptions,
        backupPath: string,
        adapterOptions: TsType.AdapterOptions,
        sim: MeterSim,
    ) {
        super(networkOptions, transportOptions, backupPath, adapterOptions);
        this.sim = sim;
        this.channel = networkOptions.channelList[0] ?? 11;
    }

    /** The meter joins (as after a permit-join): what a real adapter emits on a device's join. */
    emitJoin(ieee = this.sim.ieee, nwk = this.sim.nwk): void {
        this.emit('deviceJoined', { ieeeAddr: ieee, networkAddress: nwk });
    }

    /** The serial link drops. */
    emitDisconnect(): void {
        this.emit('disconnected');
    }

    /** A frame from the meter, e.g. an attribute report or a Read of our genTime. */
    emitFromMeter(clusterId: number, data: Buffer): void {
        this.emit('zclPayload', this.fromMeter(clusterId, data, 1));
    }

    async start(): Promise<TsType.StartResult> {
        this.started = true;
        return 'resumed';
    }
    async stop(): Promise<void> {
        this.stopped = true;
    }
    async getCoordinatorIEEE(): Promise<string> {
        return COORDINATOR_IEEE;
    }
    async getCoordinatorVersion(): Promise<TsType.CoordinatorVersion> {
        return { type: 'fake', meta: {} };
    }
    async reset(): Promise<void> {}
    async supportsBackup(): Promise<boolean> {
        return false;
    }
    async backup(): Promise<never> {
        throw new Error('the fake adapter has no backup');
    }
    async getNetworkParameters(): Promise<TsType.NetworkParameters> {
        return {
            panID: this.networkOptions.panID,
            extendedPanID: '0xdddddddddddddddd',
            channel: this.channel,
            nwkUpdateID: 0,
        };
    }
    async addInstallCode(): Promise<void> {}
    waitFor(): { promise: Promise<AdapterEvents.ZclPayload>; cancel: () => void } {
        return { promise: new Promise(() => undefined), cancel: () => undefined };
    }
    async permitJoin(seconds: number, networkAddress?: number): Promise<void> {
        this.record({ kind: 'permit-join', nwk: networkAddress, toMeter: networkAddress === this.sim.nwk, seconds });
    }

    async sendZdo(
        ieee: string,
        nwk: number,
        clusterId: Zdo.ClusterId,
        payload: Buffer,
        disableResponse: boolean,
    ): Promise<OverloadedResult> {
        this.record({
            kind: 'zdo',
            ieee,
            nwk,
            clusterId,
            toMeter: this.isMeter(ieee, nwk),
            bytes: Buffer.from(payload),
        });
        if (disableResponse) return undefined;
        const responseId = Zdo.Utils.getResponseClusterId(clusterId);
        if (responseId === undefined) throw new Error(`fake: no response for ZDO ${clusterId}`);
        const at = this.hasZdoMessageOverhead ? 1 : 0;
        const target = payload.readUInt16LE(at);
        const body = this.zdoAnswer(clusterId, target, payload[at + 2]);
        const bytes = Buffer.from([...(this.hasZdoMessageOverhead ? [0] : []), ...body]);
        return Zdo.Buffalo.readResponse(this.hasZdoMessageOverhead, responseId, bytes);
    }

    async sendZclFrameToEndpoint(
        ieee: string,
        nwk: number,
        endpoint: number,
        zclFrame: Zcl.Frame,
        timeout: number,
        disableResponse: boolean,
        _disableRecovery: boolean,
        sourceEndpoint?: number,
        profileId?: number,
    ): Promise<AdapterEvents.ZclPayload | undefined> {
        const bytes = zclFrame.toBuffer();
        const header = Zcl.Header.fromBuffer(bytes);
        if (!header) throw new Error('fake: unparsable ZCL header');
        const clusterId = zclFrame.cluster.ID;
        const parsed = Zcl.Frame.fromBuffer(clusterId, header, bytes, {});
        const isRead = header.isGlobal && header.commandIdentifier === 0x00;
        const toMeter = this.isMeter(ieee, nwk);
        this.record({
            kind: 'zcl',
            ieee,
            nwk,
            endpoint,
            toMeter,
            clusterId,
            frameType: header.isGlobal ? 'global' : 'specific',
            direction:
                header.frameControl.direction === Zcl.Direction.CLIENT_TO_SERVER
                    ? 'client-to-server'
                    : 'server-to-client',
            manufacturerSpecific: header.frameControl.manufacturerSpecific,
            commandId: header.commandIdentifier,
            tsn: header.transactionSequenceNumber,
            attrIds: isRead ? (parsed.payload as { attrId: number }[]).map((r) => r.attrId) : undefined,
            profileId,
            bytes,
        });
        if (!toMeter) throw new Error(`fake: no device at ${ieee}/${nwk}`);
        if (disableResponse) return undefined;
        if (!isRead) throw new Error('fake: the meter only answers reads'); // never reached behind the guard
        const ids = (parsed.payload as { attrId: number }[]).map((r) => r.attrId);
        const tsn = header.transactionSequenceNumber;
        const dst = sourceEndpoint ?? 1;
        if (clusterId === GEN_BASIC)
            return this.answer(clusterId, this.readRsp(clusterId, tsn, ids, this.sim.basic, new Set()), dst);
        if (clusterId !== SE_METERING) {
            return this.answer(clusterId, this.defaultRsp(clusterId, tsn, Zcl.Status.UNSUPPORTED_CLUSTER), dst);
        }
        const behaviour = this.sim.queue.shift() ?? this.sim.defaultBehaviour;
        this.sim.readsAnswered++;
        switch (behaviour) {
            case 'timeout':
                await new Promise((r) => setTimeout(r, timeout));
                throw new Error(
                    `Timeout after ${timeout}ms [address=${nwk} endpoint=${endpoint} clusterId=${clusterId} tsn=${tsn}]`,
                );
            case 'unsupported-cluster':
                return this.answer(clusterId, this.defaultRsp(clusterId, tsn, Zcl.Status.UNSUPPORTED_CLUSTER), dst);
            case 'unsupported':
                return this.answer(clusterId, this.readRsp(clusterId, tsn, ids, this.sim.metering, new Set(ids)), dst);
            case 'sentinel': {
                const table = new Map(this.sim.metering);
                table.set(0x0000, { type: Zcl.DataType.UINT48, value: 0xffffffffffff });
                table.set(0x0400, { type: Zcl.DataType.INT24, value: -0x800000 });
                return this.answer(clusterId, this.readRsp(clusterId, tsn, ids, table, this.sim.unsupported), dst);
            }
            case 'truncated': {
                const full = this.readRsp(clusterId, tsn, ids, this.sim.metering, this.sim.unsupported);
                return this.answer(clusterId, full.subarray(0, full.length - 2), dst);
            }
            case 'bad-type': {
                const rsp = this.readRsp(clusterId, tsn, ids, this.sim.metering, this.sim.unsupported);
                // header is 3 bytes; first record: attrId(2) status(1) dataType(1)
                if (rsp[5] === 0) rsp[6] = 0x99;
                return this.answer(clusterId, rsp, dst);
            }
            case 'delayed':
                await new Promise((r) => setTimeout(r, this.sim.delayMs));
                return this.answer(
                    clusterId,
                    this.readRsp(clusterId, tsn, ids, this.sim.metering, this.sim.unsupported),
                    dst,
                );
            default:
                return this.answer(
                    clusterId,
                    this.readRsp(clusterId, tsn, ids, this.sim.metering, this.sim.unsupported),
                    dst,
                );
        }
    }

    async sendZclFrameToGroup(groupID: number, zclFrame: Zcl.Frame): Promise<void> {
        this.record({
            kind: 'zcl-group',
            nwk: groupID,
            toMeter: true,
            clusterId: zclFrame.cluster.ID,
            bytes: zclFrame.toBuffer(),
        });
    }
    async sendZclFrameToAll(endpoint: number, zclFrame: Zcl.Frame, _src: number, destination: number): Promise<void> {
        const bytes = zclFrame.toBuffer();
        this.record({
            kind: 'zcl-broadcast',
            nwk: destination,
            endpoint,
            toMeter: false,
            clusterId: zclFrame.cluster.ID,
            commandId: zclFrame.header.commandIdentifier,
            frameType: zclFrame.header.isGlobal ? 'global' : 'specific',
            bytes,
        });
    }
    async setChannelInterPAN(): Promise<void> {}
    async sendZclFrameInterPANToIeeeAddr(zclFrame: Zcl.Frame, ieee: string): Promise<void> {
        this.record({ kind: 'interpan', ieee, toMeter: ieee === this.sim.ieee, clusterId: zclFrame.cluster.ID });
    }
    async sendZclFrameInterPANBroadcast(zclFrame: Zcl.Frame): Promise<OverloadedResult> {
        this.record({ kind: 'interpan', toMeter: true, clusterId: zclFrame.cluster.ID });
        return undefined;
    }
    async restoreChannelInterPAN(): Promise<void> {}

    private isMeter(ieee: string | undefined, nwk: number | undefined): boolean {
        return ieee?.toLowerCase() === this.sim.ieee || nwk === this.sim.nwk;
    }

    private record(f: Omit<RecordedFrame, 'at'>): void {
        this.sim.frames.push({ at: Date.now(), ...f });
    }

    /** Real readRsp bytes: SUCCESS records from `table`, 0x86 for unknown or `unsupported` IDs. */
    private readRsp(
        clusterId: number,
        tsn: number,
        ids: number[],
        table: Map<number, AttrValue>,
        unsupported: ReadonlySet<number>,
    ): Buffer {
        const records = ids.map((attrId) => {
            const a = table.get(attrId);
            if (!a || unsupported.has(attrId)) return { attrId, status: Zcl.Status.UNSUPPORTED_ATTRIBUTE };
            return { attrId, status: Zcl.Status.SUCCESS, dataType: a.type, attrData: a.value };
        });
        return Zcl.Frame.create(
            Zcl.FrameType.GLOBAL,
            Zcl.Direction.SERVER_TO_CLIENT,
            true,
            undefined,
            tsn,
            'readRsp',
            clusterId,
            records,
            {},
        ).toBuffer();
    }

    private defaultRsp(clusterId: number, tsn: number, status: number): Buffer {
        return Zcl.Frame.create(
            Zcl.FrameType.GLOBAL,
            Zcl.Direction.SERVER_TO_CLIENT,
            true,
            undefined,
            tsn,
            'defaultRsp',
            clusterId,
            { cmdId: 0x00, statusCode: status },
            {},
        ).toBuffer();
    }

    /** Like real adapters: the answer is also emitted as `zclPayload` (the Controller sees it as a message). */
    private answer(clusterId: number, data: Buffer, destinationEndpoint: number): AdapterEvents.ZclPayload {
        const payload = this.fromMeter(clusterId, data, destinationEndpoint);
        this.emit('zclPayload', payload);
        return payload;
    }

    /** A ZCL frame as the adapter reports one received from the meter. */
    private fromMeter(clusterId: number, data: Buffer, destinationEndpoint: number): AdapterEvents.ZclPayload {
        return {
            clusterID: clusterId,
            address: this.sim.nwk,
            header: Zcl.Header.fromBuffer(data),
            data,
            endpoint: this.sim.endpoint,
            linkquality: 200,
            groupID: 0,
            wasBroadcast: false,
            destinationEndpoint,
        };
    }

    /** ZDO response body (status first) for the descriptor requests of an interview. */
    private zdoAnswer(clusterId: number, target: number, endpoint: number | undefined): number[] {
        const SUCCESS = 0x00;
        const NOT_SUPPORTED = 0x84;
        const isCoordinator = target === 0x0000;
        const isMeter = target === this.sim.nwk;
        if (!isCoordinator && !isMeter) {
            return clusterId === Zdo.ClusterId.LEAVE_REQUEST ? [SUCCESS] : [0x81]; // DEVICE_NOT_FOUND
        }
        switch (clusterId) {
            case Zdo.ClusterId.NODE_DESCRIPTOR_REQUEST: {
                const manufacturer = isCoordinator ? 0x0000 : this.sim.manufacturerCode;
                const serverMask = 22 << 9; // stack compliance revision 22
                return [
                    SUCCESS,
                    ...le16(target),
                    isCoordinator ? 0x00 : 0x01, // logical type coordinator / router
                    0x40, // 2.4 GHz
                    0x8e, // FFD, mains, rx on when idle, allocate address
                    ...le16(manufacturer),
                    0x52,
                    ...le16(0x00a0),
                    ...le16(serverMask),
                    ...le16(0x00a0),
                    0x00,
                ];
            }
            case Zdo.ClusterId.ACTIVE_ENDPOINTS_REQUEST:
                return [SUCCESS, ...le16(target), 1, isCoordinator ? 1 : this.sim.endpoint];
            case Zdo.ClusterId.SIMPLE_DESCRIPTOR_REQUEST: {
                const ep = endpoint ?? 1;
                const inClusters = isCoordinator ? [0x0000] : [GEN_BASIC, SE_METERING];
                const outClusters = isCoordinator ? [SE_METERING] : [];
                const profile = isCoordinator ? 0x0104 : this.sim.profileId;
                const deviceId = isCoordinator ? 0x0005 : 0x0501; // configuration tool / metering device
                const descriptor = [
                    ep,
                    ...le16(profile),
                    ...le16(deviceId),
                    0x00,
                    inClusters.length,
                    ...inClusters.flatMap(le16),
                    outClusters.length,
                    ...outClusters.flatMap(le16),
                ];
                return [SUCCESS, ...le16(target), descriptor.length, ...descriptor];
            }
            default:
                return [NOT_SUPPORTED];
        }
    }
}
