/** `3 epochs`, `1 epoch`: a count with its noun in the right number, for messages and reports. */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
