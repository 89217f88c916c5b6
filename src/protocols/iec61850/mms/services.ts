import { el, type XmlElement } from '../../xml';
import {
    type AccessResult,
    decodeListOfAccessResult,
    decodeListOfVariable,
    decodeObjectNameIn,
    decodeTypeSpecIn,
    decodeVas,
    encodeListOfAccessResult,
    encodeListOfVariable,
    encodeObjectName,
    encodeTypeSpec,
    encodeVas,
    MAX_IDENTIFIER,
    type ObjectName,
    type TypeSpecification,
    type VariableAccessSpecification,
    type VariableSpec,
} from './access';
import { DECODER, ENCODER } from './constants';
import {
    type Data,
    type DataCodecOptions,
    decodeDataItem,
    decodeTimeOfDay,
    encodeDataItem,
    hex,
    hexBytes,
    onlyChild,
    timeOfDayHex,
} from './data';
import { DATA_ACCESS_ERRORS, MmsError, type NamedNumbers, shown } from './errors';
import {
    booleanComponent,
    booleanElement,
    decodeBoolean,
    decodeBooleanComponent,
    decodeInt,
    decodeNamedComponent,
    decodeNamedNumber,
    decodeText,
    decodeVisible,
    either,
    encodeNamedNumber,
    expectEmpty,
    INTEGER32,
    intElement,
    intPart,
    items,
    listPart,
    namedComponent,
    required,
    sequence,
    UNSIGNED32_MAX,
    visible,
} from './xer';

/**
 * The confirmed services of Annex D Table D.1 and the unconfirmed informationReport (ISO 9506-2
 * service PDUs as 8-1/8-2 use them; wire note §4.2, §5.1-§5.9), request and response bodies in
 * XER. Each service is one element named by the service (`<read>`, `<getNameList>`) inside the
 * service wrapper of the PDU (pdu.ts).
 */

/** ObjectClass basic classes (ISO 9506-2 §7.5.3 ObjectClass; GetNameList, note §5.4). */
export const OBJECT_CLASSES: NamedNumbers = Object.freeze({
    namedVariable: 0,
    scatteredAccess: 1,
    namedVariableList: 2,
    namedType: 3,
    semaphore: 4,
    eventCondition: 5,
    eventAction: 6,
    eventEnrollment: 7,
    journal: 8,
    domain: 9,
    programInvocation: 10,
    operatorStation: 11,
    dataExchange: 12,
    accessControlList: 13,
});
export type ObjectClass =
    | 'namedVariable'
    | 'scatteredAccess'
    | 'namedVariableList'
    | 'namedType'
    | 'semaphore'
    | 'eventCondition'
    | 'eventAction'
    | 'eventEnrollment'
    | 'journal'
    | 'domain'
    | 'programInvocation'
    | 'operatorStation'
    | 'dataExchange'
    | 'accessControlList';

/** DeleteNamedVariableList scopeOfDelete (ISO 9506-2 §11.6; note §5.9: 61850 allows only `specific`). */
export const SCOPES_OF_DELETE: NamedNumbers = Object.freeze({ specific: 0, 'aa-specific': 1, domain: 2, vmd: 3 });
export type ScopeOfDelete = 'specific' | 'aa-specific' | 'domain' | 'vmd';

export type ObjectScope = { vmdSpecific: true } | { domainSpecific: string } | { aaSpecific: true };

/** A file name: GraphicString parts (names longer than 64 characters are split; note §5.9). */
export type FileName = string[];

export interface FileAttributes {
    sizeOfFile: number;
    /** GeneralizedTime text, e.g. 20240501120000.000Z. */
    lastModified?: string;
}

export type TimeOfDay = { msOfDay: number; days?: number };

export interface ReadJournalRequest {
    journalName: ObjectName;
    rangeStartSpecification?: { startingTime: TimeOfDay } | { startingEntry: Uint8Array };
    rangeStopSpecification?: { endingTime: TimeOfDay } | { numberOfEntries: number };
    listOfVariables?: string[];
    entryToStartAfter?: { timeSpecification: TimeOfDay; entrySpecification: Uint8Array };
}

export interface JournalVariable {
    variableTag: string;
    valueSpecification: Data;
}

export interface JournalEntry {
    entryIdentifier: Uint8Array;
    occurrenceTime: TimeOfDay;
    /** entryForm data (event conditions are not used by 61850) or an annotation. */
    entryForm: { listOfVariables: JournalVariable[] } | { annotation: string };
}

export type ConfirmedRequest =
    | { service: 'getNameList'; objectClass: ObjectClass; objectScope: ObjectScope; continueAfter?: string }
    | { service: 'read'; specificationWithResult?: boolean; variableAccessSpecification: VariableAccessSpecification }
    | { service: 'write'; variableAccessSpecification: VariableAccessSpecification; listOfData: Data[] }
    | { service: 'getVariableAccessAttributes'; name: ObjectName }
    | { service: 'defineNamedVariableList'; variableListName: ObjectName; listOfVariable: VariableSpec[] }
    | { service: 'getNamedVariableListAttributes'; name: ObjectName }
    | {
          service: 'deleteNamedVariableList';
          scopeOfDelete?: ScopeOfDelete;
          listOfVariableListName?: ObjectName[];
          domainName?: string;
      }
    | ({ service: 'readJournal' } & ReadJournalRequest)
    | { service: 'fileOpen'; fileName: FileName; initialPosition: number }
    | { service: 'fileRead'; frsmID: number }
    | { service: 'fileClose'; frsmID: number }
    | { service: 'fileDelete'; fileName: FileName }
    | { service: 'fileDirectory'; fileSpecification?: FileName; continueAfter?: FileName }
    | { service: 'obtainFile'; sourceFile: FileName; destinationFile: FileName };

