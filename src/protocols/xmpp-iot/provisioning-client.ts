import type { XmlElement } from '../xml';
import { type Disposable, type Session, tryParseJid, XmppError } from '../xmpp';
import { GenerationDiscovery } from './discovery';
import { namespacesOf } from './generations';
import type { Category, Generation, NodeRef, Tokens } from './model';
import {
    type ProvisioningCodec,
    type ProvisioningEvent,
    provisioningCodec,
    provisioningCodecFor,
} from './provisioning';

/** How long an answer of the provisioning server is reused (it can clear our cache at any time). */
const DEFAULT_TTL_MS = 60 * 60 * 1000;

export interface ReadVerdict {
    allowed: boolean;
    nodes?: NodeRef[];
    fields?: string[];
    categories?: Category[];
}

export interface ControlVerdict {
    allowed: boolean;
    nodes?: NodeRef[];
    parameters?: string[];
}

interface Cached<T> {
    value: T;
    at: number;
}

/**
 * The device side of XEP-0324 (and the IEEE/NF `prov:d` successor): a device delegates "may this
 * JID be a friend / read / control" to a provisioning server and caches the answers until the
 * server clears them. The server's friend / unfriend recommendations are carried out; pushes
 * from anyone but the configured server are ignored. If the server cannot be reached, the
 * answer is "no" (deny by default) and the error is reported.
 */
export class ProvisioningClient {
    readonly server: string;
    readonly #session: Session;
    readonly #discovery: GenerationDiscovery;
    readonly #generation: Generation | 'auto';
    readonly #ttl: number;
    readonly #timeoutMs: number;
    readonly #cache = new Map<string, Cached<unknown>>();
    readonly #handles: Disposable[] = [];
    #codec: ProvisioningCodec | undefined;
    /** Told about pushes carried out and servers that could not be asked. */
    onEvent: ((e: { kind: 'friend' | 'unfriend' | 'clearCache' | 'unreachable'; detail: string }) => void) | undefined;

