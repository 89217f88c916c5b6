import type { NodeStatus } from 'node-red';
import type { SessionState, StateInfo } from '../protocols/xmpp';

/** Translates a message key of the node set (RED._ in the runtime). */
export type Translate = (key: string, substitutions?: Record<string, string | number>) => string;

/** The node status for a session state: colour by health, short text (the editor shows ~20 characters). */
export function sessionStatus(state: SessionState, info: StateInfo, t: Translate): NodeStatus {
    const secs = info.retryInMs === undefined ? 0 : Math.max(1, Math.round(info.retryInMs / 1000));
    switch (state) {
        case 'online':
            return { fill: 'green', shape: 'dot', text: t('xmpp-account.status.online') };
        case 'connecting':
            return { fill: 'yellow', shape: 'ring', text: t('xmpp-account.status.connecting') };
        case 'resuming':
            return { fill: 'yellow', shape: 'ring', text: t('xmpp-account.status.resuming') };
        case 'offline':
            return { fill: 'red', shape: 'ring', text: t('xmpp-account.status.offline', { secs }) };
        case 'auth-failed':
            return { fill: 'red', shape: 'dot', text: t('xmpp-account.status.auth-failed') };
        case 'tls-failed':
            return { fill: 'red', shape: 'dot', text: t('xmpp-account.status.tls-failed') };
        case 'closed':
            return { fill: 'grey', shape: 'ring', text: t('xmpp-account.status.closed') };
        default:
            return {};
    }
}