export type WriteResult = { success: true } | { failure: number };

export type ConfirmedResponse =
    | { service: 'getNameList'; listOfIdentifier: string[]; moreFollows: boolean }
    | { service: 'read'; variableAccessSpecification?: VariableAccessSpecification; listOfAccessResult: AccessResult[] }
    | { service: 'write'; results: WriteResult[] }
    | { service: 'getVariableAccessAttributes'; mmsDeletable: boolean; typeSpecification: TypeSpecification }
    | { service: 'defineNamedVariableList' }
    | { service: 'getNamedVariableListAttributes'; mmsDeletable: boolean; listOfVariable: VariableSpec[] }
    | { service: 'deleteNamedVariableList'; numberMatched: number; numberDeleted: number }
    | { service: 'readJournal'; listOfJournalEntry: JournalEntry[]; moreFollows: boolean }
    | { service: 'fileOpen'; frsmID: number; fileAttributes: FileAttributes }
    | { service: 'fileRead'; fileData: Uint8Array; moreFollows: boolean }
    | { service: 'fileClose' }
    | { service: 'fileDelete' }
    | {
          service: 'fileDirectory';
          listOfDirectoryEntry: Array<{ fileName: FileName; fileAttributes: FileAttributes }>;
          moreFollows: boolean;
      }
    | { service: 'obtainFile' };

export type ConfirmedService = ConfirmedRequest['service'];

export interface InformationReport {
    variableAccessSpecification: VariableAccessSpecification;
    listOfAccessResult: AccessResult[];
}

/** The confirmed services this codec implements (Annex D Table D.1, without extendedGetNameList). */
export const CONFIRMED_SERVICES: readonly ConfirmedService[] = Object.freeze([
    'getNameList',
    'read',
    'write',
    'getVariableAccessAttributes',
    'defineNamedVariableList',
    'getNamedVariableListAttributes',
    'deleteNamedVariableList',
    'readJournal',
    'fileOpen',
    'fileRead',
    'fileClose',
    'fileDelete',
    'fileDirectory',
    'obtainFile',
]);

/** ISO 9506 confirmed services outside Table D.1: refused as `unsupported` (8-2: rejectPDU unrecognized-service). */
export const UNMAPPED_SERVICES: ReadonlySet<string> = new Set([
    'status',
    'identify',
    'rename',
    'getCapabilityList',
    'initiateDownloadSequence',
    'downloadSegment',
    'terminateDownloadSequence',
    'initiateUploadSequence',
    'uploadSegment',
    'terminateUploadSequence',
    'requestDomainDownload',
    'requestDomainUpload',
    'loadDomainContent',
    'storeDomainContent',
    'deleteDomain',
    'getDomainAttributes',
    'createProgramInvocation',
    'deleteProgramInvocation',
    'start',
    'stop',
    'resume',
    'reset',
    'kill',
    'getProgramInvocationAttributes',
    'defineScatteredAccess',
    'getScatteredAccessAttributes',
    'deleteVariableAccess',
    'defineNamedType',
    'getNamedTypeAttributes',
    'deleteNamedType',
    'input',
    'output',
    'takeControl',
    'relinquishControl',
    'writeJournal',
    'initializeJournal',
    'reportJournalStatus',
    'createJournal',
    'deleteJournal',
    'fileRename',
    'extendedGetNameList',
]);

const MAX_FILE_NAME_PART = 255;
const GENERALIZED_TIME = /^[0-9]{14}(?:\.[0-9]{1,3})?Z$/;

// ---------------------------------------------------------------------------------------------
// Small pieces

function fileNameElement(name: string, parts: FileName): XmlElement {
    if (!Array.isArray(parts) || parts.length === 0) {
        throw new MmsError('wrong-type', `${name} must be a non-empty array of strings`, name);
    }
    return el(
        name,
        {},
        parts.map((p) => el('GraphicString', {}, visibleOrGraphic(name, p))),
    );
}

function visibleOrGraphic(name: string, value: unknown): string {
    if (typeof value !== 'string') throw new MmsError('wrong-type', `${name} parts must be strings`, name);
    if (value.length > MAX_FILE_NAME_PART || hasControl(value)) {
        throw new MmsError('out-of-range', `${name} part ${shown(value)} is too long or holds control characters`);
    }
    return value;
}

/** C0 controls and DEL, which a GraphicString cannot hold. */
function hasControl(s: string): boolean {
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x20 || c === 0x7f) return true;
    }
    return false;
}

function decodeFileName(element: XmlElement, path: string): FileName {
    const parts = items(element, path, 'GraphicString').map((g, i) => {
        const t = decodeText(g, `${path}/GraphicString[${i}]`);
        if (t.length > MAX_FILE_NAME_PART || hasControl(t)) {
            throw new MmsError('bad-lexical', 'File name part is too long or holds control characters', path);
        }
        return t;
    });
    if (parts.length === 0) throw new MmsError('missing-element', `<${element.local}> holds no file name`, path);
    return parts;
}

