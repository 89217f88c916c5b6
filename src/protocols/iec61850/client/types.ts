import type { TypeSpecification } from '../mms/access';
import type { Fc } from '../model/fc';
import type { Quality } from '../model/types';

/** Public shapes of the 8-2 client engine (Iec61850Client). */

export type ClientState =
    /** Not started. */
    | 'idle'
    /** Initiate sent, waiting for the answer. */
    | 'associating'
    | 'associated'
    /** No association; retrying after `retryInMs` (server offline, refused, session down). */
    | 'waiting'
    | 'closed';

export interface ClientStateInfo {
    error?: Error;
    retryInMs?: number;
    assoId?: string;
    /** Negotiated in the association. */
    maxPduSize?: number;
    maxServOutstanding?: number;
}

export interface ClientOptions {
    /** The server IED's JID; a bare JID gets the 8-2 resource `IEC`. */
    server: string;
    /** Largest PDU we accept (octets of XML). Default 65536, at least 8192. */
    maxPduSize?: number;
    /** Requests outstanding we propose. Default 10. */
    maxServOutstanding?: number;
    /** Bound on each request. Default 10000. */
    timeoutMs?: number;
    /** Re-associate after a loss, with backoff. Default true. */
    reassociate?: boolean;
    reconnect?: { minMs?: number; maxMs?: number };
}

/** The result of reading one reference. */
export interface ReadValue {
    /** ACSI reference with FC, e.g. `HP1LD/MMXN1.Watt[MX]`. */
    reference: string;
    fc: Fc;
    /**
     * For an FCDA: its value (JSON). For an FCD with a main attribute (stVal, mag, mxVal, actVal,
     * setVal, setMag, ...): that value, and `attributes` holds the whole structure. Otherwise the
     * whole structure.
     */
    value: unknown;
    attributes?: Record<string, unknown>;
    quality?: Quality;
    /** ISO 8601. */
    timestamp?: string;
}

/** One member of a data set read: its value or why it failed. */
export type DataSetMemberValue = ReadValue | { reference: string; fc: Fc; error: { code: string; message: string } };

export interface DataDirectoryEntry {
    name: string;
    /** The FCs under which this child carries attributes. */
    fcs: Fc[];
    /** DO (or SDO) vs DA. */
    kind: 'DO' | 'DA';
}

/** The typed tree of a browse: LD > LN > DO/DA with FCs and MMS types, and the data sets. */
export interface BrowseTree {
    server: string;
    logicalDevices: Array<{
        name: string;
        logicalNodes: Array<{
            name: string;
            /** FC -> MMS type of the LN's FC component (names of DOs and DAs inside). */
            fcs: Partial<Record<Fc, TypeSpecification>>;
            dataSets: Array<{ reference: string; members: string[]; deletable: boolean }>;
        }>;
    }>;
    /** Every FCD and FCDA reference, for pickers. */
    references: string[];
}

export type ClientErrorCode =
    | 'NOT_ASSOCIATED'
    | 'ACCESS_DENIED'
    | 'NOT_FOUND'
    | 'TYPE_CONFLICT'
    | 'VALUE_INVALID'
    | 'TEMPORARILY_UNAVAILABLE'
    | 'OBJECT_EXISTS'
    | 'PDU_SIZE'
    | 'TIMEOUT'
    | 'REJECTED'
    | 'NOT_SUPPORTED'
    | 'BAD_INPUT'
    | 'FAILED';

export interface ClientEvents {
    state: [state: ClientState, info: ClientStateInfo];
    warning: [error: Error];
}
