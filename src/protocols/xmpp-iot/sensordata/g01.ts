import { el, type XmlAttrInput, type XmlElement } from '../../xml';
import { StanzaError } from '../../xmpp/errors';
import type { SensorDataCodec } from '../codec';
import { GENERATIONS } from '../generations';
import {
    formatDateTime,
    formatNumeric,
    formatWireTime,
    isDate,
    isDuration,
    isTime,
    parseBoolean,
    parseDateTime,
    parseInt32,
    parseInt64,
    parseNumeric,
    parseTokens,
} from '../lexical';
import {
    CATEGORIES,
    type Category,
    type Field,
    type FieldType,
    HISTORICAL_PERIODS,
    type HistoricalPeriod,
    type NodeRef,
    QUALITIES,
    type Quality,
    type ReadoutError,
    type ReadoutEvent,
    type ReadoutRequest,
    type Tokens,
    type WireTime,
} from '../model';

/**
 * XEP-0323 sensor data, G0 (`urn:xmpp:sn`, v0.1 2013) and G1 (`urn:xmpp:iot:sensordata`, v0.2-v0.6
 * and slixmpp 1.8.3). Wire facts: docs/design/xmpp-iot-g0-g1.md §2, §3, §7 and
 * /work/shared/design/slixmpp-stanzas.md. Both generations share the element names; G0 lacks the
 * v0.3 additions (date, time, int, long, `duration` instead of `timeSpan`, `inProgress`, `writable`).
 *
 * Rules where the references leave a choice:
 * - Reading is tolerant: every field element name of every version is read in both generations
 *   (`timeSpan` and `duration` both give `duration`), `identification` is read as `identity`, an
 *   unknown field element or a field whose value is not of its type is skipped (the rest is kept),
 *   a `<node>` without (or with an empty) `nodeId` gives node-less fields, and `<timestamp>`
 *   directly under `<fields>` is read as node-less too.
 * - An empty `unit`/`dataType` is read as none (the attribute is left out of the model).
 * - A `failure/error` whose `timestamp` is missing or not a date-time (its XSD type is xs:string)
 *   keeps its message and gets the time it was decoded: losing the error would be worse.
 * - The seqnr of an event is read in canonical form (`007` → `7`, as the client wrote it); the
 *   seqnr of a request or cancel is kept exactly as received, so that the answers echo it.
 * - Writing: `unit` is always present on numeric (empty when none: the XSD requires it) and
 *   `dataType` on enum; a node-less field or error is written under `nodeId=""` (nodeId is
 *   required) and read back node-less; a field with category historical but no sub-period is
 *   written `historicalOther` (the field XSD has no plain `historical`). G0 output leaves out what
 *   v0.1 does not define: `inProgress`, `writable`; int/long go out as numeric with unit '',
 *   date/time as string, duration as timeSpan.
 * - data(): one `<fields>` (left out when there are errors but no fields), then one `<failure>`
 *   when there are errors; `last` sets done="true" on the last element returned.
 */

// ---------------------------------------------------------------------------------------------
// Shared with g23.ts: value lexical rules and grouping are the same in every generation.
// ---------------------------------------------------------------------------------------------

/** The typed value of a field's wire text, or undefined when the text is not of the type. */
export function readFieldValue(
    type: FieldType,
    raw: string,
): { value: Field['value']; text: string; decimals?: number } | undefined {
    const text = type === 'string' || type === 'enum' ? raw : raw.trim();
    switch (type) {
        case 'numeric': {
            const n = parseNumeric(text);
            return n ? { value: n.value, text, decimals: n.decimals } : undefined;
        }
        case 'int': {
            const n = parseInt32(text);
            return n === undefined ? undefined : { value: n, text };
        }
        case 'long': {
            const n = parseInt64(text);
            return n === undefined ? undefined : { value: n, text };
        }
        case 'boolean': {
            const b = parseBoolean(text);
            return b === undefined ? undefined : { value: b, text };
        }
        case 'dateTime': {
            const t = parseDateTime(text);
            return t ? { value: t.date, text } : undefined;
        }
        case 'date':
            return isDate(text) ? { value: text, text } : undefined;
        case 'time':
            return isTime(text) ? { value: text, text } : undefined;
        case 'duration':
            return isDuration(text) ? { value: text, text } : undefined;
        case 'string':
        case 'enum':
            return { value: text, text };
        default:
            return undefined;
    }
}

