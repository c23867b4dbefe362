/**
 * Builds a task from its config. The splits depend only on the task config
 * (its `taskSeed` included) and the model's context length, never on the
 * run's seeds, so every run of a sweep sees the same validation and probe sets.
 */
import type { ModelConfig, TaskConfig } from '../../core/spec';
import { buildMarkovTask } from './markov';
import { buildModularTask } from './modular';
import type { Task, TaskSizes } from './task';
import { buildTextTask } from './text';

export type { Task, TaskSizes, TokenBatch } from './task';
export { TaskError } from './task';

export function buildTask(task: TaskConfig, model: ModelConfig, sizes: TaskSizes): Task {
  if (task.kind === 'markov') return buildMarkovTask(task, model, sizes);
  if (task.kind === 'modular') return buildModularTask(task, model, sizes);
  return buildTextTask(task, model, sizes);
}
