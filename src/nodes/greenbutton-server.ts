import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import {
    type AccessRecord,
    BasicAuth,
    type BasicUser,
    espiHandler,
    FileHistoryStore,
    GreenButtonServer,
    GreenButtonService,
    generateSelfSigned,
    History,
} from '../protocols/greenbutton';
import { configFailed } from '../shared/account-user';
import { NodeError } from '../shared/errors';
import { checkBaseUrl, gatewayInfo, grouping } from '../shared/greenbutton-config';
import { readingsFromMessage } from '../shared/greenbutton-msg';
import { numberField } from '../shared/xmpp-config';

interface GreenButtonServerConfig extends NodeDef {
    serveOn?: string;
    host?: string;
    port?: string | number;
    prefix?: string;
    baseUrl?: string;
    tlsMode?: string;
    tls?: string;
    history?: string | number;
    persist?: boolean;
    grouping?: string;
    emptyResult?: string;
    failures?: string | number;
    blockSeconds?: string | number;
    subscriptionId?: string;
    usagePointId?: string;
    title?: string;
    timezone?: string;
    accessLog?: boolean;
}

type Credentials = Partial<Record<`user${1 | 2 | 3 | 4}` | `password${1 | 2 | 3 | 4}`, string>>;

interface ServerInfo {
    url: string;
    fingerprint256?: string;
    selfSigned: boolean;
    serving: boolean;
    readings: number;
    users: number;
}

interface GreenButtonServerNode extends Node {
    greenButtonInfo?: () => ServerInfo;
}

/** Up to four LAN accounts from the credential store; a name without a password is a configuration error. */
function usersOf(creds: Credentials | undefined): BasicUser[] {
    const users: BasicUser[] = [];
    for (const i of [1, 2, 3, 4] as const) {
        const user = creds?.[`user${i}`]?.trim() ?? '';
        const password = creds?.[`password${i}`] ?? '';
        if (user === '' && password === '') continue;
        if (user === '') throw new NodeError('CONFIG', `Account ${i} has a password but no user name`);
        if (password === '') throw new NodeError('CONFIG', `User "${user}" has no password`);
        if (user.includes(':')) throw new NodeError('CONFIG', `User name "${user}" may not contain ":" (Basic auth)`);
        users.push({ user, password });
    }
    return users;
}

/**
 * The generated certificate, kept beside the flows so its fingerprint stays the same across restarts; made again
 * when it is unreadable or within 30 days of expiry. The key file is written with mode 0600.
 */
function selfSignedFor(file: string | undefined, host: string): { key: string; cert: string; fingerprint256: string } {
    if (file) {
        try {
            const kept = JSON.parse(fs.readFileSync(file, 'utf8')) as { key: string; cert: string };
            const x = new crypto.X509Certificate(kept.cert);
            if (Date.parse(x.validTo) - Date.now() > 30 * 86_400_000 && x.checkHost(host))
                return { ...kept, fingerprint256: x.fingerprint256 };
        } catch {
            // none yet, or damaged: make a new one
        }
    }
    const names = [host, `${host}.local`].filter((n) => /^[A-Za-z0-9.-]+$/.test(n));
    const made = generateSelfSigned({ commonName: host.slice(0, 64), altNames: names });
    if (file) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify({ key: made.key, cert: made.cert }), { mode: 0o600 });
    }
    return made;
}

