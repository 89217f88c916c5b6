import { EventEmitter } from 'node:events';
import { el, serializedSize, type XmlElement } from '../../xml';
import {
    type Disposable,
    type IqRequest,
    JidMatcher,
    type PeerPresence,
    type Session,
    type SessionState,
    StanzaError,
    type StateInfo,
} from '../../xmpp';
import type { AccessResult, ObjectName, Selector, VariableSpec } from '../mms/access';
import { DECODER, NS_SCSM_8_2 } from '../mms/constants';
import type { Data } from '../mms/data';
import { decodePayload, encodePayload, type Payload, stanzaFor } from '../mms/envelope';
import { DATA_ACCESS_ERRORS, MmsError, REJECT_REASONS, SERVICE_ERROR_CLASSES } from '../mms/errors';
import { dataToJson, jsonToData, qualityInput, replaceIn, selectIn, timeInput } from '../mms/json';
import type { InitiateParameters, MmsPdu, ServiceError } from '../mms/pdu';
import type { ConfirmedRequest, ConfirmedResponse, WriteResult } from '../mms/services';
import { MIN_NESTING_LEVEL, MIN_PDU_SIZE, MMS_VERSION, PARAMETER_SUPPORT_61850, serviceSupport } from '../mms/support';
import { Iec61850Error } from '../model/errors';
import { FCS, type Fc } from '../model/fc';
import { parseReference } from '../model/reference';
import type { DataAttribute, DataObject, Value } from '../model/types';
import { dataToValue, MAIN_ATTRIBUTES, typeSpecOf } from '../model/values';
import { configuredDataSets, type DataSetEntry, dataSetReference, memberReference, nameKey } from './datasets';
import { indexModel, type ModelIndex, ShapeError, type Target, targetLeaves, ValueStore } from './namespace';
import type {
    AssociationInfo,
    ServerEvents,
    ServerOptions,
    UpdateResult,
    WriteDecision,
    WriteItem,
    WriteRequest,
} from './types';

/**
 * The IED side of IEC 61850-8-2: serves one model over an XMPP session (resource `IEC`).
 * Association (initiate/conclude; abort on the peer's unavailable presence and on a session
 * that could not be resumed), the directory, data and data set services over MMS in XER
 * (wire note §5, §6), per-JID access for associate/read/write, and MMS errors inside result
 * stanzas (note §8.1-§8.2). XMPP stanza errors only where no MMS answer is possible (§8.3).
 */

/** Namespace of our application error conditions (note §8.3 [P]). */
export const NS_DERLINK_8_2_ERRORS = 'urn:derlink:iec61850:scsm82:errors';

/** The services this server answers (ServiceSupportOptions of its Initiate-Response). */
const SERVED = serviceSupport([
    'getNameList',
    'read',
    'write',
    'getVariableAccessAttributes',
    'defineNamedVariableList',
    'getNamedVariableListAttributes',
    'deleteNamedVariableList',
    'cancel',
    'conclude',
]);

/**
 * FCs a client may write with SetDataValues (7-2 FC table, model/fc.ts `write`): SP, SV, CF, DC,
 * BL. SE only while a setting group is edited (setting group services: not in this release),
 * CO only through the control services, control-block FCs through their own services.
 */
function writableBySetDataValues(fc: Fc): boolean {
    const info = FCS[fc];
    return info.write && info.kind === 'data' && fc !== 'CO' && fc !== 'SE';
}

const ERR = DATA_ACCESS_ERRORS;

interface Association {
    peer: string;
    assoId: string;
    since: string;
    maxPduSize: number;
    maxServOutstanding: number;
    requests: number;
    outstanding: number;
    lastUsed: number;
    dataSets: Map<string, DataSetEntry>;
}

type ServiceOutcome = ConfirmedResponse | { error: ServiceError };

function serviceError(cls: string, name: string, description?: string): { error: ServiceError } {
    const code = SERVICE_ERROR_CLASSES[cls]?.[name];
    if (code === undefined) throw new Error(`no ServiceError ${cls} ${name}`);
    const error: ServiceError = { errorClass: { class: cls, code } };
    if (description) error.additionalDescription = description.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
    return { error };
}

function code(name: string): number {
    return ERR[name] as number;
}

/** The DataAccessError of a value refused by the model: out of range/too long → value invalid, else type. */
function valueError(err: unknown): number {
    if (err instanceof MmsError)
        return code(err.reason === 'out-of-range' ? 'object-value-invalid' : 'type-inconsistent');
    if (err instanceof Iec61850Error)
        return code(
            err.reason === 'out-of-range' || err.reason === 'too-long' ? 'object-value-invalid' : 'type-inconsistent',
        );
    if (err instanceof ShapeError) return code('type-inconsistent');
    return code('object-value-invalid');
}

function decisionFor(decision: WriteDecision, i: number): number | undefined {
    const one = Array.isArray(decision) ? decision[i] : decision;
    if (one === undefined || one === true) return undefined;
    if (one === false) return code('object-access-denied');
    if (typeof one === 'string') return ERR[one] ?? code('object-access-denied');
    return code('object-access-denied');
}

