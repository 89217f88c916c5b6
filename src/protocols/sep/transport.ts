/**
 * The seam between the meter poller and whatever reaches the meter (zigbee-herdsman, a
 * simulator, later an SE bridge): read-only by type. There is no write, bind, configure-reporting
 * or command method anywhere in this interface, so the poller cannot ask for one (seed 004:
 * the gateway "only reads from, never writes to the smart meter"; design note zigbee-sep §9.1).
 */

/** One attribute of a Read Attributes response (ZCL 2.5.2): its status and, when 0x00, its value. */
export interface AttrRecord {
    /** Attribute ID in the Simple Metering cluster (0x0702), e.g. 0x0000 CurrentSummationDelivered. */
    id: number;
    /** ZCL status: 0x00 SUCCESS, 0x86 UNSUPPORTED_ATTRIBUTE, ... */
    status: number;
    /** ZCL data type ID of the value (0x25 uint48, 0x2a int24...), when known. */
    type?: number;
    /** The value as the transport decoded it: a number (uint48 fits), a bigint, or text. */
    raw?: number | bigint | string;
}

export type TransportState = 'ready' | 'connecting' | 'down';

export type TransportErrorKind = 'timeout' | 'decode' | 'status' | 'unavailable' | 'other';

/** Why a read brought nothing back. */
export class TransportError extends Error {
    readonly kind: TransportErrorKind;
    constructor(kind: TransportErrorKind, message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = 'TransportError';
        this.kind = kind;
    }
}

export interface ReadOptions {
    timeoutMs: number;
    signal?: AbortSignal;
}

/** What reaches one meter: reads of Simple Metering attributes, nothing else. */
export interface MeterTransport {
    /** Reads the attributes in one Read Attributes request; rejects with a TransportError. */
    readAttributes(ids: readonly number[], options: ReadOptions): Promise<AttrRecord[]>;
    state(): TransportState;
    /** Called with each new state. */
    onState(listener: (state: TransportState) => void): () => void;
    /** Asks the transport to re-establish its link (after many lost queries); resolves when it tried. */
    reconnect?(): Promise<void>;
}
