import { el, type XmlElement } from '../xml';
import { StanzaError } from '../xmpp';
import { GENERATIONS, generationOf } from './generations';
import { parseBoolean } from './lexical';
import {
    CATEGORIES,
    type Category,
    type Generation,
    HISTORICAL_PERIODS,
    type HistoricalPeriod,
    type NodeRef,
    type Tokens,
} from './model';

/**
 * XEP-0324 provisioning, device side: what a device sends to its provisioning server and reads back, and the
 * server's pushes it must understand. G0 `urn:xmpp:sn:provisioning` (XEP-0324 v0.1), G1
 * `urn:xmpp:iot:provisioning` (v0.2 to v0.5.1), G2/G3 `urn:{ieee|nf|nfi}:iot:prov:d:1.0` (IEEE/NF
 * ProvisioningDevice.xsd). Wire facts: docs/design/xmpp-iot-g0-g1.md §6 and xmpp-iot-g2-g3.md §9.1.
 * Section references below are to XEP-0324 v0.5.1 unless marked otherwise.
 *
 * | Element | Direction, carrier | Section |
 * |---|---|---|
 * | `isFriend` / `isFriendResponse` | device → server, IQ get / result | §3.2.1 Friendship request accepted, §3.2.2 rejected |
 * | `unfriend` | server → device, message | §3.2.3 Unfriending existing friends |
 * | `friend` (v0.1 XSD: `Friend`) | server → device, message | §3.2.4 Recommending friendships |
 * | `canRead` / `canReadResponse` | device → server, IQ get / result | §3.3.1 Rejecting read-outs, §3.3.2 Restricting nodes, §3.3.3 Restricting fields |
 * | `canControl` / `canControlResponse` | device → server, IQ get / result | §3.4.1 Rejecting control actions, §3.4.2 Restricting nodes, §3.4.3 Restricting parameters |
 * | `clearCache` / `clearCacheResponse` | server → device, IQ set (get in v0.1/v0.2) / result | §3.5.1 Clear cache |
 *
 * Readers throw StanzaError('bad-request', text) for anything they cannot use (missing `result`, an element
 * they do not know inside an answer, a node without id), so a malformed answer is an error and never a crash.
 */

// ---- types ----

export interface IsFriendResult {
    /** The JID the answer is about (required by the XSDs; absent when the server left it out). */
    jid?: string;
    result: boolean;
    /** G0/G1 only: the device may ask its owner itself when `result` is false (§3.1.4 Delegating Secondary Trust). */
    secondaryTrustAllowed?: boolean;
}

/** A readout to check (built from the XEP-0323 request the device received). */
export interface CanReadRequest {
    /** The requester; sent as a bare JID (any resource is removed). */
    jid: string;
    categories: Category[];
    /** Every category (`all='true'` instead of the flags). */
    all?: boolean;
    /** G0/G1 historical sub-periods (G2/G3 have only `h`, sent when any is present). */
    historicalPeriods?: HistoricalPeriod[];
    nodes?: NodeRef[];
    fields?: string[];
    tokens?: Tokens;
}

/**
 * The server's answer. When `result` is true, `nodes`, `fields` and the categories narrow the request: an
 * absent list means "everything requested" (§3.3.2 note); when false, nothing may be read and the narrowing
 * is not reported.
 */
export interface CanReadResult {
    jid?: string;
    result: boolean;
    nodes?: NodeRef[];
    fields?: string[];
    /** The categories allowed; undefined when the answer carries no category attribute. */
    categories?: Category[];
    all?: boolean;
    historicalPeriods?: HistoricalPeriod[];
}

/** A control action to check (built from the XEP-0325 set the device received). */
export interface CanControlRequest {
    jid: string;
    nodes?: NodeRef[];
    parameters?: string[];
    tokens?: Tokens;
}

/** As CanReadResult: when true, `nodes` and `parameters` narrow the request (absent: all allowed). */
export interface CanControlResult {
    jid?: string;
    result: boolean;
    nodes?: NodeRef[];
    parameters?: string[];
}

/**
 * A push from a provisioning server. `from` is the stanza's sender: the engine must act only on pushes from
 * its trusted server (§3.2.3 for unfriend; DERlink applies the same rule to friend and clearCache).
 * - friend: the server recommends befriending `jid` (send it a subscription, optionally after isFriend);
 * - unfriend: remove the friendship with `jid` (send `unsubscribed`);
 * - clearCache: forget every cached answer; an IQ must be answered with `clearCacheAnswer()`. G3 may name a
 *   node whose rules changed (`node`).
 */
export type ProvisioningEvent =
    | { kind: 'friend'; jid: string; from?: string }
    | { kind: 'unfriend'; jid: string; from?: string }
    | { kind: 'clearCache'; carrier: 'iq' | 'message'; from?: string; node?: NodeRef };

