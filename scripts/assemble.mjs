// After tsc: put each node's editor file, message catalogs and icons next to its compiled .js,
// where Node-RED looks for them (dist/nodes/<type>.html, dist/nodes/locales/, dist/nodes/icons/).
// The editor's shared scripts stay in resources/ at the package root: Node-RED serves that directory
// itself, at resources/@derlink/node-red/<file>, so it needs no copy.
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'nodes');
mkdirSync(out, { recursive: true });

for (const file of readdirSync(path.join(root, 'nodes'))) {
    if (file.endsWith('.html')) cpSync(path.join(root, 'nodes', file), path.join(out, file));
}
if (existsSync(path.join(root, 'nodes', 'locales')))
    cpSync(path.join(root, 'nodes', 'locales'), path.join(out, 'locales'), { recursive: true });
if (existsSync(path.join(root, 'icons')))
    cpSync(path.join(root, 'icons'), path.join(out, 'icons'), { recursive: true });
