import { el, type XmlAttrInput, type XmlElement } from '../../xml';
import type { StanzaError } from '../../xmpp/errors';
import type { SensorDataCodec } from '../codec';
import { GENERATIONS, namespacesOf } from '../generations';
import { formatDateTime, parseBoolean, parseDateTime } from '../lexical';
import {
    CATEGORIES,
    type Category,
    type Field,
    type FieldType,
    type NodeRef,
    QUALITIES,
    type Quality,
    type ReadoutError,
    type ReadoutEvent,
    type ReadoutRequest,
    type WireTime,
} from '../model';
import {
    badRequest,
    checkTime,
    fieldValueText,
    groupByNodeAndTime,
    joinTokens,
    type NodeGroup,
    now,
    optionalNodeRef,
    ordered,
    readFieldValue,
    readNodeRef,
    readTokens,
    requestFlag,
    requestTime,
} from './g01';

/**
 * Sensor data of the IEEE P1451.99 (G2, `urn:ieee:iot:sd:1.0`) and Neuro-Foundation (G3,
 * `urn:nf:iot:sd:1.0`, docs also `urn:nfi:iot:sd:1.0`) generations: one wire format under several
 * namespaces. Wire facts: docs/design/xmpp-iot-g2-g3.md §3, §4, §11-§13.
 *
 * Rules where the references leave a choice:
 * - readEvent reads `accepted`, `started`, `resp` and `done` in ANY G2/G3 sd namespace (IoTGateway
 *   answers `resp` in urn:nf:iot:sd:1.0 whatever the request namespace, §13 #1; its client matches
 *   by id in any of them); every other element gives undefined. readRequest/readCancel take the
 *   namespaces of this codec's generation (aliases included).
 * - A request with `all` false and no category (and no historical period) is sent `all="true"`:
 *   IoTGateway filters strictly and would send no categorised field at all (§4.8). G0/G1
 *   historical sub-periods collapse to `h`.
 * - Times are written in UTC with Z (`ts v`, `dt` values, `from`/`to`/`when`); zoneless values are
 *   read as local time and flagged. Beware §13 #15 (IoTGateway compares a Z `when` as local time).
 * - data(): the XSD lets one `<resp>` hold either `<nd>` or `<ts>`, never both. Fields and errors
 *   with a node go in a first `<resp>` (grouped by `nd`, then `ts`), node-less ones in a second
 *   `<resp>` of `<ts>` directly; every `<resp>` but the last of a `last` call has more="true".
 *   Errors are `<err>` in the `<ts>` of their node and instant, after the fields.
 * - `u` is written only when the unit is not empty; `t` (required on `e`) always, empty when the
 *   model has none; an empty `u`/`t` is read as none.
 * - A `<ts>` whose `v` is not a date-time: its fields are skipped, its `<err>` messages kept with
 *   the time they were decoded.
 */

const FIELD_ELEMENTS: ReadonlyMap<string, FieldType> = new Map<string, FieldType>([
    ['q', 'numeric'],
    ['s', 'string'],
    ['b', 'boolean'],
    ['d', 'date'],
    ['dt', 'dateTime'],
    ['dr', 'duration'],
    ['e', 'enum'],
    ['i', 'int'],
    ['l', 'long'],
    ['t', 'time'],
]);

const ELEMENT_OF: Readonly<Record<FieldType, string>> = Object.freeze({
    numeric: 'q',
    string: 's',
    boolean: 'b',
    date: 'd',
    dateTime: 'dt',
    duration: 'dr',
    enum: 'e',
    int: 'i',
    long: 'l',
    time: 't',
});

const CATEGORY_LETTERS: Readonly<Record<Category, string>> = Object.freeze({
    momentary: 'm',
    peak: 'p',
    status: 's',
    computed: 'c',
    identity: 'i',
    historical: 'h',
});

const QOS_NAMES: Readonly<Record<Quality, string>> = Object.freeze({
    missing: 'ms',
    inProgress: 'pr',
    automaticEstimate: 'ae',
    manualEstimate: 'me',
    manualReadout: 'mr',
    automaticReadout: 'ar',
    timeOffset: 'of',
    warning: 'w',
    error: 'er',
    signed: 'so',
    invoiced: 'iv',
    endOfSeries: 'eos',
    powerFailure: 'pf',
    invoiceConfirmed: 'ic',
});

/** Every G2/G3 sensor-data namespace (ieee, nf, nfi). */
const FAMILY: ReadonlySet<string> = new Set(
    namespacesOf('sensorData')
        .filter((x) => x.generation === 'G2' || x.generation === 'G3')
        .map((x) => x.ns),
);

function utc(t: WireTime): string {
    return formatDateTime(t.date, 'utc');
}

export class IotSensorDataCodec implements SensorDataCodec {
    readonly generation: 'G2' | 'G3';
    readonly ns: string;
    /** The namespaces of this generation accepted on requests and cancels. */
    readonly #own: ReadonlySet<string>;

