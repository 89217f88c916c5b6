import { escapeText } from '../xml';
import type { ObjectDefinition, Operations, ResourceDefinition } from './ddf';
import { Lwm2mError } from './errors';
import { OBJECTS } from './objects';
import type { ResourceType } from './tlv';

/**
 * The custom objects of the Smart Power Management Protocol draft v0.1 (Clear Blue Technologies /
 * Facebook, "SPMP"; seed text shared/seeds/003): Port Status, Port Alerts, Smart Load (BTS), Smart
 * Load Rules and Port. Telemetry itself uses the standard Voltage (3316) and Current (3317)
 * objects and port control the Digital Output (3201); those live in objects.ts.
 *
 * Everything here comes from one data table (SPMP_TABLE) and one table of object IDs
 * (SPMP_OBJECT_IDS): the definitions (spmpObjects) and the DDF XML files in models/lwm2m
 * (spmpDdf, spmpDdfFileName) are built from them, so moving the objects to other IDs is a change
 * of data, not of code.
 */

/** The five SPMP objects, by a stable key. */
export type SpmpObjectKey = 'portStatus' | 'portAlerts' | 'smartLoadBts' | 'smartLoadRules' | 'port';

/** Object ID of each SPMP object. */
export type SpmpObjectIds = Readonly<Record<SpmpObjectKey, number>>;

/**
 * The object IDs used by default: the OMA **testing** range 42769–42800 (design note
 * greenbutton-lwm2m.md, B.3). IDs in that range MUST NOT be used in production, since other
 * testers may use the same numbers. A deployment needs a registered block: a private company
 * reservation in 32769–42768 (asked for by an issue at OpenMobileAlliance/lwm2m-registry) or
 * published `x`-label objects in 10241–32768. Pass such a table to spmpObjects / spmpDdf.
 */
export const SPMP_OBJECT_IDS: SpmpObjectIds = Object.freeze({
    portStatus: 42769,
    portAlerts: 42770,
    smartLoadBts: 42771,
    smartLoadRules: 42772,
    port: 42773,
});

/** The OMA object-ID range reserved for testing only (design note B.3). */
export const SPMP_TEST_ID_RANGE: Readonly<{ first: number; last: number }> = Object.freeze({
    first: 42769,
    last: 42800,
});

/** True when any of the IDs is in the OMA testing range, i.e. the table is not fit for production. */
export function spmpIdsAreTestOnly(ids: SpmpObjectIds = SPMP_OBJECT_IDS): boolean {
    return Object.values(ids).some((id) => id >= SPMP_TEST_ID_RANGE.first && id <= SPMP_TEST_ID_RANGE.last);
}

/**
 * Resource IDs of the Smart Load Rules object. The rule engine (spmp-rules.ts) reads instances by
 * these; the table below uses them too.
 */
export const SMART_LOAD_RULE_RESOURCES = Object.freeze({
    voltageThreshold: 0,
    objectId: 1,
    instanceId: 2,
    resourceId: 3,
    value: 4,
    type: 5,
    hysteresis: 6,
    holdTime: 7,
    enabled: 8,
});

/**
 * Values of the Rules object's Type resource (5). The draft names a "Type" without values; these
 * are ours. 0: the rule applies while the port voltage is below the threshold (load shedding on a
 * discharging battery) and restores once it is at or above threshold + hysteresis. 1: the rule
 * applies while the voltage is above the threshold and restores once it is at or below
 * threshold − hysteresis.
 */
export const SMART_LOAD_RULE_TYPES = Object.freeze({ fallsBelow: 0, risesAbove: 1 });

/**
 * One resource: ID, name, operations, Single/Multiple, Mandatory/Optional, type, range ('' =
 * none), units ('' = none), description (DDF text; `{key}` is replaced by that object's ID).
 */
export type SpmpRow = [number, string, Operations, 'S' | 'M', 'M' | 'O', ResourceType, string, string, string];

/** One SPMP object in the data table. */
export interface SpmpObjectSpec {
    key: SpmpObjectKey;
    name: string;
    /** File-name part after "{id}-spmp-". */
    slug: string;
    multiple: 'S' | 'M';
    mandatory: 'M' | 'O';
    /** DDF Description1; `{key}` is replaced by that object's ID. */
    description: string;
    rows: readonly SpmpRow[];
}

