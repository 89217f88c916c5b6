/**
 * {@link MeterTransport} for one metering device on a herdsman network (topology C of design note zigbee-sep §2):
 * every read is one ZCL Read Attributes request on the Simple Metering cluster, sent through
 * `endpoint.zclCommand(..., checkStatus = false)` so that each attribute keeps its own status (§3.3), and below it
 * the coordinator's read-only guard checks the bytes. The device and endpoint are looked up by IEEE on every call,
 * because herdsman replaces its Device objects on restart and removes them when the device leaves.
 */
import type { Controller } from 'zigbee-herdsman';
import type { AttrRecord, MeterTransport, ReadOptions, TransportState } from '../transport';
import { TransportError } from '../transport';
import { normalizeIeee, ReadOnlyViolation } from './guard';

type HerdsmanDevice = NonNullable<ReturnType<Controller['getDeviceByIeeeAddr']>>;

const SE_METERING = 0x0702;
const HA_PROFILE_ID = 0x0104;
const READ_RSP = 0x01;
const DEFAULT_RSP = 0x0b;

/** What the transport needs of the coordinator (a {@link ZigbeeCoordinator} satisfies it). */
export interface HerdsmanLink {
    state(): TransportState;
    onState(listener: (state: TransportState) => void): () => void;
    /** The Controller while ready. */
    controller(): Controller | undefined;
    prepareMeter?(device: HerdsmanDevice): void;
    restart?(reason?: string): Promise<void>;
}

export interface HerdsmanTransportOptions {
    /** The meter's IEEE address. */
    ieee: string;
    /** Endpoint to read; default: the first endpoint with input cluster seMetering. */
    endpoint?: number;
    /** APS profile of the request; default the endpoint's profile from its simple descriptor, else HA 0x0104. */
    profileId?: number;
    /** Skip the adapter's route/address recovery on failure (less network traffic, less robust). Default false. */
    disableRecovery?: boolean;
    /** How long past `timeoutMs` the transport waits for herdsman before giving up itself. Default 1000 ms. */
    graceMs?: number;
}

interface ReadRecord {
    attrId: number;
    status: number;
    dataType?: number;
    attrData?: unknown;
}

/** The value as an {@link AttrRecord} carries it: numbers, bigints and text as is, octets as hex. */
function rawValue(v: unknown): AttrRecord['raw'] {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (Buffer.isBuffer(v)) return v.toString('hex');
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

/** Sorts a herdsman/adapter error into a {@link TransportError} kind (§3.3: adapters word their errors differently). */
export function classifyError(error: unknown): TransportError {
    if (error instanceof TransportError) return error;
    const e = error as { name?: string; code?: unknown; message?: string };
    const message = e?.message ?? String(error);
    // herdsman rethrows as `ZCL command <ieee>/<ep> <cluster>.<cmd>(<payload>, <options JSON>) failed (<cause>)`;
    // the options JSON holds the word "timeout", so judge the cause only
    const cause = /\}\) failed \(([\s\S]*)\)$/.exec(message)?.[1] ?? message;
    if (error instanceof ReadOnlyViolation) return new TransportError('other', message, { cause: error });
    if (e?.name === 'ZclStatusError' && typeof e.code === 'number') {
        return new TransportError('status', `status 0x${e.code.toString(16)}: ${message}`, { cause: error });
    }
    if (/time(d)?\s?out/i.test(cause)) return new TransportError('timeout', message, { cause: error });
    if (
        error instanceof RangeError ||
        e?.code === 'ERR_OUT_OF_RANGE' ||
        e?.code === 'ERR_BUFFER_OUT_OF_BOUNDS' ||
        /not available|unsupported data ?type|invalid data|cannot (parse|decode)|out of range/i.test(cause)
    ) {
        return new TransportError('decode', message, { cause: error });
    }
    if (/disconnect|not (started|connected)|stopping|closed/i.test(cause)) {
        return new TransportError('unavailable', message, { cause: error });
    }
    return new TransportError('other', message, { cause: error });
}

export class HerdsmanTransport implements MeterTransport {
    readonly ieee: string;
    private readonly link: HerdsmanLink;
    private readonly options: HerdsmanTransportOptions;

    constructor(link: HerdsmanLink, options: HerdsmanTransportOptions) {
        this.link = link;
        this.options = options;
        this.ieee = normalizeIeee(options.ieee);
        if (
            options.endpoint !== undefined &&
            (!Number.isInteger(options.endpoint) || options.endpoint < 1 || options.endpoint > 240)
        ) {
            throw new Error(`endpoint must be 1..240, got ${options.endpoint}`);
        }
    }

