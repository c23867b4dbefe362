/** Runs the real `seedscope` CLI (bin/seedscope.mjs) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repositoryRoot } from '../../../core/paths';

export const cliEntry = path.join(repositoryRoot, 'bin', 'seedscope.mjs');
export const fakeWorkerEntry = path.join(repositoryRoot, 'test', 'core', 'fixtures', 'fake-worker.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  done: Promise<CliResult>;
}

export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [cliEntry, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, stdout: () => stdout, done };
}

export function runCliProcess(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** Resolves when the CLI's stdout matches `pattern`; rejects when it exits first or after `timeoutMs`. */
export function waitForOutput(cli: CliProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!pattern.test(cli.stdout())) return;
      cleanup();
      resolve();
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`CLI exited before printing ${pattern}:\n${cli.stdout()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${pattern} in output:\n${cli.stdout()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      cli.child.stdout!.off('data', check);
      cli.child.off('exit', onExit);
    };

    cli.child.stdout!.on('data', check);
    cli.child.on('exit', onExit);
    // The listener above runs after the one that appends to the buffer, so a match is seen on the chunk that completes it.
    check();
  });
}
