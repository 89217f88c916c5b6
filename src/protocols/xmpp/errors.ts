import { el, type XmlElement } from '../xml';
import { NS } from './namespaces';

/** Stable error codes a flow can switch on (`msg.error.code`). */
export type XmppErrorCode =
    | 'TIMEOUT'
    | 'ACCESS_DENIED'
    | 'NOT_FOUND'
    | 'BAD_INPUT'
    | 'NOT_SUPPORTED'
    | 'UNREACHABLE'
    | 'REMOTE_ERROR'
    | 'CONFLICT'
    | 'SESSION_LOST'
    | 'CLOSED'
    | 'QUEUE_FULL'
    | 'AUTH_FAILED'
    | 'TLS_FAILED'
    | 'CONNECT_FAILED'
    | 'PROTOCOL_ERROR';

export class XmppError extends Error {
    readonly code: XmppErrorCode;
    /** RFC 6120 condition, for errors that came from a peer or the server. */
    readonly condition: string | undefined;

    constructor(code: XmppErrorCode, message: string, options: { condition?: string; cause?: unknown } = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'XmppError';
        this.code = code;
        this.condition = options.condition;
    }
}

/** Error types of RFC 6120 §8.3.2. */
export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

/**
 * The defined stanza error conditions (RFC 6120 §8.3.3), with the error type the RFC's
 * examples give each one and the DERlink code a flow sees when a peer answers with it.
 */
export const STANZA_CONDITIONS: Readonly<Record<string, { type: StanzaErrorType; code: XmppErrorCode }>> =
    Object.freeze({
        'bad-request': { type: 'modify', code: 'BAD_INPUT' }, // §8.3.3.1
        conflict: { type: 'cancel', code: 'CONFLICT' }, // §8.3.3.2
        'feature-not-implemented': { type: 'cancel', code: 'NOT_SUPPORTED' }, // §8.3.3.3
        forbidden: { type: 'auth', code: 'ACCESS_DENIED' }, // §8.3.3.4
        gone: { type: 'cancel', code: 'NOT_FOUND' }, // §8.3.3.5
        'internal-server-error': { type: 'cancel', code: 'REMOTE_ERROR' }, // §8.3.3.6
        'item-not-found': { type: 'cancel', code: 'NOT_FOUND' }, // §8.3.3.7
        'jid-malformed': { type: 'modify', code: 'BAD_INPUT' }, // §8.3.3.8
        'not-acceptable': { type: 'modify', code: 'BAD_INPUT' }, // §8.3.3.9
        'not-allowed': { type: 'cancel', code: 'ACCESS_DENIED' }, // §8.3.3.10
        'not-authorized': { type: 'auth', code: 'ACCESS_DENIED' }, // §8.3.3.11
        'policy-violation': { type: 'modify', code: 'ACCESS_DENIED' }, // §8.3.3.12
        'recipient-unavailable': { type: 'wait', code: 'UNREACHABLE' }, // §8.3.3.13
        redirect: { type: 'modify', code: 'REMOTE_ERROR' }, // §8.3.3.14
        'registration-required': { type: 'auth', code: 'ACCESS_DENIED' }, // §8.3.3.15
        'remote-server-not-found': { type: 'cancel', code: 'UNREACHABLE' }, // §8.3.3.16
        'remote-server-timeout': { type: 'wait', code: 'UNREACHABLE' }, // §8.3.3.17
        'resource-constraint': { type: 'wait', code: 'REMOTE_ERROR' }, // §8.3.3.18
        'service-unavailable': { type: 'cancel', code: 'NOT_SUPPORTED' }, // §8.3.3.19
        'subscription-required': { type: 'auth', code: 'ACCESS_DENIED' }, // §8.3.3.20
        'undefined-condition': { type: 'cancel', code: 'REMOTE_ERROR' }, // §8.3.3.21
        'unexpected-request': { type: 'wait', code: 'PROTOCOL_ERROR' }, // §8.3.3.22
    });

/**
 * A stanza-level error: thrown by an IQ handler to answer with that condition, and raised to
 * a caller when a peer answers with an error. Unknown or missing conditions become
 * `undefined-condition`, so a peer's non-standard answer still reaches the caller as an error.
 */
export class StanzaError extends XmppError {
    declare readonly condition: string;
    readonly type: StanzaErrorType;
    readonly text: string | undefined;
    /** An application-specific condition element (RFC 6120 §8.3.4), when there is one. */
    readonly application: XmlElement | undefined;
    /**
     * An element sent before `<error/>` in the error reply (RFC 6120 §8.3.1 allows the original
     * payload there). Protocols whose early versions had their own rejection element (XEP-0323
     * v0.1 `<rejected>`) put it here so that old and new clients both understand the answer.
     */
    readonly payload: XmlElement | undefined;
    /** The whole error stanza, for errors read from a peer (fromStanza): protocols look for their own elements in it. */
    stanza: XmlElement | undefined;