/** ObjectVersion and LWM2MVersion of the SPMP objects. */
const OBJECT_VERSION = '1.0';
const LWM2M_VERSION = '1.1';

const R = SMART_LOAD_RULE_RESOURCES;

/**
 * The data table. Section names in the comments are those of the seed draft. Where the draft
 * gives no resource IDs, 0..n are used, and registered reusable resources are taken where their
 * meaning matches (design note B.3 item 3): 5750 Application Type for a port's "Name", 5518
 * Timestamp, 5851 Dimmer for the BTS duty cycle. Reused resources keep their registered names and
 * types. 5850 On/Off is deliberately not used for the "enabled" flags: it switches an actuator,
 * and a BTS has a dozen of them while an object may carry 5850 once.
 */
export const SPMP_TABLE: readonly SpmpObjectSpec[] = Object.freeze([
    {
        key: 'portStatus',
        name: 'SPMP Port Status',
        slug: 'port-status',
        multiple: 'M',
        mandatory: 'O',
        description:
            'SPMP draft v0.1 Port Status/Monitor object: one instance per charge-controller port, holding voltage and amperage averages over a configurable length of time, the time of the last update and a link to the port alerts.',
        rows: [
            // §SPMP Port Status Object "Name" (String, Mandatory, RW) -> reusable 5750
            [5750, 'Application Type', 'RW', 'S', 'M', 'string', '', '', 'Name of the port.'],
            // §SPMP Port Status Object "Voltage Average" (Float, Optional, R)
            [0, 'Voltage Average', 'R', 'S', 'O', 'float', '', 'V', 'Port voltage averaged over Averaging Length.'],
            // §SPMP Port Status Object "Amperage Average" (Float, Optional, R)
            [1, 'Amperage Average', 'R', 'S', 'O', 'float', '', 'A', 'Port current averaged over Averaging Length.'],
            // §SPMP Port Status Object "Length" (Integer, Mandatory, RW); §Device Management: seconds
            [
                2,
                'Averaging Length',
                'RW',
                'S',
                'M',
                'integer',
                '1..86400',
                's',
                'Length of time over which the averages are taken (the draft\'s "length" field).',
            ],
            // §SPMP Port Status Object "Timestamp" (Mandatory, R) -> reusable 5518
            [5518, 'Timestamp', 'R', 'S', 'M', 'time', '', '', 'Time of the last update of the averages.'],
            // §SPMP Port Status Object "Alerts" (Object Link, Optional, R)
            [
                3,
                'Alerts',
                'R',
                'S',
                'O',
                'objlnk',
                '',
                '',
                'Link to the Port Alerts ({portAlerts}) instance of this port.',
            ],
        ],
    },
    {
        key: 'portAlerts',
        name: 'SPMP Port Alerts',
        slug: 'port-alerts',
        multiple: 'M',
        mandatory: 'O',
        description:
            'SPMP draft v0.1 Alerts object: one instance per port; each optional Boolean resource is one kind of alert the client firmware can detect. Observe with pmin=0 so that a change is notified at once. Further alerts take IDs from 5 on.',
        rows: [
            // §SPMP Alerts Object, all Boolean, Optional, Single, Read
            [
                0,
                'Short Circuit',
                'R',
                'S',
                'O',
                'boolean',
                '',
                '',
                'True while a short circuit is detected on the port.',
            ],
            [1, 'Over-voltage', 'R', 'S', 'O', 'boolean', '', '', 'True while the port voltage is above its limit.'],
            [2, 'Over-current', 'R', 'S', 'O', 'boolean', '', '', 'True while the port current is above its limit.'],
            [
                3,
                'Low Voltage Disconnect',
                'R',
                'S',
                'O',
                'boolean',
                '',
                '',
                'True while the port is disconnected because the battery voltage is low (LVD).',
            ],
            [
                4,
                'Low Voltage Reconnect',
                'R',
                'S',
                'O',
                'boolean',
                '',
                '',
                'True once the port has been reconnected after a low voltage disconnect (LVR).',
            ],
        ],
    },
    {
        key: 'smartLoadBts',
        name: 'SPMP Smart Load BTS',
        slug: 'smart-load-bts',
        multiple: 'M',
        mandatory: 'O',
        description:
            'SPMP draft v0.1 Smart Load (BTS) object: settings of a base transceiver station powered from a port, which the charge controller changes to lower or restore the power the BTS draws.',
        rows: [
            // §Smart Load (BTS) Object; the draft leaves Mandatory empty: Optional; all RW
            [0, 'Logging Enabled', 'RW', 'S', 'O', 'boolean', '', '', 'Enable or disable logging.'],
            [
                1,
                'Transceiver Chain Enabled',
                'RW',
                'S',
                'O',
                'boolean',
                '',
                '',
                'Enable or disable the transceiver chain.',
            ],
            [
                2,
                'Channel Bandwidth',
                'RW',
                'S',
                'O',
                'float',
                '',
                'MHz',
                'Channel bandwidth (may be a per antenna, LTE or 3G setting).',
            ],
            [3, 'User Limit', 'RW', 'S', 'O', 'integer', '0..65535', '', 'Number of serviceable users.'],
            [4, 'Backhaul Enabled', 'RW', 'S', 'O', 'boolean', '', '', 'False: backhaul off, local switching only.'],
            [5, 'LTE Data Enabled', 'RW', 'S', 'O', 'boolean', '', '', 'False: LTE data off.'],
            [6, 'EDGE Data Enabled', 'RW', 'S', 'O', 'boolean', '', '', 'False: EDGE data off.'],
            [7, 'GPRS Data Enabled', 'RW', 'S', 'O', 'boolean', '', '', 'False: GPRS data off.'],
            [8, 'Software Updates Enabled', 'RW', 'S', 'O', 'boolean', '', '', 'False: software updates disabled.'],
            [9, 'Emergency Calls Only', 'RW', 'S', 'O', 'boolean', '', '', 'True: only emergency calls are allowed.'],
            // "Duty cycle" (Integer, 0-100) -> reusable 5851 Dimmer
            [5851, 'Dimmer', 'RW', 'S', 'O', 'integer', '0..100', '/100', 'Duty cycle of the BTS in percent.'],
            [10, 'Sleep', 'RW', 'S', 'O', 'boolean', '', '', 'True puts the BTS to sleep until woken manually.'],
            // "RF power output" (the draft asks "Integer or Float?"): Float in dBm, written in steps
            [
                11,
                'RF Power Output',
                'RW',
                'S',
                'O',
                'float',
                '',
                'dBm',
                'RF output power; lowering it reduces the service area. Written in steps.',
            ],
        ],
    },
    {
        key: 'smartLoadRules',
        name: 'SPMP Smart Load Rules',
        slug: 'smart-load-rules',
        multiple: 'M',
        mandatory: 'O',
        description:
            'SPMP draft v0.1 Rules object: one instance per rule, created by the server (Create on this object). When the port voltage crosses Voltage Threshold in the direction given by Type, the client writes Value to the target resource; when the voltage recovers past the threshold by Hysteresis, and not before Minimum Hold Time, it writes the previous value back.',
        rows: [
            // §SPMP Rules Object, all Mandatory, Single, RW; Value is String and Type an Integer enum (note B.3 item 5)
            [
                R.voltageThreshold,
                'Voltage Threshold',
                'RW',
                'S',
                'M',
                'float',
                '',
                'V',
                'Port voltage at which the rule applies.',
            ],
            [R.objectId, 'Object ID', 'RW', 'S', 'M', 'integer', '0..65534', '', 'Object ID of the target resource.'],
            [
                R.instanceId,
                'Object Instance ID',
                'RW',
                'S',
                'M',
                'integer',
                '0..65534',
                '',
                'Object instance ID of the target resource.',
            ],
            [
                R.resourceId,
                'Resource ID',
                'RW',
                'S',
                'M',
                'integer',
                '0..65534',
                '',
                'Resource ID of the target resource.',
            ],
            [
                R.value,
                'Value',
                'RW',
                'S',
                'M',
                'string',
                '',
                '',
                'Value written to the target while the rule applies, in the plain-text form of the target type (true/false, decimal numbers, text).',
            ],
            [
                R.type,
                'Type',
                'RW',
                'S',
                'M',
                'integer',
                '0..1',
                '',
                '0: applies while the voltage is below the threshold; 1: applies while it is above.',
            ],
            // Not in the draft: anti-flapping settings and an enable flag
            [
                R.hysteresis,
                'Hysteresis',
                'RW',
                'S',
                'O',
                'float',
                '',
                'V',
                'How far past the threshold the voltage must recover before the previous value is restored (default 0.2 V).',
            ],
            [
                R.holdTime,
                'Minimum Hold Time',
                'RW',
                'S',
                'O',
                'integer',
                '0..86400',
                's',
                'Least time a rule stays applied before it may restore (default 0).',
            ],
            [R.enabled, 'Enabled', 'RW', 'S', 'O', 'boolean', '', '', 'False disables the rule (default true).'],
        ],
    },
    {
        key: 'port',
        name: 'SPMP Port',
        slug: 'port',
        multiple: 'M',
        mandatory: 'O',
        description:
            'SPMP draft v0.1 Port object: one instance per charge-controller port, linking the objects that describe and control it.',
        rows: [
            // §Control "Port Object" "Name" (String, Yes, R) -> reusable 5750
            [5750, 'Application Type', 'R', 'S', 'M', 'string', '', '', 'Name of the port.'],
            [
                0,
                'Control',
                'R',
                'S',
                'M',
                'objlnk',
                '',
                '',
                'Link to the Digital Output (3201) instance that switches the port.',
            ],
            [1, 'Status', 'R', 'S', 'M', 'objlnk', '', '', 'Link to the Port Status ({portStatus}) instance.'],
            [
                2,
                'Smart Load Configuration',
                'RW',
                'S',
                'O',
                'objlnk',
                '',
                '',
                'Link to the Smart Load BTS ({smartLoadBts}) instance powered from the port.',
            ],
            [
                3,
                'Smart Load Status',
                'RW',
                'S',
                'O',
                'objlnk',
                '',
                '',
                'Link to the object mapping of the smart load: a Smart Load Rules ({smartLoadRules}) instance.',
            ],
            [4, 'Voltage', 'R', 'S', 'O', 'objlnk', '', '', 'Link to the Voltage (3316) instance measuring the port.'],
            // Not in the draft's Port object: the Current counterpart of "Voltage"
            [5, 'Current', 'R', 'S', 'O', 'objlnk', '', '', 'Link to the Current (3317) instance measuring the port.'],
        ],
    },
] satisfies SpmpObjectSpec[]);

