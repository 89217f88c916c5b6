/**
 * The read-only guard: installed on the herdsman adapter instance, below the Controller, the Endpoint API and
 * herdsman's own automatic replies, so every frame on its way to the radio passes through it (design note
 * zigbee-sep §7). Anything addressed to a protected meter that is not a read is refused before the adapter
 * sees it, with an error and a log line that say why.
 *
 * Policy, frame by frame (the meter is matched by IEEE address or by its current network address):
 *
 * | adapter method                         | to the meter                                          | to anything else |
 * |----------------------------------------|-------------------------------------------------------|------------------|
 * | `sendZclFrameToEndpoint`               | only ZCL global Read Attributes (0x00), client→server, no manufacturer-specific bit (unless allowed); with `allowReplies`, also a Read Attributes Response (0x01) to a Read the meter sent us and a Default Response (0x0B) to a frame the meter sent us (same cluster and TSN, seen within `replyWindowMs`) | passes (other devices, the coordinator itself) |
 * | `sendZdo`                              | only the read-type ZDO requests in {@link READ_ONLY_ZDO_REQUESTS} (address and descriptor requests, Mgmt LQI/routing/binding table reads) | passes, except broadcasts (below) |
 * | `sendZdo` to a broadcast address       | these reach the meter too: read-type requests and Mgmt_Permit_Joining_req (the operator's permit-join) pass; Mgmt_NWK_Update_req (channel change), Mgmt_Leave and everything else is blocked | |
 * | `permitJoin(seconds, nwk)`             | blocked when `nwk` is the meter (it would change the meter's join policy) | passes (network-wide permit-join is an explicit operator action) |
 * | `sendZclFrameToGroup`                  | blocked always: the gateway has no use for group frames and the meter may be a member | blocked |
 * | `sendZclFrameToAll`                    | only the Green Power commissioning broadcast to endpoint 242 / cluster 0x0021 (herdsman sends it with every permit-join and on stop) | same |
 * | `sendZclFrameInterPANToIeeeAddr`, `sendZclFrameInterPANBroadcast` | blocked always (Touchlink can factory-reset devices) | blocked |
 *
 * What this means for the meter: its interview is ZDO Node/Active-Endpoints/Simple descriptor requests plus one
 * genBasic Read per attribute, all of which pass; the interview's IAS enrolment (a write and a cluster command) and
 * its genPollCtrl bind are blocked, as are `write`, `writeUndiv`, `writeNoRsp`, `writeStructured`,
 * `configureReporting`, `readReportingConfig`, discover commands, every cluster-specific command, bind/unbind,
 * leave and unicast permit-join. Nothing here needs the meter to be interviewed or even known: the predicate works
 * on the bytes herdsman is about to send.
 */
import type { Adapter } from 'zigbee-herdsman/dist/adapter';

/** The logger the guard reports blocked frames to. */
export interface GuardLogger {
    warn(message: string): void;
    debug?(message: string): void;
}

/** ZDO requests that only read: they change nothing on the node they are sent to. */
export const READ_ONLY_ZDO_REQUESTS: ReadonlyMap<number, string> = new Map([
    [0x0000, 'NWK_addr_req'],
    [0x0001, 'IEEE_addr_req'],
    [0x0002, 'Node_Desc_req'],
    [0x0003, 'Power_Desc_req'],
    [0x0004, 'Simple_Desc_req'],
    [0x0005, 'Active_EP_req'],
    [0x0006, 'Match_Desc_req'],
    [0x0031, 'Mgmt_Lqi_req'],
    [0x0032, 'Mgmt_Rtg_req'],
    [0x0033, 'Mgmt_Bind_req'],
]);

const ZDO_NAMES: ReadonlyMap<number, string> = new Map([
    ...READ_ONLY_ZDO_REQUESTS,
    [0x0015, 'System_Server_Discovery_req'],
    [0x001f, 'Parent_annce'],
    [0x0021, 'Bind_req'],
    [0x0022, 'Unbind_req'],
    [0x002b, 'Clear_All_Bindings_req'],
    [0x0034, 'Mgmt_Leave_req'],
    [0x0036, 'Mgmt_Permit_Joining_req'],
    [0x0038, 'Mgmt_NWK_Update_req'],
    [0x0039, 'Mgmt_NWK_Enhanced_Update_req'],
]);

