/**
 * Node-RED 5 embedded in this process (express app + http server + RED.init + RED.start), with this
 * package loaded from the repository through `nodesDir`. Used by the editor e2e test and `npm start`.
 * Settings keep it quiet and offline: no telemetry, tours, catalogue or palette installs.
 * Node-RED is a per-process singleton: start one per process (one per test file).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import RED from 'node-red';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** One runtime log record. */
export interface LogLine {
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
    /** `[level] [type:name] message`, as Node-RED prints it. */
    text: string;
    /** The node type and id when a node logged it. */
    type?: string;
    id?: string;
}

export interface NodeRedOptions {
    userDir: string;
    /** 0 (default) picks a free port. */
    port?: number;
    host?: string;
    /** Written to userDir/flows.json before start (overwrites). */
    flows?: readonly object[];
    /** Written in clear to userDir/flows_cred.json before start: `{ [nodeId]: { password } }`. */
    credentials?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** What Node-RED prints on the console (default `error`, quiet tests); every warn/error is collected either way. */
    consoleLevel?: 'off' | 'error' | 'warn' | 'info';
}

export interface NodeRedInstance {
    /** Base URL of the editor and admin API, ending without a slash (`http://127.0.0.1:1880`). */
    readonly url: string;
    readonly port: number;
    /** Every warn, error and fatal log line since start. */
    readonly logs: LogLine[];
    /** Every log line at info level and above (Node-RED reports missing node types at info level). */
    readonly messages: LogLine[];
    stop(): Promise<void>;
}

/** The node types this package declares (package.json `node-red.nodes`), type -> file. */
export function packageNodeTypes(): Record<string, string> {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
        'node-red'?: { nodes?: Record<string, string> };
    };
    return { ...(pkg['node-red']?.nodes ?? {}) };
}

const LEVELS: Record<number, LogLine['level']> = {
    10: 'fatal',
    20: 'error',
    30: 'warn',
    40: 'info',
    50: 'debug',
    60: 'trace',
};

interface RawLog {
    level: number;
    msg: unknown;
    type?: string;
    id?: string;
    name?: string;
}

function formatMessage(msg: unknown): string {
    if (msg instanceof Error) return msg.stack ?? msg.message;
    if (typeof msg === 'string') return msg;
    try {
        return JSON.stringify(msg);
    } catch {
        return String(msg);
    }
}

let running = false;

export async function startNodeRed(options: NodeRedOptions): Promise<NodeRedInstance> {
    if (running)
        throw new Error('Node-RED is a per-process singleton: stop the running instance first (one per test file)');
    const missing = Object.entries(packageNodeTypes()).filter(([, file]) => !existsSync(path.join(repoRoot, file)));
    if (missing.length > 0) {
        throw new Error(
            `Node-RED loads the compiled nodes, and ${missing.map(([, f]) => f).join(', ')} is missing: run \`npm run build\` first`,
        );
    }
    const { userDir } = options;
    mkdirSync(userDir, { recursive: true });
    if (options.flows) writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(options.flows, null, 4));
    if (options.credentials)
        writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(options.credentials, null, 4));

    const logs: LogLine[] = [];
    const messages: LogLine[] = [];
    const capture = () => (raw: RawLog) => {
        const level = LEVELS[raw.level];
        if (!level) return; // audit and metric records
        const who = raw.type ? `[${raw.type}:${raw.name || raw.id}] ` : '';
        const line: LogLine = { level, text: `[${level}] ${who}${formatMessage(raw.msg)}` };
        if (raw.type) line.type = raw.type;
        if (raw.id) line.id = raw.id;
        messages.push(line);
        if (raw.level <= 30) logs.push(line);
    };

    const settings = {
        userDir,
        flowFile: 'flows.json',
        credentialSecret: false,
        uiHost: options.host ?? '127.0.0.1',
        uiPort: options.port ?? 0,
        httpAdminRoot: '/',
        httpNodeRoot: '/api',
        nodesDir: [repoRoot],
        logging: {
            console: { level: options.consoleLevel ?? 'error', metrics: false, audit: false },
            capture: { level: 'info', metrics: false, audit: false, handler: capture },
        },
        telemetry: { enabled: false, updateNotification: false },
        editorTheme: { tours: false, palette: { catalogues: [] } },
        externalModules: { autoInstall: false, palette: { allowInstall: false, allowUpload: false } },
        functionExternalModules: false,
    };

    running = true;
    const app = express();
    const server = http.createServer(app);
    try {
        RED.init(server, settings as unknown as Parameters<typeof RED.init>[1]);
        app.use(settings.httpAdminRoot, RED.httpAdmin);
        app.use(settings.httpNodeRoot, RED.httpNode);
        await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(settings.uiPort, settings.uiHost, () => {
                server.off('error', reject);
                resolve();
            });
        });
        await RED.start();
    } catch (err) {
        server.closeAllConnections();
        server.close();
        running = false;
        throw err;
    }
    const port = (server.address() as AddressInfo).port;
    let stopped = false;
    return {
        url: `http://${settings.uiHost}:${port}`,
        port,
        logs,
        messages,
        async stop() {
            if (stopped) return;
            stopped = true;
            try {
                await RED.stop();
            } finally {
                server.closeAllConnections();
                await new Promise<void>((resolve) => server.close(() => resolve()));
                running = false;
            }
        },
    };
}
