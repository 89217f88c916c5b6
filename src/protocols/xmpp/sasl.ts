import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

import { XmppError } from './errors';

/**
 * SASL client mechanisms for XMPP (RFC 6120 §6): SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1
 * (RFC 5802), with the server signature verified so the server proves it knows the password
 * too, and PLAIN (RFC 4616), which is only ever used over TLS.
 */
export interface SaslMechanism {
    readonly name: string;
    /** The initial response sent in `<auth/>` (text before base64). */
    initial(): string;
    /** Answers one server challenge. */
    respond(challenge: string): string | Promise<string>;
    /** Checks the additional data of `<success/>`; throws when the server failed to prove itself. */
    verifySuccess(data: string): void;
}

export interface SaslCredentials {
    username: string;
    password: string;
}

/** Lower and upper bound on the PBKDF2 iteration count a server may ask for. */
const SCRAM_MIN_ITERATIONS = 1;
const SCRAM_MAX_ITERATIONS = 1_000_000;

function authFailed(message: string): XmppError {
    return new XmppError('AUTH_FAILED', message);
}

/** RFC 5802 §5.1: saslname escaping of ',' and '='. */
function saslName(name: string): string {
    return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** Parses `k=v,k=v` attribute lists of SCRAM messages (values may contain '='). */
function scramAttributes(message: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const part of message.split(',')) {
        const eq = part.indexOf('=');
        if (eq === 1) out.set(part[0] as string, part.slice(2));
    }
    return out;
}

/** The SCRAM family (RFC 5802), with the hash as a parameter: SHA-1 (RFC 5802) or SHA-256 (RFC 7677). */
abstract class Scram implements SaslMechanism {
    abstract readonly name: string;
    readonly #hash: 'sha1' | 'sha256';
    readonly #keyLength: number;
    readonly #username: string;
    readonly #password: string;
    readonly #clientNonce: string;
    #clientFirstBare = '';
    #serverSignature: Buffer | undefined;

    constructor(hash: 'sha1' | 'sha256', credentials: SaslCredentials, clientNonce: string) {
        this.#hash = hash;
        this.#keyLength = hash === 'sha1' ? 20 : 32;
        this.#username = credentials.username;
        this.#password = credentials.password;
        this.#clientNonce = clientNonce;
    }

    initial(): string {
        this.#clientFirstBare = `n=${saslName(this.#username.normalize('NFKC'))},r=${this.#clientNonce}`;
        return `n,,${this.#clientFirstBare}`;
    }

    async respond(serverFirst: string): Promise<string> {
        if (this.#serverSignature) throw authFailed('SCRAM: unexpected second challenge');
        const attrs = scramAttributes(serverFirst);
        if (attrs.has('e')) throw authFailed(`SCRAM: server error ${attrs.get('e')}`);
        // RFC 5802 §5.1: an unknown mandatory extension must make authentication fail.
        if (attrs.has('m')) throw authFailed('SCRAM: the server requires an extension (m=) that is not supported');
        const nonce = attrs.get('r') ?? '';
        const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
        const iterations = Number(attrs.get('i'));
        if (!nonce.startsWith(this.#clientNonce) || nonce.length <= this.#clientNonce.length) {
            throw authFailed('SCRAM: server nonce does not extend the client nonce');
        }
        if (salt.length === 0) throw authFailed('SCRAM: server sent no salt');
        if (!Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
            throw authFailed(
                `SCRAM: iteration count ${attrs.get('i')} is outside ${SCRAM_MIN_ITERATIONS}..${SCRAM_MAX_ITERATIONS}`,
            );
        }
        const h = this.#hash;
        const salted = await pbkdf2Async(this.#password.normalize('NFKC'), salt, iterations, this.#keyLength, h);
        const clientKey = createHmac(h, salted).update('Client Key').digest();
        const storedKey = createHash(h).update(clientKey).digest();
        const withoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,"): no channel binding, no authzid
        const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
        const clientSignature = createHmac(h, storedKey).update(authMessage).digest();
        const proof = Buffer.alloc(clientKey.length);
        for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] as number) ^ (clientSignature[i] as number);
        const serverKey = createHmac(h, salted).update('Server Key').digest();
        this.#serverSignature = createHmac(h, serverKey).update(authMessage).digest();
        return `${withoutProof},p=${proof.toString('base64')}`;
    }

    verifySuccess(serverFinal: string): void {
        if (!this.#serverSignature) throw authFailed('SCRAM: success before the exchange completed');
        const attrs = scramAttributes(serverFinal);
        if (attrs.has('e')) throw authFailed(`SCRAM: server error ${attrs.get('e')}`);
        const v = Buffer.from(attrs.get('v') ?? '', 'base64');
        if (v.length !== this.#serverSignature.length || !timingSafeEqual(v, this.#serverSignature)) {
            throw authFailed('SCRAM: the server signature is wrong; the server does not know the password');
        }
    }
}

export class ScramSha1 extends Scram {
    readonly name = 'SCRAM-SHA-1';

    constructor(credentials: SaslCredentials, clientNonce = randomBytes(18).toString('base64')) {
        super('sha1', credentials, clientNonce);
    }
}

export class ScramSha256 extends Scram {
    readonly name = 'SCRAM-SHA-256';

    constructor(credentials: SaslCredentials, clientNonce = randomBytes(18).toString('base64')) {
        super('sha256', credentials, clientNonce);
    }
}

export class Plain implements SaslMechanism {
    readonly name = 'PLAIN';
    readonly #credentials: SaslCredentials;

    constructor(credentials: SaslCredentials) {
        this.#credentials = credentials;
    }

    initial(): string {
        const { username, password } = this.#credentials;
        // RFC 4616 §2: NUL separates the fields, so it cannot appear in them.
        if (username.includes('\u0000') || password.includes('\u0000')) {
            throw authFailed('PLAIN: the user name or password contains NUL, which PLAIN cannot carry');
        }
        return `\u0000${username}\u0000${password}`;
    }

    respond(): string {
        throw authFailed('PLAIN: the server sent a challenge, which PLAIN never expects');
    }

    verifySuccess(): void {}
}

/**
 * Picks the mechanism for an account: SCRAM-SHA-256, then SCRAM-SHA-1 when offered; otherwise
 * PLAIN, but only on a TLS-protected stream. Throws AUTH_FAILED naming what the server offered when nothing fits.
 */
export function chooseMechanism(
    offered: readonly string[],
    secure: boolean,
    credentials: SaslCredentials,
): SaslMechanism {
    if (offered.includes('SCRAM-SHA-256')) return new ScramSha256(credentials);
    if (offered.includes('SCRAM-SHA-1')) return new ScramSha1(credentials);
    if (offered.includes('PLAIN')) {
        if (secure) return new Plain(credentials);
        throw authFailed(
            `The server offers ${offered.join(', ')} on an unencrypted stream; of these DERlink supports only PLAIN, and refuses to send a password in clear`,
        );
    }
    throw authFailed(
        `No supported SASL mechanism: the server offers ${offered.join(', ') || 'none'}; DERlink supports SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN`,
    );
}