const PERMIT_JOINING_REQUEST = 0x0036;
const BROADCAST_MIN = 0xfff8;
const GP_ENDPOINT = 242;
const GP_CLUSTER = 0x0021;

/** ZCL global command IDs (ZCL rev. 8 table 2-3) by name, for log lines. */
const GLOBAL_COMMANDS: ReadonlyMap<number, string> = new Map([
    [0x00, 'read'],
    [0x01, 'readRsp'],
    [0x02, 'write'],
    [0x03, 'writeUndiv'],
    [0x04, 'writeRsp'],
    [0x05, 'writeNoRsp'],
    [0x06, 'configReport'],
    [0x07, 'configReportRsp'],
    [0x08, 'readReportConfig'],
    [0x09, 'readReportConfigRsp'],
    [0x0a, 'report'],
    [0x0b, 'defaultRsp'],
    [0x0c, 'discover'],
    [0x0d, 'discoverRsp'],
    [0x0f, 'writeStructured'],
    [0x11, 'discoverCommands'],
    [0x13, 'discoverCommandsGen'],
    [0x15, 'discoverExt'],
]);

/** The ZCL header fields the predicate looks at, read from the frame bytes. */
export interface ZclHeaderInfo {
    frameType: 'global' | 'specific' | 'reserved';
    manufacturerSpecific: boolean;
    /** 'client-to-server' for requests to a server cluster such as the meter's 0x0702. */
    direction: 'client-to-server' | 'server-to-client';
    disableDefaultResponse: boolean;
    manufacturerCode?: number;
    tsn: number;
    commandId: number;
    /** Offset of the payload in the bytes. */
    payloadOffset: number;
}

/** Reads a ZCL header (ZCL rev. 8 §2.4.1) from frame bytes; undefined if the bytes are too short. */
export function parseZclHeader(bytes: Uint8Array): ZclHeaderInfo | undefined {
    if (bytes.length < 3) return undefined;
    const fc = bytes[0]!;
    const manufacturerSpecific = (fc & 0x04) !== 0;
    if (manufacturerSpecific && bytes.length < 5) return undefined;
    const type = fc & 0x03;
    const offset = manufacturerSpecific ? 3 : 1;
    return {
        frameType: type === 0 ? 'global' : type === 1 ? 'specific' : 'reserved',
        manufacturerSpecific,
        direction: (fc & 0x08) === 0 ? 'client-to-server' : 'server-to-client',
        disableDefaultResponse: (fc & 0x10) !== 0,
        manufacturerCode: manufacturerSpecific ? bytes[1]! | (bytes[2]! << 8) : undefined,
        tsn: bytes[offset]!,
        commandId: bytes[offset + 1]!,
        payloadOffset: offset + 2,
    };
}

/** A short name for a ZCL command, e.g. `global read` or `specific 0x03`. */
export function describeZclCommand(h: ZclHeaderInfo): string {
    const hex = `0x${h.commandId.toString(16).padStart(2, '0')}`;
    if (h.frameType === 'global') return `global ${GLOBAL_COMMANDS.get(h.commandId) ?? 'command'} (${hex})`;
    return `cluster-specific command ${hex}`;
}

export interface ZclVerdict {
    allowed: boolean;
    /** Why a frame is blocked, or what it is when it passes ('read', 'reply'). */
    reason: string;
    header?: ZclHeaderInfo;
}

/**
 * The predicate of §7 on the bytes of one ZCL frame addressed to the meter: a global Read Attributes request,
 * client to server, without the manufacturer-specific bit unless `allowManufacturerSpecific`. Replies are judged
 * separately by the guard, which knows what the meter sent.
 */
