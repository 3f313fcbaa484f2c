// Starts src/worker.ts in a worker thread when the bench runs from source under tsx, whose loader
// does not reach worker threads by itself. The built package starts dist/worker.js directly.
import { register } from 'tsx/esm/api';

register({ tsconfig: process.env.TSX_TSCONFIG_PATH });
await import('./worker.ts');
