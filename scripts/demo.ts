/**
 * `npm start`: the palette in a local Node-RED with a private XMPP server and demo accounts.
 * - Prosody on 127.0.0.1 (domain localhost, self-signed certificate), data in .demo/prosody;
 * - Node-RED 5 on http://127.0.0.1:1880 with this package, user directory .demo/node-red;
 * - on the first run only, a tab "DERlink demo" and one xmpp-account config node per demo account
 *   (the ids the examples use), so Import > Examples flows connect at once. Later runs keep your flows.
 * Ctrl-C stops both and exits 0. Delete .demo/ to start afresh.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO_RESOURCES, type DemoEnvironment, startDemoEnvironment } from '../test/support/demo-env';
import { type NodeRedInstance, repoRoot, startNodeRed } from '../test/support/nodered';

const DEMO_DIR = path.join(repoRoot, '.demo');
const USER_DIR = path.join(DEMO_DIR, 'node-red');
const HOST = '127.0.0.1';
const PORT = 1880;
const TAB_ID = 'derlink-demo-tab';

function firstRunFlows(env: DemoEnvironment): { flows: object[]; credentials: Record<string, Record<string, string>> } {
    const { nodes, credentials } = env.demoConfigNodes();
    const accounts = env.accounts.map((a) => `- \`${a.jid}\`, password \`${a.password}\``).join('\n');
    const tab = {
        id: TAB_ID,
        type: 'tab',
        label: 'DERlink demo',
        disabled: false,
        info: `Demo accounts on the local XMPP server (${env.prosody.host}:${env.prosody.port}, self-signed certificate):\n\n${accounts}\n\nThey are already set up as xmpp-account config nodes (Configuration nodes sidebar).`,
    };
    const comment = {
        id: 'derlink-demo-comment',
        type: 'comment',
        z: TAB_ID,
        name: 'DERlink demo: menu > Import > Examples > @derlink/node-red',
        info: 'Each example opens in a new flow and uses the demo accounts, which are already deployed with their passwords. When the editor says some nodes already exist, choose **Import copy**: it reuses the deployed accounts.',
        x: 300,
        y: 60,
        wires: [],
    };
    return { flows: [tab, comment, ...nodes], credentials };
}

/**
 * A user directory from an earlier run keeps its flows, but gets the config node (and password) of
 * each demo account added since (hp1 for the IEC 61850 example, for instance), so every example
 * still connects at once. Returns the ids added.
 */
function addMissingAccounts(env: DemoEnvironment): string[] {
    const flowsFile = path.join(USER_DIR, 'flows.json');
    const credsFile = path.join(USER_DIR, 'flows_cred.json');
    let flows: Array<{ id?: unknown }>;
    let creds: Record<string, unknown>;
    try {
        flows = JSON.parse(readFileSync(flowsFile, 'utf8')) as Array<{ id?: unknown }>;
        creds = existsSync(credsFile) ? (JSON.parse(readFileSync(credsFile, 'utf8')) as Record<string, unknown>) : {};
    } catch {
        // Not plain JSON (encrypted credentials, a hand-edited file): leave the user's files alone.
        return [];
    }
    if (!Array.isArray(flows) || typeof creds !== 'object' || creds === null || '$' in creds) return [];
    const ids = new Set(flows.map((n) => n.id));
    const { nodes, credentials } = env.demoConfigNodes();
    const missing = nodes.filter((n) => !ids.has(n.id));
    if (missing.length === 0) return [];
    for (const n of missing) {
        flows.push(n);
        creds[n.id] = credentials[n.id];
    }
    writeFileSync(flowsFile, JSON.stringify(flows, null, 4));
    writeFileSync(credsFile, JSON.stringify(creds, null, 4));
    return missing.map((n) => n.id);
}