export = (RED: NodeAPI): void => {
    const running = new Map<string, GreenButtonServerNode>();

    function GreenButtonServerNodeInit(this: GreenButtonServerNode, config: GreenButtonServerConfig): void {
        RED.nodes.createNode(this, config);
        const userDir = (RED.settings as { userDir?: string }).userDir;
        const fileFor = (suffix: string) =>
            userDir
                ? path.join(userDir, `derlink-greenbutton-${this.id.replace(/[^\w.-]/g, '_')}${suffix}`)
                : undefined;
        let history: History;
        let service: GreenButtonService;
        let users: BasicUser[];
        let server: GreenButtonServer | undefined;
        let removeRoute: (() => void) | undefined;
        let retry: NodeJS.Timeout | undefined;
        let closing = false;
        let requests = 0;
        let serving = false;
        let url = '';
        let fingerprint: string | undefined;
        let statusTimer: NodeJS.Timeout | undefined;
        const serveOn = config.serveOn === 'nodered' ? 'nodered' : 'port';

        const showServing = () => {
            statusTimer = undefined;
            if (!serving) return;
            let readings = 0;
            for (const s of history.list()) readings += s.ring.length;
            this.status({
                fill: 'green',
                shape: 'dot',
                text: RED._('greenbutton-server.status.serving', { url, readings, requests }),
            });
        };
        const showSoon = () => {
            if (!statusTimer) statusTimer = setTimeout(showServing, 1000);
        };

        try {
            if (config.serveOn && config.serveOn !== 'port' && config.serveOn !== 'nodered')
                throw new NodeError('CONFIG', `Serve on "${config.serveOn}" must be port or nodered`);
            users = usersOf(this.credentials as Credentials);
            const port = numberField(config.port, 8443, 1, 65535, 'Port', true);
            const host = os.hostname();
            let defaultBase = `https://${host}:${port}`;
            let mount = '';
            if (serveOn === 'nodered') {
                const prefix = config.prefix?.trim() || '/greenbutton';
                if (!/^\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/.test(prefix))
                    throw new NodeError('CONFIG', `Path prefix "${prefix}" must start with / and not end with one`);
                if (!config.baseUrl?.trim())
                    throw new NodeError(
                        'CONFIG',
                        "On Node-RED's server, set the base URL clients use (https://host:1880/...)",
                    );
                const root = String((RED.settings as { httpNodeRoot?: string | false }).httpNodeRoot || '/').replace(
                    /\/$/,
                    '',
                );
                mount = root + prefix;
                defaultBase = checkBaseUrl(config.baseUrl.trim());
            }
            const info = gatewayInfo(config, defaultBase);
            url = `${info.baseUrl}/espi/1_1/resource`;
            const file = config.persist === false ? undefined : fileFor('.json');
            const capacity = numberField(config.history, 10_000, 1, 1_000_000, 'History', true);
            try {
                history = new History({ capacity, ...(file ? { store: new FileHistoryStore(file) } : {}) });
            } catch (err) {
                if (!file || (err as { code?: string }).code !== 'STORE') throw err;
                // Keep the damaged file for inspection and start a fresh history rather than refuse to serve.
                const aside = `${file}.damaged-${Date.now()}`;
                fs.renameSync(file, aside);
                this.warn(`${(err as Error).message}; kept as ${aside}, starting a new history`);
                history = new History({ capacity, store: new FileHistoryStore(file) });
            }
            const emptyResult = config.emptyResult === 'empty-feed' ? 'empty-feed' : 'not-found';
            service = new GreenButtonService({ info, history, grouping: grouping(config.grouping), emptyResult });
            const auth = new BasicAuth({
                users,
                rateLimit: {
                    failures: numberField(config.failures, 5, 1, 100, 'Failures', true),
                    windowMs: 60_000,
                    blockMs: numberField(config.blockSeconds, 60, 1, 86_400, 'Block', true) * 1000,
                },
            });
            const onAccess = (r: AccessRecord) => {
                requests++;
                showSoon();
                if (config.accessLog) this.send({ topic: r.path, payload: r } as NodeMessage);
            };
            running.set(this.id, this);
            this.greenButtonInfo = () => {
                let readings = 0;
                for (const s of history.list()) readings += s.ring.length;
                return {
                    url,
                    ...(fingerprint ? { fingerprint256: fingerprint } : {}),
                    selfSigned: serveOn === 'port' && config.tlsMode !== 'config',
                    serving,
                    readings,
                    users: users.length,
                };
            };
            if (users.length === 0) {
                this.status({ fill: 'red', shape: 'ring', text: RED._('greenbutton-server.status.no-users') });
                this.warn('No user is configured: the Green Button server does not serve until one is added');
            } else if (serveOn === 'nodered') {
                const handler = espiHandler({ service, auth, mount, onAccess });
                const route = `${mount}/espi/1_1/resource/*`;
                RED.httpNode.all(route, (req, res) => handler(req, res));
                removeRoute = () => {
                    const router = (RED.httpNode as unknown as { _router?: { stack: { route?: { path: string } }[] } })
                        ._router;
                    if (router) router.stack = router.stack.filter((l) => l.route?.path !== route);
                };
                serving = true;
                showServing();
            } else {
                let tls: { key: string | Buffer; cert: string | Buffer };
                if (config.tlsMode === 'config') {
                    const tlsNode = config.tls ? RED.nodes.getNode(config.tls) : null;
                    const opts: { key?: string | Buffer; cert?: string | Buffer } = {};
                    (tlsNode as unknown as { addTLSOptions?: (o: object) => void } | null)?.addTLSOptions?.(opts);
                    if (!opts.key || !opts.cert)
                        throw new NodeError('CONFIG', 'The TLS configuration gives no certificate and key');
                    tls = { key: opts.key, cert: opts.cert };
                    fingerprint = new crypto.X509Certificate(opts.cert).fingerprint256;
                } else {
                    const made = selfSignedFor(fileFor('-tls.json'), host);
                    tls = made;
                    fingerprint = made.fingerprint256;
                    this.log(`Self-signed certificate SHA-256 fingerprint ${made.fingerprint256}`);
                }
                const host4 = config.host?.trim() || '0.0.0.0';
                const start = () => {
                    retry = undefined;
                    if (closing) return;
                    this.status({ fill: 'yellow', shape: 'ring', text: RED._('greenbutton-server.status.starting') });
                    const s = new GreenButtonServer({ service, auth, onAccess, ...tls, host: host4, port });
                    s.listen().then(
                        () => {
                            if (closing) {
                                void s.close();
                                return;
                            }
                            server = s;
                            serving = true;
                            showServing();
                        },
                        (err: NodeJS.ErrnoException) => {
                            const why =
                                err.code === 'EADDRINUSE'
                                    ? `port ${port} is in use`
                                    : err.code === 'EACCES'
                                      ? `no permission for port ${port}`
                                      : err.message;
                            this.status({
                                fill: 'red',
                                shape: 'ring',
                                text: RED._('greenbutton-server.status.error', { error: why }),
                            });
                            this.error(`Green Button server on ${host4}:${port}: ${why}; trying again in 10 s`);
                            if (!closing) retry = setTimeout(start, 10_000);
                        },
                    );
                };
                start();
            }
        } catch (err) {
            running.delete(this.id);
            configFailed(this, err, RED._('greenbutton-server.status.config-error'));
            return;
        }

        this.on('input', (msg, _send, done) => {
            try {
                const parsed = readingsFromMessage(msg);
                for (const r of parsed.readings) history.add(r.key, r.spec, r);
                showSoon();
                done();
            } catch (err) {
                done(err as Error);
            }
        });
        this.on('close', (_removed: boolean, done: () => void) => {
            closing = true;
            serving = false;
            running.delete(this.id);
            if (retry) clearTimeout(retry);
            if (statusTimer) clearTimeout(statusTimer);
            removeRoute?.();
            try {
                history.flush();
            } catch (err) {
                this.error(`Could not keep the Green Button history: ${(err as Error).message}`);
            }
            const s = server;
            server = undefined;
            (s ? s.close() : Promise.resolve()).then(
                () => done(),
                () => done(),
            );
        });
    }

    RED.nodes.registerType(
        'greenbutton-server',
        GreenButtonServerNodeInit as unknown as Parameters<typeof RED.nodes.registerType>[1],
        {
            credentials: {
                user1: { type: 'text' },
                password1: { type: 'password' },
                user2: { type: 'text' },
                password2: { type: 'password' },
                user3: { type: 'text' },
                password3: { type: 'password' },
                user4: { type: 'text' },
                password4: { type: 'password' },
            },
        } as Parameters<typeof RED.nodes.registerType>[2],
    );

    RED.httpAdmin.get(
        '/derlink/greenbutton-server/:id/info',
        RED.auth.needsPermission('greenbutton-server.read'),
        (req, res) => {
            const node = running.get(String(req.params.id));
            const info = node?.greenButtonInfo?.();
            if (!info) {
                res.status(404).json({ error: 'This Green Button server is not deployed' });
                return;
            }
            res.json(info);
        },
    );
};
