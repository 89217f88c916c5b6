import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AccessControl, JidMatcher, parseAccessRules } from '../../src/protocols/xmpp/access';
import { bareJid, JidError, parseJid, sameJid, tryParseJid } from '../../src/protocols/xmpp/jid';

const SELF = { bare: 'device@example.com', domain: 'example.com' };

/** Expects parseJid(input) to throw a JidError with code BAD_INPUT and a message matching `pattern`. */
function expectBadJid(input: unknown, pattern: RegExp): void {
    let caught: unknown;
    try {
        parseJid(input as string);
    } catch (err) {
        caught = err;
    }
    assert.ok(caught instanceof JidError, `parseJid(${JSON.stringify(input)?.slice(0, 60)}) did not throw a JidError`);
    assert.equal(caught.code, 'BAD_INPUT');
    assert.equal(caught.name, 'JidError');
    assert.match(caught.message, pattern);
    assert.ok(caught.message.length < 200, `message is ${caught.message.length} characters long`);
}

describe('parseJid', () => {
    test('splits local, domain and resource; local part and domain are lower-cased, the resource is kept', () => {
        const j = parseJid('Juliet@Capulet.EXAMPLE/Balcony');
        assert.deepEqual(
            { ...j },
            {
                local: 'juliet',
                domain: 'capulet.example',
                resource: 'Balcony',
                bare: 'juliet@capulet.example',
                full: 'juliet@capulet.example/Balcony',
            },
        );
    });

    test('a domain-only JID, with and without a resource', () => {
        assert.deepEqual(
            { ...parseJid('Example.com') },
            { local: '', domain: 'example.com', resource: '', bare: 'example.com', full: 'example.com' },
        );
        const withResource = parseJid('example.com/component');
        assert.equal(withResource.bare, 'example.com');
        assert.equal(withResource.full, 'example.com/component');
    });

    test('the resource starts at the first slash and may hold "/" and "@"', () => {
        const j = parseJid('user@example.com/a/b@c d');
        assert.equal(j.domain, 'example.com');
        assert.equal(j.resource, 'a/b@c d');
        assert.equal(j.full, 'user@example.com/a/b@c d');
    });

    test('a trailing dot on the domain is removed (RFC 7622 §3.2)', () => {
        assert.equal(parseJid('user@example.com.').bare, 'user@example.com');
        assert.equal(parseJid('example.com./r').full, 'example.com/r');
    });

    test('an IP literal domain is accepted', () => {
        assert.equal(parseJid('node@[::1]/r').domain, '[::1]');
        assert.equal(parseJid('node@192.0.2.1').bare, 'node@192.0.2.1');
    });

    test('an empty local part is BAD_INPUT', () => {
        expectBadJid('@example.com', /empty local part/);
        expectBadJid('@example.com/r', /empty local part/);
    });

    test('an empty resource is BAD_INPUT', () => {
        expectBadJid('user@example.com/', /empty resource/);
        expectBadJid('example.com/', /empty resource/);
    });

    test('"@" in the domain, an empty domain or whitespace in the domain is BAD_INPUT', () => {
        expectBadJid('a@b@example.com', /no valid domain/);
        expectBadJid('user@', /no valid domain/);
        expectBadJid('user@/res', /no valid domain/);
        expectBadJid('/res', /no valid domain/);
        expectBadJid('.', /no valid domain/);
        expectBadJid('user@exa mple.com', /no valid domain/);
    });

    test('characters RFC 7622 forbids in the local part are BAD_INPUT', () => {
        for (const c of ['"', '&', "'", ':', '<', '>', ' ', '\t']) {
            expectBadJid(`us${c}er@example.com`, /forbidden character in its local part/);
        }
    });

    test('a part longer than 1023 octets is BAD_INPUT; 1023 octets is fine', () => {
        const long = 'a'.repeat(1024);
        expectBadJid(`${long}@example.com`, /longer than 1023 octets/);
        expectBadJid(`user@${long}`, /longer than 1023 octets/);
        expectBadJid(`user@example.com/${long}`, /longer than 1023 octets/);
        // 512 characters, 1024 UTF-8 octets: octets count, not characters.
        expectBadJid(`${'é'.repeat(512)}@example.com`, /longer than 1023 octets/);
        assert.equal(parseJid(`${'a'.repeat(1023)}@example.com/${'r'.repeat(1023)}`).local.length, 1023);
    });

    test('an empty string or a value that is not a string is BAD_INPUT', () => {
        for (const bad of ['', undefined, null, 42, {}]) expectBadJid(bad, /non-empty string/);
    });

    test('tryParseJid and bareJid return undefined instead of throwing', () => {
        assert.equal(tryParseJid(undefined), undefined);
        assert.equal(tryParseJid('@x'), undefined);
        assert.equal(tryParseJid('User@Example.com/r')?.full, 'user@example.com/r');
        assert.equal(bareJid('User@Example.com/r'), 'user@example.com');
        assert.equal(bareJid('a@b@c'), undefined);
        assert.equal(bareJid(undefined), undefined);
    });

    test('sameJid compares normalised addresses; a bare JID matches a resource only when asked', () => {
        assert.ok(sameJid('User@Example.com/r', 'user@example.com/r'));
        assert.ok(!sameJid('user@example.com/R', 'user@example.com/r'), 'resources are case-sensitive');
        assert.ok(!sameJid('user@example.com', 'user@example.com/r'));
        assert.ok(sameJid('user@example.com', 'user@example.com/r', true));
        assert.ok(sameJid('user@example.com/r', 'user@example.com', true));
        assert.ok(!sameJid('user@example.com/a', 'user@example.com/b', true));
        assert.ok(!sameJid(undefined, undefined));
        assert.ok(!sameJid('bad@@x', 'bad@@x'));
    });
});