    state(): TransportState {
        return this.link.state();
    }

    onState(listener: (state: TransportState) => void): () => void {
        return this.link.onState(listener);
    }

    async reconnect(): Promise<void> {
        await this.link.restart?.(`reconnect requested for meter ${this.ieee}`);
    }

    async readAttributes(ids: readonly number[], options: ReadOptions): Promise<AttrRecord[]> {
        if (ids.length === 0 || ids.some((id) => !Number.isInteger(id) || id < 0 || id > 0xffff)) {
            throw new TransportError('other', `attribute IDs must be 0..0xFFFF, got [${ids.join(', ')}]`);
        }
        if (options.signal?.aborted) throw new TransportError('other', 'read aborted before it was sent');
        const endpoint = this.resolveEndpoint();
        const profileId = this.options.profileId ?? endpoint.profileID ?? HA_PROFILE_ID;
        const request = endpoint.zclCommand(
            'seMetering',
            'read',
            ids.map((attrId) => ({ attrId })),
            {
                timeout: options.timeoutMs,
                sendPolicy: 'immediate',
                profileId,
                disableRecovery: this.options.disableRecovery ?? false,
            },
            undefined,
            false,
        );
        request.catch(() => undefined); // may settle after we gave up
        const frame = await this.bounded(request, options);
        if (!frame) throw new TransportError('decode', 'no response frame to the Read Attributes request');
        const h = frame.header;
        if (h.isGlobal && h.commandIdentifier === DEFAULT_RSP) {
            const status = (frame.payload as { statusCode?: number }).statusCode ?? -1;
            throw new TransportError(
                'status',
                `meter answered the read with Default Response status 0x${status.toString(16)}`,
            );
        }
        if (!h.isGlobal || h.commandIdentifier !== READ_RSP || !Array.isArray(frame.payload)) {
            throw new TransportError('decode', `unexpected answer: command 0x${h.commandIdentifier.toString(16)}`);
        }
        const records = (frame.payload as ReadRecord[]).map(
            (r): AttrRecord => ({
                id: r.attrId,
                status: r.status,
                ...(r.dataType !== undefined ? { type: r.dataType } : {}),
                ...(r.status === 0 ? { raw: rawValue(r.attrData) } : {}),
            }),
        );
        if (!records.some((r) => ids.includes(r.id))) {
            throw new TransportError('decode', 'the response carries none of the requested attributes');
        }
        return records;
    }

    /** The meter's endpoint now, or TransportError('unavailable'). */
    private resolveEndpoint() {
        if (this.link.state() !== 'ready') {
            throw new TransportError('unavailable', `zigbee coordinator is ${this.link.state()}`);
        }
        const c = this.link.controller();
        if (!c || c.isStopping() || c.isAdapterDisconnected()) {
            throw new TransportError('unavailable', 'zigbee coordinator is stopping or its adapter is disconnected');
        }
        const device = c.getDeviceByIeeeAddr(this.ieee);
        if (!device || device.isDeleted) {
            throw new TransportError(
                'unavailable',
                `meter ${this.ieee} is not known to the coordinator (not joined, or left)`,
            );
        }
        this.link.prepareMeter?.(device);
        const id = this.options.endpoint;
        const endpoint =
            id !== undefined
                ? device.getEndpoint(id)
                : device.endpoints.find((e) => e.supportsInputCluster(SE_METERING));
        if (!endpoint) {
            throw new TransportError(
                'unavailable',
                id !== undefined
                    ? `meter ${this.ieee} has no endpoint ${id}`
                    : `meter ${this.ieee} has no endpoint with the Simple Metering cluster (interview incomplete?)`,
            );
        }
        return endpoint;
    }

    /** Waits for herdsman, but no longer than timeoutMs + grace, and not past an abort. */
    private bounded<T>(request: Promise<T>, options: ReadOptions): Promise<T> {
        return new Promise<T>((resolve, reject) => {
            const limit = options.timeoutMs + (this.options.graceMs ?? 1000);
            const timer = setTimeout(
                () => finish(() => reject(new TransportError('timeout', `no answer within ${limit} ms`))),
                limit,
            );
            const onAbort = () => finish(() => reject(new TransportError('other', 'read aborted')));
            const finish = (settle: () => void) => {
                clearTimeout(timer);
                options.signal?.removeEventListener('abort', onAbort);
                settle();
            };
            options.signal?.addEventListener('abort', onAbort, { once: true });
            request.then(
                (v) => finish(() => resolve(v)),
                (e) => finish(() => reject(classifyError(e))),
            );
        });
    }
}
