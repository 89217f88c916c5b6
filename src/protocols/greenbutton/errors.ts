/**
 * Errors of the Green Button core. `code` is the stable string flows switch on (ARCHITECTURE.md):
 * BAD_INPUT for a reading or option we cannot write, NOT_FOUND for an unknown resource, BAD_QUERY for a malformed
 * query parameter.
 */
export type EspiErrorCode = 'BAD_INPUT' | 'NOT_FOUND' | 'BAD_QUERY' | 'STORE';

export class EspiError extends Error {
    readonly code: EspiErrorCode;

    constructor(code: EspiErrorCode, message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = 'EspiError';
        this.code = code;
    }
}