function printSummary(env: DemoEnvironment, red: NodeRedInstance, seeded: boolean, added: string[]): void {
    const { prosody } = env;
    const lines = [
        '',
        'DERlink demo is running.',
        '',
        `  Node-RED editor:  ${red.url}/`,
        `  XMPP server:      domain ${prosody.domain} at ${prosody.host}:${prosody.port} (STARTTLS) and ${prosody.host}:${prosody.directTlsPort} (direct TLS),`,
        `                    self-signed certificate, SHA-256 ${prosody.fingerprint}`,
        '  Demo accounts:',
        ...env.accounts.map((a) => {
            const bound = DEMO_RESOURCES[a.user] ? `${a.jid}/${DEMO_RESOURCES[a.user]}` : a.jid;
            return `    ${bound.padEnd(22)} password ${a.password.padEnd(18)} config node ${a.nodeId}`;
        }),
        '',
        seeded
            ? '  First run: the tab "DERlink demo" and the account config nodes were deployed.'
            : added.length > 0
              ? `  Your flows in .demo/node-red were kept; new demo account nodes were added: ${added.join(', ')}.`
              : '  Your flows in .demo/node-red were kept as they are.',
        '  Try: menu > Import > Examples > @derlink/node-red (choose "Import copy" if asked).',
        '  LwM2M examples run their own server on coap://127.0.0.1:5683 and bootstrap server on udp 5783.',
        '  The Green Button example serves https://127.0.0.1:8443/espi/1_1/resource once you add an account to its server node.',
        `  Data: ${path.relative(process.cwd(), DEMO_DIR) || DEMO_DIR} (delete it to start afresh)`,
        '',
        'Press Ctrl-C to stop.',
        '',
    ];
    console.log(lines.join('\n'));
}

async function main(): Promise<void> {
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22) {
        throw new Error(
            `Node-RED 5 needs Node 22.9 or later (this is ${process.version}); run the demo with \`npm start\`, which uses the pinned Node 24.`,
        );
    }
    let env: DemoEnvironment | undefined;
    let red: NodeRedInstance | undefined;
    let stopping = false;

    const start = async (): Promise<void> => {
        env = await startDemoEnvironment({ dir: path.join(DEMO_DIR, 'prosody') });
        // Seed only a fresh user directory: never overwrite what the user deployed since.
        const seeded = !existsSync(path.join(USER_DIR, 'flows.json'));
        const seed = seeded ? firstRunFlows(env) : undefined;
        const added = seeded ? [] : addMissingAccounts(env);
        try {
            red = await startNodeRed({
                userDir: USER_DIR,
                host: HOST,
                port: PORT,
                consoleLevel: 'warn',
                ...(seed ? { flows: seed.flows, credentials: seed.credentials } : {}),
            });
        } catch (err) {
            await env.stop();
            env = undefined;
            if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
                throw new Error(`Port ${PORT} on ${HOST} is in use (another Node-RED?); stop it and try again.`);
            }
            throw err;
        }
        if (!stopping) printSummary(env, red, seeded, added);
    };
    const started = start();

    const stop = async (signal: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        console.log(`\n${signal}: stopping Node-RED and the XMPP server...`);
        // tsx (npm start) relays a signal to this process and waits 30 ms for an acknowledgement; if it
        // misses one it resends, and if this process has exited by then it reports 130 instead of our 0.
        // Living a little longer lets every relayed signal be acknowledged.
        const minimumLife = new Promise((resolve) => setTimeout(resolve, 250));
        const force = setTimeout(() => {
            console.error('Shutdown took more than 15 s; exiting anyway.');
            process.exit(1);
        }, 15_000);
        force.unref();
        // Let a start in progress finish, so that nothing it launched is left behind.
        await started.catch(() => undefined);
        try {
            await red?.stop();
        } catch (err) {
            console.error(`Node-RED did not stop cleanly: ${(err as Error).message}`);
        }
        try {
            await env?.stop();
        } catch (err) {
            console.error(`Prosody did not stop cleanly: ${(err as Error).message}`);
        }
        console.log('Stopped.');
        await minimumLife;
        process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    await started;
}

main().catch((err: unknown) => {
    console.error(`\nThe demo could not start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
});