export interface ProvisioningCodec {
    readonly generation: Generation;
    /** The namespace this codec writes. */
    readonly ns: string;

    /** `<isFriend jid/>` for an IQ get (§3.2.1). */
    isFriend(jid: string): XmlElement;
    /** Reads the payload of the IQ result of isFriend. */
    readIsFriend(payload: XmlElement | undefined): IsFriendResult;
    /** `<canRead …/>` for an IQ get (§3.3). */
    canRead(request: CanReadRequest): XmlElement;
    readCanRead(payload: XmlElement | undefined): CanReadResult;
    /** `<canControl …/>` for an IQ get (§3.4). */
    canControl(request: CanControlRequest): XmlElement;
    readCanControl(payload: XmlElement | undefined): CanControlResult;
    /**
     * Reads a stanza (`<message>`, or an `<iq>` get/set) from a provisioning server into events; empty when it
     * carries nothing of this namespace. friend/unfriend are read from messages, clearCache from both.
     */
    readPush(stanza: XmlElement): ProvisioningEvent[];
    /** The IQ result payload answering clearCache: `<clearCacheResponse/>` (G0/G1), undefined (empty result, G2/G3). */
    clearCacheAnswer(): XmlElement | undefined;
}

// ---- shared helpers ----

function bad(text: string): StanzaError {
    return new StanzaError('bad-request', text);
}

function bareJid(jid: string): string {
    const slash = jid.indexOf('/');
    return slash === -1 ? jid : jid.slice(0, slash);
}

function defined<T extends object>(o: T): T {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
    return out as T;
}

function boolAttr(e: XmlElement, name: string): boolean | undefined {
    const text = e.attr(name);
    if (text === undefined) return undefined;
    const b = parseBoolean(text);
    if (b === undefined) throw bad(`${e.local}: attribute ${name} is not a boolean: '${text}'`);
    return b;
}

function requiredAttr(e: XmlElement, name: string, where: string): string {
    const v = e.attr(name);
    if (v === undefined || v === '') throw bad(`${where}: missing ${name} attribute`);
    return v;
}

function tokenList(list: readonly string[] | undefined): string | undefined {
    return list && list.length > 0 ? list.join(' ') : undefined;
}

/** The spellings that differ between G0/G1 and G2/G3. */
interface Dialect {
    node: { element: string; id: string; source: string; partition: string };
    field: { element: string; name: string };
    /** Parameter children written in canControl, then also accepted in answers. */
    parameter: { element: string; name: string };
    parameterAliases: Array<{ element: string; name: string }>;
    tokens: { service: string; device: string; user: string };
    /** Category attribute names, in CATEGORIES order. */
    categories: Record<Category, string>;
    /** G0/G1 `historicalSecond` … attributes. */
    periods: boolean;
    clearCacheResponse: boolean;
    /** Names the recommendation element may have (v0.1 XSD: `Friend`). */
    friend: string[];
}

const XEP_DIALECT: Dialect = {
    node: { element: 'node', id: 'nodeId', source: 'sourceId', partition: 'cacheType' },
    field: { element: 'field', name: 'name' },
    parameter: { element: 'parameter', name: 'name' },
    parameterAliases: [],
    // v0.1's XSD has a single `token`, but its examples, and every later version, use these three.
    tokens: { service: 'serviceToken', device: 'deviceToken', user: 'userToken' },
    categories: {
        momentary: 'momentary',
        peak: 'peak',
        status: 'status',
        computed: 'computed',
        identity: 'identity',
        historical: 'historical',
    },
    periods: true,
    clearCacheResponse: true,
    friend: ['friend', 'Friend'],
};

const NF_DIALECT: Dialect = {
    node: { element: 'nd', id: 'id', source: 'src', partition: 'pt' },
    field: { element: 'f', name: 'n' },
    // The XSD says `<p n>`; the only deployed client (IoTGateway) sends `<parameter name>`, which the deployed
    // service therefore understands. Both are read (G2/G3 note §13 #8).
    parameter: { element: 'parameter', name: 'name' },
    parameterAliases: [{ element: 'p', name: 'n' }],
    tokens: { service: 'st', device: 'dt', user: 'ut' },
    categories: { momentary: 'm', peak: 'p', status: 's', computed: 'c', identity: 'i', historical: 'h' },
    periods: false,
    clearCacheResponse: false,
    friend: ['friend'],
};

function periodAttr(p: HistoricalPeriod): string {
    return `historical${p[0]?.toUpperCase()}${p.slice(1)}`;
}

class ProvisioningCodecImpl implements ProvisioningCodec {
    readonly generation: Generation;
    readonly ns: string;
    readonly #accepted: ReadonlySet<string>;
    readonly #d: Dialect;

