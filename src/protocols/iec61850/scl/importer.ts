import { parseXml, type XmlElement, XmlError, type XmlLimits } from '../../xml';
import { lineContext, positionOf } from '../../xml/errors';
import { Iec61850Error } from '../model/errors';
import { type Fc, isFc } from '../model/fc';
import { checkLdName, formatReference, type ObjectReference, type PathElement, toMms } from '../model/reference';
import type {
    DataAttribute,
    DataObject,
    DataSet,
    LogControl,
    LogicalDevice,
    LogicalNode,
    ReportControl,
    Server,
    SettingControl,
    TriggerOptions,
} from '../model/types';
import { defaultValue } from '../model/values';
import { SclError, type SclErrorWhere, type SclWarning } from './errors';
import { elementOffsets } from './positions';
import { BTYPES, ELEMENTS, MAX_COUNT, MAX_NODES, MAX_TYPE_DEPTH, MAX_WARNINGS, NS_SCL, SCL_DEFAULTS } from './tables';
import { parseVal } from './values';

/**
 * SCL import (IEC 61850-6: ICD, CID, IID files) into the model of model/types.ts, through the
 * hardened XML layer. Reads DataTypeTemplates (LNodeType, DOType, DAType, EnumType), one IED's
 * LDevice/LN0/LN instances with DOI/SDI/DAI initial values, DataSet, ReportControl, LogControl,
 * SettingControl and Log. What the model does not use gets one warning per element kind (see
 * ELEMENTS in tables.ts); a file that cannot be a model gets an SclError with the element path,
 * the line and the offending source line.
 */

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
    /** Limits of the XML layer (maxBytes, maxDepth, maxAttributes, maxElements). */
    limits?: Partial<XmlLimits>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `name` or `name(index)`, as doName/daName of an FCDA write array elements (tFullDOName, tFullAttributeName). */
const PATH_STEP = /^([A-Za-z_][A-Za-z0-9_]*)(?:\(([0-9]{1,10})\))?$/;

type Node = DataObject | DataAttribute;

/** A data set member still to be checked against the finished model. */
interface PendingMember {
    ref: ObjectReference;
    /** How many leading path steps are data objects (from doName); the rest are attributes. */
    doSteps: number;
    fcda: XmlElement;
    dataSet: string;
}

class Importer {
    readonly warnings: SclWarning[] = [];
    readonly enumTypes: Record<string, Record<number, string>> = {};
    readonly enumLiterals = new Map<string, Map<string, number>>();
    readonly lnTypes = new Map<string, XmlElement>();
    readonly doTypes = new Map<string, XmlElement>();
    readonly daTypes = new Map<string, XmlElement>();
    /** The DA/BDA template element behind each attribute (its bType and EnumType type a DAI's Val). */
    readonly templateOf = new WeakMap<DataAttribute, XmlElement>();
    /** LDevice inst → LD name (IEDName + inst, or ldName) of the imported IED. */
    readonly ldNames = new Map<string, string>();
    readonly pendingMembers: PendingMember[] = [];
    readonly pendingLogs: Array<{ lc: XmlElement; ld: string; ln: string; logName: string }> = [];
    iedName = '';
    #warnedKinds = new Set<string>();
    #nodes = 0;

    constructor(
        readonly text: string,
        readonly pos: Map<XmlElement, number>,
        /** The namespace SCL elements are in ('' for a file without namespace). */
        readonly ns: string,
    ) {}

    // ---- positions, errors, warnings ---------------------------------------------------------

    /** `SCL/IED[HP1]/AccessPoint[AP1]/Server/LDevice[LD]/LN[MMXN1]/DOI[Watt]`: each step named by its key attribute. */
    path(e: XmlElement): string {
        const steps: string[] = [];
        for (let n: XmlElement | undefined = e; n; n = n.parent) steps.push(step(n));
        return steps.reverse().join('/');
    }

    where(e: XmlElement): SclErrorWhere {
        const path = this.path(e);
        const offset = this.pos.get(e);
        if (offset === undefined) return { path };
        const { line, column } = positionOf(this.text, offset);
        return { path, line, column, context: lineContext(this.text, line, column) };
    }

    fail(e: XmlElement, message: string): never {
        throw new SclError('SCL_INVALID', message, this.where(e));
    }

