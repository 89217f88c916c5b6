import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { XmppError } from '../../src/protocols/xmpp/errors';
import { chooseMechanism, Plain, ScramSha1, ScramSha256 } from '../../src/protocols/xmpp/sasl';

// RFC 5802 §5: the SCRAM-SHA-1 example exchange (user "user", password "pencil").
const RFC = {
    username: 'user',
    password: 'pencil',
    clientNonce: 'fyko+d2lbbFgONRv9qkxdawL',
    clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
};
const SERVER_NONCE = `${RFC.clientNonce}3rfcNHYJY1ZVvWVs7j`;

function rfcScram(): ScramSha1 {
    return new ScramSha1({ username: RFC.username, password: RFC.password }, RFC.clientNonce);
}

/** Asserts that `run` fails with XmppError AUTH_FAILED and a message matching `pattern`. */
async function expectAuthFailed(run: () => unknown, pattern: RegExp): Promise<void> {
    let caught: unknown;
    try {
        await run();
    } catch (err) {
        caught = err;
    }
    assert.ok(caught instanceof XmppError, `expected an XmppError, got ${String(caught)}`);
    assert.equal(caught.code, 'AUTH_FAILED', caught.message);
    assert.match(caught.message, pattern);
}

describe('SCRAM-SHA-1 (RFC 5802)', () => {
    test('client-first, client-final and server-final match the RFC 5802 §5 example', async () => {
        const scram = rfcScram();
        assert.equal(scram.name, 'SCRAM-SHA-1');
        assert.equal(scram.initial(), RFC.clientFirst);
        assert.equal(await scram.respond(RFC.serverFirst), RFC.clientFinal);
        assert.doesNotThrow(() => scram.verifySuccess(RFC.serverFinal));
    });

    test('a wrong server signature is AUTH_FAILED: the server did not prove it knows the password', async () => {
        const scram = rfcScram();
        scram.initial();
        await scram.respond(RFC.serverFirst);
        const wrong = Buffer.from('rmF9pqV8S7suAoZWja4dJRkFsKQ=', 'base64');
        wrong[0] = (wrong[0] as number) ^ 1;
        await expectAuthFailed(() => scram.verifySuccess(`v=${wrong.toString('base64')}`), /server signature is wrong/);
        await expectAuthFailed(() => scram.verifySuccess('v=rmF9pqV8S7suAoZWja4d'), /server signature/);
        await expectAuthFailed(() => scram.verifySuccess(''), /server signature/);
        await expectAuthFailed(() => scram.verifySuccess('x=1'), /server signature/);
    });

    test('a server signature computed for another password is refused', async () => {
        const scram = new ScramSha1({ username: 'user', password: 'not pencil' }, RFC.clientNonce);
        scram.initial();
        const final = await scram.respond(RFC.serverFirst);
        assert.notEqual(final, RFC.clientFinal);
        await expectAuthFailed(() => scram.verifySuccess(RFC.serverFinal), /server signature/);
    });

    test('success before the challenge was answered is refused', async () => {
        const scram = rfcScram();
        scram.initial();
        await expectAuthFailed(() => scram.verifySuccess(RFC.serverFinal), /before the exchange completed/);
    });

    test('a second challenge is refused', async () => {
        const scram = rfcScram();
        scram.initial();
        await scram.respond(RFC.serverFirst);
        await expectAuthFailed(() => scram.respond(RFC.serverFirst), /unexpected second challenge/);
    });

    test('a server nonce that does not extend the client nonce is refused', async () => {
        for (const r of ['3rfcNHYJY1ZVvWVs7j', `x${RFC.clientNonce}3rfc`, RFC.clientNonce, '']) {
            const scram = rfcScram();
            scram.initial();
            await expectAuthFailed(
                () => scram.respond(`r=${r},s=QSXCR+Q6sek8bf92,i=4096`),
                /nonce does not extend the client nonce/,
            );
        }
    });

    test('a missing or empty salt is refused', async () => {
        for (const serverFirst of [`r=${SERVER_NONCE},i=4096`, `r=${SERVER_NONCE},s=,i=4096`]) {
            const scram = rfcScram();
            scram.initial();
            await expectAuthFailed(() => scram.respond(serverFirst), /no salt/);
        }
    });

    test('iteration counts 0, 10^7, negative, fractional, missing or not a number are refused', async () => {
        for (const i of ['0', '10000000', '-1', '4096.5', 'abc', '']) {
            const scram = rfcScram();
            scram.initial();
            await expectAuthFailed(
                () => scram.respond(`r=${SERVER_NONCE},s=QSXCR+Q6sek8bf92,i=${i}`),
                /iteration count .* is outside/,
            );
        }
        const scram = rfcScram();
        scram.initial();
        await expectAuthFailed(() => scram.respond(`r=${SERVER_NONCE},s=QSXCR+Q6sek8bf92`), /iteration count/);
    });

    test('a server error (e=) in server-first or server-final is AUTH_FAILED naming the error', async () => {
        const first = rfcScram();
        first.initial();
        await expectAuthFailed(() => first.respond('e=unknown-user'), /server error unknown-user/);

        const final = rfcScram();
        final.initial();
        await final.respond(RFC.serverFirst);
        await expectAuthFailed(() => final.verifySuccess('e=invalid-proof'), /server error invalid-proof/);
    });

    test('a mandatory extension (m=) in server-first makes authentication fail (RFC 5802 §5.1)', async () => {
        const scram = rfcScram();
        scram.initial();
        await expectAuthFailed(() => scram.respond(`m=ext,${RFC.serverFirst}`), /extension|m=/);
    });

    test('saslname escaping: "=" becomes =3D and "," becomes =2C', () => {
        const scram = new ScramSha1({ username: 'a,b=c', password: 'p' }, 'nonce');
        assert.equal(scram.initial(), 'n,,n=a=2Cb=3Dc,r=nonce');
        const tricky = new ScramSha1({ username: 'x=2C,', password: 'p' }, 'nonce');
        assert.equal(tricky.initial(), 'n,,n=x=3D2C=2C,r=nonce');
    });

    test('the username is normalised (NFKC, as SASLprep does)', () => {
        const scram = new ScramSha1({ username: 'ｕｓｅｒ', password: 'p' }, 'nonce');
        assert.equal(scram.initial(), 'n,,n=user,r=nonce');
    });

    test('the password is normalised before hashing: a compatibility form gives the same proof', async () => {
        const plain = rfcScram();
        plain.initial();
        const wide = new ScramSha1({ username: 'user', password: 'ｐｅｎｃｉｌ' }, RFC.clientNonce);
        wide.initial();
        assert.equal(await wide.respond(RFC.serverFirst), await plain.respond(RFC.serverFirst));
    });

    test('a random client nonce is used when none is given, and differs between exchanges', () => {
        const a = new ScramSha1({ username: 'user', password: 'p' }).initial();
        const b = new ScramSha1({ username: 'user', password: 'p' }).initial();
        assert.match(a, /^n,,n=user,r=[A-Za-z0-9+/=]{16,}$/);
        assert.notEqual(a, b);
        assert.ok(!/,r=.*,/.test(a), 'the nonce holds no comma');
    });
});

