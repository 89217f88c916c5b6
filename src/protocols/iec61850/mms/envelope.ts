import { el, type XmlElement, type XmlLimits } from '../../xml';
import { DECODER, ENCODER, MAX_DATA_DEPTH, NS_SCSM_8_2 } from './constants';
import { type DataCodecOptions, parseXmlTyped } from './data';
import { MmsError, shown } from './errors';
import { decodePdu, encodePdu, type MmsPdu, type MmsPduKind, pduKindOf } from './pdu';
import type { ConfirmedService } from './services';

/**
 * The 8-2 payload inside an XMPP stanza (wire note §3.4 [P]): the association-context element
 * (ENCODER.contextElement, `ApplData` with `assoID`) holding one MMS PDU, and the Annex D
 * Table D.1 mapping of PDUs to stanzas (§2.2). Both the client and the server engines use
 * `stanzaFor` to send and `checkStanza` to refuse a PDU that came in the wrong stanza.
 */

export type StanzaKind = 'iq' | 'message';
export type StanzaType = 'get' | 'set' | 'result' | 'normal';

export interface StanzaMappingRow {
    pdu: MmsPduKind;
    /** Confirmed services the row covers; absent = every PDU of that kind. */
    services?: readonly ConfirmedService[];
    stanza: StanzaKind;
    type: StanzaType;
    /** [C] Table D.1 as the note quotes it, [I] inferred by the note. */
    source: string;
}

/** IEC 61850-8-2 Annex D, Table D.1 (wire note §2.2). */
export const STANZA_MAPPING: readonly StanzaMappingRow[] = Object.freeze([
    {
        pdu: 'confirmed-RequestPDU',
        services: ['getNameList', 'read', 'getVariableAccessAttributes', 'readJournal', 'fileRead', 'fileDirectory'],
        stanza: 'iq',
        type: 'get',
        source: '[C] Table D.1',
    },
    {
        pdu: 'confirmed-RequestPDU',
        services: ['getNamedVariableListAttributes'],
        stanza: 'iq',
        type: 'get',
        source: '[I] Table D.1 "…"; read-only service',
    },
    {
        pdu: 'confirmed-RequestPDU',
        services: ['obtainFile'],
        stanza: 'iq',
        type: 'get',
        source: '[C] Table D.1 (SetFile = obtainFile, iq get)',
    },
    {
        pdu: 'confirmed-RequestPDU',
        services: [
            'write',
            'defineNamedVariableList',
            'deleteNamedVariableList',
            'fileOpen',
            'fileClose',
            'fileDelete',
        ],
        stanza: 'iq',
        type: 'set',
        source: '[C] Table D.1',
    },
    { pdu: 'confirmed-ResponsePDU', stanza: 'iq', type: 'result', source: '[C] Table D.1' },
    { pdu: 'confirmed-ErrorPDU', stanza: 'iq', type: 'result', source: '[C] Table D.1' },
    { pdu: 'unconfirmed-PDU', stanza: 'message', type: 'normal', source: '[C] Table D.1' },
    { pdu: 'rejectPDU', stanza: 'message', type: 'normal', source: '[C] Table D.1' },
    { pdu: 'cancel-RequestPDU', stanza: 'iq', type: 'get', source: '[C] Table D.1' },
    { pdu: 'cancel-ResponsePDU', stanza: 'iq', type: 'result', source: '[C] Table D.1' },
    { pdu: 'cancel-ErrorPDU', stanza: 'iq', type: 'result', source: '[C] Table D.1' },
    { pdu: 'conclude-RequestPDU', stanza: 'iq', type: 'set', source: '[C] Table D.1' },
    { pdu: 'conclude-ResponsePDU', stanza: 'iq', type: 'result', source: '[C] Table D.1' },
    { pdu: 'conclude-ErrorPDU', stanza: 'iq', type: 'result', source: '[C] Table D.1' },
    { pdu: 'initiate-RequestPDU', stanza: 'iq', type: 'set', source: '[I] E2E off: S6 maps Initiate to iq set' },
    { pdu: 'initiate-ResponsePDU', stanza: 'iq', type: 'result', source: '[I] E2E off: answer to the iq set' },
    { pdu: 'initiate-ErrorPDU', stanza: 'iq', type: 'result', source: '[I] E2E off: answer to the iq set' },
] satisfies StanzaMappingRow[]);

/** The stanza and type that carry `pdu` (Table D.1). */
export function stanzaFor(pdu: MmsPdu): { stanza: StanzaKind; type: StanzaType } {
    const service = pdu.pdu === 'confirmed-RequestPDU' ? pdu.request.service : undefined;
    const row = STANZA_MAPPING.find(
        (r) =>
            r.pdu === pdu.pdu && (r.services === undefined || (service !== undefined && r.services.includes(service))),
    );
    if (!row) throw new MmsError('unsupported', `No stanza mapping for ${pdu.pdu}${service ? ` ${service}` : ''}`);
    return { stanza: row.stanza, type: row.type };
}