/** Registered reusable resources the table may use, with the facts a reuse must keep. */
const REUSABLE: ReadonlyMap<number, { name: string; type: ResourceType; range?: string; units?: string }> = new Map([
    [5518, { name: 'Timestamp', type: 'time' }],
    [5750, { name: 'Application Type', type: 'string' }],
    [5850, { name: 'On/Off', type: 'boolean' }],
    [5851, { name: 'Dimmer', type: 'integer', range: '0..100', units: '/100' }],
]);

const OPERATIONS = new Set<string>(['', 'R', 'W', 'RW', 'E']);
const TYPES = new Set<string>([
    'string',
    'integer',
    'unsigned',
    'float',
    'boolean',
    'opaque',
    'time',
    'objlnk',
    'corelnk',
    'none',
]);

function malformed(message: string): never {
    throw new Lwm2mError('malformed', message);
}

function isId(n: unknown): n is number {
    return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65534;
}

/** Checks an ID table: five distinct IDs of 0..65534, none taken by a built-in object. */
function checkIds(ids: SpmpObjectIds, table: readonly SpmpObjectSpec[]): void {
    const seen = new Map<number, string>();
    for (const spec of table) {
        const id = ids[spec.key];
        if (!isId(id)) malformed(`SPMP object ID of ${spec.key} is not an ID of 0..65534: ${String(id)}`);
        const other = seen.get(id);
        if (other !== undefined) malformed(`SPMP objects ${other} and ${spec.key} both have ID ${id}`);
        if (OBJECTS.has(id)) malformed(`SPMP object ID ${id} of ${spec.key} is a built-in object's ID`);
        seen.set(id, spec.key);
    }
}

