/**
 * A private Prosody for tests, benchmarks and the demo: generated config, a throwaway CA
 * and server certificate, accounts, a free loopback port. Stopped by PID.
 * Needs the Debian packages `prosody` and `openssl`; installs them when running as root.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureDebianPackages } from './debian';

export interface ProsodyOptions {
    /** user -> password; every account is created on `domain`. */
    accounts: Record<string, string>;
    domain?: string;
    /** Refuse unencrypted client streams (default false, so tests can also check clear-text refusals). */
    requireEncryption?: boolean;
    /** XEP-0198 hibernation time in seconds (how long a dropped session can be resumed). */
    hibernationSeconds?: number;
    /** Keep the data directory here (demo) instead of a temporary one. */
    dir?: string;
    /** Log level written to prosody.log. */
    logLevel?: 'debug' | 'info' | 'warn';
    /**
     * Serve a self-signed certificate for the domain (no CA), as a home server often does; accounts
     * then need `allowSelfSigned` or a pinned fingerprint. Default false: a throwaway CA signs it.
     */
    selfSigned?: boolean;
    /** Fixed loopback ports (the demo); default: free ports, kept in `dir` across restarts. */
    ports?: { c2s: number; direct: number };
    /** SASL mechanisms the server must not offer (e.g. SCRAM-SHA-1, to test PLAIN). */
    disableMechanisms?: string[];
    /** Offer PLAIN on unencrypted streams too (to test that the client refuses it). */
    plainInClear?: boolean;
}

export interface Prosody {
    readonly domain: string;
    readonly host: string;
    /** Client port (STARTTLS, or clear text when allowed). */
    readonly port: number;
    /** Direct TLS client port (XEP-0368). */
    readonly directTlsPort: number;
    /** PEM of the CA that signed the server certificate (trust this per account); with `selfSigned`, the certificate itself. */
    readonly caPem: string;
    /** SHA-256 fingerprint of the server certificate, colon-separated. */
    readonly fingerprint: string;
    readonly dir: string;
    readonly accounts: Readonly<Record<string, string>>;
    pid(): number | undefined;
    /** SIGTERM and wait for exit. */
    stop(): Promise<void>;
    /** SIGKILL (a crash) and wait for exit. */
    kill(): Promise<void>;
    /** Start again with the same ports, config and data. */
    start(): Promise<void>;
    /** SIGSTOP: the process stays, its sockets stay open, nothing answers (a dead link). */
    pause(): void;
    /** SIGCONT. */
    resume(): void;
    /** Removes the temporary directory (after stop). */
    cleanup(): void;
    log(): string;
}

export function ensureProsody(): void {
    ensureDebianPackages(['prosody', 'lua-unbound', 'openssl'], { prosody: 'prosody', openssl: 'openssl' });
}

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address() as net.AddressInfo;
            srv.close(() => resolve(port));
        });
    });
}

function writeCertificates(dir: string, domain: string, selfSigned: boolean): { caPem: string; fingerprint: string } {
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    if (selfSigned) {
        rmSync(path.join(dir, 'ca.pem'), { force: true });
        // One certificate, its own issuer, naming the domain (tls.checkServerIdentity still applies).
        run([
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-keyout',
            `${domain}.key`,
            '-out',
            `${domain}.crt`,
            '-days',
            '365',
            '-subj',
            `/CN=${domain}`,
            '-addext',
            `subjectAltName=DNS:${domain}`,
            '-addext',
            'extendedKeyUsage=serverAuth',
        ]);
        const pem = readFileSync(path.join(dir, `${domain}.crt`), 'utf8');
        return { caPem: pem, fingerprint: new X509Certificate(pem).fingerprint256 };
    }
    run([
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.pem',
        '-days',
        '30',
        '-subj',
        '/CN=DERlink test CA',
    ]);
    run([
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${domain}.key`,
        '-out',
        'server.csr',
        '-subj',
        `/CN=${domain}`,
    ]);
    writeFileSync(path.join(dir, 'san.ext'), `subjectAltName=DNS:${domain}\nextendedKeyUsage=serverAuth\n`);
    run([
        'x509',
        '-req',
        '-in',
        'server.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${domain}.crt`,
        '-days',
        '30',
        '-extfile',
        'san.ext',
    ]);
    const cert = new X509Certificate(readFileSync(path.join(dir, `${domain}.crt`)));
    return { caPem: readFileSync(path.join(dir, 'ca.pem'), 'utf8'), fingerprint: cert.fingerprint256 };
}

