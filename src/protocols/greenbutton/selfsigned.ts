/**
 * A self-signed TLS server certificate for the Green Button HTTPS server node, built with `node:crypto` alone: an
 * EC P-256 key, an X.509 v3 certificate (RFC 5280) encoded by the small DER writer below and signed with
 * ecdsa-with-SHA256. Used when the user supplies no certificate; the node shows the SHA-256 fingerprint so a client
 * can pin it.
 */

import crypto from 'node:crypto';
import net from 'node:net';

/** Inputs to {@link generateSelfSigned}. */
export interface SelfSignedOptions {
    /** Subject and issuer common name (RFC 5280 4.1.2.4, ub-common-name 64). */
    commonName: string;
    /** DNS names and IP addresses for subjectAltName (RFC 5280 4.2.1.6); defaults to the common name if it is a host. */
    altNames?: string[];
    /** Validity in days, 1..3650; default 825. */
    days?: number;
    /** Issue time; default the current time. */
    now?: Date;
}

/** A generated key and certificate, both PEM, with the validity actually encoded (whole seconds). */
export interface SelfSigned {
    /** PKCS#8 private key, PEM. */
    key: string;
    /** X.509 certificate, PEM. */
    cert: string;
    /** SHA-256 of the certificate DER as `crypto.X509Certificate#fingerprint256` formats it ("AB:CD:..."). */
    fingerprint256: string;
    notBefore: Date;
    notAfter: Date;
}

/** Rejected input to {@link generateSelfSigned}. */
export class CertificateError extends Error {
    readonly code = 'BAD_INPUT';

    constructor(message: string) {
        super(message);
        this.name = 'CertificateError';
    }
}

export const DEFAULT_DAYS = 825;
export const MAX_DAYS = 3650;
/** RFC 5280 Appendix A.1, ub-common-name. */
const MAX_COMMON_NAME = 64;
/** Hosts every generated certificate answers for, so a local client can always connect. */
const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'];
const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