describe('JidMatcher', () => {
    test('"*" matches anyone with a valid address', () => {
        const m = new JidMatcher(['*']);
        assert.ok(m.matchesAnyone);
        assert.ok(m.matches('anyone@anywhere.example/r'));
        assert.ok(m.matches('server.example'));
    });

    test('a bare JID matches that account with any resource, case-insensitively', () => {
        const m = new JidMatcher(['Operator@Grid.example']);
        assert.ok(m.matches('operator@grid.example'));
        assert.ok(m.matches('OPERATOR@grid.example/desk'));
        assert.ok(!m.matches('other@grid.example'));
        assert.ok(!m.matches('grid.example'));
    });

    test('a full JID matches only that resource', () => {
        const m = new JidMatcher(['operator@grid.example/desk']);
        assert.ok(m.matches('operator@grid.example/desk'));
        assert.ok(!m.matches('operator@grid.example/phone'));
        assert.ok(!m.matches('operator@grid.example'));
    });

    test('a domain matches every account there and the domain itself, but not subdomains', () => {
        const m = new JidMatcher(['grid.example']);
        assert.ok(m.matches('a@grid.example/r'));
        assert.ok(m.matches('grid.example'));
        assert.ok(!m.matches('a@sub.grid.example'));
        assert.ok(!m.matches('a@evilgrid.example'));
    });

    test('"*.domain" matches subdomains only', () => {
        const m = new JidMatcher(['*.grid.example']);
        assert.ok(m.matches('meter@sub.grid.example'));
        assert.ok(m.matches('deep.sub.grid.example'));
        assert.ok(!m.matches('meter@grid.example'));
        assert.ok(!m.matches('meter@evilgrid.example'));
    });

    test('"roster" asks isContact with the bare JID', () => {
        const asked: string[] = [];
        const m = new JidMatcher(['roster']);
        assert.ok(m.includesRoster);
        const isContact = (bare: string) => {
            asked.push(bare);
            return bare === 'friend@example.org';
        };
        assert.ok(m.matches('Friend@Example.org/phone', isContact));
        assert.ok(!m.matches('stranger@example.org/phone', isContact));
        assert.deepEqual(asked, ['friend@example.org', 'stranger@example.org']);
        assert.ok(!m.matches('friend@example.org'), 'without isContact nobody is a contact');
    });

    test('no pattern matches nobody; blank patterns are ignored', () => {
        const m = new JidMatcher(['', '   ']);
        assert.ok(m.empty);
        assert.ok(!m.matchesAnyone);
        assert.ok(!m.matches('a@b'));
        assert.ok(!new JidMatcher(['x.example']).empty);
    });

    test('an address that is not a JID never matches, except under "*"', () => {
        const m = new JidMatcher(['grid.example', 'roster']);
        assert.ok(!m.matches(undefined, () => true));
        assert.ok(!m.matches('a@b@grid.example', () => true));
    });

    test('a pattern with "@" or "/" that is not a JID is refused with a message naming it', () => {
        assert.throws(() => new JidMatcher(['ops@@grid.example']), /"ops@@grid.example" is not a JID/);
        assert.throws(() => new JidMatcher(['@grid.example/']), /is not a JID/);
    });
});