function fileAttributesElement(a: FileAttributes): XmlElement {
    if (a.lastModified !== undefined && !GENERALIZED_TIME.test(a.lastModified)) {
        throw new MmsError('bad-lexical', `lastModified ${shown(a.lastModified)} is not a GeneralizedTime (UTC)`);
    }
    return el(
        'fileAttributes',
        {},
        intElement('sizeOfFile', a.sizeOfFile, 0, UNSIGNED32_MAX),
        a.lastModified === undefined ? null : el('lastModified', {}, a.lastModified),
    );
}

function decodeFileAttributes(element: XmlElement, path: string): FileAttributes {
    const parts = sequence(element, path, ['sizeOfFile', 'lastModified']);
    const out: FileAttributes = {
        sizeOfFile: intPart(parts, 'sizeOfFile', path, 0, UNSIGNED32_MAX),
    };
    const lm = parts.get('lastModified');
    if (lm) {
        const t = decodeVisible(lm, `${path}/lastModified`).trim();
        if (!GENERALIZED_TIME.test(t)) {
            throw new MmsError('bad-lexical', `${shown(t)} is not a GeneralizedTime (UTC)`, `${path}/lastModified`);
        }
        out.lastModified = t;
    }
    return out;
}

function octets(name: string, value: unknown, length?: number): string {
    if (!(value instanceof Uint8Array)) throw new MmsError('wrong-type', `${name} must be a Uint8Array`, name);
    if (length !== undefined && value.length !== length) {
        throw new MmsError('out-of-range', `${name} must be ${length} octets`, name);
    }
    return hex(value);
}

function decodeOctets(element: XmlElement, path: string, length?: number): Uint8Array {
    const bytes = hexBytes(element, path);
    if (length !== undefined && bytes.length !== length) {
        throw new MmsError('bad-lexical', `<${element.local}> has ${bytes.length} octets; expected ${length}`, path);
    }
    return bytes;
}

function vasOf(parts: Map<string, XmlElement>, path: string): VariableAccessSpecification {
    const holder = required(parts, DECODER.variableAccessSpecificationElements, path);
    return decodeVas(holder, `${path}/${holder.local}`);
}

const VAS_ALLOWED = DECODER.variableAccessSpecificationElements;

// ---------------------------------------------------------------------------------------------
// Requests

/** The service element of a confirmed request (`<read>…</read>`). */
export function encodeRequest(req: ConfirmedRequest, options?: DataCodecOptions): XmlElement {
    if (typeof req !== 'object' || req === null) throw new MmsError('wrong-type', 'A request must be an object');
    switch (req.service) {
        case 'getNameList': {
            const scope = req.objectScope;
            const scopeEl =
                'domainSpecific' in scope
                    ? el('domainSpecific', {}, visible('domainSpecific', scope.domainSpecific, MAX_IDENTIFIER))
                    : el('vmdSpecific' in scope ? 'vmdSpecific' : 'aaSpecific');
            if (!Object.hasOwn(OBJECT_CLASSES, req.objectClass)) {
                throw new MmsError('wrong-type', `Unknown objectClass ${shown(String(req.objectClass))}`);
            }
            return el(
                'getNameList',
                {},
                el('objectClass', {}, el(req.objectClass)),
                el('objectScope', {}, scopeEl),
                req.continueAfter === undefined
                    ? null
                    : el('continueAfter', {}, visible('continueAfter', req.continueAfter, MAX_IDENTIFIER)),
            );
        }
        case 'read': {
            const swr = booleanComponent('specificationWithResult', req.specificationWithResult || undefined);
            const e = el('read', {}, swr.child, encodeVas(req.variableAccessSpecification));
            if (swr.attr !== undefined) e.attrs.specificationWithResult = swr.attr;
            return e;
        }
        case 'write':
            if (!Array.isArray(req.listOfData)) throw new MmsError('wrong-type', 'write listOfData must be an array');
            return el(
                'write',
                {},
                encodeVas(req.variableAccessSpecification),
                el(
                    'listOfData',
                    {},
                    req.listOfData.map((d) => encodeDataItem(d, options)),
                ),
            );
        case 'getVariableAccessAttributes':
            return el('getVariableAccessAttributes', {}, el('name', {}, encodeObjectName(req.name)));
        case 'defineNamedVariableList':
            return el(
                'defineNamedVariableList',
                {},
                el('variableListName', {}, encodeObjectName(req.variableListName)),
                encodeListOfVariable(req.listOfVariable),
            );
        case 'getNamedVariableListAttributes':
            return el('getNamedVariableListAttributes', {}, encodeObjectName(req.name));
        case 'deleteNamedVariableList': {
            const scope = req.scopeOfDelete === undefined ? undefined : (SCOPES_OF_DELETE[req.scopeOfDelete] as number);
            if (req.scopeOfDelete !== undefined && scope === undefined) {
                throw new MmsError('wrong-type', `Unknown scopeOfDelete ${shown(String(req.scopeOfDelete))}`);
            }
            const s = namedComponent('scopeOfDelete', SCOPES_OF_DELETE, scope);
            const e = el(
                'deleteNamedVariableList',
                {},
                s.child,
                req.listOfVariableListName === undefined
                    ? null
                    : el(
                          'listOfVariableListName',
                          {},
                          req.listOfVariableListName.map((n) => el('ObjectName', {}, encodeObjectName(n))),
                      ),
                req.domainName === undefined
                    ? null
                    : el('domainName', {}, visible('domainName', req.domainName, MAX_IDENTIFIER)),
            );
            if (s.attr !== undefined) e.attrs.scopeOfDelete = s.attr;
            return e;
        }
        case 'readJournal':
            return encodeReadJournal(req);
        case 'fileOpen':
            return el(
                'fileOpen',
                {},
                fileNameElement('fileName', req.fileName),
                intElement('initialPosition', req.initialPosition, 0, UNSIGNED32_MAX),
            );
        case 'fileRead':
        case 'fileClose':
            return intElement(req.service, req.frsmID, INTEGER32.min, INTEGER32.max);
        case 'fileDelete': {
            const e = fileNameElement('fileDelete', req.fileName);
            return e;
        }
        case 'fileDirectory':
            return el(
                'fileDirectory',
                {},
                req.fileSpecification === undefined
                    ? null
                    : fileNameElement('fileSpecification', req.fileSpecification),
                req.continueAfter === undefined ? null : fileNameElement('continueAfter', req.continueAfter),
            );
        case 'obtainFile':
            return el(
                'obtainFile',
                {},
                fileNameElement('sourceFile', req.sourceFile),
                fileNameElement('destinationFile', req.destinationFile),
            );
        default:
            throw new MmsError(
                'wrong-type',
                `Unknown confirmed service ${shown(String((req as { service: unknown }).service))}`,
            );
    }
}

