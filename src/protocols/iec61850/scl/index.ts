import { parseXml, type XmlElement, XmlError, type XmlLimits } from '../../xml';
import { lineContext, positionOf } from '../../xml/errors';
import { isFc } from '../model/fc';
import type { ObjectReference, PathElement } from '../model/reference';
import type {
    BasicType,
    DataAttribute,
    DataObject,
    DataSet,
    LogControl,
    LogicalDevice,
    LogicalNode,
    ReportControl,
    Server,
    TriggerOptions,
    Value,
} from '../model/types';
import {
    BTYPES,
    CODED_ENUM_BITS,
    IGNORED_TOP_LEVEL,
    MAX_COUNT,
    MAX_NODES,
    MAX_TYPE_DEPTH,
    NS_SCL,
    SCL_DEFAULTS,
    UNSUPPORTED_IN_LN,
} from './tables';

/**
 * SCL import (IEC 61850-6: ICD, CID, IID files) into the model of model/types.ts, through the
 * hardened XML layer. Reads DataTypeTemplates (LNodeType, DOType, DAType, EnumType), one IED's
 * LDevice/LN0/LN instances with DOI/SDI/DAI initial values, DataSet, ReportControl, LogControl,
 * SettingControl and Log. What the model does not use gets one warning per element kind; a file
 * that cannot be a model gets an SclError with the line and the offending source line.
 */

export interface SclWarning {
    message: string;
    /** Element path, e.g. `SCL/IED[HP1]/…/LN[MMXN1]`. */
    path: string;
    line?: number;
}

export interface SclModel {
    iedName: string;
    server: Server;
    /** EnumType id → ord → literal. */
    enumTypes: Record<string, Record<number, string>>;
    warnings: SclWarning[];
}

export interface SclImportOptions {
    /** The IED to import; default the first. */
    iedName?: string;
    limits?: Partial<XmlLimits>;
}

export type SclErrorCode = 'SCL_INVALID' | 'SCL_MALFORMED';

export class SclError extends Error {
    readonly code: SclErrorCode;
    readonly path: string;
    readonly line: number | undefined;
    readonly column: number | undefined;
    /** The source line of the problem. */
    readonly context: string | undefined;

    constructor(
        code: SclErrorCode,
        message: string,
        where: { path?: string; line?: number; column?: number; context?: string } = {},
        options?: { cause?: unknown },
    ) {
        const at = where.line === undefined ? '' : ` (line ${where.line}${where.context ? `: ${where.context}` : ''})`;
        super(`${message}${at}`, options);
        this.name = 'SclError';
        this.code = code;
        this.path = where.path ?? '';
        this.line = where.line;
        this.column = where.column;
        this.context = where.context;
    }
}

// ---------------------------------------------------------------------------------------------
// Source positions: the k-th start tag of the text is the k-th element of a pre-order walk.

/** Offsets of the start tags in document order (comments, CDATA, PIs and declarations skipped). */
export function startTagOffsets(text: string): number[] {
    const out: number[] = [];
    let i = 0;
    for (;;) {
        const lt = text.indexOf('<', i);
        if (lt === -1) return out;
        if (text.startsWith('<!--', lt)) i = end(text, lt, '-->');
        else if (text.startsWith('<![CDATA[', lt)) i = end(text, lt, ']]>');
        else if (text.startsWith('<?', lt)) i = end(text, lt, '?>');
        else if (text.startsWith('<!', lt) || text[lt + 1] === '/') i = lt + 2;
        else {
            out.push(lt);
            i = lt + 1;
        }
    }
}

function end(text: string, from: number, terminator: string): number {
    const e = text.indexOf(terminator, from + 2);
    return e === -1 ? text.length : e + terminator.length;
}

function positions(root: XmlElement, text: string): Map<XmlElement, number> {
    const offsets = startTagOffsets(text);
    const map = new Map<XmlElement, number>();
    const stack: XmlElement[] = [root];
    let k = 0;
    while (stack.length > 0) {
        const e = stack.pop() as XmlElement;
        const at = offsets[k++];
        if (at !== undefined) map.set(e, at);
        const kids = e.elements();
        for (let j = kids.length - 1; j >= 0; j--) stack.push(kids[j] as XmlElement);
    }
    return map;
}

