/** The SPMP custom objects: one data table, the DDF files in models/lwm2m, and the ID table. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { OBJECTS, parseDdf } from '../../src/protocols/lwm2m';
import {
    checkSpmpTable,
    SMART_LOAD_RULE_RESOURCES,
    SMART_LOAD_RULE_TYPES,
    SPMP_OBJECT_IDS,
    SPMP_TABLE,
    type SpmpObjectIds,
    type SpmpObjectSpec,
    type SpmpRow,
    spmpDdf,
    spmpDdfFileName,
    spmpIdsAreTestOnly,
    spmpObjects,
} from '../../src/protocols/lwm2m/spmp';
import { refused, registryDir } from '../support/lwm2m';

const MODELS = path.join(__dirname, '../../models/lwm2m');
const REGISTRY = registryDir();
const XSD = REGISTRY && path.join(REGISTRY, 'LWM2M-v1_1.xsd');

function hasXmllint(): boolean {
    try {
        execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
        return true;
    } catch {
        return false;
    }
}

/** Runs xmllint against the OMA schema; returns undefined when valid, else its complaint. */
function schemaErrors(xsd: string, file: string): string | undefined {
    try {
        execFileSync('xmllint', ['--noout', '--schema', xsd, file], { encoding: 'utf8', stdio: 'pipe' });
        return undefined;
    } catch (err) {
        return String((err as { stderr?: string }).stderr ?? err);
    }
}

const resource = (objectId: number, resourceId: number) =>
    spmpObjects()
        .get(objectId)
        ?.resources.find((r) => r.id === resourceId);