function encodeReadJournal(req: ReadJournalRequest): XmlElement {
    const start = req.rangeStartSpecification;
    const stop = req.rangeStopSpecification;
    const after = req.entryToStartAfter;
    return el(
        'readJournal',
        {},
        el('journalName', {}, encodeObjectName(req.journalName)),
        start === undefined
            ? null
            : el(
                  'rangeStartSpecification',
                  {},
                  'startingTime' in start
                      ? el('startingTime', {}, timeOfDayHex(start.startingTime, 'startingTime'))
                      : el('startingEntry', {}, octets('startingEntry', start.startingEntry)),
              ),
        stop === undefined
            ? null
            : el(
                  'rangeStopSpecification',
                  {},
                  'endingTime' in stop
                      ? el('endingTime', {}, timeOfDayHex(stop.endingTime, 'endingTime'))
                      : intElement('numberOfEntries', stop.numberOfEntries, INTEGER32.min, INTEGER32.max),
              ),
        req.listOfVariables === undefined
            ? null
            : el(
                  'listOfVariables',
                  {},
                  req.listOfVariables.map((v) => el('VisibleString', {}, visible('listOfVariables', v))),
              ),
        after === undefined
            ? null
            : el(
                  'entryToStartAfter',
                  {},
                  el('timeSpecification', {}, timeOfDayHex(after.timeSpecification, 'timeSpecification')),
                  el('entrySpecification', {}, octets('entrySpecification', after.entrySpecification)),
              ),
    );
}

