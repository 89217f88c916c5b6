import type { Node } from 'node-red';
import type { Session } from '../protocols/xmpp';

/**
 * What an `xmpp-account` config node offers the nodes that use it. The session is created on
 * the first `acquire`, started, and closed after the last `release`; its state is pushed to
 * every user's status.
 */
export interface XmppAccountNode extends Node {
    acquire(user: Node): Session;
    release(user: Node): Promise<void>;
    /** The running session, if a node uses the account (for editor endpoints; does not start one). */
    current(): Session | undefined;
}

export function isXmppAccount(node: unknown): node is XmppAccountNode {
    return typeof (node as XmppAccountNode | undefined)?.acquire === 'function';
}
