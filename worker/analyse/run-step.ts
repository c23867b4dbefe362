/**
 * Runs one step job of the analysis in this process: rebuilds the task's
 * probe set from the run config, then computes every pair with the real
 * transformer.
 */
import type { StepAnalysisPayload, StepAnalysisResult } from '../../core/analysis/job';
import { analyseStep, type PairProgress, type ProbeTask } from '../../core/analysis/step';
import { buildTask, type Task } from '../tasks';
import { TransformerProbe } from './model-probe';

export function runStepJob(payload: StepAnalysisPayload, onPair?: PairProgress): StepAnalysisResult {
  const { config } = payload;
  const task = buildTask(config.task, config.model, { probeSize: config.probeSize, validationSize: config.training.validationSize });
  const probe = new TransformerProbe({ ...config.model, vocabSize: task.vocabSize }, task.probe, payload.options);
  return analyseStep(payload, probe, probeTaskOf(task), onPair);
}

/** The probe positions that carry a target (all of them except in `modular`), and p* for tasks that define it. */
export function probeTaskOf(task: Task): ProbeTask {
  const measured: number[] = [];
  task.probe.targets.forEach((target, position) => {
    if (target >= 0) measured.push(position);
  });
  return {
    measuredPositions: measured.length === task.probe.targets.length ? null : measured,
    trueLogProbs: task.probeTrueLogProbs ?? null,
  };
}
