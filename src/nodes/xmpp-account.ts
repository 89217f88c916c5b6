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
    function XmppAccount(
        this: XmppAccountNode & { credentials: Credentials },
        config: NodeDef & XmppAccountConfig,
    ): void {
        RED.nodes.createNode(this, config);
        const users = new Map<string, Node>();
        let session: Session | undefined;
        let state: SessionState = 'idle';
        let info: StateInfo = {};
        const t = (key: string, subs?: Record<string, string | number>) => RED._(key, subs);

        const push = () => {
            const status = sessionStatus(state, info, t);
            for (const user of users.values()) user.status(status);
        };

        this.acquire = (user: Node): Session => {
            if (!session) {
                // Throws BAD_INPUT with a clear message for a broken configuration; the user node reports it.
                session = new Session({
                    ...sessionOptionsFromConfig(config, this.credentials?.password),
                    logger: {
                        info: (m) => this.log(m),
                        warn: (m) => this.warn(m),
                        debug: (m) => this.debug(m),
                    },
                });
                session.on('state', (s, i) => {
                    state = s;
                    info = i;
                    push();
                });
                session.on('warning', (err) => this.debug(`${config.jid}: ${err.message}`));
                session.start();
            }
            users.set(user.id, user);
            user.status(sessionStatus(state === 'idle' ? 'connecting' : state, info, t));
            return session;
        };

        this.release = async (user: Node): Promise<void> => {
            users.delete(user.id);
            if (users.size === 0 && session) {
                const s = session;
                session = undefined;
                state = 'idle';
                await s.close(CLOSE_TIMEOUT_MS);
            }
        };

        this.current = () => session;

        this.on('close', (_removed: boolean, done: () => void) => {
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

    // Editor helper: the account's contacts and who is online, to pick device JIDs from.
    RED.httpAdmin.get('/derlink/xmpp-account/:id/peers', RED.auth.needsPermission('xmpp-account.read'), (req, res) => {
        const account = RED.nodes.getNode(String(req.params.id)) as XmppAccountNode | null;
        const session = account?.current?.();
        if (!session) {
            res.status(404).json({ error: RED._('xmpp-account.errors.not-running') });
            return;
        }
        const online = session.peers.map((p) => ({ jid: p.jid, bare: p.bare, show: p.show, status: p.status ?? '' }));
        const roster = session.roster.map((r) => ({ jid: r.jid, name: r.name ?? '', subscription: r.subscription }));
        res.json({ account: session.account.bare, state: session.state, online, roster });
    });
};
