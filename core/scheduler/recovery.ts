/**
 * Finding runs left `running` by a process that is gone: the CLI or app was
 * killed, or the machine restarted. Such runs are requeued and continue from
 * their last committed checkpoint.
 */
import type { RunRecord, Store } from '../store/store';

/** Returns whether a process with this pid exists on this machine (EPERM means it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface RecoveryOptions {
  host: string;
  /** Runs this process itself is driving; never requeued here. */
  ownRunIds: ReadonlySet<number>;
  /** A run whose heartbeat is older than this is interrupted even if its pid exists (the pid may have been reused). */
  staleAfterMs: number;
  experimentIds?: number[];
  isAlive?: (pid: number) => boolean;
  nowMs?: number;
}

/** Returns the runs marked running whose owning scheduler is gone or silent. */
export function findInterruptedRuns(store: Store, options: RecoveryOptions): RunRecord[] {
  const isAlive = options.isAlive ?? isProcessAlive;
  const nowMs = options.nowMs ?? Date.now();

  return store.listRunsWithStatus('running', options.experimentIds).filter((run) => {
    if (options.ownRunIds.has(run.id)) return false;

    const heartbeatAge = run.heartbeatAt ? nowMs - Date.parse(run.heartbeatAt) : Infinity;
    if (heartbeatAge > options.staleAfterMs) return true;

    // On another host the pid cannot be checked, so only the heartbeat counts.
    if (run.host !== options.host) return false;
    if (run.pid === null) return true;
    if (run.pid === process.pid) return true;
    return !isAlive(run.pid);
  });
}

/** Requeues interrupted runs; returns their ids. */
export function requeueInterruptedRuns(store: Store, options: RecoveryOptions): number[] {
  const runs = findInterruptedRuns(store, options);
  for (const run of runs) {
    store.requeueRun(run.id, 'interrupted: its scheduler process stopped; resuming from the last checkpoint');
    store.appendRunLog(run.id, 'warn', `run was interrupted (owner pid ${run.pid ?? 'none'} on ${run.host ?? 'unknown host'}); requeued`);
  }
  return runs.map((run) => run.id);
}
