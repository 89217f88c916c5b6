import { el, type XmlElement } from '../xml';
import type { JidMatcher } from './access';
import { tryParseJid } from './jid';
import { NS } from './namespaces';

/** RFC 6121 §2.1.2.5: the subscription states of a roster item. */
export type Subscription = 'none' | 'to' | 'from' | 'both' | 'remove';

export interface RosterItem {
    jid: string;
    name?: string;
    subscription: Subscription;
    /** RFC 6121 §2.1.2.2: a subscription request of ours is pending. */
    ask?: 'subscribe';
    groups: string[];
}

const SUBSCRIPTIONS = new Set<Subscription>(['none', 'to', 'from', 'both', 'remove']);

/** Reads the items of a `<query xmlns='jabber:iq:roster'/>` (result or push); bad items are skipped. */
export function parseRosterQuery(query: XmlElement): RosterItem[] {
    const items: RosterItem[] = [];
    for (const item of query.childrenNamed('item', NS.ROSTER)) {
        const jid = tryParseJid(item.attr('jid'));
        if (!jid) continue;
        const sub = (item.attr('subscription') ?? 'none') as Subscription;
        const entry: RosterItem = {
            jid: jid.full,
            subscription: SUBSCRIPTIONS.has(sub) ? sub : 'none',
            groups: item.childrenNamed('group', NS.ROSTER).map((g) => g.text()),
        };
        const name = item.attr('name');
        if (name) entry.name = name;
        if (item.attr('ask') === 'subscribe') entry.ask = 'subscribe';
        items.push(entry);
    }
    return items;
}

export function rosterQuery(): XmlElement {
    return el('query', { xmlns: NS.ROSTER });
}

/**
 * How an account answers presence subscription requests from others: refuse them all, accept
 * an allowlist, accept everyone, or ask the owner (the flow answers with approve or deny; the
 * request waits at the server meanwhile, RFC 6121 §3.1.3) — the "friend" model of XEP-0324.
 */
export type SubscriptionPolicy = 'none' | 'allowlist' | 'all' | 'ask';

/** Whether to approve a `subscribe` from `from` under the account's policy; undefined: ask the owner. */
export function acceptsSubscription(
    policy: SubscriptionPolicy,
    allowlist: JidMatcher,
    from: string,
): boolean | undefined {
    if (policy === 'all') return true;
    if (policy === 'none') return false;
    if (policy === 'ask') return undefined;
    return allowlist.matches(from);
}

/** The latest presence of one resource of a peer. */
export interface PeerPresence {
    /** Full JID of the resource. */
    jid: string;
    bare: string;
    available: boolean;
    /** RFC 6121 §4.7.2.1: away, chat, dnd, xa; 'online' when absent. */
    show: 'online' | 'away' | 'chat' | 'dnd' | 'xa';
    status?: string;
    priority: number;
    /** When the presence arrived (ISO 8601 UTC). */
    timestamp: string;
}

const SHOWS = new Set(['away', 'chat', 'dnd', 'xa']);

/** Reads an available/unavailable presence stanza into a PeerPresence (undefined for other types). */
export function parsePresence(stanza: XmlElement, now = new Date()): PeerPresence | undefined {
    const type = stanza.attr('type');
    if (type !== undefined && type !== 'unavailable') return undefined;
    const jid = tryParseJid(stanza.attr('from'));
    if (!jid) return undefined;
    const show = stanza.childText('show');
    const priority = Number.parseInt(stanza.childText('priority') ?? '0', 10);
    const p: PeerPresence = {
        jid: jid.full,
        bare: jid.bare,
        available: type !== 'unavailable',
        show: show && SHOWS.has(show) ? (show as PeerPresence['show']) : 'online',
        priority: Number.isFinite(priority) ? Math.max(-128, Math.min(127, priority)) : 0,
        timestamp: now.toISOString(),
    };
    const status = stanza.childText('status');
    if (status) p.status = status;
    return p;
}

/** Our own presence: show, status and priority (RFC 6121 §4.7.2). */
export interface OwnPresence {
    show?: 'away' | 'chat' | 'dnd' | 'xa';
    status?: string;
    priority?: number;
}

export function presenceStanza(own: OwnPresence, attrs: Record<string, string | undefined> = {}): XmlElement {
    const priority = Math.max(-128, Math.min(127, Math.trunc(own.priority ?? 0)));
    return el(
        'presence',
        attrs,
        own.show ? el('show', {}, own.show) : undefined,
        own.status ? el('status', {}, own.status) : undefined,
        el('priority', {}, priority),
    );
}