    constructor(generation: Generation, ns?: string) {
        const g = GENERATIONS[generation];
        this.generation = generation;
        this.#accepted = new Set([g.provisioning, ...g.aliases.provisioning]);
        this.ns = ns ?? g.provisioning;
        if (!this.#accepted.has(this.ns))
            throw new TypeError(`'${this.ns}' is not a ${generation} provisioning namespace`);
        this.#d = generation === 'G0' || generation === 'G1' ? XEP_DIALECT : NF_DIALECT;
    }

    // ---- requests ----

    isFriend(jid: string): XmlElement {
        return el('isFriend', { xmlns: this.ns, jid: bareJid(jid) });
    }

    canRead(request: CanReadRequest): XmlElement {
        const d = this.#d;
        const e = el('canRead', { xmlns: this.ns, jid: bareJid(request.jid), ...this.#tokenAttrs(request.tokens) });
        if (request.all) {
            e.attrs.all = 'true';
        } else {
            for (const c of CATEGORIES) if (request.categories.includes(c)) e.attrs[d.categories[c]] = 'true';
            const periods = request.historicalPeriods ?? [];
            if (d.periods) {
                for (const p of periods) e.attrs[periodAttr(p)] = 'true';
            } else if (periods.length > 0) {
                e.attrs[d.categories.historical] = 'true';
            }
        }
        e.append((request.nodes ?? []).map((n) => this.#nodeElement(n)));
        e.append((request.fields ?? []).map((f) => el(d.field.element, { [d.field.name]: f })));
        return e;
    }

    canControl(request: CanControlRequest): XmlElement {
        const d = this.#d;
        return el(
            'canControl',
            { xmlns: this.ns, jid: bareJid(request.jid), ...this.#tokenAttrs(request.tokens) },
            (request.nodes ?? []).map((n) => this.#nodeElement(n)),
            (request.parameters ?? []).map((p) => el(d.parameter.element, { [d.parameter.name]: p })),
        );
    }

    // ---- answers ----

    readIsFriend(payload: XmlElement | undefined): IsFriendResult {
        const e = this.#answer(payload, 'isFriendResponse');
        this.#noChildren(e, []);
        return defined({
            jid: e.attr('jid') || undefined,
            result: this.#result(e),
            secondaryTrustAllowed: this.#d.periods ? boolAttr(e, 'secondaryTrustAllowed') : undefined,
        });
    }

    readCanRead(payload: XmlElement | undefined): CanReadResult {
        const d = this.#d;
        const e = this.#answer(payload, 'canReadResponse');
        this.#noChildren(e, [d.node.element, d.field.element]);
        const result = this.#result(e);
        const nodes = e.childrenNamed(d.node.element).map((n) => this.#readNode(n));
        const fields = e
            .childrenNamed(d.field.element)
            .map((f) => requiredAttr(f, d.field.name, `canReadResponse/${d.field.element}`));
        // Categories: undefined unless the answer says something about them.
        let categories: Category[] | undefined;
        let periods: HistoricalPeriod[] | undefined;
        const all = boolAttr(e, 'all');
        for (const c of CATEGORIES) {
            const v = boolAttr(e, d.categories[c]);
            if (v === undefined) continue;
            categories ??= [];
            if (v) categories.push(c);
        }
        if (d.periods) {
            for (const p of HISTORICAL_PERIODS) {
                const v = boolAttr(e, periodAttr(p));
                if (v === undefined) continue;
                periods ??= [];
                if (v) periods.push(p);
            }
        }
        if (all) categories = [...CATEGORIES];
        const jid = e.attr('jid') || undefined;
        if (!result) return defined({ jid, result });
        return defined({
            jid,
            result,
            nodes: nodes.length > 0 ? nodes : undefined,
            fields: fields.length > 0 ? fields : undefined,
            categories,
            all,
            historicalPeriods: periods,
        });
    }

    readCanControl(payload: XmlElement | undefined): CanControlResult {
        const d = this.#d;
        const e = this.#answer(payload, 'canControlResponse');
        const kinds = [d.parameter, ...d.parameterAliases];
        this.#noChildren(e, [d.node.element, ...kinds.map((k) => k.element)]);
        const result = this.#result(e);
        const nodes = e.childrenNamed(d.node.element).map((n) => this.#readNode(n));
        const parameters: string[] = [];
        for (const c of e.elements()) {
            const kind = kinds.find((k) => k.element === c.local);
            if (kind) parameters.push(requiredAttr(c, kind.name, `canControlResponse/${c.local}`));
        }
        const jid = e.attr('jid') || undefined;
        if (!result) return defined({ jid, result });
        return defined({
            jid,
            result,
            nodes: nodes.length > 0 ? nodes : undefined,
            parameters: parameters.length > 0 ? parameters : undefined,
        });
    }

    // ---- pushes ----

    readPush(stanza: XmlElement): ProvisioningEvent[] {
        const from = stanza.attr('from') || undefined;
        const out: ProvisioningEvent[] = [];
        if (stanza.local === 'iq') {
            const type = stanza.attr('type');
            if (type !== 'get' && type !== 'set') return out;
            for (const c of stanza.elements()) {
                if (this.#accepted.has(c.ns) && c.local === 'clearCache') out.push(this.#clearCache(c, 'iq', from));
            }
            return out;
        }
        if (stanza.local !== 'message') return out;
        for (const c of stanza.elements()) {
            if (!this.#accepted.has(c.ns)) continue;
            if (this.#d.friend.includes(c.local)) {
                out.push(defined({ kind: 'friend', jid: requiredAttr(c, 'jid', c.local), from }));
            } else if (c.local === 'unfriend') {
                out.push(defined({ kind: 'unfriend', jid: requiredAttr(c, 'jid', c.local), from }));
            } else if (c.local === 'clearCache') {
                out.push(this.#clearCache(c, 'message', from));
            }
        }
        return out;
    }

    clearCacheAnswer(): XmlElement | undefined {
        return this.#d.clearCacheResponse ? el('clearCacheResponse', { xmlns: this.ns }) : undefined;
    }

    // ---- helpers ----

    #tokenAttrs(tokens: Tokens | undefined): Record<string, string> {
        const t = this.#d.tokens;
        return defined({
            [t.service]: tokenList(tokens?.service),
            [t.device]: tokenList(tokens?.device),
            [t.user]: tokenList(tokens?.user),
        }) as Record<string, string>;
    }

    #nodeElement(n: NodeRef): XmlElement {
        const k = this.#d.node;
        return el(k.element, { [k.id]: n.nodeId, [k.source]: n.sourceId, [k.partition]: n.partition || undefined });
    }

    #readNode(e: XmlElement): NodeRef {
        const k = this.#d.node;
        return defined({
            nodeId: requiredAttr(e, k.id, `${e.parent?.local ?? ''}/${e.local}`),
            sourceId: e.attr(k.source) || undefined,
            partition: e.attr(k.partition) || undefined,
        });
    }

    #answer(payload: XmlElement | undefined, expected: string): XmlElement {
        if (!payload) throw bad(`empty result, expected <${expected}>`);
        if (payload.local !== expected) throw bad(`expected <${expected}>, got <${payload.local}>`);
        if (!this.#accepted.has(payload.ns)) {
            throw bad(`<${expected}> is in namespace '${payload.ns}', expected '${this.ns}'`);
        }
        return payload;
    }

    #result(e: XmlElement): boolean {
        const text = e.attr('result');
        if (text === undefined) throw bad(`${e.local}: missing result attribute`);
        const b = parseBoolean(text);
        if (b === undefined) throw bad(`${e.local}: result is not a boolean: '${text}'`);
        return b;
    }

    #noChildren(e: XmlElement, allowed: readonly string[]): void {
        for (const c of e.elements()) {
            if (!allowed.includes(c.local) || !this.#accepted.has(c.ns)) {
                throw bad(`${e.local}: unexpected child <${c.local}>${c.ns !== e.ns ? ` in namespace '${c.ns}'` : ''}`);
            }
        }
    }

    #clearCache(c: XmlElement, carrier: 'iq' | 'message', from: string | undefined): ProvisioningEvent {
        const k = this.#d.node;
        // G3 (ProvisioningDevice.xsd `optionalNodeIdentity`) may name the node whose rules changed.
        const nodeId = this.#d === NF_DIALECT ? c.attr(k.id) : undefined;
        const node = nodeId
            ? defined({ nodeId, sourceId: c.attr(k.source) || undefined, partition: c.attr(k.partition) || undefined })
            : undefined;
        return defined({ kind: 'clearCache' as const, carrier, from, node });
    }
}

const CODECS = new Map<string, ProvisioningCodec>();
for (const g of Object.values(GENERATIONS)) {
    for (const ns of [g.provisioning, ...g.aliases.provisioning]) {
        CODECS.set(ns, new ProvisioningCodecImpl(g.generation, ns));
    }
}

/** The device-side provisioning codec of a generation (G3 writes `urn:nf:iot:prov:d:1.0`). */
export function provisioningCodec(generation: Generation): ProvisioningCodec {
    return CODECS.get(GENERATIONS[generation].provisioning) as ProvisioningCodec;
}

/** The codec for a provisioning namespace (writing that spelling), or undefined for any other namespace. */
export function provisioningCodecFor(ns: string): ProvisioningCodec | undefined {
    return generationOf('provisioning', ns) === undefined ? undefined : CODECS.get(ns);
}
