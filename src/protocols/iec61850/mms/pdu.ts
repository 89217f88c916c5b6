import { el, type XmlElement } from '../../xml';
import { DECODER, ENCODER } from './constants';
import { onlyChild } from './data';
import { MmsError, type NamedNumbers, nameOf, REJECT_REASONS, SERVICE_ERROR_CLASSES, shown } from './errors';

/**
 * MMS PDUs in XER (ISO 9506-2 MMSpdu; wire note §4.2, examples §5). Started with the error PDUs
 * (§5.8): confirmed-ErrorPDU and rejectPDU. Read, write and informationReport are still to come.
 * Envelope choices come from constants.ts.
 */

/** A ServiceError: the errorClass alternative with its code, and the optional details (§4.3). */
export interface ServiceError {
    errorClass: { class: string; code: number };
    additionalCode?: number;
    additionalDescription?: string;
}

export interface ConfirmedErrorPdu {
    invokeID: number;
    modifierPosition?: number;
    serviceError: ServiceError;
}

export interface RejectPdu {
    originalInvokeID?: number;
    /** The rejected PDU type (REJECT_REASONS key) and the reason code. */
    rejectReason: { pdu: string; code: number };
}

/** Unsigned32 (invokeID, originalInvokeID, modifierPosition). */
const UNSIGNED32_MAX = 0xffffffff;

/** A PDU root name with the configured separator: `confirmed-ErrorPDU`. */
export function pduName(kind: string, sep: '-' | '_' = ENCODER.pduNameSeparator): string {
    return kind.replace('-', sep);
}

/** True when `element` is the PDU `kind` (`confirmed-ErrorPDU`) in any accepted spelling and namespace. */
export function isPdu(element: XmlElement, kind: string): boolean {
    if (!DECODER.namespaces.includes(element.ns)) return false;
    return DECODER.pduNameSeparators.some((sep) => element.local === pduName(kind, sep));
}

// ---------------------------------------------------------------------------------------------
// Named numbers (open question 4): `<object-non-existent/>` or `2`

/** `<parent><name/></parent>` or `<parent>n</parent>` per ENCODER.namedNumbers. */
export function encodeNamedNumber(parent: string, table: NamedNumbers, value: number): XmlElement {
    const name = ENCODER.namedNumbers === 'identifier' ? nameOf(table, value) : undefined;
    return name === undefined ? el(parent, {}, String(value)) : el(parent, {}, el(name));
}

/** Reads an INTEGER with named numbers in either form. */
export function decodeNamedNumber(element: XmlElement, table: NamedNumbers, path: string): number {
    if (element.elements().length === 0) return decodeInt(element, path, -0x80000000, 0x7fffffff);
    const id = onlyChild(element, path);
    if (id.children.length > 0) {
        throw new MmsError('unexpected-content', `<${id.local}> must be empty`, `${path}/${id.local}`);
    }
    if (!Object.hasOwn(table, id.local)) {
        throw new MmsError('unknown-element', `<${id.local}> is not a named number here`, `${path}/${id.local}`);
    }
    return table[id.local] as number;
}

function decodeInt(element: XmlElement, path: string, min: number, max: number): number {
    if (element.elements().length > 0) {
        throw new MmsError('unexpected-content', `<${element.local}> must hold a number`, path);
    }
    const t = element.text().trim();
    if (!/^-?[0-9]{1,12}$/.test(t)) throw new MmsError('bad-lexical', `${shown(t)} is not an integer`, path);
    const v = Number(t);
    if (v < min || v > max) throw new MmsError('out-of-range', `${t} is outside ${min}..${max}`, path);
    return v;
}

/** Children of a SEQUENCE by local name; unknown ones refused, each at most once. */
function sequence(element: XmlElement, path: string, allowed: readonly string[]): Map<string, XmlElement> {
    const out = new Map<string, XmlElement>();
    for (const c of element.children) {
        if (typeof c === 'string') {
            if (c.trim() !== '')
                throw new MmsError('unexpected-content', `Text ${shown(c)} in <${element.local}>`, path);
            continue;
        }
        if (!allowed.includes(c.local)) {
            throw new MmsError(
                'unknown-element',
                `<${c.local}> is not a component of <${element.local}>`,
                `${path}/${c.local}`,
            );
        }
        if (out.has(c.local)) throw new MmsError('missing-element', `<${c.local}> appears twice`, `${path}/${c.local}`);
        out.set(c.local, c);
    }
    return out;
}

function required(parts: Map<string, XmlElement>, name: string, path: string): XmlElement {
    const e = parts.get(name);
    if (!e) throw new MmsError('missing-element', `<${name}> is missing`, path);
    return e;
}

// ---------------------------------------------------------------------------------------------
// ServiceError, confirmed-ErrorPDU, rejectPDU

export function encodeServiceError(error: ServiceError): XmlElement {
    const cls = error.errorClass.class;
    const table = Object.hasOwn(SERVICE_ERROR_CLASSES, cls) ? SERVICE_ERROR_CLASSES[cls] : undefined;
    if (!table) throw new MmsError('wrong-type', `Unknown ServiceError class ${shown(error.errorClass.class)}`);
    return el(
        'serviceError',
        {},
        el('errorClass', {}, encodeNamedNumber(error.errorClass.class, table, error.errorClass.code)),
        error.additionalCode === undefined ? null : el('additionalCode', {}, String(error.additionalCode)),
        error.additionalDescription === undefined ? null : el('additionalDescription', {}, error.additionalDescription),
    );
}

