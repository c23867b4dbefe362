/**
 * One forked worker process: waits for its `ready` message, sends typed
 * messages, forwards its output to the developer log and keeps the last lines
 * of stderr for the error message of a crash.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PROTOCOL_VERSION, type ParentMessage, type WorkerMessage } from '../../worker/protocol';
import { createLogger } from '../log';
import type { WorkerEntry } from './entry';

const log = createLogger('worker-process');
const STDERR_LINES_KEPT = 20;

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class WorkerProcess extends EventEmitter<{ message: [WorkerMessage]; exit: [WorkerExit] }> {
  readonly child: ChildProcess;
  readonly stderrTail: string[] = [];
  exited: WorkerExit | null = null;

  constructor(entry: WorkerEntry) {
    super();
    this.child = fork(entry.modulePath, [], {
      serialization: 'advanced',
      execArgv: entry.execArgv,
      env: { ...process.env, ...entry.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // In its own process group a worker does not receive the terminal's
      // Ctrl-C; the scheduler stops it in order and requeues its run instead.
      detached: process.platform !== 'win32',
    });

    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) log.debug('worker stdout', { pid: this.child.pid, line });
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (!line.trim()) continue;
        this.stderrTail.push(line);
        if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
        log.debug('worker stderr', { pid: this.child.pid, line });
      }
    });
    this.child.on('message', (message) => this.emit('message', message as WorkerMessage));
    this.child.on('error', (error) => log.error('worker process error', { pid: this.child.pid, error: error.message }));
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.emit('exit', this.exited);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Resolves once the worker sends `ready` with this protocol version. Rejects
   * when it exits first, reports another version, or sends nothing before the timeout.
   */
  waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.off('message', onMessage);
        this.off('exit', onExit);
      };
      const onMessage = (message: WorkerMessage) => {
        if (message.type !== 'ready') return;
        cleanup();
        if (message.protocolVersion !== PROTOCOL_VERSION) {
          this.kill();
          reject(new Error(`worker reports protocol version ${message.protocolVersion}, expected ${PROTOCOL_VERSION}; rebuild the worker bundle`));
          return;
        }
        resolve();
      };
      const onExit = (exit: WorkerExit) => {
        cleanup();
        reject(new Error(`worker exited before it was ready (${describeExit(exit)})${this.stderrSuffix()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        this.kill();
        reject(new Error(`worker sent no ready message within ${timeoutMs} ms`));
      }, timeoutMs);

      if (this.exited) {
        onExit(this.exited);
        return;
      }
      this.on('message', onMessage);
      this.on('exit', onExit);
    });
  }

  /** Sends a message; returns false when the channel is already closed. */
  send(message: ParentMessage): boolean {
    if (this.exited || !this.child.connected) return false;
    this.child.send(message);
    return true;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }

  /** Resolves when the process has exited. */
  whenExited(): Promise<WorkerExit> {
    if (this.exited) return Promise.resolve(this.exited);
    return new Promise((resolve) => this.once('exit', resolve));
  }

  stderrSuffix(): string {
    return this.stderrTail.length > 0 ? `; last stderr: ${this.stderrTail.slice(-5).join(' | ')}` : '';
  }
}

export function describeExit(exit: WorkerExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
