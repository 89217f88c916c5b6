import {
    type AttributeChange,
    type Attributes,
    effectiveAttributes,
    mergeAttributes,
    parseAttributeQuery,
    sameValue,
    validateAttributes,
} from './attributes';
import type { ResourceEntry, TypeLookup } from './content';
import type { ObjectDefinition, ResourceDefinition } from './ddf';
import { Lwm2mError } from './errors';
import type { CoreLink } from './link-format';
import { formatPath, type Lwm2mPath, parsePath } from './path';
import type { ObjectLink, ResourceType, ResourceValue } from './tlv';

/**
 * The device-side object tree with the Device Management and Bootstrap semantics of
 * OMA-TS-LightweightM2M_Core 1.1 (§6.1 Bootstrap interface, §6.3 Device Management & Service Enablement, §5.1.2
 * attributes; design note B.1.1, B.1.3). It works on ResourceEntry lists: no content formats, no
 * CoAP. Every DM operation answers a DmResult carrying the CoAP response code to use on refusal.
 *
 * Canonical stored values (the forms tlv.ts decodeValue returns): string/corelnk → string;
 * integer/unsigned → number when within ±2^53, bigint beyond; float → finite number; boolean;
 * opaque → Uint8Array (copied); time → Date of whole seconds (integer seconds are accepted and
 * converted); objlnk → {objectId, instanceId} or null for the null link 65535:65535.
 */

/** Who asks: a DM server, the bootstrap server, or the application on the device itself. */
export type Caller = 'server' | 'bootstrap' | 'local';

/** An operation's answer: the value, or a refusal with its CoAP response code ('4.04') and a reason. */
export type DmResult<T> = { ok: true; value: T } | { ok: false; code: DmErrorCode; message: string };

/** CoAP response codes a DM operation refuses with (Core 1.1 §6.3, the operation tables). */
export type DmErrorCode = '4.00' | '4.04' | '4.05' | '4.13';

/** What addInstance and set take for a resource: a value, or for a multiple resource its instances. */
export type ResourceInput = ResourceValue | readonly ResourceValue[] | Readonly<Record<number, ResourceValue>>;

/** A resource's stored content: a single value or the instances of a multiple resource. */
export type StoredResource = ResourceValue | ReadonlyMap<number, ResourceValue>;

/** Called for every value set, changed or removed (undefined); the path names the resource or resource instance. */
export type ChangeListener = (path: Lwm2mPath, value: ResourceValue | undefined) => void;

export interface ObjectTreeOptions {
    /** Entries in one write or create. Default 10,000 (the TLV decoder's element limit). */
    maxEntries?: number;
    /** UTF-8 bytes of a string or corelnk value, bytes of an opaque value. Default 64 KiB. */
    maxValueBytes?: number;
    /** Instances of one object. Default 1,024. */
    maxInstances?: number;
}

/**
 * Objects DM servers never see: 0 Security, and 21 OSCORE / 23 COSE, which hold keys like it
 * (Core 1.1 Appendix E.1 and the object's DDF: Security resources have no operations, only the
 * bootstrap server reaches them; §6.2.1: the object is not listed in Register). A server's
 * request for them is answered as for an absent object, 4.04 (Leshan's client does the same).
 */
export const SERVER_HIDDEN_OBJECTS: ReadonlySet<number> = new Set([0, 21, 23]);

const SECURITY = 0;
const SERVER = 1;
const ACCESS_CONTROL = 2;
const DEVICE = 3;

type Stored = ResourceValue | Map<number, ResourceValue>;
type Instance = Map<number, Stored>;

const utf8 = new TextEncoder();

function fail<T>(code: DmErrorCode, message: string): DmResult<T> {
    return { ok: false, code, message };
}

function ok<T>(value: T): DmResult<T> {
    return { ok: true, value };
}

function isMap(v: Stored | undefined): v is Map<number, ResourceValue> {
    return v instanceof Map;
}

function canRead(d: ResourceDefinition): boolean {
    return d.operations === 'R' || d.operations === 'RW';
}

function canWrite(d: ResourceDefinition): boolean {
    return d.operations === 'W' || d.operations === 'RW';
}

function isExecutable(d: ResourceDefinition): boolean {
    return d.operations === 'E';
}

function depth(p: Lwm2mPath): number {
    if (p.objectId === undefined) return 0;
    if (p.instanceId === undefined) return 1;
    if (p.resourceId === undefined) return 2;
    if (p.resourceInstanceId === undefined) return 3;
    return 4;
}

