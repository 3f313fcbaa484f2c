/** Finds saved models (folders with a model.json) below a folder, for an error that says which to pass. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Folders at most `depth` levels below `dir` that hold a model.json (as paths under `dir`), sorted.
 * A compare run's results folder holds its checkpoints three levels down
 * (checkpoints/<model>/repeat-<n>); unreadable folders are skipped.
 */
export async function savedModelsBelow(dir: string, depth = 3): Promise<string[]> {
  const found: string[] = [];
  async function visit(folder: string, left: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    if (folder !== dir && entries.some((e) => e.isFile() && e.name === 'model.json')) found.push(folder);
    if (left === 0) return;
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.')) await visit(join(folder, e.name), left - 1);
    }
  }
  await visit(dir, depth);
  return found.sort();
}