describe('SPMP DDF files', () => {
    const files = readdirSync(MODELS).filter((f) => f.endsWith('.xml'));

    test('one file per table object, named by ID and slug', () => {
        assert.deepEqual(files.sort(), SPMP_TABLE.map((s) => spmpDdfFileName(s.key)).sort());
        assert.deepEqual(files.sort(), [
            '42769-spmp-port-status.xml',
            '42770-spmp-port-alerts.xml',
            '42771-spmp-smart-load-bts.xml',
            '42772-spmp-smart-load-rules.xml',
            '42773-spmp-port.xml',
        ]);
    });

    test('each file validates against LWM2M-v1_1.xsd with xmllint', (t) => {
        if (!XSD) {
            t.skip('the OMA registry copy (../shared/lwm2m-registry) with LWM2M-v1_1.xsd is not next to this checkout');
            return;
        }
        if (!hasXmllint()) {
            t.skip('xmllint is not installed');
            return;
        }
        for (const f of files) assert.equal(schemaErrors(XSD, path.join(MODELS, f)), undefined, f);
        // The check can fail: a DDF with a type the schema does not know is refused.
        const dir = mkdtempSync(path.join(os.tmpdir(), 'spmp-ddf-'));
        try {
            const bad = path.join(dir, 'bad.xml');
            writeFileSync(bad, spmpDdf('portAlerts').replace('<Type>Boolean</Type>', '<Type>Bool</Type>'));
            assert.match(schemaErrors(XSD, bad) ?? '', /Bool/);
            // DDFs generated for other IDs validate as well.
            const moved = path.join(dir, 'moved.xml');
            writeFileSync(moved, spmpDdf('smartLoadRules', { ...SPMP_OBJECT_IDS, smartLoadRules: 32769 }));
            assert.equal(schemaErrors(XSD, moved), undefined);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test('each file read with parseDdf equals the table definition', () => {
        const objects = spmpObjects();
        assert.equal(objects.size, 5);
        for (const spec of SPMP_TABLE) {
            const f = spmpDdfFileName(spec.key);
            const parsed = parseDdf(readFileSync(path.join(MODELS, f)));
            assert.equal(parsed.id, SPMP_OBJECT_IDS[spec.key], f);
            assert.deepEqual(parsed, objects.get(parsed.id), f);
        }
    });

    test('each file is exactly what spmpDdf generates from the table (descriptions included)', () => {
        for (const spec of SPMP_TABLE) {
            const f = spmpDdfFileName(spec.key);
            assert.equal(readFileSync(path.join(MODELS, f), 'utf8'), spmpDdf(spec.key), f);
        }
    });
});

describe('SPMP object table', () => {
    test('default IDs are the OMA test range 42769+', () => {
        assert.deepEqual(
            [...spmpObjects()].map(([id, o]) => [id, o.name, o.urn, o.multiple, o.mandatory]),
            [
                [42769, 'SPMP Port Status', 'urn:oma:lwm2m:x:42769', true, false],
                [42770, 'SPMP Port Alerts', 'urn:oma:lwm2m:x:42770', true, false],
                [42771, 'SPMP Smart Load BTS', 'urn:oma:lwm2m:x:42771', true, false],
                [42772, 'SPMP Smart Load Rules', 'urn:oma:lwm2m:x:42772', true, false],
                [42773, 'SPMP Port', 'urn:oma:lwm2m:x:42773', true, false],
            ],
        );
        assert.equal(spmpIdsAreTestOnly(), true);
    });

    test('resource facts the rules engine and nodes rely on', () => {
        const r = (objectId: number, resourceId: number) => {
            const d = resource(objectId, resourceId);
            return d && [d.name, d.operations, d.type, d.mandatory, d.units];
        };
        const RR = SMART_LOAD_RULE_RESOURCES;
        assert.deepEqual(r(42772, RR.voltageThreshold), ['Voltage Threshold', 'RW', 'float', true, 'V']);
        assert.deepEqual(r(42772, RR.objectId), ['Object ID', 'RW', 'integer', true, undefined]);
        assert.deepEqual(r(42772, RR.instanceId), ['Object Instance ID', 'RW', 'integer', true, undefined]);
        assert.deepEqual(r(42772, RR.resourceId), ['Resource ID', 'RW', 'integer', true, undefined]);
        assert.deepEqual(r(42772, RR.value), ['Value', 'RW', 'string', true, undefined]);
        assert.deepEqual(r(42772, RR.type), ['Type', 'RW', 'integer', true, undefined]);
        assert.equal(resource(42772, RR.type)?.range, '0..1');
        assert.deepEqual(Object.values(SMART_LOAD_RULE_TYPES), [0, 1]);
        assert.deepEqual(r(42772, RR.hysteresis), ['Hysteresis', 'RW', 'float', false, 'V']);
        assert.deepEqual(r(42772, RR.holdTime), ['Minimum Hold Time', 'RW', 'integer', false, 's']);
        assert.deepEqual(r(42772, RR.enabled), ['Enabled', 'RW', 'boolean', false, undefined]);
        // Port Status: voltage average in V, alerts link, reused name and timestamp.
        assert.deepEqual(r(42769, 0), ['Voltage Average', 'R', 'float', false, 'V']);
        assert.deepEqual(r(42769, 1), ['Amperage Average', 'R', 'float', false, 'A']);
        assert.deepEqual(r(42769, 3), ['Alerts', 'R', 'objlnk', false, undefined]);
        assert.deepEqual(r(42769, 5750), ['Application Type', 'RW', 'string', true, undefined]);
        assert.deepEqual(r(42769, 5518), ['Timestamp', 'R', 'time', true, undefined]);
        // Alerts: read-only optional booleans.
        const alerts = spmpObjects().get(42770)?.resources ?? [];
        assert.deepEqual(
            alerts.map((a) => [a.id, a.type, a.operations, a.mandatory]),
            [0, 1, 2, 3, 4].map((id) => [id, 'boolean', 'R', false]),
        );
        // Smart Load BTS: RF power, LTE data, duty cycle as the reusable Dimmer.
        assert.deepEqual(r(42771, 11), ['RF Power Output', 'RW', 'float', false, 'dBm']);
        assert.deepEqual(r(42771, 5), ['LTE Data Enabled', 'RW', 'boolean', false, undefined]);
        assert.deepEqual(r(42771, 5851), ['Dimmer', 'RW', 'integer', false, '/100']);
        assert.equal(spmpObjects().get(42771)?.resources.length, 13);
        // Port: links.
        const port = spmpObjects().get(42773)?.resources ?? [];
        assert.deepEqual(
            port.filter((p) => p.type === 'objlnk').map((p) => p.name),
            ['Control', 'Status', 'Smart Load Configuration', 'Smart Load Status', 'Voltage', 'Current'],
        );
    });

    test('a custom ID table moves every object and the links described in the DDF', () => {
        const ids: SpmpObjectIds = {
            portStatus: 32769,
            portAlerts: 32770,
            smartLoadBts: 32771,
            smartLoadRules: 32772,
            port: 32773,
        };
        const objects = spmpObjects(ids);
        assert.deepEqual([...objects.keys()], [32769, 32770, 32771, 32772, 32773]);
        assert.equal(objects.get(32772)?.name, 'SPMP Smart Load Rules');
        assert.equal(objects.get(32772)?.urn, 'urn:oma:lwm2m:x:32772');
        assert.equal(objects.has(42772), false);
        // Same resources as with the default IDs.
        assert.deepEqual(objects.get(32771)?.resources, spmpObjects().get(42771)?.resources);
        assert.equal(spmpIdsAreTestOnly(ids), false);
        const ddf = spmpDdf('portStatus', ids);
        assert.equal(parseDdf(ddf).id, 32769);
        assert.match(ddf, /Port Alerts \(32770\)/);
        assert.doesNotMatch(ddf, /4277\d/);
        assert.doesNotMatch(ddf, /testing range/);
        assert.equal(spmpDdfFileName('port', ids), '32773-spmp-port.xml');
        // One ID table only: a partial override keeps the rest.
        assert.deepEqual(
            [...spmpObjects({ ...SPMP_OBJECT_IDS, port: 10300 }).keys()],
            [42769, 42770, 42771, 42772, 10300],
        );
    });

    test('unusable ID tables are refused', () => {
        refused(
            () => spmpObjects({ ...SPMP_OBJECT_IDS, portAlerts: 42769 }),
            'malformed',
            /portStatus and portAlerts both have ID 42769/,
        );
        refused(() => spmpObjects({ ...SPMP_OBJECT_IDS, port: 3316 }), 'malformed', /3316 of port is a built-in/);
        refused(() => spmpObjects({ ...SPMP_OBJECT_IDS, port: 65535 }), 'malformed', /port is not an ID of 0..65534/);
        refused(() => spmpObjects({ ...SPMP_OBJECT_IDS, port: 1.5 }), 'malformed', /port is not an ID/);
        for (const id of [...OBJECTS.keys()]) assert.equal(spmpObjects().has(id), false);
    });
});

describe('SPMP table checks', () => {
    const rules = SPMP_TABLE.find((s) => s.key === 'smartLoadRules') as SpmpObjectSpec;
    const withRows = (rows: SpmpRow[]): SpmpObjectSpec[] =>
        SPMP_TABLE.map((s) => (s.key === 'smartLoadRules' ? { ...s, rows } : s));
    const good = rules.rows[0] as SpmpRow;

    test('the shipped table passes', () => {
        assert.doesNotThrow(() => checkSpmpTable());
    });

    test('a malformed resource row is refused, naming object and resource', () => {
        refused(
            () => spmpObjects(undefined, withRows([...rules.rows, good])),
            'malformed',
            /smartLoadRules resource 0 is defined twice/,
        );
        refused(
            () =>
                spmpObjects(undefined, withRows([...rules.rows, [99, 'Value', 'RW', 'S', 'O', 'string', '', '', 'x']])),
            'malformed',
            /resource 99: name 'Value' is used twice/,
        );
        refused(
            () => checkSpmpTable(withRows([[70000, 'X', 'R', 'S', 'O', 'float', '', '', 'x']])),
            'malformed',
            /resource 70000: not a resource ID/,
        );
        refused(
            () => checkSpmpTable(withRows([[1, 'X', 'R', 'S', 'O', 'double' as never, '', '', 'x']])),
            'malformed',
            /type 'double' is unknown/,
        );
        refused(
            () => checkSpmpTable(withRows([[1, 'X', 'RX' as never, 'S', 'O', 'float', '', '', 'x']])),
            'malformed',
            /operations 'RX'/,
        );
        refused(
            () => checkSpmpTable(withRows([[1, 'X', 'R', 'S', 'O', 'float', '', '', '']])),
            'malformed',
            /description is empty/,
        );
        refused(
            () => checkSpmpTable(withRows([[1, 'X', 'R', 'S', 'O', 'float', '', '']] as never)),
            'malformed',
            /9 columns, not 8/,
        );
        refused(
            () => checkSpmpTable(withRows([[5518, 'Timestamp', 'R', 'S', 'O', 'integer', '', '', 'x']])),
            'malformed',
            /reuse of 5518 Timestamp keeps its name, type/,
        );
        refused(
            () => checkSpmpTable(withRows([[5999, 'Thing', 'R', 'S', 'O', 'integer', '', '', 'x']])),
            'malformed',
            /5999: is in the registered reusable range/,
        );
        refused(() => checkSpmpTable(withRows([])), 'malformed', /smartLoadRules has no resources/);
        refused(() => checkSpmpTable([...SPMP_TABLE, rules]), 'malformed', /smartLoadRules is in the table twice/);
    });
});
