/**
 * The shared XMPP transport of DERlink: one Session per account, used by the IEC 61850-8-2
 * and XMPP IoT cores. Nothing here knows Node-RED.
 */
export {
    AccessControl,
    type AccessDefault,
    type AccessHook,
    type AccessRule,
    type Disposable,
    JidMatcher,
    parseAccessRules,
} from './access';
export { Backoff } from './backoff';
export { STANZA_CONDITIONS, StanzaError, type StanzaErrorType, XmppError, type XmppErrorCode } from './errors';
export { bareJid, type Jid, JidError, parseJid, sameJid, tryParseJid } from './jid';
export { NS } from './namespaces';
export type { OwnPresence, PeerPresence, RosterItem, SubscriptionPolicy } from './roster';
export { Plain, ScramSha1 } from './sasl';
export { Session } from './session';
export type {
    IncomingMessage,
    IqHandler,
    IqRequest,
    MessageHandler,
    SessionEvents,
    SessionLogger,
    SessionOptions,
    SessionState,
    SrvRecord,
    StateInfo,
    SubscriptionEvent,
} from './session-types';
export { pickSrv } from './srv';
export { DEFAULT_STREAM_LIMITS, type StreamLimits } from './stream';
export { normaliseFingerprint, type TlsMode, type TlsTrust } from './tls';