export function decodeServiceError(element: XmlElement, path = element.local): ServiceError {
    const parts = sequence(element, path, [
        'errorClass',
        'additionalCode',
        'additionalDescription',
        'serviceSpecificInfo',
        'serviceSpecificInformation',
    ]);
    if (parts.has('serviceSpecificInfo') || parts.has('serviceSpecificInformation')) {
        throw new MmsError('unsupported', 'ServiceError serviceSpecificInfo is not supported', path);
    }
    const classPath = `${path}/errorClass`;
    const alt = onlyChild(required(parts, 'errorClass', path), classPath);
    const table = SERVICE_ERROR_CLASSES[alt.local];
    if (!table || !Object.hasOwn(SERVICE_ERROR_CLASSES, alt.local)) {
        throw new MmsError(
            'unknown-element',
            `<${alt.local}> is not a ServiceError class`,
            `${classPath}/${alt.local}`,
        );
    }
    const out: ServiceError = {
        errorClass: { class: alt.local, code: decodeNamedNumber(alt, table, `${classPath}/${alt.local}`) },
    };
    const code = parts.get('additionalCode');
    if (code) out.additionalCode = decodeInt(code, `${path}/additionalCode`, -0x80000000, 0x7fffffff);
    const desc = parts.get('additionalDescription');
    if (desc) {
        const text = desc.text();
        if (desc.elements().length > 0 || /[^\x20-\x7e]/.test(text)) {
            throw new MmsError(
                'bad-lexical',
                'additionalDescription must be a VisibleString',
                `${path}/additionalDescription`,
            );
        }
        out.additionalDescription = text;
    }
    return out;
}

export function encodeConfirmedErrorPdu(pdu: ConfirmedErrorPdu): XmlElement {
    return el(
        pduName('confirmed-ErrorPDU'),
        {},
        el('invokeID', {}, String(pdu.invokeID)),
        pdu.modifierPosition === undefined ? null : el('modifierPosition', {}, String(pdu.modifierPosition)),
        encodeServiceError(pdu.serviceError),
    );
}

export function decodeConfirmedErrorPdu(element: XmlElement): ConfirmedErrorPdu {
    const path = element.local;
    if (!isPdu(element, 'confirmed-ErrorPDU')) {
        throw new MmsError('unknown-element', `<${element.local}> is not a confirmed-ErrorPDU`, path);
    }
    const parts = sequence(element, path, ['invokeID', 'modifierPosition', 'serviceError']);
    const out: ConfirmedErrorPdu = {
        invokeID: decodeInt(required(parts, 'invokeID', path), `${path}/invokeID`, 0, UNSIGNED32_MAX),
        serviceError: decodeServiceError(required(parts, 'serviceError', path), `${path}/serviceError`),
    };
    const mod = parts.get('modifierPosition');
    if (mod) out.modifierPosition = decodeInt(mod, `${path}/modifierPosition`, 0, UNSIGNED32_MAX);
    return out;
}

export function encodeRejectPdu(pdu: RejectPdu): XmlElement {
    const kind = pdu.rejectReason.pdu;
    const table = Object.hasOwn(REJECT_REASONS, kind) ? REJECT_REASONS[kind] : undefined;
    if (!table) throw new MmsError('wrong-type', `Unknown rejectReason PDU type ${shown(pdu.rejectReason.pdu)}`);
    return el(
        'rejectPDU',
        {},
        pdu.originalInvokeID === undefined ? null : el('originalInvokeID', {}, String(pdu.originalInvokeID)),
        el('rejectReason', {}, encodeNamedNumber(pdu.rejectReason.pdu, table, pdu.rejectReason.code)),
    );
}

export function decodeRejectPdu(element: XmlElement): RejectPdu {
    const path = element.local;
    if (element.local !== 'rejectPDU' || !DECODER.namespaces.includes(element.ns)) {
        throw new MmsError('unknown-element', `<${element.local}> is not a rejectPDU`, path);
    }
    const parts = sequence(element, path, ['originalInvokeID', 'rejectReason']);
    const reasonPath = `${path}/rejectReason`;
    const alt = onlyChild(required(parts, 'rejectReason', path), reasonPath);
    const table = Object.hasOwn(REJECT_REASONS, alt.local) ? REJECT_REASONS[alt.local] : undefined;
    if (!table) {
        throw new MmsError('unknown-element', `<${alt.local}> is not a rejectReason`, `${reasonPath}/${alt.local}`);
    }
    const out: RejectPdu = {
        rejectReason: { pdu: alt.local, code: decodeNamedNumber(alt, table, `${reasonPath}/${alt.local}`) },
    };
    const id = parts.get('originalInvokeID');
    if (id) out.originalInvokeID = decodeInt(id, `${path}/originalInvokeID`, 0, UNSIGNED32_MAX);
    return out;
}