/** Reads a confirmed request's service element. Services outside Table D.1 are `unsupported`. */
export function decodeRequest(element: XmlElement, path: string, options?: DataCodecOptions): ConfirmedRequest {
    const s = element.local;
    switch (s) {
        case 'getNameList': {
            const parts = sequence(element, path, [
                'objectClass',
                'extendedObjectClass',
                'objectScope',
                'continueAfter',
            ]);
            const out: ConfirmedRequest = {
                service: s,
                objectClass: decodeObjectClass(parts, path),
                objectScope: decodeObjectScope(required(parts, 'objectScope', path), `${path}/objectScope`),
            };
            const ca = parts.get('continueAfter');
            if (ca) out.continueAfter = decodeVisible(ca, `${path}/continueAfter`, MAX_IDENTIFIER);
            return out;
        }
        case 'read': {
            const parts = sequence(element, path, ['specificationWithResult', ...VAS_ALLOWED]);
            const out: ConfirmedRequest = { service: s, variableAccessSpecification: vasOf(parts, path) };
            const swr = decodeBooleanComponent(element, parts, 'specificationWithResult', path, undefined);
            if (swr !== undefined) out.specificationWithResult = swr;
            return out;
        }
        case 'write': {
            const parts = sequence(element, path, [...VAS_ALLOWED, 'listOfData']);
            const listOfData = listPart(parts, 'listOfData', path, 'Data', (d, p) => decodeDataItem(d, options, p));
            return { service: s, variableAccessSpecification: vasOf(parts, path), listOfData };
        }
        case 'getVariableAccessAttributes': {
            const alt = onlyChild(element, path);
            if (alt.local === 'address')
                throw new MmsError('unsupported', 'Access by address is not used by 61850', path);
            if (alt.local !== 'name')
                throw new MmsError('unknown-element', `<${alt.local}> in ${s}`, `${path}/${alt.local}`);
            return { service: s, name: decodeObjectNameIn(alt, `${path}/name`) };
        }
        case 'defineNamedVariableList': {
            const parts = sequence(element, path, ['variableListName', 'listOfVariable']);
            return {
                service: s,
                variableListName: decodeObjectNameIn(
                    required(parts, 'variableListName', path),
                    `${path}/variableListName`,
                ),
                listOfVariable: decodeListOfVariable(required(parts, 'listOfVariable', path), `${path}/listOfVariable`),
            };
        }
        case 'getNamedVariableListAttributes':
            return { service: s, name: decodeObjectNameIn(element, path) };
        case 'deleteNamedVariableList': {
            const parts = sequence(element, path, ['scopeOfDelete', 'listOfVariableListName', 'domainName']);
            const out: ConfirmedRequest = { service: s };
            const scope = decodeNamedComponent(element, parts, 'scopeOfDelete', SCOPES_OF_DELETE, path);
            if (scope !== undefined) {
                const name = Object.keys(SCOPES_OF_DELETE).find((k) => SCOPES_OF_DELETE[k] === scope);
                if (!name) throw new MmsError('out-of-range', `scopeOfDelete ${scope} is not defined`, path);
                out.scopeOfDelete = name as ScopeOfDelete;
            }
            const list = parts.get('listOfVariableListName');
            if (list) {
                const lp = `${path}/listOfVariableListName`;
                out.listOfVariableListName = items(list, lp, 'ObjectName').map((o, i) =>
                    decodeObjectNameIn(o, `${lp}/ObjectName[${i}]`),
                );
            }
            const dn = parts.get('domainName');
            if (dn) out.domainName = decodeVisible(dn, `${path}/domainName`, MAX_IDENTIFIER);
            return out;
        }
        case 'readJournal':
            return decodeReadJournal(element, path);
        case 'fileOpen': {
            const parts = sequence(element, path, ['fileName', 'initialPosition']);
            return {
                service: s,
                fileName: decodeFileName(required(parts, 'fileName', path), `${path}/fileName`),
                initialPosition: intPart(parts, 'initialPosition', path, 0, UNSIGNED32_MAX),
            };
        }
        case 'fileRead':
        case 'fileClose':
            return { service: s, frsmID: decodeInt(element, path, INTEGER32.min, INTEGER32.max) };
        case 'fileDelete':
            return { service: s, fileName: decodeFileName(element, path) };
        case 'fileDirectory': {
            const parts = sequence(element, path, ['fileSpecification', 'continueAfter']);
            const out: ConfirmedRequest = { service: s };
            const spec = parts.get('fileSpecification');
            if (spec) out.fileSpecification = decodeFileName(spec, `${path}/fileSpecification`);
            const ca = parts.get('continueAfter');
            if (ca) out.continueAfter = decodeFileName(ca, `${path}/continueAfter`);
            return out;
        }
        case 'obtainFile': {
            const parts = sequence(element, path, ['sourceFileServer', 'sourceFile', 'destinationFile']);
            if (parts.has('sourceFileServer')) {
                throw new MmsError('unsupported', 'obtainFile from a third-party file server is not supported', path);
            }
            return {
                service: s,
                sourceFile: decodeFileName(required(parts, 'sourceFile', path), `${path}/sourceFile`),
                destinationFile: decodeFileName(required(parts, 'destinationFile', path), `${path}/destinationFile`),
            };
        }
        default:
            throw unknownService(s, path);
    }
}

/** An MmsError for a service element this codec does not map; `unsupported` when ISO 9506 knows it. */
export function unknownService(name: string, path: string): MmsError {
    if (UNMAPPED_SERVICES.has(name)) {
        return new MmsError('unsupported', `Service <${name}> is not mapped by IEC 61850-8-2 Table D.1`, path);
    }
    return new MmsError('unknown-element', `<${name}> is not an MMS confirmed service`, path);
}

function decodeObjectClass(parts: Map<string, XmlElement>, path: string): ObjectClass {
    // 8-2/S1: <objectClass><domain/></objectClass>; 9506-2:2003: <objectClass><basicObjectClass>…;
    // 8-1 (1990): <extendedObjectClass><objectClass>9</objectClass></extendedObjectClass>.
    let holder = either(parts, ['objectClass', 'extendedObjectClass']);
    if (!holder) throw new MmsError('missing-element', '<objectClass> is missing', path);
    let hPath = `${path}/${holder.local}`;
    if (holder.local === 'extendedObjectClass') {
        holder = onlyChild(holder, hPath);
        hPath = `${hPath}/${holder.local}`;
        if (holder.local !== 'objectClass') throw new MmsError('unknown-element', `<${holder.local}>`, hPath);
    }
    const inner = holder.elements()[0];
    if (inner?.local === 'basicObjectClass') {
        holder = inner;
        hPath = `${hPath}/basicObjectClass`;
    }
    const code = decodeNamedNumber(holder, OBJECT_CLASSES, hPath);
    const name = Object.keys(OBJECT_CLASSES).find((k) => OBJECT_CLASSES[k] === code);
    if (!name) throw new MmsError('out-of-range', `objectClass ${code} is not defined`, hPath);
    return name as ObjectClass;
}

function decodeObjectScope(element: XmlElement, path: string): ObjectScope {
    const alt = onlyChild(element, path);
    const altPath = `${path}/${alt.local}`;
    switch (alt.local) {
        case 'vmdSpecific':
            expectEmpty(alt, altPath);
            return { vmdSpecific: true };
        case 'aaSpecific':
            expectEmpty(alt, altPath);
            return { aaSpecific: true };
        case 'domainSpecific':
            return { domainSpecific: decodeVisible(alt, altPath, MAX_IDENTIFIER) };
        default:
            throw new MmsError('unknown-element', `<${alt.local}> is not an objectScope`, altPath);
    }
}

