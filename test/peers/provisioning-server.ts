/**
 * A small XEP-0324 provisioning server for integration tests, on DERlink's own XMPP Session (the
 * client the engine tests use). It answers the three questions a device asks (isFriend, canRead,
 * canControl, IQ get) from a rule table the test sets, records and counts every question, and
 * pushes what a provisioning server pushes to a device (clearCache as an IQ set, friend and
 * unfriend as messages).
 *
 * The answers are written here by hand from the XEP-0324 v0.5.1 examples (G1,
 * `urn:xmpp:iot:provisioning`: `node nodeId`, `field name`, `parameter name`, long category flags)
 * and the Neuro-Foundation ProvisioningDevice.xsd (G3, `urn:nf:iot:prov:d:1.0`: `nd id`, `f n`,
 * `p n`, one-letter category flags); see docs/design/xmpp-iot-g0-g1.md §6 and xmpp-iot-g2-g3.md
 * §9.1. DERlink's provisioning codec is deliberately not used, so that a codec mistake is not
 * mirrored on both ends of the test.
 */
import { el, type XmlElement } from '../../src/protocols/xml';
import { type Disposable, type Session, StanzaError, tryParseJid } from '../../src/protocols/xmpp';

export type ProvisioningDialect = 'G1' | 'G3';

type CategoryName = 'momentary' | 'peak' | 'status' | 'computed' | 'identity' | 'historical';

/** A decision on canRead. Lists narrow the readout (XEP-0324 §3.3.2, §3.3.3); absent = everything asked. */
export interface ReadRule {
    allowed: boolean;
    /** Field names that may be read. */
    fields?: string[];
    /** Node ids that may be read. */
    nodes?: string[];
    /**
     * Categories that may be read: written as flags on the answer (`true` for these, `false` for
     * the others the question asked for, as in the §3.3.3 example). Absent: the question's flags
     * are echoed.
     */
    categories?: CategoryName[];
}

/** A decision on canControl. Lists narrow the operation (XEP-0324 §3.4.2, §3.4.3). */
export interface ControlRule {
    allowed: boolean;
    parameters?: string[];
    nodes?: string[];
}

export interface ProvisioningQuery {
    kind: 'isFriend' | 'canRead' | 'canControl';
    /** Who asked (the device's full JID). */
    from: string;
    /** The JID the question is about (its `jid` attribute, as sent). */
    jid: string;
    /** canRead: requested field names; canControl: parameter names. */
    names: string[];
    /** Requested node ids. */
    nodes: string[];
    /** canRead: the category flags set to true (their wire names). */
    flags: string[];
    stanza: XmlElement;
}

/**
 * How the server behaves: `answer` from the rules; `silent` never answers (a hung server);
 * `error` answers every question with internal-server-error.
 */
export type ProvisioningMode = 'answer' | 'silent' | 'error';

interface Dialect {
    ns: string;
    node: { element: string; id: string };
    field: { element: string; name: string };
    parameter: { element: string; name: string };
    categories: Record<CategoryName, string>;
    /** Further flags a canRead may carry (XEP-0324 copies all of XEP-0323's). */
    extraFlags: string[];
}

const DIALECTS: Readonly<Record<ProvisioningDialect, Dialect>> = {
    G1: {
        ns: 'urn:xmpp:iot:provisioning',
        node: { element: 'node', id: 'nodeId' },
        field: { element: 'field', name: 'name' },
        parameter: { element: 'parameter', name: 'name' },
        categories: {
            momentary: 'momentary',
            peak: 'peak',
            status: 'status',
            computed: 'computed',
            identity: 'identity',
            historical: 'historical',
        },
        extraFlags: [
            'all',
            'historicalSecond',
            'historicalMinute',
            'historicalHour',
            'historicalDay',
            'historicalWeek',
            'historicalMonth',
            'historicalQuarter',
            'historicalYear',
            'historicalOther',
        ],
    },
    G3: {
        ns: 'urn:nf:iot:prov:d:1.0',
        node: { element: 'nd', id: 'id' },
        field: { element: 'f', name: 'n' },
        parameter: { element: 'p', name: 'n' },
        categories: { momentary: 'm', peak: 'p', status: 's', computed: 'c', identity: 'i', historical: 'h' },
        extraFlags: ['all'],
    },
};

const DEFAULT = '*';

export class ProvisioningServerPeer {
    readonly dialect: ProvisioningDialect;
    readonly ns: string;
    /** isFriend answers by bare JID; `'*'` is the default. No rule: false. */
    readonly friends = new Map<string, boolean>();
    /** canRead rules by bare JID; `'*'` is the default. No rule: refused. */
    readonly read = new Map<string, ReadRule>();
    /** canControl rules by bare JID; `'*'` is the default. No rule: refused. */
    readonly control = new Map<string, ControlRule>();
    mode: ProvisioningMode = 'answer';
    /** Every question received, in order (also those not answered). */
    readonly queries: ProvisioningQuery[] = [];
    readonly #session: Session;
    readonly #d: Dialect;
    readonly #handles: Disposable[] = [];