function validDate(d: unknown): d is Date {
    return d instanceof Date && !Number.isNaN(d.getTime());
}

/**
 * The wire text of a field value: `text` when it is a valid lexical value of the type (it keeps
 * the precision of numbers), else formatted from `value`. Booleans are always written
 * `true`/`false`. dateTime values: `utc` always writes UTC with Z (G2/G3); `keep` writes `text`
 * when valid (G0/G1), else UTC.
 */
export function fieldValueText(field: Field, dateTimes: 'utc' | 'keep'): string {
    const { value, text } = field;
    const textOk = text !== undefined && readFieldValue(field.type, text) !== undefined;
    switch (field.type) {
        case 'boolean': {
            const b = typeof value === 'boolean' ? value : parseBoolean(text);
            return b === undefined ? String(value) : b ? 'true' : 'false';
        }
        case 'numeric':
            if (textOk) return text.trim();
            return typeof value === 'number' ? formatNumeric(value, field.decimals) : String(value);
        case 'dateTime':
            if (dateTimes === 'keep' && textOk && text.includes('T')) return text.trim();
            if (validDate(value)) return formatDateTime(value, 'utc');
            return textOk ? text.trim() : String(value);
        case 'string':
        case 'enum':
            return text ?? String(value);
        default:
            return textOk ? text.trim() : String(value);
    }
}

/** One node's fields (and errors) by timestamp, in order of first appearance. */
export interface NodeGroup {
    node: NodeRef | undefined;
    stamps: Array<{ value: string; fields: Field[]; errors: ReadoutError[] }>;
}

function nodeKey(node: NodeRef | undefined): string {
    return node ? JSON.stringify([node.nodeId, node.sourceId ?? '', node.partition ?? '']) : '';
}

/**
 * Groups fields and errors by node (nodeId, sourceId, partition), then by the wire text of the
 * timestamp (`stamp`), keeping the order of first appearance and the order within a group.
 */
export function groupByNodeAndTime(
    fields: readonly Field[],
    errors: readonly ReadoutError[],
    stamp: (t: WireTime) => string,
): NodeGroup[] {
    const groups = new Map<string, { group: NodeGroup; stamps: Map<string, NodeGroup['stamps'][number]> }>();
    const slot = (node: NodeRef | undefined, time: WireTime) => {
        const key = nodeKey(node);
        let g = groups.get(key);
        if (!g) {
            g = { group: { node, stamps: [] }, stamps: new Map() };
            groups.set(key, g);
        }
        const value = stamp(time);
        let s = g.stamps.get(value);
        if (!s) {
            s = { value, fields: [], errors: [] };
            g.stamps.set(value, s);
            g.group.stamps.push(s);
        }
        return s;
    };
    for (const f of fields) slot(f.node, f.timestamp).fields.push(f);
    for (const e of errors) slot(e.node, e.timestamp).errors.push(e);
    return [...groups.values()].map((g) => g.group);
}

/** Orders a set of names the way the model's list does (stable output for equal input). */
export function ordered<T extends string>(all: readonly T[], present: ReadonlySet<T>): T[] {
    return all.filter((x) => present.has(x));
}