export function judgeZclRequest(bytes: Uint8Array, options: { allowManufacturerSpecific?: boolean } = {}): ZclVerdict {
    const header = parseZclHeader(bytes);
    if (!header) return { allowed: false, reason: 'unparsable ZCL header' };
    if (header.frameType !== 'global') {
        return { allowed: false, reason: `${describeZclCommand(header)} is not a read`, header };
    }
    if (header.commandId !== 0x00) {
        return { allowed: false, reason: `${describeZclCommand(header)} is not a read`, header };
    }
    if (header.direction !== 'client-to-server') {
        return { allowed: false, reason: 'a read sent server-to-client', header };
    }
    if (header.manufacturerSpecific && !options.allowManufacturerSpecific) {
        return { allowed: false, reason: 'a manufacturer-specific read (not allowed by configuration)', header };
    }
    return { allowed: true, reason: 'read', header };
}

/** Thrown (and so rejected to herdsman's caller) for every frame the guard refuses. */
export class ReadOnlyViolation extends Error {
    readonly reason: string;
    readonly method: string;
    constructor(method: string, target: string, what: string, reason: string) {
        super(`read-only guard blocked ${what} to ${target} (${method}): ${reason}`);
        this.name = 'ReadOnlyViolation';
        this.reason = reason;
        this.method = method;
    }
}

export interface BlockedFrame {
    at: number;
    method: string;
    target: string;
    what: string;
    reason: string;
}

export interface GuardCounters {
    /** Frames that reached the adapter, all destinations. */
    passed: number;
    /** Frames refused, all destinations. */
    blocked: number;
    /** Of `passed`, the ZCL Read Attributes requests to a meter. */
    meterZclReads: number;
    /** Of `passed`, the read-type ZDO requests to a meter. */
    meterZdoReads: number;
    /** Of `passed`, the replies (readRsp/defaultRsp) to a frame the meter sent. */
    meterReplies: number;
    /** Of `passed`, everything not addressed to a meter (coordinator, other devices, permitted broadcasts). */
    other: number;
}

export interface GuardOptions {
    /** IEEE addresses of the protected meters (any case, with or without 0x). */
    meters: Iterable<string>;
    /** Current network address of a meter, when known (the guard also learns it from join events). */
    networkAddressOf?: (ieee: string) => number | undefined;
    logger?: GuardLogger;
    /** Let through the replies ZCL requires of us (readRsp to the meter's Read, defaultRsp to its frames). Default true. */
    allowReplies?: boolean;
    /** Let through manufacturer-specific reads. Default false. */
    allowManufacturerSpecific?: boolean;
    /** How long a frame from the meter can be answered. Default 10 s. */
    replyWindowMs?: number;
    /** How many blocked frames `blockedFrames()` keeps. Default 100. */
    keepBlocked?: number;
}

/** Normalises an IEEE address to herdsman's form, `0x` and 16 lowercase hex digits. */
export function normalizeIeee(ieee: string): string {
    const hex = ieee.trim().toLowerCase().replace(/^0x/, '').replaceAll(':', '').replaceAll('-', '');
    if (!/^[0-9a-f]{16}$/.test(hex)) throw new Error(`not an IEEE address: '${ieee}'`);
    return `0x${hex}`;
}

interface Inbound {
    at: number;
    clusterId: number;
    tsn: number;
    frameType: ZclHeaderInfo['frameType'];
    commandId: number;
}

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

/** One guard per coordinator; `install` it on every adapter herdsman creates. Counters span adapters. */
export class ReadOnlyGuard {
    private readonly meterSet = new Set<string>();
    private readonly learnedNwk = new Map<string, number>();
    private readonly inbound: Inbound[] = [];
    private readonly blockedList: BlockedFrame[] = [];
    private readonly counters: GuardCounters = {
        passed: 0,
        blocked: 0,
        meterZclReads: 0,
        meterZdoReads: 0,
        meterReplies: 0,
        other: 0,
    };
    private readonly options: GuardOptions;

    constructor(options: GuardOptions) {
        this.options = options;
        for (const m of options.meters) this.meterSet.add(normalizeIeee(m));
    }

    addMeter(ieee: string): void {
        this.meterSet.add(normalizeIeee(ieee));
    }

    meters(): string[] {
        return [...this.meterSet];
    }

    stats(): GuardCounters {
        return { ...this.counters };
    }

    blockedFrames(): BlockedFrame[] {
        return [...this.blockedList];
    }

