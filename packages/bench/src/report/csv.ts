/** CSV text as spreadsheets read it: numbers as JavaScript writes them, cells quoted where they hold a quote, comma or line break. */

/** One cell: non-finite numbers as NaN, Infinity or -Infinity; null and undefined as an empty cell. */
export function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? ''
    : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity')
      : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows (the header first) as CSV text, one line each, ending with a line break. */
export function csvText(rows: readonly (readonly unknown[])[]): string {
  return rows.map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}