function decodeReadJournal(element: XmlElement, path: string): ConfirmedRequest {
    const parts = sequence(element, path, [
        'journalName',
        'rangeStartSpecification',
        'rangeStopSpecification',
        'listOfVariables',
        'entryToStartAfter',
    ]);
    const out: ConfirmedRequest = {
        service: 'readJournal',
        journalName: decodeObjectNameIn(required(parts, 'journalName', path), `${path}/journalName`),
    };
    const start = parts.get('rangeStartSpecification');
    if (start) {
        const p = `${path}/rangeStartSpecification`;
        const alt = onlyChild(start, p);
        if (alt.local === 'startingTime') {
            out.rangeStartSpecification = { startingTime: timeOf(decodeTimeOfDay(alt, `${p}/startingTime`)) };
        } else if (alt.local === 'startingEntry') {
            out.rangeStartSpecification = { startingEntry: decodeOctets(alt, `${p}/startingEntry`) };
        } else throw new MmsError('unknown-element', `<${alt.local}> is not a range start`, `${p}/${alt.local}`);
    }
    const stop = parts.get('rangeStopSpecification');
    if (stop) {
        const p = `${path}/rangeStopSpecification`;
        const alt = onlyChild(stop, p);
        if (alt.local === 'endingTime') {
            out.rangeStopSpecification = { endingTime: timeOf(decodeTimeOfDay(alt, `${p}/endingTime`)) };
        } else if (alt.local === 'numberOfEntries') {
            out.rangeStopSpecification = {
                numberOfEntries: decodeInt(alt, `${p}/numberOfEntries`, INTEGER32.min, INTEGER32.max),
            };
        } else throw new MmsError('unknown-element', `<${alt.local}> is not a range stop`, `${p}/${alt.local}`);
    }
    const lov = parts.get('listOfVariables');
    if (lov) {
        const p = `${path}/listOfVariables`;
        out.listOfVariables = items(lov, p, 'VisibleString').map((v, i) =>
            decodeVisible(v, `${p}/VisibleString[${i}]`),
        );
    }
    const after = parts.get('entryToStartAfter');
    if (after) {
        const p = `${path}/entryToStartAfter`;
        const ap = sequence(after, p, ['timeSpecification', 'entrySpecification']);
        out.entryToStartAfter = {
            timeSpecification: timeOf(decodeTimeOfDay(required(ap, 'timeSpecification', p), `${p}/timeSpecification`)),
            entrySpecification: decodeOctets(required(ap, 'entrySpecification', p), `${p}/entrySpecification`),
        };
    }
    return out;
}

function timeOf(t: { msOfDay: number; days?: number }): TimeOfDay {
    return t.days === undefined ? { msOfDay: t.msOfDay } : { msOfDay: t.msOfDay, days: t.days };
}

// ---------------------------------------------------------------------------------------------
// Responses

/** The service element of a confirmed response (`<read>…</read>`). */
export function encodeResponse(res: ConfirmedResponse, options?: DataCodecOptions): XmlElement {
    if (typeof res !== 'object' || res === null) throw new MmsError('wrong-type', 'A response must be an object');
    switch (res.service) {
        case 'getNameList': {
            // moreFollows DEFAULTs to TRUE: never omitted (note §5.4).
            const mf = booleanComponent('moreFollows', res.moreFollows);
            const e = el(
                'getNameList',
                {},
                el(
                    'listOfIdentifier',
                    {},
                    res.listOfIdentifier.map((id) => el('Identifier', {}, visible('Identifier', id, MAX_IDENTIFIER))),
                ),
                mf.child,
            );
            if (mf.attr !== undefined) e.attrs.moreFollows = mf.attr;
            return e;
        }
        case 'read':
            return el(
                'read',
                {},
                res.variableAccessSpecification ? encodeVas(res.variableAccessSpecification) : null,
                encodeListOfAccessResult(res.listOfAccessResult, options),
            );
        case 'write':
            if (!Array.isArray(res.results)) throw new MmsError('wrong-type', 'write results must be an array');
            return el(
                'write',
                {},
                res.results.map((r) =>
                    el(
                        'CHOICE',
                        {},
                        'failure' in r ? encodeNamedNumber('failure', DATA_ACCESS_ERRORS, r.failure) : el('success'),
                    ),
                ),
            );
        case 'getVariableAccessAttributes':
            return el(
                'getVariableAccessAttributes',
                {},
                booleanElement('mmsDeletable', res.mmsDeletable),
                el(ENCODER.typeSpecificationElement, {}, encodeTypeSpec(res.typeSpecification)),
            );
        case 'getNamedVariableListAttributes':
            return el(
                'getNamedVariableListAttributes',
                {},
                booleanElement('mmsDeletable', res.mmsDeletable),
                encodeListOfVariable(res.listOfVariable),
            );
        case 'deleteNamedVariableList':
            return el(
                'deleteNamedVariableList',
                {},
                intElement('numberMatched', res.numberMatched, 0, UNSIGNED32_MAX),
                intElement('numberDeleted', res.numberDeleted, 0, UNSIGNED32_MAX),
            );
        case 'readJournal': {
            const mf = booleanComponent('moreFollows', res.moreFollows);
            const e = el(
                'readJournal',
                {},
                el(
                    'listOfJournalEntry',
                    {},
                    res.listOfJournalEntry.map((j) => encodeJournalEntry(j, options)),
                ),
                mf.child,
            );
            if (mf.attr !== undefined) e.attrs.moreFollows = mf.attr;
            return e;
        }
        case 'fileOpen':
            return el(
                'fileOpen',
                {},
                intElement('frsmID', res.frsmID, INTEGER32.min, INTEGER32.max),
                fileAttributesElement(res.fileAttributes),
            );
        case 'fileRead': {
            const mf = booleanComponent('moreFollows', res.moreFollows);
            const e = el('fileRead', {}, el('fileData', {}, octets('fileData', res.fileData)), mf.child);
            if (mf.attr !== undefined) e.attrs.moreFollows = mf.attr;
            return e;
        }
        case 'fileDirectory': {
            const mf = booleanComponent('moreFollows', res.moreFollows);
            const e = el(
                'fileDirectory',
                {},
                el(
                    'listOfDirectoryEntry',
                    {},
                    res.listOfDirectoryEntry.map((d) =>
                        el(
                            'DirectoryEntry',
                            {},
                            fileNameElement('fileName', d.fileName),
                            fileAttributesElement(d.fileAttributes),
                        ),
                    ),
                ),
                mf.child,
            );
            if (mf.attr !== undefined) e.attrs.moreFollows = mf.attr;
            return e;
        }
        case 'defineNamedVariableList':
        case 'fileClose':
        case 'fileDelete':
        case 'obtainFile':
            return el(res.service);
        default:
            throw new MmsError(
                'wrong-type',
                `Unknown confirmed service ${shown(String((res as { service: unknown }).service))}`,
            );
    }
}

