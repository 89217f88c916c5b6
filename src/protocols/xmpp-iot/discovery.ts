import { el } from '../xml';
import { NS, type Session, tryParseJid, XmppError } from '../xmpp';
import { bestGeneration, type Role } from './generations';
import type { Generation } from './model';

/** How long a peer's disco#info answer is trusted. */
const TTL_MS = 10 * 60 * 1000;

interface Entry {
    features: string[];
    at: number;
}

/**
 * Which XMPP IoT generation a peer speaks, from its disco#info features (XEP-0030), cached per
 * full JID. A peer that advertises none of a role's namespaces is an error the caller can show
 * ("the device advertises no sensor-data namespace"), unless a generation was chosen by hand.
 */
export class GenerationDiscovery {
    readonly #session: Session;
    readonly #cache = new Map<string, Entry>();
    readonly #inflight = new Map<string, Promise<string[]>>();

    constructor(session: Session) {
        this.#session = session;
    }

    /** The peer's features (cached); rejects like Session.request does. */
    features(jid: string, timeoutMs = 10_000): Promise<string[]> {
        const key = tryParseJid(jid)?.full ?? jid;
        const hit = this.#cache.get(key);
        if (hit && Date.now() - hit.at < TTL_MS) return Promise.resolve(hit.features);
        const running = this.#inflight.get(key);
        if (running) return running;
        const query = this.#session
            .request(key, 'get', el('query', { xmlns: NS.DISCO_INFO }), { timeoutMs })
            .then((answer) => {
                const features = (answer?.childrenNamed('feature') ?? [])
                    .map((f) => f.attr('var'))
                    .filter((v): v is string => typeof v === 'string');
                this.#cache.set(key, { features, at: Date.now() });
                return features;
            })
            .finally(() => this.#inflight.delete(key));
        this.#inflight.set(key, query);
        return query;
    }

    /** The best generation of `role` the peer advertises. */
    async generation(jid: string, role: Role, timeoutMs?: number): Promise<Generation> {
        const features = await this.features(jid, timeoutMs);
        const g = bestGeneration(role, features);
        if (!g) {
            throw new XmppError(
                'NOT_SUPPORTED',
                `${jid} advertises no XMPP IoT ${role === 'sensorData' ? 'sensor-data' : role} namespace in disco#info; choose a generation explicitly to try anyway`,
            );
        }
        return g;
    }

    /** Forgets what a peer said (after it went offline, or an answer that did not fit). */
    forget(jid: string): void {
        this.#cache.delete(tryParseJid(jid)?.full ?? jid);
    }
}
