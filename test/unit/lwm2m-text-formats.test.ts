/** LwM2M text formats: CoRE link format (40) for Register and Discover, text/plain (0) single values. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
    decodeLinkFormat,
    decodePlain,
    encodeLinkFormat,
    encodePlain,
    type ResourceType,
    type ResourceValue,
} from '../../src/protocols/lwm2m';
import { refused } from '../support/lwm2m';

describe('CoRE link format', () => {
    test('a Register payload with the root link, objects and attributes', () => {
        const text = '</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3316/0>;ver=1.1,</42769>;ver=1.0';
        const links = decodeLinkFormat(text);
        assert.deepEqual(links, [
            { target: '/', params: { rt: 'oma.lwm2m', ct: '11543' } },
            { target: '/1/0', params: {} },
            { target: '/3/0', params: {} },
            { target: '/3316/0', params: { ver: '1.1' } },
            { target: '/42769', params: { ver: '1.0' } },
        ]);
        assert.equal(encodeLinkFormat(links), text);
    });

    test('a Discover answer: attributes, flags, quoted strings with escapes, spaces between links', () => {
        const links = decodeLinkFormat(
            '</3316/0>;pmin=10;pmax=60, </3316/0/5700>;gt=14.5;st=0.1,\n</3/0/4>;obs;title="a \\"b\\""',
        );
        assert.deepEqual(links[0], { target: '/3316/0', params: { pmin: '10', pmax: '60' } });
        assert.deepEqual(links[1], { target: '/3316/0/5700', params: { gt: '14.5', st: '0.1' } });
        assert.deepEqual(links[2], { target: '/3/0/4', params: { obs: true, title: 'a "b"' } });
        assert.deepEqual(decodeLinkFormat(encodeLinkFormat(links)), links);
        assert.deepEqual(decodeLinkFormat(''), []);
    });

    test('malformed payloads are refused with the offset', () => {
        refused(() => decodeLinkFormat('/3/0'), 'malformed', /starts with '<'/);
        refused(() => decodeLinkFormat('</3/0'), 'malformed', /unterminated '<'/);
        refused(() => decodeLinkFormat('</3/0>;rt="x'), 'malformed', /unterminated quoted/);
        refused(() => decodeLinkFormat('</3/0> </4/0>'), 'malformed', /separated by ','/);
        refused(() => decodeLinkFormat('</3/0>;pmin=1;pmin=2'), 'malformed', /given twice/);
        refused(() => decodeLinkFormat('</3/0>;=1'), 'malformed', /bad parameter name/);
        refused(() => decodeLinkFormat('<>'), 'malformed', /bad target/);
        refused(() => decodeLinkFormat('</3/0>;x=a b'), 'malformed', /bad value of x/);
    });

    test('hostile sizes', () => {
        refused(
            () => decodeLinkFormat(Array.from({ length: 10_001 }, (_, i) => `</${i}>`).join(',')),
            'limit',
            /more than 10000 links/,
        );
        refused(() => decodeLinkFormat(`</${'1'.repeat(300_000)}>`), 'limit', /exceeds/);
    });
});

describe('text/plain', () => {
    test('every type both ways', () => {
        const cases: Array<[ResourceType, ResourceValue, string]> = [
            ['string', 'Open Mobile Alliance', 'Open Mobile Alliance'],
            ['integer', -42, '-42'],
            ['integer', 9_223_372_036_854_775_807n, '9223372036854775807'],
            ['unsigned', 18_446_744_073_709_551_615n, '18446744073709551615'],
            ['float', 12.5, '12.5'],
            ['float', 1e-7, '1e-7'],
            ['boolean', true, '1'],
            ['boolean', false, '0'],
            ['time', new Date('2026-12-04T10:00:00Z'), '1796378400'],
            ['opaque', Uint8Array.of(1, 2, 255), 'AQL/'],
            ['objlnk', { objectId: 3, instanceId: 0 }, '3:0'],
            ['objlnk', null, '65535:65535'],
            ['none', null, ''],
        ];
        for (const [type, value, text] of cases) {
            assert.equal(encodePlain(type, value), text, `${type} ${String(value)}`);
            assert.deepEqual(decodePlain(type, text), value, `${type} ${text}`);
        }
    });

    test('text that is not of the type is refused', () => {
        refused(() => decodePlain('integer', '1.5'), 'bad-value', /not an integer/);
        refused(() => decodePlain('integer', '99999999999999999999'), 'bad-value', /64-bit integer/);
        refused(() => decodePlain('unsigned', '-1'), 'bad-value', /unsigned/);
        refused(() => decodePlain('float', '0x10'), 'bad-value', /decimal number/);
        refused(() => decodePlain('float', '1e999'), 'bad-value', /finite/);
        refused(() => decodePlain('boolean', 'true'), 'bad-value', /0 or 1/);
        refused(() => decodePlain('opaque', 'a$b='), 'bad-value', /base64/);
        refused(() => decodePlain('objlnk', '3:'), 'bad-value', /object:instance/);
        refused(() => encodePlain('integer', 1.5), 'wrong-type', /integer/);
        refused(() => encodePlain('unsigned', -1), 'bad-value', /≥ 0/);
    });
});
