/**
 * Test peers come from Debian packages. When one is missing, install it if we are root
 * (a fresh CI machine), otherwise stop with a message that names the package.
 */
import { execFileSync, spawnSync } from 'node:child_process';

function hasCommand(cmd: string): boolean {
    return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function hasPackage(pkg: string): boolean {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format, not a template
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
    return r.status === 0 && r.stdout.includes('install ok installed');
}

let updated = false;

/**
 * Makes sure the packages are installed. `commands` maps a package to the command it must
 * provide; packages without an entry are checked with dpkg.
 */
export function ensureDebianPackages(
    packages: readonly string[],
    commands: Readonly<Record<string, string>> = {},
): void {
    const missing = packages.filter((p) => (commands[p] ? !hasCommand(commands[p] as string) : !hasPackage(p)));
    if (missing.length === 0) return;
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!isRoot || !hasCommand('apt-get')) {
        throw new Error(
            `Missing Debian package(s): ${missing.join(' ')}. Install them with: apt-get install ${missing.join(' ')}`,
        );
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (!updated) {
        execFileSync('apt-get', ['update'], { stdio: 'ignore', env });
        updated = true;
    }
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'ignore', env });
    const still = packages.filter((p) => (commands[p] ? !hasCommand(commands[p] as string) : !hasPackage(p)));
    if (still.length > 0) throw new Error(`apt-get could not install: ${still.join(' ')}`);
}
