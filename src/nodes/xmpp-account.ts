import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Session, type SessionState, type StateInfo } from '../protocols/xmpp';
import { sessionStatus } from '../shared/status';
import type { XmppAccountNode } from '../shared/xmpp-account';
import { sessionOptionsFromConfig, type XmppAccountConfig } from '../shared/xmpp-config';

interface Credentials {
    password?: string;
}

/** How long a redeploy waits for the session to close (Node-RED gives close handlers 15 s). */
const CLOSE_TIMEOUT_MS = 5000;

export = (RED: NodeAPI): void => {
    function XmppAccount(this: XmppAccountNode & { credentials: Credentials }, config: NodeDef & XmppAccountConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const users = new Map<string, Node>();
        let session: Session | undefined;
        let state: SessionState = 'idle';
        let info: StateInfo = {};
        const t = (key: string, subs?: Record<string, string | number>) => RED._(key, subs);

        const push = () => {
            const status = sessionStatus(state, info, t);
            for (const user of users.values()) user.status(status);
        };

        node.acquire = (user: Node): Session => {
            if (!session) {
                // Throws BAD_INPUT with a clear message for a broken configuration; the user node reports it.
                session = new Session({
                    ...sessionOptionsFromConfig(config, node.credentials?.password),
                    logger: {
                        info: (m) => node.log(m),
                        warn: (m) => node.warn(m),
                        debug: (m) => node.debug(m),
                    },
                });
                session.on('state', (s, i) => {
                    state = s;
                    info = i;
                    push();
                });
                session.on('warning', (err) => node.debug(`${config.jid}: ${err.message}`));
                session.start();
            }
            users.set(user.id, user);
            user.status(sessionStatus(state === 'idle' ? 'connecting' : state, info, t));
            return session;
        };

        node.release = async (user: Node): Promise<void> => {
            users.delete(user.id);
            if (users.size === 0 && session) {
                const s = session;
                session = undefined;
                state = 'idle';
                await s.close(CLOSE_TIMEOUT_MS);
            }
        };

        node.on('close', (_removed: boolean, done: () => void) => {
            const s = session;
            session = undefined;
            users.clear();
            if (!s) {
                done();
                return;
            }
            s.close(CLOSE_TIMEOUT_MS).then(done, done);
        });
    }

    RED.nodes.registerType('xmpp-account', XmppAccount as unknown as Parameters<typeof RED.nodes.registerType>[1], {
        credentials: { password: { type: 'password' } },
    });
};
