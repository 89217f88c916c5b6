/** The built-in LwM2M object table against the OMA registry's DDF files, and the DDF loader's refusals. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { OBJECTS, parseDdf } from '../../src/protocols/lwm2m';
import { refused, registryDir } from '../support/lwm2m';

const REGISTRY = registryDir();

describe('built-in objects', () => {
    const files = REGISTRY ? readdirSync(REGISTRY).filter((f) => /^\d+\.xml$/.test(f)) : [];

    test('one built-in definition per registry file, equal to what the registry says', {
        skip: REGISTRY ? false : 'the OMA registry copy (../shared/lwm2m-registry) is not next to this checkout',
    }, () => {
        assert.ok(REGISTRY);
        assert.deepEqual(
            [...OBJECTS.keys()].sort((a, b) => a - b),
            files.map((f) => Number.parseInt(f, 10)).sort((a, b) => a - b),
        );
        for (const f of files) {
            const fromRegistry = parseDdf(readFileSync(path.join(REGISTRY, f)));
            assert.deepEqual(OBJECTS.get(fromRegistry.id), fromRegistry, f);
        }
    });

    test('facts the SPMP scenario relies on', () => {
        const voltage = OBJECTS.get(3316);
        const value = voltage?.resources.find((r) => r.id === 5700);
        assert.deepEqual(
            [value?.name, value?.operations, value?.type, value?.mandatory],
            ['Sensor Value', 'R', 'float', true],
        );
        const reboot = OBJECTS.get(3)?.resources.find((r) => r.id === 4);
        assert.deepEqual([reboot?.operations, reboot?.type], ['E', 'none']);
        const lifetime = OBJECTS.get(1)?.resources.find((r) => r.id === 1);
        assert.deepEqual([lifetime?.name, lifetime?.operations, lifetime?.type], ['Lifetime', 'RW', 'integer']);
        const digital = OBJECTS.get(3201)?.resources.find((r) => r.id === 5550);
        assert.deepEqual([digital?.operations, digital?.type], ['RW', 'boolean']);
        assert.equal(OBJECTS.get(3317)?.name, 'Current');
    });
});

describe('DDF loader', () => {
    const ddf = (object: string) => `<LWM2M><Object ObjectType="MODefinition">${object}</Object></LWM2M>`;
    const item = (extra = '', id = '1', type = 'Integer', ops = 'R') =>
        `<Item ID="${id}"><Name>X</Name><Operations>${ops}</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Type>${type}</Type>${extra}</Item>`;
    const head =
        '<Name>Test</Name><ObjectID>42769</ObjectID><ObjectURN>urn:oma:lwm2m:x:42769</ObjectURN><MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>';

    test('a user DDF in the 42769+ test range loads', () => {
        const d = parseDdf(
            ddf(`${head}<Resources>${item('<Units>V</Units>')}${item('', '2', 'Unsigned Integer', 'RW')}</Resources>`),
        );
        assert.equal(d.id, 42_769);
        assert.equal(d.version, '1.0');
        assert.deepEqual(
            d.resources.map((r) => [r.id, r.type, r.operations, r.units]),
            [
                [1, 'integer', 'R', 'V'],
                [2, 'unsigned', 'RW', undefined],
            ],
        );
    });

    test('what does not follow the schema is refused, naming the object and resource', () => {
        refused(() => parseDdf('<LWM2M><Object>'), 'malformed', /not well-formed/);
        refused(() => parseDdf('<DDF/>'), 'malformed', /<LWM2M> at its root/);
        refused(() => parseDdf('<LWM2M/>'), 'malformed', /one <Object>, not 0/);
        refused(() => parseDdf(ddf(`${head}`)), 'malformed', /object 42769: <Resources> is missing/);
        refused(
            () => parseDdf(ddf(`${head}<Resources>${item()}${item()}</Resources>`)),
            'malformed',
            /resource 1 is defined twice/,
        );
        refused(
            () => parseDdf(ddf(`${head}<Resources>${item('', '1', 'Double')}</Resources>`)),
            'malformed',
            /Type 'Double' is unknown/,
        );
        refused(
            () => parseDdf(ddf(`${head}<Resources>${item('', '1', 'Integer', 'X')}</Resources>`)),
            'malformed',
            /Operations 'X'/,
        );
        refused(
            () => parseDdf(ddf(`${head}<Resources>${item('', '70000')}</Resources>`)),
            'malformed',
            /'70000' is not an ID/,
        );
        refused(
            () => parseDdf(ddf(`${head.replace('Multiple</M', 'Many</M')}<Resources/>`)),
            'malformed',
            /MultipleInstances 'Many'/,
        );
        refused(
            () => parseDdf(ddf(`${head.replace('<Name>Test</Name>', '')}<Resources/>`)),
            'malformed',
            /<Name> is missing/,
        );
        refused(() => parseDdf('<!DOCTYPE x [<!ENTITY a "b">]><LWM2M/>'), 'malformed', /not well-formed/);
    });
});
