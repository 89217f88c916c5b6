/**
 * Typed errors of the 8-2 payload codec. Every refusal of the decoder or encoder is an MmsError
 * with a stable `code` a flow can switch on (`msg.error.code`), a finer `reason`, and the path
 * of the offending element inside the payload.
 */

/** Why a payload or value was refused. */
export type MmsReason =
    /** Not parsable XML, or refused by the hardened XML layer (size, depth, DTD...). */
    | 'xml'
    /** An element name the schema does not have at that place. */
    | 'unknown-element'
    /** A required element (or the single CHOICE alternative) is missing, or there are too many. */
    | 'missing-element'
    /** Text where only elements may be, or elements where only text may be. */
    | 'unexpected-content'
    /** Text that is not a lexical value of the type (X.693 / X.680 rules). */
    | 'bad-lexical'
    /** A well-formed value outside the range of the type. */
    | 'out-of-range'
    /** A value of the wrong TypeScript type handed to the encoder. */
    | 'wrong-type'
    /** Array/structure nesting beyond the codec's limit. */
    | 'too-deep'
    /** A valid MMS construct the codec does not implement. */
    | 'unsupported';

export type MmsErrorCode = 'BAD_INPUT' | 'LIMIT' | 'NOT_SUPPORTED';

const CODE_OF: Record<MmsReason, MmsErrorCode> = {
    xml: 'BAD_INPUT',
    'unknown-element': 'BAD_INPUT',
    'missing-element': 'BAD_INPUT',
    'unexpected-content': 'BAD_INPUT',
    'bad-lexical': 'BAD_INPUT',
    'out-of-range': 'BAD_INPUT',
    'wrong-type': 'BAD_INPUT',
    'too-deep': 'LIMIT',
    unsupported: 'NOT_SUPPORTED',
};

export class MmsError extends Error {
    readonly code: MmsErrorCode;
    readonly reason: MmsReason;
    /** Where in the payload (element names from the decoded root, `/`-joined; `Data[2]` is the 3rd item). */
    readonly path: string;

    constructor(reason: MmsReason, message: string, path = '', options: { cause?: unknown } = {}) {
        super(path === '' ? message : `${message} (at ${path})`, options.cause === undefined ? undefined : options);
        this.name = 'MmsError';
        this.code = CODE_OF[reason];
        this.reason = reason;
        this.path = path;
    }
}

