import { el, type XmlElement } from '../../xml';
import { DECODER, ENCODER } from './constants';
import { type DataCodecOptions, leafText, onlyChild } from './data';
import { MmsError, REJECT_REASONS, SERVICE_ERROR_CLASSES, shown } from './errors';
import {
    type ConfirmedRequest,
    type ConfirmedResponse,
    decodeInformationReport,
    decodeRequest,
    decodeResponse,
    encodeInformationReport,
    encodeRequest,
    encodeResponse,
    type InformationReport,
} from './services';
import {
    decodeInt,
    decodeNamedNumber,
    encodeNamedNumber,
    INTEGER32,
    intElement,
    intPart,
    isBlank,
    required,
    sequence,
    UNSIGNED32_MAX,
} from './xer';

/**
 * The MMSpdu CHOICE in XER (ISO 9506-2 MMSpdu as 8-2 Annex D Table D.1 uses it; wire note §4.2,
 * examples §5): confirmed request/response/error, unconfirmed (informationReport), reject,
 * initiate, conclude and cancel. Service bodies are in services.ts; the stanza envelope and the
 * stanza mapping in envelope.ts. Envelope spellings come from constants.ts.
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

/**
 * The parameters of Initiate-RequestPDU (proposed by the caller) and Initiate-ResponsePDU
 * (negotiated by the called side), ISO 9506-2 §8.2; note §5.9. One shape for both: the
 * element names differ only by the side, see INITIATE_NAMES.
 */
export interface InitiateParameters {
    /** localDetailCalling/Called: the largest PDU the side accepts, in octets (8-2 recommends ≥ 8192). */
    localDetail?: number;
    maxServOutstandingCalling: number;
    maxServOutstandingCalled: number;
    dataStructureNestingLevel?: number;
    versionNumber: number;
    /** ParameterSupportOptions bits ('0'/'1', bit 0 first). */
    parameterCBB: string;
    /** ServiceSupportOptions bits of the side that sends the PDU. */
    servicesSupported: string;
}

type InitiateKind = 'initiate-RequestPDU' | 'initiate-ResponsePDU';

/** Element names of each InitiateParameters field per PDU (ISO 9506-2 Initiate-Request/ResponsePDU). */
const INITIATE_NAMES: Readonly<
    Record<InitiateKind, Record<keyof InitiateParameters, string> & { detail: string; details: readonly string[] }>
> = Object.freeze({
    'initiate-RequestPDU': {
        localDetail: 'localDetailCalling',
        maxServOutstandingCalling: 'proposedMaxServOutstandingCalling',
        maxServOutstandingCalled: 'proposedMaxServOutstandingCalled',
        dataStructureNestingLevel: 'proposedDataStructureNestingLevel',
        detail: ENCODER.initRequestDetail,
        details: DECODER.initRequestDetails,
        versionNumber: 'proposedVersionNumber',
        parameterCBB: 'proposedParameterCBB',
        servicesSupported: 'servicesSupportedCalling',
    },
    'initiate-ResponsePDU': {
        localDetail: 'localDetailCalled',
        maxServOutstandingCalling: 'negotiatedMaxServOutstandingCalling',
        maxServOutstandingCalled: 'negotiatedMaxServOutstandingCalled',
        dataStructureNestingLevel: 'negotiatedDataStructureNestingLevel',
        detail: ENCODER.initResponseDetail,
        details: DECODER.initResponseDetails,
        versionNumber: 'negotiatedVersionNumber',
        parameterCBB: 'negotiatedParameterCBB',
        servicesSupported: 'servicesSupportedCalled',
    },
});

/** Optional detail components of ISO 9506-2:2003 the codec reads past without using. */
const INITIATE_DETAIL_EXTRAS: Readonly<Record<InitiateKind, readonly string[]>> = Object.freeze({
    'initiate-RequestPDU': [
        'additionalSupportedCalling',
        'additionalCbbSupportedCalling',
        'privilegeClassIdentityCalling',
    ],
    'initiate-ResponsePDU': [
        'additionalSupportedCalled',
        'additionalCbbSupportedCalled',
        'privilegeClassIdentityCalled',
    ],
});

const SERV_OUTSTANDING = { min: 1, max: 0x7fff } as const;
const NESTING = { min: 0, max: 127 } as const;

