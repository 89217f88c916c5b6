import { EventEmitter } from 'node:events';
import { serializedSize, type XmlElement } from '../../xml';
import {
    Backoff,
    type Disposable,
    type IncomingMessage,
    type PeerPresence,
    parseJid,
    type Session,
    type SessionState,
    StanzaError,
    type StateInfo,
} from '../../xmpp';
import type { AccessResult, ObjectName, TypeSpecification, VariableSpec } from '../mms/access';
import { DECODER, NS_SCSM_8_2 } from '../mms/constants';
import type { Data } from '../mms/data';
import { decodePayload, encodePayload, stanzaFor } from '../mms/envelope';
import { DATA_ACCESS_ERRORS, MmsError, nameOf, REJECT_REASONS, SERVICE_ERROR_CLASSES } from '../mms/errors';
import { dataToJson, jsonToData } from '../mms/json';
import type { MmsPdu, ServiceError } from '../mms/pdu';
import type { ConfirmedRequest, ConfirmedResponse, ObjectClass, ObjectScope } from '../mms/services';
import { MIN_NESTING_LEVEL, MIN_PDU_SIZE, MMS_VERSION, PARAMETER_SUPPORT_61850, serviceSupport } from '../mms/support';
import { Iec61850Error } from '../model/errors';
import { type Fc, isFc } from '../model/fc';
import {
    dataSetObjectName,
    dataSetReference,
    memberReference,
    parseReference,
    variableSpecOf,
} from '../model/reference';
import type { Quality } from '../model/types';
import { MAIN_ATTRIBUTES } from '../model/values';
import type {
    BrowseTree,
    ClientErrorCode,
    ClientEvents,
    ClientOptions,
    ClientState,
    ClientStateInfo,
    DataDirectoryEntry,
    DataSetMemberValue,
    ReadValue,
} from './types';

/**
 * The client side of IEC 61850-8-2 (an aggregator or SCADA reading a heat pump): associates
 * with one server JID, keeps the association (re-associates after a lost session, a server
 * restart or the server's unavailable presence), and maps the ACSI services onto MMS in XER
 * (wire note §5): directories by GetNameList, data by Read/Write and GetVariableAccessAttributes,
 * data sets by the named variable list services. MMS types are fetched once and cached, so
 * values come out named (structures as objects).
 */

/** The 8-2 resource of an IED's JID (§2.1: `myIED@DSO.org/IEC`). */
export const IED_RESOURCE = 'IEC';

const ALL_SERVICES = serviceSupport([
    'getNameList',
    'read',
    'write',
    'getVariableAccessAttributes',
    'defineNamedVariableList',
    'getNamedVariableListAttributes',
    'deleteNamedVariableList',
    'informationReport',
    'conclude',
]);

export class Iec61850ClientError extends Error {
    readonly code: ClientErrorCode;
    /** The MMS error behind it: a DataAccessError or `class/name` of a ServiceError or reject. */
    readonly mms: string | undefined;

    constructor(code: ClientErrorCode, message: string, options: { mms?: string; cause?: unknown } = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'Iec61850ClientError';
        this.code = code;
        this.mms = options.mms;
    }
}

const DATA_ACCESS_CODES: Readonly<Record<string, ClientErrorCode>> = Object.freeze({
    'object-non-existent': 'NOT_FOUND',
    'object-undefined': 'NOT_FOUND',
    'invalid-address': 'NOT_FOUND',
    'object-access-denied': 'ACCESS_DENIED',
    'type-inconsistent': 'TYPE_CONFLICT',
    'type-unsupported': 'TYPE_CONFLICT',
    'object-value-invalid': 'VALUE_INVALID',
    'object-attribute-inconsistent': 'VALUE_INVALID',
    'temporarily-unavailable': 'TEMPORARILY_UNAVAILABLE',
    'object-access-unsupported': 'NOT_SUPPORTED',
});

const SERVICE_ERROR_CODES: Readonly<Record<string, ClientErrorCode>> = Object.freeze({
    'access/object-non-existent': 'NOT_FOUND',
    'access/object-access-denied': 'ACCESS_DENIED',
    'access/object-access-unsupported': 'NOT_SUPPORTED',
    'definition/object-undefined': 'NOT_FOUND',
    'definition/object-exists': 'OBJECT_EXISTS',
    'definition/type-inconsistent': 'TYPE_CONFLICT',
    'definition/object-attribute-inconsistent': 'VALUE_INVALID',
    'service/pdu-size': 'PDU_SIZE',
    'service/object-state-conflict': 'TEMPORARILY_UNAVAILABLE',
    'service/object-constraint-conflict': 'VALUE_INVALID',
    'initiate/other': 'NOT_ASSOCIATED',
});

/** The error a flow gets for a DataAccessError code. */
export function dataAccessError(code: number, what: string): Iec61850ClientError {
    const name = nameOf(DATA_ACCESS_ERRORS, code) ?? `code ${code}`;
    return new Iec61850ClientError(DATA_ACCESS_CODES[name] ?? 'FAILED', `${what}: ${name}`, { mms: name });
}

function serviceErrorOf(e: ServiceError, what: string): Iec61850ClientError {
    const cls = e.errorClass.class;
    const names = SERVICE_NAMES[cls] ?? {};
    const codeName = names[e.errorClass.code] ?? String(e.errorClass.code);
    const key = `${cls}/${codeName}`;
    const detail = e.additionalDescription ? ` (${e.additionalDescription})` : '';
    return new Iec61850ClientError(SERVICE_ERROR_CODES[key] ?? 'FAILED', `${what}: ${key}${detail}`, { mms: key });
}

const SERVICE_NAMES: Readonly<Record<string, Record<number, string>>> = Object.freeze(
    Object.fromEntries(
        Object.entries(SERVICE_ERROR_CLASSES).map(([cls, table]) => [
            cls,
            Object.fromEntries(Object.entries(table).map(([n, v]) => [v, n])),
        ]),
    ),
);

interface Pending {
    resolve: () => void;
}

