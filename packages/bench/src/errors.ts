/**
 * What an unknown thrown value says: an Error's message, anything else as a string, without the
 * dangling colon some libraries leave where they had no reason to give (fast-png's inflater), as
 * the message is quoted after one of ours.
 */
export function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/[\s:]+$/, '');
}

/** Why a file operation failed, briefly: its system error code (ENOENT, EACCES...) where it has one. */
export function fileErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : errorMessage(err);
}

/**
 * Runs `dispose` (freeing tensors or a model) unless the wasm backend has trapped: its module is then
 * unusable, each call into it traps again ("memory access out of bounds"), and in a `catch` or
 * `finally` that second trap would replace the error that says what happened (the heap ran out, say).
 * Other errors are thrown.
 */
export function disposeUnlessTrapped(dispose: () => void): void {
  try {
    dispose();
  } catch (err) {
    if (!(err instanceof WebAssembly.RuntimeError)) throw err;
  }
}