export type MmsPdu =
    | { pdu: 'confirmed-RequestPDU'; invokeID: number; request: ConfirmedRequest }
    | { pdu: 'confirmed-ResponsePDU'; invokeID: number; response: ConfirmedResponse }
    | ({ pdu: 'confirmed-ErrorPDU' } & ConfirmedErrorPdu)
    | { pdu: 'unconfirmed-PDU'; informationReport: InformationReport }
    | ({ pdu: 'rejectPDU' } & RejectPdu)
    | ({ pdu: InitiateKind } & InitiateParameters)
    | { pdu: 'initiate-ErrorPDU'; serviceError: ServiceError }
    | { pdu: 'conclude-RequestPDU' }
    | { pdu: 'conclude-ResponsePDU' }
    | { pdu: 'conclude-ErrorPDU'; serviceError: ServiceError }
    | { pdu: 'cancel-RequestPDU'; invokeID: number }
    | { pdu: 'cancel-ResponsePDU'; invokeID: number }
    | { pdu: 'cancel-ErrorPDU'; originalInvokeID: number; serviceError: ServiceError };

export type MmsPduKind = MmsPdu['pdu'];

/** The MMSpdu alternatives (ISO 9506-2 MMSpdu; conclude/cancel/initiate per §8, reject per §7.6). */
export const PDU_KINDS: readonly MmsPduKind[] = Object.freeze([
    'confirmed-RequestPDU',
    'confirmed-ResponsePDU',
    'confirmed-ErrorPDU',
    'unconfirmed-PDU',
    'rejectPDU',
    'initiate-RequestPDU',
    'initiate-ResponsePDU',
    'initiate-ErrorPDU',
    'conclude-RequestPDU',
    'conclude-ResponsePDU',
    'conclude-ErrorPDU',
    'cancel-RequestPDU',
    'cancel-ResponsePDU',
    'cancel-ErrorPDU',
]);

/** Longest ServiceSupportOptions/ParameterSupportOptions we accept (9506-2:2003 has 93 service bits). */
const MAX_CBB_BITS = 128;

/** A PDU root name with the configured separator: `confirmed-ErrorPDU`. */
export function pduName(kind: string, sep: '-' | '_' = ENCODER.pduNameSeparator): string {
    return kind.replace('-', sep);
}

/** The PDU kind of a root element in any accepted spelling and namespace, or undefined. */
export function pduKindOf(element: XmlElement): MmsPduKind | undefined {
    if (!DECODER.namespaces.includes(element.ns)) return undefined;
    const name = element.local.replace('_', '-');
    return (PDU_KINDS as readonly string[]).includes(name) ? (name as MmsPduKind) : undefined;
}

/** True when `element` is the PDU `kind` (`confirmed-ErrorPDU`) in any accepted spelling and namespace. */
export function isPdu(element: XmlElement, kind: string): boolean {
    return pduKindOf(element) === kind;
}

export { decodeNamedNumber, encodeNamedNumber };

// ---------------------------------------------------------------------------------------------
// ServiceError

function serviceErrorChildren(error: ServiceError): XmlElement[] {
    const cls = error?.errorClass?.class;
    const table =
        typeof cls === 'string' && Object.hasOwn(SERVICE_ERROR_CLASSES, cls) ? SERVICE_ERROR_CLASSES[cls] : undefined;
    if (!table) throw new MmsError('wrong-type', `Unknown ServiceError class ${shown(String(cls))}`);
    const out = [el('errorClass', {}, encodeNamedNumber(cls, table, error.errorClass.code))];
    if (error.additionalCode !== undefined) {
        out.push(intElement('additionalCode', error.additionalCode, INTEGER32.min, INTEGER32.max));
    }
    if (error.additionalDescription !== undefined) {
        if (/[^\x20-\x7e]/.test(error.additionalDescription)) {
            throw new MmsError('out-of-range', 'additionalDescription must be a VisibleString');
        }
        out.push(el('additionalDescription', {}, error.additionalDescription));
    }
    return out;
}