const OID = {
    commonName: '2.5.4.3',
    /** RFC 5758 3.2; the AlgorithmIdentifier carries no parameters. */
    ecdsaWithSha256: '1.2.840.10045.4.3.2',
    subjectKeyIdentifier: '2.5.29.14',
    keyUsage: '2.5.29.15',
    subjectAltName: '2.5.29.17',
    basicConstraints: '2.5.29.19',
    extKeyUsage: '2.5.29.37',
    serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

// ---------------------------------------------------------------------------------------------------------------
// DER encoding (X.690). Each function returns one complete TLV.

const TAG = {
    boolean: 0x01,
    integer: 0x02,
    bitString: 0x03,
    octetString: 0x04,
    oid: 0x06,
    utf8String: 0x0c,
    utcTime: 0x17,
    generalizedTime: 0x18,
    sequence: 0x30,
    set: 0x31,
} as const;

/** Definite length: short form below 128, otherwise 0x80 | count followed by the big-endian length bytes. */
function derLength(n: number): Buffer {
    if (n < 0x80) return Buffer.from([n]);
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Uint8Array): Buffer {
    return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

function sequence(...items: Uint8Array[]): Buffer {
    return tlv(TAG.sequence, Buffer.concat(items));
}

/** SET OF: DER orders the encoded elements (X.690 11.6). */
function set(...items: Buffer[]): Buffer {
    return tlv(TAG.set, Buffer.concat([...items].sort(Buffer.compare)));
}

/** A non-negative INTEGER from big-endian magnitude bytes: minimal, with 0x00 in front when the top bit is set. */
function integer(magnitude: Uint8Array): Buffer {
    let start = 0;
    while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
    const bytes = Buffer.from(magnitude.subarray(start));
    if (bytes.length === 0) return tlv(TAG.integer, Buffer.from([0]));
    return tlv(TAG.integer, (bytes[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function smallInteger(n: number): Buffer {
    return integer(Buffer.from([n]));
}

/** OBJECT IDENTIFIER from dotted form: the first two arcs as 40 * a + b, each arc base-128 with continuation bits. */
function oid(dotted: string): Buffer {
    const arcs = dotted.split('.').map((a) => {
        if (!/^\d+$/.test(a)) throw new Error(`bad OID ${dotted}`);
        return BigInt(a);
    });
    if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) throw new Error(`bad OID ${dotted}`);
    const out: number[] = [];
    for (const arc of [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)]) {
        const group = [Number(arc & 0x7fn)];
        for (let v = arc >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80);
        out.push(...group);
    }
    return tlv(TAG.oid, Buffer.from(out));
}

function utf8String(s: string): Buffer {
    return tlv(TAG.utf8String, Buffer.from(s, 'utf8'));
}

function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
    return tlv(TAG.bitString, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

function octetString(bytes: Uint8Array): Buffer {
    return tlv(TAG.octetString, bytes);
}

const TRUE = tlv(TAG.boolean, Buffer.from([0xff]));

/** RFC 5280 4.1.2.5: UTCTime (YYMMDDHHMMSSZ) for 1950..2049, GeneralizedTime (YYYYMMDDHHMMSSZ) otherwise. */
function time(d: Date): Buffer {
    const p = (n: number) => String(n).padStart(2, '0');
    const year = d.getUTCFullYear();
    const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
    const tail = `${rest}${p(d.getUTCSeconds())}Z`;
    if (year >= 1950 && year < 2050) return tlv(TAG.utcTime, Buffer.from(`${p(year % 100)}${tail}`, 'ascii'));
    return tlv(TAG.generalizedTime, Buffer.from(`${String(year).padStart(4, '0')}${tail}`, 'ascii'));
}

/** Constructed context-specific [n] EXPLICIT. */
function explicit(n: number, inner: Uint8Array): Buffer {
    return tlv(0xa0 | n, inner);
}

/** Primitive context-specific [n] IMPLICIT (used for GeneralName choices). */
function implicit(n: number, content: Uint8Array): Buffer {
    return tlv(0x80 | n, content);
}

/** Reads one TLV header at `offset`; returns where its content starts and ends. */
function readTlv(buf: Buffer, offset: number): { tag: number; start: number; end: number } {
    const tag = buf[offset];
    let len = buf[offset + 1];
    if (tag === undefined || len === undefined) throw new Error('truncated DER');
    let start = offset + 2;
    if (len & 0x80) {
        const count = len & 0x7f;
        len = 0;
        for (let i = 0; i < count; i++) len = len * 256 + (buf[start + i] ?? 0);
        start += count;
    }
    if (start + len > buf.length) throw new Error('truncated DER');
    return { tag, start, end: start + len };
}

// ---------------------------------------------------------------------------------------------------------------
// Input checks

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function isDnsName(name: string): boolean {
    const host = name.startsWith('*.') ? name.slice(2) : name;
    if (host.length === 0 || host.length > 253) return false;
    return host.split('.').every((label) => DNS_LABEL.test(label));
}

/** Bytes of an IPv4 or IPv6 address (no zone index), or undefined if `s` is not one. */
function ipBytes(s: string): Buffer | undefined {
    const family = net.isIP(s);
    if (family === 4) return Buffer.from(s.split('.').map(Number));
    if (family !== 6 || s.includes('%')) return undefined;
    const groups = (part: string): number[] => {
        if (part === '') return [];
        const out: number[] = [];
        for (const g of part.split(':')) {
            if (g.includes('.')) {
                const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
                out.push((a << 8) | b, (c << 8) | d);
            } else {
                out.push(Number.parseInt(g, 16));
            }
        }
        return out;
    };
    const [head = '', tail] = s.split('::');
    const left = groups(head);
    const right = tail === undefined ? [] : groups(tail);
    const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
    const out = Buffer.alloc(16);
    for (const [i, w] of words.entries()) out.writeUInt16BE(w, i * 2);
    return out;
}

/** One subjectAltName GeneralName (RFC 5280 4.2.1.6): dNSName [2] IA5String or iPAddress [7] OCTET STRING. */
function generalName(name: string): Buffer {
    const ip = ipBytes(name);
    if (ip) return implicit(7, ip);
    if (isDnsName(name)) return implicit(2, Buffer.from(name.toLowerCase(), 'ascii'));
    throw new CertificateError(`altName "${name}" is neither a DNS name nor an IP address`);
}

function checkOptions(opts: SelfSignedOptions): { commonName: string; names: string[]; days: number; now: Date } {
    const { commonName } = opts;
    if (typeof commonName !== 'string' || commonName.trim() === '') {
        throw new CertificateError('commonName must be a non-empty string');
    }
    if ([...commonName].length > MAX_COMMON_NAME) {
        throw new CertificateError(`commonName is longer than ${MAX_COMMON_NAME} characters`);
    }
    const days = opts.days ?? DEFAULT_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
        throw new CertificateError(`days must be an integer from 1 to ${MAX_DAYS}, got ${days}`);
    }
    const now = opts.now ?? new Date();
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new CertificateError('now must be a valid Date');
    if (opts.altNames !== undefined && !Array.isArray(opts.altNames)) {
        throw new CertificateError('altNames must be an array of strings');
    }
    const isHost = ipBytes(commonName) !== undefined || isDnsName(commonName);
    const requested = opts.altNames ?? (isHost ? [commonName] : []);
    for (const n of requested) {
        if (typeof n !== 'string') throw new CertificateError('altNames must be an array of strings');
    }
    return { commonName, names: [...requested, ...LOCAL_NAMES], days, now };
}

// ---------------------------------------------------------------------------------------------------------------
// Certificate

/** Name ::= SEQUENCE OF RelativeDistinguishedName, here the single RDN CN=<commonName> (RFC 5280 4.1.2.4). */
function name(commonName: string): Buffer {
    return sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 4.1). */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
    return critical ? sequence(oid(id), TRUE, octetString(value)) : sequence(oid(id), octetString(value));
}

/** The subjectPublicKey BIT STRING contents (without the unused-bits octet) of a SubjectPublicKeyInfo. */
function subjectPublicKey(spki: Buffer): Buffer {
    const outer = readTlv(spki, 0);
    const algorithm = readTlv(spki, outer.start);
    const key = readTlv(spki, algorithm.end);
    if (outer.tag !== TAG.sequence || key.tag !== TAG.bitString) throw new Error('unexpected SubjectPublicKeyInfo');
    return spki.subarray(key.start + 1, key.end);
}

function toPem(der: Buffer): string {
    const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
    return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** SHA-256 of the DER, upper-case hex pairs joined with colons, as `X509Certificate#fingerprint256` gives it. */
function fingerprint(der: Buffer): string {
    const hex = crypto.createHash('sha256').update(der).digest('hex').toUpperCase();
    return hex.match(/../g)!.join(':');
}

/**
 * Generates an EC P-256 key (RFC 5480 2.1.1.1, namedCurve prime256v1) and a self-signed X.509 v3 server certificate
 * for it: TBSCertificate per RFC 5280 4.1, random positive 16-byte serial (4.1.2.2), issuer = subject = CN, validity
 * from 5 minutes before `now` to `now + days` (4.1.2.5), and the extensions subjectAltName (4.2.1.6; always with
 * localhost, 127.0.0.1 and ::1), basicConstraints CA:FALSE (4.2.1.9, critical), keyUsage digitalSignature (4.2.1.3,
 * critical), extKeyUsage serverAuth (4.2.1.12) and subjectKeyIdentifier (4.2.1.2, method 1: SHA-1 of the key). The
 * signature is ecdsa-with-SHA256 (RFC 5758 3.2), DER-encoded Ecdsa-Sig-Value (RFC 5480 2.2 / RFC 3279 2.2.3).
 * Throws {@link CertificateError} for a bad common name, altName or day count.
 */
export function generateSelfSigned(opts: SelfSignedOptions): SelfSigned {
    const { commonName, names, days, now } = checkOptions(opts);

    // Encode (and so validate) every name before generating anything; duplicates compare by encoding, so "::1" and
    // "0:0:0:0:0:0:0:1", or "GW.local" and "gw.local", appear once.
    const generalNames: Buffer[] = [];
    const seen = new Set<string>();
    for (const n of names) {
        const gn = generalName(n);
        const id = gn.toString('hex');
        if (!seen.has(id)) {
            seen.add(id);
            generalNames.push(gn);
        }
    }

    const notBefore = new Date(Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000);
    const notAfter = new Date(Math.floor((now.getTime() + days * DAY_MS) / 1000) * 1000);
    if (notAfter.getUTCFullYear() > 9999) throw new CertificateError('the certificate would expire after year 9999');

    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });

    const serial = crypto.randomBytes(16);
    serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, and always 16 octets long

    const signatureAlgorithm = sequence(oid(OID.ecdsaWithSha256));
    const subject = name(commonName);
    const extensions = sequence(
        extension(OID.subjectAltName, false, sequence(...generalNames)),
        extension(OID.basicConstraints, true, sequence()),
        extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)), // digitalSignature (bit 0)
        extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
        extension(
            OID.subjectKeyIdentifier,
            false,
            octetString(crypto.createHash('sha1').update(subjectPublicKey(spki)).digest()),
        ),
    );
    const tbs = sequence(
        explicit(0, smallInteger(2)), // version v3
        integer(serial),
        signatureAlgorithm,
        subject, // issuer
        sequence(time(notBefore), time(notAfter)),
        subject,
        spki,
        explicit(3, extensions),
    );
    const signature = crypto.sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
    const der = sequence(tbs, signatureAlgorithm, bitString(signature));

    return {
        key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        cert: toPem(der),
        fingerprint256: fingerprint(der),
        notBefore,
        notAfter,
    };
}