    /** Is this destination a protected meter? */
    isMeter(ieee: string | undefined, nwk: number | undefined): boolean {
        if (ieee !== undefined && this.meterSet.has(ieee.toLowerCase())) return true;
        if (nwk === undefined || nwk >= BROADCAST_MIN) return false;
        for (const m of this.meterSet) {
            const known = this.options.networkAddressOf?.(m) ?? this.learnedNwk.get(m);
            if (known === nwk) return true;
        }
        return false;
    }

    /** Wraps the adapter's send methods in place. Idempotent per adapter. */
    install(adapter: Adapter): void {
        const marked = adapter as Adapter & { __derlinkReadOnlyGuard?: ReadOnlyGuard };
        if (marked.__derlinkReadOnlyGuard) return;
        marked.__derlinkReadOnlyGuard = this;

        adapter.on('deviceJoined', (p) => {
            const ieee = p.ieeeAddr.toLowerCase();
            if (this.meterSet.has(ieee)) this.learnedNwk.set(ieee, p.networkAddress);
        });
        adapter.on('zclPayload', (p) => {
            if (!p.header || p.wasBroadcast) return;
            const from = typeof p.address === 'string' ? p.address : undefined;
            const nwk = typeof p.address === 'number' ? p.address : undefined;
            if (!this.isMeter(from, nwk)) return;
            const fc = p.header.frameControl;
            this.rememberInbound({
                at: Date.now(),
                clusterId: p.clusterID,
                tsn: p.header.transactionSequenceNumber,
                frameType: fc.frameType === 0 ? 'global' : 'specific',
                commandId: p.header.commandIdentifier,
            });
        });

        const toEndpoint = adapter.sendZclFrameToEndpoint.bind(adapter);
        adapter.sendZclFrameToEndpoint = async (ieee, nwk, endpoint, frame, ...rest) => {
            const target = `${ieee}/${hex4(nwk)} endpoint ${endpoint} cluster ${hex4(frame.cluster.ID)}`;
            if (!this.isMeter(ieee, nwk)) {
                this.pass('other');
                return await toEndpoint(ieee, nwk, endpoint, frame, ...rest);
            }
            const bytes = frame.toBuffer();
            const verdict = judgeZclRequest(bytes, this.options);
            if (verdict.allowed) {
                this.pass('meterZclReads');
                return await toEndpoint(ieee, nwk, endpoint, frame, ...rest);
            }
            const h = verdict.header;
            if (h && this.isAllowedReply(frame.cluster.ID, h, bytes)) {
                this.pass('meterReplies');
                return await toEndpoint(ieee, nwk, endpoint, frame, ...rest);
            }
            throw this.block(
                'sendZclFrameToEndpoint',
                `meter ${target}`,
                h ? describeZclCommand(h) : 'ZCL frame',
                verdict.reason,
            );
        };

        const zdo = adapter.sendZdo.bind(adapter) as (...a: unknown[]) => Promise<unknown>;
        const guardedZdo = async (ieee: string, nwk: number, clusterId: number, payload: Buffer, disable: boolean) => {
            const name = ZDO_NAMES.get(clusterId) ?? `ZDO request ${hex4(clusterId)}`;
            const readOnly = READ_ONLY_ZDO_REQUESTS.has(clusterId);
            if (nwk >= BROADCAST_MIN) {
                if (readOnly) {
                    this.pass(this.isMeter(ieee, undefined) ? 'meterZdoReads' : 'other');
                    return await zdo(ieee, nwk, clusterId, payload, disable);
                }
                if (clusterId === PERMIT_JOINING_REQUEST) {
                    this.pass('other');
                    return await zdo(ieee, nwk, clusterId, payload, disable);
                }
                throw this.block(
                    'sendZdo',
                    `broadcast ${hex4(nwk)} (which reaches the meter)`,
                    name,
                    'a broadcast that changes network or device state',
                );
            }
            if (!this.isMeter(ieee, nwk)) {
                this.pass('other');
                return await zdo(ieee, nwk, clusterId, payload, disable);
            }
            if (readOnly) {
                this.pass('meterZdoReads');
                return await zdo(ieee, nwk, clusterId, payload, disable);
            }
            throw this.block('sendZdo', `meter ${ieee}/${hex4(nwk)}`, name, `${name} is not a read-type ZDO request`);
        };
        adapter.sendZdo = guardedZdo as Adapter['sendZdo'];

        const permitJoin = adapter.permitJoin.bind(adapter);
        adapter.permitJoin = async (seconds, nwk) => {
            if (nwk !== undefined && this.isMeter(undefined, nwk)) {
                throw this.block(
                    'permitJoin',
                    `meter ${hex4(nwk)}`,
                    'Mgmt_Permit_Joining_req',
                    "it would change the meter's join policy",
                );
            }
            this.pass('other');
            await permitJoin(seconds, nwk);
        };

        adapter.sendZclFrameToGroup = async (groupId, frame) => {
            throw this.block(
                'sendZclFrameToGroup',
                `group ${hex4(groupId)}`,
                `cluster ${hex4(frame.cluster.ID)} frame`,
                'group frames are never sent (the meter may be a member)',
            );
        };

        const toAll = adapter.sendZclFrameToAll.bind(adapter);
        adapter.sendZclFrameToAll = async (endpoint, frame, sourceEndpoint, destination, profileId) => {
            if (endpoint === GP_ENDPOINT && frame.cluster.ID === GP_CLUSTER) {
                this.pass('other');
                return await toAll(endpoint, frame, sourceEndpoint, destination, profileId);
            }
            throw this.block(
                'sendZclFrameToAll',
                `broadcast ${hex4(destination)} endpoint ${endpoint}`,
                `cluster ${hex4(frame.cluster.ID)} frame`,
                'only the Green Power commissioning broadcast may be broadcast (it would reach the meter)',
            );
        };

        adapter.sendZclFrameInterPANToIeeeAddr = async (frame, ieee) => {
            throw this.block(
                'sendZclFrameInterPANToIeeeAddr',
                ieee,
                `cluster ${hex4(frame.cluster.ID)} frame`,
                'inter-PAN (Touchlink) frames are never sent',
            );
        };
        const interPanBroadcast = async (frame: { cluster: { ID: number } }): Promise<never> => {
            throw this.block(
                'sendZclFrameInterPANBroadcast',
                'inter-PAN broadcast',
                `cluster ${hex4(frame.cluster.ID)} frame`,
                'inter-PAN (Touchlink) frames are never sent',
            );
        };
        adapter.sendZclFrameInterPANBroadcast = interPanBroadcast as Adapter['sendZclFrameInterPANBroadcast'];
    }

