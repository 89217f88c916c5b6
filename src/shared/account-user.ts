import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import type { Session } from '../protocols/xmpp';
import { NodeError, withCode } from './errors';
import { isXmppAccount, type XmppAccountNode } from './xmpp-account';

/**
 * Connects a node to its xmpp-account. When the account is missing or its configuration is
 * broken, the node shows it, logs it once, and answers every input with a CONFIG error for
 * Catch nodes; the caller gets undefined and sets up nothing else.
 */
export function useAccount(
    RED: NodeAPI,
    node: Node,
    accountId: string,
): { session: Session; account: XmppAccountNode } | undefined {
    const account = RED.nodes.getNode(accountId);
    let problem: NodeError;
    if (!isXmppAccount(account)) {
        problem = new NodeError('CONFIG', 'No XMPP account is configured for this node');
    } else {
        try {
            return { session: account.acquire(node), account };
        } catch (err) {
            problem = new NodeError('CONFIG', withCode(err).message);
        }
    }
    configFailed(
        node,
        problem,
        problem.message.length > 24 ? RED._('xmpp-account.status.config-error') : problem.message,
        'ring',
    );
    return undefined;
}

/**
 * A node whose own configuration is broken: it shows `statusText`, logs the problem once, and
 * answers every input with the CONFIG error (for Catch nodes) instead of doing anything.
 */
export function configFailed(node: Node, err: unknown, statusText: string, shape: 'dot' | 'ring' = 'dot'): void {
    const problem = new NodeError('CONFIG', withCode(err).message);
    node.status({ fill: 'red', shape, text: statusText });
    node.error(problem.message);
    node.on('input', (_msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => done(problem));
}