/** Checks the rows of one object: well-formed, no ID or name twice, reused resources faithful. */
function checkRows(spec: SpmpObjectSpec): void {
    const ids = new Set<number>();
    const names = new Set<string>();
    for (const row of spec.rows) {
        const [id, name, ops, multiple, mandatory, type, range, units, description] = row;
        const w = `SPMP ${spec.key} resource ${String(id)}`;
        if (row.length !== 9) malformed(`${w}: a row has 9 columns, not ${row.length}`);
        if (!isId(id)) malformed(`${w}: not a resource ID of 0..65534`);
        if (ids.has(id)) malformed(`${w} is defined twice`);
        ids.add(id);
        if (typeof name !== 'string' || name.trim() === '' || name !== name.trim())
            malformed(`${w}: name '${String(name)}' is empty or has outer spaces`);
        if (names.has(name)) malformed(`${w}: name '${name}' is used twice`);
        names.add(name);
        if (!OPERATIONS.has(ops)) malformed(`${w}: operations '${String(ops)}' are not R, W, RW, E or empty`);
        if (multiple !== 'S' && multiple !== 'M') malformed(`${w}: instances '${String(multiple)}' are not S or M`);
        if (mandatory !== 'M' && mandatory !== 'O') malformed(`${w}: mandatory '${String(mandatory)}' is not M or O`);
        if (!TYPES.has(type)) malformed(`${w}: type '${String(type)}' is unknown`);
        if ((ops === 'E') !== (type === 'none')) malformed(`${w}: only an executable resource has no type`);
        if (typeof range !== 'string' || typeof units !== 'string' || typeof description !== 'string')
            malformed(`${w}: range, units and description are strings`);
        if (range !== range.trim() || units !== units.trim()) malformed(`${w}: range or units have outer spaces`);
        if (description.trim() === '') malformed(`${w}: the description is empty`);
        if (id >= 2048 && id <= 26240) {
            const reg = REUSABLE.get(id);
            if (!reg) malformed(`${w}: is in the registered reusable range but not a known reusable resource`);
            if (reg.name !== name || reg.type !== type || (reg.range ?? '') !== range || (reg.units ?? '') !== units)
                malformed(`${w}: a reuse of ${id} ${reg.name} keeps its name, type, range and units`);
        }
    }
    if (ids.size === 0) malformed(`SPMP ${spec.key} has no resources`);
}

