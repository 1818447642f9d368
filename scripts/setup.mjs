#!/usr/bin/env node
// Makes sure this machine has a WebGPU adapter for Node (Dawn) and a Chromium for the browser test.
// On Debian as root it installs what is missing (chromium ships SwiftShader's Vulkan driver,
// libvulkan1 is the loader Dawn needs); elsewhere it prints exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
];
const PACKAGES = ['chromium', 'libvulkan1'];

// The probe runs in a child so a Vulkan loader installed meanwhile is picked up.
const PROBE = `
import('webgpu').then(async ({ create, globals }) => {
  Object.assign(globalThis, globals);
  const fs = require('node:fs');
  // No Vulkan driver installed: go to SwiftShader first (a default instance would only fail noisily).
  const hasDriver = process.platform !== 'linux' || !!process.env.VK_ICD_FILENAMES
    || ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d']
      .some((d) => { try { return fs.readdirSync(d).some((f) => f.endsWith('.json')); } catch { return false; } });
  const icd = ${JSON.stringify(ICDS)}.find((p) => fs.existsSync(p));
  let a = hasDriver || !icd ? await create([]).requestAdapter() : null;
  if (!a && icd) { process.env.VK_ICD_FILENAMES = icd; a = await create([]).requestAdapter(); }
  if (!a) { console.log('none'); process.exit(1); }
  console.log([a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(' / '));
  process.exit(0);
}).catch((e) => { console.log('error ' + e.message); process.exit(1); });`;

function probe() {
  const r = spawnSync(process.execPath, ['--input-type=commonjs', '-e', PROBE], { encoding: 'utf8' });
  return { ok: r.status === 0, text: (r.stdout || '').trim() };
}

function isDebianRoot() {
  return existsSync('/etc/debian_version') && typeof process.getuid === 'function' && process.getuid() === 0
    && existsSync('/usr/bin/apt-get');
}

function missingPackages() {
  return PACKAGES.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return !(r.status === 0 && r.stdout.includes('install ok installed'));
  });
}

const needChromium = !existsSync('/usr/bin/chromium');
let adapter = probe();
if (adapter.ok && !needChromium) {
  console.log(`[setup] WebGPU adapter: ${adapter.text}; chromium: /usr/bin/chromium`);
  process.exit(0);
}

if (isDebianRoot()) {
  const missing = missingPackages();
  if (missing.length > 0) {
    console.log(`[setup] installing ${missing.join(' ')} (apt-get) ...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing],
      { stdio: ['ignore', 'ignore', 'inherit'], env });
  }
  adapter = probe();
}

if (adapter.ok && existsSync('/usr/bin/chromium')) {
  console.log(`[setup] WebGPU adapter: ${adapter.text}; chromium: /usr/bin/chromium`);
  process.exit(0);
}
console.error(
  '[setup] No usable WebGPU setup.\n' +
  (adapter.ok ? '' : '  Node (Dawn) found no WebGPU adapter.\n') +
  (existsSync('/usr/bin/chromium') ? '' : '  /usr/bin/chromium is missing (the browser test needs it).\n') +
  '  On Debian/Ubuntu, as root:  apt-get update && apt-get install -y chromium libvulkan1\n' +
  '  (chromium ships the SwiftShader Vulkan driver /usr/lib/chromium/vk_swiftshader_icd.json;\n' +
  '   libvulkan1 is the Vulkan loader Dawn needs). Elsewhere: a Vulkan/Metal/D3D12 driver and Chrome.');
process.exit(1);
