import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import {
    JidMatcher,
    type OwnPresence,
    type PeerPresence,
    type RosterItem,
    type SubscriptionEvent,
} from '../protocols/xmpp';
import { configFailed, useAccount } from '../shared/account-user';
import { NodeError, withCode } from '../shared/errors';
import { listField } from '../shared/xmpp-config';

interface XmppPresenceConfig extends NodeDef {
    account: string;
    watch?: string;
    presenceEvents?: boolean;
    subscriptionEvents?: boolean;
    rosterEvents?: boolean;
}

const OPERATIONS = ['subscribe', 'unsubscribe', 'approve', 'deny', 'set', 'get', 'roster'] as const;
type Operation = (typeof OPERATIONS)[number];
const SHOWS = new Set(['away', 'chat', 'dnd', 'xa']);

/** The presence of one peer, summarised over its resources (the highest priority one wins). */
function summary(bare: string, resources: PeerPresence[]) {
    const top = resources[0];
    return {
        jid: bare,
        available: resources.length > 0,
        show: top?.show ?? 'offline',
        status: top?.status ?? '',
        resources: resources.map((r) => ({ jid: r.jid, show: r.show, status: r.status ?? '', priority: r.priority })),
    };
}

function ownPresence(payload: unknown): OwnPresence {
    if (payload === null || typeof payload !== 'object') {
        throw new NodeError(
            'BAD_INPUT',
            'For operation "set", msg.payload must be an object like {show, status, priority}',
        );
    }
    const p = payload as Record<string, unknown>;
    const own: OwnPresence = {};
    if (p.show !== undefined && p.show !== 'online' && p.show !== '') {
        if (typeof p.show !== 'string' || !SHOWS.has(p.show))
            throw new NodeError('BAD_INPUT', 'msg.payload.show must be online, away, chat, dnd or xa');
        own.show = p.show as OwnPresence['show'];
    }
    if (p.status !== undefined) {
        if (typeof p.status !== 'string') throw new NodeError('BAD_INPUT', 'msg.payload.status must be a string');
        own.status = p.status;
    }
    if (p.priority !== undefined) {
        const n = Number(p.priority);
        if (!Number.isInteger(n) || n < -128 || n > 127)
            throw new NodeError('BAD_INPUT', 'msg.payload.priority must be an integer from -128 to 127');
        own.priority = n;
    }
    return own;
}

export = (RED: NodeAPI): void => {
    function XmppPresence(this: Node, config: XmppPresenceConfig): void {
        RED.nodes.createNode(this, config);
        let watch: JidMatcher;
        try {
            const patterns = listField(config.watch);
            watch = new JidMatcher(patterns.length > 0 ? patterns : ['*']);
        } catch (err) {
            configFailed(this, err, RED._('xmpp-presence.status.config-error'));
            return;
        }
        const used = useAccount(RED, this, config.account);
        if (!used) return;
        const { session, account } = used;

        const onPresence = (p: PeerPresence) => {
            if (!watch.matches(p.jid)) return;
            const msg: NodeMessage & Record<string, unknown> = {
                topic: p.bare,
                payload: summary(p.bare, session.presenceOf(p.bare)),
                timestamp: p.timestamp,
                xmpp: {
                    event: 'presence',
                    jid: p.jid,
                    available: p.available,
                    show: p.show,
                    status: p.status ?? '',
                    priority: p.priority,
                },
            };
            this.send(msg);
        };
        const onSubscription = (e: SubscriptionEvent) => {
            if (!watch.matches(e.from)) return;
            const xmpp: Record<string, unknown> = { event: 'subscription', type: e.type };
            if (e.approved !== undefined) xmpp.approved = e.approved;
            if (e.pending) xmpp.pending = true;
            this.send({ topic: e.from, payload: e.type, timestamp: new Date().toISOString(), xmpp } as NodeMessage);
        };
        const onRoster = (items: RosterItem[]) => {
            this.send({
                topic: session.account.bare,
                payload: items,
                timestamp: new Date().toISOString(),
                xmpp: { event: 'roster' },
            } as NodeMessage);
        };
        if (config.presenceEvents !== false) session.on('presence', onPresence);
        if (config.subscriptionEvents !== false) session.on('subscription', onSubscription);
        if (config.rosterEvents === true) session.on('roster', onRoster);

        this.on(
            'input',
            async (
                msg: NodeMessageInFlow & { operation?: unknown },
                send: (m: NodeMessage) => void,
                done: (err?: Error) => void,
            ) => {
                try {
                    const op = (msg.operation ?? 'get') as Operation;
                    if (!OPERATIONS.includes(op)) {
                        throw new NodeError(
                            'BAD_INPUT',
                            `Unknown msg.operation "${String(msg.operation)}"; use ${OPERATIONS.join(', ')}`,
                        );
                    }
                    const topic = typeof msg.topic === 'string' ? msg.topic.trim() : '';
                    const needsJid = op === 'subscribe' || op === 'unsubscribe' || op === 'approve' || op === 'deny';
                    if (needsJid && topic === '')
                        throw new NodeError('BAD_INPUT', `Operation "${op}" needs the peer's JID in msg.topic`);
                    switch (op) {
                        case 'subscribe':
                            await session.subscribe(topic);
                            break;
                        case 'unsubscribe':
                            await session.unsubscribe(topic);
                            break;
                        case 'approve':
                        case 'deny':
                            await session.answerSubscription(topic, op === 'approve');
                            break;
                        case 'set':
                            await session.setPresence(ownPresence(msg.payload));
                            break;
                        case 'roster':
                            msg.payload = session.roster;
                            (msg as Record<string, unknown>).xmpp = { event: 'roster' };
                            send(msg);
                            break;
                        case 'get': {
                            if (topic) {
                                const bare = topic.split('/')[0] as string;
                                msg.payload = summary(bare, session.presenceOf(topic));
                            } else {
                                const byBare = new Map<string, PeerPresence[]>();
                                for (const p of session.peers) byBare.set(p.bare, [...(byBare.get(p.bare) ?? []), p]);
                                msg.payload = [...byBare.entries()].map(([bare, rs]) =>
                                    summary(
                                        bare,
                                        rs.sort((a, b) => b.priority - a.priority),
                                    ),
                                );
                            }
                            (msg as Record<string, unknown>).xmpp = { event: 'snapshot' };
                            send(msg);
                            break;
                        }
                    }
                    done();
                } catch (err) {
                    done(withCode(err));
                }
            },
        );

        this.on('close', (_removed: boolean, done: () => void) => {
            session.off('presence', onPresence);
            session.off('subscription', onSubscription);
            session.off('roster', onRoster);
            account.release(this).then(done, done);
        });
    }

    RED.nodes.registerType('xmpp-presence', XmppPresence as unknown as Parameters<typeof RED.nodes.registerType>[1]);
};
