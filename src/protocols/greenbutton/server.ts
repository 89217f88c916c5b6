/**
 * HTTPS with HTTP Basic authentication in front of the ESPI resources: the OpenSEG LAN profile (seed 004,
 * "Transport Layer Security" and "basic authentication"; design note A.3.3). Green Button Connect My Data proper
 * uses OAuth 2.0 bearer tokens; this is the home-LAN deviation the seed asks for.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { GreenButtonService } from './service';

export interface BasicUser {
    user: string;
    password: string;
}

export interface RateLimit {
    /** Wrong credentials from one address allowed within `windowMs` before it is refused for `blockMs`. */
    failures: number;
    windowMs: number;
    blockMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { failures: 5, windowMs: 60_000, blockMs: 60_000 };

/** One request as the server saw it (for the node's status and its access-log output; no credentials in it). */
export interface AccessRecord {
    time: number;
    remote: string;
    method: string;
    path: string;
    status: number;
    user?: string;
    bytes: number;
    ms: number;
}

export interface AuthOptions {
    users: readonly BasicUser[];
    realm?: string;
    rateLimit?: RateLimit;
    now?: () => number;
}

const digest = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest();

/**
 * Basic authentication (RFC 7617) with constant-time comparison of user and password (both hashed to equal
 * lengths, then crypto.timingSafeEqual), and a per-address limit on wrong attempts.
 */
export class BasicAuth {
    readonly realm: string;
    readonly rateLimit: RateLimit;
    #users: { user: Buffer; password: Buffer; name: string }[];
    #failures = new Map<string, { times: number[]; blockedUntil: number }>();
    #now: () => number;

    constructor(opts: AuthOptions) {
        this.realm = opts.realm ?? 'greenbutton';
        this.rateLimit = opts.rateLimit ?? DEFAULT_RATE_LIMIT;
        this.#now = opts.now ?? Date.now;
        this.#users = opts.users.map((u) => ({ user: digest(u.user), password: digest(u.password), name: u.user }));
    }

    get challenge(): string {
        return `Basic realm="${this.realm}", charset="UTF-8"`;
    }

    /** Seconds an address must wait, or 0 when it may try. */
    blockedFor(remote: string): number {
        const f = this.#failures.get(remote);
        const now = this.#now();
        if (!f || f.blockedUntil <= now) return 0;
        return Math.ceil((f.blockedUntil - now) / 1000);
    }

    /** The user name for a valid Authorization header; undefined for none or a wrong one (the latter counted). */
    check(
        remote: string,
        header: string | undefined,
    ): { user?: string; reason: 'ok' | 'missing' | 'malformed' | 'wrong' } {
        if (!header) return { reason: 'missing' };
        const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
        const decoded = m ? Buffer.from(m[1] as string, 'base64').toString('utf8') : '';
        const colon = decoded.indexOf(':');
        if (!m || colon < 0) {
            this.#fail(remote);
            return { reason: 'malformed' };
        }
        const user = digest(decoded.slice(0, colon));
        const password = digest(decoded.slice(colon + 1));
        let found: string | undefined;
        for (const u of this.#users) {
            // Both compared every time, for every user: no early exit that would time the match.
            const a = crypto.timingSafeEqual(u.user, user);
            const b = crypto.timingSafeEqual(u.password, password);
            if (a && b && found === undefined) found = u.name;
        }
        if (found === undefined) {
            this.#fail(remote);
            return { reason: 'wrong' };
        }
        return { user: found, reason: 'ok' };
    }

    #fail(remote: string): void {
        const now = this.#now();
        const f = this.#failures.get(remote) ?? { times: [], blockedUntil: 0 };
        f.times = f.times.filter((t) => t > now - this.rateLimit.windowMs);
        f.times.push(now);
        if (f.times.length >= this.rateLimit.failures) {
            f.blockedUntil = now + this.rateLimit.blockMs;
            f.times = [];
        }
        this.#failures.set(remote, f);
        if (this.#failures.size > 10_000) {
            // Bound the table: forget addresses that are neither blocked nor recently wrong.
            for (const [k, v] of this.#failures)
                if (v.blockedUntil <= now && v.times.every((t) => t <= now - this.rateLimit.windowMs))
                    this.#failures.delete(k);
        }
    }
}

export interface HandlerOptions {
    service: GreenButtonService;
    auth: BasicAuth;
    /** Path the resources are mounted under ('' on the own port). */
    mount?: string;
    onAccess?: (r: AccessRecord) => void;
}

function send(res: http.ServerResponse, status: number, headers: Record<string, string>, body: string): number {
    const buf = Buffer.from(body, 'utf8');
    res.writeHead(status, { ...headers, 'Content-Length': String(buf.length), 'Cache-Control': 'no-store' });
    res.end(res.req?.method === 'HEAD' ? undefined : buf);
    return buf.length;
}

/** Writes chunks with back-pressure, stopping when the client goes away. */
async function stream(res: http.ServerResponse, chunks: Iterable<string>): Promise<number> {
    let bytes = 0;
    for (const c of chunks) {
        if (res.destroyed) return bytes;
        bytes += Buffer.byteLength(c);
        if (!res.write(c)) {
            await new Promise<void>((resolve) => {
                const done = () => {
                    res.off('drain', done);
                    res.off('close', done);
                    resolve();
                };
                res.on('drain', done);
                res.on('close', done);
            });
        }
    }
    res.end();
    return bytes;
}

