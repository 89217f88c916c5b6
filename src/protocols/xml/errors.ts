/** Why an XML document or element was refused. */
export type XmlErrorCode =
    /** Not well-formed XML (unclosed tag, bad attribute, unknown entity...). */
    | 'XML_MALFORMED'
    /** Well-formed, but larger, deeper or wider than the configured limits allow. */
    | 'XML_LIMIT'
    /** A construct the hardened layer never accepts (DOCTYPE, entity declarations). */
    | 'XML_FORBIDDEN'
    /** A value that cannot be written as XML 1.0 (control characters, lone surrogates, bad names). */
    | 'XML_INVALID_CHAR';

export interface XmlErrorPosition {
    /** 1-based line of the offending input, when known. */
    line?: number;
    /** 1-based column, when known. */
    column?: number;
    /** The input line around the error, trimmed to a readable length. */
    context?: string;
}

export class XmlError extends Error {
    readonly code: XmlErrorCode;
    readonly line?: number;
    readonly column?: number;
    readonly context?: string;

    constructor(code: XmlErrorCode, message: string, position: XmlErrorPosition = {}) {
        const where = position.line !== undefined ? ` (line ${position.line}, column ${position.column ?? 0})` : '';
        const ctx = position.context !== undefined ? `: ${position.context}` : '';
        super(`${message}${where}${ctx}`);
        this.name = 'XmlError';
        this.code = code;
        if (position.line !== undefined) this.line = position.line;
        if (position.column !== undefined) this.column = position.column;
        if (position.context !== undefined) this.context = position.context;
    }
}

/** Line and column (1-based) of a character offset in `text`. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
        line++;
        lineStart = i + 1;
    }
    return { line, column: offset - lineStart + 1 };
}

/** The text of 1-based `line`, shortened around `column` so error messages stay readable. */
export function lineContext(text: string, line: number, column = 1, width = 80): string {
    let start = 0;
    for (let n = 1; n < line; n++) {
        const nl = text.indexOf('\n', start);
        if (nl === -1) return '';
        start = nl + 1;
    }
    const end = text.indexOf('\n', start);
    const full = text.slice(start, end === -1 ? undefined : end).replace(/\r$/, '');
    if (full.length <= width) return full.trim();
    const from = Math.max(0, Math.min(column - 1 - width / 2, full.length - width));
    return `${from > 0 ? '…' : ''}${full.slice(from, from + width).trim()}${from + width < full.length ? '…' : ''}`;
}
