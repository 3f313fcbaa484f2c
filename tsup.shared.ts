import type { Options } from 'tsup';

/** The build of a library package: ESM + CJS + type declarations of its entry points. */
export function libraryBuild(entry: string[]): Options {
  return { entry, format: ['esm', 'cjs'], dts: true, sourcemap: true, clean: true, target: 'es2022' };
}