function within(target: Lwm2mPath, p: Lwm2mPath): boolean {
    return (
        (target.objectId === undefined || target.objectId === p.objectId) &&
        (target.instanceId === undefined || target.instanceId === p.instanceId) &&
        (target.resourceId === undefined || target.resourceId === p.resourceId) &&
        (target.resourceInstanceId === undefined || target.resourceInstanceId === p.resourceInstanceId)
    );
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function normalInteger(b: bigint): number | bigint {
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

function isObjectLink(v: unknown): v is ObjectLink {
    if (typeof v !== 'object' || v === null || v instanceof Uint8Array || v instanceof Date) return false;
    const l = v as Partial<ObjectLink>;
    const id = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffff;
    return id(l.objectId) && id(l.instanceId) && Object.keys(v).length === 2;
}

/**
 * Checks a value against a resource type and returns its canonical form, or a reason string for a
 * refusal. Exported for the engine and the codecs' callers.
 */
export function coerceValue(
    type: ResourceType,
    v: unknown,
    maxValueBytes = 64 * 1024,
): { value: ResourceValue } | { error: string } {
    const got = v === null ? 'null' : v instanceof Uint8Array ? 'bytes' : v instanceof Date ? 'a Date' : typeof v;
    switch (type) {
        case 'string':
        case 'corelnk':
            if (typeof v !== 'string') return { error: `${type} needs text, got ${got}` };
            if (v.length > maxValueBytes || utf8.encode(v).length > maxValueBytes)
                return { error: `${type} of more than ${maxValueBytes} bytes` };
            return { value: v };
        case 'integer':
        case 'unsigned': {
            let b: bigint;
            if (typeof v === 'bigint') b = v;
            else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
            else if (typeof v === 'number')
                return { error: `${type} needs a whole number within ±2^53 (or a bigint), got ${v}` };
            else return { error: `${type} needs an integer, got ${got}` };
            if (type === 'integer' && (b < INT64_MIN || b > INT64_MAX))
                return { error: `${b} does not fit a 64-bit integer` };
            if (type === 'unsigned' && (b < 0n || b > UINT64_MAX))
                return { error: `${b} is not an unsigned 64-bit integer` };
            return { value: normalInteger(b) };
        }
        case 'float':
            if (typeof v !== 'number') return { error: `float needs a number, got ${got}` };
            if (!Number.isFinite(v)) return { error: `float needs a finite number, got ${v}` };
            return { value: v };
        case 'boolean':
            if (typeof v !== 'boolean') return { error: `boolean needs true or false, got ${got}` };
            return { value: v };
        case 'opaque':
            if (!(v instanceof Uint8Array)) return { error: `opaque needs bytes (Uint8Array), got ${got}` };
            if (v.length > maxValueBytes) return { error: `opaque of ${v.length} bytes exceeds ${maxValueBytes}` };
            return { value: v.slice() };
        case 'time': {
            let ms: number;
            if (v instanceof Date) ms = v.getTime();
            else if (typeof v === 'number' && Number.isSafeInteger(v)) ms = v * 1000;
            else if (typeof v === 'bigint' && v >= -(2n ** 43n) && v <= 2n ** 43n) ms = Number(v) * 1000;
            else return { error: `time needs a Date or whole seconds since 1970, got ${got}` };
            if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return { error: 'time is not a valid date' };
            return { value: new Date(Math.floor(ms / 1000) * 1000) };
        }
        case 'objlnk':
            if (v === null) return { value: null };
            if (!isObjectLink(v)) return { error: `objlnk needs {objectId, instanceId} of 0..65535, got ${got}` };
            if (v.objectId === 0xffff && v.instanceId === 0xffff) return { value: null };
            return { value: { objectId: v.objectId, instanceId: v.instanceId } };
        case 'none':
            return { error: 'an executable resource holds no value' };
    }
}

function copyValue(v: ResourceValue): ResourceValue {
    if (v instanceof Uint8Array) return v.slice();
    if (v instanceof Date) return new Date(v.getTime());
    if (v !== null && typeof v === 'object') return { objectId: v.objectId, instanceId: v.instanceId };
    return v;
}

/** A validated write, applied only when every entry passed. */
interface PlannedValue {
    def: ResourceDefinition;
    instanceId: number;
    resourceInstanceId?: number;
    value: ResourceValue;
}

/**
 * The object tree of one LwM2M client. Methods named after DM operations (read, write, execute,
 * create, delete, discover, writeAttributes) check the caller's rights and answer DmResult; the
 * local methods (addInstance, set, get, removeInstance) are for the application and throw
 * Lwm2mError on bad input.
 */
export class ObjectTree {
    private readonly defs: ReadonlyMap<number, ObjectDefinition>;
    private readonly resourceDefs = new Map<number, Map<number, ResourceDefinition>>();
    private readonly objects = new Map<number, Map<number, Instance>>();
    /** Attached attributes by server (short server ID, 0 = any) and path. */
    private readonly attrs = new Map<string, Attributes>();
    private readonly changeListeners = new Set<ChangeListener>();
    private readonly structureListeners = new Set<() => void>();
    private readonly maxEntries: number;
    private readonly maxValueBytes: number;
    private readonly maxInstances: number;

    constructor(definitions: ReadonlyMap<number, ObjectDefinition>, options: ObjectTreeOptions = {}) {
        this.defs = definitions;
        for (const [id, d] of definitions) {
            this.resourceDefs.set(id, new Map(d.resources.map((r) => [r.id, r])));
            this.objects.set(id, new Map());
        }
        this.maxEntries = options.maxEntries ?? 10_000;
        this.maxValueBytes = options.maxValueBytes ?? 64 * 1024;
        this.maxInstances = options.maxInstances ?? 1024;
    }

    // ---- lookups -------------------------------------------------------------------------------

    /** The resource type at a path, from the definitions (for the codecs); undefined when not defined. */
    readonly typeOf: TypeLookup = (path) => {
        if (path.objectId === undefined || path.resourceId === undefined) return undefined;
        return this.resourceDefs.get(path.objectId)?.get(path.resourceId)?.type;
    };

    /** The definition of an object, when the tree knows it. */
    definition(objectId: number): ObjectDefinition | undefined {
        return this.defs.get(objectId);
    }

    /** The resource definition, when the object defines it. */
    resourceDefinition(objectId: number, resourceId: number): ResourceDefinition | undefined {
        return this.resourceDefs.get(objectId)?.get(resourceId);
    }

    /** Instance IDs of an object, ascending; empty for an unknown object. */
    instances(objectId: number): number[] {
        return [...(this.objects.get(objectId)?.keys() ?? [])].sort((a, b) => a - b);
    }

    /** Listens to value changes (local set, writes, creates, deletes); returns the unsubscribe function. */
    onChange(listener: ChangeListener): () => void {
        this.changeListeners.add(listener);
        return () => this.changeListeners.delete(listener);
    }

    /** Listens to instances added or removed (the registration's object list changed: send an Update with it). */
    onStructureChange(listener: () => void): () => void {
        this.structureListeners.add(listener);
        return () => this.structureListeners.delete(listener);
    }

    private emit(path: Lwm2mPath, value: ResourceValue | undefined): void {
        for (const l of [...this.changeListeners]) l(path, value);
    }

    private emitStructure(): void {
        for (const l of [...this.structureListeners]) l();
    }

    private static asPath(path: Lwm2mPath | string): Lwm2mPath {
        return typeof path === 'string' ? parsePath(path) : path;
    }

    // ---- local access ----------------------------------------------------------------------------

    /**
     * Adds an instance with its values (local; no operation checks). A multiple resource takes an
     * array (instances 0..n-1) or a {riid: value} record. Throws Lwm2mError for an unknown object or
     * resource, an existing instance, a single-instance object that has one, or a bad value.
     */
    addInstance(objectId: number, instanceId: number, values: Readonly<Record<number, ResourceInput>> = {}): void {
        const def = this.defs.get(objectId);
        const instances = this.objects.get(objectId);
        if (!def || !instances) throw new Lwm2mError('bad-value', `object ${objectId} is not defined`);
        formatPath({ objectId, instanceId });
        if (instances.has(instanceId)) throw new Lwm2mError('bad-value', `/${objectId}/${instanceId} exists`);
        if (!def.multiple && instances.size > 0)
            throw new Lwm2mError('bad-value', `object ${objectId} is single-instance and has an instance`);
        if (instances.size >= this.maxInstances)
            throw new Lwm2mError('limit', `object ${objectId} has ${this.maxInstances} instances`);
        const instance: Instance = new Map();
        for (const [key, input] of Object.entries(values)) {
            const rid = Number(key);
            const rdef = this.resourceDefs.get(objectId)?.get(rid);
            if (!rdef) throw new Lwm2mError('bad-value', `resource ${rid} is not defined in object ${objectId}`);
            if (isExecutable(rdef))
                throw new Lwm2mError(
                    'bad-value',
                    `resource ${rid} of object ${objectId} is executable and holds no value`,
                );
            instance.set(rid, this.coerceInput(rdef, input, `/${objectId}/${instanceId}/${rid}`));
        }
        instances.set(instanceId, instance);
        for (const [rid, stored] of [...instance].sort((a, b) => a[0] - b[0]))
            this.emitStored(objectId, instanceId, rid, stored);
        this.emitStructure();
    }

    /** Removes an instance (local). True when it existed. */
    removeInstance(objectId: number, instanceId: number): boolean {
        const existed = this.dropInstance(objectId, instanceId);
        if (existed) this.emitStructure();
        return existed;
    }

    /**
     * Sets a resource or resource-instance value (local; no operation checks). For a multiple
     * resource at resource level, the input (array or record) replaces all its instances. True when
     * the stored value changed; listeners hear each changed value. Throws Lwm2mError for a path that
     * does not name an existing instance's defined resource, or a value of the wrong type.
     */
    set(path: Lwm2mPath | string, value: ResourceInput): boolean {
        const p = ObjectTree.asPath(path);
        const at = formatPath(p);
        if (p.resourceId === undefined) throw new Lwm2mError('bad-value', `${at}: set needs a resource path`);
        const rdef = this.resourceDefs.get(p.objectId as number)?.get(p.resourceId);
        const instance = this.objects.get(p.objectId as number)?.get(p.instanceId as number);
        if (!rdef || !instance) throw new Lwm2mError('bad-value', `${at} does not exist`);
        if (isExecutable(rdef)) throw new Lwm2mError('bad-value', `${at} is executable and holds no value`);
        const oid = p.objectId as number;
        const iid = p.instanceId as number;
        if (p.resourceInstanceId !== undefined) {
            if (!rdef.multiple) throw new Lwm2mError('bad-value', `${at}: resource ${p.resourceId} is single`);
            const c = coerceValue(rdef.type, value, this.maxValueBytes);
            if ('error' in c) throw new Lwm2mError('wrong-type', `${at}: ${c.error}`);
            let map = instance.get(p.resourceId);
            if (!isMap(map)) {
                map = new Map();
                instance.set(p.resourceId, map);
            }
            const old = map.get(p.resourceInstanceId);
            if (map.has(p.resourceInstanceId) && sameValue(old as ResourceValue, c.value)) return false;
            map.set(p.resourceInstanceId, c.value);
            this.emit({ ...p }, c.value);
            return true;
        }
        const stored = this.coerceInput(rdef, value, at);
        return this.store(oid, iid, rdef, stored);
    }

    /**
     * The stored content at a resource or resource-instance path: a value, a copy of a multiple
     * resource's instances as a Map, or undefined when absent.
     */
    get(path: Lwm2mPath | string): StoredResource | undefined {
        const p = ObjectTree.asPath(path);
        if (p.resourceId === undefined) return undefined;
        const stored = this.objects
            .get(p.objectId as number)
            ?.get(p.instanceId as number)
            ?.get(p.resourceId);
        if (stored === undefined) return undefined;
        if (p.resourceInstanceId !== undefined) return isMap(stored) ? stored.get(p.resourceInstanceId) : undefined;
        return isMap(stored) ? new Map(stored) : stored;
    }

    private coerceInput(rdef: ResourceDefinition, input: ResourceInput, at: string): Stored {
        if (!rdef.multiple) {
            const c = coerceValue(rdef.type, input, this.maxValueBytes);
            if ('error' in c) throw new Lwm2mError('wrong-type', `${at}: ${c.error}`);
            return c.value;
        }
        let pairs: [number, unknown][];
        if (Array.isArray(input)) pairs = input.map((v, i) => [i, v]);
        else if (
            input !== null &&
            typeof input === 'object' &&
            !(input instanceof Uint8Array) &&
            !(input instanceof Date)
        )
            pairs = Object.entries(input).map(([k, v]) => [Number(k), v]);
        else throw new Lwm2mError('wrong-type', `${at} is a multiple resource: give an array or {riid: value}`);
        if (pairs.length > this.maxEntries)
            throw new Lwm2mError('limit', `${at}: ${pairs.length} instances exceed ${this.maxEntries}`);
        const map = new Map<number, ResourceValue>();
        for (const [riid, v] of pairs) {
            if (!Number.isInteger(riid) || riid < 0 || riid >= 0xffff)
                throw new Lwm2mError('wrong-type', `${at}: resource instance ID ${riid} is not 0..65534`);
            const c = coerceValue(rdef.type, v, this.maxValueBytes);
            if ('error' in c) throw new Lwm2mError('wrong-type', `${at}/${riid}: ${c.error}`);
            map.set(riid, c.value);
        }
        return map;
    }

    /** Stores a resource's content; emits what changed. True when anything changed. */
    private store(oid: number, iid: number, rdef: ResourceDefinition, stored: Stored): boolean {
        const instance = this.objects.get(oid)?.get(iid);
        if (!instance) return false;
        const old = instance.get(rdef.id);
        if (!isMap(stored)) {
            if (old !== undefined && !isMap(old) && sameValue(old, stored)) return false;
            instance.set(rdef.id, stored);
            this.emit({ objectId: oid, instanceId: iid, resourceId: rdef.id }, stored);
            return true;
        }
        const before = isMap(old) ? old : new Map<number, ResourceValue>();
        instance.set(rdef.id, stored);
        let changed = !isMap(old);
        for (const riid of before.keys()) {
            if (!stored.has(riid)) {
                changed = true;
                this.emit({ objectId: oid, instanceId: iid, resourceId: rdef.id, resourceInstanceId: riid }, undefined);
            }
        }
        for (const [riid, v] of [...stored].sort((a, b) => a[0] - b[0])) {
            if (before.has(riid) && sameValue(before.get(riid) as ResourceValue, v)) continue;
            changed = true;
            this.emit({ objectId: oid, instanceId: iid, resourceId: rdef.id, resourceInstanceId: riid }, v);
        }
        return changed;
    }

    private emitStored(oid: number, iid: number, rid: number, stored: Stored): void {
        if (!isMap(stored)) {
            this.emit({ objectId: oid, instanceId: iid, resourceId: rid }, stored);
            return;
        }
        for (const [riid, v] of [...stored].sort((a, b) => a[0] - b[0]))
            this.emit({ objectId: oid, instanceId: iid, resourceId: rid, resourceInstanceId: riid }, v);
    }

    private removeResource(oid: number, iid: number, rid: number): void {
        const instance = this.objects.get(oid)?.get(iid);
        const old = instance?.get(rid);
        if (!instance || old === undefined) return;
        instance.delete(rid);
        if (isMap(old)) {
            for (const riid of [...old.keys()].sort((a, b) => a - b))
                this.emit({ objectId: oid, instanceId: iid, resourceId: rid, resourceInstanceId: riid }, undefined);
        } else this.emit({ objectId: oid, instanceId: iid, resourceId: rid }, undefined);
    }

    private dropInstance(oid: number, iid: number): boolean {
        const instances = this.objects.get(oid);
        const instance = instances?.get(iid);
        if (!instances || !instance) return false;
        for (const rid of [...instance.keys()].sort((a, b) => a - b)) this.removeResource(oid, iid, rid);
        instances.delete(iid);
        const prefix = `/${oid}/${iid}`;
        for (const key of [...this.attrs.keys()]) {
            const p = key.slice(key.indexOf('|') + 1);
            if (p === prefix || p.startsWith(`${prefix}/`)) this.attrs.delete(key);
        }
        return true;
    }

    // ---- Read ------------------------------------------------------------------------------------

    /**
     * Read (Core 1.1 §6.3, Read) and Bootstrap-Read (§6.1, new in 1.1). A server needs R on a targeted
     * resource (4.05 otherwise; Execute resources too) and gets only readable resources when it
     * reads an instance or object; hidden objects (Security, OSCORE) answer 4.04; an unknown object,
     * instance, resource or resource instance 4.04. The bootstrap server may read only objects 1
     * and 2 (Bootstrap-Read), else 4.05 (target not allowed for the operation). Entries come
     * ordered by instance, resource, resource instance.
     */
    read(path: Lwm2mPath | string, caller: Caller): DmResult<ResourceEntry[]> {
        const p = this.pathOf(path);
        if (!p.ok) return p;
        const target = p.value;
        if (target.objectId === undefined) return fail('4.05', 'Read targets an object, instance or resource');
        const oid = target.objectId;
        if (caller === 'bootstrap' && oid !== SERVER && oid !== ACCESS_CONTROL)
            return fail('4.05', `Bootstrap-Read is only for objects 1 and 2, not ${oid}`);
        const found = this.locate(target, caller);
        if (!found.ok) return found;
        const rdef = found.value;
        if (rdef) {
            if (isExecutable(rdef)) return fail('4.05', `${formatPath(target)} is executable, not readable`);
            if (caller === 'server' && !canRead(rdef))
                return fail('4.05', `${formatPath(target)} is not readable (operations '${rdef.operations}')`);
        }
        const out: ResourceEntry[] = [];
        const instances = this.objects.get(oid) as Map<number, Instance>;
        const iids = target.instanceId === undefined ? this.instances(oid) : [target.instanceId];
        for (const iid of iids) {
            const instance = instances.get(iid) as Instance;
            const rids =
                target.resourceId === undefined ? [...instance.keys()].sort((a, b) => a - b) : [target.resourceId];
            for (const rid of rids) {
                const d = this.resourceDefs.get(oid)?.get(rid) as ResourceDefinition;
                if (target.resourceId === undefined && caller === 'server' && !canRead(d)) continue;
                const stored = instance.get(rid);
                if (stored === undefined) continue;
                if (!isMap(stored)) {
                    out.push({ path: { objectId: oid, instanceId: iid, resourceId: rid }, value: copyValue(stored) });
                    continue;
                }
                for (const [riid, v] of [...stored].sort((a, b) => a[0] - b[0])) {
                    if (target.resourceInstanceId !== undefined && riid !== target.resourceInstanceId) continue;
                    out.push({
                        path: { objectId: oid, instanceId: iid, resourceId: rid, resourceInstanceId: riid },
                        value: copyValue(v),
                    });
                }
            }
        }
        return ok(out);
    }

    private pathOf(path: Lwm2mPath | string): DmResult<Lwm2mPath> {
        try {
            const p = ObjectTree.asPath(path);
            formatPath(p);
            // A level may not be set below an unset one.
            const keys = ['objectId', 'instanceId', 'resourceId', 'resourceInstanceId'] as const;
            const d = depth(p);
            for (let i = d; i < 4; i++) {
                if (p[keys[i] as (typeof keys)[number]] !== undefined) return fail('4.00', 'path has a gap');
            }
            return ok(p);
        } catch (e) {
            return fail('4.00', e instanceof Error ? e.message : String(e));
        }
    }

    /**
     * Finds what the path names and answers 4.04 when something is missing (or hidden from a
     * server). With a resource in the path, returns its definition.
     */
    private locate(p: Lwm2mPath, caller: Caller): DmResult<ResourceDefinition | undefined> {
        const oid = p.objectId as number;
        const at = formatPath(p);
        if (caller === 'server' && SERVER_HIDDEN_OBJECTS.has(oid)) return fail('4.04', `${at} not found`);
        const instances = this.objects.get(oid);
        if (!instances) return fail('4.04', `object ${oid} is not supported`);
        if (p.instanceId === undefined) return ok(undefined);
        const instance = instances.get(p.instanceId);
        if (!instance) return fail('4.04', `${at}: instance ${p.instanceId} does not exist`);
        if (p.resourceId === undefined) return ok(undefined);
        const rdef = this.resourceDefs.get(oid)?.get(p.resourceId);
        if (!rdef) return fail('4.04', `${at}: resource ${p.resourceId} is not defined`);
        if (isExecutable(rdef)) {
            if (p.resourceInstanceId !== undefined) return fail('4.04', `${at} not found`);
            return ok(rdef);
        }
        const stored = instance.get(p.resourceId);
        if (stored === undefined) return fail('4.04', `${at}: resource ${p.resourceId} is not present`);
        if (p.resourceInstanceId !== undefined) {
            if (!isMap(stored)) return fail('4.04', `${at}: resource ${p.resourceId} has no instances`);
            if (!stored.has(p.resourceInstanceId))
                return fail('4.04', `${at}: no resource instance ${p.resourceInstanceId}`);
        }
        return ok(rdef);
    }

    // ---- Write -----------------------------------------------------------------------------------

    /**
     * Write (Core 1.1 §6.3, Write; 'replace' = PUT, 'update' = POST partial update) and Bootstrap-Write
     * (§6.1). Atomic: every entry is checked before anything changes. Returns the resource
     * paths whose content changed.
     *
     * - server: the target is an instance, resource or resource instance (an object: 4.05); hidden
     *   or absent object/instance/resource → 4.04; a resource without W → 4.05.
     * - bootstrap and local: any object (also 0 and 1), the target may be an object, instances are
     *   created as needed (Bootstrap-Write writes "regardless of the existence" of the target).
     * - every entry must lie inside the target path and name a defined resource (4.00), carry a
     *   resource instance ID exactly when the resource is multiple (4.00), have a value of the
     *   resource's type (4.00), and appear once (4.00). More entries than the limit → 4.13.
     * - replace on an instance removes the optional writable resources the payload leaves out;
     *   replace on a multiple resource replaces all of its instances; update adds or overwrites.
     */
    write(
        path: Lwm2mPath | string,
        entries: readonly ResourceEntry[],
        mode: 'replace' | 'update',
        caller: Caller,
    ): DmResult<Lwm2mPath[]> {
        const p = this.pathOf(path);
        if (!p.ok) return p;
        const target = p.value;
        if (!Array.isArray(entries)) return fail('4.00', 'write needs a list of entries');
        if (entries.length > this.maxEntries)
            return fail('4.13', `${entries.length} values in one write exceed the limit of ${this.maxEntries}`);
        if (mode !== 'replace' && mode !== 'update') return fail('4.00', `write mode '${String(mode)}'`);
        const privileged = caller !== 'server';
        if (target.objectId === undefined) return fail('4.05', 'Write targets an object instance or resource');
        const oid = target.objectId;
        if (!privileged && target.instanceId === undefined) return fail('4.05', 'Write on an object is not allowed');
        if (caller === 'server' && SERVER_HIDDEN_OBJECTS.has(oid))
            return fail('4.04', `${formatPath(target)} not found`);
        const instances = this.objects.get(oid);
        const rdefs = this.resourceDefs.get(oid);
        const odef = this.defs.get(oid);
        if (!instances || !rdefs || !odef) return fail('4.04', `object ${oid} is not supported`);
        if (target.instanceId !== undefined && !instances.has(target.instanceId) && !privileged)
            return fail('4.04', `${formatPath(target)}: instance ${target.instanceId} does not exist`);
        if (target.resourceId !== undefined) {
            const rdef = rdefs.get(target.resourceId);
            if (!rdef) return fail('4.04', `${formatPath(target)}: resource ${target.resourceId} is not defined`);
            if (target.resourceInstanceId !== undefined && !rdef.multiple)
                return fail('4.04', `${formatPath(target)}: resource ${target.resourceId} is single`);
            if (isExecutable(rdef)) return fail('4.05', `${formatPath(target)} is executable`);
            if (!privileged && !canWrite(rdef))
                return fail('4.05', `${formatPath(target)} is not writable (operations '${rdef.operations}')`);
        }

        // Check every entry.
        const planned: PlannedValue[] = [];
        const seen = new Set<string>();
        const newInstances = new Set<number>();
        for (const e of entries) {
            const ep = e?.path;
            if (!ep || typeof ep !== 'object') return fail('4.00', 'an entry has no path');
            let at: string;
            try {
                at = formatPath(ep);
            } catch (err) {
                return fail('4.00', err instanceof Error ? err.message : 'bad entry path');
            }
            if (ep.resourceId === undefined || ep.instanceId === undefined)
                return fail('4.00', `${at}: an entry names a resource`);
            if (!within(target, ep)) return fail('4.00', `${at} is outside the target ${formatPath(target)}`);
            if (seen.has(at)) return fail('4.00', `${at} is given twice`);
            seen.add(at);
            const rdef = rdefs.get(ep.resourceId);
            if (!rdef) return fail('4.00', `${at}: resource ${ep.resourceId} is not defined in object ${oid}`);
            if (isExecutable(rdef)) return fail('4.05', `${at} is executable and takes no value`);
            if (!privileged && !canWrite(rdef))
                return fail('4.05', `${at} is not writable (operations '${rdef.operations}')`);
            if (rdef.multiple && ep.resourceInstanceId === undefined)
                return fail('4.00', `${at} is a multiple resource: each value needs a resource instance ID`);
            if (!rdef.multiple && ep.resourceInstanceId !== undefined)
                return fail('4.00', `${at}: resource ${ep.resourceId} is single and has no instances`);
            const c = coerceValue(rdef.type, e.value, this.maxValueBytes);
            if ('error' in c) return fail('4.00', `${at}: ${c.error}`);
            if (!instances.has(ep.instanceId)) {
                if (!privileged) return fail('4.04', `${at}: instance ${ep.instanceId} does not exist`);
                newInstances.add(ep.instanceId);
            }
            const pv: PlannedValue = { def: rdef, instanceId: ep.instanceId, value: c.value };
            if (ep.resourceInstanceId !== undefined) pv.resourceInstanceId = ep.resourceInstanceId;
            planned.push(pv);
        }
        if (target.instanceId !== undefined && !instances.has(target.instanceId)) newInstances.add(target.instanceId);
        if (newInstances.size > 0) {
            if (!odef.multiple && instances.size + newInstances.size > 1)
                return fail('4.00', `object ${oid} is single-instance`);
            if (instances.size + newInstances.size > this.maxInstances)
                return fail('4.00', `object ${oid} would have more than ${this.maxInstances} instances`);
        }
        if (target.resourceId !== undefined && target.instanceId !== undefined && planned.length === 0) {
            const d = rdefs.get(target.resourceId) as ResourceDefinition;
            if (!d.multiple || target.resourceInstanceId !== undefined || mode !== 'replace')
                return fail('4.00', `no value for ${formatPath(target)}`);
        }

        // Apply.
        for (const iid of [...newInstances].sort((a, b) => a - b)) instances.set(iid, new Map());
        const byResource = new Map<
            string,
            { oid: number; iid: number; def: ResourceDefinition; values: PlannedValue[] }
        >();
        for (const pv of planned) {
            const key = `${pv.instanceId}/${pv.def.id}`;
            let group = byResource.get(key);
            if (!group) {
                group = { oid, iid: pv.instanceId, def: pv.def, values: [] };
                byResource.set(key, group);
            }
            group.values.push(pv);
        }
        const changed: Lwm2mPath[] = [];
        const note = (iid: number, rid: number) => {
            if (!changed.some((c) => c.instanceId === iid && c.resourceId === rid))
                changed.push({ objectId: oid, instanceId: iid, resourceId: rid });
        };
        for (const g of byResource.values()) {
            const instance = instances.get(g.iid) as Instance;
            let stored: Stored;
            if (g.def.multiple) {
                const old = instance.get(g.def.id);
                // Replace on the resource or instance: the given instances are all there is; a
                // write to one resource instance, or an update, keeps the others.
                const keep = mode === 'update' || target.resourceInstanceId !== undefined;
                const map = keep && isMap(old) ? new Map(old) : new Map<number, ResourceValue>();
                for (const pv of g.values) map.set(pv.resourceInstanceId as number, pv.value);
                stored = map;
            } else stored = (g.values[0] as PlannedValue).value;
            if (this.store(oid, g.iid, g.def, stored)) note(g.iid, g.def.id);
        }
        // Replace on an instance (or the whole object, by bootstrap): drop optional writable resources left out.
        if (mode === 'replace' && target.resourceId === undefined) {
            const iids =
                target.instanceId === undefined
                    ? [...new Set(planned.map((pv) => pv.instanceId))]
                    : [target.instanceId];
            for (const iid of iids) {
                const instance = instances.get(iid) as Instance;
                for (const rid of [...instance.keys()].sort((a, b) => a - b)) {
                    const d = rdefs.get(rid) as ResourceDefinition;
                    if (byResource.has(`${iid}/${rid}`) || d.mandatory) continue;
                    if (!privileged && !canWrite(d)) continue;
                    this.removeResource(oid, iid, rid);
                    note(iid, rid);
                }
            }
        }
        // A multiple resource replaced with an empty list (target is the resource, no entries).
        if (mode === 'replace' && target.resourceId !== undefined && target.resourceInstanceId === undefined) {
            const d = rdefs.get(target.resourceId) as ResourceDefinition;
            if (d.multiple && planned.length === 0 && target.instanceId !== undefined) {
                if (this.store(oid, target.instanceId, d, new Map())) note(target.instanceId, d.id);
            }
        }
        if (newInstances.size > 0) this.emitStructure();
        changed.sort(
            (a, b) =>
                (a.instanceId as number) - (b.instanceId as number) ||
                (a.resourceId as number) - (b.resourceId as number),
        );
        return ok(changed);
    }

    // ---- Execute ---------------------------------------------------------------------------------

    /**
     * Execute (Core 1.1 §6.3, Execute): the target is a resource whose operations are E (4.05 otherwise, also
     * for an object, instance or resource-instance target); absent or hidden → 4.04. Execute is not
     * a bootstrap operation (4.05 for 'bootstrap'). The engine emits the execute event on success.
     */
    execute(path: Lwm2mPath | string, caller: Caller): DmResult<void> {
        const p = this.pathOf(path);
        if (!p.ok) return p;
        const target = p.value;
        if (caller === 'bootstrap') return fail('4.05', 'Execute is not a bootstrap operation');
        if (target.objectId === undefined) return fail('4.05', 'Execute targets a resource');
        const found = this.locate(target, caller);
        if (!found.ok) return found;
        if (target.resourceId === undefined || target.resourceInstanceId !== undefined)
            return fail('4.05', `Execute targets a resource, not ${formatPath(target)}`);
        const rdef = found.value as ResourceDefinition;
        if (!isExecutable(rdef))
            return fail('4.05', `${formatPath(target)} is not executable (operations '${rdef.operations}')`);
        return ok(undefined);
    }

    // ---- Create ----------------------------------------------------------------------------------

    /**
     * Create (Core 1.1 §6.3, Create): a new instance of `objectId` with the ID of `instanceId` or
     * of the entries (1.1: the server chooses it; both given and different: 4.00), else the lowest
     * free ID. 4.04 for an
     * unknown or hidden object; 4.05 for a single-instance object that has its instance and for the
     * bootstrap server (it writes instead); 4.00 for an existing ID, entries naming other objects or
     * several instances, undefined resources, bad values, a missing mandatory writable resource.
     * A server may not give values for resources without W (4.05).
     */
    create(objectId: number, entries: readonly ResourceEntry[], caller: Caller, instanceId?: number): DmResult<number> {
        if (caller === 'bootstrap') return fail('4.05', 'the bootstrap server creates instances by Bootstrap-Write');
        if (!Number.isInteger(objectId) || objectId < 0 || objectId >= 0xffff)
            return fail('4.00', `object ID ${objectId} is not 0..65534`);
        if (caller === 'server' && SERVER_HIDDEN_OBJECTS.has(objectId)) return fail('4.04', `/${objectId} not found`);
        const odef = this.defs.get(objectId);
        const instances = this.objects.get(objectId);
        const rdefs = this.resourceDefs.get(objectId);
        if (!odef || !instances || !rdefs) return fail('4.04', `object ${objectId} is not supported`);
        if (!odef.multiple && instances.size > 0)
            return fail('4.05', `object ${objectId} is single-instance and has its instance`);
        if (!Array.isArray(entries)) return fail('4.00', 'create needs a list of entries');
        if (entries.length > this.maxEntries)
            return fail('4.13', `${entries.length} values in one create exceed the limit of ${this.maxEntries}`);
        let iid = instanceId;
        for (const e of entries) {
            const ep = e?.path;
            if (!ep || ep.objectId !== objectId) return fail('4.00', 'a Create entry names another object');
            if (ep.instanceId !== undefined) {
                if (iid === undefined) iid = ep.instanceId;
                else if (iid !== ep.instanceId) return fail('4.00', 'Create entries name more than one instance');
            }
        }
        if (iid === undefined) {
            iid = 0;
            while (instances.has(iid)) iid++;
        }
        if (!Number.isInteger(iid) || iid < 0 || iid >= 0xffff)
            return fail('4.00', `instance ID ${iid} is not 0..65534`);
        if (instances.has(iid)) return fail('4.00', `/${objectId}/${iid} already exists`);
        if (instances.size >= this.maxInstances)
            return fail('4.00', `object ${objectId} has the most instances this client keeps (${this.maxInstances})`);
        const withInstance = entries.map((e) => ({ ...e, path: { ...e.path, instanceId: iid } }));
        for (const d of rdefs.values()) {
            if (!d.mandatory || !canWrite(d)) continue;
            if (!withInstance.some((e) => e.path.resourceId === d.id))
                return fail('4.00', `mandatory resource ${d.id} (${d.name}) is missing`);
        }
        // Check as a privileged replace on a fresh instance, then roll back when refused.
        const check = this.checkCreateEntries(objectId, withInstance, caller);
        if (!check.ok) return check;
        instances.set(iid, new Map());
        const result = this.write({ objectId, instanceId: iid }, withInstance, 'replace', 'local');
        if (!result.ok) {
            instances.delete(iid);
            return result;
        }
        this.emitStructure();
        return ok(iid);
    }

    private checkCreateEntries(oid: number, entries: readonly ResourceEntry[], caller: Caller): DmResult<void> {
        if (caller !== 'server') return ok(undefined);
        for (const e of entries) {
            const d = this.resourceDefs.get(oid)?.get(e.path.resourceId as number);
            if (d && !canWrite(d) && !isExecutable(d))
                return fail('4.05', `${formatPath(e.path)} is not writable (operations '${d.operations}')`);
        }
        return ok(undefined);
    }

    // ---- Delete ----------------------------------------------------------------------------------

    /**
     * Delete (Core 1.1 §6.3, Delete) and Bootstrap-Delete (§6.1).
     * - server/local: the target is an instance (anything else 4.05); hidden or absent → 4.04; the
     *   instance of a mandatory single-instance object (Device) cannot be deleted (4.05).
     * - bootstrap: `/` deletes every instance except the bootstrap-server account (/0/i with
     *   /0/i/1 true) and the Device instance; `/o` every instance of o (same exceptions); `/o/i` that
     *   instance (the bootstrap account or the Device instance: 4.00); deeper targets 4.00.
     */
    delete(path: Lwm2mPath | string, caller: Caller): DmResult<void> {
        const p = this.pathOf(path);
        if (!p.ok) return p;
        const target = p.value;
        if (caller === 'bootstrap') return this.bootstrapDelete(target);
        if (target.objectId === undefined || target.instanceId === undefined || target.resourceId !== undefined)
            return fail('4.05', 'Delete targets an object instance');
        const found = this.locate(target, caller);
        if (!found.ok) return found;
        const odef = this.defs.get(target.objectId) as ObjectDefinition;
        if (!odef.multiple && odef.mandatory)
            return fail('4.05', `the instance of mandatory object ${odef.id} (${odef.name}) cannot be deleted`);
        this.dropInstance(target.objectId, target.instanceId);
        this.emitStructure();
        return ok(undefined);
    }

    private isBootstrapAccount(oid: number, iid: number): boolean {
        return oid === SECURITY && this.objects.get(SECURITY)?.get(iid)?.get(1) === true;
    }

    private bootstrapDelete(target: Lwm2mPath): DmResult<void> {
        if (target.resourceId !== undefined)
            return fail('4.00', 'Bootstrap-Delete targets /, an object or an instance');
        const spared = (oid: number, iid: number) => this.isBootstrapAccount(oid, iid) || oid === DEVICE;
        if (target.instanceId !== undefined) {
            const oid = target.objectId as number;
            if (!this.objects.get(oid)?.has(target.instanceId))
                return fail('4.04', `${formatPath(target)} does not exist`);
            if (spared(oid, target.instanceId))
                return fail('4.00', `${formatPath(target)} is the bootstrap-server account or the Device instance`);
            this.dropInstance(oid, target.instanceId);
            this.emitStructure();
            return ok(undefined);
        }
        if (target.objectId !== undefined && !this.objects.has(target.objectId))
            return fail('4.04', `object ${target.objectId} is not supported`);
        const oids = target.objectId === undefined ? [...this.objects.keys()] : [target.objectId];
        let any = false;
        for (const oid of oids) {
            for (const iid of this.instances(oid)) {
                if (spared(oid, iid)) continue;
                any = this.dropInstance(oid, iid) || any;
            }
        }
        if (any) this.emitStructure();
        return ok(undefined);
    }

    // ---- Discover and registration -----------------------------------------------------------------

    /**
     * Discover (Core 1.1 §6.3, Discover) for a server, Bootstrap-Discover (§6.1) for the bootstrap server.
     *
     * Server: `/o` lists the object with its attached attributes, each instance with its attached
     * attributes, and each present resource (executable resources always) with `dim=N` for a
     * multiple resource and its attached attributes; `/o/i` the instance and its resources the same
     * way; `/o/i/r` the resource with `dim` and its attributes in effect (attached or inherited from
     * instance and object). `/` and resource instances: 4.00; absent or hidden: 4.04.
     *
     * Bootstrap: `/` or `/o` only (4.00 otherwise): `</>;lwm2m=1.1` at the root, then each object
     * (with `ver` when not 1.0) and its instances; instances of 0 carry `ssid` and `uri`, of 1 `ssid`.
     */
    discover(path: Lwm2mPath | string, caller: Caller, serverId = 0): DmResult<CoreLink[]> {
        const p = this.pathOf(path);
        if (!p.ok) return p;
        const target = p.value;
        if (caller === 'bootstrap') return this.bootstrapDiscover(target);
        if (target.objectId === undefined) return fail('4.00', 'Discover targets an object, instance or resource');
        if (target.resourceInstanceId !== undefined)
            return fail('4.00', 'Discover does not target a resource instance');
        const found = this.locate(target, caller);
        if (!found.ok) return found;
        const oid = target.objectId;
        const links: CoreLink[] = [];
        const attached = (pp: Lwm2mPath) => this.attributeParams(this.attrs.get(this.attrKey(serverId, pp)));
        if (target.resourceId !== undefined) {
            const iid = target.instanceId as number;
            const params: Record<string, string | true> = {};
            const dim = this.dim(oid, iid, target.resourceId);
            if (dim !== undefined) params.dim = String(dim);
            Object.assign(params, this.attributeParams(this.attributes(target, {}, serverId)));
            links.push({ target: formatPath(target), params });
            return ok(links);
        }
        if (target.instanceId === undefined) links.push({ target: `/${oid}`, params: attached({ objectId: oid }) });
        const iids = target.instanceId === undefined ? this.instances(oid) : [target.instanceId];
        for (const iid of iids) {
            links.push({ target: `/${oid}/${iid}`, params: attached({ objectId: oid, instanceId: iid }) });
            for (const rid of this.presentResources(oid, iid)) {
                const rp = { objectId: oid, instanceId: iid, resourceId: rid };
                const params: Record<string, string | true> = {};
                const dim = this.dim(oid, iid, rid);
                if (dim !== undefined) params.dim = String(dim);
                Object.assign(params, attached(rp));
                links.push({ target: formatPath(rp), params });
            }
        }
        return ok(links);
    }

    private presentResources(oid: number, iid: number): number[] {
        const instance = this.objects.get(oid)?.get(iid);
        if (!instance) return [];
        const rids = new Set(instance.keys());
        for (const d of this.resourceDefs.get(oid)?.values() ?? []) if (isExecutable(d)) rids.add(d.id);
        return [...rids].sort((a, b) => a - b);
    }

    private dim(oid: number, iid: number, rid: number): number | undefined {
        const d = this.resourceDefs.get(oid)?.get(rid);
        if (!d?.multiple) return undefined;
        const stored = this.objects.get(oid)?.get(iid)?.get(rid);
        return isMap(stored) ? stored.size : 0;
    }

    private attributeParams(a: Attributes | undefined): Record<string, string> {
        const out: Record<string, string> = {};
        if (!a) return out;
        for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = String(v);
        return out;
    }

    private bootstrapDiscover(target: Lwm2mPath): DmResult<CoreLink[]> {
        if (target.instanceId !== undefined) return fail('4.00', 'Bootstrap-Discover targets / or an object');
        if (target.objectId !== undefined && !this.objects.has(target.objectId))
            return fail('4.04', `object ${target.objectId} is not supported`);
        const links: CoreLink[] = [];
        if (target.objectId === undefined) links.push({ target: '/', params: { lwm2m: '1.1' } });
        const oids = target.objectId === undefined ? [...this.objects.keys()].sort((a, b) => a - b) : [target.objectId];
        for (const oid of oids) {
            const d = this.defs.get(oid) as ObjectDefinition;
            const iids = this.instances(oid);
            const params: Record<string, string | true> = {};
            if (d.version !== '1.0') params.ver = d.version;
            links.push({ target: `/${oid}`, params });
            for (const iid of iids) {
                const inst = this.objects.get(oid)?.get(iid) as Instance;
                const ip: Record<string, string | true> = {};
                const ssid = oid === SECURITY ? inst.get(10) : oid === SERVER ? inst.get(0) : undefined;
                if (typeof ssid === 'number' || typeof ssid === 'bigint') ip.ssid = String(ssid);
                const uri = oid === SECURITY ? inst.get(0) : undefined;
                if (typeof uri === 'string') ip.uri = uri;
                links.push({ target: `/${oid}/${iid}`, params: ip });
            }
        }
        return ok(links);
    }

    /**
     * The object links of a Register or Update payload (Core §6.2.1; design note B.1.2): each
     * object with `ver` when its version is not 1.0, then its instances; an object without
     * instances appears alone. Never the objects hidden from servers (Security, OSCORE, COSE). The
     * root link (`</>;rt="oma.lwm2m";ct=…`) is the engine's to add.
     */
    registrationLinks(): CoreLink[] {
        const links: CoreLink[] = [];
        for (const oid of [...this.objects.keys()].sort((a, b) => a - b)) {
            if (SERVER_HIDDEN_OBJECTS.has(oid)) continue;
            const d = this.defs.get(oid) as ObjectDefinition;
            const iids = this.instances(oid);
            if (d.version !== '1.0') links.push({ target: `/${oid}`, params: { ver: d.version } });
            else if (iids.length === 0) links.push({ target: `/${oid}`, params: {} });
            for (const iid of iids) links.push({ target: `/${oid}/${iid}`, params: {} });
        }
        return links;
    }

    // ---- attributes ------------------------------------------------------------------------------

    private attrKey(serverId: number, p: Lwm2mPath): string {
        return `${serverId}|${formatPath(p)}`;
    }

    /**
     * Write-Attributes (Core 1.1 §6.3, Write-Attributes; §5.1.2): attaches, changes or removes (`?pmin`) attributes of
     * an object, instance, resource or resource instance, for one server (its short server ID; 0
     * when the tree serves one). 4.04 for an absent or hidden target, 4.00 for `/`, a malformed
     * query, or attributes that break the rules (validateAttributes) — nothing changes then.
     */
    writeAttributes(path: Lwm2mPath | string, query: readonly string[], serverId = 0): DmResult<void> {
        const p = this.pathOf(path);
        if (!p.ok) return p;
        const target = p.value;
        if (target.objectId === undefined)
            return fail('4.00', 'Write-Attributes targets an object, instance or resource');
        const found = this.locate(target, 'server');
        if (!found.ok) return found;
        let change: AttributeChange;
        try {
            change = parseAttributeQuery(query);
        } catch (e) {
            return fail('4.00', e instanceof Error ? e.message : String(e));
        }
        const key = this.attrKey(serverId, target);
        const merged = mergeAttributes(this.attrs.get(key), change);
        try {
            validateAttributes(merged, found.value?.type);
        } catch (e) {
            return fail('4.00', e instanceof Error ? e.message : String(e));
        }
        if (Object.keys(merged).length === 0) this.attrs.delete(key);
        else this.attrs.set(key, merged);
        return ok(undefined);
    }

    /** The attributes attached at exactly this path for a server (no inheritance). */
    attachedAttributes(path: Lwm2mPath | string, serverId = 0): Attributes {
        const p = ObjectTree.asPath(path);
        return { ...(this.attrs.get(this.attrKey(serverId, p)) ?? {}) };
    }

    /**
     * The attributes in effect at a path for a server: inherited object → instance → resource →
     * resource instance, the lower level winning, pmin/pmax falling back to the server's defaults
     * (/1/x/2, /1/x/3, passed by the caller). thresholds (gt/lt/st) only count at resource level.
     */
    attributes(
        path: Lwm2mPath | string,
        serverDefaults: { pmin?: number; pmax?: number } = {},
        serverId = 0,
    ): Attributes {
        const p = ObjectTree.asPath(path);
        const get = (pp: Lwm2mPath) => this.attrs.get(this.attrKey(serverId, pp));
        const o = p.objectId === undefined ? undefined : get({ objectId: p.objectId });
        const i = p.instanceId === undefined ? undefined : get({ objectId: p.objectId, instanceId: p.instanceId });
        let r: Attributes | undefined;
        if (p.resourceId !== undefined) {
            r = get({ objectId: p.objectId, instanceId: p.instanceId, resourceId: p.resourceId });
            if (p.resourceInstanceId !== undefined) r = { ...(r ?? {}), ...(get(p) ?? {}) };
        }
        return effectiveAttributes(o, i, r, serverDefaults);
    }
}