/** `<serviceError>` (or another holder name) with errorClass and details. */
export function encodeServiceError(error: ServiceError, holder = 'serviceError'): XmlElement {
    return el(holder, {}, serviceErrorChildren(error));
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
    const table = Object.hasOwn(SERVICE_ERROR_CLASSES, alt.local) ? SERVICE_ERROR_CLASSES[alt.local] : undefined;
    if (!table) {
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
    if (code) out.additionalCode = decodeInt(code, `${path}/additionalCode`, INTEGER32.min, INTEGER32.max);
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

// ---------------------------------------------------------------------------------------------
// The PDUs

/** The XER element of a PDU (no namespace declaration: the envelope or the caller binds it). */
export function encodePdu(pdu: MmsPdu, options?: DataCodecOptions): XmlElement {
    if (typeof pdu !== 'object' || pdu === null) throw new MmsError('wrong-type', 'A PDU must be an object');
    const name = pduName(pdu.pdu ?? '');
    switch (pdu.pdu) {
        case 'confirmed-RequestPDU':
            return el(
                name,
                {},
                invokeIdElement('invokeID', pdu.invokeID),
                el(ENCODER.confirmedRequestWrapper, {}, encodeRequest(pdu.request, options)),
            );
        case 'confirmed-ResponsePDU':
            return el(
                name,
                {},
                invokeIdElement('invokeID', pdu.invokeID),
                el(ENCODER.confirmedResponseWrapper, {}, encodeResponse(pdu.response, options)),
            );
        case 'confirmed-ErrorPDU':
            return encodeConfirmedErrorPdu(pdu);
        case 'unconfirmed-PDU':
            return el(
                name,
                {},
                el(ENCODER.unconfirmedWrapper, {}, encodeInformationReport(pdu.informationReport, options)),
            );
        case 'rejectPDU':
            return encodeRejectPdu(pdu);
        case 'initiate-RequestPDU':
        case 'initiate-ResponsePDU':
            return encodeInitiate(pdu.pdu, pdu);
        case 'initiate-ErrorPDU':
        case 'conclude-ErrorPDU':
            return encodeServiceError(pdu.serviceError, name);
        case 'conclude-RequestPDU':
        case 'conclude-ResponsePDU':
            return el(name);
        case 'cancel-RequestPDU':
        case 'cancel-ResponsePDU':
            return invokeIdElement(name, pdu.invokeID);
        case 'cancel-ErrorPDU':
            return el(
                name,
                {},
                invokeIdElement('originalInvokeID', pdu.originalInvokeID),
                encodeServiceError(pdu.serviceError),
            );
        default:
            throw new MmsError('wrong-type', `Unknown PDU ${shown(String((pdu as { pdu: unknown }).pdu))}`);
    }
}

/** Reads a PDU root element in any accepted spelling (note §3.4 decoder tolerance). */
export function decodePdu(element: XmlElement, options?: DataCodecOptions): MmsPdu {
    const kind = pduKindOf(element);
    const path = element.local;
    if (!kind) {
        const where = element.ns === '' ? '' : ` in namespace ${shown(element.ns)}`;
        throw new MmsError('unknown-element', `<${element.local}>${where} is not an MMS PDU`, path);
    }
    switch (kind) {
        case 'confirmed-RequestPDU': {
            const { invokeID, service } = confirmedParts(element, path, DECODER.confirmedRequestWrappers);
            return { pdu: kind, invokeID, request: decodeRequest(service.element, service.path, options) };
        }
        case 'confirmed-ResponsePDU': {
            const { invokeID, service } = confirmedParts(element, path, DECODER.confirmedResponseWrappers);
            return { pdu: kind, invokeID, response: decodeResponse(service.element, service.path, options) };
        }
        case 'confirmed-ErrorPDU':
            return { pdu: kind, ...decodeConfirmedErrorPdu(element) };
        case 'unconfirmed-PDU': {
            let inner = onlyChild(element, path);
            let innerPath = `${path}/${inner.local}`;
            if ((DECODER.unconfirmedWrappers as readonly string[]).includes(inner.local)) {
                inner = onlyChild(inner, innerPath);
                innerPath = `${innerPath}/${inner.local}`;
            }
            if (inner.local !== 'informationReport') {
                const known = ['unsolicitedStatus', 'eventNotification'];
                throw new MmsError(
                    known.includes(inner.local) ? 'unsupported' : 'unknown-element',
                    `Unconfirmed service <${inner.local}> is not mapped by IEC 61850-8-2`,
                    innerPath,
                );
            }
            return { pdu: kind, informationReport: decodeInformationReport(inner, innerPath, options) };
        }
        case 'rejectPDU':
            return { pdu: kind, ...decodeRejectPdu(element) };
        case 'initiate-RequestPDU':
        case 'initiate-ResponsePDU':
            return { pdu: kind, ...decodeInitiate(kind, element, path) };
        case 'initiate-ErrorPDU':
        case 'conclude-ErrorPDU':
            return { pdu: kind, serviceError: decodeServiceError(element, path) };
        case 'conclude-RequestPDU':
        case 'conclude-ResponsePDU':
            for (const c of element.children) {
                if (typeof c !== 'string' || !isBlank(c)) {
                    throw new MmsError('unexpected-content', `<${element.local}> must be empty`, path);
                }
            }
            return { pdu: kind };
        case 'cancel-RequestPDU':
        case 'cancel-ResponsePDU':
            return { pdu: kind, invokeID: decodeInt(element, path, 0, UNSIGNED32_MAX) };
        case 'cancel-ErrorPDU': {
            const parts = sequence(element, path, ['originalInvokeID', 'serviceError']);
            return {
                pdu: kind,
                originalInvokeID: intPart(parts, 'originalInvokeID', path, 0, UNSIGNED32_MAX),
                serviceError: decodeServiceError(required(parts, 'serviceError', path), `${path}/serviceError`),
            };
        }
    }
}

function encodeInitiate(kind: InitiateKind, p: InitiateParameters): XmlElement {
    const n = INITIATE_NAMES[kind];
    return el(
        pduName(kind),
        {},
        optionalInt(n.localDetail, p.localDetail),
        intElement(
            n.maxServOutstandingCalling,
            p.maxServOutstandingCalling,
            SERV_OUTSTANDING.min,
            SERV_OUTSTANDING.max,
        ),
        intElement(n.maxServOutstandingCalled, p.maxServOutstandingCalled, SERV_OUTSTANDING.min, SERV_OUTSTANDING.max),
        optionalInt(n.dataStructureNestingLevel, p.dataStructureNestingLevel, NESTING.min, NESTING.max),
        el(
            n.detail,
            {},
            intElement(n.versionNumber, p.versionNumber, 0, 0x7fff),
            bitsElement(n.parameterCBB, p.parameterCBB),
            bitsElement(n.servicesSupported, p.servicesSupported),
        ),
    );
}

function decodeInitiate(kind: InitiateKind, element: XmlElement, path: string): InitiateParameters {
    const n = INITIATE_NAMES[kind];
    const parts = sequence(element, path, [
        n.localDetail,
        n.maxServOutstandingCalling,
        n.maxServOutstandingCalled,
        n.dataStructureNestingLevel,
        ...n.details,
    ]);
    const detail = required(parts, n.details, path);
    const dPath = `${path}/${detail.local}`;
    const d = sequence(detail, dPath, [
        n.versionNumber,
        n.parameterCBB,
        n.servicesSupported,
        ...INITIATE_DETAIL_EXTRAS[kind],
    ]);
    const out: InitiateParameters = {
        maxServOutstandingCalling: intPart(
            parts,
            n.maxServOutstandingCalling,
            path,
            SERV_OUTSTANDING.min,
            SERV_OUTSTANDING.max,
        ),
        maxServOutstandingCalled: intPart(
            parts,
            n.maxServOutstandingCalled,
            path,
            SERV_OUTSTANDING.min,
            SERV_OUTSTANDING.max,
        ),
        versionNumber: intPart(d, n.versionNumber, dPath, 0, 0x7fff),
        parameterCBB: bitsOf(d, n.parameterCBB, dPath),
        servicesSupported: bitsOf(d, n.servicesSupported, dPath),
    };
    if (parts.has(n.localDetail)) out.localDetail = intPart(parts, n.localDetail, path, 0, INTEGER32.max);
    if (parts.has(n.dataStructureNestingLevel)) {
        out.dataStructureNestingLevel = intPart(parts, n.dataStructureNestingLevel, path, NESTING.min, NESTING.max);
    }
    return out;
}

/** invokeID and the service element of a confirmed request/response, with or without a service wrapper. */
function confirmedParts(
    element: XmlElement,
    path: string,
    wrappers: readonly string[],
): { invokeID: number; service: { element: XmlElement; path: string } } {
    const kids: XmlElement[] = [];
    for (const c of element.children) {
        if (typeof c === 'string') {
            if (!isBlank(c)) throw new MmsError('unexpected-content', `Text ${shown(c)} in <${element.local}>`, path);
        } else kids.push(c);
    }
    const [first, second, ...rest] = kids;
    if (first?.local !== 'invokeID') {
        throw new MmsError('missing-element', `<${element.local}> must start with <invokeID>`, path);
    }
    const invokeID = decodeInt(first, `${path}/invokeID`, 0, UNSIGNED32_MAX);
    if (!second) throw new MmsError('missing-element', `<${element.local}> has no service`, path);
    if (second.local === 'listOfModifier') {
        throw new MmsError('unsupported', 'listOfModifier is not used by IEC 61850', `${path}/listOfModifier`);
    }
    if (rest.length > 0) {
        const extra = rest[0] as XmlElement;
        const what = extra.local === 'service-ext' ? 'unsupported' : 'unknown-element';
        throw new MmsError(what, `<${extra.local}> after the service is not supported`, `${path}/${extra.local}`);
    }
    if (wrappers.includes(second.local)) {
        const wPath = `${path}/${second.local}`;
        const svc = onlyChild(second, wPath);
        return { invokeID, service: { element: svc, path: `${wPath}/${svc.local}` } };
    }
    return { invokeID, service: { element: second, path: `${path}/${second.local}` } };
}

function invokeIdElement(name: string, value: number): XmlElement {
    return intElement(name, value, 0, UNSIGNED32_MAX);
}

function optionalInt(name: string, value: number | undefined, min = 0, max: number = INTEGER32.max): XmlElement | null {
    return value === undefined ? null : intElement(name, value, min, max);
}

function bitsElement(name: string, bits: string): XmlElement {
    if (typeof bits !== 'string' || !/^[01]+$/.test(bits) || bits.length > MAX_CBB_BITS) {
        throw new MmsError('wrong-type', `${name} must be 1 to ${MAX_CBB_BITS} bits of 0 and 1`, name);
    }
    return el(name, {}, bits);
}

function bitsOf(parts: Map<string, XmlElement>, name: string, path: string): string {
    const p = `${path}/${name}`;
    const bits = leafText(required(parts, name, path), p).replace(/[ \t\r\n]/g, '');
    if (!/^[01]+$/.test(bits) || bits.length > MAX_CBB_BITS) {
        throw new MmsError('bad-lexical', `${name} must be 1 to ${MAX_CBB_BITS} bits of 0 and 1`, p);
    }
    return bits;
}

// ---------------------------------------------------------------------------------------------
// confirmed-ErrorPDU, rejectPDU (§5.8)

export function encodeConfirmedErrorPdu(pdu: ConfirmedErrorPdu): XmlElement {
    return el(
        pduName('confirmed-ErrorPDU'),
        {},
        invokeIdElement('invokeID', pdu.invokeID),
        pdu.modifierPosition === undefined ? null : invokeIdElement('modifierPosition', pdu.modifierPosition),
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
        invokeID: intPart(parts, 'invokeID', path, 0, UNSIGNED32_MAX),
        serviceError: decodeServiceError(required(parts, 'serviceError', path), `${path}/serviceError`),
    };
    if (parts.has('modifierPosition'))
        out.modifierPosition = intPart(parts, 'modifierPosition', path, 0, UNSIGNED32_MAX);
    return out;
}

export function encodeRejectPdu(pdu: RejectPdu): XmlElement {
    const kind = pdu.rejectReason?.pdu;
    const table = typeof kind === 'string' && Object.hasOwn(REJECT_REASONS, kind) ? REJECT_REASONS[kind] : undefined;
    if (!table) throw new MmsError('wrong-type', `Unknown rejectReason PDU type ${shown(String(kind))}`);
    return el(
        'rejectPDU',
        {},
        pdu.originalInvokeID === undefined ? null : invokeIdElement('originalInvokeID', pdu.originalInvokeID),
        el('rejectReason', {}, encodeNamedNumber(kind, table, pdu.rejectReason.code)),
    );
}

export function decodeRejectPdu(element: XmlElement): RejectPdu {
    const path = element.local;
    if (!isPdu(element, 'rejectPDU')) {
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
    if (parts.has('originalInvokeID'))
        out.originalInvokeID = intPart(parts, 'originalInvokeID', path, 0, UNSIGNED32_MAX);
    return out;
}