    /** `ns` picks the spelling this instance writes (default: the generation's main namespace). */
    constructor(generation: 'G2' | 'G3', ns?: string) {
        if (generation !== 'G2' && generation !== 'G3') throw new Error(`IotSensorDataCodec: not G2/G3: ${generation}`);
        const g = GENERATIONS[generation];
        this.#own = new Set([g.sensorData, ...g.aliases.sensorData]);
        if (ns !== undefined && !this.#own.has(ns))
            throw new Error(`${ns} is not a ${generation} sensor-data namespace`);
        this.generation = generation;
        this.ns = ns ?? g.sensorData;
    }

    // ---- client side ----

    request(req: ReadoutRequest): XmlElement {
        if (typeof req.id !== 'string' || req.id === '') throw new Error('Readout request: the id must not be empty');
        const attrs: Record<string, XmlAttrInput> = { xmlns: this.ns, id: req.id };
        const cats = new Set(req.categories);
        if ((req.historicalPeriods ?? []).length > 0) cats.add('historical');
        for (const c of ordered(CATEGORIES, cats)) attrs[CATEGORY_LETTERS[c]] = 'true';
        if (req.all || cats.size === 0) attrs.all = 'true';
        for (const name of ['from', 'to', 'when'] as const) {
            const t = checkTime(req[name], name);
            if (t) attrs[name] = utc(t);
        }
        attrs.st = joinTokens(req.tokens?.service);
        attrs.dt = joinTokens(req.tokens?.device);
        attrs.ut = joinTokens(req.tokens?.user);
        return el(
            'req',
            attrs,
            req.nodes.map((n) => el('nd', this.#nodeAttrs(n))),
            req.fields.map((n) => el('f', { n })),
        );
    }

    cancel(id: string): { type: 'get' | 'set'; payload: XmlElement } {
        if (id === '') throw new Error('Readout cancel: the id must not be empty');
        return { type: 'set', payload: el('cancel', { xmlns: this.ns, id }) };
    }

    readEvent(element: XmlElement): ReadoutEvent | undefined {
        if (!FAMILY.has(element.ns)) return undefined;
        const id = element.attr('id') ?? '';
        switch (element.local) {
            case 'accepted':
                return { kind: 'accepted', id, queued: parseBoolean(element.attr('queued')) ?? false };
            case 'started':
                return { kind: 'started', id };
            case 'resp': {
                const fields: Field[] = [];
                const errors: ReadoutError[] = [];
                const ns = element.ns;
                for (const child of element.elements()) {
                    if (child.ns !== ns) continue;
                    if (child.local === 'nd') {
                        const node = optionalNodeRef(child.attr('id'), child.attr('src'), child.attr('pt'));
                        for (const ts of child.childrenNamed('ts', ns)) this.#readTs(ts, node, fields, errors);
                    } else if (child.local === 'ts') {
                        this.#readTs(child, undefined, fields, errors);
                    }
                }
                return { kind: 'data', id, fields, errors, done: !(parseBoolean(element.attr('more')) ?? false) };
            }
            case 'done':
                return { kind: 'done', id };
            default:
                return undefined;
        }
    }

    // ---- device side ----

    readRequest(element: XmlElement): ReadoutRequest {
        this.#expect(element, 'req');
        const id = this.#requestId(element);
        const categories = CATEGORIES.filter((c) => requestFlag(element, CATEGORY_LETTERS[c]));
        const nodes: NodeRef[] = [];
        const fields: string[] = [];
        for (const child of element.elements()) {
            if (child.ns !== element.ns) continue;
            if (child.local === 'nd') {
                const nodeId = child.attr('id');
                if (nodeId === undefined) throw badRequest('nd element without id attribute');
                if (nodeId === '') throw badRequest('nd element with an empty id attribute');
                nodes.push(readNodeRef(nodeId, child.attr('src'), child.attr('pt')));
            } else if (child.local === 'f') {
                const n = child.attr('n');
                if (n === undefined) throw badRequest('f element without n attribute');
                fields.push(n);
            }
        }
        const from = requestTime(element, 'from');
        const to = requestTime(element, 'to');
        const when = requestTime(element, 'when');
        const tokens = readTokens(element, ['st', 'dt', 'ut']);
        return {
            id,
            categories,
            all: requestFlag(element, 'all'),
            nodes,
            fields,
            ...(from ? { from } : {}),
            ...(to ? { to } : {}),
            ...(when ? { when } : {}),
            ...(tokens ? { tokens } : {}),
        };
    }

    readCancel(element: XmlElement): string {
        this.#expect(element, 'cancel');
        return this.#requestId(element);
    }

    accepted(id: string, queued: boolean): XmlElement {
        return el('accepted', { xmlns: this.ns, id, queued: queued ? 'true' : undefined });
    }

    started(id: string): XmlElement {
        return el('started', { xmlns: this.ns, id });
    }

    data(id: string, fields: readonly Field[], errors: readonly ReadoutError[], last: boolean): XmlElement[] {
        const groups = groupByNodeAndTime(fields, errors, utc);
        const withNode = groups.filter((g) => g.node !== undefined);
        const nodeless = groups.filter((g) => g.node === undefined);
        const bodies: XmlElement[][] = [];
        if (withNode.length > 0) {
            bodies.push(withNode.map((g) => el('nd', this.#nodeAttrs(g.node as NodeRef), this.#stamps(g))));
        }
        if (nodeless.length > 0) bodies.push(nodeless.flatMap((g) => this.#stamps(g)));
        if (bodies.length === 0) bodies.push([]);
        return bodies.map((children, i) =>
            el('resp', { xmlns: this.ns, id, more: last && i === bodies.length - 1 ? undefined : 'true' }, children),
        );
    }

    done(id: string): XmlElement {
        return el('done', { xmlns: this.ns, id });
    }

    cancelled(_id: string): XmlElement | undefined {
        return undefined;
    }

    rejection(_id: string, error: StanzaError): StanzaError {
        return error;
    }

    // ---- helpers ----

    #expect(element: XmlElement, local: string): void {
        if (element.local !== local || !this.#own.has(element.ns)) {
            throw badRequest(
                `expected <${local}> in ${[...this.#own].join(' or ')}, got <${element.local}> in ${element.ns || 'no namespace'}`,
            );
        }
    }

    #requestId(element: XmlElement): string {
        const id = element.attr('id');
        if (id === undefined) throw badRequest(`<${element.local}> without id attribute`);
        if (id === '') throw badRequest(`<${element.local}> with an empty id attribute`);
        return id;
    }

    #nodeAttrs(n: NodeRef): Record<string, XmlAttrInput> {
        return { id: n.nodeId, src: n.sourceId || undefined, pt: n.partition || undefined };
    }

    #stamps(g: NodeGroup): XmlElement[] {
        return g.stamps.map((s) =>
            el(
                'ts',
                { v: s.value },
                s.fields.map((f) => this.#fieldElement(f)),
                s.errors.map((e) => el('err', {}, e.message)),
            ),
        );
    }

    #readTs(ts: XmlElement, node: NodeRef | undefined, fields: Field[], errors: ReadoutError[]): void {
        const timestamp = parseDateTime(ts.attr('v'));
        for (const e of ts.elements()) {
            if (e.ns !== ts.ns) continue;
            if (e.local === 'err') {
                errors.push({ ...(node ? { node } : {}), timestamp: timestamp ?? now(), message: e.text().trim() });
            } else if (timestamp) {
                const f = this.#readField(e, node, timestamp);
                if (f) fields.push(f);
            }
        }
    }

    #readField(e: XmlElement, node: NodeRef | undefined, timestamp: WireTime): Field | undefined {
        const type = FIELD_ELEMENTS.get(e.local);
        const name = e.attr('n');
        const raw = e.attr('v');
        if (type === undefined || name === undefined || raw === undefined) return undefined;
        const v = readFieldValue(type, raw);
        if (!v) return undefined;
        const categories = CATEGORIES.filter((c) => parseBoolean(e.attr(CATEGORY_LETTERS[c])));
        const quality = QUALITIES.filter((q) => parseBoolean(e.attr(QOS_NAMES[q])));
        const unit = type === 'numeric' ? e.attr('u') : undefined;
        const enumType = type === 'enum' ? e.attr('t') : undefined;
        const writable = parseBoolean(e.attr('ctr'));
        const module = e.attr('lns');
        const steps = e.attr('loc');
        return {
            ...(node ? { node } : {}),
            timestamp,
            name,
            type,
            value: v.value,
            text: v.text,
            ...(unit ? { unit } : {}),
            ...(v.decimals !== undefined ? { decimals: v.decimals } : {}),
            ...(enumType ? { enumType } : {}),
            categories,
            quality,
            ...(writable !== undefined ? { writable } : {}),
            ...(module !== undefined || steps !== undefined
                ? {
                      localization: {
                          ...(module !== undefined ? { module } : {}),
                          ...(steps !== undefined ? { steps } : {}),
                      },
                  }
                : {}),
        };
    }

    #fieldElement(f: Field): XmlElement {
        const attrs: Record<string, XmlAttrInput> = {
            n: f.name,
            ctr: f.writable === undefined ? undefined : f.writable ? 'true' : 'false',
            lns: f.localization?.module,
            loc: f.localization?.steps,
        };
        const cats = new Set(f.categories);
        if ((f.historicalPeriods ?? []).length > 0) cats.add('historical');
        for (const c of ordered(CATEGORIES, cats)) attrs[CATEGORY_LETTERS[c]] = 'true';
        for (const q of ordered(QUALITIES, new Set(f.quality))) attrs[QOS_NAMES[q]] = 'true';
        attrs.v = fieldValueText(f, 'utc');
        if (f.type === 'numeric' && f.unit) attrs.u = f.unit;
        if (f.type === 'enum') attrs.t = f.enumType ?? '';
        return el(ELEMENT_OF[f.type] ?? 's', attrs);
    }
}