// ---------------------------------------------------------------------------------------------

class Importer {
    readonly warnings: SclWarning[] = [];
    readonly enumTypes: Record<string, Record<number, string>> = {};
    #warnedKinds = new Set<string>();
    #nodes = 0;
    readonly lnTypes = new Map<string, XmlElement>();
    readonly doTypes = new Map<string, XmlElement>();
    readonly daTypes = new Map<string, XmlElement>();
    readonly enumLiterals = new Map<string, Map<string, number>>();

    constructor(
        readonly text: string,
        readonly pos: Map<XmlElement, number>,
    ) {}

    where(e: XmlElement, path: string): { path: string; line?: number; column?: number; context?: string } {
        const offset = this.pos.get(e);
        if (offset === undefined) return { path };
        const { line, column } = positionOf(this.text, offset);
        return { path, line, column, context: lineContext(this.text, line, column) };
    }

    fail(e: XmlElement, path: string, message: string): never {
        throw new SclError('SCL_INVALID', message, this.where(e, path));
    }

    warn(e: XmlElement, path: string, message: string, onceKey?: string): void {
        if (onceKey !== undefined) {
            if (this.#warnedKinds.has(onceKey)) return;
            this.#warnedKinds.add(onceKey);
        }
        const w = this.where(e, path);
        this.warnings.push(w.line === undefined ? { message, path } : { message, path, line: w.line });
    }

    attr(e: XmlElement, name: string, path: string): string {
        const v = e.attrs[name];
        if (v === undefined || v === '') this.fail(e, path, `<${e.local}> needs the attribute ${name}`);
        return v;
    }

    int(e: XmlElement, name: string, path: string, fallback: number, min = 0, max = 2 ** 32 - 1): number {
        const v = e.attrs[name];
        if (v === undefined) return fallback;
        if (!/^[0-9]+$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
            this.fail(e, path, `${name}="${v.slice(0, 20)}" must be an integer ${min}..${max}`);
        }
        return Number(v);
    }

    bool(e: XmlElement | undefined, name: string, fallback: boolean): boolean {
        const v = e?.attrs[name];
        if (v === undefined) return fallback;
        return v === 'true' || v === '1';
    }

    count(): void {
        if (++this.#nodes > MAX_NODES) throw new SclError('SCL_INVALID', `The model has more than ${MAX_NODES} nodes`);
    }

    // ---- DataTypeTemplates -------------------------------------------------------------------

    templates(dtt: XmlElement, path: string): void {
        const maps: Record<string, Map<string, XmlElement>> = {
            LNodeType: this.lnTypes,
            DOType: this.doTypes,
            DAType: this.daTypes,
        };
        for (const t of dtt.elements()) {
            const tPath = `${path}/${t.local}`;
            if (t.local === 'EnumType') {
                this.enumType(t, tPath);
                continue;
            }
            const map = maps[t.local];
            if (!map) {
                if (t.local !== 'Private') this.warn(t, tPath, `${t.local} is not supported and was ignored`, t.local);
                continue;
            }
            const id = this.attr(t, 'id', tPath);
            if (map.has(id)) this.fail(t, `${tPath}[${id}]`, `${t.local} id "${id}" is defined twice`);
            map.set(id, t);
        }
    }

    enumType(t: XmlElement, path: string): void {
        const id = this.attr(t, 'id', path);
        if (this.enumLiterals.has(id)) this.fail(t, `${path}[${id}]`, `EnumType id "${id}" is defined twice`);
        const byOrd: Record<number, string> = {};
        const byName = new Map<string, number>();
        for (const v of t.childrenNamed('EnumVal')) {
            const ordText = this.attr(v, 'ord', `${path}[${id}]/EnumVal`);
            if (!/^-?[0-9]+$/.test(ordText))
                this.fail(v, `${path}[${id}]/EnumVal`, `ord "${ordText}" is not an integer`);
            const ord = Number(ordText);
            const literal = v.text().trim();
            byOrd[ord] = literal;
            byName.set(literal, ord);
        }
        this.enumTypes[id] = byOrd;
        this.enumLiterals.set(id, byName);
    }

    // ---- Types → model nodes -------------------------------------------------------------------

    lnObjects(lnType: string, ln: XmlElement, path: string): DataObject[] {
        const t = this.lnTypes.get(lnType);
        if (!t) this.fail(ln, path, `lnType "${lnType}" is not an LNodeType of the DataTypeTemplates`);
        return t.childrenNamed('DO').map((d) => {
            const name = this.attr(d, 'name', `${path}/DO`);
            return this.dataObject(
                name,
                this.attr(d, 'type', `${path}/DO[${name}]`),
                d,
                `${path}.${name}`,
                new Set(),
                1,
            );
        });
    }

    dataObject(
        name: string,
        typeId: string,
        ref: XmlElement,
        path: string,
        seen: Set<string>,
        depth: number,
    ): DataObject {
        this.count();
        const t = this.doTypes.get(typeId);
        if (!t) this.fail(ref, path, `type "${typeId}" of ${name} is not a DOType of the DataTypeTemplates`);
        if (seen.has(typeId) || depth > MAX_TYPE_DEPTH) this.fail(ref, path, `DOType "${typeId}" refers to itself`);
        const inner = new Set(seen).add(typeId);
        const node: DataObject = { kind: 'DO', name, children: [] };
        const cdc = t.attrs.cdc;
        if (cdc) node.cdc = cdc;
        const count = this.countOf(ref, path);
        if (count !== undefined) node.count = count;
        const names = new Set<string>();
        for (const c of t.elements()) {
            if (c.local !== 'DA' && c.local !== 'SDO') continue;
            const cName = this.attr(c, 'name', `${path}/${c.local}`);
            if (names.has(cName)) this.fail(c, `${path}.${cName}`, `${cName} appears twice in DOType "${typeId}"`);
            names.add(cName);
            if (c.local === 'SDO') {
                node.children.push(
                    this.dataObject(
                        cName,
                        this.attr(c, 'type', `${path}.${cName}`),
                        c,
                        `${path}.${cName}`,
                        inner,
                        depth + 1,
                    ),
                );
            } else {
                const fc = this.attr(c, 'fc', `${path}.${cName}`);
                if (!isFc(fc)) this.fail(c, `${path}.${cName}`, `fc "${fc}" is not a functional constraint`);
                node.children.push(this.attribute(c, cName, fc, `${path}.${cName}`, new Set(), depth + 1));
            }
        }
        return node;
    }

    countOf(e: XmlElement, path: string): number | undefined {
        const c = e.attrs.count;
        if (c === undefined || c === '0') return undefined;
        if (!/^[0-9]+$/.test(c))
            this.fail(e, path, `count "${c.slice(0, 20)}" is not a number (references are not supported)`);
        const n = Number(c);
        if (n > MAX_COUNT) this.fail(e, path, `count ${n} is larger than the limit of ${MAX_COUNT}`);
        return n;
    }

    attribute(
        e: XmlElement,
        name: string,
        fc: DataAttribute['fc'],
        path: string,
        seen: Set<string>,
        depth: number,
    ): DataAttribute {
        this.count();
        if (depth > MAX_TYPE_DEPTH) this.fail(e, path, `types nested deeper than ${MAX_TYPE_DEPTH} levels`);
        const bType = this.attr(e, 'bType', path);
        const type = BTYPES[bType];
        if (!type) this.fail(e, path, `bType "${bType}" is not an SCL basic type`);
        const da: DataAttribute = { kind: 'DA', name, fc, type };
        this.templateOf.set(da, e);
        const count = this.countOf(e, path);
        if (count !== undefined) da.count = count;
        const trg = {
            dchg: this.bool(e, 'dchg', false),
            qchg: this.bool(e, 'qchg', false),
            dupd: this.bool(e, 'dupd', false),
        };
        if (trg.dchg || trg.qchg || trg.dupd) da.triggers = trg;
        if (type === 'Struct') {
            const typeId = this.attr(e, 'type', path);
            const t = this.daTypes.get(typeId);
            if (!t) this.fail(e, path, `type "${typeId}" of ${name} is not a DAType of the DataTypeTemplates`);
            if (seen.has(typeId)) this.fail(e, path, `DAType "${typeId}" refers to itself`);
            const inner = new Set(seen).add(typeId);
            da.children = t.childrenNamed('BDA').map((b) => {
                const bName = this.attr(b, 'name', `${path}/BDA`);
                return this.attribute(b, bName, fc, `${path}.${bName}`, inner, depth + 1);
            });
        } else if (bType === 'Enum') {
            const typeId = this.attr(e, 'type', path);
            if (!this.enumLiterals.has(typeId)) this.fail(e, path, `type "${typeId}" of ${name} is not an EnumType`);
        }
        const val = e.childrenNamed('Val')[0];
        if (val) this.applyVal(da, e, val, path);
        return da;
    }

    applyVal(da: DataAttribute, owner: XmlElement, val: XmlElement, path: string): void {
        if (val.attrs.sGroup !== undefined) {
            this.warn(
                val,
                path,
                'Val with sGroup (setting group values) is not supported; the value was ignored',
                'sGroup',
            );
            return;
        }
        if (da.count !== undefined || da.type === 'Struct') {
            this.warn(val, path, `a Val for ${da.type === 'Struct' ? 'a structure' : 'an array'} was ignored`);
            return;
        }
        const v = this.typed(da.type as BasicType, val.text().trim(), owner, val, path);
        if (v !== undefined) da.value = v;
    }

    typed(type: BasicType, text: string, owner: XmlElement, val: XmlElement, path: string): Value | undefined {
        const bad = (): never => this.fail(val, path, `Val "${text.slice(0, 40)}" is not a valid ${type}`);
        switch (type) {
            case 'BOOLEAN':
                if (text === 'true' || text === '1') return true;
                if (text === 'false' || text === '0') return false;
                return bad();
            case 'INT64':
                if (!/^-?[0-9]{1,19}$/.test(text)) bad();
                return BigInt(text);
            case 'INT8':
            case 'INT16':
            case 'INT32':
            case 'INT8U':
            case 'INT16U':
            case 'INT32U':
                if (!/^-?[0-9]{1,10}$/.test(text)) bad();
                return Number(text);
            case 'FLOAT32':
            case 'FLOAT64': {
                const n = Number(text);
                if (text === '' || Number.isNaN(n)) bad();
                return type === 'FLOAT32' ? Math.fround(n) : n;
            }
            case 'ENUMERATED': {
                const lits = this.enumLiterals.get(owner.attrs.type ?? '');
                const ord = lits?.get(text);
                if (ord !== undefined) return ord;
                if (/^-?[0-9]+$/.test(text)) return Number(text);
                return this.fail(
                    val,
                    path,
                    `"${text.slice(0, 40)}" is not a literal of EnumType "${owner.attrs.type}"`,
                );
            }
            case 'CODED ENUM': {
                const bits = CODED_ENUM_BITS[owner.attrs.bType ?? '']?.[text];
                return bits ?? bad();
            }
            case 'VISIBLE STRING':
            case 'UNICODE STRING':
            case 'ObjectName':
            case 'ObjectReference':
                return text;
            default:
                this.warn(val, path, `a Val of type ${type} is not supported and was ignored`, `val:${type}`);
                return undefined;
        }
    }

    // ---- Instances ------------------------------------------------------------------------------

    logicalNode(e: XmlElement, ldName: string, ldInst: string, path: string): LogicalNode {
        const isLn0 = e.local === 'LN0';
        const lnClass = this.attr(e, 'lnClass', path);
        const prefix = e.attrs.prefix ?? '';
        const inst = isLn0 ? '' : (e.attrs.inst ?? '');
        const name = isLn0 ? 'LLN0' : `${prefix}${lnClass}${inst}`;
        const lnPath = `${path}/${e.local}[${name}]`;
        const lnType = this.attr(e, 'lnType', lnPath);
        const ln: LogicalNode = { name, lnClass, lnType, dataObjects: this.lnObjects(lnType, e, lnPath) };
        if (prefix) ln.prefix = prefix;
        if (inst) ln.inst = inst;
        if (e.attrs.desc) ln.desc = e.attrs.desc;
        const dataSets: DataSet[] = [];
        const reportControls: ReportControl[] = [];
        const logControls: LogControl[] = [];
        const logs: string[] = [];
        for (const c of e.elements()) {
            const cPath = `${lnPath}/${c.local}`;
            switch (c.local) {
                case 'DOI':
                    this.doi(c, ln.dataObjects, cPath);
                    break;
                case 'DataSet':
                    dataSets.push(this.dataSet(c, ldName, ldInst, cPath));
                    break;
                case 'ReportControl':
                    reportControls.push(this.reportControl(c, cPath));
                    break;
                case 'LogControl':
                    logControls.push(this.logControl(c, cPath));
                    break;
                case 'SettingControl':
                    ln.settingControl = {
                        numOfSGs: this.int(c, 'numOfSGs', cPath, 1, 1, 255),
                        actSG: this.int(c, 'actSG', cPath, SCL_DEFAULTS.sgActSG, 1, 255),
                    };
                    if (ln.settingControl.actSG > ln.settingControl.numOfSGs) {
                        this.fail(c, cPath, 'actSG is larger than numOfSGs');
                    }
                    break;
                case 'Log':
                    logs.push(c.attrs.name ?? 'Log');
                    break;
                case 'Private':
                case 'Text':
                    break;
                default:
                    this.warn(
                        c,
                        cPath,
                        UNSUPPORTED_IN_LN.has(c.local)
                            ? `${c.local} is not supported and was ignored`
                            : `<${c.local}> is not an element of an LN and was ignored`,
                        c.local,
                    );
            }
        }
        for (const list of [dataSets, reportControls, logControls]) {
            const names = list.map((x) => x.name);
            const twice = names.find((n, i) => names.indexOf(n) !== i);
            if (twice !== undefined) this.fail(e, lnPath, `"${twice}" is defined twice in ${name}`);
        }
        for (const r of [...reportControls, ...logControls]) {
            if (r.dataSet !== undefined && !dataSets.some((d) => d.name === r.dataSet)) {
                this.fail(e, lnPath, `${r.name} refers to data set "${r.dataSet}", which ${name} does not have`);
            }
        }
        if (dataSets.length > 0) ln.dataSets = dataSets;
        if (reportControls.length > 0) ln.reportControls = reportControls;
        if (logControls.length > 0) ln.logControls = logControls;
        if (logs.length > 0) ln.logs = logs;
        return ln;
    }

    doi(e: XmlElement, within: Array<DataObject | DataAttribute>, path: string): void {
        const name = this.attr(e, 'name', path);
        const target = within.find((c) => c.name === name);
        const here = `${path}[${name}]`;
        if (!target) {
            this.warn(e, here, `${e.local} ${name} is not in the type and was ignored`);
            return;
        }
        if (e.attrs.ix !== undefined) {
            this.warn(e, here, `${e.local} with ix (array element values) is not supported and was ignored`, 'ix');
            return;
        }
        for (const c of e.elements()) {
            if (c.local === 'SDI' || c.local === 'DAI') {
                const kids = target.kind === 'DO' ? target.children : (target.children ?? []);
                if (c.local === 'SDI') this.doi(c, kids, `${here}/SDI`);
                else this.dai(c, kids, `${here}/DAI`);
            }
        }
    }

    dai(e: XmlElement, within: Array<DataObject | DataAttribute>, path: string): void {
        const name = this.attr(e, 'name', path);
        const here = `${path}[${name}]`;
        const target = within.find((c) => c.name === name);
        if (target?.kind !== 'DA') {
            this.warn(e, here, `DAI ${name} is not an attribute of the type and was ignored`);
            return;
        }
        if (e.attrs.ix !== undefined) {
            this.warn(e, here, 'DAI with ix (array element values) is not supported and was ignored', 'ix');
            return;
        }
        const val = e.childrenNamed('Val')[0];
        if (!val) return;
        this.applyVal(target, this.templateOf.get(target) ?? e, val, here);
    }

    /** The DA/BDA element of the templates behind each attribute (its bType and EnumType type a DAI's Val). */
    readonly templateOf = new WeakMap<DataAttribute, XmlElement>();

    dataSet(e: XmlElement, ldName: string, ldInst: string, path: string): DataSet {
        const name = this.attr(e, 'name', path);
        const members: ObjectReference[] = [];
        for (const f of e.childrenNamed('FCDA')) {
            const fPath = `${path}[${name}]/FCDA`;
            const fc = this.attr(f, 'fc', fPath);
            if (!isFc(fc)) this.fail(f, fPath, `fc "${fc}" is not a functional constraint`);
            const lnClass = this.attr(f, 'lnClass', fPath);
            const ln = lnClass === 'LLN0' ? 'LLN0' : `${f.attrs.prefix ?? ''}${lnClass}${f.attrs.lnInst ?? ''}`;
            const inst = f.attrs.ldInst ?? ldInst;
            const doPath: PathElement[] = this.attr(f, 'doName', fPath)
                .split('.')
                .map((n) => ({ name: n }));
            const daPath: PathElement[] = (f.attrs.daName ?? '')
                .split('.')
                .filter((n) => n !== '')
                .map((n) => ({ name: n }));
            const ld = inst === ldInst ? ldName : this.ldNames.get(inst);
            if (ld === undefined)
                this.fail(f, fPath, `ldInst "${inst}" is not a logical device of IED ${this.iedName}`);
            members.push({ ld, ln, path: [...doPath, ...daPath], fc });
        }
        return { name, members };
    }

    iedName = '';
    /** LDevice inst → LD name (IEDName + inst, or ldName) of the imported IED. */
    readonly ldNames = new Map<string, string>();

    trgOps(e: XmlElement | undefined): TriggerOptions {
        return {
            dchg: this.bool(e, 'dchg', false),
            qchg: this.bool(e, 'qchg', false),
            dupd: this.bool(e, 'dupd', false),
            period: this.bool(e, 'period', false),
            gi: this.bool(e, 'gi', true),
        };
    }

    reportControl(e: XmlElement, path: string): ReportControl {
        const name = this.attr(e, 'name', path);
        const here = `${path}[${name}]`;
        const opt = e.childrenNamed('OptFields')[0];
        const rptId = e.attrs.rptID ?? '';
        const rc: ReportControl = {
            name,
            buffered: this.bool(e, 'buffered', SCL_DEFAULTS.reportBuffered),
            rptId,
            confRev: this.int(e, 'confRev', here, SCL_DEFAULTS.reportConfRev),
            intgPd: this.int(e, 'intgPd', here, SCL_DEFAULTS.reportIntgPd),
            bufTime: this.int(e, 'bufTime', here, SCL_DEFAULTS.reportBufTime),
            trgOps: this.trgOps(e.childrenNamed('TrgOps')[0]),
            optFields: {
                seqNum: this.bool(opt, 'seqNum', false),
                timeStamp: this.bool(opt, 'timeStamp', false),
                dataSet: this.bool(opt, 'dataSet', false),
                reasonCode: this.bool(opt, 'reasonCode', false),
                dataRef: this.bool(opt, 'dataRef', false),
                entryID: this.bool(opt, 'entryID', false),
                configRef: this.bool(opt, 'configRef', false),
                bufOvfl: this.bool(opt, 'bufOvfl', true),
            },
            indexed: this.bool(e, 'indexed', SCL_DEFAULTS.reportIndexed),
            max: this.int(e.childrenNamed('RptEnabled')[0] ?? e, 'max', here, SCL_DEFAULTS.rptEnabledMax, 1, 99),
        };
        if (e.attrs.datSet) rc.dataSet = e.attrs.datSet;
        return rc;
    }

    logControl(e: XmlElement, path: string): LogControl {
        const name = this.attr(e, 'name', path);
        const here = `${path}[${name}]`;
        const lc: LogControl = {
            name,
            logName: this.attr(e, 'logName', here),
            logEna: this.bool(e, 'logEna', SCL_DEFAULTS.logEna),
            reasonCode: this.bool(e, 'reasonCode', SCL_DEFAULTS.logReasonCode),
            intgPd: this.int(e, 'intgPd', here, SCL_DEFAULTS.logIntgPd),
            trgOps: this.trgOps(e.childrenNamed('TrgOps')[0]),
        };
        if (e.attrs.datSet) lc.dataSet = e.attrs.datSet;
        return lc;
    }
}

/** Imports one IED of an SCL document. Throws SclError; warnings are in the result. */
export function importScl(text: string | Uint8Array, options: SclImportOptions = {}): SclModel {
    const source = typeof text === 'string' ? text : new TextDecoder('utf-8').decode(text);
    let root: XmlElement;
    try {
        root = parseXml(source, options.limits ?? {});
    } catch (err) {
        if (err instanceof XmlError) {
            throw new SclError(
                'SCL_MALFORMED',
                `The SCL file is not well-formed XML: ${err.message}`,
                { line: err.line, column: err.column, context: err.context },
                { cause: err },
            );
        }
        throw err;
    }
    const im: Importer = new Importer(source, positions(root, source));
    if (root.local !== 'SCL') im.fail(root, root.local, `The root element is <${root.local}>, not <SCL>`);
    if (root.ns !== NS_SCL && root.ns !== '') {
        im.fail(root, 'SCL', `The SCL namespace is "${root.ns}", not ${NS_SCL}`);
    }
    for (const c of root.elements()) {
        if (!['IED', 'DataTypeTemplates'].includes(c.local) && !IGNORED_TOP_LEVEL.has(c.local)) {
            im.warn(c, `SCL/${c.local}`, `${c.local} is not supported and was ignored`, c.local);
        }
    }
    const dtt = root.childrenNamed('DataTypeTemplates')[0];
    if (!dtt) im.fail(root, 'SCL', 'The SCL file has no DataTypeTemplates');
    im.templates(dtt, 'SCL/DataTypeTemplates');

    const ieds = root.childrenNamed('IED');
    const ied = options.iedName === undefined ? ieds[0] : ieds.find((i) => i.attrs.name === options.iedName);
    if (!ied) {
        im.fail(
            root,
            'SCL',
            options.iedName ? `The SCL file has no IED "${options.iedName}"` : 'The SCL file has no IED',
        );
    }
    const iedName = im.attr(ied, 'name', 'SCL/IED');
    im.iedName = iedName;
    const iedPath = `SCL/IED[${iedName}]`;
    const server: Server = { logicalDevices: [] };
    for (const ap of ied.childrenNamed('AccessPoint')) {
        for (const srv of ap.childrenNamed('Server')) {
            for (const ld of srv.childrenNamed('LDevice')) {
                const inst = im.attr(ld, 'inst', `${iedPath}/LDevice`);
                im.ldNames.set(inst, ld.attrs.ldName ?? `${iedName}${inst}`);
            }
        }
    }
    for (const ap of ied.childrenNamed('AccessPoint')) {
        for (const srv of ap.childrenNamed('Server')) {
            for (const ld of srv.childrenNamed('LDevice')) {
                const inst = im.attr(ld, 'inst', `${iedPath}/LDevice`);
                const name = ld.attrs.ldName ?? `${iedName}${inst}`;
                const ldPath = `${iedPath}/LDevice[${inst}]`;
                if (server.logicalDevices.some((d) => d.name === name)) {
                    im.fail(ld, ldPath, `Logical device "${name}" is defined twice`);
                }
                if (name.length > 64) im.fail(ld, ldPath, `Logical device name "${name}" is longer than 64 characters`);
                const device: LogicalDevice = { name, logicalNodes: [] };
                for (const ln of ld.elements()) {
                    if (ln.local !== 'LN0' && ln.local !== 'LN') continue;
                    const node = im.logicalNode(ln, name, inst, ldPath);
                    if (device.logicalNodes.some((n) => n.name === node.name)) {
                        im.fail(ln, ldPath, `Logical node "${node.name}" is defined twice in ${name}`);
                    }
                    device.logicalNodes.push(node);
                }
                server.logicalDevices.push(device);
            }
        }
    }
    return { iedName, server, enumTypes: im.enumTypes, warnings: im.warnings };
}