/**
 * The request handler: authentication, rate limit, then the ESPI router. Usable on our own HTTPS server and as a
 * route on Node-RED's HTTP server.
 */
export function espiHandler(opts: HandlerOptions): (req: http.IncomingMessage, res: http.ServerResponse) => void {
    const mount = opts.mount ?? '';
    return (req, res) => {
        const started = performance.now();
        const remote = req.socket.remoteAddress ?? 'unknown';
        const method = req.method ?? 'GET';
        const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
        const q = url.indexOf('?');
        const rawPath = q < 0 ? url : url.slice(0, q);
        const search = q < 0 ? '' : url.slice(q);
        const path = mount && rawPath.startsWith(mount) ? rawPath.slice(mount.length) : rawPath;
        const finish = (status: number, bytes: number, user?: string) =>
            opts.onAccess?.({
                time: Date.now(),
                remote,
                method,
                path: path.slice(0, 512),
                status,
                ...(user ? { user } : {}),
                bytes,
                ms: performance.now() - started,
            });
        const wait = opts.auth.blockedFor(remote);
        if (wait > 0) {
            const bytes = send(
                res,
                429,
                { 'Content-Type': 'text/plain;charset=UTF-8', 'Retry-After': String(wait) },
                'too many failed logins; try again later\n',
            );
            finish(429, bytes);
            return;
        }
        const auth = opts.auth.check(remote, req.headers.authorization);
        if (!auth.user) {
            const bytes = send(
                res,
                401,
                { 'Content-Type': 'text/plain;charset=UTF-8', 'WWW-Authenticate': opts.auth.challenge },
                'authentication required\n',
            );
            finish(401, bytes);
            return;
        }
        let r: ReturnType<GreenButtonService['handle']>;
        try {
            r = opts.service.handle(method, path, search, String(req.headers.accept ?? ''));
        } catch (err) {
            const bytes = send(
                res,
                500,
                { 'Content-Type': 'text/plain;charset=UTF-8' },
                `internal error: ${(err as Error).message}\n`,
            );
            finish(500, bytes, auth.user);
            return;
        }
        if (typeof r.body === 'string') {
            const bytes = send(res, r.status, r.headers, r.body);
            finish(r.status, bytes, auth.user);
            return;
        }
        if (method === 'HEAD') {
            // HEAD answers with the Content-Length its GET would have (RFC 9110 §9.3.2): counted, not built.
            let length = 0;
            for (const c of r.body) length += Buffer.byteLength(c);
            res.writeHead(r.status, { ...r.headers, 'Content-Length': String(length), 'Cache-Control': 'no-store' });
            res.end();
            finish(r.status, 0, auth.user);
            return;
        }
        res.writeHead(r.status, { ...r.headers, 'Cache-Control': 'no-store' });
        stream(res, r.body).then(
            (bytes) => finish(r.status, bytes, auth.user),
            (err: Error) => {
                res.destroy(err);
                finish(500, 0, auth.user);
            },
        );
    };
}

export interface ServerOptions extends HandlerOptions {
    key: string | Buffer;
    cert: string | Buffer;
    host?: string;
    port?: number;
    /** Whole request headers must arrive within this (slow-loris guard). Default 10 s. */
    headersTimeoutMs?: number;
    /** Idle keep-alive connections close after this. Default 5 s. */
    keepAliveTimeoutMs?: number;
    /** TLS handshakes must finish within this. Default 10 s. */
    handshakeTimeoutMs?: number;
    maxConnections?: number;
}

/** The gateway's own HTTPS server: TLS per this server only (nothing process-wide), Basic auth, slow-client limits. */
export class GreenButtonServer {
    readonly #opts: ServerOptions;
    #server?: https.Server;

    constructor(opts: ServerOptions) {
        this.#opts = opts;
    }

    async listen(): Promise<AddressInfo> {
        const o = this.#opts;
        const headersTimeout = o.headersTimeoutMs ?? 10_000;
        const server = https.createServer(
            {
                key: o.key,
                cert: o.cert,
                minVersion: 'TLSv1.2',
                handshakeTimeout: o.handshakeTimeoutMs ?? 10_000,
                headersTimeout,
                requestTimeout: headersTimeout + 5_000,
                keepAliveTimeout: o.keepAliveTimeoutMs ?? 5_000,
                connectionsCheckingInterval: Math.min(1_000, headersTimeout),
                maxHeaderSize: 16_384,
            },
            espiHandler(o),
        );
        server.maxConnections = o.maxConnections ?? 256;
        server.on('tlsClientError', () => {
            // A failed handshake is the client's problem; the socket is already closed.
        });
        server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
            if (err.code === 'ECONNRESET' || !socket.writable) {
                socket.destroy();
                return;
            }
            const status =
                err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
                    ? '408 Request Timeout'
                    : err.code === 'HPE_HEADER_OVERFLOW'
                      ? '431 Request Header Fields Too Large'
                      : '400 Bad Request';
            socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        });
        this.#server = server;
        await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(o.port ?? 0, o.host ?? '0.0.0.0', () => {
                server.off('error', reject);
                resolve();
            });
        });
        return server.address() as AddressInfo;
    }

    async close(): Promise<void> {
        const s = this.#server;
        this.#server = undefined;
        if (!s) return;
        await new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
        });
    }
}
