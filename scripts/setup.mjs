// One-step set-up for a fresh machine: npm packages, the built CLI, then the Debian packages the
// command at hand needs (only when running as root and only when missing). The demo needs only
// the base tools (loop devices, mkfs); `--with nfs,rbd,etcd` adds the backends (npm test asks
// for all of them); `--dry-run` says what would be installed and installs nothing.
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

// bin/berth.js runs the bundled CLI in dist/berth/; rebuild it when a source is newer.
function buildIfStale() {
  const stamp = join(root, 'dist', '.built'); // written by `npm run build` when tsc succeeds
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(join(root, 'src'))) return;
  console.error('setup: building the berth CLI (tsc -> dist/, bundled into dist/berth/)');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
}

// group -> command on PATH -> the Debian package(s) that provide it (space-separated)
const debianPackages = JSON.parse(readFileSync(join(root, 'scripts', 'debian-packages.json'), 'utf8'));

function usage(message) {
  console.error(
    `setup: ${message}\nusage: node scripts/setup.mjs [--with ${Object.keys(debianPackages)
      .filter((g) => g !== 'base')
      .join(',')}] [--dry-run]`,
  );
  process.exit(2);
}

function parseArgs(argv) {
  const groups = ['base'];
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dry-run') dryRun = true;
    else if (arg === '--with' || arg.startsWith('--with=')) {
      const list = arg === '--with' ? argv[++i] : arg.slice('--with='.length);
      if (!list) usage('--with needs a list, e.g. --with nfs,rbd');
      for (const group of list.split(',').filter((g) => g !== '')) {
        if (!(group in debianPackages)) usage(`unknown --with "${group}"`);
        if (!groups.includes(group)) groups.push(group);
      }
    } else usage(`unknown argument "${arg}"`);
  }
  return { groups, dryRun };
}

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function aptInstallIfNeeded({ groups, dryRun }) {
  const missing = [];
  for (const group of groups) {
    const absent = Object.entries(debianPackages[group]).filter(([cmd]) => !has(cmd));
    const packages = [...new Set(absent.flatMap(([, pkgs]) => pkgs.split(' ')))];
    console.error(
      `setup: ${group}: ${packages.length === 0 ? 'present' : `needs ${packages.join(' ')} (missing ${absent.map(([c]) => c).join(', ')})`}`,
    );
    missing.push(...packages.filter((p) => !missing.includes(p)));
  }
  if (missing.length === 0 || dryRun) return;
  if (process.getuid?.() !== 0) {
    console.error(`setup: not root: install ${missing.join(' ')} yourself; tests that need them will skip`);
    return;
  }
  console.error(`setup: installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  console.error('setup: [1/2] apt-get update');
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  if (update.status !== 0) console.error('setup: apt-get update failed; trying the install anyway');
  console.error(`setup: [2/2] apt-get install ${missing.join(' ')}`);
  const install = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
  if (install.status !== 0)
    console.error(`setup: apt-get install failed; tests that need ${missing.join(', ')} will skip`);
  else console.error(`setup: installed ${missing.join(' ')}`);
}

const options = parseArgs(process.argv.slice(2));
if (!options.dryRun) {
  npmInstallIfNeeded();
  buildIfStale();
}
aptInstallIfNeeded(options);
