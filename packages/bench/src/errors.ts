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
