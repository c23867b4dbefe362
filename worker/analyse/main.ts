/**
 * Entry of an analysis worker process. For each `analyse` message it sends
 * `analysisResult` messages with the same seq: `{ kind: 'progress', done,
 * total }` after each pair, then `{ kind: 'result', result }`. A failed job
 * sends `error` instead. The worker never opens the database.
 */
import { STEP_ANALYSIS_KIND, type AnalysisReply, type StepAnalysisPayload } from '../../core/analysis/job';
import { selectBackend } from '../backend';
import { errorData, send } from '../ipc';
import { PROTOCOL_VERSION, type ParentMessage } from '../protocol';
import { runStepJob } from './run-step';

function handle(message: ParentMessage): void {
  if (message.type === 'shutdown') {
    process.exit(0);
  }
  if (message.type !== 'analyse') {
    send({ type: 'error', seq: 'seq' in message ? message.seq : -1, error: { message: `analysis worker cannot handle "${message.type}" messages` } });
    return;
  }

  const { seq, job } = message;
  try {
    if (job.kind !== STEP_ANALYSIS_KIND) throw new Error(`unknown analysis job kind "${job.kind}"; expected "${STEP_ANALYSIS_KIND}"`);
    const result = runStepJob(job.payload as StepAnalysisPayload, (done, total) => {
      send({ type: 'analysisResult', seq, result: { kind: 'progress', done, total } satisfies AnalysisReply });
    });
    send({ type: 'analysisResult', seq, result: { kind: 'result', result } satisfies AnalysisReply });
  } catch (error) {
    send({ type: 'error', seq, error: errorData(error) });
  }
}

// The analysis tries backends in the same order as training. A skipped backend is noted once on stderr,
// because the parent keeps its last lines for the error message of a crash.
const choice = await selectBackend('auto');
if (choice.note !== undefined) process.stderr.write(`analysis worker backend: ${choice.note}\n`);
process.on('message', (message) => handle(message as ParentMessage));
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', pid: process.pid, protocolVersion: PROTOCOL_VERSION });
