#!/usr/bin/env node
/**
 * Keeps one better-sqlite3 build per runtime so that a single `npm install`
 * serves both `npm test` (Node) and `npm start` (Electron):
 *
 *   native/node-<abi>-<platform>-<arch>/better_sqlite3.node
 *   native/electron-<abi>-<platform>-<arch>/better_sqlite3.node
 *
 * core/store/database.ts opens the database with the build that matches the
 * running process. Modes:
 *   install   (postinstall) copies the Node build, and builds the Electron one
 *             when an Electron binary is installed. Exits 0 with a warning
 *             when a build fails, so the install goes on.
 *   electron  (npm start, npm run dev) makes sure the Electron build exists;
 *             exits 1 with the reason when it cannot.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packageFolder = path.join(root, 'node_modules', 'better-sqlite3');
const releaseBuild = path.join(packageFolder, 'build', 'Release', 'better_sqlite3.node');
const require = createRequire(import.meta.url);

function bindingPath(runtime, abi) {
  return path.join(root, 'native', `${runtime}-${abi}-${process.platform}-${process.arch}`, 'better_sqlite3.node');
}

/**
 * Copies through a temporary file and a rename, so a process that has the old
 * binding loaded keeps its (now unlinked) file instead of seeing it rewritten.
 */
function copyFile(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  if (fs.existsSync(to) && fs.readFileSync(to).equals(fs.readFileSync(from))) return;
  const temporary = `${to}.${process.pid}.tmp`;
  fs.copyFileSync(from, temporary);
  fs.renameSync(temporary, to);
}

/** Copies the build that npm installed (for this Node's ABI) into native/. */
function copyNodeBuild() {
  const target = bindingPath('node', process.versions.modules);
  if (!fs.existsSync(releaseBuild)) throw new Error(`no better-sqlite3 build at ${releaseBuild}; run npm rebuild better-sqlite3`);
  copyFile(releaseBuild, target);
  return target;
}

/** Returns Electron's version, ABI and whether its binary is installed, or null without the package. */
function electronInfo() {
  const folder = path.join(root, 'node_modules', 'electron');
  if (!fs.existsSync(path.join(folder, 'package.json'))) return null;

  const { version } = JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8'));
  const abiFile = path.join(folder, 'abi_version');
  let abi = fs.existsSync(abiFile) ? fs.readFileSync(abiFile, 'utf8').trim() : '';
  if (!abi) {
    const nodeAbi = createRequire(require.resolve('prebuild-install/package.json'))('node-abi');
    abi = String(nodeAbi.getAbi(version, 'electron'));
  }

  const pathFile = path.join(folder, 'path.txt');
  const binary = fs.existsSync(pathFile) ? path.join(folder, 'dist', fs.readFileSync(pathFile, 'utf8').trim()) : null;
  return { version, abi, installed: binary !== null && fs.existsSync(binary) };
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: packageFolder, stdio: 'inherit', shell: process.platform === 'win32' });
  return result.status === 0;
}

/**
 * Builds better-sqlite3 for Electron: a prebuilt binary first, else a compile
 * against Electron's headers. The Node build is restored in
 * node_modules/better-sqlite3/build afterwards either way.
 */
// NOTE: never run on the build machines, which install without the Electron
// binary (ELECTRON_SKIP_BINARY_DOWNLOAD=1); only the branch that detects it is tested.
function buildElectron(electron) {
  const target = bindingPath('electron', electron.abi);
  if (fs.existsSync(target)) return target;

  const nodeBuild = copyNodeBuild();
  try {
    const prebuilt = run(process.execPath, [require.resolve('prebuild-install/bin.js'), '--runtime', 'electron', '--target', electron.version, '--arch', process.arch]);
    const compiled =
      prebuilt ||
      run(process.env.npm_config_node_gyp ? process.execPath : 'npx', [
        ...(process.env.npm_config_node_gyp ? [process.env.npm_config_node_gyp] : ['--yes', 'node-gyp']),
        'rebuild',
        '--release',
        '--runtime=electron',
        `--target=${electron.version}`,
        '--dist-url=https://electronjs.org/headers',
      ]);
    if (!compiled) throw new Error(`neither prebuild-install nor node-gyp produced a better-sqlite3 build for Electron ${electron.version}`);
    copyFile(releaseBuild, target);
    return target;
  } finally {
    copyFile(nodeBuild, releaseBuild);
  }
}

function install() {
  try {
    console.log(`native-abi: Node build at ${path.relative(root, copyNodeBuild())}`);
  } catch (error) {
    console.warn(`native-abi: warning: ${error.message}`);
    return;
  }

  const electron = electronInfo();
  if (!electron?.installed) {
    console.log('native-abi: no Electron binary installed; the Electron build is made by `npm start` once it is');
    return;
  }
  try {
    console.log(`native-abi: Electron build at ${path.relative(root, buildElectron(electron))}`);
  } catch (error) {
    console.warn(`native-abi: warning: failed to build better-sqlite3 for Electron ${electron.version}: ${error.message}; npm start will try again`);
  }
}

function electronMode() {
  if (!fs.existsSync(bindingPath('node', process.versions.modules)) && fs.existsSync(releaseBuild)) copyNodeBuild();

  const electron = electronInfo();
  if (!electron) fail('the electron package is not installed; run npm install');
  if (!electron.installed) {
    fail('the Electron binary is not installed (was ELECTRON_SKIP_BINARY_DOWNLOAD set?); run `node node_modules/electron/install.js` or reinstall without that variable');
  }
  try {
    console.log(`native-abi: Electron build at ${path.relative(root, buildElectron(electron))}`);
  } catch (error) {
    fail(`failed to build better-sqlite3 for Electron ${electron.version}: ${error.message}`);
  }
}

function fail(message) {
  console.error(`native-abi: ${message}`);
  process.exit(1);
}

const mode = process.argv[2];
if (mode === 'install') install();
else if (mode === 'electron') electronMode();
else fail(`unknown mode "${mode ?? ''}"; expected install or electron`);