export class Iec61850Server extends EventEmitter<ServerEvents> {
    readonly #session: Session;
    readonly #o: Required<Omit<ServerOptions, 'onWrite' | 'access'>> & Pick<ServerOptions, 'onWrite'>;
    readonly #index: ModelIndex;
    readonly #values = new ValueStore();
    readonly #handles: Disposable[] = [];
    readonly #access: { associate: JidMatcher; read: JidMatcher; write: JidMatcher; operate: JidMatcher };
    /** Associations by peer full JID (one per peer: 8-2 ids are per JID pair). */
    readonly #assocs = new Map<string, Association>();
    /** Persistent data sets by `domain/item`. */
    readonly #dataSets = new Map<string, DataSetEntry>();
    #nextId = 1;
    #closed = false;

    constructor(session: Session, options: ServerOptions) {
        super();
        this.#session = session;
        const maxPduSize = options.maxPduSize ?? 65_536;
        if (!Number.isInteger(maxPduSize) || maxPduSize < MIN_PDU_SIZE)
            throw new Iec61850Error('BAD_INPUT', 'out-of-range', `maxPduSize must be an integer ≥ ${MIN_PDU_SIZE}`);
        this.#o = {
            model: options.model,
            maxPduSize,
            maxAssociations: options.maxAssociations ?? 100,
            maxServOutstanding: options.maxServOutstanding ?? 10,
            maxDataSetMembers: options.maxDataSetMembers ?? 100,
            maxDataSets: options.maxDataSets ?? 64,
            writeTimeoutMs: options.writeTimeoutMs ?? 10_000,
            onWrite: options.onWrite,
        };
        const a = options.access ?? {};
        this.#access = {
            associate: new JidMatcher(a.associate ?? ['roster']),
            read: new JidMatcher(a.read ?? ['*']),
            write: new JidMatcher(a.write ?? []),
            operate: new JidMatcher(a.operate ?? []),
        };
        this.#index = indexModel(options.model.server);
        for (const ds of configuredDataSets(options.model.server)) this.#dataSets.set(nameKey(ds.name), ds);
        try {
            for (const context of DECODER.contextElements) {
                for (const type of ['get', 'set'] as const)
                    this.#handles.push(session.handleIq(type, NS_SCSM_8_2, context, (r) => this.#onIq(r)));
            }
        } catch (err) {
            // Another server on this account: leave nothing of this one behind.
            for (const h of this.#handles.splice(0)) h.dispose();
            throw err;
        }
        // The server does its own access checks so a refusal is an MMS answer (note §8.1), not a stanza error.
        this.#handles.push(session.addAccessHook(NS_SCSM_8_2, () => true));
        this.#handles.push(session.addFeature(NS_SCSM_8_2));
        const onPresence = (p: PeerPresence) => {
            if (!p.available) this.#abort(p.jid, 'the peer went offline (presence unavailable)');
        };
        const onState = (state: SessionState, info: StateInfo) => {
            if ((state === 'online' && !info.resumed) || state === 'closed') {
                for (const peer of [...this.#assocs.keys()]) this.#abort(peer, 'the XMPP session was lost');
            }
        };
        session.on('presence', onPresence);
        session.on('state', onState);
        this.#handles.push({
            dispose: () => {
                session.off('presence', onPresence);
                session.off('state', onState);
            },
        });
    }

    // ---- the flow's side -------------------------------------------------------------------

    get associations(): AssociationInfo[] {
        return [...this.#assocs.values()].map((a) => ({
            peer: a.peer,
            assoId: a.assoId,
            since: a.since,
            maxPduSize: a.maxPduSize,
            maxServOutstanding: a.maxServOutstanding,
            requests: a.requests,
            dataSets: [...a.dataSets.values()].map((d) => d.reference),
        }));
    }

    /** Every FCD and FCDA reference with FC (editor pickers). */
    references(): string[] {
        const out: string[] = [];
        for (const d of this.#index.domains.values())
            for (const t of d.targets.values()) if (t.path.length > 0) out.push(t.reference);
        return out;
    }

    dataSets(): Array<{ reference: string; members: string[]; deletable: boolean }> {
        return [...this.#dataSets.values()].map((d) => ({
            reference: d.reference,
            members: d.members.map((m) => m.reference),
            deletable: d.deletable,
        }));
    }

    /** The value (JSON) at a reference; without an FC the first FC that has the node. */
    read(reference: string): unknown {
        const t = this.#find(reference);
        return dataToJson(this.#values.data(t), t.type, t.path[t.path.length - 1]?.name);
    }

    /**
     * Sets values from the flow. A DO reference sets its main attribute (MAIN_ATTRIBUTES) from a
     * plain value or `{value, quality, timestamp}`, and its `q` and `t` (t = now when not given).
     * A DA reference sets that attribute (a structure: the members given). All or nothing.
     */
    update(reference: string, input: unknown): UpdateResult {
        const t = this.#find(reference);
        const node = t.path[t.path.length - 1];
        if (!node) throw this.#notFound(reference, 'an update needs a data object or attribute, not a whole LN');
        const writes: Array<{ da: DataAttribute; value: Value; ref: string }> = [];
        const fc = t.fc as Fc;
        const base = t.reference.replace(/\[[A-Z]{2}\]$/, '');
        if (node.kind === 'DA') {
            this.#assign(node, input, `${base}`, writes);
        } else {
            const form =
                typeof input === 'object' &&
                input !== null &&
                !Array.isArray(input) &&
                Object.keys(input).length > 0 &&
                Object.keys(input).every((k) => k === 'value' || k === 'quality' || k === 'timestamp');
            const { value, quality, timestamp } = form
                ? (input as { value?: unknown; quality?: unknown; timestamp?: unknown })
                : { value: input, quality: undefined, timestamp: undefined };
            const kids = node.children.filter((c): c is DataAttribute => c.kind === 'DA' && c.fc === fc);
            if (value !== undefined) {
                const main = mainAttribute(node, fc);
                if (!main) throw this.#notFound(reference, `${node.name} has no main attribute under ${fc}`);
                this.#assign(main.da, value, `${base}.${main.path}`, writes);
            }
            const q = kids.find((k) => k.name === 'q' && k.type === 'Quality');
            if (quality !== undefined) {
                if (!q) throw this.#notFound(reference, `${node.name} has no quality under ${fc}`);
                writes.push({ da: q, value: qualityInput(quality, `${base}.q`), ref: `${base}.q` });
            }
            const ts = kids.find((k) => k.name === 't' && k.type === 'Timestamp');
            if (timestamp !== undefined && !ts)
                throw this.#notFound(reference, `${node.name} has no timestamp under ${fc}`);
            if (ts && (timestamp !== undefined || value !== undefined || quality !== undefined)) {
                const when = timestamp === undefined ? new Date() : timeInput(timestamp, `${base}.t`);
                const data = jsonToData(typeSpecOf(ts), when.toISOString(), `${base}.t`);
                writes.push({ da: ts, value: dataToValue(ts, data), ref: `${base}.t` });
            }
        }
        for (const w of writes) this.#values.set(w.da, w.value);
        return { reference, set: writes.map((w) => `${w.ref}[${w.da.fc}]`) };
    }

    /** Several updates: reference → input; each stands alone (a refused one is reported, the rest applied). */
    updateMany(values: Record<string, unknown>): UpdateResult[] {
        return Object.entries(values).map(([reference, input]) => {
            try {
                return this.update(reference, input);
            } catch (err) {
                const code = (err as { code?: unknown }).code;
                return {
                    reference,
                    set: [],
                    error: (err as Error).message,
                    code: typeof code === 'string' ? code : 'BAD_INPUT',
                };
            }
        });
    }

    /** Stops serving: every association ends (aborted), handlers are removed. */
    close(): void {
        if (this.#closed) return;
        this.#closed = true;
        for (const peer of [...this.#assocs.keys()]) this.#abort(peer, 'the server was stopped');
        for (const h of this.#handles.splice(0)) h.dispose();
    }

    #notFound(reference: string, why: string): Iec61850Error {
        const e = new Iec61850Error('NOT_FOUND', 'syntax', `${reference}: ${why}`, { input: reference });
        return e;
    }

    /** Resolves an ACSI reference (FC optional below the LN) to a variable of the model. */
    #find(reference: string): Target {
        const ref = parseReference(reference);
        const domain = this.#index.domains.get(ref.ld);
        if (!domain) throw this.#notFound(reference, `no logical device ${ref.ld}`);
        if (ref.path.some((p) => p.index !== undefined))
            throw new Iec61850Error('NOT_SUPPORTED', 'syntax', `${reference}: array elements are set as a whole array`);
        const names = ref.path.map((p) => p.name).join('$');
        const fcs = ref.fc ? [ref.fc] : [...FCS_IN_ORDER];
        for (const fc of fcs) {
            const item = names === '' ? (ref.fc ? `${ref.ln}$${fc}` : ref.ln) : `${ref.ln}$${fc}$${names}`;
            const t = domain.targets.get(item);
            if (t) return t;
            if (names === '' && !ref.fc) break;
        }
        throw this.#notFound(reference, 'no such data in the model');
    }

    /** Converts a flow value for `da` (JSON; a structure may give some members only) into writes. */
    #assign(
        da: DataAttribute,
        input: unknown,
        ref: string,
        out: Array<{ da: DataAttribute; value: Value; ref: string }>,
    ): void {
        if (
            da.type === 'Struct' &&
            da.count === undefined &&
            typeof input === 'object' &&
            input !== null &&
            !Array.isArray(input)
        ) {
            const members = input as Record<string, unknown>;
            for (const key of Object.keys(members)) {
                const child = (da.children ?? []).find((c) => c.name === key);
                if (!child) throw new Iec61850Error('BAD_INPUT', 'syntax', `${ref} has no member ${key}`);
                this.#assign(child, members[key], `${ref}.${key}`, out);
            }
            return;
        }
        try {
            const data = jsonToData(typeSpecOf(da), input, ref, da.name);
            out.push({ da, value: dataToValue(da, data, ref), ref });
        } catch (err) {
            if (err instanceof MmsError) throw new Iec61850Error('BAD_INPUT', 'syntax', err.message, { cause: err });
            throw err;
        }
    }

    // ---- the wire side -------------------------------------------------------------------

    async #onIq(request: IqRequest): Promise<XmlElement> {
        let payload: Payload;
        try {
            payload = decodePayload(request.payload);
        } catch (err) {
            const invokeID = readableInvokeId(request.payload);
            if (invokeID !== undefined)
                this.#reject(request.from, undefined, invokeID, 'confirmed-requestPDU', 'invalid-argument');
            throw new StanzaError('bad-request', `Not an 8-2 payload: ${(err as Error).message}`.slice(0, 300));
        }
        const { pdu } = payload;
        const want = stanzaForSafe(pdu);
        if (want?.stanza !== 'iq' || want.type !== request.type) {
            const invokeID = 'invokeID' in pdu ? pdu.invokeID : undefined;
            this.#reject(request.from, payload.assoId, invokeID, 'confirmed-requestPDU', 'invalid-argument');
            throw new StanzaError('bad-request', `${pdu.pdu} does not belong in an iq ${request.type} (8-2 Table D.1)`);
        }
        switch (pdu.pdu) {
            case 'initiate-RequestPDU': {
                const r = this.#initiate(request.from, payload.assoId, pdu);
                return this.#answer(r.pdu, r.assoId);
            }
            case 'conclude-RequestPDU': {
                const a = this.#association(request.from, payload.assoId);
                this.#assocs.delete(a.peer);
                this.emit('association', { type: 'conclude', peer: a.peer, assoId: a.assoId });
                return this.#answer({ pdu: 'conclude-ResponsePDU' }, a.assoId);
            }
            case 'cancel-RequestPDU': {
                const a = this.#association(request.from, payload.assoId);
                return this.#answer(
                    {
                        pdu: 'cancel-ErrorPDU',
                        originalInvokeID: pdu.invokeID,
                        serviceError: serviceError('cancel', 'cancel-not-possible').error,
                    },
                    a.assoId,
                );
            }
            case 'confirmed-RequestPDU':
                return this.#confirmed(request, payload.assoId, pdu);
            default:
                throw new StanzaError('bad-request', `${pdu.pdu} is not a request`);
        }
    }

    #answer(pdu: MmsPdu, assoId: string | undefined): XmlElement {
        return encodePayload(assoId === undefined ? { pdu } : { assoId, pdu });
    }

    /** The association of a request, or the XMPP error that tells the peer to associate (note §8.3). */
    #association(from: string, assoId: string | undefined): Association {
        const a = this.#assocs.get(from);
        if (!a || (assoId !== undefined && assoId !== a.assoId)) {
            throw new StanzaError('item-not-found', `No association ${assoId ?? ''} with ${from}: associate first`, {
                type: 'cancel',
                application: el('unknown-association', { xmlns: NS_DERLINK_8_2_ERRORS }),
            });
        }
        return a;
    }

    #initiate(from: string, callingId: string | undefined, pdu: InitiateParameters): { pdu: MmsPdu; assoId?: string } {
        const refuse = (cls: string, name: string, reason: string) => {
            this.emit('association', { type: 'refused', peer: from, reason });
            const error: MmsPdu = { pdu: 'initiate-ErrorPDU', serviceError: serviceError(cls, name, reason).error };
            return callingId === undefined ? { pdu: error } : { pdu: error, assoId: callingId };
        };
        if (!this.#access.associate.matches(from, (bare) => this.#isContact(bare)))
            return refuse('access', 'object-access-denied', `${bareOf(from)} may not associate with this server`);
        if (pdu.versionNumber < MMS_VERSION) return refuse('initiate', 'version-incompatible', 'MMS version 1 needed');
        const theirs = pdu.localDetail ?? this.#o.maxPduSize;
        if (theirs < MIN_PDU_SIZE)
            return refuse('initiate', 'max-segment-insufficient', `max PDU size ${theirs} is below ${MIN_PDU_SIZE}`);
        if (pdu.dataStructureNestingLevel !== undefined && pdu.dataStructureNestingLevel < MIN_NESTING_LEVEL)
            return refuse('initiate', 'nesting-level-insufficient', `nesting level ${MIN_NESTING_LEVEL} needed`);
        const previous = this.#assocs.get(from);
        if (previous) this.#abort(from, 'the peer associated again');
        if (this.#assocs.size >= this.#o.maxAssociations && !this.#evictIdle())
            return refuse('resource', 'capability-unavailable', `${this.#o.maxAssociations} associations are open`);
        const called = this.#allocateId();
        const assoId = callingId ? `${callingId.split(':')[0]}:${called}` : called;
        const maxPduSize = Math.min(theirs, this.#o.maxPduSize);
        const maxServOutstanding = Math.max(1, Math.min(pdu.maxServOutstandingCalling, this.#o.maxServOutstanding));
        this.#assocs.set(from, {
            peer: from,
            assoId,
            since: new Date().toISOString(),
            maxPduSize,
            maxServOutstanding,
            requests: 0,
            outstanding: 0,
            lastUsed: Date.now(),
            dataSets: new Map(),
        });
        this.emit('association', { type: 'open', peer: from, assoId });
        const response: MmsPdu = {
            pdu: 'initiate-ResponsePDU',
            localDetail: maxPduSize,
            maxServOutstandingCalling: maxServOutstanding,
            maxServOutstandingCalled: Math.max(1, Math.min(pdu.maxServOutstandingCalled, this.#o.maxServOutstanding)),
            dataStructureNestingLevel: Math.max(MIN_NESTING_LEVEL, pdu.dataStructureNestingLevel ?? 10),
            versionNumber: MMS_VERSION,
            parameterCBB: PARAMETER_SUPPORT_61850,
            servicesSupported: SERVED,
        };
        // The response carries the full id so the peer learns our half.
        return { pdu: response, assoId };
    }

    #allocateId(): string {
        const used = new Set([...this.#assocs.values()].map((a) => a.assoId.split(':').pop()));
        for (let i = 0; i < 999; i++) {
            const id = String(this.#nextId);
            this.#nextId = (this.#nextId % 999) + 1;
            if (!used.has(id)) return id;
        }
        return String(this.#nextId);
    }

    /** Makes room by aborting the association idle longest, if one has been idle 10 minutes. */
    #evictIdle(): boolean {
        let oldest: Association | undefined;
        for (const a of this.#assocs.values()) if (!oldest || a.lastUsed < oldest.lastUsed) oldest = a;
        if (!oldest || Date.now() - oldest.lastUsed < 600_000 || oldest.outstanding > 0) return false;
        this.#abort(oldest.peer, 'idle association replaced by a new one');
        return true;
    }

    #abort(peer: string, reason: string): void {
        const a = this.#assocs.get(peer);
        if (!a) return;
        this.#assocs.delete(peer);
        this.emit('association', { type: 'abort', peer, assoId: a.assoId, reason });
    }

    #isContact(bare: string): boolean {
        return this.#session.roster.some(
            (r) => r.jid === bare && (r.subscription === 'from' || r.subscription === 'both'),
        );
    }

    /** A rejectPDU in a message normal (Table D.1). */
    #reject(
        to: string,
        assoId: string | undefined,
        invokeID: number | undefined,
        pduName: string,
        reason: string,
    ): void {
        const code = REJECT_REASONS[pduName]?.[reason] ?? 0;
        const pdu: MmsPdu = { pdu: 'rejectPDU', rejectReason: { pdu: pduName, code } };
        if (invokeID !== undefined) pdu.originalInvokeID = invokeID;
        const payload = this.#answer(pdu, assoId);
        this.#session
            .send(el('message', { to, type: 'normal' }, payload))
            .catch((err: Error) => this.emit('warning', err));
    }

    async #confirmed(
        request: IqRequest,
        assoId: string | undefined,
        pdu: Extract<MmsPdu, { pdu: 'confirmed-RequestPDU' }>,
    ): Promise<XmlElement> {
        const a = this.#association(request.from, assoId);
        if (a.outstanding >= a.maxServOutstanding) {
            this.#reject(request.from, a.assoId, pdu.invokeID, 'confirmed-requestPDU', 'max-serv-outstanding-exceeded');
            throw new StanzaError('resource-constraint', `More than ${a.maxServOutstanding} requests outstanding`, {
                type: 'wait',
            });
        }
        a.outstanding++;
        a.requests++;
        a.lastUsed = Date.now();
        try {
            const size = serializedSize(request.payload);
            let outcome: ServiceOutcome =
                size > a.maxPduSize
                    ? serviceError('service', 'pdu-size', `request of ${size} octets; negotiated ${a.maxPduSize}`)
                    : await this.#serve(a, pdu.request);
            let answer = this.#answer(outcomePdu(pdu.invokeID, outcome), a.assoId);
            if (!('error' in outcome)) {
                const out = serializedSize(answer);
                if (out > a.maxPduSize) {
                    outcome = serviceError(
                        'service',
                        'pdu-size',
                        `response of ${out} octets; negotiated ${a.maxPduSize}`,
                    );
                    answer = this.#answer(outcomePdu(pdu.invokeID, outcome), a.assoId);
                }
            }
            return answer;
        } finally {
            a.outstanding--;
        }
    }

    async #serve(a: Association, req: ConfirmedRequest): Promise<ServiceOutcome> {
        const may = (what: 'read' | 'write') => this.#access[what].matches(a.peer, (bare) => this.#isContact(bare));
        const denied = (what: string) =>
            serviceError('access', 'object-access-denied', `${bareOf(a.peer)} may not ${what} on this server`);
        switch (req.service) {
            case 'getNameList':
                if (!may('read')) return denied('read');
                return this.#getNameList(a, req);
            case 'read':
                return this.#read(a, req, may('read'));
            case 'write':
                return this.#write(a, req, may('write'));
            case 'getVariableAccessAttributes': {
                if (!may('read')) return denied('read');
                const t = req.name.scope === 'domain-specific' ? this.#target(req.name) : undefined;
                if (!t) return serviceError('access', 'object-non-existent', `${nameText(req.name)} does not exist`);
                return { service: 'getVariableAccessAttributes', mmsDeletable: false, typeSpecification: t.type };
            }
            case 'defineNamedVariableList':
                if (!may('write')) return denied('create data sets');
                return this.#defineDataSet(a, req.variableListName, req.listOfVariable);
            case 'getNamedVariableListAttributes': {
                if (!may('read')) return denied('read');
                const ds = this.#dataSet(a, req.name);
                if (!ds) return serviceError('access', 'object-non-existent', `${nameText(req.name)} does not exist`);
                return {
                    service: 'getNamedVariableListAttributes',
                    mmsDeletable: ds.deletable,
                    listOfVariable: ds.members.map((m) => m.spec),
                };
            }
            case 'deleteNamedVariableList':
                if (!may('write')) return denied('delete data sets');
                return this.#deleteDataSets(a, req);
            default:
                return serviceError(
                    'access',
                    'object-access-unsupported',
                    `${req.service} is not provided by this server`,
                );
        }
    }

    #target(name: ObjectName): Target | undefined {
        if (name.scope !== 'domain-specific') return undefined;
        return this.#index.domains.get(name.domainId)?.targets.get(name.itemId);
    }

    #dataSet(a: Association, name: ObjectName): DataSetEntry | undefined {
        if (name.scope === 'aa-specific') return a.dataSets.get(name.name);
        if (name.scope === 'domain-specific') return this.#dataSets.get(nameKey(name));
        return undefined;
    }

    // ---- GetNameList (GetServerDirectory, GetLogicalDeviceDirectory, GetLogicalNodeDirectory) ----

    #getNameList(a: Association, req: Extract<ConfirmedRequest, { service: 'getNameList' }>): ServiceOutcome {
        let names: string[];
        const scope = req.objectScope;
        const domainOf = (ld: string) => this.#index.domains.get(ld);
        if (req.objectClass === 'domain') {
            names = 'vmdSpecific' in scope ? this.#index.domainNames : [];
        } else if ('domainSpecific' in scope) {
            const d = domainOf(scope.domainSpecific);
            if (!d) return serviceError('access', 'object-non-existent', `no domain ${scope.domainSpecific}`);
            if (req.objectClass === 'namedVariable') names = d.names;
            else if (req.objectClass === 'namedVariableList')
                names = [...this.#dataSets.values()]
                    .filter((s) => s.name.scope === 'domain-specific' && s.name.domainId === d.ld.name)
                    .map((s) => (s.name as { itemId: string }).itemId);
            else if (req.objectClass === 'journal')
                names = d.ld.logicalNodes.flatMap((ln) => (ln.logs ?? []).map((l) => `${ln.name}$${l}`));
            else names = [];
        } else if ('aaSpecific' in scope && req.objectClass === 'namedVariableList') {
            names = [...a.dataSets.keys()];
        } else {
            names = [];
        }
        let start = 0;
        if (req.continueAfter !== undefined) {
            const at = names.indexOf(req.continueAfter);
            if (at < 0)
                return serviceError('service', 'continuation-invalid', `${req.continueAfter} is not in the list`);
            start = at + 1;
        }
        // Fill the page up to the negotiated PDU size (each identifier costs its text and tags).
        const budget = a.maxPduSize - 600;
        let used = 0;
        let end = start;
        while (end < names.length) {
            const cost = (names[end] as string).length + 32;
            if (used + cost > budget && end > start) break;
            used += cost;
            end++;
        }
        return { service: 'getNameList', listOfIdentifier: names.slice(start, end), moreFollows: end < names.length };
    }

    // ---- Read (GetDataValues, GetAllDataValues, GetDataSetValues) ----

    #readOne(spec: VariableSpec, mayRead: boolean): AccessResult {
        const t = this.#target(spec.name);
        if (!t) return { failure: code('object-non-existent') };
        if (!mayRead) return { failure: code('object-access-denied') };
        let data = this.#values.data(t);
        if (spec.alternateAccess?.length) {
            const sel = simpleSelectors(spec.alternateAccess);
            const part = sel && selectIn(data, t.type, sel);
            if (!part) return { failure: code('object-non-existent') };
            data = part.data;
        }
        return { success: data };
    }

    #read(a: Association, req: Extract<ConfirmedRequest, { service: 'read' }>, mayRead: boolean): ServiceOutcome {
        const vas = req.variableAccessSpecification;
        let results: AccessResult[];
        if ('listOfVariable' in vas) {
            results = vas.listOfVariable.map((v) => this.#readOne(v, mayRead));
        } else {
            const ds = this.#dataSet(a, vas.variableListName);
            if (!ds)
                return serviceError(
                    'access',
                    'object-non-existent',
                    `${nameText(vas.variableListName)} does not exist`,
                );
            if (!mayRead) return serviceError('access', 'object-access-denied', `${bareOf(a.peer)} may not read`);
            results = ds.members.map((m) => this.#readOne(m.spec, true));
        }
        const response: ConfirmedResponse = { service: 'read', listOfAccessResult: results };
        if (req.specificationWithResult) response.variableAccessSpecification = vas;
        return response;
    }

    // ---- Write (SetDataValues, SetDataSetValues) ----

    async #write(
        a: Association,
        req: Extract<ConfirmedRequest, { service: 'write' }>,
        mayWrite: boolean,
    ): Promise<ServiceOutcome> {
        const vas = req.variableAccessSpecification;
        let specs: VariableSpec[];
        let dataSet: string | undefined;
        if ('listOfVariable' in vas) specs = vas.listOfVariable;
        else {
            const ds = this.#dataSet(a, vas.variableListName);
            if (!ds)
                return serviceError(
                    'access',
                    'object-non-existent',
                    `${nameText(vas.variableListName)} does not exist`,
                );
            specs = ds.members.map((m) => m.spec);
            dataSet = ds.reference;
        }
        if (specs.length !== req.listOfData.length)
            return serviceError(
                'definition',
                'object-attribute-inconsistent',
                `${specs.length} variables but ${req.listOfData.length} values`,
            );
        const results: WriteResult[] = [];
        const pending: Array<{ i: number; item: WriteItem; leaves: Array<{ da: DataAttribute; value: Value }> }> = [];
        specs.forEach((spec, i) => {
            const t = this.#target(spec.name);
            if (!t) {
                results.push({ failure: code('object-non-existent') });
                return;
            }
            if (!mayWrite) {
                results.push({ failure: code('object-access-denied') });
                return;
            }
            const fcs = t.fc ? [t.fc] : [];
            if (fcs.length === 0 || !fcs.every(writableBySetDataValues)) {
                results.push({ failure: code('object-access-denied') });
                return;
            }
            try {
                let full = req.listOfData[i] as Data;
                const before = this.#values.data(t);
                const sel = spec.alternateAccess?.length ? simpleSelectors(spec.alternateAccess) : [];
                if (!sel) {
                    results.push({ failure: code('object-access-unsupported') });
                    return;
                }
                if (sel.length > 0) {
                    if (!selectIn(before, t.type, sel)) {
                        results.push({ failure: code('object-non-existent') });
                        return;
                    }
                    full = replaceIn(before, sel, t.type, full);
                }
                const leaves = targetLeaves(t, full).map((l) => ({
                    da: l.da,
                    value: dataToValue(l.da, l.data, l.da.name),
                }));
                const name = t.path[t.path.length - 1]?.name;
                results.push({ success: true });
                pending.push({
                    i,
                    leaves,
                    item: {
                        reference: memberReference(spec),
                        fc: t.fc as Fc,
                        value: dataToJson(req.listOfData[i] as Data, selectIn(before, t.type, sel)?.type, name),
                        previous: dataToJson(before, t.type, name),
                    },
                });
            } catch (err) {
                results.push({ failure: valueError(err) });
            }
        });
        if (pending.length > 0) {
            const request: WriteRequest = { from: a.peer, assoId: a.assoId, items: pending.map((p) => p.item) };
            if (dataSet) request.dataSet = dataSet;
            const decision = await this.#decide(request);
            const accepted: WriteItem[] = [];
            pending.forEach((p, j) => {
                const refused = decision === 'timeout' ? code('temporarily-unavailable') : decisionFor(decision, j);
                if (refused !== undefined) {
                    results[p.i] = { failure: refused };
                    return;
                }
                for (const l of p.leaves) this.#values.set(l.da, l.value);
                accepted.push(p.item);
            });
            if (accepted.length > 0) this.emit('written', { ...request, items: accepted });
        }
        return { service: 'write', results };
    }

    async #decide(request: WriteRequest): Promise<WriteDecision | 'timeout'> {
        const onWrite = this.#o.onWrite;
        if (!onWrite) return true;
        let timer: NodeJS.Timeout | undefined;
        try {
            return await Promise.race([
                Promise.resolve().then(() => onWrite(request)),
                new Promise<'timeout'>((resolve) => {
                    timer = setTimeout(() => resolve('timeout'), this.#o.writeTimeoutMs);
                }),
            ]);
        } catch (err) {
            this.emit('warning', err as Error);
            return false;
        } finally {
            clearTimeout(timer);
        }
    }

    // ---- Data sets (CreateDataSet, DeleteDataSet, GetDataSetDirectory) ----

    #defineDataSet(a: Association, name: ObjectName, members: VariableSpec[]): ServiceOutcome {
        if (name.scope === 'vmd-specific')
            return serviceError('access', 'object-access-unsupported', 'vmd-specific data sets are not supported');
        if (this.#dataSet(a, name)) return serviceError('definition', 'object-exists', `${nameText(name)} exists`);
        if (members.length === 0 || members.length > this.#o.maxDataSetMembers)
            return serviceError(
                'resource',
                'capability-unavailable',
                `a data set has 1 to ${this.#o.maxDataSetMembers} members`,
            );
        if (name.scope === 'domain-specific') {
            const [lnName, dsName, ...rest] = name.itemId.split('$');
            const d = this.#index.domains.get(name.domainId);
            if (!d || !dsName || rest.length > 0 || !d.ld.logicalNodes.some((l) => l.name === lnName))
                return serviceError('access', 'object-non-existent', `${nameText(name)}: no such logical node`);
            const created = [...this.#dataSets.values()].filter((s) => s.deletable).length;
            if (created >= this.#o.maxDataSets)
                return serviceError('resource', 'capability-unavailable', `${this.#o.maxDataSets} data sets exist`);
        } else if (a.dataSets.size >= this.#o.maxDataSets) {
            return serviceError('resource', 'capability-unavailable', `${this.#o.maxDataSets} data sets exist`);
        }
        for (const m of members) {
            const t = this.#target(m.name);
            const sel = m.alternateAccess?.length ? simpleSelectors(m.alternateAccess) : [];
            if (
                !t?.fc ||
                t.path.length === 0 ||
                !sel ||
                (sel.length > 0 && !selectIn(this.#values.data(t), t.type, sel))
            )
                return serviceError('access', 'object-non-existent', `member ${memberText(m)} does not exist`);
        }
        const entry: DataSetEntry = {
            reference: dataSetReference(name),
            name,
            deletable: true,
            members: members.map((spec) => ({ spec, reference: memberReference(spec) })),
        };
        if (name.scope === 'aa-specific') a.dataSets.set(name.name, entry);
        else this.#dataSets.set(nameKey(name), entry);
        this.emit('dataset', {
            type: 'created',
            reference: entry.reference,
            peer: a.peer,
            members: entry.members.map((m) => m.reference),
        });
        return { service: 'defineNamedVariableList' };
    }

    #deleteDataSets(
        a: Association,
        req: Extract<ConfirmedRequest, { service: 'deleteNamedVariableList' }>,
    ): ServiceOutcome {
        const scope = req.scopeOfDelete ?? 'specific';
        let matched: DataSetEntry[] = [];
        if (scope === 'specific') {
            for (const n of req.listOfVariableListName ?? []) {
                const ds = this.#dataSet(a, n);
                if (ds) matched.push(ds);
            }
        } else if (scope === 'aa-specific') {
            matched = [...a.dataSets.values()];
        } else if (scope === 'domain') {
            matched = [...this.#dataSets.values()].filter(
                (s) => s.name.scope === 'domain-specific' && s.name.domainId === req.domainName,
            );
        }
        let deleted = 0;
        for (const ds of matched) {
            if (!ds.deletable) continue;
            if (ds.name.scope === 'aa-specific') a.dataSets.delete(ds.name.name);
            else this.#dataSets.delete(nameKey(ds.name));
            deleted++;
            this.emit('dataset', { type: 'deleted', reference: ds.reference, peer: a.peer });
        }
        return { service: 'deleteNamedVariableList', numberMatched: matched.length, numberDeleted: deleted };
    }
}

const FCS_IN_ORDER = Object.keys(FCS) as Fc[];

/** The value path of a DO's main attribute under `fc` (e.g. `mag.f`), if it has one. */
export function mainAttribute(node: DataObject, fc: Fc): { da: DataAttribute; path: string } | undefined {
    for (const name of MAIN_ATTRIBUTES) {
        const da = node.children.find((c): c is DataAttribute => c.kind === 'DA' && c.name === name && c.fc === fc);
        if (!da) continue;
        if (da.type !== 'Struct') return { da, path: da.name };
        for (const member of ['f', 'i', 'mag']) {
            const m = (da.children ?? []).find((c) => c.name === member);
            if (m?.type === 'Struct') {
                const f = (m.children ?? []).find((c) => c.name === 'f' || c.name === 'i');
                if (f) return { da: f, path: `${da.name}.${member}.${f.name}` };
            } else if (m) return { da: m, path: `${da.name}.${m.name}` };
        }
        return { da, path: da.name };
    }
    return undefined;
}

function outcomePdu(invokeID: number, outcome: ServiceOutcome): MmsPdu {
    return 'error' in outcome
        ? { pdu: 'confirmed-ErrorPDU', invokeID, serviceError: outcome.error }
        : { pdu: 'confirmed-ResponsePDU', invokeID, response: outcome };
}

function stanzaForSafe(pdu: MmsPdu): { stanza: string; type: string } | undefined {
    try {
        return stanzaFor(pdu);
    } catch {
        return undefined;
    }
}

/** The invokeID of a payload the codec refused, when it can still be read (note §8.2: reject it). */
function readableInvokeId(payload: XmlElement): number | undefined {
    const find = (e: XmlElement, depth: number): XmlElement | undefined => {
        if (e.local === 'invokeID') return e;
        if (depth > 3) return undefined;
        for (const c of e.elements()) {
            const f = find(c, depth + 1);
            if (f) return f;
        }
        return undefined;
    };
    const id = find(payload, 0)?.text().trim();
    return id !== undefined && /^[0-9]{1,10}$/.test(id) && Number(id) <= 0x7fffffff ? Number(id) : undefined;
}

/** Component and index selectors only (8-1 uses no ranges or all-elements in reads and writes). */
function simpleSelectors(chain: readonly Selector[]): Array<{ component: string } | { index: number }> | undefined {
    const out: Array<{ component: string } | { index: number }> = [];
    for (const s of chain) {
        if ('component' in s) out.push({ component: s.component });
        else if ('index' in s) out.push({ index: s.index });
        else return undefined;
    }
    return out;
}

function nameText(name: ObjectName): string {
    return name.scope === 'domain-specific' ? `${name.domainId}/${name.itemId}` : name.name;
}

function memberText(spec: VariableSpec): string {
    return nameText(spec.name);
}

function bareOf(jid: string): string {
    const slash = jid.indexOf('/');
    return slash < 0 ? jid : jid.slice(0, slash);
}
