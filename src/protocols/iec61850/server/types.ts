import type { Fc } from '../model/fc';
import type { SclModel } from '../scl';

/**
 * The public shapes of the 8-2 server engine (Iec61850Server): options, access policy, the
 * write decision the flow makes, association and update reports. Values are JSON as
 * mms/json.ts defines them (structures as objects, qualities as objects, times as ISO text).
 */

/**
 * Who may do what, as JID patterns (xmpp JidMatcher: `*`, `roster`, `user@domain`,
 * `user@domain/res`, `domain`, `*.domain`). Read, write and operate are checked for peers that
 * are associated; a peer that may not associate gets nothing.
 */
export interface ServerAccessConfig {
    /** Default `roster`: contacts with a presence subscription (the account's subscription policy decides who they are). */
    associate?: readonly string[];
    /** Default `*`: every associated peer. */
    read?: readonly string[];
    /** Default none. SetDataValues, SetDataSetValues, CreateDataSet and DeleteDataSet. */
    write?: readonly string[];
    /** Default none. Reserved for the control services. */
    operate?: readonly string[];
}

/** One variable of a client's SetDataValues or SetDataSetValues, after type and rule checks. */
export interface WriteItem {
    /** ACSI reference with FC, e.g. `HP1LD/FSPT1.SptVal.maxVal.f[CF]`. */
    reference: string;
    fc: Fc;
    /** The new value (JSON), converted and range-checked against the model. */
    value: unknown;
    /** The value before the write (JSON). */
    previous: unknown;
}

export interface WriteRequest {
    /** The client's full JID. */
    from: string;
    assoId: string;
    items: WriteItem[];
    /** The data set reference for SetDataSetValues. */
    dataSet?: string;
}

/**
 * The flow's answer to a write: `true`/undefined accepts all, `false` refuses all
 * (object-access-denied), a DataAccessError name (e.g. `object-value-invalid`) refuses all with
 * that code; an array answers per item in the same way.
 */
export type WriteDecision = boolean | undefined | string | ReadonlyArray<boolean | string | undefined>;

export interface ServerOptions {
    /** The IED model (importScl of the shipped heat pump or a user's SCL). */
    model: SclModel;
    access?: ServerAccessConfig;
    /** Largest PDU accepted and sent, octets of XML; negotiated down to the client's. Default 65536, at least 8192. */
    maxPduSize?: number;
    /** Default 100. */
    maxAssociations?: number;
    /** Requests one association may have outstanding. Default 10. */
    maxServOutstanding?: number;
    /** Members of one client-created data set. Default 100. */
    maxDataSetMembers?: number;
    /** Client-created persistent data sets in the server, and non-persistent ones per association. Default 64. */
    maxDataSets?: number;
    /** Decides client writes (the flow); absent: accepted. */
    onWrite?: (request: WriteRequest) => WriteDecision | Promise<WriteDecision>;
    /** A write the flow has not answered by then is refused temporarily-unavailable. Default 10000. */
    writeTimeoutMs?: number;
}

export interface AssociationInfo {
    /** The client's full JID. */
    peer: string;
    /** calling:called (62351-4 syntax). */
    assoId: string;
    /** ISO 8601. */
    since: string;
    maxPduSize: number;
    maxServOutstanding: number;
    /** Confirmed requests served so far. */
    requests: number;
    /** Its non-persistent data sets (`@name`). */
    dataSets: string[];
}

export type AssociationEvent =
    | { type: 'open'; peer: string; assoId: string }
    | { type: 'conclude'; peer: string; assoId: string }
    | { type: 'abort'; peer: string; assoId: string; reason: string }
    | { type: 'refused'; peer: string; reason: string };

export interface DataSetEvent {
    type: 'created' | 'deleted';
    /** `LD/LN.Name` (persistent) or `@Name` (non-persistent). */
    reference: string;
    peer: string;
    members?: string[];
}

export interface UpdateResult {
    /** The reference as given. */
    reference: string;
    /** What was set, as references with FC. */
    set: string[];
    /** Set when the update was refused; nothing of it was applied. */
    error?: string;
    /** With `error`: NOT_FOUND, BAD_INPUT or NOT_SUPPORTED. */
    code?: string;
}

export interface ServerEvents {
    association: [event: AssociationEvent];
    /** Values a client wrote (after the flow accepted them). */
    written: [request: WriteRequest];
    dataset: [event: DataSetEvent];
    warning: [error: Error];
}