    private rememberInbound(frame: Inbound): void {
        this.inbound.push(frame);
        if (this.inbound.length > 64) this.inbound.shift();
    }

    /** A readRsp to the meter's Read, or a defaultRsp to a frame the meter sent: same cluster and TSN, recently. */
    private isAllowedReply(clusterId: number, h: ZclHeaderInfo, bytes: Uint8Array): boolean {
        if (this.options.allowReplies === false || h.frameType !== 'global') return false;
        const window = this.options.replyWindowMs ?? 10_000;
        const now = Date.now();
        const match = (commandId: number, frameType: Inbound['frameType'] | undefined) =>
            this.inbound.some(
                (f) =>
                    now - f.at <= window &&
                    f.clusterId === clusterId &&
                    f.tsn === h.tsn &&
                    f.commandId === commandId &&
                    (frameType === undefined || f.frameType === frameType),
            );
        if (h.commandId === 0x01) return match(0x00, 'global');
        if (h.commandId === 0x0b) {
            const answered = bytes[h.payloadOffset];
            return answered !== undefined && match(answered, undefined);
        }
        return false;
    }

    private pass(kind: Exclude<keyof GuardCounters, 'passed' | 'blocked'>): void {
        this.counters.passed++;
        this.counters[kind]++;
    }

    private block(method: string, target: string, what: string, reason: string): ReadOnlyViolation {
        this.counters.blocked++;
        const err = new ReadOnlyViolation(method, target, what, reason);
        this.blockedList.push({ at: Date.now(), method, target, what, reason });
        const keep = this.options.keepBlocked ?? 100;
        while (this.blockedList.length > keep) this.blockedList.shift();
        this.options.logger?.warn(err.message);
        return err;
    }
}
