/**
 * EXIF orientation: cameras, phones and some exporters store pixels as the sensor read them and a
 * tag (1 to 8) that says how to turn them for display. Browsers, image viewers and annotation
 * tools show the turned image (and masks are drawn on it), so the bench reads images as they show
 * them: the tag of a JPEG's APP1 "Exif" segment or of a PNG's eXIf chunk is applied here.
 */

/** EXIF orientation values: 1 as stored; 2 to 8 mirrored and/or turned (TIFF 6.0, tag 0x0112). */
export type ExifOrientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const ORIENTATION_TAG = 0x0112;
const SHORT = 3;

/**
 * The orientation tag of an EXIF block (a TIFF header, "II" or "MM", and its first IFD): 1 where
 * the block is truncated, has no such tag, or holds a value outside 1 to 8, which browsers ignore
 * too.
 */
export function orientationOfExif(tiff: Uint8Array): ExifOrientation {
  if (tiff.length < 8) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = view.getUint16(0);
  if (order !== 0x4949 && order !== 0x4d4d) return 1;
  const little = order === 0x4949;
  if (view.getUint16(2, little) !== 42) return 1;
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > tiff.length) return 1;
    if (view.getUint16(entry, little) !== ORIENTATION_TAG) continue;
    if (view.getUint16(entry + 2, little) !== SHORT || view.getUint32(entry + 4, little) !== 1) return 1;
    const value = view.getUint16(entry + 8, little); // a SHORT sits left-justified in the value field
    return value >= 1 && value <= 8 ? (value as ExifOrientation) : 1;
  }
  return 1;
}

const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"

/** The EXIF block of a JPEG: the first APP1 segment that starts "Exif\0\0", before the image data. */
function jpegExif(bytes: Uint8Array): Uint8Array | null {
  let at = 2; // after SOI
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1]!;
    if (marker === 0xff) { at++; continue; } // fill byte
    if (marker === 0xda || marker === 0xd9) return null; // start of scan / end of image: no EXIF before the data
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    const data = bytes.subarray(at + 4, Math.min(bytes.length, at + 2 + length));
    if (marker === 0xe1 && EXIF_HEADER.every((b, i) => data[i] === b)) return data.subarray(EXIF_HEADER.length);
    at += 2 + length;
  }
  return null;
}

/** The data of a PNG's eXIf chunk, where it comes before the image data (as the PNG specification requires). */
function pngExif(bytes: Uint8Array): Uint8Array | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8; // after the signature
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === 'IDAT' || type === 'IEND') return null;
    if (type === 'eXIf') return bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + length));
    at += 12 + length;
  }
  return null;
}

/** The EXIF orientation of a JPEG or PNG file's bytes (1 where it states none). */
export function orientationOfFile(bytes: Uint8Array, format: 'jpeg' | 'png'): ExifOrientation {
  const exif = format === 'jpeg' ? jpegExif(bytes) : pngExif(bytes);
  return exif === null ? 1 : orientationOfExif(exif);
}

/** Whether the orientation swaps width and height (5 to 8 turn the image by a quarter). */
export function swapsSides(orientation: ExifOrientation): boolean {
  return orientation >= 5;
}

/**
 * The pixels of a `width` x `height` row-major image as shown under `orientation`: a new array
 * (the same one for orientation 1), `height` x `width` for orientations 5 to 8.
 */
export function applyOrientation<T extends Float32Array | Uint16Array>(
  data: T,
  width: number,
  height: number,
  orientation: ExifOrientation,
): { data: T; width: number; height: number } {
  if (orientation === 1) return { data, width, height };
  const swap = swapsSides(orientation);
  const [outW, outH] = swap ? [height, width] : [width, height];
  const out = new (data.constructor as new (n: number) => T)(data.length);
  // The stored pixel shown at (x, y) is at index first + x * alongX + y * alongY.
  const [first, alongX, alongY] = storedIndexStep(orientation, width, height);
  for (let y = 0; y < outH; y++) {
    const row = first + y * alongY;
    for (let x = 0; x < outW; x++) out[y * outW + x] = data[row + x * alongX]!;
  }
  return { data: out, width: outW, height: outH };
}

/**
 * Where the pixels shown under `orientation` (2 to 8) are stored in a `width` x `height` image: the
 * index of the one shown at (0, 0), and the index steps one to the right and one down.
 */
function storedIndexStep(orientation: ExifOrientation, width: number, height: number): [number, number, number] {
  const last = width * height - 1;
  const lastRow = (height - 1) * width;
  switch (orientation) {
    case 2: return [width - 1, -1, width]; // mirrored left-right
    case 3: return [last, -1, -width]; // turned 180°
    case 4: return [lastRow, 1, -width]; // mirrored top-bottom
    case 5: return [0, width, 1]; // transposed
    case 6: return [lastRow, -width, 1]; // turned 90° clockwise
    case 7: return [last, -width, -1]; // transversed
    default: return [width - 1, width, -1]; // 8: turned 90° counter-clockwise
  }
}
