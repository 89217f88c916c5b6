/**
 * One normalised model of XMPP IoT sensor data and control, whatever the wire generation
 * (G0 urn:xmpp:sn, G1 urn:xmpp:iot:*, G2 urn:ieee:iot:*, G3 urn:nf:iot:*). Codecs translate
 * between this model and each generation's elements; engines and nodes only see this model.
 * Wire facts: docs/design/xmpp-iot-g0-g1.md and docs/design/xmpp-iot-g2-g3.md.
 */

export type Generation = 'G0' | 'G1' | 'G2' | 'G3';

/** Field categories: XEP-0323 §Field Types; `m p s c i h` in G2/G3. */
export const CATEGORIES = ['momentary', 'peak', 'status', 'computed', 'identity', 'historical'] as const;
export type Category = (typeof CATEGORIES)[number];

/** XEP-0323 historical sub-periods (G0/G1 only; G2/G3 have the single `h`). */
export const HISTORICAL_PERIODS = [
    'second',
    'minute',
    'hour',
    'day',
    'week',
    'month',
    'quarter',
    'year',
    'other',
] as const;
export type HistoricalPeriod = (typeof HISTORICAL_PERIODS)[number];

/** Quality of service flags: XEP-0323 §Field Quality of Service Values; G2/G3 short names in the codecs. */
export const QUALITIES = [
    'missing',
    'inProgress',
    'automaticEstimate',
    'manualEstimate',
    'manualReadout',
    'automaticReadout',
    'timeOffset',
    'warning',
    'error',
    'signed',
    'invoiced',
    'endOfSeries',
    'powerFailure',
    'invoiceConfirmed',
] as const;
export type Quality = (typeof QUALITIES)[number];

/**
 * A node of a device or concentrator (XEP-0326). `partition` is G0/G1 `cacheType` and
 * G2/G3 `pt` (closest counterparts; the semantics differ slightly).
 */
export interface NodeRef {
    nodeId: string;
    sourceId?: string;
    partition?: string;
}

/** Whether `b` names the node `a` (a reference without a source or partition matches any). */
export function sameNode(a: NodeRef, b: NodeRef): boolean {
    return (
        a.nodeId === b.nodeId &&
        (!b.sourceId || a.sourceId === b.sourceId) &&
        (!b.partition || a.partition === b.partition)
    );
}

/** XEP-0324 tokens: space-separated lists on the wire. */
export interface Tokens {
    service?: string[];
    device?: string[];
    user?: string[];
}

/** A point in time read from or written to the wire. */
export interface WireTime {
    /** The instant. A value without a zone is taken as this machine's local time. */
    date: Date;
    /** The wire value had no zone (XEP-0323 calls such values undefined). */
    zoneless: boolean;
}

export interface ReadoutRequest {
    /** G0/G1 `seqnr` (a 32-bit integer as text) or G2/G3 `id`. */
    id: string;
    /** Requested categories; empty with `all` false means "nothing categorised" in G2/G3 (see the codec notes). */
    categories: Category[];
    /** Every category (XEP-0323 `all`, G2/G3 `all`). */
    all: boolean;
    /** G0/G1 historical sub-periods; `historical` in `categories` means all of them. */
    historicalPeriods?: HistoricalPeriod[];
    /** Limits the readout to these nodes; empty = the device itself (or every node, G0/G1 semantics). */
    nodes: NodeRef[];
    /** Limits the readout to these field names; empty = all fields. */
    fields: string[];
    from?: WireTime;
    to?: WireTime;
    /** Scheduled readout time. */
    when?: WireTime;
    tokens?: Tokens;
}

