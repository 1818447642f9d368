#!/usr/bin/env node
// Makes sure this machine has the WebGPU adapters the tests run on, and a Chromium for the browser
// tests:
// - SwiftShader (Vulkan, ships with Debian's chromium; libvulkan1 is the loader Dawn needs);
// - lavapipe (Mesa llvmpipe Vulkan driver, package mesa-vulkan-drivers; on Debian 12 the Mesa 25
//   build from bookworm-backports, which also upgrades libdrm). Optional: without it the tests run
//   on the SwiftShader configurations only, and this script says what to install.
// On Debian as root it installs what is missing; elsewhere it prints exactly what to install.
// Exit status 1 only when SwiftShader (or another adapter) or chromium is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lavapipeIcd, swiftshaderIcd } from './adapters.mjs';

const BASE_PACKAGES = ['chromium', 'libvulkan1'];
const BACKPORTS_SOURCE = '/etc/apt/sources.list.d/webgpu-fia-bookworm-backports.sources';

// The probe runs in a child (VK_ICD_FILENAMES set to one driver) so a driver installed meanwhile is
// picked up and the two adapters never share an instance.
const PROBE = `
import('webgpu').then(async ({ create, globals }) => {
  Object.assign(globalThis, globals);
  const a = await create([]).requestAdapter();
  if (!a) { console.log('none'); process.exit(1); }
  console.log([a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(' / '));
  process.exit(0);
}).catch((e) => { console.log('error ' + e.message); process.exit(1); });`;

/** Dawn's adapter with only the Vulkan driver `icd`; with icd undefined, Dawn's default adapter. */
function probe(icd) {
  if (icd === null) return { ok: false, text: 'no driver manifest' };
  const env = { ...process.env };
  if (icd) env.VK_ICD_FILENAMES = icd;
  const r = spawnSync(process.execPath, ['--input-type=commonjs', '-e', PROBE], { encoding: 'utf8', env });
  return { ok: r.status === 0, text: (r.stdout || '').trim() };
}

function isDebianRoot() {
  return existsSync('/etc/debian_version') && typeof process.getuid === 'function' && process.getuid() === 0
    && existsSync('/usr/bin/apt-get');
}

function osRelease() {
  try {
    return Object.fromEntries(readFileSync('/etc/os-release', 'utf8').split('\n')
      .map((l) => l.match(/^(\w+)=(.*)$/)).filter(Boolean).map((m) => [m[1], m[2].replace(/^"|"$/g, '')]));
  } catch {
    return {};
  }
}

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
function apt(args) {
  execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: APT_ENV });
}

/** Whether apt already knows a bookworm-backports suite (ours or the machine's own). */
function hasBackportsSource() {
  const files = ['/etc/apt/sources.list'];
  try {
    files.push(...readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)));
  } catch {
    // no folder
  }
  return files.some((f) => {
    if (!/(\.list|\.sources)$/.test(f)) return false;
    try {
      return /^[^#\n]*bookworm-backports/m.test(readFileSync(f, 'utf8'));
    } catch {
      return false;
    }
  });
}

const LAVAPIPE_HOWTO =
  '  lavapipe (the second test adapter) on Debian 12, as root:\n' +
  '    echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/backports.list\n' +
  '    apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers   (upgrades libdrm too)\n' +
  '  Debian 13 / Ubuntu 24.04 or newer: apt-get install -y mesa-vulkan-drivers. Needs Mesa ≥ 24 for Dawn.';

/** Installs lavapipe on Debian as root: Mesa 25 from bookworm-backports on Debian 12, else the release's own. */
function installLavapipe() {
  const os = osRelease();
  const bookworm = os.ID === 'debian' && os.VERSION_CODENAME === 'bookworm';
  if (bookworm && !hasBackportsSource()) {
    console.log('[setup] adding the bookworm-backports apt suite (for Mesa 25 lavapipe) ...');
    writeFileSync(BACKPORTS_SOURCE, [
      'Types: deb', 'URIs: http://deb.debian.org/debian', 'Suites: bookworm-backports', 'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg', '',
    ].join('\n'));
  }
  console.log(`[setup] installing mesa-vulkan-drivers${bookworm ? ' from bookworm-backports' : ''} (apt-get) ...`);
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...(bookworm ? ['-t', 'bookworm-backports'] : []), 'mesa-vulkan-drivers']);
}

const debianRoot = isDebianRoot();
const missing = BASE_PACKAGES.filter((p) => !installed(p));
if (debianRoot && (missing.length > 0 || !swiftshaderIcd() || !existsSync('/usr/bin/chromium'))) {
  const pkgs = missing.length > 0 ? missing : BASE_PACKAGES;
  console.log(`[setup] installing ${pkgs.join(' ')} (apt-get) ...`);
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
}
let lavapipe = probe(lavapipeIcd());
if (!lavapipe.ok && debianRoot) {
  try {
    installLavapipe();
  } catch (e) {
    console.log(`[setup] lavapipe install failed: ${e.message}`);
  }
  lavapipe = probe(lavapipeIcd());
}
const swiftshader = probe(swiftshaderIcd());
const chromium = existsSync('/usr/bin/chromium');

console.log(`[setup] SwiftShader: ${swiftshader.ok ? swiftshader.text : `missing (${swiftshader.text})`}`);
console.log(`[setup] lavapipe: ${lavapipe.ok ? lavapipe.text : `missing (${lavapipe.text}): its test configuration is left out`}`);
console.log(`[setup] chromium: ${chromium ? '/usr/bin/chromium' : 'missing'}`);
if (!lavapipe.ok) console.log(LAVAPIPE_HOWTO);
// Without SwiftShader (e.g. a machine with a hardware GPU and no chromium package), Dawn's default
// adapter still serves npm start and the benchmark; the test suite needs SwiftShader.
const fallback = swiftshader.ok ? swiftshader : probe(undefined);
if (!swiftshader.ok && fallback.ok) console.log(`[setup] Dawn's default adapter: ${fallback.text} (the test configurations need SwiftShader)`);
if (fallback.ok && chromium) process.exit(0);
console.error(
  '[setup] No usable WebGPU test setup.\n' +
  (fallback.ok ? '' : '  Node (Dawn) found no WebGPU adapter (SwiftShader, the reference test adapter, included).\n') +
  (chromium ? '' : '  /usr/bin/chromium is missing (the browser tests need it).\n') +
  '  On Debian/Ubuntu, as root:  apt-get update && apt-get install -y chromium libvulkan1\n' +
  '  (chromium ships the SwiftShader Vulkan driver /usr/lib/chromium/vk_swiftshader_icd.json;\n' +
  '   libvulkan1 is the Vulkan loader Dawn needs). Elsewhere: a Vulkan/Metal/D3D12 driver and Chrome.');
process.exit(1);