function encodeJournalEntry(j: JournalEntry, options?: DataCodecOptions): XmlElement {
    const form = j.entryForm;
    return el(
        'JournalEntry',
        {},
        el('entryIdentifier', {}, octets('entryIdentifier', j.entryIdentifier, 8)),
        el('originatingApplication'),
        el(
            'entryContent',
            {},
            el('occurenceTime', {}, timeOfDayHex(j.occurrenceTime, 'occurrenceTime')),
            el(
                'entryForm',
                {},
                'annotation' in form
                    ? el('annotation', {}, form.annotation)
                    : el(
                          'data',
                          {},
                          el(
                              'listOfVariables',
                              {},
                              form.listOfVariables.map((v) =>
                                  el(
                                      'SEQUENCE',
                                      {},
                                      el('variableTag', {}, visible('variableTag', v.variableTag)),
                                      el('valueSpecification', {}, encodeDataItemInner(v.valueSpecification, options)),
                                  ),
                              ),
                          ),
                      ),
            ),
        ),
    );
}

function encodeDataItemInner(d: Data, options?: DataCodecOptions): XmlElement {
    return encodeDataItem(d, options).elements()[0] as XmlElement;
}

/** Reads a confirmed response's service element. */
export function decodeResponse(element: XmlElement, path: string, options?: DataCodecOptions): ConfirmedResponse {
    const s = element.local;
    switch (s) {
        case 'getNameList': {
            const parts = sequence(element, path, ['listOfIdentifier', 'moreFollows']);
            return {
                service: s,
                listOfIdentifier: listPart(parts, 'listOfIdentifier', path, 'Identifier', (e, p) =>
                    decodeVisible(e, p, MAX_IDENTIFIER),
                ),
                moreFollows: decodeBooleanComponent(element, parts, 'moreFollows', path, true) as boolean,
            };
        }
        case 'read': {
            const parts = sequence(element, path, [...VAS_ALLOWED, 'listOfAccessResult']);
            const out: ConfirmedResponse = {
                service: s,
                listOfAccessResult: decodeListOfAccessResult(
                    required(parts, 'listOfAccessResult', path),
                    `${path}/listOfAccessResult`,
                    options,
                ),
            };
            if (either(parts, VAS_ALLOWED)) out.variableAccessSpecification = vasOf(parts, path);
            return out;
        }
        case 'write':
            return {
                service: s,
                results: items(element, path, 'CHOICE').map((c, i) => {
                    const cp = `${path}/CHOICE[${i}]`;
                    const alt = onlyChild(c, cp);
                    if (alt.local === 'success') {
                        expectEmpty(alt, `${cp}/success`);
                        return { success: true } as const;
                    }
                    if (alt.local === 'failure') {
                        return { failure: decodeNamedNumber(alt, DATA_ACCESS_ERRORS, `${cp}/failure`) };
                    }
                    throw new MmsError('unknown-element', `<${alt.local}> in a write result`, `${cp}/${alt.local}`);
                }),
            };
        case 'getVariableAccessAttributes': {
            const parts = sequence(element, path, ['mmsDeletable', 'address', ...DECODER.typeSpecificationElements]);
            const t = required(parts, DECODER.typeSpecificationElements, path);
            return {
                service: s,
                mmsDeletable: decodeBoolean(required(parts, 'mmsDeletable', path), `${path}/mmsDeletable`),
                typeSpecification: decodeTypeSpecIn(t, `${path}/${t.local}`),
            };
        }
        case 'getNamedVariableListAttributes': {
            const parts = sequence(element, path, ['mmsDeletable', 'listOfVariable']);
            return {
                service: s,
                mmsDeletable: decodeBoolean(required(parts, 'mmsDeletable', path), `${path}/mmsDeletable`),
                listOfVariable: decodeListOfVariable(required(parts, 'listOfVariable', path), `${path}/listOfVariable`),
            };
        }
        case 'deleteNamedVariableList': {
            const parts = sequence(element, path, ['numberMatched', 'numberDeleted']);
            return {
                service: s,
                numberMatched: intPart(parts, 'numberMatched', path, 0, UNSIGNED32_MAX),
                numberDeleted: intPart(parts, 'numberDeleted', path, 0, UNSIGNED32_MAX),
            };
        }
        case 'readJournal': {
            const parts = sequence(element, path, ['listOfJournalEntry', 'moreFollows']);
            return {
                service: s,
                listOfJournalEntry: listPart(parts, 'listOfJournalEntry', path, 'JournalEntry', (j, p) =>
                    decodeJournalEntry(j, p, options),
                ),
                moreFollows: decodeBooleanComponent(element, parts, 'moreFollows', path, false) as boolean,
            };
        }
        case 'fileOpen': {
            const parts = sequence(element, path, ['frsmID', 'fileAttributes']);
            return {
                service: s,
                frsmID: intPart(parts, 'frsmID', path, INTEGER32.min, INTEGER32.max),
                fileAttributes: decodeFileAttributes(required(parts, 'fileAttributes', path), `${path}/fileAttributes`),
            };
        }
        case 'fileRead': {
            const parts = sequence(element, path, ['fileData', 'moreFollows']);
            return {
                service: s,
                fileData: decodeOctets(required(parts, 'fileData', path), `${path}/fileData`),
                moreFollows: decodeBooleanComponent(element, parts, 'moreFollows', path, true) as boolean,
            };
        }
        case 'fileDirectory': {
            const parts = sequence(element, path, ['listOfDirectoryEntry', 'moreFollows']);
            const lp = `${path}/listOfDirectoryEntry`;
            return {
                service: s,
                listOfDirectoryEntry: items(required(parts, 'listOfDirectoryEntry', path), lp, 'DirectoryEntry').map(
                    (d, i) => {
                        const dp = `${lp}/DirectoryEntry[${i}]`;
                        const dParts = sequence(d, dp, ['fileName', 'fileAttributes']);
                        return {
                            fileName: decodeFileName(required(dParts, 'fileName', dp), `${dp}/fileName`),
                            fileAttributes: decodeFileAttributes(
                                required(dParts, 'fileAttributes', dp),
                                `${dp}/fileAttributes`,
                            ),
                        };
                    },
                ),
                moreFollows: decodeBooleanComponent(element, parts, 'moreFollows', path, false) as boolean,
            };
        }
        case 'defineNamedVariableList':
        case 'fileClose':
        case 'fileDelete':
        case 'obtainFile':
            expectEmpty(element, path);
            return { service: s };
        default:
            throw unknownService(s, path);
    }
}

