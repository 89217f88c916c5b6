// After tsc: put each node's editor file, message catalogs and icons next to its compiled .js,
// where Node-RED looks for them (dist/nodes/<type>.html, dist/nodes/locales/, dist/nodes/icons/).
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'nodes');
mkdirSync(out, { recursive: true });

for (const file of readdirSync(path.join(root, 'nodes'))) {
    if (file.endsWith('.html')) cpSync(path.join(root, 'nodes', file), path.join(out, file));
}
for (const dir of ['locales', 'resources']) {
    const from = path.join(root, 'nodes', dir);
    if (existsSync(from)) cpSync(from, path.join(out, dir), { recursive: true });
}
if (existsSync(path.join(root, 'icons')))
    cpSync(path.join(root, 'icons'), path.join(out, 'icons'), { recursive: true });
