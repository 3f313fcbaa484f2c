#!/usr/bin/env node
/**
 * sa-unet-bench: reproduce the SA-U-Net paper's comparison with TensorFlow.js.
 *   sa-unet-bench compare [--data DIR] [--preset quick|paper] [--resume] [--extend DIR] ...
 *   sa-unet-bench train --model NAME [--data DIR] --out DIR [--init DIR] [--resume]
 *   sa-unet-bench evaluate --model DIR --data DIR [--label N]
 *   sa-unet-bench recalibrate --model DIR --images DIR --out DIR
 *   sa-unet-bench latency [--models ...] [--size N] [--backends ...]
 *   sa-unet-bench segment --model DIR --image FILE [--dpi N]
 *   sa-unet-bench paired DIR_A DIR_B [--models ...]
 *   sa-unet-bench params [--size N]
 */
import { buildProgram } from './program.js';
import { errorMessage } from './errors.js';

buildProgram().parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`sa-unet-bench: ${errorMessage(err)}\n`);
  process.exitCode = 1;
});