/** Prosody's datamanager file-name encoding: every non-alphanumeric character becomes %xx. */
function encodePart(s: string): string {
    return s.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function luaString(s: string): string {
    return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export async function startProsody(options: ProsodyOptions): Promise<Prosody> {
    ensureProsody();
    const domain = options.domain ?? 'localhost';
    const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'derlink-prosody-'));
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const certFile = path.join(dir, `${domain}.crt`);
    const selfSigned = options.selfSigned === true;
    let certs: { caPem: string; fingerprint: string } | undefined;
    if (existsSync(certFile)) {
        // Reuse the certificate of a kept directory if it is of the kind asked for and valid for another day.
        const cert = new X509Certificate(readFileSync(certFile));
        const caFile = path.join(dir, 'ca.pem');
        const fresh = Date.parse(cert.validTo) > Date.now() + 86_400_000;
        if (fresh && selfSigned && cert.issuer === cert.subject) {
            certs = { caPem: cert.toString(), fingerprint: cert.fingerprint256 };
        } else if (fresh && !selfSigned && existsSync(caFile)) {
            certs = { caPem: readFileSync(caFile, 'utf8'), fingerprint: cert.fingerprint256 };
        }
    }
    certs ??= writeCertificates(dir, domain, selfSigned);
    const accountDir = path.join(dir, 'data', encodePart(domain), 'accounts');
    mkdirSync(accountDir, { recursive: true });
    for (const [user, password] of Object.entries(options.accounts)) {
        writeFileSync(
            path.join(accountDir, `${encodePart(user)}.dat`),
            `return {\n\t["password"] = ${luaString(password)};\n};\n`,
        );
    }
    const portsFile = path.join(dir, 'ports.json');
    const ports: { c2s: number; direct: number } =
        options.ports ??
        (existsSync(portsFile)
            ? JSON.parse(readFileSync(portsFile, 'utf8'))
            : { c2s: await freePort(), direct: await freePort() });
    writeFileSync(portsFile, JSON.stringify(ports));
    const config = path.join(dir, 'prosody.cfg.lua');
    writeFileSync(
        config,
        `-- generated by DERlink test/support/prosody.ts
run_as_root = true
pidfile = ${luaString(path.join(dir, 'prosody.pid'))}
data_path = ${luaString(path.join(dir, 'data'))}
log = { { levels = { min = ${luaString(options.logLevel ?? 'info')} }, to = "file", filename = ${luaString(path.join(dir, 'prosody.log'))} } }
interfaces = { "127.0.0.1" }
c2s_ports = { ${ports.c2s} }
c2s_direct_tls_ports = { ${ports.direct} }
s2s_ports = { }
http_ports = { }
https_ports = { }
legacy_ssl_ports = { }
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "presence", "message", "iq", "offline", "smacks", "posix", "time", "version" }
modules_disabled = { "s2s" }
authentication = "internal_plain"
storage = "internal"
c2s_require_encryption = ${options.requireEncryption ? 'true' : 'false'}
allow_unencrypted_plain_auth = ${options.plainInClear ? 'true' : 'false'}
disable_sasl_mechanisms = { ${['DIGEST-MD5', ...(options.disableMechanisms ?? [])].map(luaString).join(', ')} }
smacks_hibernation_time = ${options.hibernationSeconds ?? 60}
certificates = ${luaString(dir)}
VirtualHost ${luaString(domain)}
    ssl = { certificate = ${luaString(certFile)}, key = ${luaString(path.join(dir, `${domain}.key`))} }
`,
    );

    let child: ChildProcess | undefined;
    let output = '';

    const waitExit = (p: ChildProcess, ms: number) =>
        new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const t = setTimeout(() => {
                p.kill('SIGKILL');
            }, ms);
            p.once('exit', () => {
                clearTimeout(t);
                resolve();
            });
        });

    const server: Prosody = {
        domain,
        host: '127.0.0.1',
        port: ports.c2s,
        directTlsPort: ports.direct,
        caPem: certs.caPem,
        fingerprint: certs.fingerprint,
        dir,
        accounts: { ...options.accounts },
        pid: () => child?.pid,
        async start() {
            output = '';
            const p = spawn('prosody', ['--config', config, '-F'], { stdio: ['ignore', 'pipe', 'pipe'] });
            child = p;
            p.stdout?.on('data', (d: Buffer) => {
                output += d.toString();
            });
            p.stderr?.on('data', (d: Buffer) => {
                output += d.toString();
            });
            const deadline = Date.now() + 20_000;
            while (Date.now() < deadline) {
                if (p.exitCode !== null) {
                    throw new Error(
                        `Prosody exited with ${p.exitCode} while starting:\n${output}\n${server.log().slice(-2000)}`,
                    );
                }
                if ((await canConnect(ports.c2s)) && (await canConnect(ports.direct))) return;
                await new Promise((r) => setTimeout(r, 50));
            }
            p.kill('SIGKILL');
            throw new Error(`Prosody did not open port ${ports.c2s} within 20 s:\n${output}`);
        },
        async stop() {
            if (!child) return;
            const p = child;
            child = undefined;
            p.kill('SIGCONT');
            p.kill('SIGTERM');
            await waitExit(p, 5000);
        },
        async kill() {
            if (!child) return;
            const p = child;
            child = undefined;
            p.kill('SIGKILL');
            await waitExit(p, 5000);
        },
        pause() {
            child?.kill('SIGSTOP');
        },
        resume() {
            child?.kill('SIGCONT');
        },
        cleanup() {
            if (!options.dir) rmSync(dir, { recursive: true, force: true });
        },
        log() {
            const f = path.join(dir, 'prosody.log');
            return existsSync(f) ? readFileSync(f, 'utf8') : '';
        },
    };
    await server.start();
    return server;
}

function canConnect(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1' });
        s.once('connect', () => {
            s.destroy();
            resolve(true);
        });
        s.once('error', () => resolve(false));
    });
}

/** SHA-256 of a PEM certificate, colon-separated (as Node prints fingerprint256). */
export function fingerprintOf(pem: string): string {
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    return createHash('sha256')
        .update(der)
        .digest('hex')
        .toUpperCase()
        .replace(/(..)(?!$)/g, '$1:');
}
