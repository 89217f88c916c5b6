import { el, type XmlElement } from '../xml';
import type { JidMatcher } from './access';
import { tryParseJid } from './jid';
import {
    acceptsSubscription,
    type PeerPresence,
    parsePresence,
    type RosterItem,
    type SubscriptionPolicy,
} from './roster';
import type { SubscriptionEvent } from './session-types';

export interface PresenceBookHooks {
    policy: SubscriptionPolicy;
    allowlist: JidMatcher;
    /** Subscribe back after approving a subscription. */
    mutual: boolean;
    /** Sends a presence stanza on the account's behalf. */
    send(stanza: XmlElement): void;
    onPresence(presence: PeerPresence): void;
    onRoster(items: RosterItem[]): void;
    onSubscription(event: SubscriptionEvent): void;
}

/**
 * The account's view of the others (RFC 6121): its roster, the presence of each peer's
 * resources, and the answers to subscription requests under the account's policy.
 */
export class PresenceBook {
    readonly #h: PresenceBookHooks;
    readonly #roster = new Map<string, RosterItem>();
    readonly #peers = new Map<string, Map<string, PeerPresence>>();

    constructor(hooks: PresenceBookHooks) {
        this.#h = hooks;
    }

    get roster(): RosterItem[] {
        return [...this.#roster.values()];
    }

    /** A contact that sees our presence (subscription "from" or "both"). */
    isContact(bare: string): boolean {
        const s = this.#roster.get(bare)?.subscription;
        return s === 'from' || s === 'both';
    }

    /** The roster as fetched at login (RFC 6121 §2.2). */
    setRoster(items: readonly RosterItem[]): void {
        this.#roster.clear();
        for (const item of items) this.#roster.set(item.jid, item);
        this.#h.onRoster(this.roster);
    }

    /** A roster push (RFC 6121 §2.1.6). */
    applyPush(items: readonly RosterItem[]): void {
        for (const item of items) {
            if (item.subscription === 'remove') this.#roster.delete(item.jid);
            else this.#roster.set(item.jid, item);
        }
        this.#h.onRoster(this.roster);
    }

    /** Every known available resource of every peer. */
    get peers(): PeerPresence[] {
        const out: PeerPresence[] = [];
        for (const resources of this.#peers.values()) out.push(...resources.values());
        return out;
    }

    /** The peer's available resources, highest priority first. */
    presenceOf(jid: string): PeerPresence[] {
        const j = tryParseJid(jid);
        if (!j) return [];
        const all = [...(this.#peers.get(j.bare)?.values() ?? [])];
        return (j.resource ? all.filter((p) => p.jid === j.full) : all).sort((a, b) => b.priority - a.priority);
    }

    /**
     * Handles a subscription stanza (subscribe, subscribed, unsubscribe, unsubscribed);
     * returns false for any other presence. A `subscribe` is answered by the policy
     * (RFC 6121 §3.1.3), and when approved the account subscribes back unless it already does.
     */
    subscription(stanza: XmlElement): boolean {
        const type = stanza.attr('type');
        if (type !== 'subscribe' && type !== 'subscribed' && type !== 'unsubscribe' && type !== 'unsubscribed')
            return false;
        const from = tryParseJid(stanza.attr('from'));
        if (!from) return true;
        if (type !== 'subscribe') {
            this.#h.onSubscription({ from: from.bare, type });
            return true;
        }
        const answer = (approved: boolean | undefined) => {
            if (approved === undefined) {
                // Left to the owner: no answer now; the flow approves or denies (answerSubscription).
                this.#h.onSubscription({ from: from.bare, type, pending: true });
                return;
            }
            this.#h.send(el('presence', { to: from.bare, type: approved ? 'subscribed' : 'unsubscribed' }));
            const item = this.#roster.get(from.bare);
            const alreadyAsked =
                item?.subscription === 'to' || item?.subscription === 'both' || item?.ask === 'subscribe';
            if (approved && this.#h.mutual && !alreadyAsked) {
                this.#h.send(el('presence', { to: from.bare, type: 'subscribe' }));
            }
            this.#h.onSubscription({ from: from.bare, type, approved });
        };
        const policy = () => acceptsSubscription(this.#h.policy, this.#h.allowlist, from.full);
        const decider = this.decider;
        if (!decider) {
            answer(policy());
        } else {
            // A delegate (e.g. an XEP-0324 provisioning server) decides; undefined leaves it to the policy.
            Promise.resolve()
                .then(() => decider(from.full))
                .then(
                    (verdict) => answer(verdict ?? policy()),
                    () => answer(false),
                );
        }
        return true;
    }

    /** Who decides subscription requests instead of the account's policy (XEP-0324 isFriend). */
    decider: ((from: string) => boolean | undefined | Promise<boolean | undefined>) | undefined;

    /** An available or unavailable presence of a peer (ours, `self`, is skipped). */
    update(stanza: XmlElement, self: string | undefined): void {
        const presence = parsePresence(stanza);
        if (!presence || presence.jid === self) return;
        let resources = this.#peers.get(presence.bare);
        if (presence.available) {
            resources ??= new Map<string, PeerPresence>();
            this.#peers.set(presence.bare, resources);
            resources.set(presence.jid, presence);
        } else if (resources) {
            resources.delete(presence.jid);
            if (resources.size === 0) this.#peers.delete(presence.bare);
        }
        this.#h.onPresence(presence);
    }

    /**
     * A new session (not a resumed one): what we knew of the peers is stale. Each is reported
     * unavailable; the server sends the current presence again after our initial presence.
     */
    reset(): void {
        const now = new Date().toISOString();
        const stale = this.peers;
        this.#peers.clear();
        for (const p of stale) this.#h.onPresence({ ...p, available: false, timestamp: now });
    }
}
