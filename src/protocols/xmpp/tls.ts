import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { XmppError } from './errors';

/**
 * How an account protects its stream:
 * - `starttls`: connect in clear, upgrade with STARTTLS (RFC 6120 §5); refuse a server that does not offer it.
 * - `direct`: TLS from the first byte (XEP-0368), ALPN `xmpp-client`.
 * - `none`: no TLS at all. Only for loopback test servers; PLAIN authentication is then refused.
 */
export type TlsMode = 'starttls' | 'direct' | 'none';

/** What an account trusts. Applied to its own connections only; process-wide TLS settings are never touched. */
export interface TlsTrust {
    /** PEM certificates trusted in addition to the system store (a private CA). */
    ca?: string | undefined;
    /** SHA-256 fingerprint of the one server certificate to accept (hex, colons optional). Overrides CA checks. */
    fingerprint?: string | undefined;
    /** Accept a self-signed server certificate; it must still name the domain and be within its validity dates. */
    allowSelfSigned?: boolean | undefined;
}

/** XEP-0368 §3: the ALPN protocol identifier for direct TLS client connections. */
export const ALPN_XMPP_CLIENT = 'xmpp-client';

/** OpenSSL verification results that mean "self-signed", and nothing worse. */
const SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);

export function normaliseFingerprint(fp: string): string {
    const hex = fp.replace(/[:\s]/g, '').toUpperCase();
    if (!/^[0-9A-F]{64}$/.test(hex)) {
        throw new XmppError(
            'BAD_INPUT',
            'A pinned certificate fingerprint must be 64 hex digits (SHA-256), colons allowed',
        );
    }
    return hex;
}

/** Most distinct trust stores kept (one per private CA in use); the oldest is dropped beyond. */
const MAX_CONTEXTS = 64;
const contexts = new Map<string, tls.SecureContext>();

/**
 * The secure context of a trust store: the system roots, plus the account's CA when it has one.
 * Built once per distinct CA and shared by the connections that trust the same store, because
 * building one parses every root certificate again (about 0.8 MB per connection, measured with
 * 1,000 accounts). It is still each connection's own option: nothing process-wide changes.
 */
export function secureContextFor(ca: string | undefined): tls.SecureContext {
    const key = ca?.trim() ?? '';
    let context = contexts.get(key);
    if (!context) {
        context = tls.createSecureContext({
            minVersion: 'TLSv1.2',
            ...(key ? { ca: [...tls.rootCertificates, key] } : {}),
        });
        if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value as string);
        contexts.set(key, context);
    }
    return context;
}

/** The tls.connect options for one account's connection (verification happens in verifyPeer). */
export function tlsOptions(domain: string, trust: TlsTrust, direct: boolean): tls.ConnectionOptions {
    const options: tls.ConnectionOptions = {
        servername: domain,
        minVersion: 'TLSv1.2',
        secureContext: secureContextFor(trust.ca),
        // Verification is done by verifyPeer once the handshake completes, so that each account's
        // own rules (pin, private CA, self-signed) apply and failures carry a clear reason.
        rejectUnauthorized: false,
    };
    if (direct) options.ALPNProtocols = [ALPN_XMPP_CLIENT];
    return options;
}

/** Throws XmppError(TLS_FAILED) unless the peer certificate satisfies the account's trust rules. */
export function verifyPeer(socket: tls.TLSSocket, domain: string, trust: TlsTrust): void {
    const cert = socket.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) {
        throw new XmppError('TLS_FAILED', 'The server presented no certificate');
    }
    if (trust.fingerprint?.trim()) {
        const want = normaliseFingerprint(trust.fingerprint);
        const got = (cert.fingerprint256 ?? '').replace(/:/g, '').toUpperCase();
        if (got !== want) {
            throw new XmppError(
                'TLS_FAILED',
                `Server certificate fingerprint ${cert.fingerprint256} does not match the pinned one`,
            );
        }
        return;
    }
    if (!socket.authorized) {
        const reason = String(socket.authorizationError ?? 'unknown reason');
        if (!(trust.allowSelfSigned && SELF_SIGNED.has(reason))) {
            const hint = SELF_SIGNED.has(reason)
                ? ' (add its CA to the account, pin its fingerprint, or allow self-signed)'
                : '';
            throw new XmppError('TLS_FAILED', `Server certificate is not trusted: ${reason}${hint}`);
        }
        const now = Date.now();
        if (now < Date.parse(cert.valid_from) || now > Date.parse(cert.valid_to)) {
            throw new XmppError(
                'TLS_FAILED',
                `Self-signed server certificate is outside its validity (${cert.valid_from} to ${cert.valid_to})`,
            );
        }
    }
    const mismatch = tls.checkServerIdentity(domain, cert);
    if (mismatch) throw new XmppError('TLS_FAILED', `Server certificate does not name ${domain}: ${mismatch.message}`);
}

export interface TlsSocketParameters {
    host: string;
    port: number;
    domain: string;
    trust: TlsTrust;
}

/**
 * A TLS socket with the shape @xmpp/connection expects of its sockets (connect, write, end,
 * events connect/data/close/error, `secure`). It reports `connect` only after verifyPeer
 * accepted the certificate, so nothing is written to an unverified peer.
 */
export class TlsSocket extends EventEmitter {
    readonly secure = true;
    socket: tls.TLSSocket | undefined;
    #verified = false;

    /** Direct TLS (XEP-0368): called by @xmpp/connection with our socketParameters. */
    connect(params: TlsSocketParameters): void {
        this.#attach(
            tls.connect({ ...tlsOptions(params.domain, params.trust, true), host: params.host, port: params.port }),
            params,
        );
    }

    /** STARTTLS (RFC 6120 §5.4.3.3): wraps an open TCP socket; resolves once the peer is verified. */
    static upgrade(raw: Socket, domain: string, trust: TlsTrust): Promise<TlsSocket> {
        const s = new TlsSocket();
        const done = new Promise<TlsSocket>((resolve, reject) => {
            s.once('connect', () => {
                s.off('error', reject);
                resolve(s);
            });
            s.once('error', reject);
        });
        s.#attach(tls.connect({ ...tlsOptions(domain, trust, false), socket: raw }), { domain, trust });
        return done;
    }

    #attach(socket: tls.TLSSocket, params: { domain: string; trust: TlsTrust }): void {
        this.socket = socket;
        socket.on('secureConnect', () => {
            try {
                verifyPeer(socket, params.domain, params.trust);
            } catch (err) {
                socket.destroy();
                this.emit('error', err);
                return;
            }
            this.#verified = true;
            this.emit('connect');
        });
        socket.on('data', (data: Buffer) => this.emit('data', data));
        socket.on('close', (hadError: boolean) => this.emit('close', hadError));
        socket.on('error', (err: NodeJS.ErrnoException) => {
            // Network errors pass through as they are; anything else before the handshake
            // completed is a TLS failure (protocol version, cipher, handshake alert...).
            const network = /^E(CONN|HOST|NET|TIMEDOUT|NOTFOUND|ADDR|PIPE|AI_)/.test(err.code ?? '');
            this.emit(
                'error',
                network || this.#verified
                    ? err
                    : new XmppError('TLS_FAILED', `TLS handshake failed: ${err.message}`, { cause: err }),
            );
        });
    }

    write(data: string, cb?: (err?: Error | null) => void): void {
        if (!this.socket || this.socket.destroyed) {
            cb?.(new Error('socket is closed'));
            return;
        }
        this.socket.write(data, cb);
    }

    end(): void {
        this.socket?.end();
    }

    destroy(): void {
        this.socket?.destroy();
    }
}