    constructor(
        session: Session,
        server: string,
        options: { generation?: Generation | 'auto'; ttlMs?: number; timeoutMs?: number } = {},
    ) {
        const jid = tryParseJid(server);
        if (!jid) throw new XmppError('BAD_INPUT', `"${server}" is not the JID of a provisioning server`);
        this.server = jid.full;
        this.#session = session;
        this.#discovery = new GenerationDiscovery(session);
        this.#generation = options.generation ?? 'auto';
        this.#ttl = options.ttlMs ?? DEFAULT_TTL_MS;
        this.#timeoutMs = options.timeoutMs ?? 10_000;
        for (const { ns } of namespacesOf('provisioning')) {
            for (const name of ['friend', 'Friend', 'unfriend', 'clearCache']) {
                this.#handles.push(session.handleMessage(ns, name, (m) => this.#onPush(m.stanza)));
            }
            for (const type of ['get', 'set'] as const) {
                this.#handles.push(
                    session.handleIq(type, ns, 'clearCache', (r) => {
                        this.#onPush(r.stanza);
                        return (provisioningCodecFor(ns) ?? provisioningCodec('G1')).clearCacheAnswer();
                    }),
                );
            }
        }
    }

    /** May `jid` become a friend (a presence subscription)? */
    isFriend(jid: string): Promise<boolean> {
        const bare = tryParseJid(jid)?.bare ?? jid;
        return this.#ask(
            `friend ${bare}`,
            async (codec) => codec.readIsFriend(await this.#request(codec.isFriend(bare))).result,
            false,
        );
    }

    /** May `from` read this, and what of it? */
    canRead(
        from: string,
        r: { nodes?: NodeRef[]; fields?: string[]; categories?: Category[]; all?: boolean; tokens?: Tokens },
    ): Promise<ReadVerdict> {
        const key = `read ${tryParseJid(from)?.bare ?? from} ${JSON.stringify([r.nodes ?? [], r.fields ?? [], r.categories ?? [], r.all ?? false, r.tokens ?? {}])}`;
        return this.#ask(
            key,
            async (codec) => {
                const answer = codec.readCanRead(
                    await this.#request(
                        codec.canRead({
                            jid: from,
                            categories: r.categories ?? [],
                            ...(r.all ? { all: true } : {}),
                            ...(r.nodes ? { nodes: r.nodes } : {}),
                            ...(r.fields ? { fields: r.fields } : {}),
                            ...(r.tokens ? { tokens: r.tokens } : {}),
                        }),
                    ),
                );
                return {
                    allowed: answer.result,
                    ...(answer.nodes ? { nodes: answer.nodes } : {}),
                    ...(answer.fields ? { fields: answer.fields } : {}),
                    ...(answer.categories ? { categories: answer.categories } : {}),
                };
            },
            { allowed: false },
        );
    }

    /** May `from` set these parameters, and which of them? */
    canControl(
        from: string,
        r: { nodes?: NodeRef[]; parameters?: string[]; tokens?: Tokens },
    ): Promise<ControlVerdict> {
        const key = `control ${tryParseJid(from)?.bare ?? from} ${JSON.stringify([r.nodes ?? [], r.parameters ?? [], r.tokens ?? {}])}`;
        return this.#ask(
            key,
            async (codec) => {
                const answer = codec.readCanControl(
                    await this.#request(
                        codec.canControl({
                            jid: from,
                            ...(r.nodes ? { nodes: r.nodes } : {}),
                            ...(r.parameters ? { parameters: r.parameters } : {}),
                            ...(r.tokens ? { tokens: r.tokens } : {}),
                        }),
                    ),
                );
                return {
                    allowed: answer.result,
                    ...(answer.nodes ? { nodes: answer.nodes } : {}),
                    ...(answer.parameters ? { parameters: answer.parameters } : {}),
                };
            },
            { allowed: false },
        );
    }

    clearCache(): void {
        this.#cache.clear();
    }

    dispose(): void {
        for (const h of this.#handles.splice(0)) h.dispose();
        this.#cache.clear();
    }

    async #codecFor(): Promise<ProvisioningCodec> {
        if (!this.#codec) {
            const generation =
                this.#generation === 'auto'
                    ? await this.#discovery.generation(this.server, 'provisioning', this.#timeoutMs)
                    : this.#generation;
            this.#codec = provisioningCodec(generation);
        }
        return this.#codec;
    }

    async #request(payload: XmlElement): Promise<XmlElement | undefined> {
        return this.#session.request(this.server, 'get', payload, { timeoutMs: this.#timeoutMs });
    }

    /** A cached answer, or the server's; an unreachable server means "no", and says so. */
    async #ask<T>(key: string, fetch: (codec: ProvisioningCodec) => Promise<T>, denied: T): Promise<T> {
        const hit = this.#cache.get(key) as Cached<T> | undefined;
        if (hit && Date.now() - hit.at < this.#ttl) return hit.value;
        try {
            const value = await fetch(await this.#codecFor());
            this.#cache.set(key, { value, at: Date.now() });
            return value;
        } catch (err) {
            this.onEvent?.({
                kind: 'unreachable',
                detail: `Provisioning server ${this.server} did not decide (${(err as Error).message}); denied`,
            });
            return denied;
        }
    }

    #onPush(stanza: XmlElement): void {
        const from = tryParseJid(stanza.attr('from'));
        const server = tryParseJid(this.server);
        if (!from || !server || from.bare !== server.bare) return; // §3.2.3: only the trusted server may push
        for (const child of stanza.elements()) {
            const codec = provisioningCodecFor(child.ns);
            if (!codec) continue;
            let events: ProvisioningEvent[];
            try {
                events = codec.readPush(stanza);
            } catch {
                continue;
            }
            for (const e of events) this.#apply(e);
            return;
        }
    }

    #apply(e: ProvisioningEvent): void {
        if (e.kind === 'clearCache') {
            this.#cache.clear();
            this.onEvent?.({ kind: 'clearCache', detail: e.node ? `node ${e.node.nodeId}` : 'all' });
        } else if (e.kind === 'friend') {
            // §3.2.4: the server recommends a friendship; ask for the peer's presence.
            this.#cache.delete(`friend ${e.jid}`);
            void this.#session.subscribe(e.jid).catch(() => undefined);
            this.onEvent?.({ kind: 'friend', detail: e.jid });
        } else {
            // §3.2.3: end the friendship both ways.
            this.#cache.delete(`friend ${e.jid}`);
            void this.#session.answerSubscription(e.jid, false).catch(() => undefined);
            void this.#session.unsubscribe(e.jid).catch(() => undefined);
            this.onEvent?.({ kind: 'unfriend', detail: e.jid });
        }
    }
}

const shared = new WeakMap<Session, Map<string, ProvisioningClient>>();

/** One provisioning client per account and server, shared by the nodes of that account. */
export function provisioningClient(session: Session, server: string): ProvisioningClient {
    let byServer = shared.get(session);
    if (!byServer) {
        byServer = new Map();
        shared.set(session, byServer);
    }
    const key = tryParseJid(server)?.full ?? server;
    let client = byServer.get(key);
    if (!client) {
        client = new ProvisioningClient(session, key);
        byServer.set(key, client);
    }
    return client;
}