describe('SCRAM-SHA-256 (RFC 7677)', () => {
    test('client-final and server signature match the RFC 7677 §3 example', async () => {
        const m = new ScramSha256({ username: 'user', password: 'pencil' }, 'rOprNGfwEbeRWgbNEkqO');
        assert.equal(m.name, 'SCRAM-SHA-256');
        assert.equal(m.initial(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
        const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
        assert.equal(
            await m.respond(serverFirst),
            'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
        );
        assert.doesNotThrow(() => m.verifySuccess('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='));
    });

    test('a SCRAM-SHA-1 server signature does not pass for SCRAM-SHA-256', async () => {
        const m = new ScramSha256({ username: 'user', password: 'pencil' }, 'rOprNGfwEbeRWgbNEkqO');
        await m.respond('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
        assert.throws(() => m.verifySuccess('v=rmF9pqV8S7suAoZWja4dJRkFsKQ='), XmppError);
    });
});

describe('PLAIN (RFC 4616)', () => {
    test('the initial response is NUL authcid NUL password, UTF-8 encoded (RFC 4616 §4 example)', () => {
        const plain = new Plain({ username: 'tim', password: 'tanstaaftanstaaf' });
        assert.equal(plain.name, 'PLAIN');
        const bytes = Buffer.from(plain.initial(), 'utf8');
        assert.equal(bytes.toString('base64'), 'AHRpbQB0YW5zdGFhZnRhbnN0YWFm');
        assert.deepEqual([...bytes.subarray(0, 4)], [0, 0x74, 0x69, 0x6d]);
    });

    test('non-ASCII credentials are carried as UTF-8', () => {
        const bytes = Buffer.from(new Plain({ username: 'jürgen', password: 'pässwörd' }).initial(), 'utf8');
        assert.deepEqual(
            bytes,
            Buffer.concat([Buffer.from([0]), Buffer.from('jürgen'), Buffer.from([0]), Buffer.from('pässwörd')]),
        );
    });

    test('a challenge is refused; success needs no check', async () => {
        const plain = new Plain({ username: 'u', password: 'p' });
        await expectAuthFailed(() => plain.respond(), /PLAIN.*challenge/);
        assert.doesNotThrow(() => plain.verifySuccess());
    });

    test('credentials holding NUL, which would shift the PLAIN fields, are refused with a clear error', () => {
        let caught: unknown;
        try {
            new Plain({ username: 'user', password: 'pa\u0000ss' }).initial();
        } catch (err) {
            caught = err;
        }
        assert.ok(caught instanceof XmppError, 'a password with NUL was sent as is');
        assert.match(caught.message, /NUL/);
    });
});

describe('chooseMechanism', () => {
    const creds = { username: 'user', password: 'pencil' };

    test('SCRAM-SHA-1 is preferred over PLAIN, on secure and on clear streams', () => {
        assert.ok(chooseMechanism(['PLAIN', 'SCRAM-SHA-1'], true, creds) instanceof ScramSha1);
        assert.ok(chooseMechanism(['PLAIN', 'SCRAM-SHA-1'], false, creds) instanceof ScramSha1);
        assert.ok(chooseMechanism(['SCRAM-SHA-1'], false, creds) instanceof ScramSha1);
    });

    test('SCRAM-SHA-256 is preferred over SCRAM-SHA-1 and PLAIN', () => {
        assert.ok(chooseMechanism(['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256'], true, creds) instanceof ScramSha256);
        assert.ok(chooseMechanism(['SCRAM-SHA-256', 'PLAIN'], false, creds) instanceof ScramSha256);
    });

    test('PLAIN is used only on a secure stream', async () => {
        assert.ok(chooseMechanism(['PLAIN', 'DIGEST-MD5'], true, creds) instanceof Plain);
        await expectAuthFailed(() => chooseMechanism(['PLAIN'], false, creds), /PLAIN.*unencrypted.*refuses/);
    });

    test('with nothing usable the message lists what the server offered and what DERlink supports', async () => {
        await expectAuthFailed(
            () => chooseMechanism(['DIGEST-MD5', 'SCRAM-SHA-1-PLUS', 'X-OAUTH2'], true, creds),
            /offers DIGEST-MD5, SCRAM-SHA-1-PLUS, X-OAUTH2.*supports SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN/,
        );
        await expectAuthFailed(() => chooseMechanism([], true, creds), /offers none/);
    });

    test('refusing PLAIN on a clear stream still names every mechanism the server offered', async () => {
        await expectAuthFailed(
            () => chooseMechanism(['DIGEST-MD5', 'PLAIN'], false, creds),
            /DIGEST-MD5.*PLAIN|PLAIN.*DIGEST-MD5/,
        );
    });
});
