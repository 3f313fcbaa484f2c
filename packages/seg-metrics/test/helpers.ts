import type { ImageArray } from '@sa-unet/seg-metrics';

/** A mask from rows of '0'/'1' characters ('#' also counts as 1, '.' as 0). */
export function maskFrom(rows: string[]): ImageArray {
  const height = rows.length;
  const width = rows[0].length;
  const data = new Float32Array(width * height);
  rows.forEach((row, y) => {
    if (row.length !== width) throw new Error('ragged mask rows');
    for (let x = 0; x < width; x++) data[y * width + x] = row[x] === '1' || row[x] === '#' ? 1 : 0;
  });
  return { data, width, height };
}

/** A width x height mask that is 1 inside the axis-aligned rectangle [x0, x1) x [y0, y1). */
export function rect(width: number, height: number, x0: number, y0: number, x1: number, y1: number): ImageArray {
  const data = new Uint8Array(width * height);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * width + x] = 1;
  return { data, width, height };
}

export function disc(width: number, height: number, cy: number, cx: number, r: number): ImageArray {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if ((y - cy) ** 2 + (x - cx) ** 2 <= r * r) data[y * width + x] = 1;
  return { data, width, height };
}

export function empty(width: number, height: number): ImageArray {
  return { data: new Uint8Array(width * height), width, height };
}

/** Parses the fixture's encoding of special numbers. */
export function num(v: number | string): number {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v as number;
}