export const FIELD_TYPES = [
    'numeric',
    'boolean',
    'string',
    'dateTime',
    'date',
    'time',
    'duration',
    'enum',
    'int',
    'long',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/**
 * One field value. `text` is the lexical value as on the wire (it keeps the precision of
 * numbers: XEP-0323 says the number of decimals carries it); `value` is the typed value.
 */
export interface Field {
    /** Undefined for a device without nodes (G2/G3 `<resp><ts>` directly). */
    node?: NodeRef;
    timestamp: WireTime;
    name: string;
    type: FieldType;
    /**
     * numeric: number; int: number; long: bigint when beyond 2^53, else number; boolean: boolean;
     * dateTime: Date; string, enum, date, time, duration: the lexical string.
     */
    value: number | bigint | boolean | string | Date;
    text: string;
    /** numeric only. */
    unit?: string;
    /** numeric only: digits after the decimal point in `text`. */
    decimals?: number;
    /** enum only: G0/G1 `dataType`, G2/G3 `t`. */
    enumType?: string;
    categories: Category[];
    historicalPeriods?: HistoricalPeriod[];
    quality: Quality[];
    /** G1 v0.3+ `writable`, G2/G3 `ctr`: a control parameter of the same name exists. */
    writable?: boolean;
    /** G0/G1 `module` + `stringIds`, G2/G3 `lns` + `loc`. */
    localization?: { module?: string; steps?: string };
}

/** A readout problem for one node (G0/G1 `failure/error`, G2/G3 `<err>` in a `<ts>`). */
export interface ReadoutError {
    node?: NodeRef;
    timestamp: WireTime;
    message: string;
}

/**
 * What a device sends back about a readout, one event per element:
 * - accepted: the request is accepted (queued: it waits for `when`)
 * - started: a queued readout started
 * - data: fields and/or errors; `done` when this is the last part
 * - done: the readout is complete (separate marker)
 * - rejected: G0/G1 `<rejected>` (the request was refused; `reason` is the device's text)
 * - cancelled: G0/G1 `<cancelled>` (G2/G3 answer cancel with an empty IQ result)
 */
export type ReadoutEvent =
    | { kind: 'accepted'; id: string; queued: boolean }
    | { kind: 'started'; id: string }
    | { kind: 'data'; id: string; fields: Field[]; errors: ReadoutError[]; done: boolean }
    | { kind: 'done'; id: string }
    | { kind: 'rejected'; id: string; reason: string }
    | { kind: 'cancelled'; id: string };

/** XEP-0325 parameter types (G2/G3 element names in the codecs). */
export const PARAMETER_TYPES = [
    'boolean',
    'color',
    'string',
    'date',
    'dateTime',
    'double',
    'duration',
    'int',
    'long',
    'time',
    'enum',
] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

/** One parameter value to set. `text` is the lexical form sent on the wire. */
export interface ParameterValue {
    name: string;
    type: ParameterType;
    text: string;
    /** enum only (G2/G3 `t`). */
    enumType?: string;
}

export interface ControlRequest {
    nodes: NodeRef[];
    parameters: ParameterValue[];
    tokens?: Tokens;
    /** The set arrived in a message (XEP-0325 without acknowledgement; G0/G1 only). */
    unacknowledged?: boolean;
}

/** What a device applied (XEP-0325 v0.3+ `setResponse` children, G2/G3 `<resp>` children). */
export interface ControlResult {
    nodes: NodeRef[];
    parameters: string[];
}

/**
 * Why a set failed, in one model for every generation: the RFC 6120 condition (v0.3+, G2/G3)
 * and the v0.1/v0.2 `responseCode` are derived from `reason`.
 */
export type ControlFailureReason =
    | 'not-found'
    | 'forbidden'
    | 'locked'
    | 'not-implemented'
    | 'bad-value'
    | 'form-error'
    | 'other';

export interface ControlFailure {
    reason: ControlFailureReason;
    /** The parameter at fault, when there is one. */
    parameter?: string;
    message: string;
    node?: NodeRef;
}

/** The description of one controllable parameter (for forms, validation and the editor). */
export interface ParameterDescription {
    name: string;
    type: ParameterType;
    label?: string;
    description?: string;
    /** Current value as text. */
    value?: string;
    /** Inclusive range for numeric types. */
    min?: number;
    max?: number;
    /** Allowed values for enum (and string parameters with options). */
    options?: Array<{ value: string; label?: string }>;
    enumType?: string;
    /** A regular expression the value must match (string types). */
    pattern?: string;
    readOnly?: boolean;
}