/** Reads waiting together for a request slot (see #readOne). */
interface ReadBatch {
    items: Array<{ spec: VariableSpec; what: string; resolve: (r: AccessResult) => void; reject: (e: Error) => void }>;
    /** Estimated octets of their variable specifications. */
    bytes: number;
}

/**
 * Most variables one combined Read carries, and the most octets of their specifications. Measured
 * (iec61850-getdatavalues, 64 in flight): 8 and 16 variables pipeline well; 32 (about 10 KB of
 * answer) waits on the transport and falls below reading one by one.
 */
const COALESCE_MAX = 16;
const COALESCE_BYTES = 4096;

/** Octets a variable specification takes in XER, roughly (tags around the two names). */
function specSize(spec: VariableSpec): number {
    const n = spec.name;
    const names = n.scope === 'domain-specific' ? n.domainId.length + n.itemId.length : n.name.length;
    return 160 + names + (spec.alternateAccess?.length ?? 0) * 120;
}

export class Iec61850Client extends EventEmitter<ClientEvents> {
    readonly #session: Session;
    readonly #server: string;
    readonly #o: Required<Omit<ClientOptions, 'reconnect'>>;
    readonly #backoff: Backoff;
    readonly #handles: Disposable[] = [];
    #state: ClientState = 'idle';
    #info: ClientStateInfo = {};
    #assoId: string | undefined;
    #callingId = 0;
    #invokeId = 0;
    #maxPduSize = 0;
    #maxOutstanding = 1;
    #outstanding = 0;
    /** Requests on their way to a slot (between #call and #slot). */
    #entering = 0;
    readonly #queue: Pending[] = [];
    #retryTimer: NodeJS.Timeout | undefined;
    #associating: Promise<void> | undefined;
    /** Waiters for the next association. */
    #waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
    /** MMS types by `domain/itemId`, for naming values; cleared on every new association. */
    readonly #types = new Map<string, TypeSpecification>();
    /** Type look-ups under way, by `domain/itemId`. */
    readonly #typeFetches = new Map<string, Promise<TypeSpecification>>();
    /** Reads waiting together for a slot; closed when it is sent. */
    #batch: ReadBatch | undefined;
    /** Requests by invokeID, so a rejectPDU message can end one. */
    readonly #inflight = new Map<number, (e: Error) => void>();