    /** A warning about `e`; with `onceKey`, only the first of its kind is recorded. */
    warn(e: XmlElement, message: string, onceKey?: string): void {
        if (onceKey !== undefined) {
            if (this.#warnedKinds.has(onceKey)) return;
            this.#warnedKinds.add(onceKey);
        }
        const w = this.where(e);
        // a template shared by several instances would repeat its warning once per instance
        const key = `${message}\u0000${w.path}\u0000${w.line}`;
        if (this.#warnedKinds.has(key)) return;
        this.#warnedKinds.add(key);
        if (this.warnings.length >= MAX_WARNINGS) {
            if (this.warnings.length === MAX_WARNINGS) {
                this.warnings.push({ message: `More than ${MAX_WARNINGS} warnings; the rest were left out`, path: '' });
            }
            return;
        }
        this.warnings.push(
            w.line === undefined ? { message, path: w.path ?? '' } : { message, path: w.path ?? '', line: w.line },
        );
    }

    // ---- reading elements and attributes -------------------------------------------------------

    /** Child elements in the SCL namespace (other namespaces are the schema's extension point: skipped). */
    kids(e: XmlElement, local?: string): XmlElement[] {
        return e.elements().filter((c) => c.ns === this.ns && (local === undefined || c.local === local));
    }

    /** Warns once per kind for children that are neither read nor silently skipped under a `parent` kind. */
    checkKids(e: XmlElement, parent: keyof typeof ELEMENTS): void {
        const { read, silent } = ELEMENTS[parent] as { read: readonly string[]; silent: readonly string[] };
        for (const c of this.kids(e)) {
            if (!read.includes(c.local) && !silent.includes(c.local)) {
                this.warn(c, `${c.local} is not supported and was ignored`, c.local);
            }
        }
    }

    attr(e: XmlElement, name: string): string {
        const v = e.attrs[name];
        if (v === undefined || v === '') this.fail(e, `<${e.local}> needs the attribute ${name}`);
        return v;
    }

    /** A required name attribute that must also be a valid 61850 name ([A-Za-z_][A-Za-z0-9_]*). */
    name(e: XmlElement, attr = 'name'): string {
        const v = this.attr(e, attr);
        if (!IDENT.test(v) || v.length > 64) this.fail(e, `${attr}="${clip(v)}" is not a valid name`);
        return v;
    }

    int(e: XmlElement, name: string, fallback: number, min = 0, max = 2 ** 32 - 1): number {
        const v = e.attrs[name];
        if (v === undefined) return fallback;
        const t = v.trim();
        if (!/^\+?[0-9]{1,12}$/.test(t) || Number(t) < min || Number(t) > max) {
            this.fail(e, `${name}="${clip(v)}" must be an integer ${min}..${max}`);
        }
        return Number(t);
    }

    /** An xs:boolean attribute (true, false, 1, 0); anything else is an error naming it. */
    bool(e: XmlElement | undefined, name: string, fallback: boolean): boolean {
        const v = e?.attrs[name]?.trim();
        if (v === undefined || e === undefined) return fallback;
        if (v === 'true' || v === '1') return true;
        if (v === 'false' || v === '0') return false;
        return this.fail(e, `${name}="${clip(v)}" is not a boolean (true, false, 1 or 0)`);
    }

    /** Counts model nodes (array elements included) and stops a model that grows beyond MAX_NODES. */
    grow(e: XmlElement, by: number): void {
        this.#nodes += by;
        if (this.#nodes > MAX_NODES) {
            this.fail(e, `The model grows beyond ${MAX_NODES} nodes (array elements counted) here`);
        }
    }

    get nodes(): number {
        return this.#nodes;
    }

    // ---- DataTypeTemplates ---------------------------------------------------------------------

    templates(dtt: XmlElement): void {
        this.checkKids(dtt, 'DataTypeTemplates');
        const maps: Record<string, Map<string, XmlElement>> = {
            LNodeType: this.lnTypes,
            DOType: this.doTypes,
            DAType: this.daTypes,
        };
        for (const t of this.kids(dtt)) {
            if (t.local === 'EnumType') {
                this.enumType(t);
                continue;
            }
            const map = maps[t.local];
            if (!map) continue;
            const id = this.attr(t, 'id');
            if (map.has(id)) this.fail(t, `${t.local} id "${id}" is defined twice`);
            map.set(id, t);
            if (t.local === 'LNodeType') this.attr(t, 'lnClass');
            if (t.local === 'DOType') this.attr(t, 'cdc');
            // names inside one type are unique (schema xs:unique on DO, DA/SDO, BDA)
            const names = new Set<string>();
            for (const c of this.kids(t)) {
                if (!['DO', 'SDO', 'DA', 'BDA'].includes(c.local)) continue;
                const n = this.name(c);
                if (names.has(n)) this.fail(c, `${n} appears twice in ${t.local} "${id}"`);
                names.add(n);
            }
        }
    }

    enumType(t: XmlElement): void {
        const id = this.attr(t, 'id');
        if (this.enumLiterals.has(id)) this.fail(t, `EnumType id "${id}" is defined twice`);
        const byOrd: Record<number, string> = {};
        const byName = new Map<string, number>();
        for (const v of this.kids(t, 'EnumVal')) {
            const ordText = this.attr(v, 'ord').trim();
            if (!/^-?[0-9]{1,10}$/.test(ordText)) this.fail(v, `ord "${clip(ordText)}" is not an integer`);
            const ord = Number(ordText);
            if (Object.hasOwn(byOrd, ord)) this.fail(v, `ord ${ord} appears twice in EnumType "${id}"`);
            const literal = v.text().trim();
            byOrd[ord] = literal;
            if (!byName.has(literal)) byName.set(literal, ord);
        }
        // an own property even for ids such as "__proto__" (the ids are the file's, not ours)
        Object.defineProperty(this.enumTypes, id, {
            value: byOrd,
            enumerable: true,
            writable: true,
            configurable: true,
        });
        this.enumLiterals.set(id, byName);
    }

    // ---- types → model nodes -------------------------------------------------------------------

    lnObjects(lnType: string, lnClass: string, ln: XmlElement): DataObject[] {
        const t = this.lnTypes.get(lnType);
        if (!t) this.fail(ln, `lnType "${lnType}" is not an LNodeType of the DataTypeTemplates`);
        if (t.attrs.lnClass !== lnClass) {
            this.warn(ln, `lnType "${lnType}" is an LNodeType of class ${t.attrs.lnClass}, not ${lnClass}`);
        }
        return this.kids(t, 'DO').map((d) => this.dataObject(d, this.attr(d, 'type'), new Set(), 1));
    }

    /** A DO (from a DO of an LNodeType) or SDO (from a DOType) of DOType `typeId`. */
    dataObject(ref: XmlElement, typeId: string, seen: ReadonlySet<string>, depth: number): DataObject {
        const name = ref.attrs.name as string;
        const t = this.doTypes.get(typeId);
        if (!t) this.fail(ref, `type "${typeId}" of ${name} is not a DOType of the DataTypeTemplates`);
        if (seen.has(typeId)) this.fail(ref, `DOType "${typeId}" refers to itself (through ${name})`);
        if (depth > MAX_TYPE_DEPTH) this.fail(ref, `types nested deeper than ${MAX_TYPE_DEPTH} levels`);
        const start = this.nodes;
        this.grow(ref, 1);
        const inner = new Set(seen).add(typeId);
        const node: DataObject = { kind: 'DO', name, children: [] };
        node.cdc = t.attrs.cdc as string;
        const count = this.countOf(ref);
        if (count !== undefined) node.count = count;
        for (const c of this.kids(t)) {
            if (c.local === 'SDO') {
                node.children.push(this.dataObject(c, this.attr(c, 'type'), inner, depth + 1));
            } else if (c.local === 'DA') {
                const fc = this.attr(c, 'fc');
                if (!isFc(fc)) this.fail(c, `fc "${clip(fc)}" is not a functional constraint`);
                node.children.push(this.attribute(c, fc, new Set(), depth + 1));
            }
        }
        if (count !== undefined) this.grow(ref, (this.nodes - start) * (count - 1));
        return node;
    }

    countOf(e: XmlElement): number | undefined {
        const c = e.attrs.count?.trim();
        if (c === undefined || c === '0') return undefined;
        if (!/^[0-9]+$/.test(c)) {
            this.fail(e, `count "${clip(c)}" is not a number (counts that refer to an attribute are not supported)`);
        }
        const n = Number(c);
        if (n > MAX_COUNT) this.fail(e, `count ${clip(c)} is larger than the limit of ${MAX_COUNT}`);
        return n;
    }

    /** A DA (FC of its own) or BDA (FC of the DA it is in) and, for a Struct, its members. */
    attribute(e: XmlElement, fc: Fc, seen: ReadonlySet<string>, depth: number): DataAttribute {
        const name = e.attrs.name as string;
        if (depth > MAX_TYPE_DEPTH) this.fail(e, `types nested deeper than ${MAX_TYPE_DEPTH} levels`);
        const start = this.nodes;
        this.grow(e, 1);
        const bType = this.attr(e, 'bType');
        const type = Object.hasOwn(BTYPES, bType) ? BTYPES[bType] : undefined;
        if (!type) this.fail(e, `bType "${clip(bType)}" is not an SCL basic type`);
        const da: DataAttribute = { kind: 'DA', name, fc, type };
        this.templateOf.set(da, e);
        const count = this.countOf(e);
        if (count !== undefined) da.count = count;
        const trg = {
            dchg: this.bool(e, 'dchg', false),
            qchg: this.bool(e, 'qchg', false),
            dupd: this.bool(e, 'dupd', false),
        };
        if (trg.dchg || trg.qchg || trg.dupd) da.triggers = trg;
        if (type === 'Struct') {
            const typeId = this.attr(e, 'type');
            const t = this.daTypes.get(typeId);
            if (!t) this.fail(e, `type "${typeId}" of ${name} is not a DAType of the DataTypeTemplates`);
            if (seen.has(typeId)) this.fail(e, `DAType "${typeId}" refers to itself (through ${name})`);
            const inner = new Set(seen).add(typeId);
            da.children = this.kids(t, 'BDA').map((b) => this.attribute(b, fc, inner, depth + 1));
        } else if (bType === 'Enum') {
            const typeId = this.attr(e, 'type');
            if (!this.enumLiterals.has(typeId)) this.fail(e, `type "${typeId}" of ${name} is not an EnumType`);
        }
        if (count !== undefined) this.grow(e, (this.nodes - start) * (count - 1));
        this.applyVals(da, e, e);
        return da;
    }

    /** Applies the Val children of `owner` (a DA/BDA of the templates or a DAI) to `da`. */
    applyVals(da: DataAttribute, owner: XmlElement, template: XmlElement, ix?: number): void {
        const vals = this.kids(owner, 'Val');
        if (vals.length === 0) return;
        let val = vals.find((v) => v.attrs.sGroup === undefined);
        if (vals.some((v) => v.attrs.sGroup !== undefined)) {
            this.warn(
                vals[0] as XmlElement,
                'Val with sGroup (setting group values) is not supported; sGroup was ignored',
                'sGroup',
            );
            val ??= vals.find((v) => v.attrs.sGroup?.trim() === '1') ?? vals[0];
        }
        if (!val) return;
        if (da.type === 'Struct') {
            this.warn(val, `a Val for the structure ${da.name} was ignored (values belong to its members)`);
            return;
        }
        if (da.count !== undefined && ix === undefined) {
            this.warn(val, `a Val for the array ${da.name} was ignored (array values need DAI ix)`);
            return;
        }
        const bType = template.attrs.bType as string;
        const enumId = bType === 'Enum' ? (template.attrs.type as string) : undefined;
        const r = parseVal(
            da.type,
            bType,
            val.text(),
            enumId === undefined ? undefined : this.enumLiterals.get(enumId),
        );
        if ('error' in r) {
            this.fail(val, enumId === undefined ? r.error : `${r.error} "${enumId}"`);
        }
        if ('unsupported' in r) {
            this.warn(val, `a Val of type ${da.type} is not supported and was ignored`, `val:${da.type}`);
            return;
        }
        if (ix === undefined) {
            da.value = r.value;
        } else {
            const arr = Array.isArray(da.value) ? da.value : (defaultValue(da) as unknown[]);
            arr[ix] = r.value;
            da.value = arr as DataAttribute['value'];
        }
    }

    // ---- instances -----------------------------------------------------------------------------

    logicalNode(e: XmlElement, ldName: string, ldInst: string): LogicalNode {
        const isLn0 = e.local === 'LN0';
        const lnClass = this.attr(e, 'lnClass');
        if (isLn0 && lnClass !== 'LLN0') this.fail(e, `LN0 has lnClass "${clip(lnClass)}"; it must be LLN0`);
        const prefix = isLn0 ? '' : (e.attrs.prefix ?? '');
        const inst = isLn0 ? '' : this.attr(e, 'inst');
        const name = isLn0 ? 'LLN0' : `${prefix}${lnClass}${inst}`;
        if (!isLn0 && !/^(?:[A-Za-z][A-Za-z0-9_]*)?[A-Z]{4}[0-9]{1,12}$/.test(name)) {
            this.fail(e, `LN name "${clip(name)}" is not prefix + 4-letter class + numeric instance`);
        }
        const lnType = this.attr(e, 'lnType');
        const ln: LogicalNode = { name, lnClass, lnType, dataObjects: this.lnObjects(lnType, lnClass, e) };
        if (prefix) ln.prefix = prefix;
        if (inst) ln.inst = inst;
        if (e.attrs.desc) ln.desc = e.attrs.desc;
        const dataSets: DataSet[] = [];
        const reportControls: ReportControl[] = [];
        const logControls: LogControl[] = [];
        const logs: string[] = [];
        const unique = (list: Array<{ name: string }> | string[], n: string, c: XmlElement) => {
            if (list.some((x) => (typeof x === 'string' ? x : x.name) === n)) {
                this.fail(c, `${c.local} "${n}" is defined twice in ${name}`);
            }
        };
        const doiNames = new Set<string>();
        for (const c of this.kids(e)) {
            switch (c.local) {
                case 'DOI': {
                    const n = this.attr(c, 'name');
                    if (doiNames.has(n) && c.attrs.ix === undefined)
                        this.fail(c, `DOI "${n}" appears twice in ${name}`);
                    doiNames.add(n);
                    this.instance(c, ln.dataObjects);
                    break;
                }
                case 'DataSet': {
                    const ds = this.dataSet(c, ldName, ldInst);
                    unique(dataSets, ds.name, c);
                    dataSets.push(ds);
                    break;
                }
                case 'ReportControl': {
                    const rc = this.reportControl(c);
                    unique(reportControls, rc.name, c);
                    reportControls.push(rc);
                    break;
                }
                case 'LogControl': {
                    const lc = this.logControl(c, ldInst);
                    unique(logControls, lc.name, c);
                    logControls.push(lc);
                    break;
                }
                case 'SettingControl':
                    if (!isLn0) {
                        this.warn(c, 'SettingControl is only read in LN0 and was ignored', 'SettingControl:LN');
                        break;
                    }
                    if (ln.settingControl) this.fail(c, `SettingControl appears twice in ${name}`);
                    ln.settingControl = this.settingControl(c);
                    break;
                case 'Log': {
                    const n = c.attrs.name === undefined ? '' : this.name(c);
                    unique(logs, n, c);
                    logs.push(n);
                    break;
                }
                default:
                    if (!ELEMENTS.LN?.silent.includes(c.local)) {
                        this.warn(c, `${c.local} is not supported and was ignored`, c.local);
                    }
            }
        }
        for (const [c, r] of [
            ...this.kids(e, 'ReportControl').map((x, i) => [x, reportControls[i]] as const),
            ...this.kids(e, 'LogControl').map((x, i) => [x, logControls[i]] as const),
        ]) {
            if (r?.dataSet !== undefined && !dataSets.some((d) => d.name === r.dataSet)) {
                this.fail(c, `${c.local} ${r.name} refers to data set "${r.dataSet}", which ${name} does not have`);
            }
        }
        if (dataSets.length > 0) ln.dataSets = dataSets;
        if (reportControls.length > 0) ln.reportControls = reportControls;
        if (logControls.length > 0) ln.logControls = logControls;
        if (logs.length > 0) ln.logs = logs;
        const lnNs = ln.dataObjects.find((d) => d.name === 'NamPlt')?.children.find((c) => c.name === 'lnNs');
        if (lnNs?.kind === 'DA' && typeof lnNs.value === 'string' && lnNs.value !== '') ln.lnNs = lnNs.value;
        return ln;
    }

    /** DOI or SDI: applies its SDI/DAI children to the matching node among `within`. */
    instance(e: XmlElement, within: readonly Node[]): void {
        const name = this.attr(e, 'name');
        const target = within.find((c) => c.name === name);
        if (!target) {
            this.warn(e, `${e.local} ${name} is not in the type and was ignored`);
            return;
        }
        if (e.attrs.ix !== undefined) {
            this.warn(
                e,
                `${e.local} with ix (values of array elements of structures) is not supported and was ignored`,
                'ix',
            );
            return;
        }
        const kids = target.kind === 'DO' ? target.children : (target.children ?? []);
        for (const c of this.kids(e)) {
            if (c.local === 'SDI') this.instance(c, kids);
            else if (c.local === 'DAI') this.dai(c, kids);
            else if (c.local !== 'Private' && c.local !== 'Text') {
                this.warn(c, `${c.local} is not supported and was ignored`, c.local);
            }
        }
    }

    dai(e: XmlElement, within: readonly Node[]): void {
        const name = this.attr(e, 'name');
        const target = within.find((c) => c.name === name);
        if (target?.kind !== 'DA') {
            this.warn(e, `DAI ${name} is not an attribute of the type and was ignored`);
            return;
        }
        let ix: number | undefined;
        if (e.attrs.ix !== undefined) {
            if (target.count === undefined || target.type === 'Struct') {
                this.warn(e, `DAI ${name} has ix but is not an array of a basic type; it was ignored`);
                return;
            }
            ix = this.int(e, 'ix', 0, 0, target.count - 1);
        }
        this.applyVals(target, e, this.templateOf.get(target) as XmlElement, ix);
    }

    dataSet(e: XmlElement, ldName: string, ldInst: string): DataSet {
        const name = this.name(e);
        const members: ObjectReference[] = [];
        for (const f of this.kids(e, 'FCDA')) {
            const fc = this.attr(f, 'fc');
            if (!isFc(fc)) this.fail(f, `fc "${clip(fc)}" is not a functional constraint`);
            if (f.attrs.ix !== undefined) this.fail(f, 'FCDA ix is not supported; write the index in doName or daName');
            const lnClass = this.attr(f, 'lnClass');
            const ln = lnClass === 'LLN0' ? 'LLN0' : `${f.attrs.prefix ?? ''}${lnClass}${f.attrs.lnInst ?? ''}`;
            const inst = f.attrs.ldInst ?? ldInst;
            const ld = inst === ldInst ? ldName : this.ldNames.get(inst);
            if (ld === undefined) this.fail(f, `ldInst "${clip(inst)}" is not a logical device of IED ${this.iedName}`);
            const doPath = this.steps(f, 'doName', this.attr(f, 'doName'));
            const daPath = f.attrs.daName === undefined ? [] : this.steps(f, 'daName', f.attrs.daName);
            const ref: ObjectReference = { ld, ln, path: [...doPath, ...daPath], fc };
            members.push(ref);
            this.pendingMembers.push({ ref, doSteps: doPath.length, fcda: f, dataSet: name });
        }
        if (members.length === 0) this.warn(e, `DataSet ${name} has no members`);
        return { name, members };
    }

    steps(f: XmlElement, attr: string, text: string): PathElement[] {
        return text.split('.').map((s) => {
            const m = PATH_STEP.exec(s);
            if (!m) this.fail(f, `${attr}="${clip(text)}" is not a dotted list of names`);
            return m[2] === undefined ? { name: m[1] as string } : { name: m[1] as string, index: Number(m[2]) };
        });
    }

    trgOps(e: XmlElement | undefined): TriggerOptions {
        const d = SCL_DEFAULTS.trgOps;
        return {
            dchg: this.bool(e, 'dchg', d.dchg),
            qchg: this.bool(e, 'qchg', d.qchg),
            dupd: this.bool(e, 'dupd', d.dupd),
            period: this.bool(e, 'period', d.period),
            gi: this.bool(e, 'gi', d.gi),
        };
    }

    reportControl(e: XmlElement): ReportControl {
        const name = this.name(e);
        this.attr(e, 'confRev');
        const opt = this.kids(e, 'OptFields')[0];
        const o = SCL_DEFAULTS.optFields;
        const rc: ReportControl = {
            name,
            buffered: this.bool(e, 'buffered', SCL_DEFAULTS.reportBuffered),
            rptId: e.attrs.rptID ?? '',
            confRev: this.int(e, 'confRev', 0),
            intgPd: this.int(e, 'intgPd', SCL_DEFAULTS.reportIntgPd),
            bufTime: this.int(e, 'bufTime', SCL_DEFAULTS.reportBufTime),
            trgOps: this.trgOps(this.kids(e, 'TrgOps')[0]),
            optFields: {
                seqNum: this.bool(opt, 'seqNum', o.seqNum),
                timeStamp: this.bool(opt, 'timeStamp', o.timeStamp),
                dataSet: this.bool(opt, 'dataSet', o.dataSet),
                reasonCode: this.bool(opt, 'reasonCode', o.reasonCode),
                dataRef: this.bool(opt, 'dataRef', o.dataRef),
                entryID: this.bool(opt, 'entryID', o.entryID),
                configRef: this.bool(opt, 'configRef', o.configRef),
                bufOvfl: this.bool(opt, 'bufOvfl', o.bufOvfl),
            },
            indexed: this.bool(e, 'indexed', SCL_DEFAULTS.reportIndexed),
            max: SCL_DEFAULTS.rptEnabledMax,
        };
        if (rc.rptId.length > 129) this.fail(e, `rptID is longer than 129 characters`);
        const enabled = this.kids(e, 'RptEnabled')[0];
        if (enabled) rc.max = this.int(enabled, 'max', SCL_DEFAULTS.rptEnabledMax, 1, 99);
        if (e.attrs.datSet) rc.dataSet = e.attrs.datSet;
        return rc;
    }

    logControl(e: XmlElement, ldInst: string): LogControl {
        const name = this.name(e);
        const logName = this.name(e, 'logName');
        const lc: LogControl = {
            name,
            logName,
            logEna: this.bool(e, 'logEna', SCL_DEFAULTS.logEna),
            reasonCode: this.bool(e, 'reasonCode', SCL_DEFAULTS.logReasonCode),
            intgPd: this.int(e, 'intgPd', SCL_DEFAULTS.logIntgPd),
            trgOps: this.trgOps(this.kids(e, 'TrgOps')[0]),
        };
        if (e.attrs.datSet) lc.dataSet = e.attrs.datSet;
        // The log is in LN ldInst/prefix+lnClass+lnInst, by default LLN0 of this LD (tLogControl).
        const lnClass = e.attrs.lnClass ?? 'LLN0';
        const ln = lnClass === 'LLN0' ? 'LLN0' : `${e.attrs.prefix ?? ''}${lnClass}${e.attrs.lnInst ?? ''}`;
        const ld = this.ldNames.get(e.attrs.ldInst ?? ldInst);
        if (ld === undefined)
            this.fail(e, `ldInst "${clip(e.attrs.ldInst ?? '')}" is not a logical device of IED ${this.iedName}`);
        this.pendingLogs.push({ lc: e, ld, ln, logName });
        return lc;
    }

    settingControl(e: XmlElement): SettingControl {
        this.attr(e, 'numOfSGs');
        const sc = {
            numOfSGs: this.int(e, 'numOfSGs', 1, 1, 255),
            actSG: this.int(e, 'actSG', SCL_DEFAULTS.sgActSG, 1, 255),
        };
        if (sc.actSG > sc.numOfSGs) this.fail(e, `actSG ${sc.actSG} is larger than numOfSGs ${sc.numOfSGs}`);
        return sc;
    }

    // ---- checks on the finished model ------------------------------------------------------------

    /** Every data set member must name a DO/DA of the model that carries its FC, within MMS name limits. */
    resolveMembers(server: Server): void {
        for (const { ref, doSteps, fcda, dataSet } of this.pendingMembers) {
            const shown = safeFormat(ref);
            const fail: (why: string) => never = (why) =>
                this.fail(fcda, `FCDA ${shown} of data set ${dataSet}: ${why}`);
            const ln = server.logicalDevices
                .find((d) => d.name === ref.ld)
                ?.logicalNodes.find((n) => n.name === ref.ln);
            if (!ln) fail(`${ref.ld} has no logical node ${ref.ln}`);
            let within: readonly Node[] = ln.dataObjects;
            let node: Node | undefined;
            let where = ref.ln;
            for (const [i, p] of ref.path.entries()) {
                const found = within.find((c) => c.name === p.name);
                const want = i < doSteps ? 'DO' : 'DA';
                if (!found || found.kind !== want) {
                    fail(`${where} has no ${want === 'DO' ? 'data object' : 'attribute'} ${p.name}`);
                }
                if (p.index !== undefined && (found.count === undefined || p.index >= found.count)) {
                    fail(`${where}.${p.name} has no element ${p.index}`);
                }
                node = found;
                within = found.kind === 'DO' ? found.children : (found.children ?? []);
                where = `${where}.${p.name}`;
            }
            if (!node || !carries(node, ref.fc as Fc)) fail(`${where} has no attribute with FC ${ref.fc}`);
            try {
                toMms(ref);
            } catch (err) {
                if (!(err instanceof Iec61850Error)) throw err;
                fail(err.message);
            }
        }
    }

    checkLogs(server: Server): void {
        for (const { lc, ld, ln, logName } of this.pendingLogs) {
            const target = server.logicalDevices.find((d) => d.name === ld)?.logicalNodes.find((n) => n.name === ln);
            if (!target?.logs?.includes(logName)) {
                this.warn(
                    lc,
                    `LogControl ${lc.attrs.name} writes to log ${logName}, which ${ld}/${ln} does not declare`,
                );
            }
        }
    }
}

function carries(node: Node, fc: Fc): boolean {
    return node.kind === 'DA' ? node.fc === fc : node.children.some((c) => carries(c, fc));
}

function safeFormat(ref: ObjectReference): string {
    try {
        return formatReference(ref);
    } catch {
        return `${ref.ld}/${ref.ln}.${ref.path.map((p) => p.name).join('.')}[${ref.fc}]`;
    }
}

function clip(s: string): string {
    return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function step(e: XmlElement): string {
    const a = e.attrs;
    let key: string | undefined;
    if (e.local === 'LN0') key = 'LLN0';
    else if (e.local === 'LN') key = `${a.prefix ?? ''}${a.lnClass ?? ''}${a.inst ?? ''}`;
    else if (e.local === 'LDevice') key = a.inst;
    else key = a.name ?? a.id;
    return key === undefined ? e.local : `${e.local}[${clip(key)}]`;
}

/** Imports one IED of an SCL document. Throws SclError; warnings are in the result. */
export function importScl(text: string | Uint8Array, options: SclImportOptions = {}): SclModel {
    let root: XmlElement;
    try {
        root = parseXml(text, options.limits ?? {});
    } catch (err) {
        if (err instanceof XmlError) {
            throw new SclError(
                'SCL_MALFORMED',
                `The SCL file is not well-formed XML or exceeds a limit: ${err.message}`,
                { path: '', line: err.line, column: err.column, context: err.context },
                { cause: err },
            );
        }
        throw err;
    }
    // parseXml checked the size; decoding the same bytes again gives the text the positions refer to.
    const source = typeof text === 'string' ? text : new TextDecoder('utf-8').decode(text);
    const im: Importer = new Importer(source, elementOffsets(root, source), root.ns);
    if (root.local !== 'SCL') im.fail(root, `The root element is <${root.local}>, not <SCL>`);
    if (root.ns !== NS_SCL && root.ns !== '') im.fail(root, `The SCL namespace is "${root.ns}", not ${NS_SCL}`);
    im.checkKids(root, 'SCL');

    const dtt = im.kids(root, 'DataTypeTemplates')[0];
    if (!dtt) im.fail(root, 'The SCL file has no DataTypeTemplates');
    im.templates(dtt);

    const ieds = im.kids(root, 'IED');
    const ied = options.iedName === undefined ? ieds[0] : ieds.find((i) => i.attrs.name === options.iedName);
    if (!ied)
        im.fail(root, options.iedName ? `The SCL file has no IED "${options.iedName}"` : 'The SCL file has no IED');
    const iedName = im.name(ied);
    im.iedName = iedName;
    im.checkKids(ied, 'IED');

    const lDevices: XmlElement[] = [];
    for (const ap of im.kids(ied, 'AccessPoint')) {
        im.checkKids(ap, 'AccessPoint');
        for (const srv of im.kids(ap, 'Server')) {
            im.checkKids(srv, 'Server');
            lDevices.push(...im.kids(srv, 'LDevice'));
        }
    }
    const names = new Set<string>();
    for (const ld of lDevices) {
        const inst = im.attr(ld, 'inst');
        const name = ld.attrs.ldName ?? `${iedName}${inst}`;
        if (im.ldNames.has(inst)) im.fail(ld, `LDevice inst "${clip(inst)}" is defined twice`);
        if (names.has(name)) im.fail(ld, `Logical device "${clip(name)}" is defined twice`);
        try {
            checkLdName(name);
        } catch (err) {
            if (!(err instanceof Iec61850Error)) throw err;
            im.fail(ld, `Logical device name "${clip(name)}" is not usable: ${err.message}`);
        }
        im.ldNames.set(inst, name);
        names.add(name);
    }

    const server: Server = { logicalDevices: [] };
    for (const ld of lDevices) {
        const inst = ld.attrs.inst as string;
        const name = im.ldNames.get(inst) as string;
        im.checkKids(ld, 'LDevice');
        const lns = im.kids(ld).filter((c) => c.local === 'LN0' || c.local === 'LN');
        if (!lns.some((c) => c.local === 'LN0')) im.fail(ld, `LDevice ${inst} has no LN0`);
        const device: LogicalDevice = { name, logicalNodes: [] };
        for (const ln of lns) {
            const node = im.logicalNode(ln, name, inst);
            if (device.logicalNodes.some((n) => n.name === node.name)) {
                im.fail(ln, `Logical node "${node.name}" is defined twice in ${name}`);
            }
            device.logicalNodes.push(node);
        }
        server.logicalDevices.push(device);
    }
    im.resolveMembers(server);
    im.checkLogs(server);
    return { iedName, server, enumTypes: im.enumTypes, warnings: im.warnings };
}
