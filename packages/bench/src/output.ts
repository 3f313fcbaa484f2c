/**
 * Result folders are written as `<out>.partial` and renamed to `<out>` only when complete, so a
 * failed run never leaves a half-written result folder; `compare --resume` continues from the
 * partial one, and commands without --resume remove it when they fail.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from './errors.js';

export async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

/** Whether `path` is an existing folder. */
export async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

/**
 * Throws when `out` exists (results are never overwritten): call it before any long work. Under
 * --resume an existing `out` is a finished run, which --resume cannot continue:
 * `insteadOfResume` then says how to add to it.
 */
export async function checkOutFree(out: string, insteadOfResume?: string): Promise<void> {
  if (!(await exists(out))) return;
  if (insteadOfResume !== undefined) {
    throw new Error(`--resume: results folder ${out} is a finished run; --resume continues only an interrupted one (its ${out}.partial folder). ${insteadOfResume}`);
  }
  throw new Error(`results folder ${out} already exists; choose another --out (results are never overwritten)`);
}

/** The partial folder for `out`: fresh, or (with resume) the one left by an interrupted run. */
export async function prepareWorkFolder(out: string, resume: boolean): Promise<string> {
  await checkOutFree(out);
  const work = `${out}.partial`;
  if (!resume) await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  return work;
}

/** Moves the finished partial folder into place. */
export async function publish(work: string, out: string): Promise<void> {
  await mkdir(dirname(out), { recursive: true });
  await rename(work, out);
}

/** Options of {@link writeResultFolder}. */
export interface ResultFolderOptions {
  /** Continue in the partial folder an earlier call left (default false: start it afresh). */
  resume?: boolean;
  /**
   * After a failure, whether to keep the partial folder for `resume`: a line for the error saying
   * what is kept, or null to remove it (the default).
   */
  keep?: (work: string) => Promise<string | null>;
}

/**
 * `write` fills the partial folder of `out`, which is then moved into place; if `write` fails, the
 * partial folder is removed (unless `keep` keeps it for a resumed run), so nothing half-written
 * stays behind.
 */
export async function writeResultFolder<T>(out: string, write: (work: string) => Promise<T>, options: ResultFolderOptions = {}): Promise<T> {
  const work = await prepareWorkFolder(out, options.resume ?? false);
  let result: T;
  try {
    result = await write(work);
  } catch (err) {
    const kept = await options.keep?.(work).catch(() => null) ?? null;
    if (kept === null) {
      await rm(work, { recursive: true, force: true });
      throw err;
    }
    throw new Error(`${errorMessage(err)}\n${kept}`);
  }
  await publish(work, out);
  return result;
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`);
}

/** Writes a file whole or not at all: to a temporary name beside it, then renamed into place. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8'), (_, v) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v)) as T;
}

/** A default results folder name: bench-results/<ISO timestamp>. */
export function defaultOut(date = new Date()): string {
  return `bench-results/${date.toISOString().replace(/[:]/g, '-').replace(/\..*/, '')}`;
}
