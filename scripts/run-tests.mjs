// Runs the test suites on node's own test runner, TypeScript through tsx.
// `node scripts/run-tests.mjs [unit|contract|integration|nodes|e2e ...]` runs some; no argument runs all.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const all = ['unit', 'contract', 'integration', 'nodes', 'e2e'];
const suites = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all;
const files = [];
for (const suite of suites) {
    if (!all.includes(suite)) {
        console.error(`Unknown suite "${suite}"; choose from ${all.join(', ')}`);
        process.exit(2);
    }
    const dir = path.join(root, 'test', suite);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir, { recursive: true })) {
        if (String(f).endsWith('.test.ts')) files.push(path.join('test', suite, String(f)));
    }
}
if (files.length === 0) {
    console.error('No test files found');
    process.exit(1);
}
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
    console.error(
        `Tests need Node 22.9 or later (this is ${process.version}); run them through npm, which uses the pinned Node 24.`,
    );
    process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
    cwd: root,
    stdio: 'inherit',
});
process.exit(r.status ?? 1);