    constructor(session: Session, options: { dialect?: ProvisioningDialect } = {}) {
        this.#session = session;
        this.dialect = options.dialect ?? 'G1';
        this.#d = DIALECTS[this.dialect];
        this.ns = this.#d.ns;
        this.#handles.push(session.addFeature(this.ns));
        for (const kind of ['isFriend', 'canRead', 'canControl'] as const) {
            this.#handles.push(
                session.handleIq('get', this.ns, kind, (r) => this.#question(kind, r.from, r.payload, r.stanza)),
            );
        }
    }

    /** The account's full JID (what a device is configured with). */
    get jid(): string {
        return this.#session.jid as string;
    }

    /** How many questions of a kind (or of every kind) were asked, optionally only about `about` (bare JID). */
    count(kind?: ProvisioningQuery['kind'], about?: string): number {
        return this.queries.filter((q) => (!kind || q.kind === kind) && (!about || bare(q.jid) === bare(about))).length;
    }

    /** XEP-0324 §3.5.1: tells a device to forget every cached answer (IQ set); resolves with the answer payload. */
    clearCache(device: string): Promise<XmlElement | undefined> {
        return this.#session.request(device, 'set', el('clearCache', { xmlns: this.ns }), { timeoutMs: 5000 });
    }

    /** XEP-0324 §3.2.4: recommends that `device` befriends `jid` (message). */
    friend(device: string, jid: string): Promise<void> {
        return this.#session.send(el('message', { to: device }, el('friend', { xmlns: this.ns, jid: bare(jid) })));
    }

    /** XEP-0324 §3.2.3: tells `device` to end its friendship with `jid` (message). */
    unfriend(device: string, jid: string): Promise<void> {
        return this.#session.send(el('message', { to: device }, el('unfriend', { xmlns: this.ns, jid: bare(jid) })));
    }

    dispose(): void {
        for (const h of this.#handles.splice(0)) h.dispose();
    }

    #question(
        kind: ProvisioningQuery['kind'],
        from: string,
        q: XmlElement,
        stanza: XmlElement,
    ): XmlElement | Promise<XmlElement> {
        const d = this.#d;
        const jid = q.attr('jid') ?? '';
        const names =
            kind === 'canRead'
                ? q.childrenNamed(d.field.element).map((f) => f.attr(d.field.name) ?? '')
                : q
                      .elements()
                      .filter((c) => c.local === d.parameter.element || c.local === 'parameter')
                      .map((p) => p.attr(d.parameter.name) ?? p.attr('name') ?? '');
        const flags = [...Object.values(d.categories), ...d.extraFlags].filter((f) => q.attr(f) === 'true');
        this.queries.push({
            kind,
            from,
            jid,
            names,
            nodes: q.childrenNamed(d.node.element).map((n) => n.attr(d.node.id) ?? ''),
            flags,
            stanza,
        });
        if (this.mode === 'silent') return new Promise<never>(() => undefined);
        if (this.mode === 'error') throw new StanzaError('internal-server-error', 'Rule engine unavailable');
        if (kind === 'isFriend') {
            const result = this.#rule(this.friends, jid) ?? false;
            return el('isFriendResponse', { xmlns: this.ns, jid, result: String(result) });
        }
        if (kind === 'canRead') return this.#canRead(q, jid);
        return this.#canControl(jid);
    }

    #canRead(q: XmlElement, jid: string): XmlElement {
        const d = this.#d;
        const rule = this.#rule(this.read, jid) ?? { allowed: false };
        const answer = el('canReadResponse', { xmlns: this.ns, jid });
        if (rule.categories) {
            for (const [name, attr] of Object.entries(d.categories) as Array<[CategoryName, string]>) {
                if (rule.categories.includes(name)) answer.attrs[attr] = 'true';
                else if (q.attr(attr) === 'true' || q.attr('all') === 'true') answer.attrs[attr] = 'false';
            }
        } else {
            for (const f of [...Object.values(d.categories), ...d.extraFlags]) {
                const v = q.attr(f);
                if (v !== undefined) answer.attrs[f] = v;
            }
        }
        answer.attrs.result = String(rule.allowed);
        if (rule.allowed) {
            for (const n of rule.nodes ?? []) answer.append(el(d.node.element, { [d.node.id]: n }));
            for (const f of rule.fields ?? []) answer.append(el(d.field.element, { [d.field.name]: f }));
        }
        return answer;
    }

    #canControl(jid: string): XmlElement {
        const d = this.#d;
        const rule = this.#rule(this.control, jid) ?? { allowed: false };
        const answer = el('canControlResponse', { xmlns: this.ns, jid, result: String(rule.allowed) });
        if (rule.allowed) {
            for (const n of rule.nodes ?? []) answer.append(el(d.node.element, { [d.node.id]: n }));
            for (const p of rule.parameters ?? []) answer.append(el(d.parameter.element, { [d.parameter.name]: p }));
        }
        return answer;
    }

    #rule<T>(table: Map<string, T>, jid: string): T | undefined {
        return table.get(bare(jid)) ?? table.get(DEFAULT);
    }
}

function bare(jid: string): string {
    return tryParseJid(jid)?.bare ?? jid;
}
