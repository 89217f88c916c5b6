/** Why an LwM2M payload or value was refused. */
export type Lwm2mReason =
    /** Bytes end before a header, a length or a value is complete. */
    | 'truncated'
    /** A field holds what the format does not allow (a length or type bits, a nesting). */
    | 'malformed'
    /** A value of a size or content its resource type does not have (an integer of 3 bytes, a boolean 2). */
    | 'bad-value'
    /** Bigger, deeper or longer than the codec accepts. */
    | 'limit'
    /** A value of the wrong JavaScript type handed to an encoder. */
    | 'wrong-type';

export type Lwm2mErrorCode = 'BAD_INPUT' | 'LIMIT';

/** A refusal of the LwM2M codecs, with a stable code, a reason and the byte offset where it was found. */
export class Lwm2mError extends Error {
    readonly code: Lwm2mErrorCode;
    readonly reason: Lwm2mReason;
    /** Offset into the payload, when the error is about a payload. */
    readonly offset: number | undefined;

    constructor(reason: Lwm2mReason, message: string, offset?: number) {
        super(offset === undefined ? message : `${message} (at byte ${offset})`);
        this.name = 'Lwm2mError';
        this.code = reason === 'limit' ? 'LIMIT' : 'BAD_INPUT';
        this.reason = reason;
        this.offset = offset;
    }
}
