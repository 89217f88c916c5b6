import type { XmlElement } from '../xml';
import type { AccessDefault, AccessRule } from './access';
import type { OwnPresence, PeerPresence, RosterItem, SubscriptionPolicy } from './roster';
import type { StreamLimits } from './stream';
import type { TlsMode, TlsTrust } from './tls';

/**
 * The states a session goes through. Every user of the session sees them (node status).
 * - idle: created, not started
 * - connecting: opening a new session (TCP, TLS, SASL, bind)
 * - resuming: the stream dropped; reconnecting to resume the XEP-0198 session
 * - online: stanzas flow
 * - offline: no connection; waiting `retryInMs` before the next attempt
 * - auth-failed / tls-failed: the server refused the credentials / the certificate was refused;
 *   retried at the longest backoff, because an operator has to fix something
 * - closed: stopped for good
 */
export type SessionState =
    | 'idle'
    | 'connecting'
    | 'resuming'
    | 'online'
    | 'offline'
    | 'auth-failed'
    | 'tls-failed'
    | 'closed';

export interface StateInfo {
    /** Why the session left `online` or why the last attempt failed. */
    error?: Error;
    /** Delay before the next attempt, in `offline`, `auth-failed` and `tls-failed`. */
    retryInMs?: number;
    /** The bound full JID, in `online`. */
    jid?: string;
    /** In `online`: the previous XEP-0198 session was resumed, nothing was lost. */
    resumed?: boolean;
}

export interface SessionLogger {
    debug?(message: string): void;
    info?(message: string): void;
    warn?(message: string): void;
}

export interface SrvRecord {
    name: string;
    port: number;
    priority: number;
    weight: number;
}

export interface SessionOptions {
    /** The account: `user@domain` (a resource here is used as the default resource). */
    jid: string;
    password: string;
    /** Resource to bind; default: the JID's resource, else `derlink-` and random hex. */
    resource?: string;
    /** Server host; default: DNS SRV (XEP-0368 for direct TLS, RFC 6120 §3.2 otherwise), then the domain. */
    host?: string;
    /** Server port; default 5223 for direct TLS, else 5222. */
    port?: number;
    tls?: TlsMode;
    trust?: TlsTrust;
    presence?: OwnPresence;
    /** How to answer presence subscription requests. Default `ask` (left to the owner: answerSubscription). */
    subscriptions?: SubscriptionPolicy;
    /** Patterns accepted under the `allowlist` policy (see JidMatcher). */
    allowlist?: readonly string[];
    /** After approving a subscription, subscribe back so the peer's presence is seen too. Default true. */
    mutualSubscription?: boolean;
    /** Per-namespace access rules for requests to this account. */
    access?: readonly AccessRule[];
    /** Access for namespaces without a rule. Default `all`. */
    defaultAccess?: AccessDefault;
    /** XEP-0198 stream management and resumption. Default true. */
    streamManagement?: boolean;
    reconnect?: { minMs?: number; maxMs?: number; random?: () => number };
    /** XEP-0199 keepalive: ping the server after `intervalMs` of silence; the link is dead after `timeoutMs` more. */
    keepalive?: { intervalMs?: number; timeoutMs?: number };
    /** Bound on each connection step. Default 15 s. */
    connectTimeoutMs?: number;
    /** Default bound on IQ requests. Default 30 s. */
    iqTimeoutMs?: number;
    /** Most stanzas waiting for a connection or an acknowledgement. Default 10000. */
    maxQueue?: number;
    limits?: Partial<StreamLimits>;
    /** disco#info identity (XEP-0030); default client/bot "DERlink". */
    identity?: { category: string; type: string; name: string };
    logger?: SessionLogger;
    /** Injectable SRV lookup (tests). */
    resolveSrv?: (name: string) => Promise<SrvRecord[]>;
}

/** An IQ get or set addressed to this account. */
export interface IqRequest {
    id: string;
    type: 'get' | 'set';
    /** Sender's full JID; the account's bare JID when the server sends on its behalf. */
    from: string;
    payload: XmlElement;
    stanza: XmlElement;
    /**
     * Runs `fn` right after the answer is handed to the stream (not if the handler fails), so
     * that what it sends goes out in the same write as the answer: a protocol whose result
     * announces more to come (an accepted readout) starts sending it from here.
     */
    afterAnswer(fn: () => void): void;
}

// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing answers an empty result
export type IqHandler = (request: IqRequest) => Promise<XmlElement | undefined | void> | XmlElement | undefined | void;

/** A message or presence addressed to this account, with the payload element a handler was registered for. */
export interface IncomingMessage {
    from: string;
    type: string;
    id: string | undefined;
    payload: XmlElement;
    stanza: XmlElement;
}

export type MessageHandler = (message: IncomingMessage) => void | Promise<void>;

export interface SubscriptionEvent {
    from: string;
    type: 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed';
    /** For `subscribe`: whether the account's policy approved it. */
    approved?: boolean;
    /** For `subscribe` under the `ask` policy: waiting for the owner to approve or deny it. */
    pending?: boolean;
}

export interface SessionEvents {
    state: [state: SessionState, info: StateInfo];
    presence: [presence: PeerPresence];
    roster: [items: RosterItem[]];
    subscription: [event: SubscriptionEvent];
    message: [stanza: XmlElement];
    /** Something went wrong that did not stop the session (a handler threw, a peer misbehaved). */
    warning: [error: Error];
}
