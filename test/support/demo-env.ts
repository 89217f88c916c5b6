import { randomBytes } from 'node:crypto';
/**
 * The demo environment of `npm start` and the editor e2e test: a private Prosody on localhost
 * with a self-signed certificate (as a home server often has), fixed demo accounts, and the
 * `xmpp-account` config nodes the examples under examples/ reference (ids `derlink-demo-<user>`).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, type Prosody, startProsody } from './prosody';

export const DEMO_DOMAIN = 'localhost';
/** The ports the examples name (STARTTLS, and direct TLS). */
export const DEMO_PORTS = { c2s: 15222, direct: 15223 } as const;

/** Demo passwords: the server only listens on 127.0.0.1 and holds nothing but demo data. */
export const DEMO_PASSWORDS = {
    heatpump: 'heatpump-demo',
    aggregator: 'aggregator-demo',
    operator: 'operator-demo',
    smartplug: 'smartplug-demo',
    meters: 'meters-demo',
    hp1: 'hp1-demo',
} as const;

export type DemoUser = keyof typeof DEMO_PASSWORDS;

/**
 * Demo accounts bound to a fixed resource: hp1 is the IEC 61850-8-2 server of the examples, and
 * 8-2 clients address a server as `<account>/IEC`.
 */
export const DEMO_RESOURCES: Readonly<Partial<Record<string, string>>> = { hp1: 'IEC' };

export interface DemoAccount {
    user: DemoUser;
    jid: string;
    password: string;
    /** Id of its xmpp-account config node. */
    nodeId: string;
}

/** An xmpp-account config node as flow JSON (the properties of the examples' account nodes). */
export interface DemoConfigNode {
    id: string;
    type: 'xmpp-account';
    name: string;
    jid: string;
    resource: string;
    host: string;
    port: string;
    tls: 'starttls';
    ca: string;
    fingerprint: string;
    allowSelfSigned: true;
    priority: number;
    presenceStatus: string;
    subscriptions: 'all';
    allowlist: string;
    defaultAccess: 'all';
    accessRules: string;
    keepalive: number;
    keepaliveTimeout: number;
    reconnectMin: number;
    reconnectMax: number;
    streamManagement: true;
    maxStanzaKiB: number;
}

export interface DemoEnvironment {
    prosody: Prosody;
    accounts: DemoAccount[];
    /** True when Prosody runs on DEMO_PORTS, so the examples' account nodes reach it. */
    fixedPorts: boolean;
    /**
     * The config nodes of every demo account and a ZigBee coordinator (no radio: set its port to use
     * it), with their credentials for flows_cred.json.
     */
    demoConfigNodes(): {
        nodes: Array<DemoConfigNode | DemoCoordinatorNode>;
        credentials: Record<string, Record<string, string>>;
    };
    stop(): Promise<void>;
}

/** The demo's zigbee-coordinator config node: a network of its own, no port set (so no radio opens). */
export interface DemoCoordinatorNode {
    id: 'zigbee-demo-coordinator';
    type: 'zigbee-coordinator';
    name: string;
    serialPath: '';
    adapterType: 'auto';
    baudRate: '';
    rtscts: false;
    channel: string;
    panId: string;
    extendedPanId: '';
    meters: '';
}

export function demoCoordinatorNode(): DemoCoordinatorNode {
    return {
        id: 'zigbee-demo-coordinator',
        type: 'zigbee-coordinator',
        name: 'ZigBee coordinator (demo: set the port and the meter)',
        serialPath: '',
        adapterType: 'auto',
        baudRate: '',
        rtscts: false,
        channel: '11',
        panId: '0x1a62',
        extendedPanId: '',
        meters: '',
    };
}

export function demoNodeId(user: string): string {
    return `derlink-demo-${user}`;
}

