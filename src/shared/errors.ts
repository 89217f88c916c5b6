/**
 * Errors as flows see them: every error passed to done() carries a stable `code`
 * (Node-RED copies an own `code` property into msg.error.code for Catch nodes).
 */
export class NodeError extends Error {
    readonly code: string;

    constructor(code: string, message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = 'NodeError';
        this.code = code;
    }
}

/** Makes sure what reaches done() is an Error with an own `code` (INTERNAL when nothing better is known). */
export function withCode(err: unknown): Error & { code: string } {
    if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && Object.hasOwn(err, 'code')) {
        return err as Error & { code: string };
    }
    if (err instanceof Error) {
        const wrapped = new NodeError('INTERNAL', err.message, { cause: err });
        wrapped.stack = err.stack ?? wrapped.stack;
        return wrapped;
    }
    return new NodeError('INTERNAL', String(err));
}
