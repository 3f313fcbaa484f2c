/**
 * A worker thread of the bench: trains and tests the (model, repeat) jobs `compare`'s main thread
 * sends, or makes one measurement of `latency` (workerData `{ latency }`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from './backend.js';
import { finishJob, type Job, type WorkerInput, type WorkerMessage } from './commands/jobs.js';
import { latencyWorker, type LatencyWorkerInput } from './commands/latency.js';
import { runRepeat } from './commands/run-model.js';
import { errorMessage } from './errors.js';

const port = parentPort;
if (port === null) throw new Error('worker.ts runs as a worker thread of sa-unet-bench compare or latency');

if ('latency' in (workerData as object)) {
  await latencyWorker(port, workerData as LatencyWorkerInput);
} else {
  const { options, split, work } = workerData as WorkerInput;
  const send = (msg: WorkerMessage) => port.postMessage(msg);
  try {
    await selectBackend(options.backend);
    port.on('message', (job: Job) => {
      runRepeat(job.model, options, split, job.repeat, work, {
        onTrain: (progress) => send({ type: 'train', job, progress }),
        onTest: (done, total) => send({ type: 'test', job, done, total }),
      })
        .then((outcome) => finishJob(work, split, options, job, outcome))
        .then((result) => send({ type: 'done', job, result }))
        .catch((err: unknown) => send({ type: 'error', job, message: errorMessage(err) }));
    });
    send({ type: 'ready' });
  } catch (err) {
    send({ type: 'error', job: null, message: errorMessage(err) });
  }
}