    constructor(session: Session, options: ClientOptions) {
        super();
        this.#session = session;
        const jid = parseJid(options.server);
        if (!jid.local)
            throw new Iec61850ClientError('BAD_INPUT', `"${options.server}" is not an IED JID (ied@domain)`);
        this.#server = jid.resource ? jid.full : `${jid.bare}/${IED_RESOURCE}`;
        const maxPduSize = options.maxPduSize ?? 65_536;
        if (!Number.isInteger(maxPduSize) || maxPduSize < MIN_PDU_SIZE)
            throw new Iec61850ClientError('BAD_INPUT', `maxPduSize must be an integer ≥ ${MIN_PDU_SIZE}`);
        this.#o = {
            server: this.#server,
            maxPduSize,
            maxServOutstanding: options.maxServOutstanding ?? 10,
            timeoutMs: options.timeoutMs ?? 10_000,
            reassociate: options.reassociate ?? true,
        };
        this.#backoff = new Backoff({
            minMs: options.reconnect?.minMs ?? 1000,
            maxMs: options.reconnect?.maxMs ?? 30_000,
        });
    }

    get server(): string {
        return this.#server;
    }

    get state(): ClientState {
        return this.#state;
    }

    #isClosed(): boolean {
        return this.#state === 'closed';
    }

    get info(): ClientStateInfo {
        return { ...this.#info };
    }

    /** Starts associating and keeps the association (re-associating after each loss). */
    start(): void {
        if (this.#state !== 'idle') return;
        this.#handles.push(
            SessionHub.of(this.#session).add(this.#server, {
                state: (state, info) => {
                    if (state === 'online' && !info.resumed) this.#lost(new Error('the XMPP session was renewed'), 0);
                    else if (state === 'online' && this.#state === 'waiting') this.#retry(0);
                    else if (state === 'closed') this.#lost(new Error('the XMPP session was closed'));
                },
                presence: (p) => {
                    if (!p.available) this.#lost(new Error(`${this.#server} went offline`));
                    else if (this.#state === 'waiting') this.#retry(0);
                },
                message: (m) => this.#onMessage(m),
            }),
        );
        this.#associate().catch(() => undefined);
    }

    /** Ends the association (conclude) and stops. */
    async close(): Promise<void> {
        if (this.#state === 'closed') return;
        clearTimeout(this.#retryTimer);
        const was = this.#state;
        const assoId = this.#assoId;
        this.#setState('closed', {});
        for (const h of this.#handles.splice(0)) h.dispose();
        for (const w of this.#waiters.splice(0))
            w.reject(new Iec61850ClientError('NOT_ASSOCIATED', 'The client was closed'));
        if (was === 'associated' && assoId && this.#session.state === 'online') {
            await this.#session
                .request(this.#server, 'set', encodePayload({ assoId, pdu: { pdu: 'conclude-RequestPDU' } }), {
                    timeoutMs: 2000,
                })
                .catch(() => undefined);
        }
    }

    // ---- association ---------------------------------------------------------------------

    #setState(state: ClientState, info: ClientStateInfo): void {
        this.#state = state;
        this.#info = info;
        this.emit('state', state, info);
        if (state === 'associated') for (const w of this.#waiters.splice(0)) w.resolve();
    }

    #associate(): Promise<void> {
        if (this.#associating) return this.#associating;
        this.#associating = this.#doAssociate().finally(() => {
            this.#associating = undefined;
        });
        return this.#associating;
    }

    async #doAssociate(): Promise<void> {
        if (this.#state === 'closed') return;
        this.#setState('associating', {});
        this.#callingId = (this.#callingId % 999) + 1;
        const calling = String(this.#callingId);
        const request: MmsPdu = {
            pdu: 'initiate-RequestPDU',
            localDetail: this.#o.maxPduSize,
            maxServOutstandingCalling: this.#o.maxServOutstanding,
            maxServOutstandingCalled: this.#o.maxServOutstanding,
            dataStructureNestingLevel: 10,
            versionNumber: MMS_VERSION,
            parameterCBB: PARAMETER_SUPPORT_61850,
            servicesSupported: ALL_SERVICES,
        };
        try {
            const answer = await this.#session.request(
                this.#server,
                'set',
                encodePayload({ assoId: calling, pdu: request }),
                { timeoutMs: this.#o.timeoutMs },
            );
            if (this.#isClosed()) return;
            if (!answer)
                throw new Iec61850ClientError('FAILED', 'The server answered the initiate with an empty result');
            const { assoId, pdu } = decodePayload(answer);
            if (pdu.pdu === 'initiate-ErrorPDU') {
                const err = serviceErrorOf(pdu.serviceError, `${this.#server} refused the association`);
                throw new Iec61850ClientError(err.code === 'FAILED' ? 'NOT_ASSOCIATED' : err.code, err.message, {
                    ...(err.mms ? { mms: err.mms } : {}),
                });
            }
            if (pdu.pdu !== 'initiate-ResponsePDU')
                throw new Iec61850ClientError('FAILED', `The server answered the initiate with ${pdu.pdu}`);
            const negotiated = pdu.localDetail ?? this.#o.maxPduSize;
            if (negotiated < MIN_PDU_SIZE || (pdu.dataStructureNestingLevel ?? MIN_NESTING_LEVEL) < MIN_NESTING_LEVEL)
                throw new Iec61850ClientError('FAILED', `The server negotiated a PDU size of ${negotiated} octets`);
            this.#assoId = assoId ?? calling;
            this.#maxPduSize = Math.min(negotiated, this.#o.maxPduSize);
            this.#maxOutstanding = Math.max(1, Math.min(pdu.maxServOutstandingCalling, this.#o.maxServOutstanding));
            this.#types.clear();
            this.#backoff.reset();
            this.#setState('associated', {
                assoId: this.#assoId,
                maxPduSize: this.#maxPduSize,
                maxServOutstanding: this.#maxOutstanding,
            });
            this.#drainQueue();
        } catch (err) {
            if (this.#isClosed()) return;
            const e = toClientError(err, `Association with ${this.#server}`);
            this.#waitAndRetry(e);
            throw e;
        }
    }

    #waitAndRetry(error: Error): void {
        this.#assoId = undefined;
        if (!this.#o.reassociate) {
            this.#setState('waiting', { error });
            for (const w of this.#waiters.splice(0)) w.reject(error);
            return;
        }
        const delay = this.#backoff.next();
        this.#setState('waiting', { error, retryInMs: delay });
        for (const w of this.#waiters.splice(0)) w.reject(error);
        this.#retry(delay);
    }

    #retry(delayMs: number): void {
        clearTimeout(this.#retryTimer);
        if (this.#state === 'closed' || !this.#o.reassociate) return;
        this.#retryTimer = setTimeout(() => {
            if (this.#session.state !== 'online') return; // the session's state event retries
            this.#associate().catch(() => undefined);
        }, delayMs);
        this.#retryTimer.unref?.();
    }

    /** The association is gone (session renewed, server offline, server forgot it). */
    #lost(error: Error, delayMs?: number): void {
        if (this.#state === 'closed' || this.#state === 'idle') return;
        if (this.#state === 'associating') return;
        this.#assoId = undefined;
        this.#setState('waiting', { error });
        this.#retry(delayMs ?? this.#backoff.next());
    }

    /** Resolves when associated; rejects after `timeoutMs` or when associating fails. */
    #whenAssociated(): Promise<void> {
        if (this.#state === 'associated') return Promise.resolve();
        if (this.#state === 'closed')
            return Promise.reject(new Iec61850ClientError('NOT_ASSOCIATED', 'The client is closed'));
        if (this.#state === 'idle')
            return Promise.reject(new Iec61850ClientError('NOT_ASSOCIATED', 'The client was not started'));
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.#waiters = this.#waiters.filter((w) => w !== waiter);
                reject(
                    new Iec61850ClientError(
                        'NOT_ASSOCIATED',
                        `Not associated with ${this.#server}${this.#info.error ? `: ${this.#info.error.message}` : ''}`,
                    ),
                );
            }, this.#o.timeoutMs);
            const waiter = {
                resolve: () => {
                    clearTimeout(timer);
                    resolve();
                },
                reject: (e: Error) => {
                    clearTimeout(timer);
                    reject(
                        new Iec61850ClientError('NOT_ASSOCIATED', `Not associated with ${this.#server}: ${e.message}`),
                    );
                },
            };
            this.#waiters.push(waiter);
            if (this.#state === 'waiting' && this.#session.state === 'online') this.#retry(0);
        });
    }

    #onMessage(m: IncomingMessage): void {
        let pdu: MmsPdu;
        try {
            pdu = decodePayload(m.payload).pdu;
        } catch (err) {
            this.emit('warning', err as Error);
            return;
        }
        if (pdu.pdu === 'rejectPDU') {
            const reason = nameOf(REJECT_REASONS[pdu.rejectReason.pdu] ?? {}, pdu.rejectReason.code) ?? 'other';
            const e = new Iec61850ClientError(
                'REJECTED',
                `${this.#server} rejected the request: ${pdu.rejectReason.pdu} ${reason}`,
                {
                    mms: `reject/${pdu.rejectReason.pdu}/${reason}`,
                },
            );
            const fail = pdu.originalInvokeID === undefined ? undefined : this.#inflight.get(pdu.originalInvokeID);
            if (fail) fail(e);
            else this.emit('warning', e);
        }
    }

    // ---- requests ------------------------------------------------------------------------

    /** Takes one of the negotiated request slots, waiting in order when all are in use. */
    async #slot(): Promise<void> {
        if (this.#outstanding < this.#maxOutstanding) {
            this.#outstanding++;
            return;
        }
        // #drainQueue counts the slot for us when it hands it over.
        await new Promise<void>((resolve) => this.#queue.push({ resolve }));
    }

    #release(): void {
        this.#outstanding--;
        this.#drainQueue();
    }

    #drainQueue(): void {
        while (this.#outstanding < this.#maxOutstanding && this.#queue.length > 0) {
            this.#outstanding++;
            (this.#queue.shift() as Pending).resolve();
        }
    }

    /** One confirmed service: waits for the association, sends, checks the answer. Retries once after a lost association. */
    async #call(request: ConfirmedRequest | (() => ConfirmedRequest), what: string): Promise<ConfirmedResponse> {
        for (let attempt = 0; ; attempt++) {
            this.#entering++;
            try {
                await this.#whenAssociated();
            } finally {
                this.#entering--;
            }
            await this.#slot();
            try {
                return await this.#send(typeof request === 'function' ? request() : request, what);
            } catch (err) {
                if (err instanceof StanzaError && isUnknownAssociation(err) && attempt === 0) {
                    this.#lost(new Error(`${this.#server} does not know the association`), 0);
                    continue;
                }
                if (
                    err instanceof StanzaError &&
                    (err.condition === 'service-unavailable' || err.condition === 'recipient-unavailable')
                ) {
                    this.#lost(new Error(`${this.#server} is not available`));
                    throw new Iec61850ClientError('NOT_ASSOCIATED', `${what}: ${this.#server} is not available`, {
                        cause: err,
                    });
                }
                throw toClientError(err, what);
            } finally {
                this.#release();
            }
        }
    }

    async #send(request: ConfirmedRequest, what: string): Promise<ConfirmedResponse> {
        const assoId = this.#assoId as string;
        this.#invokeId = (this.#invokeId + 1) % 0x7fffffff;
        const invokeID = this.#invokeId;
        const pdu: MmsPdu = { pdu: 'confirmed-RequestPDU', invokeID, request };
        const payload = encodePayload({ assoId, pdu });
        const size = serializedSize(payload);
        if (size > this.#maxPduSize)
            throw new Iec61850ClientError(
                'PDU_SIZE',
                `${what}: the request is ${size} octets; the association allows ${this.#maxPduSize}`,
            );
        const { type } = stanzaFor(pdu);
        let rejected: ((e: Error) => void) | undefined;
        const rejection = new Promise<never>((_, reject) => {
            rejected = reject;
        });
        rejection.catch(() => undefined);
        this.#inflight.set(invokeID, rejected as (e: Error) => void);
        let answer: XmlElement | undefined;
        try {
            answer = await Promise.race([
                this.#session.request(this.#server, type as 'get' | 'set', payload, { timeoutMs: this.#o.timeoutMs }),
                rejection,
            ]);
        } finally {
            this.#inflight.delete(invokeID);
        }
        if (!answer) throw new Iec61850ClientError('FAILED', `${what}: the server sent an empty result`);
        const decoded = decodePayload(answer).pdu;
        if (decoded.pdu === 'confirmed-ErrorPDU') {
            if (decoded.invokeID !== invokeID)
                throw new Iec61850ClientError('FAILED', `${what}: answer to another request`);
            throw serviceErrorOf(decoded.serviceError, what);
        }
        if (decoded.pdu !== 'confirmed-ResponsePDU' || decoded.invokeID !== invokeID)
            throw new Iec61850ClientError('FAILED', `${what}: unexpected answer ${decoded.pdu}`);
        if (decoded.response.service !== request.service)
            throw new Iec61850ClientError('FAILED', `${what}: answer for ${decoded.response.service}`);
        return decoded.response;
    }

    // ---- directories ---------------------------------------------------------------------

    async #nameList(objectClass: ObjectClass, objectScope: ObjectScope, what: string): Promise<string[]> {
        const out: string[] = [];
        let continueAfter: string | undefined;
        for (let page = 0; page < 100_000; page++) {
            const req: ConfirmedRequest = { service: 'getNameList', objectClass, objectScope };
            if (continueAfter !== undefined) req.continueAfter = continueAfter;
            const res = (await this.#call(req, what)) as Extract<ConfirmedResponse, { service: 'getNameList' }>;
            out.push(...res.listOfIdentifier);
            if (!res.moreFollows || res.listOfIdentifier.length === 0) return out;
            continueAfter = res.listOfIdentifier[res.listOfIdentifier.length - 1];
        }
        throw new Iec61850ClientError('FAILED', `${what}: the list does not end`);
    }

    /** GetServerDirectory: the logical devices. */
    getServerDirectory(): Promise<string[]> {
        return this.#nameList('domain', { vmdSpecific: true }, 'GetServerDirectory');
    }

    /** The named variables of a domain (8-1 LN, LN$FC, LN$FC$DO…). */
    #domainNames(ld: string, what: string): Promise<string[]> {
        return this.#nameList('namedVariable', { domainSpecific: ld }, what);
    }

    /** GetLogicalDeviceDirectory: the LN names of a logical device. */
    async getLogicalDeviceDirectory(ld: string): Promise<string[]> {
        const names = await this.#domainNames(ld, `GetLogicalDeviceDirectory ${ld}`);
        return names.filter((n) => !n.includes('$'));
    }

    /** GetLogicalNodeDirectory: the DO names (DATA) or data set references (DATA-SET) of `LD/LN`. */
    async getLogicalNodeDirectory(lnRef: string, acsiClass: 'DATA' | 'DATA-SET' = 'DATA'): Promise<string[]> {
        const { ld, ln } = splitLn(lnRef);
        const what = `GetLogicalNodeDirectory ${lnRef} ${acsiClass}`;
        if (acsiClass === 'DATA-SET') {
            const names = await this.#nameList('namedVariableList', { domainSpecific: ld }, what);
            return names.filter((n) => n.startsWith(`${ln}$`)).map((n) => `${ld}/${ln}.${n.slice(ln.length + 1)}`);
        }
        const names = await this.#domainNames(ld, what);
        if (!names.includes(ln)) throw new Iec61850ClientError('NOT_FOUND', `${what}: no logical node ${ln}`);
        const out: string[] = [];
        for (const n of names) {
            const parts = n.split('$');
            if (parts[0] === ln && parts.length === 3 && !out.includes(parts[2] as string))
                out.push(parts[2] as string);
        }
        return out;
    }

    /** GetDataDirectory: the children (SDOs and DAs) of a DO, with the FCs they carry. */
    async getDataDirectory(doRef: string): Promise<DataDirectoryEntry[]> {
        const ref = parseReference(doRef);
        if (ref.path.length === 0) throw new Iec61850ClientError('BAD_INPUT', `${doRef} is not a data object`);
        const what = `GetDataDirectory ${doRef}`;
        const names = await this.#domainNames(ref.ld, what);
        const doPath = ref.path.map((p) => p.name);
        const byName = new Map<string, DataDirectoryEntry>();
        let found = false;
        for (const n of names) {
            const parts = n.split('$');
            if (parts[0] !== ref.ln || parts.length < 3) continue;
            const fc = parts[1] as string;
            const rest = parts.slice(2);
            if (!doPath.every((p, i) => rest[i] === p)) continue;
            found = true;
            if (rest.length !== doPath.length + 1 || !isFc(fc)) continue;
            const name = rest[doPath.length] as string;
            const e = byName.get(name) ?? { name, fcs: [], kind: 'DA' as const };
            if (!e.fcs.includes(fc)) e.fcs.push(fc);
            byName.set(name, e);
        }
        if (!found) throw new Iec61850ClientError('NOT_FOUND', `${what}: no such data object`);
        // A child is a sub data object when something is named below it under one of its FCs.
        for (const e of byName.values()) {
            const prefixes = e.fcs.map((fc) => `${ref.ln}$${fc}$${[...doPath, e.name].join('$')}$`);
            const below = names.filter((n) => prefixes.some((p) => n.startsWith(p)));
            if (e.fcs.length > 1 || below.some((n) => n.split('$').length > doPath.length + 4)) e.kind = 'DO';
        }
        return [...byName.values()];
    }

    /** GetDataDefinition: the MMS type of an FCD/FCDA (`LD/LN.DO[FC]`), an FC component or an LN. */
    async getDataDefinition(reference: string): Promise<TypeSpecification> {
        const spec = specOf(reference);
        return this.#typeOf(spec, `GetDataDefinition ${reference}`);
    }

    async #typeOf(spec: VariableSpec, what: string): Promise<TypeSpecification> {
        const name = spec.name as Extract<ObjectName, { scope: 'domain-specific' }>;
        const key = `${name.domainId}/${name.itemId}`;
        let type = this.#types.get(key);
        if (!type) {
            // Concurrent first reads of one variable share one GetVariableAccessAttributes.
            let fetching = this.#typeFetches.get(key);
            if (!fetching) {
                fetching = this.#call({ service: 'getVariableAccessAttributes', name }, what)
                    .then((res) => {
                        const t = (res as Extract<ConfirmedResponse, { service: 'getVariableAccessAttributes' }>)
                            .typeSpecification;
                        if (this.#types.size > 10_000) this.#types.clear();
                        this.#types.set(key, t);
                        return t;
                    })
                    .finally(() => this.#typeFetches.delete(key));
                this.#typeFetches.set(key, fetching);
            }
            type = await fetching;
        }
        if (!spec.alternateAccess?.length) return type;
        const part = selectType(type, spec);
        if (!part) throw new Iec61850ClientError('NOT_FOUND', `${what}: no such element or component`);
        return part;
    }

    // ---- data ----------------------------------------------------------------------------

    /** GetDataValues of one FCD/FCDA (`LD/LN.DO[.DA][FC]`). */
    async getDataValues(reference: string): Promise<ReadValue> {
        const spec = specOf(reference);
        const what = `GetDataValues ${reference}`;
        const type = await this.#typeOf(spec, what);
        const r = await this.#readOne(spec, what);
        if ('failure' in r) throw dataAccessError(r.failure, what);
        return readValue(memberReference(spec), spec, r.success, type);
    }

    /**
     * One variable's Read. While every negotiated request slot is busy, reads wait together and go
     * out as one MMS Read of several variables (up to COALESCE_MAX and COALESCE_BYTES),
     * each caller getting its own AccessResult; a combined answer over the PDU size is asked
     * again one by one.
     */
    #readOne(spec: VariableSpec, what: string): Promise<AccessResult> {
        const single = () =>
            this.#call({ service: 'read', variableAccessSpecification: { listOfVariable: [spec] } }, what).then(
                (res) => {
                    const list = (res as Extract<ConfirmedResponse, { service: 'read' }>).listOfAccessResult;
                    if (list.length !== 1 || !list[0])
                        throw new Iec61850ClientError('FAILED', `${what}: ${list.length} results for 1 variable`);
                    return list[0];
                },
            );
        const busy = this.#outstanding + this.#entering >= this.#maxOutstanding;
        if (this.#state !== 'associated' || (!busy && !this.#batch)) return single();
        const size = specSize(spec);
        let batch = this.#batch;
        if (
            !batch ||
            batch.items.length >= COALESCE_MAX ||
            batch.bytes + size > Math.min(COALESCE_BYTES, this.#maxPduSize / 4)
        ) {
            batch = { items: [], bytes: 0 };
            this.#batch = batch;
            this.#runBatch(batch);
        }
        batch.bytes += size;
        return new Promise<AccessResult>((resolve, reject) => {
            (batch as ReadBatch).items.push({ spec, what, resolve, reject });
        });
    }

    #runBatch(batch: ReadBatch): void {
        const build = (): ConfirmedRequest => {
            if (this.#batch === batch) this.#batch = undefined;
            return { service: 'read', variableAccessSpecification: { listOfVariable: batch.items.map((i) => i.spec) } };
        };
        const what = () =>
            batch.items.length === 1 ? (batch.items[0]?.what ?? 'Read') : `Read of ${batch.items.length} variables`;
        this.#call(build, 'Read')
            .then((res) => {
                const list = (res as Extract<ConfirmedResponse, { service: 'read' }>).listOfAccessResult;
                if (list.length !== batch.items.length)
                    throw new Iec61850ClientError('FAILED', `${what()}: ${list.length} results`);
                batch.items.forEach((item, i) => {
                    item.resolve(list[i] as AccessResult);
                });
            })
            .catch((err: unknown) => {
                if (err instanceof Iec61850ClientError && err.code === 'PDU_SIZE' && batch.items.length > 1) {
                    for (const item of batch.items)
                        this.#call(
                            { service: 'read', variableAccessSpecification: { listOfVariable: [item.spec] } },
                            item.what,
                        )
                            .then((res) => {
                                const r = (res as Extract<ConfirmedResponse, { service: 'read' }>)
                                    .listOfAccessResult[0];
                                if (r) item.resolve(r);
                                else item.reject(new Iec61850ClientError('FAILED', `${item.what}: no result`));
                            })
                            .catch((e: unknown) => item.reject(toClientError(e, item.what)));
                    return;
                }
                const e = toClientError(err, 'Read');
                for (const item of batch.items)
                    item.reject(
                        new Iec61850ClientError(e.code, `${item.what}: ${e.message}`, {
                            ...(e.mms ? { mms: e.mms } : {}),
                            cause: err,
                        }),
                    );
            });
    }

    /** GetAllDataValues: every FCD of an LN (all FCs, or one). */
    async getAllDataValues(lnRef: string, fc?: Fc): Promise<ReadValue[]> {
        const { ld, ln } = splitLn(lnRef);
        const what = `GetAllDataValues ${lnRef}${fc ? `[${fc}]` : ''}`;
        const spec: VariableSpec = {
            name: { scope: 'domain-specific', domainId: ld, itemId: fc ? `${ln}$${fc}` : ln },
        };
        const type = await this.#typeOf(spec, what);
        const res = (await this.#call(
            { service: 'read', variableAccessSpecification: { listOfVariable: [spec] } },
            what,
        )) as Extract<ConfirmedResponse, { service: 'read' }>;
        const r = res.listOfAccessResult[0];
        if (!r) throw new Iec61850ClientError('FAILED', `${what}: no result`);
        if ('failure' in r) throw dataAccessError(r.failure, what);
        const out: ReadValue[] = [];
        const perFc = fc
            ? [{ fc, type, data: r.success }]
            : structureParts(type, r.success).map((p) => ({ fc: p.name as Fc, type: p.type, data: p.data }));
        for (const part of perFc) {
            for (const d of structureParts(part.type, part.data)) {
                const doSpec: VariableSpec = {
                    name: { scope: 'domain-specific', domainId: ld, itemId: `${ln}$${part.fc}$${d.name}` },
                };
                out.push(readValue(memberReference(doSpec), doSpec, d.data, d.type));
            }
        }
        return out;
    }

    /** SetDataValues of one FCD/FCDA; `value` as JSON (see mms/json.ts). */
    async setDataValues(reference: string, value: unknown): Promise<void> {
        const spec = specOf(reference);
        const what = `SetDataValues ${reference}`;
        const type = await this.#typeOf(spec, what);
        const data = toData(type, value, reference, lastName(spec));
        const res = (await this.#call(
            { service: 'write', variableAccessSpecification: { listOfVariable: [spec] }, listOfData: [data] },
            what,
        )) as Extract<ConfirmedResponse, { service: 'write' }>;
        const r = res.results[0];
        if (!r || res.results.length !== 1) throw new Iec61850ClientError('FAILED', `${what}: no result`);
        if ('failure' in r) throw dataAccessError(r.failure, what);
    }

    // ---- data sets -----------------------------------------------------------------------

    /** GetDataSetDirectory: the members (`LD/LN.DO.DA[FC]`) of a data set. */
    async getDataSetDirectory(dsRef: string): Promise<string[]> {
        return (await this.#dataSetMembers(dsRef, `GetDataSetDirectory ${dsRef}`)).members.map(memberReference);
    }

    async #dataSetMembers(dsRef: string, what: string): Promise<{ members: VariableSpec[]; deletable: boolean }> {
        const name = dataSetName(dsRef);
        const res = (await this.#call({ service: 'getNamedVariableListAttributes', name }, what)) as Extract<
            ConfirmedResponse,
            { service: 'getNamedVariableListAttributes' }
        >;
        return { members: res.listOfVariable, deletable: res.mmsDeletable };
    }

    /** GetDataSetValues: one value (or error) per member, in member order. */
    async getDataSetValues(dsRef: string): Promise<DataSetMemberValue[]> {
        const what = `GetDataSetValues ${dsRef}`;
        const { members } = await this.#dataSetMembers(dsRef, what);
        const types = await Promise.all(members.map((m) => this.#typeOf(m, what).catch(() => undefined)));
        const res = (await this.#call(
            { service: 'read', variableAccessSpecification: { variableListName: dataSetName(dsRef) } },
            what,
        )) as Extract<ConfirmedResponse, { service: 'read' }>;
        if (res.listOfAccessResult.length !== members.length)
            throw new Iec61850ClientError(
                'FAILED',
                `${what}: ${res.listOfAccessResult.length} results for ${members.length} members`,
            );
        return res.listOfAccessResult.map((r: AccessResult, i) => {
            const m = members[i] as VariableSpec;
            const reference = memberReference(m);
            const fc = fcOf(m);
            if ('failure' in r) {
                const e = dataAccessError(r.failure, reference);
                return { reference, fc, error: { code: e.code, message: e.message } };
            }
            return readValue(reference, m, r.success, types[i]);
        });
    }

    /** SetDataSetValues: `values` in member order; the result per member (error when refused). */
    async setDataSetValues(
        dsRef: string,
        values: readonly unknown[],
    ): Promise<Array<{ reference: string; error?: { code: string; message: string } }>> {
        const what = `SetDataSetValues ${dsRef}`;
        const { members } = await this.#dataSetMembers(dsRef, what);
        if (!Array.isArray(values) || values.length !== members.length)
            throw new Iec61850ClientError('BAD_INPUT', `${what}: needs ${members.length} values, one per member`);
        const listOfData: Data[] = [];
        for (let i = 0; i < members.length; i++) {
            const m = members[i] as VariableSpec;
            const type = await this.#typeOf(m, what);
            listOfData.push(toData(type, values[i], memberReference(m), lastName(m)));
        }
        const res = (await this.#call(
            { service: 'write', variableAccessSpecification: { variableListName: dataSetName(dsRef) }, listOfData },
            what,
        )) as Extract<ConfirmedResponse, { service: 'write' }>;
        return members.map((m, i) => {
            const reference = memberReference(m);
            const r = res.results[i];
            if (!r) return { reference, error: { code: 'FAILED', message: 'no result' } };
            if ('failure' in r) {
                const e = dataAccessError(r.failure, reference);
                return { reference, error: { code: e.code, message: e.message } };
            }
            return { reference };
        });
    }

    /** CreateDataSet: persistent (`LD/LN.Name`) or non-persistent (`@Name`), members with FC. */
    async createDataSet(dsRef: string, members: readonly string[]): Promise<void> {
        const what = `CreateDataSet ${dsRef}`;
        if (!Array.isArray(members) || members.length === 0)
            throw new Iec61850ClientError('BAD_INPUT', `${what}: needs at least one member reference with FC`);
        const listOfVariable = members.map((m) => specOf(m));
        await this.#call(
            { service: 'defineNamedVariableList', variableListName: dataSetName(dsRef), listOfVariable },
            what,
        );
    }

    /** DeleteDataSet. */
    async deleteDataSet(dsRef: string): Promise<void> {
        const what = `DeleteDataSet ${dsRef}`;
        const res = (await this.#call(
            {
                service: 'deleteNamedVariableList',
                scopeOfDelete: 'specific',
                listOfVariableListName: [dataSetName(dsRef)],
            },
            what,
        )) as Extract<ConfirmedResponse, { service: 'deleteNamedVariableList' }>;
        if (res.numberMatched === 0) throw new Iec61850ClientError('NOT_FOUND', `${what}: no such data set`);
        if (res.numberDeleted === 0)
            throw new Iec61850ClientError('ACCESS_DENIED', `${what}: the data set may not be deleted`, {
                mms: 'numberDeleted 0',
            });
    }

    // ---- browse --------------------------------------------------------------------------

    /** Walks the whole model: LDs, LNs with the MMS type of each FC, data sets; every FCD/FCDA reference. */
    async browse(): Promise<BrowseTree> {
        const tree: BrowseTree = { server: this.#server, logicalDevices: [], references: [] };
        for (const ld of await this.getServerDirectory()) {
            const lnNames = await this.getLogicalDeviceDirectory(ld);
            const dsNames = await this.#nameList('namedVariableList', { domainSpecific: ld }, `browse ${ld}`);
            const lns: BrowseTree['logicalDevices'][number]['logicalNodes'] = [];
            for (const ln of lnNames) {
                const spec: VariableSpec = { name: { scope: 'domain-specific', domainId: ld, itemId: ln } };
                const type = await this.#typeOf(spec, `browse ${ld}/${ln}`);
                const fcs: Partial<Record<Fc, TypeSpecification>> = {};
                if (type.kind === 'structure') {
                    for (const c of type.components) {
                        if (!c.name || !isFc(c.name)) continue;
                        fcs[c.name] = c.type;
                        collectReferences(`${ld}/${ln}`, c.name, c.type, tree.references);
                    }
                }
                const dataSets = [];
                for (const item of dsNames.filter((n) => n.startsWith(`${ln}$`))) {
                    const name: ObjectName = { scope: 'domain-specific', domainId: ld, itemId: item };
                    const reference = dataSetReference(name);
                    const m = await this.#dataSetMembers(reference, `browse ${reference}`);
                    dataSets.push({ reference, members: m.members.map(memberReference), deletable: m.deletable });
                }
                lns.push({ name: ln, fcs, dataSets });
            }
            tree.logicalDevices.push({ name: ld, logicalNodes: lns });
        }
        return tree;
    }
}

