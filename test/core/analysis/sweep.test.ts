import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportPairs } from '../../../core/analysis/export';
import { analyseExperiment } from '../../../core/analysis/orchestrate';
import { attachAnalysis } from '../../../core/analysis/service-hook';
import { startAnalysisWorker } from '../../../core/analysis/worker-executor';
import { Service } from '../../../core/service';

const SPEC = {
  name: 'analysis after a sweep',
  task: { kind: 'markov', vocabSize: 12 },
  model: { contextLength: 6, dModel: 8, nHeads: 2, nLayers: 1, dMlp: 16 },
  training: { steps: 12, batchSize: 4, logEvery: 6, validationSize: 4 },
  optimizers: [{ kind: 'adam' }],
  seeds: { count: 3 },
  checkpoints: { steps: [6] },
  probeSize: 4,
  backend: 'wasm',
};

let directory: string;

beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'seedscope-analysis-sweep-'));
});

afterEach(() => {
  fs.rmSync(directory, { recursive: true, force: true });
});

describe('analysis after a sweep', () => {
  it('exports n(n-1)/2 pairs per step for each metric', async () => {
    const service = Service.open({ dbPath: path.join(directory, 'sweep.sqlite'), train: { workers: 2 } });
    const detach = attachAnalysis(service);
    try {
      const { id } = await service.createExperiment(SPEC);
      await new Promise<void>((resolve) => {
        const unsubscribe = service.subscribe((event) => {
          if (event.type !== 'experiment' || event.experiment.id !== id || event.experiment.status === 'running' || event.experiment.status === 'queued') return;
          unsubscribe();
          resolve();
        });
      });
      expect((await service.getExperiment(id))!.status).toBe('done');
      await detach();

      // Whatever the run-finished hook had not reached yet is computed here, as `seedscope analyze` does.
      const worker = await startAnalysisWorker();
      try {
        await analyseExperiment(service.store.db, id, worker.execute, { stepOptions: { pathPoints: 3, fisherGroups: 2 } });
      } finally {
        await worker.stop();
      }

      const rows = JSON.parse(exportPairs(service.store.db, id, 'json')) as Array<{ step: number; metric: string; runA: number; runB: number }>;
      const counts = new Map<string, number>();
      for (const row of rows) counts.set(`${row.step}/${row.metric}`, (counts.get(`${row.step}/${row.metric}`) ?? 0) + 1);
      expect([...new Set(rows.map((row) => row.step))].sort((a, b) => a - b)).toEqual([6, 12]);
      expect(counts.size).toBe(2 * 22);
      for (const count of counts.values()) expect(count).toBe(3);
    } finally {
      await detach();
      await service.close();
    }
  }, 120_000);
});