/** An attribute value quoted for an error message, cut short (it comes from a peer). */
export function quote(value: string): string {
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

export function badRequest(text: string): StanzaError {
    return new StanzaError('bad-request', text);
}

/** A required boolean-or-absent request attribute: absent is false, anything not xs:boolean is refused. */
export function requestFlag(element: XmlElement, name: string): boolean {
    const v = element.attr(name);
    if (v === undefined) return false;
    const b = parseBoolean(v);
    if (b === undefined) throw badRequest(`${name} attribute ${quote(v)} is not an xs:boolean`);
    return b;
}

/** An optional request date-time attribute; anything not xs:dateTime is refused. */
export function requestTime(element: XmlElement, name: string): WireTime | undefined {
    const v = element.attr(name);
    if (v === undefined) return undefined;
    const t = parseDateTime(v);
    if (!t) throw badRequest(`${name} attribute ${quote(v)} is not an xs:dateTime`);
    return t;
}

/** Tokens from three attributes; undefined when none carries a token. */
export function readTokens(element: XmlElement, names: readonly [string, string, string]): Tokens | undefined {
    const service = parseTokens(element.attr(names[0]));
    const device = parseTokens(element.attr(names[1]));
    const user = parseTokens(element.attr(names[2]));
    if (!service && !device && !user) return undefined;
    return { ...(service ? { service } : {}), ...(device ? { device } : {}), ...(user ? { user } : {}) };
}

/** Space-joined tokens, undefined (attribute left out) when the list is empty. */
export function joinTokens(list: readonly string[] | undefined): string | undefined {
    return list && list.length > 0 ? list.join(' ') : undefined;
}

/** Throws a plain Error (a programming error on our side) for a time that cannot be written. */
export function checkTime(t: WireTime | undefined, name: string): WireTime | undefined {
    if (t !== undefined && !validDate(t.date)) throw new Error(`Readout request: ${name} is not a valid date`);
    return t;
}

/** A decode-time stamp for an error whose own timestamp is missing or unreadable. */
export function now(): WireTime {
    return { date: new Date(), zoneless: false };
}

// ---------------------------------------------------------------------------------------------
// G0/G1 codec
// ---------------------------------------------------------------------------------------------

/** Field element names of every version (v0.1 timeSpan, v0.3 duration/date/time/int/long). */
const FIELD_ELEMENTS: ReadonlyMap<string, FieldType> = new Map<string, FieldType>([
    ['numeric', 'numeric'],
    ['string', 'string'],
    ['boolean', 'boolean'],
    ['dateTime', 'dateTime'],
    ['timeSpan', 'duration'],
    ['duration', 'duration'],
    ['enum', 'enum'],
    ['date', 'date'],
    ['time', 'time'],
    ['int', 'int'],
    ['long', 'long'],
]);

const CATEGORY_ATTRS: ReadonlyArray<[Exclude<Category, 'historical'>, string]> = [
    ['momentary', 'momentary'],
    ['peak', 'peak'],
    ['status', 'status'],
    ['computed', 'computed'],
    ['identity', 'identity'],
];

function periodAttr(p: HistoricalPeriod): string {
    return `historical${p[0]?.toUpperCase()}${p.slice(1)}`;
}

/** `seqnr` as the client writes it: xs:int in canonical decimal form (what the engines generate). */
const CANONICAL_INT = /^(0|-?[1-9]\d*)$/;

function checkSeqnr(id: string): string {
    if (!CANONICAL_INT.test(id) || parseInt32(id) === undefined) {
        throw new Error(
            `XEP-0323 seqnr must be an xs:int in decimal form (-2147483648 to 2147483647), got ${quote(id)}`,
        );
    }
    return id;
}

export class Xep0323Codec implements SensorDataCodec {
    readonly generation: 'G0' | 'G1';
    readonly ns: string;

    constructor(generation: 'G0' | 'G1') {
        if (generation !== 'G0' && generation !== 'G1') throw new Error(`Xep0323Codec: not G0/G1: ${generation}`);
        this.generation = generation;
        this.ns = GENERATIONS[generation].sensorData;
    }

    // ---- client side ----

    request(req: ReadoutRequest): XmlElement {
        const attrs: Record<string, XmlAttrInput> = { xmlns: this.ns, seqnr: checkSeqnr(req.id) };
        const cats = new Set(req.categories);
        for (const [cat, attr] of CATEGORY_ATTRS) if (cats.has(cat)) attrs[attr] = 'true';
        for (const p of ordered(HISTORICAL_PERIODS, new Set(req.historicalPeriods ?? [])))
            attrs[periodAttr(p)] = 'true';
        if (req.all) attrs.all = 'true';
        if (cats.has('historical')) attrs.historical = 'true';
        // slixmpp parses exactly YYYY-MM-DDThh:mm:ss (the device's local time).
        for (const name of ['from', 'to', 'when'] as const) {
            const t = checkTime(req[name], name);
            if (t) attrs[name] = formatDateTime(t.date, 'local');
        }
        attrs.serviceToken = joinTokens(req.tokens?.service);
        attrs.deviceToken = joinTokens(req.tokens?.device);
        attrs.userToken = joinTokens(req.tokens?.user);
        return el(
            'req',
            attrs,
            req.nodes.map((n) => this.#nodeRef('node', n)),
            req.fields.map((name) => el('field', { name })),
        );
    }

    cancel(id: string): { type: 'get' | 'set'; payload: XmlElement } {
        return { type: 'get', payload: el('cancel', { xmlns: this.ns, seqnr: checkSeqnr(id) }) };
    }

    readEvent(element: XmlElement): ReadoutEvent | undefined {
        if (element.ns !== this.ns) return undefined;
        switch (element.local) {
            case 'accepted':
                return {
                    kind: 'accepted',
                    id: this.#eventId(element),
                    queued: parseBoolean(element.attr('queued')) ?? false,
                };
            case 'started':
                return { kind: 'started', id: this.#eventId(element) };
            case 'fields':
                return {
                    kind: 'data',
                    id: this.#eventId(element),
                    fields: this.#readFields(element),
                    errors: [],
                    done: parseBoolean(element.attr('done')) ?? false,
                };
            case 'failure':
                return {
                    kind: 'data',
                    id: this.#eventId(element),
                    fields: [],
                    errors: this.#readErrors(element),
                    done: parseBoolean(element.attr('done')) ?? false,
                };
            case 'done':
                return { kind: 'done', id: this.#eventId(element) };
            case 'rejected': {
                const texts = element
                    .childrenNamed('error', this.ns)
                    .map((e) => e.text().trim())
                    .filter((t) => t !== '');
                return {
                    kind: 'rejected',
                    id: this.#eventId(element),
                    reason: texts.length > 0 ? texts.join('; ') : element.text().trim(),
                };
            }
            case 'cancelled':
                return { kind: 'cancelled', id: this.#eventId(element) };
            default:
                return undefined;
        }
    }

    // ---- device side ----

    readRequest(element: XmlElement): ReadoutRequest {
        this.#expect(element, 'req');
        const id = this.#requestSeqnr(element);
        const categories = new Set<Category>();
        for (const [cat, attr] of CATEGORY_ATTRS) if (requestFlag(element, attr)) categories.add(cat);
        if (requestFlag(element, 'identification')) categories.add('identity');
        if (requestFlag(element, 'historical')) categories.add('historical');
        const periods = HISTORICAL_PERIODS.filter((p) => requestFlag(element, periodAttr(p)));
        const nodes: NodeRef[] = [];
        const fields: string[] = [];
        for (const child of element.elements()) {
            if (child.ns !== this.ns) continue;
            if (child.local === 'node') {
                const nodeId = child.attr('nodeId');
                if (nodeId === undefined) throw badRequest('node element without nodeId attribute');
                if (nodeId === '') throw badRequest('node element with an empty nodeId attribute');
                nodes.push(readNodeRef(nodeId, child.attr('sourceId'), child.attr('cacheType')));
            } else if (child.local === 'field') {
                const name = child.attr('name');
                if (name === undefined) throw badRequest('field element without name attribute');
                fields.push(name);
            }
        }
        const from = requestTime(element, 'from');
        const to = requestTime(element, 'to');
        const when = requestTime(element, 'when');
        const tokens = readTokens(element, ['serviceToken', 'deviceToken', 'userToken']);
        return {
            id,
            categories: ordered(CATEGORIES, categories),
            all: requestFlag(element, 'all'),
            ...(periods.length > 0 ? { historicalPeriods: periods } : {}),
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
        return this.#requestSeqnr(element);
    }

    accepted(id: string, queued: boolean): XmlElement {
        return el('accepted', { xmlns: this.ns, seqnr: id, queued: queued ? 'true' : undefined });
    }

    started(id: string): XmlElement {
        return el('started', { xmlns: this.ns, seqnr: id });
    }

    data(id: string, fields: readonly Field[], errors: readonly ReadoutError[], last: boolean): XmlElement[] {
        const out: XmlElement[] = [];
        if (fields.length > 0 || errors.length === 0) {
            const groups = groupByNodeAndTime(fields, [], formatWireTime);
            out.push(
                el(
                    'fields',
                    { xmlns: this.ns, seqnr: id },
                    groups.map((g) =>
                        el(
                            'node',
                            this.#nodeAttrs(g.node),
                            g.stamps.map((s) =>
                                el(
                                    'timestamp',
                                    { value: s.value },
                                    s.fields.map((f) => this.#fieldElement(f)),
                                ),
                            ),
                        ),
                    ),
                ),
            );
        }
        if (errors.length > 0) {
            out.push(
                el(
                    'failure',
                    { xmlns: this.ns, seqnr: id },
                    errors.map((e) =>
                        el('error', { ...this.#nodeAttrs(e.node), timestamp: formatWireTime(e.timestamp) }, e.message),
                    ),
                ),
            );
        }
        if (last) (out[out.length - 1] as XmlElement).attrs.done = 'true';
        return out;
    }

    done(id: string): XmlElement {
        return el('done', { xmlns: this.ns, seqnr: id });
    }

    cancelled(id: string): XmlElement | undefined {
        return el('cancelled', { xmlns: this.ns, seqnr: id });
    }

    rejection(id: string, error: StanzaError): StanzaError {
        const text = error.text ?? error.condition;
        return new StanzaError(error.condition, error.text, {
            type: error.type,
            ...(error.application ? { application: error.application } : {}),
            payload: el('rejected', { xmlns: this.ns, seqnr: id }, el('error', {}, text)),
        });
    }

    // ---- helpers ----

    #expect(element: XmlElement, local: string): void {
        if (element.local !== local || element.ns !== this.ns) {
            throw badRequest(
                `expected <${local}> in ${this.ns}, got <${element.local}> in ${element.ns || 'no namespace'}`,
            );
        }
    }

    /** The seqnr of a request or cancel: required, an xs:int, kept as received (answers echo it). */
    #requestSeqnr(element: XmlElement): string {
        const v = element.attr('seqnr');
        if (v === undefined) throw badRequest(`<${element.local}> without seqnr attribute`);
        if (parseInt32(v) === undefined) throw badRequest(`seqnr attribute ${quote(v)} is not an xs:int`);
        return v.trim();
    }

    /** The seqnr of an event, canonical when it is an integer ('' when missing: matches no request). */
    #eventId(element: XmlElement): string {
        const v = element.attr('seqnr');
        if (v === undefined) return '';
        const n = parseInt32(v);
        return n === undefined ? v.trim() : String(n);
    }

    #nodeRef(name: string, n: NodeRef): XmlElement {
        return el(name, { nodeId: n.nodeId, sourceId: n.sourceId || undefined, cacheType: n.partition || undefined });
    }

    #nodeAttrs(n: NodeRef | undefined): Record<string, XmlAttrInput> {
        return { nodeId: n?.nodeId ?? '', sourceId: n?.sourceId || undefined, cacheType: n?.partition || undefined };
    }

    #readFields(fieldsEl: XmlElement): Field[] {
        const out: Field[] = [];
        for (const child of fieldsEl.elements()) {
            if (child.ns !== this.ns) continue;
            if (child.local === 'node') {
                const node = optionalNodeRef(child.attr('nodeId'), child.attr('sourceId'), child.attr('cacheType'));
                for (const ts of child.childrenNamed('timestamp', this.ns)) this.#readTimestamp(ts, node, out);
            } else if (child.local === 'timestamp') {
                this.#readTimestamp(child, undefined, out);
            }
        }
        return out;
    }

    #readTimestamp(ts: XmlElement, node: NodeRef | undefined, out: Field[]): void {
        const timestamp = parseDateTime(ts.attr('value'));
        if (!timestamp) return; // no instant to put the values at: not inventing one
        for (const e of ts.elements()) {
            if (e.ns !== this.ns) continue;
            const f = this.#readField(e, node, timestamp);
            if (f) out.push(f);
        }
    }

    #readField(e: XmlElement, node: NodeRef | undefined, timestamp: WireTime): Field | undefined {
        const type = FIELD_ELEMENTS.get(e.local);
        const name = e.attr('name');
        const raw = e.attr('value');
        if (type === undefined || name === undefined || raw === undefined) return undefined;
        const v = readFieldValue(type, raw);
        if (!v) return undefined;
        const categories = new Set<Category>();
        for (const [cat, attr] of CATEGORY_ATTRS) if (parseBoolean(e.attr(attr))) categories.add(cat);
        if (parseBoolean(e.attr('identification'))) categories.add('identity');
        if (parseBoolean(e.attr('historical'))) categories.add('historical');
        const periods = HISTORICAL_PERIODS.filter((p) => parseBoolean(e.attr(periodAttr(p))));
        if (periods.length > 0) categories.add('historical');
        const quality = QUALITIES.filter((q: Quality) => parseBoolean(e.attr(q)));
        const unit = type === 'numeric' ? e.attr('unit') : undefined;
        const enumType = type === 'enum' ? e.attr('dataType') : undefined;
        const writable = parseBoolean(e.attr('writable'));
        const module = e.attr('module');
        const steps = e.attr('stringIds');
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
            categories: ordered(CATEGORIES, categories),
            ...(periods.length > 0 ? { historicalPeriods: periods } : {}),
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

    #readErrors(failure: XmlElement): ReadoutError[] {
        return failure.childrenNamed('error', this.ns).map((e) => {
            const node = optionalNodeRef(e.attr('nodeId'), e.attr('sourceId'), e.attr('cacheType'));
            return {
                ...(node ? { node } : {}),
                timestamp: parseDateTime(e.attr('timestamp')) ?? now(),
                message: e.text().trim(),
            };
        });
    }

    #fieldElement(f: Field): XmlElement {
        const g0 = this.generation === 'G0';
        let name: string = f.type;
        if (f.type === 'duration') name = g0 ? 'timeSpan' : 'duration';
        else if (g0 && (f.type === 'int' || f.type === 'long')) name = 'numeric';
        else if (g0 && (f.type === 'date' || f.type === 'time')) name = 'string';
        const attrs: Record<string, XmlAttrInput> = { name: f.name, value: fieldValueText(f, 'keep') };
        if (name === 'numeric') attrs.unit = f.type === 'numeric' ? (f.unit ?? '') : '';
        if (name === 'enum') attrs.dataType = f.enumType ?? '';
        const cats = new Set(f.categories);
        for (const [cat, attr] of CATEGORY_ATTRS) if (cats.has(cat)) attrs[attr] = 'true';
        const periods = f.historicalPeriods ?? [];
        if (periods.length > 0) {
            for (const p of ordered(HISTORICAL_PERIODS, new Set(periods))) attrs[periodAttr(p)] = 'true';
        } else if (cats.has('historical')) {
            attrs.historicalOther = 'true';
        }
        for (const q of ordered(QUALITIES, new Set(f.quality))) {
            if (g0 && q === 'inProgress') continue; // v0.3 and later
            attrs[q] = 'true';
        }
        if (!g0 && f.writable !== undefined) attrs.writable = f.writable ? 'true' : 'false';
        attrs.module = f.localization?.module;
        attrs.stringIds = f.localization?.steps;
        return el(name, attrs);
    }
}

/** A node reference from wire attributes (empty sourceId/cacheType/src/pt are ignored, 0326 note ***). */
export function readNodeRef(nodeId: string, sourceId: string | undefined, cacheType: string | undefined): NodeRef {
    return { nodeId, ...(sourceId ? { sourceId } : {}), ...(cacheType ? { partition: cacheType } : {}) };
}

/** A node reference from data, undefined when there is no nodeId (read as node-less). */
export function optionalNodeRef(
    nodeId: string | undefined,
    sourceId: string | undefined,
    cacheType: string | undefined,
): NodeRef | undefined {
    return nodeId ? readNodeRef(nodeId, sourceId, cacheType) : undefined;
}
