// One-step set-up for a fresh machine: npm packages, then the Debian packages that the
// tests and the demo use (only when running as root and only when missing).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

function npmInstallIfNeeded() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const manifest = join(root, 'package.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(manifest).mtimeMs) return;
  console.error('setup: installing npm packages');
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

// bin/berth.js runs the compiled CLI in dist/; rebuild it when a source is newer.
function buildIfStale() {
  const stamp = join(root, 'dist', '.built'); // written by `npm run build` when tsc succeeds
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(join(root, 'src'))) return;
  console.error('setup: building the berth CLI (tsc -> dist/)');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
}

// command on PATH -> the Debian package(s) that provide it (space-separated)
const debianPackages = JSON.parse(readFileSync(join(root, 'scripts', 'debian-packages.json'), 'utf8'));

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function aptInstallIfNeeded() {
  if (process.getuid?.() !== 0) return;
  const missing = [
    ...new Set(
      Object.entries(debianPackages)
        .filter(([cmd]) => !has(cmd))
        .flatMap(([, pkgs]) => pkgs.split(' ')),
    ),
  ];
  if (missing.length === 0) return;
  console.error(`setup: installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  if (update.status !== 0) console.error('setup: apt-get update failed; trying the install anyway');
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
  if (install.status !== 0) console.error(`setup: apt-get install failed; tests that need ${missing.join(', ')} will skip`);
}

npmInstallIfNeeded();
buildIfStale();
aptInstallIfNeeded();