/** The config node of a demo account on a server at host:port (the examples use 127.0.0.1 and DEMO_PORTS.c2s). */
export function demoConfigNode(user: string, host = '127.0.0.1', port: number = DEMO_PORTS.c2s): DemoConfigNode {
    const jid = `${user}@${DEMO_DOMAIN}`;
    return {
        id: demoNodeId(user),
        type: 'xmpp-account',
        name: `${jid} (demo)`,
        jid,
        resource: DEMO_RESOURCES[user] ?? '',
        host,
        port: String(port),
        tls: 'starttls',
        ca: '',
        fingerprint: '',
        allowSelfSigned: true,
        priority: 0,
        presenceStatus: '',
        subscriptions: 'all',
        allowlist: '',
        defaultAccess: 'all',
        accessRules: '',
        keepalive: 60,
        keepaliveTimeout: 10,
        reconnectMin: 1,
        reconnectMax: 60,
        streamManagement: true,
        maxStanzaKiB: 1024,
    };
}

function portIsFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.once('error', () => resolve(false));
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
}

/**
 * A Prosody left running by an earlier demo that was killed hard still holds the demo ports.
 * Stop it, but only if its command line names this directory's config file.
 */
function stopStaleProsody(dir: string): void {
    let pid: number;
    try {
        pid = Number(readFileSync(path.join(dir, 'prosody.pid'), 'utf8').trim());
    } catch {
        return;
    }
    if (!Number.isInteger(pid) || pid <= 1) return;
    try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmdline.includes(path.join(dir, 'prosody.cfg.lua'))) process.kill(pid, 'SIGTERM');
    } catch {
        // not running any more
    }
}

export async function startDemoEnvironment(options: {
    dir: string;
    ports?: { c2s: number; direct: number };
}): Promise<DemoEnvironment> {
    const dir = path.resolve(options.dir);
    stopStaleProsody(dir);
    let ports = options.ports ?? { ...DEMO_PORTS };
    if (!(await portIsFree(ports.c2s)) || !(await portIsFree(ports.direct))) {
        // Give a stale server a moment to release the ports before falling back.
        await new Promise((r) => setTimeout(r, 1000));
    }
    if (!(await portIsFree(ports.c2s)) || !(await portIsFree(ports.direct))) {
        const fallback = { c2s: await freePort(), direct: await freePort() };
        console.warn(
            `WARNING: port ${ports.c2s} or ${ports.direct} on 127.0.0.1 is in use; the demo XMPP server uses ` +
                `${fallback.c2s}/${fallback.direct} instead. Account nodes imported from the examples name port ` +
                `${DEMO_PORTS.c2s}: use the demo's own account nodes, or edit the port.`,
        );
        ports = fallback;
    }
    const users = Object.keys(DEMO_PASSWORDS) as DemoUser[];
    const prosody = await startProsody({
        accounts: { ...DEMO_PASSWORDS },
        domain: DEMO_DOMAIN,
        dir,
        selfSigned: true,
        ports,
    });
    const accounts: DemoAccount[] = users.map((user) => ({
        user,
        jid: `${user}@${DEMO_DOMAIN}`,
        password: DEMO_PASSWORDS[user],
        nodeId: demoNodeId(user),
    }));
    return {
        prosody,
        accounts,
        fixedPorts: prosody.port === DEMO_PORTS.c2s && prosody.directTlsPort === DEMO_PORTS.direct,
        demoConfigNodes() {
            const nodes: Array<DemoConfigNode | DemoCoordinatorNode> = accounts.map((a) =>
                demoConfigNode(a.user, prosody.host, prosody.port),
            );
            const credentials: Record<string, Record<string, string>> = {};
            for (const a of accounts) credentials[a.nodeId] = { password: a.password };
            // A network key of its own for each demo directory (the coordinator opens no radio until a port is set).
            const coordinator = demoCoordinatorNode();
            nodes.push(coordinator);
            credentials[coordinator.id] = { networkKey: randomBytes(16).toString('hex') };
            return { nodes, credentials };
        },
        async stop() {
            await prosody.stop();
        },
    };
}
