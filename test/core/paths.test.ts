import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appDataFolder, findRepositoryRoot, repositoryRoot, resolveDatabasePath } from '../../core/paths';
import { tempFolder } from './helpers/temp';

describe('resolveDatabasePath', () => {
  it('uses XDG_DATA_HOME on Linux', () => {
    const folders = { platform: 'linux' as const, env: { XDG_DATA_HOME: '/data' }, homedir: '/home/ada' };
    expect(resolveDatabasePath(undefined, folders)).toBe('/data/seedscope/seedscope.db');
  });

  it('falls back to ~/.local/share on Linux', () => {
    const folders = { platform: 'linux' as const, env: {}, homedir: '/home/ada' };
    expect(resolveDatabasePath(undefined, folders)).toBe('/home/ada/.local/share/seedscope/seedscope.db');
  });

  it('ignores a relative XDG_DATA_HOME', () => {
    const folders = { platform: 'linux' as const, env: { XDG_DATA_HOME: 'relative' }, homedir: '/home/ada' };
    expect(appDataFolder(folders)).toBe('/home/ada/.local/share/seedscope');
  });

  it('uses Application Support on macOS', () => {
    const folders = { platform: 'darwin' as const, env: {}, homedir: '/Users/ada' };
    expect(appDataFolder(folders)).toBe('/Users/ada/Library/Application Support/Seedscope');
  });

  it('uses APPDATA on Windows', () => {
    const folders = { platform: 'win32' as const, env: { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, homedir: 'C:\\Users\\ada' };
    expect(resolveDatabasePath(undefined, folders)).toBe('C:\\Users\\ada\\AppData\\Roaming\\Seedscope\\seedscope.db');
  });

  it('prefers --db over SEEDSCOPE_DB', () => {
    const folders = { platform: 'linux' as const, env: { SEEDSCOPE_DB: '/env.db' }, homedir: '/home/ada' };
    expect(resolveDatabasePath('/explicit.db', folders)).toBe('/explicit.db');
    expect(resolveDatabasePath(undefined, folders)).toBe('/env.db');
  });

  it('resolves a relative --db against the working folder', () => {
    const folders = { platform: 'linux' as const, env: {}, homedir: '/home/ada' };
    expect(resolveDatabasePath('runs.db', folders)).toBe(path.resolve('runs.db'));
  });
});

describe('findRepositoryRoot', () => {
  it('finds the project from source and bundle folders', () => {
    expect(findRepositoryRoot(path.join(repositoryRoot, 'core'))).toBe(repositoryRoot);
    expect(findRepositoryRoot(path.join(repositoryRoot, 'out', 'main'))).toBe(repositoryRoot);
  });

  it('throws outside the project', () => {
    expect(() => findRepositoryRoot(tempFolder())).toThrow(/package.json was not found/);
  });
});
