/** Self-signed TLS server certificate for the Green Button HTTPS server (RFC 5280 via node:crypto, no openssl). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { CertificateError, generateSelfSigned } from '../../src/protocols/greenbutton/selfsigned';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

function der(pem: string): Buffer {
    return Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
}

function pem(bytes: Buffer): string {
    return `-----BEGIN CERTIFICATE-----\n${bytes
        .toString('base64')
        .match(/.{1,64}/g)!
        .join('\n')}\n-----END CERTIFICATE-----\n`;
}

function expectBadInput(run: () => unknown, pattern: RegExp): void {
    assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof CertificateError, `expected a CertificateError, got ${String(err)}`);
        assert.ok(err instanceof Error);
        assert.equal(err.code, 'BAD_INPUT');
        assert.match(err.message, pattern);
        return true;
    });
}

describe('generateSelfSigned: certificate contents', () => {
    const made = generateSelfSigned({ commonName: 'gw.local', altNames: ['gw.local', '192.168.1.20'] });
    const x509 = new crypto.X509Certificate(made.cert);

    it('returns PEM with 64-character lines and a PKCS#8 EC P-256 key matching the certificate', () => {
        const lines = made.cert.trimEnd().split('\n');
        assert.equal(lines[0], '-----BEGIN CERTIFICATE-----');
        assert.equal(lines.at(-1), '-----END CERTIFICATE-----');
        for (const line of lines.slice(1, -2)) assert.equal(line.length, 64);
        assert.match(made.key, /^-----BEGIN PRIVATE KEY-----\n/);
        const key = crypto.createPrivateKey(made.key);
        assert.equal(key.asymmetricKeyType, 'ec');
        assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
        assert.ok(x509.checkPrivateKey(key));
    });

    it('parses, is self-signed (signature verifies with its own key) and names the CN as subject and issuer', () => {
        assert.ok(x509.verify(x509.publicKey));
        assert.equal(x509.subject, 'CN=gw.local');
        assert.equal(x509.issuer, 'CN=gw.local');
        // checkIssued(x509) is false on purpose: OpenSSL wants keyCertSign in an issuer, and this is no CA.
        assert.equal(x509.checkIssued(x509), false);
    });

    it('covers the given altNames plus localhost, 127.0.0.1 and ::1, and nothing else', () => {
        assert.equal(x509.checkHost('gw.local'), 'gw.local');
        assert.equal(x509.checkHost('localhost'), 'localhost');
        assert.equal(x509.checkIP('192.168.1.20'), '192.168.1.20');
        assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
        assert.equal(x509.checkIP('::1'), '::1');
        assert.equal(x509.checkHost('example.com'), undefined);
        assert.equal(x509.checkHost('other.local'), undefined);
        assert.equal(x509.checkIP('192.168.1.21'), undefined);
        assert.equal(x509.checkIP('10.0.0.1'), undefined);
    });

    it('is an end-entity server certificate: CA false, extKeyUsage serverAuth', () => {
        assert.equal(x509.ca, false);
        assert.deepEqual(x509.keyUsage, [SERVER_AUTH]);
    });

    it('reports the same SHA-256 fingerprint as X509Certificate', () => {
        assert.equal(made.fingerprint256, x509.fingerprint256);
        assert.match(made.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
        const digest = crypto.createHash('sha256').update(der(made.cert)).digest('hex');
        assert.equal(made.fingerprint256.replaceAll(':', '').toLowerCase(), digest);
    });

    it('uses a positive 16-byte serial and a fresh key each time', () => {
        const other = generateSelfSigned({ commonName: 'gw.local' });
        const otherX509 = new crypto.X509Certificate(other.cert);
        assert.match(x509.serialNumber, /^[4-7][0-9A-F]{31}$/);
        assert.notEqual(otherX509.serialNumber, x509.serialNumber);
        assert.notEqual(other.key, made.key);
        assert.ok(!x509.publicKey.equals(otherX509.publicKey));
        assert.notEqual(other.fingerprint256, made.fingerprint256);
    });
});

describe('generateSelfSigned: names', () => {
    it('defaults altNames to a host-name CN', () => {
        const x509 = new crypto.X509Certificate(generateSelfSigned({ commonName: 'meter-gw.example.net' }).cert);
        assert.equal(x509.checkHost('meter-gw.example.net'), 'meter-gw.example.net');
        assert.equal(x509.checkHost('localhost'), 'localhost');
    });

    it('defaults altNames to an IP-address CN', () => {
        const x509 = new crypto.X509Certificate(generateSelfSigned({ commonName: '10.1.2.3' }).cert);
        assert.equal(x509.checkIP('10.1.2.3'), '10.1.2.3');
    });

    it('leaves a CN that is not a host name out of subjectAltName', () => {
        const x509 = new crypto.X509Certificate(generateSelfSigned({ commonName: 'DERlink Green Button' }).cert);
        assert.equal(x509.subject, 'CN=DERlink Green Button');
        assert.equal(x509.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    });

    it('drops duplicates, comparing DNS names case-insensitively and IPv6 addresses by value', () => {
        const x509 = new crypto.X509Certificate(
            generateSelfSigned({ commonName: 'x', altNames: ['LOCALHOST', '0:0:0:0:0:0:0:1', '127.0.0.1'] }).cert,
        );
        assert.equal(x509.subjectAltName, 'DNS:localhost, IP Address:0:0:0:0:0:0:0:1, IP Address:127.0.0.1');
    });

    it('encodes wildcards and compressed or IPv4-mapped IPv6 addresses', () => {
        const x509 = new crypto.X509Certificate(
            generateSelfSigned({
                commonName: 'x',
                altNames: ['*.gw.local', 'fe80::1:2', '2001:db8::', '::ffff:1.2.3.4'],
            }).cert,
        );
        assert.equal(x509.checkHost('a.gw.local'), '*.gw.local');
        assert.equal(x509.checkHost('gw.local'), undefined);
        assert.equal(x509.checkIP('fe80:0:0:0:0:0:1:2'), 'fe80:0:0:0:0:0:1:2');
        assert.equal(x509.checkIP('2001:db8:0:0:0:0:0:0'), '2001:db8:0:0:0:0:0:0');
        assert.match(x509.subjectAltName ?? '', /IP Address:0:0:0:0:0:FFFF:102:304/);
    });

    it('encodes a UTF-8 common name of 64 characters', () => {
        const cn = `Zähler ${'ü'.repeat(57)}`;
        const x509 = new crypto.X509Certificate(generateSelfSigned({ commonName: cn }).cert);
        assert.equal(x509.subject, `CN=${cn}`);
    });
});

describe('generateSelfSigned: validity', () => {
    const now = new Date('2026-03-01T12:00:00Z');

    it('runs from five minutes before now to now + days', () => {
        const made = generateSelfSigned({ commonName: 'gw.local', days: 30, now });
        const x509 = new crypto.X509Certificate(made.cert);
        assert.equal(x509.validFromDate.toISOString(), '2026-03-01T11:55:00.000Z');
        assert.equal(x509.validToDate.toISOString(), '2026-03-31T12:00:00.000Z');
        assert.deepEqual(made.notBefore, x509.validFromDate);
        assert.deepEqual(made.notAfter, x509.validToDate);
    });

    it('defaults to 825 days and truncates to whole seconds', () => {
        const made = generateSelfSigned({ commonName: 'gw.local', now: new Date('2026-03-01T12:00:00.999Z') });
        const x509 = new crypto.X509Certificate(made.cert);
        assert.equal(x509.validToDate.getTime() - now.getTime(), 825 * 86_400_000);
        assert.equal(made.notBefore.toISOString(), '2026-03-01T11:55:00.000Z');
    });

    it('switches to GeneralizedTime from 2050 on (RFC 5280 4.1.2.5)', () => {
        const made = generateSelfSigned({ commonName: 'gw.local', now: new Date('2049-06-01Z'), days: 3650 });
        const x509 = new crypto.X509Certificate(made.cert);
        assert.ok(x509.verify(x509.publicKey));
        assert.equal(x509.validToDate.getUTCFullYear(), 2059);
        assert.equal(x509.validToDate.toISOString(), '2059-05-30T00:00:00.000Z');
        assert.equal(x509.validFromDate.toISOString(), '2049-05-31T23:55:00.000Z');
        const raw = x509.raw;
        assert.ok(raw.includes(Buffer.from('\x17\x0d490531235500Z', 'latin1')), 'notBefore is UTCTime');
        assert.ok(raw.includes(Buffer.from('\x18\x0f20590530000000Z', 'latin1')), 'notAfter is GeneralizedTime');
    });
});

describe('generateSelfSigned: bad input', () => {
    it('rejects an empty or blank common name', () => {
        expectBadInput(() => generateSelfSigned({ commonName: '' }), /commonName/);
        expectBadInput(() => generateSelfSigned({ commonName: '   ' }), /commonName/);
    });

    it('rejects a common name over 64 characters', () => {
        expectBadInput(() => generateSelfSigned({ commonName: 'a'.repeat(65) }), /64/);
        assert.doesNotThrow(() => generateSelfSigned({ commonName: 'a'.repeat(64) }));
    });

    it('rejects an altName that is neither a DNS name nor an IP address', () => {
        for (const bad of [
            'bad host!',
            '',
            '-gw.local',
            'gw..local',
            'a.*.local',
            `${'a'.repeat(64)}.local`,
            'fe80::1%eth0',
        ]) {
            expectBadInput(() => generateSelfSigned({ commonName: 'gw', altNames: [bad] }), /altName/);
        }
    });

    it('rejects days outside 1..3650 or not an integer', () => {
        for (const days of [0, 4000, -1, 1.5, Number.NaN]) {
            expectBadInput(() => generateSelfSigned({ commonName: 'gw', days }), /days/);
        }
        assert.doesNotThrow(() => generateSelfSigned({ commonName: 'gw', days: 1 }));
        assert.doesNotThrow(() => generateSelfSigned({ commonName: 'gw', days: 3650 }));
    });

    it('rejects an invalid Date', () => {
        expectBadInput(() => generateSelfSigned({ commonName: 'gw', now: new Date('nonsense') }), /now/);
    });
});

describe('generateSelfSigned: openssl agrees', () => {
    let dir = '';
    let certFile = '';
    let tamperedFile = '';

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'derlink-selfsigned-'));
        const made = generateSelfSigned({ commonName: 'gw.local', altNames: ['gw.local', '192.168.1.20'] });
        certFile = path.join(dir, 'cert.pem');
        fs.writeFileSync(certFile, made.cert);
        // Same certificate with one bit of the signature's s value flipped.
        const bytes = der(made.cert);
        bytes[bytes.length - 5]! ^= 0x01;
        tamperedFile = path.join(dir, 'tampered.pem');
        fs.writeFileSync(tamperedFile, pem(bytes));
    });

    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' });

    it('decodes the extensions and the signature algorithm', () => {
        const text = openssl('x509', '-noout', '-text', '-in', certFile);
        assert.match(text, /Version: 3 \(0x2\)/);
        assert.match(text, /X509v3 Subject Alternative Name/);
        assert.match(text, /DNS:gw\.local, IP Address:192\.168\.1\.20/);
        assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
        assert.match(text, /Key Usage: critical\s+Digital Signature/);
        assert.match(text, /TLS Web Server Authentication/);
        assert.match(text, /X509v3 Subject Key Identifier/);
        assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
        assert.match(text, /ASN1 OID: prime256v1/);
    });

    // `-check_ss_sig` is what makes openssl check the signature of a self-signed certificate that is itself the trust
    // anchor; without it (e.g. `verify -no-CApath -partial_chain -trusted cert cert`, or plain `-CAfile cert cert`)
    // OpenSSL 3.0 prints "OK" even for the tampered certificate below. `-partial_chain` lets a CA:FALSE certificate
    // be its own anchor.
    it('verifies the self-signature (openssl verify -check_ss_sig -partial_chain -CAfile cert cert)', () => {
        const out = openssl('verify', '-check_ss_sig', '-partial_chain', '-CAfile', certFile, certFile);
        assert.match(out, /: OK/);
    });

    it('fails that same verify for a certificate with a tampered signature', () => {
        assert.throws(
            () => openssl('verify', '-check_ss_sig', '-partial_chain', '-CAfile', tamperedFile, tamperedFile),
            (err: Error & { status?: number; stdout?: string; stderr?: string }) => {
                assert.notEqual(err.status, 0);
                assert.match(`${err.stdout}${err.stderr}`, /signature failure/);
                return true;
            },
        );
        const x509 = new crypto.X509Certificate(fs.readFileSync(tamperedFile));
        assert.equal(x509.verify(x509.publicKey), false);
    });

    it('matches its own fingerprint and host checks', () => {
        const made = new crypto.X509Certificate(fs.readFileSync(certFile));
        const out = openssl('x509', '-noout', '-fingerprint', '-sha256', '-in', certFile);
        assert.equal(out.trim(), `sha256 Fingerprint=${made.fingerprint256}`);
        assert.match(openssl('x509', '-noout', '-in', certFile, '-checkhost', 'gw.local'), /does match/);
        assert.match(openssl('x509', '-noout', '-in', certFile, '-checkip', '::1'), /does match/);
    });
});

describe('generateSelfSigned: TLS handshake', () => {
    const made = generateSelfSigned({ commonName: 'gw.local' });
    let server: tls.Server;
    let port = 0;

    before(async () => {
        server = tls.createServer({ key: made.key, cert: made.cert }, (socket) => socket.end());
        server.on('tlsClientError', () => {}); // a client that rejects the certificate aborts the handshake
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        port = (server.address() as AddressInfo).port;
    });

    after(async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    /** Connects with per-connection options only (no process-wide TLS settings); resolves the outcome. */
    function connect(options: tls.ConnectionOptions): Promise<{ authorized: boolean; error?: NodeJS.ErrnoException }> {
        return new Promise((resolve) => {
            const socket = tls.connect({ host: '127.0.0.1', port, ...options }, () => {
                const authorized = socket.authorized;
                socket.destroy();
                resolve({ authorized });
            });
            socket.on('error', (error: NodeJS.ErrnoException) => {
                socket.destroy();
                resolve({ authorized: false, error });
            });
        });
    }

    it('succeeds for a client that trusts the certificate (servername localhost)', async () => {
        const r = await connect({ ca: made.cert, servername: 'localhost' });
        assert.equal(r.error, undefined);
        assert.equal(r.authorized, true);
    });

    it('succeeds by IP address (127.0.0.1 in subjectAltName)', async () => {
        const r = await connect({ ca: made.cert });
        assert.equal(r.error, undefined);
        assert.equal(r.authorized, true);
    });

    it('fails without the certificate as CA, as self-signed', async () => {
        const r = await connect({ servername: 'localhost' });
        assert.equal(r.error?.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
        assert.match(r.error?.message ?? '', /self[- ]signed/);
    });

    it('fails for a host name the certificate does not cover', async () => {
        const r = await connect({ ca: made.cert, servername: 'example.com' });
        assert.equal(r.error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    });

    it('presents the certificate whose fingerprint the node shows', async () => {
        const fp = await new Promise<string>((resolve, reject) => {
            const socket = tls.connect({ host: '127.0.0.1', port, ca: made.cert, servername: 'localhost' }, () => {
                const peer = socket.getPeerCertificate();
                socket.destroy();
                resolve(peer.fingerprint256);
            });
            socket.on('error', reject);
        });
        assert.equal(fp, made.fingerprint256);
    });
});