    constructor(
        condition: string,
        text?: string,
        options: { type?: StanzaErrorType; application?: XmlElement; payload?: XmlElement } = {},
    ) {
        const known = Object.hasOwn(STANZA_CONDITIONS, condition) ? STANZA_CONDITIONS[condition] : undefined;
        const cond = known ? condition : 'undefined-condition';
        super(known?.code ?? 'REMOTE_ERROR', text ? `${cond}: ${text}` : cond, { condition: cond });
        this.name = 'StanzaError';
        this.condition = cond;
        this.type = options.type ?? known?.type ?? 'cancel';
        this.text = text;
        this.application = options.application;
        this.payload = options.payload;
    }

    /** The `<error/>` child for an error reply. */
    toElement(): XmlElement {
        return el(
            'error',
            { type: this.type },
            el(this.condition, { xmlns: NS.STANZAS }),
            this.text ? el('text', { xmlns: NS.STANZAS }, this.text) : undefined,
            this.application ? standalone(this.application) : undefined,
        );
    }

    /**
     * Reads the `<error/>` of an error stanza. Tolerates what peers get wrong: no error child,
     * a condition outside the stanzas namespace, only a legacy `code` (XEP-0086).
     */
    static fromStanza(stanza: XmlElement): StanzaError {
        const error = stanza.child('error');
        if (!error) {
            const bare = new StanzaError('undefined-condition', 'error reply without an <error/> element');
            bare.stanza = stanza;
            return bare;
        }
        let condition: string | undefined;
        let text: string | undefined;
        const foreign: XmlElement[] = [];
        for (const c of error.elements()) {
            if (c.ns === NS.STANZAS) {
                if (c.local === 'text') text = c.text();
                else condition ??= c.local;
            } else {
                foreign.push(c);
            }
        }
        // A defined condition sent without its namespace (a common peer mistake) is still recognised.
        if (!condition) {
            const misplaced = foreign.find((c) => Object.hasOwn(STANZA_CONDITIONS, c.local));
            if (misplaced) condition = misplaced.local;
        }
        const application = foreign.find((c) => c.local !== condition && c.local !== 'text');
        const legacy = error.attr('code');
        if (!condition && legacy && Object.hasOwn(LEGACY_CODES, legacy)) condition = LEGACY_CODES[legacy];
        const type = error.attr('type') as StanzaErrorType | undefined;
        const typeOk = type && ['auth', 'cancel', 'continue', 'modify', 'wait'].includes(type);
        const detail =
            text ??
            (legacy && !Object.hasOwn(STANZA_CONDITIONS, condition ?? '') ? `legacy error code ${legacy}` : undefined);
        const result = new StanzaError(condition ?? 'undefined-condition', detail, {
            ...(typeOk ? { type } : {}),
            ...(application ? { application } : {}),
        });
        result.stanza = stanza;
        return result;
    }
}

/**
 * A copy of `element` that can be placed anywhere: detached, with the declaration of its own
 * prefix (or default namespace) written on it when that came from an ancestor.
 */
function standalone(element: XmlElement): XmlElement {
    const copy = element.clone();
    const used = new Set<string>([copy.prefix]);
    const stack = [copy];
    while (stack.length > 0) {
        const e = stack.pop() as XmlElement;
        used.add(e.prefix);
        for (const a of Object.keys(e.attrs))
            if (a.includes(':') && !a.startsWith('xmlns:')) used.add(a.slice(0, a.indexOf(':')));
        stack.push(...e.elements());
    }
    for (const prefix of used) {
        if (prefix === 'xml') continue;
        const key = prefix ? `xmlns:${prefix}` : 'xmlns';
        const ns = copy.lookupNs(prefix);
        if (!Object.hasOwn(copy.attrs, key) && ns !== undefined) copy.attrs[key] = ns;
    }
    copy.scope = undefined;
    return copy;
}

/** XEP-0086 §4: legacy numeric error codes to conditions. */
const LEGACY_CODES: Readonly<Record<string, string>> = Object.freeze({
    '302': 'redirect',
    '400': 'bad-request',
    '401': 'not-authorized',
    '402': 'payment-required',
    '403': 'forbidden',
    '404': 'item-not-found',
    '405': 'not-allowed',
    '406': 'not-acceptable',
    '407': 'registration-required',
    '408': 'remote-server-timeout',
    '409': 'conflict',
    '500': 'internal-server-error',
    '501': 'feature-not-implemented',
    '502': 'service-unavailable',
    '503': 'service-unavailable',
    '504': 'remote-server-timeout',
    '510': 'service-unavailable',
});
