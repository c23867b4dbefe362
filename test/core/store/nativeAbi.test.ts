import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentRuntimeAbi, nativeBindingPath, repositoryRoot } from '../../../core/paths';
import { chooseNativeBinding } from '../../../core/store/database';

const script = path.join(repositoryRoot, 'scripts', 'native-abi.mjs');

describe('native-abi script', () => {
  it('copies the Node build where the store looks for it', () => {
    const result = spawnSync(process.execPath, [script, 'install'], { encoding: 'utf8' });

    expect(result.status).toBe(0);
    const expected = nativeBindingPath(repositoryRoot, currentRuntimeAbi());
    expect(chooseNativeBinding()).toBe(expected);
    const installed = fs.readFileSync(path.join(repositoryRoot, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));
    expect(fs.readFileSync(expected).equals(installed)).toBe(true);
  });

  it('fails electron mode without an Electron binary', () => {
    const electronInstalled = fs.existsSync(path.join(repositoryRoot, 'node_modules', 'electron', 'path.txt'));
    if (electronInstalled) return;

    const result = spawnSync(process.execPath, [script, 'electron'], { encoding: 'utf8' });

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Electron binary is not installed/);
  });

  it('rejects an unknown mode', () => {
    const result = spawnSync(process.execPath, [script, 'bogus'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/unknown mode "bogus"/);
  });
});
