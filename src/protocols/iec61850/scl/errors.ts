/** Errors and warnings of the SCL import. */

export interface SclWarning {
    message: string;
    /** Element path, e.g. `SCL/IED[HP1]/LDevice[LD]/LN[MMXN1]/DOI[Watt]`. */
    path: string;
    /** 1-based line of the element the warning is about. */
    line?: number;
}

/** `SCL_MALFORMED`: not well-formed XML or beyond the XML limits. `SCL_INVALID`: XML, but not a usable SCL model. */
export type SclErrorCode = 'SCL_INVALID' | 'SCL_MALFORMED';

export interface SclErrorWhere {
    path?: string;
    line?: number;
    column?: number;
    context?: string;
}

export class SclError extends Error {
    readonly code: SclErrorCode;
    /** Element path of the problem ('' when it is the document as a whole). */
    readonly path: string;
    readonly line: number | undefined;
    readonly column: number | undefined;
    /** The source line of the problem, trimmed. */
    readonly context: string | undefined;

    constructor(code: SclErrorCode, message: string, where: SclErrorWhere = {}, options?: { cause?: unknown }) {
        const at = where.line === undefined ? '' : ` (line ${where.line}${where.context ? `: ${where.context}` : ''})`;
        super(`${message}${at}`, options);
        this.name = 'SclError';
        this.code = code;
        this.path = where.path ?? '';
        this.line = where.line;
        this.column = where.column;
        this.context = where.context;
    }
}
