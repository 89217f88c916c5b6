// The node tests against the oldest Node-RED line package.json accepts (node-red.version ">=4.1.0"):
// installs node-red@4.1 into .tools/node-red-4.1 (git-ignored) once, then runs test/nodes with it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, '.tools', 'node-red-4.1');
const nodeRed = path.join(dir, 'node_modules', 'node-red');
if (!existsSync(path.join(nodeRed, 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), '{ "name": "node-red-4.1-compat", "private": true }\n');
    console.log('Installing node-red@4.1 into .tools/node-red-4.1 ...');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--omit=optional', 'node-red@~4.1'], {
        cwd: dir,
        stdio: 'inherit',
    });
}
const files = readdirSync(path.join(root, 'test', 'nodes'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join('test', 'nodes', f));
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_RED_PATH: nodeRed },
});
process.exit(r.status ?? 1);
