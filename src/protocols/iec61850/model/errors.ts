/** Why a name, reference or value was refused; a finer key than the code, for tests and logs. */
export type Iec61850Reason =
    | 'syntax'
    | 'empty'
    | 'too-long'
    | 'bad-char'
    | 'missing-fc'
    | 'unknown-fc'
    | 'out-of-range';

/** Stable error codes a flow can switch on (`msg.error.code`), as for XmppError. */
export type Iec61850ErrorCode = 'BAD_INPUT' | 'NOT_SUPPORTED' | 'NOT_FOUND';

export class Iec61850Error extends Error {
    readonly code: Iec61850ErrorCode;
    readonly reason: Iec61850Reason;
    /** The text that was refused, when there was one. */
    readonly input: string | undefined;

    constructor(
        code: Iec61850ErrorCode,
        reason: Iec61850Reason,
        message: string,
        options: { input?: string; cause?: unknown } = {},
    ) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'Iec61850Error';
        this.code = code;
        this.reason = reason;
        this.input = options.input;
    }
}

/** A BAD_INPUT error quoting (a bounded prefix of) the input. */
export function badInput(reason: Iec61850Reason, message: string, input?: string): Iec61850Error {
    const shown = input === undefined ? '' : `: '${input.length > 80 ? `${input.slice(0, 80)}…` : input}'`;
    return new Iec61850Error('BAD_INPUT', reason, `${message}${shown}`, input === undefined ? {} : { input });
}