interface HubListener {
    state(state: SessionState, info: StateInfo): void;
    presence(presence: PeerPresence): void;
    message(message: IncomingMessage): void;
}

/**
 * One set of listeners per Session for all the clients on it, dispatching by the server's JID:
 * a client node polling 1,000 IEDs adds no per-client listener to the Session (no listener
 * warnings, and a presence or report reaches only its client).
 */
class SessionHub {
    static readonly #hubs = new WeakMap<Session, SessionHub>();
    readonly #session: Session;
    readonly #byServer = new Map<string, Set<HubListener>>();
    readonly #handles: Disposable[] = [];

    static of(session: Session): SessionHub {
        let hub = SessionHub.#hubs.get(session);
        if (!hub) {
            hub = new SessionHub(session);
            SessionHub.#hubs.set(session, hub);
        }
        return hub;
    }

    private constructor(session: Session) {
        this.#session = session;
    }

    add(server: string, listener: HubListener): Disposable {
        if (this.#byServer.size === 0) this.#attach();
        const set = this.#byServer.get(server) ?? new Set<HubListener>();
        set.add(listener);
        this.#byServer.set(server, set);
        return {
            dispose: () => {
                set.delete(listener);
                if (set.size === 0) this.#byServer.delete(server);
                if (this.#byServer.size === 0) this.#detach();
            },
        };
    }

    #attach(): void {
        const onState = (state: SessionState, info: StateInfo) => {
            for (const set of [...this.#byServer.values()]) for (const l of [...set]) l.state(state, info);
        };
        const onPresence = (p: PeerPresence) => {
            for (const l of [...(this.#byServer.get(p.jid) ?? [])]) l.presence(p);
        };
        this.#session.on('state', onState);
        this.#session.on('presence', onPresence);
        this.#handles.push({
            dispose: () => {
                this.#session.off('state', onState);
                this.#session.off('presence', onPresence);
            },
        });
        for (const context of DECODER.contextElements) {
            this.#handles.push(
                this.#session.handleMessage(NS_SCSM_8_2, context, (m) => {
                    for (const l of [...(this.#byServer.get(m.from) ?? [])]) l.message(m);
                }),
            );
        }
    }

    #detach(): void {
        for (const h of this.#handles.splice(0)) h.dispose();
        SessionHub.#hubs.delete(this.#session);
    }
}

// ---- helpers ---------------------------------------------------------------------------------

function isUnknownAssociation(err: StanzaError): boolean {
    return err.application?.local === 'unknown-association';
}

function toClientError(err: unknown, what: string): Iec61850ClientError {
    if (err instanceof Iec61850ClientError) return err;
    if (err instanceof Iec61850Error || err instanceof MmsError)
        return new Iec61850ClientError(
            err instanceof MmsError && err.code === 'LIMIT' ? 'FAILED' : 'BAD_INPUT',
            `${what}: ${err.message}`,
            {
                cause: err,
            },
        );
    const code = (err as { code?: string } | undefined)?.code;
    if (code === 'TIMEOUT') return new Iec61850ClientError('TIMEOUT', `${what}: no answer in time`, { cause: err });
    if (err instanceof StanzaError)
        return new Iec61850ClientError(
            err.condition === 'forbidden' || err.condition === 'not-authorized' ? 'ACCESS_DENIED' : 'FAILED',
            `${what}: ${err.message}`,
            { cause: err },
        );
    return new Iec61850ClientError('FAILED', `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

function specOf(reference: string): VariableSpec {
    if (typeof reference !== 'string' || reference === '')
        throw new Iec61850ClientError('BAD_INPUT', 'A reference is needed, e.g. HP1LD/MMXN1.Watt[MX]');
    try {
        const ref = parseReference(reference);
        if (ref.fc === undefined && ref.path.length > 0)
            throw new Iec61850ClientError(
                'BAD_INPUT',
                `${reference} needs its functional constraint, e.g. ${reference}[MX] (browse lists them)`,
            );
        return variableSpecOf(reference);
    } catch (err) {
        if (err instanceof Iec61850ClientError) throw err;
        throw new Iec61850ClientError('BAD_INPUT', (err as Error).message, { cause: err });
    }
}

function dataSetName(dsRef: string): ObjectName {
    if (typeof dsRef !== 'string' || dsRef === '')
        throw new Iec61850ClientError('BAD_INPUT', 'A data set reference is needed, e.g. HP1LD/LLN0.DS_HP or @mySet');
    try {
        return dataSetObjectName(dsRef);
    } catch (err) {
        throw new Iec61850ClientError('BAD_INPUT', (err as Error).message, { cause: err });
    }
}

function splitLn(lnRef: string): { ld: string; ln: string } {
    let ref: ReturnType<typeof parseReference>;
    try {
        ref = parseReference(lnRef);
    } catch (err) {
        throw new Iec61850ClientError('BAD_INPUT', (err as Error).message, { cause: err });
    }
    if (ref.path.length > 0 || ref.fc) throw new Iec61850ClientError('BAD_INPUT', `${lnRef} is not LD/LN`);
    return { ld: ref.ld, ln: ref.ln };
}

function fcOf(spec: VariableSpec): Fc {
    const n = spec.name;
    const fc = n.scope === 'domain-specific' ? n.itemId.split('$')[1] : undefined;
    return (fc && isFc(fc) ? fc : 'ST') as Fc;
}

function lastName(spec: VariableSpec): string | undefined {
    const chain = spec.alternateAccess ?? [];
    for (let i = chain.length - 1; i >= 0; i--) {
        const s = chain[i];
        if (s && 'component' in s) return s.component;
    }
    const n = spec.name;
    return n.scope === 'domain-specific' ? n.itemId.split('$').pop() : undefined;
}

function selectType(type: TypeSpecification, spec: VariableSpec): TypeSpecification | undefined {
    let t: TypeSpecification | undefined = type;
    for (const s of spec.alternateAccess ?? []) {
        if (!t) return undefined;
        if ('component' in s)
            t = t.kind === 'structure' ? t.components.find((c) => c.name === s.component)?.type : undefined;
        else if ('index' in s) t = t.kind === 'array' ? t.elementType : undefined;
        else return undefined;
    }
    return t;
}

function toData(type: TypeSpecification, value: unknown, reference: string, name: string | undefined): Data {
    try {
        return jsonToData(type, value, reference, name);
    } catch (err) {
        throw new Iec61850ClientError(
            (err as MmsError).reason === 'out-of-range' ? 'VALUE_INVALID' : 'TYPE_CONFLICT',
            (err as Error).message,
            { cause: err },
        );
    }
}

function structureParts(
    type: TypeSpecification,
    data: Data,
): Array<{ name: string; type: TypeSpecification; data: Data }> {
    if (type.kind !== 'structure' || data.kind !== 'structure') return [];
    return type.components.map((c, i) => ({
        name: c.name ?? String(i),
        type: c.type,
        data: data.components[i] as Data,
    }));
}

/** The ReadValue of a read: named JSON, with the main attribute, quality and time lifted out. */
export function readValue(reference: string, spec: VariableSpec, data: Data, type?: TypeSpecification): ReadValue {
    const fc = fcOf(spec);
    const name = lastName(spec);
    const json = dataToJson(data, type, name);
    const out: ReadValue = { reference, fc, value: json };
    if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
        const o = json as Record<string, unknown>;
        if (o.q && typeof o.q === 'object') out.quality = o.q as Quality;
        if (typeof o.t === 'string') out.timestamp = o.t;
        const main = MAIN_ATTRIBUTES.find((m) => m in o);
        if (main) {
            out.attributes = o;
            out.value = mainValue(o[main]);
        }
    }
    return out;
}

function mainValue(v: unknown): unknown {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        if ('f' in o) return o.f;
        if ('i' in o) return o.i;
        if ('mag' in o) return mainValue(o.mag);
    }
    return v;
}

/** Every FCD and FCDA reference below an LN's FC component. */
function collectReferences(lnRef: string, fc: Fc, type: TypeSpecification, out: string[]): void {
    if (type.kind !== 'structure') return;
    const walk = (path: string, t: TypeSpecification) => {
        out.push(`${path}[${fc}]`);
        if (t.kind === 'structure') for (const c of t.components) if (c.name) walk(`${path}.${c.name}`, c.type);
    };
    for (const c of type.components) if (c.name) walk(`${lnRef}.${c.name}`, c.type);
}
