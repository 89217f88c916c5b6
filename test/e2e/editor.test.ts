/**
 * The palette in a real editor: Node-RED 5 embedded in this process, Debian's Chromium driven by
 * playwright-core, the demo XMPP server behind the demo accounts.
 *
 * - every node type of package.json `node-red.nodes` is registered, the non-config ones in the palette;
 * - every flow under examples/ imports through Import > Examples, deploys, runs without load errors,
 *   and its nodes reach the runtime (GET /flows); nodes that use a demo account come online;
 * - the editors' shared script (resources/derlink-editor.js) loads; every node of a DERlink type opens
 *   its edit dialog, and Done without an edit leaves it as it was;
 * - no editor script throws (nor a dialog function: the editor only logs what those throw).
 *
 * Importing an example whose config nodes already exist (Node-RED 5.0.7, found with this test):
 * the editor does not import silently. It raises an import conflict ("Some of the nodes you are
 * importing already exist in your workspace.") with Cancel, View nodes... and Import copy.
 * Import copy gives the example's flow nodes new ids and reuses the existing config node with the
 * same id (matched by id alone; the properties are compared only when the two live on different
 * flows), with its credentials. No duplicate account without a password appears. A user of
 * `npm start` takes exactly that path, so this test does too: it clicks Import copy, then checks
 * that no config node was added for an id that already existed, and that the examples' demo
 * accounts have the same properties as the pre-deployed ones (since the editor would not notice).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { ensureDebianPackages } from '../support/debian';
import { type DemoEnvironment, demoConfigNode, startDemoEnvironment } from '../support/demo-env';
import { type NodeRedInstance, packageNodeTypes, repoRoot, startNodeRed } from '../support/nodered';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(repoRoot, 'test', 'e2e', '.artifacts');
const BROWSER_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    '--no-first-run',
];
const PACKAGE_NAME = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string }).name;
/** Runtime log lines that mean a node type did not load or a flow could not start. */
const LOAD_PROBLEMS =
    /missing types|missing node modules|unknown type|not registered|failed to register|type already registered|has no types|cannot find module|error loading|invalid|node_modules.*error/i;

interface FlowNode {
    id: string;
    type: string;
    name?: string;
    z?: string;
    [key: string]: unknown;
}

/** The parts of the editor's global these tests touch. */
interface EditorRED {
    _(key: string, substitutions?: Record<string, unknown>): string;
    actions: { invoke(name: string): void };
    nodes: {
        getType(type: string): { category?: string } | undefined;
        node(id: string): (FlowNode & { valid?: boolean; changed?: boolean; _orig?: FlowNode }) | undefined;
        createCompleteNodeSet(opts?: { credentials?: boolean }): FlowNode[];
        eachNode(cb: (n: FlowNode) => void): void;
        eachConfig(cb: (n: FlowNode) => void): void;
        convertNode(n: FlowNode, opts?: boolean): FlowNode;
    };
    editor: {
        edit(node: FlowNode): void;
        editConfig(name: string, type: string, id: string): void;
    };
    history: { depth(): number };
    workspaces: { active(): string };
}
declare global {
    interface Window {
        RED: EditorRED;
        DERlinkEditor?: Record<string, unknown>;
    }
}

interface Example {
    /** Path under examples/, e.g. `XMPP/Presence between two accounts.json`. */
    rel: string;
    /** What the Examples tree shows: package, folders, file name without .json. */
    treePath: string[];
    flow: FlowNode[];
}

function listExamples(): Example[] {
    const dir = path.join(repoRoot, 'examples');
    return readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((rel) => ({
            rel,
            treePath: [PACKAGE_NAME, ...rel.slice(0, -'.json'.length).split(path.sep)],
            flow: JSON.parse(readFileSync(path.join(dir, rel), 'utf8')) as FlowNode[],
        }));
}

function exactText(s: string): RegExp {
    return new RegExp(`^\\s*${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

async function getFlows(red: NodeRedInstance): Promise<FlowNode[]> {
    const res = await fetch(`${red.url}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } });
    assert.equal(res.status, 200, `GET /flows answered ${res.status}`);
    return ((await res.json()) as { flows: FlowNode[] }).flows;
}