function decodeJournalEntry(element: XmlElement, path: string, options?: DataCodecOptions): JournalEntry {
    const parts = sequence(element, path, ['entryIdentifier', 'originatingApplication', 'entryContent']);
    const cp = `${path}/entryContent`;
    const content = sequence(required(parts, 'entryContent', path), cp, [
        'occurenceTime',
        'occurrenceTime',
        'additionalDetail',
        'entryForm',
    ]);
    const fp = `${cp}/entryForm`;
    const form = onlyChild(required(content, 'entryForm', cp), fp);
    let entryForm: JournalEntry['entryForm'];
    if (form.local === 'annotation') {
        entryForm = { annotation: decodeText(form, `${fp}/annotation`) };
    } else if (form.local === 'data') {
        const dp = `${fp}/data`;
        const dParts = sequence(form, dp, ['event', 'listOfVariables']);
        if (dParts.has('event')) throw new MmsError('unsupported', 'Journal event data is not used by 61850', dp);
        const lp = `${dp}/listOfVariables`;
        const lov = dParts.get('listOfVariables');
        entryForm = {
            listOfVariables: lov
                ? items(lov, lp, 'SEQUENCE').map((v, i) => {
                      const vp = `${lp}/SEQUENCE[${i}]`;
                      const vParts = sequence(v, vp, ['variableTag', 'valueSpecification']);
                      return {
                          variableTag: decodeVisible(required(vParts, 'variableTag', vp), `${vp}/variableTag`),
                          valueSpecification: decodeDataItem(
                              required(vParts, 'valueSpecification', vp),
                              options,
                              `${vp}/valueSpecification`,
                          ),
                      };
                  })
                : [],
        };
    } else {
        throw new MmsError('unknown-element', `<${form.local}> is not an entryForm`, `${fp}/${form.local}`);
    }
    return {
        entryIdentifier: decodeOctets(required(parts, 'entryIdentifier', path), `${path}/entryIdentifier`, 8),
        occurrenceTime: timeOf(
            decodeTimeOfDay(required(content, ['occurenceTime', 'occurrenceTime'], cp), `${cp}/occurenceTime`),
        ),
        entryForm,
    };
}

// ---------------------------------------------------------------------------------------------
// informationReport

export function encodeInformationReport(report: InformationReport, options?: DataCodecOptions): XmlElement {
    return el(
        'informationReport',
        {},
        encodeVas(report.variableAccessSpecification),
        encodeListOfAccessResult(report.listOfAccessResult, options),
    );
}

export function decodeInformationReport(
    element: XmlElement,
    path: string,
    options?: DataCodecOptions,
): InformationReport {
    const parts = sequence(element, path, [...VAS_ALLOWED, 'listOfAccessResult']);
    return {
        variableAccessSpecification: vasOf(parts, path),
        listOfAccessResult: decodeListOfAccessResult(
            required(parts, 'listOfAccessResult', path),
            `${path}/listOfAccessResult`,
            options,
        ),
    };
}