/** Checks the whole table: each key once, rows well-formed. Throws Lwm2mError('malformed'). */
export function checkSpmpTable(table: readonly SpmpObjectSpec[] = SPMP_TABLE, ids = SPMP_OBJECT_IDS): void {
    const keys = new Set<string>();
    for (const spec of table) {
        if (keys.has(spec.key)) malformed(`SPMP object ${spec.key} is in the table twice`);
        keys.add(spec.key);
        if (!Object.hasOwn(ids, spec.key)) malformed(`SPMP object ${spec.key} has no ID in the ID table`);
        checkRows(spec);
    }
    checkIds(ids, table);
}

function urn(id: number): string {
    // Version 1.0 objects have no version in their URN (LwM2M TS Core §7.2.2, registry practice).
    return `urn:oma:lwm2m:x:${id}`;
}

function definition(spec: SpmpObjectSpec, id: number): ObjectDefinition {
    return {
        id,
        name: spec.name,
        urn: urn(id),
        version: OBJECT_VERSION,
        lwm2mVersion: LWM2M_VERSION,
        multiple: spec.multiple === 'M',
        mandatory: spec.mandatory === 'M',
        resources: spec.rows.map(([rid, name, operations, multiple, mandatory, type, range, units]) => {
            const r: ResourceDefinition = {
                id: rid,
                name,
                operations,
                multiple: multiple === 'M',
                mandatory: mandatory === 'M',
                type,
            };
            if (range) r.range = range;
            if (units) r.units = units;
            return r;
        }),
    };
}

/**
 * The SPMP object definitions by object ID, built from the data table with the given IDs. Throws
 * Lwm2mError('malformed') when the IDs or the table are not usable (see checkSpmpTable).
 */