/** A peer's text quoted for a message, cut short. */
export function shown(text: string): string {
    return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

// ---------------------------------------------------------------------------------------------
// Code lists (ISO 9506-2 ServiceError, DataAccessError, RejectPDU; wire note §4.3, checked against
// the 8-1 ASN.1 module M1 and the ISO 9506-2:2003 module M2). INTEGERs with named numbers: the
// table maps name -> value; values without a name are still valid on the wire.

/** Named numbers of one INTEGER type. */
export type NamedNumbers = Readonly<Record<string, number>>;

/** DataAccessError (AccessResult `failure`, write response `failure`), wire note §4.3 [C]. */
export const DATA_ACCESS_ERRORS: NamedNumbers = Object.freeze({
    'object-invalidated': 0,
    'hardware-fault': 1,
    'temporarily-unavailable': 2,
    'object-access-denied': 3,
    'object-undefined': 4,
    'invalid-address': 5,
    'type-unsupported': 6,
    'type-inconsistent': 7,
    'object-attribute-inconsistent': 8,
    'object-access-unsupported': 9,
    'object-non-existent': 10,
    'object-value-invalid': 11,
});

/**
 * ServiceError.errorClass: the CHOICE alternatives, each an INTEGER with named numbers (wire note
 * §4.3 [C]; the values the note elides with "…" from M1/M2). `service` 3 is `pdu-size` in the 8-1
 * module and reserved in 9506-2:2003; 8-2 follows 8-1. `others` has no named numbers.
 */
export const SERVICE_ERROR_CLASSES: Readonly<Record<string, NamedNumbers>> = Object.freeze({
    'vmd-state': {
        other: 0,
        'vmd-state-conflict': 1,
        'vmd-operational-problem': 2,
        'domain-transfer-problem': 3,
        'state-machine-id-invalid': 4,
    },
    'application-reference': {
        other: 0,
        'application-unreachable': 1,
        'connection-lost': 2,
        'application-reference-invalid': 3,
        'context-unsupported': 4,
    },
    definition: {
        other: 0,
        'object-undefined': 1,
        'invalid-address': 2,
        'type-unsupported': 3,
        'type-inconsistent': 4,
        'object-exists': 5,
        'object-attribute-inconsistent': 6,
    },
    resource: {
        other: 0,
        'memory-unavailable': 1,
        'processor-resource-unavailable': 2,
        'mass-storage-unavailable': 3,
        'capability-unavailable': 4,
        'capability-unknown': 5,
    },
    service: {
        other: 0,
        'primitives-out-of-sequence': 1,
        'object-state-conflict': 2,
        'pdu-size': 3,
        'continuation-invalid': 4,
        'object-constraint-conflict': 5,
    },
    'service-preempt': { other: 0, timeout: 1, deadlock: 2, cancel: 3 },
    'time-resolution': { other: 0, 'unsupportable-time-resolution': 1 },
    access: {
        other: 0,
        'object-access-unsupported': 1,
        'object-non-existent': 2,
        'object-access-denied': 3,
        'object-invalidated': 4,
    },
    initiate: {
        other: 0,
        'version-incompatible': 1,
        'max-segment-insufficient': 2,
        'max-services-outstanding-calling-insufficient': 3,
        'max-services-outstanding-called-insufficient': 4,
        'service-CBB-insufficient': 5,
        'parameter-CBB-insufficient': 6,
        'nesting-level-insufficient': 7,
    },
    conclude: { other: 0, 'further-communication-required': 1 },
    cancel: { other: 0, 'invoke-id-unknown': 1, 'cancel-not-possible': 2 },
    file: {
        other: 0,
        'filename-ambiguous': 1,
        'file-busy': 2,
        'filename-syntax-error': 3,
        'content-type-invalid': 4,
        'position-invalid': 5,
        'file-access-denied': 6,
        'file-non-existent': 7,
        'duplicate-filename': 8,
        'insufficient-space-in-filestore': 9,
    },
    others: {},
});

/** RejectPDU.rejectReason: the CHOICE alternatives and their named numbers (wire note §4.3 [C], M1/M2). */
export const REJECT_REASONS: Readonly<Record<string, NamedNumbers>> = Object.freeze({
    'confirmed-requestPDU': {
        other: 0,
        'unrecognized-service': 1,
        'unrecognized-modifier': 2,
        'invalid-invokeID': 3,
        'invalid-argument': 4,
        'invalid-modifier': 5,
        'max-serv-outstanding-exceeded': 6,
        'max-recursion-exceeded': 8,
        'value-out-of-range': 9,
    },
    'confirmed-responsePDU': {
        other: 0,
        'unrecognized-service': 1,
        'invalid-invokeID': 2,
        'invalid-result': 3,
        'max-recursion-exceeded': 5,
        'value-out-of-range': 6,
    },
    'confirmed-errorPDU': {
        other: 0,
        'unrecognized-service': 1,
        'invalid-invokeID': 2,
        'invalid-serviceError': 3,
        'value-out-of-range': 4,
    },
    unconfirmedPDU: {
        other: 0,
        'unrecognized-service': 1,
        'invalid-argument': 2,
        'max-recursion-exceeded': 3,
        'value-out-of-range': 4,
    },
    'pdu-error': { 'unknown-pdu-type': 0, 'invalid-pdu': 1, 'illegal-acse-mapping': 2 },
    'cancel-requestPDU': { other: 0, 'invalid-invokeID': 1 },
    'cancel-responsePDU': { other: 0, 'invalid-invokeID': 1 },
    'cancel-errorPDU': { other: 0, 'invalid-invokeID': 1, 'invalid-serviceError': 2, 'value-out-of-range': 3 },
    'conclude-requestPDU': { other: 0, 'invalid-argument': 1 },
    'conclude-responsePDU': { other: 0, 'invalid-result': 1 },
    'conclude-errorPDU': { other: 0, 'invalid-serviceError': 1, 'value-out-of-range': 2 },
});

/** The name of `value` in `table`, if it has one. */
export function nameOf(table: NamedNumbers, value: number): string | undefined {
    for (const [name, v] of Object.entries(table)) if (v === value) return name;
    return undefined;
}