describe('editor e2e (Node-RED 5 + Chromium)', () => {
    const examples = listExamples();
    const nodeTypes = Object.keys(packageNodeTypes());
    const pageErrors: string[] = [];
    /** Every request for a file under resources/, as `<status> <path>`. */
    const resourceResponses: string[] = [];
    let work: string;
    let env: DemoEnvironment | undefined;
    let red: NodeRedInstance | undefined;
    let browser: Browser | undefined;
    let page: Page;

    /** Runs a test body; on failure saves a screenshot named after the test, then fails. */
    async function withScreenshot(name: string, body: () => Promise<void>): Promise<void> {
        try {
            await body();
        } catch (err) {
            if (page) {
                mkdirSync(ARTIFACTS, { recursive: true });
                const file = path.join(ARTIFACTS, `${name.replace(/[^A-Za-z0-9]+/g, '-')}.png`);
                await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
                (err as Error).message += `\n(screenshot: ${path.relative(repoRoot, file)})`;
            }
            throw err;
        }
    }

    before(async () => {
        try {
            ensureDebianPackages(['chromium'], { chromium: 'chromium' });
        } catch (err) {
            throw new Error(`The editor e2e test needs Chromium at ${CHROMIUM}: ${(err as Error).message}`);
        }
        work = mkdtempSync(path.join(tmpdir(), 'derlink-e2e-'));
        env = await startDemoEnvironment({ dir: path.join(work, 'prosody') });
        const { nodes, credentials } = env.demoConfigNodes();
        red = await startNodeRed({ userDir: path.join(work, 'node-red'), flows: nodes, credentials });
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BROWSER_ARGS });
        page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
        // The editor catches what a node's oneditprepare, oneditsave, oneditcancel or oneditresize
        // throws, and only logs it ("oneditprepare <id> <type> <error>").
        page.on('console', (msg) => {
            if (/^onedit(prepare|save|cancel|resize) /.test(msg.text())) pageErrors.push(msg.text());
        });
        page.on('response', (res) => {
            const { pathname } = new URL(res.url());
            if (pathname.startsWith('/resources/')) resourceResponses.push(`${res.status()} ${pathname}`);
        });
        await page.goto(red.url);
        const firstType = nodeTypes[0] ?? 'inject';
        await page.waitForFunction((t) => window.RED?.nodes?.getType(t) !== undefined, firstType, { timeout: 30_000 });
    });

    after(async () => {
        await browser?.close();
        await red?.stop();
        await env?.stop();
        env?.prosody.cleanup();
        if (work) rmSync(work, { recursive: true, force: true });
    });

    test('the package loads without errors at startup', async () => {
        assert.ok(red);
        const res = await fetch(`${red.url}/nodes`, { headers: { Accept: 'application/json' } });
        const sets = (await res.json()) as {
            id: string;
            module: string;
            types: string[];
            enabled: boolean;
            err?: string;
        }[];
        const ours = sets.filter((s) => s.module === PACKAGE_NAME);
        assert.ok(ours.length > 0, `Node-RED did not load ${PACKAGE_NAME} from ${repoRoot}`);
        for (const set of ours) assert.equal(set.err, undefined, `${set.id} failed to load: ${set.err}`);
        const loaded = ours.flatMap((s) => s.types);
        for (const type of nodeTypes) assert.ok(loaded.includes(type), `runtime did not register ${type}`);
        const problems = red.logs.filter((l) => LOAD_PROBLEMS.test(l.text));
        assert.deepEqual(problems, [], 'runtime reported load problems');
    });

    test('every node type is registered, the non-config ones in the palette', async () => {
        await withScreenshot('palette', async () => {
            await page.evaluate(() => window.RED.actions.invoke('core:show-palette-tab'));
            for (const type of nodeTypes) {
                const category = await page.evaluate((t) => {
                    const def = window.RED.nodes.getType(t);
                    return def ? (def.category ?? '') : null;
                }, type);
                assert.notEqual(category, null, `${type} is not registered in the editor (RED.nodes.getType)`);
                if (category === 'config') continue;
                const item = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
                assert.equal(await item.count(), 1, `${type} is not in the palette`);
                await item.scrollIntoViewIfNeeded();
                assert.ok(await item.isVisible(), `${type} is in the palette but not visible`);
            }
        });
    });

    test('the examples name the demo accounts exactly as the demo environment defines them', () => {
        for (const ex of examples) {
            for (const n of ex.flow) {
                const user = /^derlink-demo-(.+)$/.exec(n.id)?.[1];
                if (!user) continue;
                assert.deepEqual(
                    n,
                    demoConfigNode(user),
                    `${ex.rel}: ${n.id} differs from the demo environment's account node`,
                );
            }
        }
    });

    /** Opens Import > Examples, selects the example in the tree and imports it into a new flow. */
    async function importFromExamplesDialog(ex: Example): Promise<void> {
        await page.evaluate(() => window.RED.actions.invoke('core:show-examples-import-dialog'));
        let scope: Locator = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
        for (const [i, label] of ex.treePath.entries()) {
            const item = scope
                .locator('li')
                .filter({
                    has: page.locator(
                        ':scope > .red-ui-editableList-item-content > .red-ui-treeList-label .red-ui-treeList-label-text',
                        {
                            hasText: exactText(label),
                        },
                    ),
                })
                .first();
            await item.waitFor({ timeout: 10_000 }).catch(() => {
                throw new Error(`Import > Examples does not show "${label}" (path ${ex.treePath.join(' / ')})`);
            });
            const content = item.locator(':scope > .red-ui-editableList-item-content');
            const isLeaf = i === ex.treePath.length - 1;
            const expanded = ((await content.getAttribute('class')) ?? '').split(/\s+/).includes('expanded');
            if (isLeaf || !expanded) await content.locator(':scope > .red-ui-treeList-label').click();
            scope = item;
        }
        // Choosing a flow file switches "Import to" to a new flow; make sure of it.
        await page.click('#red-ui-clipboard-dialog-import-opt-new');
        const ok = page.locator('#red-ui-clipboard-dialog-ok');
        assert.ok(await ok.isEnabled(), 'the Import button stayed disabled');
        await ok.click();
    }

    for (const ex of examples) {
        test(`example "${ex.rel}" imports, deploys and runs`, async () => {
            await withScreenshot(`example-${ex.rel}`, async () => {
                assert.ok(red);
                const runtime = red;
                const beforeSet = await page.evaluate(() =>
                    window.RED.nodes.createCompleteNodeSet({ credentials: false }),
                );
                const beforeIds = new Set(beforeSet.map((n) => n.id));
                const logsBefore = runtime.logs.length;
                const messagesBefore = runtime.messages.length;

                await importFromExamplesDialog(ex);

                // Either the nodes now follow the mouse, or ids clashed and the editor asks what to do.
                const conflictText = await page.evaluate(() => window.RED._('clipboard.import.conflictNotification1'));
                const copyLabel = await page.evaluate(() => window.RED._('clipboard.import.importCopy'));
                const conflict = page.locator('.red-ui-notification', { hasText: conflictText });
                await page.waitForFunction(
                    ([n, text]) =>
                        window.RED.nodes.createCompleteNodeSet({ credentials: false }).length > n ||
                        [...document.querySelectorAll('.red-ui-notification')].some((e) =>
                            e.textContent?.includes(text),
                        ),
                    [beforeSet.length, conflictText] as const,
                    { timeout: 10_000 },
                );
                const clashes = ex.flow.filter((n) => beforeIds.has(n.id)).map((n) => n.id);
                if (clashes.length > 0) {
                    await conflict.getByRole('button', { name: copyLabel }).click();
                }
                // Drop the imported nodes onto the workspace.
                await page.locator('#red-ui-workspace-chart').click({ position: { x: 400, y: 300 } });

                const afterSet = await page.evaluate(() =>
                    window.RED.nodes.createCompleteNodeSet({ credentials: false }),
                );
                const added = afterSet.filter((n) => !beforeIds.has(n.id));
                assert.ok(added.length > 0, 'nothing was imported');
                const tab = await page.evaluate(() => window.RED.workspaces.active());

                // Every imported node has a known type and is valid (else Deploy would stop at a dialog).
                const states = await page.evaluate(
                    (ids) =>
                        ids.map((id) => {
                            const n = window.RED.nodes.node(id);
                            // The editor turns a node of an unregistered type into type "unknown", keeping the original in _orig.
                            const known = !!n && n.type !== 'unknown' && window.RED.nodes.getType(n.type) !== undefined;
                            return { id, type: n?._orig?.type ?? n?.type, known, valid: n?.valid };
                        }),
                    added.filter((n) => !['tab', 'subflow', 'group', 'junction'].includes(n.type)).map((n) => n.id),
                );
                const unknown = states.filter((s) => !s.known && !s.type?.startsWith('subflow:'));
                assert.deepEqual(unknown, [], 'imported nodes of unknown type');
                const invalid = states.filter((s) => s.valid === false);
                assert.deepEqual(invalid, [], 'imported nodes the editor marks invalid');

                // Config nodes: nothing new for an id that existed (the existing one, with its password, is reused).
                const categories = await page.evaluate(
                    (types) => Object.fromEntries(types.map((t) => [t, window.RED.nodes.getType(t)?.category ?? ''])),
                    [...new Set(ex.flow.map((n) => n.type))],
                );
                const isConfig = (n: FlowNode) => categories[n.type] === 'config';
                for (const cfg of ex.flow.filter(isConfig)) {
                    const copies = added.filter((n) => n.type === cfg.type && n.name === cfg.name && n.id !== cfg.id);
                    if (beforeIds.has(cfg.id)) {
                        assert.deepEqual(copies, [], `a duplicate of the existing config node ${cfg.id} was imported`);
                    }
                }
                // The flow nodes arrived, one for one (ids differ after Import copy).
                const flowNodes = (nodes: FlowNode[]) =>
                    nodes
                        .filter((n) => !isConfig(n) && n.type !== 'tab' && n.type !== 'global-config')
                        .map((n) => `${n.type}:${n.name ?? ''}`)
                        .sort();
                assert.deepEqual(
                    flowNodes(added),
                    flowNodes(ex.flow),
                    'the imported flow nodes differ from the example',
                );

                // Deploy, and wait for a new success notification.
                await page.evaluate(() => {
                    for (const e of document.querySelectorAll('.red-ui-notification'))
                        e.setAttribute('data-e2e-seen', '');
                });
                const posted = page.waitForResponse(
                    (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/flows',
                    {
                        timeout: 15_000,
                    },
                );
                await page.click('#red-ui-header-button-deploy');
                const res = await posted.catch(() => {
                    throw new Error(
                        'Deploy did not POST /flows within 15 s (a confirmation dialog? see the screenshot)',
                    );
                });
                assert.equal(res.status(), 200, `POST /flows answered ${res.status()}: ${await res.text()}`);
                await page
                    .locator('.red-ui-notification-success:not([data-e2e-seen])')
                    .first()
                    .waitFor({ timeout: 15_000 });

                // The runtime has every imported node.
                const deployed = new Set((await getFlows(runtime)).map((n) => n.id));
                const notDeployed = added.filter((n) => !deployed.has(n.id)).map((n) => `${n.id} (${n.type})`);
                assert.deepEqual(notDeployed, [], 'imported nodes missing from GET /flows');

                // Nodes that use a demo account connect to the demo server.
                const demoIds = new Set(env?.accounts.map((a) => a.nodeId));
                const usesDemo = added.filter(
                    (n) => n.z === tab && Object.values(n).some((v) => typeof v === 'string' && demoIds.has(v)),
                );
                const online = await page.evaluate(() =>
                    window.RED._('@derlink/node-red/xmpp-account:xmpp-account.status.online'),
                );
                for (const n of usesDemo) {
                    const label = page.locator(`[id="${n.id}"] .red-ui-flow-node-status-label`);
                    await page
                        .waitForFunction(
                            ([id, want]) => {
                                // Online, or a node's own healthy (green) status once it has worked (a sensor fed by the flow).
                                const text = document.querySelector(
                                    `[id="${id}"] .red-ui-flow-node-status-label`,
                                )?.textContent;
                                const shape = document.querySelector(`[id="${id}"] .red-ui-flow-node-status`);
                                const green = /-(dot|ring)-green\b/.test(shape?.getAttribute('class') ?? '');
                                return text === want || (green && !!text);
                            },
                            [n.id, online] as const,
                            { timeout: 20_000 },
                        )
                        .catch(async () => {
                            const got = await label.evaluate((e) => e.textContent).catch(() => '(no status)');
                            throw new Error(
                                `${n.type} ${n.id} did not come ${online} (status "${got}")\n${env?.prosody.log().slice(-1500)}`,
                            );
                        });
                }
                if (ex.flow.some((n) => n.type === 'xmpp-presence')) {
                    assert.ok(usesDemo.length > 0, 'the example has xmpp-presence nodes but none uses a demo account');
                }

                // Nothing in the runtime log about unknown types, invalid nodes or load errors.
                const problems = [...runtime.logs.slice(logsBefore), ...runtime.messages.slice(messagesBefore)].filter(
                    (l) => LOAD_PROBLEMS.test(l.text),
                );
                assert.deepEqual(problems, [], 'runtime log after deploy');
                const errors = runtime.logs.slice(logsBefore).filter((l) => l.level === 'error' || l.level === 'fatal');
                assert.deepEqual(errors, [], 'runtime errors after deploy');
            });
        });
    }

    test("the editors' shared script loads", async () => {
        const url = `/resources/${PACKAGE_NAME}/derlink-editor.js`;
        const failed = resourceResponses.filter((r) => !/^(200|304) /.test(r));
        assert.deepEqual(failed, [], 'requests under resources/ that failed');
        assert.ok(
            resourceResponses.some((r) => r.endsWith(` ${url}`)),
            `the editor never requested ${url} (${resourceResponses.join(', ')})`,
        );
        const helpers = await page.evaluate(() => Object.keys(window.DERlinkEditor ?? {}));
        for (const name of ['pickPeer', 'sameOrNew', 'select', 'num'])
            assert.ok(helpers.includes(name), `window.DERlinkEditor.${name} is missing (has ${helpers.join(', ')})`);
    });

    /** Opens a node's edit dialog (a config node's in the config tray); returns its Done and Cancel buttons. */
    async function openEditDialog(n: { id: string; type: string; config: boolean }) {
        const prefix = n.config ? '#node-config-dialog-' : '#node-dialog-';
        await page.evaluate(({ id, type, config }) => {
            if (config) window.RED.editor.editConfig('', type, id);
            else {
                const node = window.RED.nodes.node(id);
                if (node) window.RED.editor.edit(node);
            }
        }, n);
        const ok = page.locator(`${prefix}ok`);
        await ok.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {
            throw new Error(`the edit dialog of ${n.type} ${n.id} did not open`);
        });
        // oneditprepare has run once the buttons show; let deferred layout (oneditresize) run too.
        await page.waitForTimeout(300);
        return { ok, cancel: page.locator(`${prefix}cancel`) };
    }
    /** Closes the dialog through one of its buttons (a DOM click: a notification may lie over the tray). */
    async function closeEditDialog(button: Locator): Promise<void> {
        await button.evaluate((b) => (b as HTMLElement).click());
        await button.waitFor({ state: 'detached', timeout: 10_000 });
    }
    /** Our nodes in the editor (the examples' and the demo accounts), config nodes included. */
    async function ourNodes() {
        return page.evaluate((types) => {
            const out: { id: string; type: string; name: string; config: boolean }[] = [];
            // No named functions in here: tsx would wrap them in a helper the page does not have.
            window.RED.nodes.eachNode((n) => {
                if (types.includes(n.type)) out.push({ id: n.id, type: n.type, name: n.name ?? '', config: false });
            });
            window.RED.nodes.eachConfig((n) => {
                if (types.includes(n.type)) out.push({ id: n.id, type: n.type, name: n.name ?? '', config: true });
            });
            return out;
        }, nodeTypes);
    }

    test('every node type opens its edit dialog without errors, and Done without an edit changes nothing', async () => {
        await withScreenshot('edit-dialogs', async () => {
            const found = await ourNodes();
            const missing = nodeTypes.filter((t) => !found.some((n) => n.type === t));
            assert.deepEqual(missing, [], 'node types with no node in the editor to open (did the examples import?)');
            const snapshot = (id: string) =>
                page.evaluate((i) => {
                    const n = window.RED.nodes.node(i);
                    return {
                        json: n ? JSON.stringify(window.RED.nodes.convertNode(n, false)) : '',
                        changed: !!n?.changed,
                        undo: window.RED.history.depth(),
                    };
                }, id);
            const cancelled = new Set<string>();
            for (const n of found) {
                const what = `${n.type} ${n.id} "${n.name}"`;
                const errorsBefore = pageErrors.length;
                const before = await snapshot(n.id);
                const { ok } = await openEditDialog(n);
                await closeEditDialog(ok);
                assert.deepEqual(await snapshot(n.id), before, `${what}: Done without an edit changed the node`);
                if (!cancelled.has(n.type)) {
                    cancelled.add(n.type);
                    const { cancel } = await openEditDialog(n);
                    await closeEditDialog(cancel);
                    assert.deepEqual(await snapshot(n.id), before, `${what}: Cancel changed the node`);
                }
                assert.deepEqual(pageErrors.slice(errorsBefore), [], `${what}: the edit dialog threw`);
            }
        });
    });

    test('no editor script threw (pageerror, or a logged onedit* error)', () => {
        assert.deepEqual(pageErrors, []);
    });
});