/**
 * Refuses a PDU that arrived in a stanza Table D.1 does not give it (e.g. a write in an iq get).
 * The server answers such a request with a rejectPDU (note §8.2: invalid-argument).
 */
export function checkStanza(pdu: MmsPdu, stanza: StanzaKind, type: string): void {
    const want = stanzaFor(pdu);
    const got = stanza === 'message' && type === '' ? 'normal' : type;
    if (want.stanza !== stanza || want.type !== got) {
        const what = pdu.pdu === 'confirmed-RequestPDU' ? `${pdu.pdu} ${pdu.request.service}` : pdu.pdu;
        throw new MmsError(
            'unexpected-content',
            `${what} belongs in ${want.stanza} type ${want.type}, not ${stanza} type ${shown(got)} (8-2 Table D.1)`,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The envelope

export interface Payload {
    /** Association id from the context element (62351-4 syntax `n:n` or `n`); absent without one. */
    assoId?: string;
    pdu: MmsPdu;
}

/** 62351-4 AssociationID syntax the note adopts (§3.4). */
const ASSO_ID = /^[0-9]{1,3}(?::[0-9]{1,3})?$/;

/** XML limits for one stanza payload: Data may nest MAX_DATA_DEPTH levels, two elements each. */
export const PAYLOAD_LIMITS: Readonly<Pick<XmlLimits, 'maxBytes' | 'maxDepth' | 'maxElements'>> = Object.freeze({
    maxBytes: 4 * 1024 * 1024,
    maxDepth: 2 * MAX_DATA_DEPTH + 24,
    maxElements: 200_000,
});

/** `<ApplData xmlns=… assoID=…>` around the PDU: the child to put into the iq or message. */
export function encodePayload(payload: Payload, options?: DataCodecOptions): XmlElement {
    if (payload.assoId !== undefined && !ASSO_ID.test(payload.assoId)) {
        throw new MmsError('wrong-type', `assoID ${shown(payload.assoId)} is not n or n:n (62351-4)`);
    }
    return el(
        ENCODER.contextElement,
        { xmlns: NS_SCSM_8_2, [ENCODER.assoIdAttribute]: payload.assoId },
        encodePdu(payload.pdu, options),
    );
}

/**
 * Reads the payload from a stanza's child (ApplData, query, or the PDU itself) or from the stanza
 * (`iq`/`message`: its one payload child is taken). Accepts every variant of note §3.4.
 */
export function decodePayload(element: XmlElement, options?: DataCodecOptions): Payload {
    let node = element;
    if ((node.local === 'iq' || node.local === 'message') && !pduKindOf(node)) {
        const kids = node.elements().filter((c) => c.local !== 'error' && c.local !== 'body' && c.local !== 'thread');
        if (kids.length !== 1) {
            throw new MmsError('missing-element', `<${node.local}> must carry exactly one 8-2 payload`, node.local);
        }
        node = kids[0] as XmlElement;
    }
    let assoId: string | undefined;
    if ((DECODER.contextElements as readonly string[]).includes(node.local) && !pduKindOf(node)) {
        if (!DECODER.namespaces.includes(node.ns)) {
            throw new MmsError('unknown-element', `<${node.local}> in namespace ${shown(node.ns)}`, node.local);
        }
        const a = node.attrs[ENCODER.assoIdAttribute];
        if (a !== undefined) {
            if (!ASSO_ID.test(a)) {
                throw new MmsError('bad-lexical', `assoID ${shown(a)} is not n or n:n (62351-4)`, node.local);
            }
            assoId = a;
        }
        const kids = node.elements();
        if (kids.length !== 1) {
            throw new MmsError('missing-element', `<${node.local}> must hold exactly one PDU`, node.local);
        }
        node = kids[0] as XmlElement;
    }
    const pdu = decodePdu(node, options);
    return assoId === undefined ? { pdu } : { assoId, pdu };
}

/**
 * Parses a payload document through the hardened XML layer (whitespace kept for mMSString).
 * `xml` overrides PAYLOAD_LIMITS; `maxDepth` is the Data nesting limit of the codec.
 */
export function decodePayloadXml(
    text: string | Uint8Array,
    options: DataCodecOptions & { xml?: Partial<XmlLimits> } = {},
): Payload {
    const root = parseXmlTyped(text, { ...PAYLOAD_LIMITS, ...options.xml, keepWhitespace: true });
    return decodePayload(root, options);
}