export function spmpObjects(
    ids: SpmpObjectIds = SPMP_OBJECT_IDS,
    table: readonly SpmpObjectSpec[] = SPMP_TABLE,
): ReadonlyMap<number, ObjectDefinition> {
    checkSpmpTable(table, ids);
    return new Map(table.map((spec) => [ids[spec.key], definition(spec, ids[spec.key])]));
}

function specOf(key: SpmpObjectKey, table: readonly SpmpObjectSpec[]): SpmpObjectSpec {
    const spec = table.find((s) => s.key === key);
    if (!spec) malformed(`SPMP object ${key} is not in the table`);
    return spec;
}

/** File name of an object's DDF in models/lwm2m, e.g. 42769-spmp-port-status.xml. */
export function spmpDdfFileName(
    key: SpmpObjectKey,
    ids: SpmpObjectIds = SPMP_OBJECT_IDS,
    table: readonly SpmpObjectSpec[] = SPMP_TABLE,
): string {
    return `${ids[key]}-spmp-${specOf(key, table).slug}.xml`;
}

function fill(text: string, ids: SpmpObjectIds): string {
    return text.replace(/\{(\w+)\}/g, (m, k: string) => (Object.hasOwn(ids, k) ? String(ids[k as SpmpObjectKey]) : m));
}

/**
 * The DDF XML (schema LWM2M-v1_1.xsd) of one SPMP object with the given IDs: what models/lwm2m
 * holds for the default IDs, and what to publish or register after moving the objects.
 */
export function spmpDdf(
    key: SpmpObjectKey,
    ids: SpmpObjectIds = SPMP_OBJECT_IDS,
    table: readonly SpmpObjectSpec[] = SPMP_TABLE,
): string {
    checkSpmpTable(table, ids);
    const spec = specOf(key, table);
    const id = ids[key];
    const t = (s: string) => escapeText(fill(s, ids));
    const ddfType = (type: ResourceType) => TYPE_TEXT[type];
    const items = spec.rows.map(
        ([rid, name, ops, multiple, mandatory, type, range, units, description]) =>
            `            <Item ID="${rid}">
                <Name>${t(name)}</Name>
                <Operations>${ops}</Operations>
                <MultipleInstances>${multiple === 'M' ? 'Multiple' : 'Single'}</MultipleInstances>
                <Mandatory>${mandatory === 'M' ? 'Mandatory' : 'Optional'}</Mandatory>
                <Type>${ddfType(type)}</Type>
                <RangeEnumeration>${t(range)}</RangeEnumeration>
                <Units>${t(units)}</Units>
                <Description>${t(description)}</Description>
            </Item>
`,
    );
    return `<?xml version="1.0" encoding="UTF-8"?>
<!-- ${t(spec.name)}, SPMP draft v0.1. Generated from src/protocols/lwm2m/spmp.ts (spmpDdf); edit the table there.${
        spmpIdsAreTestOnly(ids) ? ' The object ID is in the OMA testing range 42769-42800: not for production.' : ''
    } -->
<LWM2M xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="http://openmobilealliance.org/tech/profiles/LWM2M-v1_1.xsd">
    <Object ObjectType="MODefinition">
        <Name>${t(spec.name)}</Name>
        <Description1>${t(spec.description)}</Description1>
        <ObjectID>${id}</ObjectID>
        <ObjectURN>${urn(id)}</ObjectURN>
        <LWM2MVersion>${LWM2M_VERSION}</LWM2MVersion>
        <ObjectVersion>${OBJECT_VERSION}</ObjectVersion>
        <MultipleInstances>${spec.multiple === 'M' ? 'Multiple' : 'Single'}</MultipleInstances>
        <Mandatory>${spec.mandatory === 'M' ? 'Mandatory' : 'Optional'}</Mandatory>
        <Resources>
${items.join('')}        </Resources>
        <Description2></Description2>
    </Object>
</LWM2M>
`;
}

/** The DDF <Type> text of each codec type (the inverse of DDF_TYPES). */
const TYPE_TEXT: Readonly<Record<ResourceType, string>> = {
    string: 'String',
    integer: 'Integer',
    unsigned: 'Unsigned Integer',
    float: 'Float',
    boolean: 'Boolean',
    opaque: 'Opaque',
    time: 'Time',
    objlnk: 'Objlnk',
    corelnk: 'Corelnk',
    none: '',
};