describe('AccessControl', () => {
    test('hooks decide first, then the namespace rule, then the default', () => {
        const ac = new AccessControl({
            rules: [{ namespace: 'urn:ruled', allow: ['ops@grid.example'] }],
            default: 'none',
            isContact: () => false,
        });
        assert.ok(ac.allows('urn:ruled', 'ops@grid.example/r', SELF));
        assert.ok(!ac.allows('urn:ruled', 'other@grid.example/r', SELF));
        assert.ok(!ac.allows('urn:unruled', 'ops@grid.example/r', SELF), 'default none applies where no rule exists');

        const seen: string[] = [];
        const hook = ac.addHook('urn:ruled', (from) => {
            seen.push(from);
            return from.startsWith('other@') ? true : from.startsWith('ops@') ? false : undefined;
        });
        assert.ok(ac.allows('urn:ruled', 'Other@Grid.example/R', SELF), 'hook allows what the rule refuses');
        assert.ok(!ac.allows('urn:ruled', 'ops@grid.example/r', SELF), 'hook refuses what the rule allows');
        assert.ok(!ac.allows('urn:ruled', 'third@grid.example', SELF), 'undefined defers to the rule');
        assert.deepEqual(seen, ['other@grid.example/R', 'ops@grid.example/r', 'third@grid.example']);

        hook.dispose();
        assert.ok(ac.allows('urn:ruled', 'ops@grid.example/r', SELF));
        hook.dispose();
    });

    test('among several hooks the first one with a verdict wins', () => {
        const ac = new AccessControl({ default: 'none', isContact: () => false });
        ac.addHook('urn:x', () => undefined);
        const deny = ac.addHook('urn:x', () => false);
        ac.addHook('urn:x', () => true);
        assert.ok(!ac.allows('urn:x', 'a@b', SELF));
        deny.dispose();
        assert.ok(ac.allows('urn:x', 'a@b', SELF));
        assert.ok(!ac.allows('urn:y', 'a@b', SELF), 'hooks are per namespace');
    });

    test('defaults: "all" by default, "roster" asks isContact, "none" refuses', () => {
        assert.ok(new AccessControl({ isContact: () => false }).allows('urn:x', 'anyone@else.example', SELF));
        const contacts = new AccessControl({ default: 'roster', isContact: (bare) => bare === 'friend@else.example' });
        assert.ok(contacts.allows('urn:x', 'friend@else.example/r', SELF));
        assert.ok(!contacts.allows('urn:x', 'stranger@else.example/r', SELF));
        assert.ok(
            !new AccessControl({ default: 'none', isContact: () => true }).allows('urn:x', 'friend@else.example', SELF),
        );
    });

    test('the account itself (any resource) and its own server are always allowed, even against a hook', () => {
        const ac = new AccessControl({
            rules: [{ namespace: 'urn:x', allow: [] }],
            default: 'none',
            isContact: () => false,
        });
        ac.addHook('urn:x', () => false);
        assert.ok(ac.allows('urn:x', 'device@example.com/other-resource', SELF));
        assert.ok(ac.allows('urn:x', 'Device@Example.com', SELF));
        assert.ok(ac.allows('urn:x', 'example.com', SELF));
        assert.ok(
            !ac.allows('urn:x', 'neighbour@example.com', SELF),
            'another account on the same server is not the account',
        );
        assert.ok(!ac.allows('urn:x', 'device@example.com.evil.example', SELF));
    });

    test('a stanza without "from" (from the account’s server on its behalf) is allowed; an invalid "from" is refused', () => {
        const ac = new AccessControl({ default: 'none', isContact: () => false });
        assert.ok(ac.allows('urn:x', undefined, SELF));
        assert.ok(!ac.allows('urn:x', 'bad@@from', SELF));
        assert.ok(!ac.allows('urn:x', '', SELF));
    });
});

describe('parseAccessRules', () => {
    test('one "namespace = patterns" per line; comments and blank lines are skipped', () => {
        const rules = parseAccessRules(
            [
                '# who may do what',
                '',
                'urn:xmpp:iot:sensordata = roster, ops@grid.example  # readers',
                '  urn:xmpp:iot:control=ops@grid.example/desk *.grid.example',
                '   # indented comment',
                'urn:iec:61850-8-2 = *',
            ].join('\r\n'),
        );
        assert.deepEqual(rules, [
            { namespace: 'urn:xmpp:iot:sensordata', allow: ['roster', 'ops@grid.example'] },
            { namespace: 'urn:xmpp:iot:control', allow: ['ops@grid.example/desk', '*.grid.example'] },
            { namespace: 'urn:iec:61850-8-2', allow: ['*'] },
        ]);
        assert.deepEqual(parseAccessRules(''), []);
    });

    test('a namespace that contains "#" (disco#info, pubsub#owner) is not cut off as a comment', () => {
        const rules = parseAccessRules(
            'http://jabber.org/protocol/disco#info = *\nhttp://jabber.org/protocol/pubsub#owner = ops@grid.example # owners',
        );
        assert.deepEqual(rules, [
            { namespace: 'http://jabber.org/protocol/disco#info', allow: ['*'] },
            { namespace: 'http://jabber.org/protocol/pubsub#owner', allow: ['ops@grid.example'] },
        ]);
    });

    test('a rule with no patterns allows nobody', () => {
        const rules = parseAccessRules('urn:x =');
        assert.deepEqual(rules, [{ namespace: 'urn:x', allow: [] }]);
        const ac = new AccessControl({ rules, isContact: () => true });
        assert.ok(!ac.allows('urn:x', 'a@b', SELF));
    });

    test('a line without "=" or without a namespace is refused with its line number', () => {
        assert.throws(
            () => parseAccessRules('urn:a = *\n# fine\njust some words'),
            /Access rule line 3: expected "namespace = /,
        );
        assert.throws(() => parseAccessRules('urn:a = *\n= *'), /Access rule line 2/);
    });

    test('a bad pattern is refused with its line number and the pattern', () => {
        assert.throws(
            () => parseAccessRules('urn:a = *\n\nurn:b = ok@grid.example, bad@@grid.example'),
            /Access rule line 3: "bad@@grid.example" is not a JID/,
        );
    });
});
