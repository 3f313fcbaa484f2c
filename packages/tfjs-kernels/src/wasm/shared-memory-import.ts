/**
 * A module of ours for the threaded build of tfjs-backend-wasm, whose memory is shared: WebAssembly
 * links a shared memory only to an import declared shared (with a maximum), so the memory import
 * of the module's bytes is rewritten so, everything else kept byte for byte.
 */

/** The largest memory of wasm32, in 64 KiB pages: the threaded build's maximum. */
const MAX_PAGES = 65536;

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/**
 * `module` (WebAssembly bytes) with its imported memories declared shared, of at most
 * {@link MAX_PAGES} pages; the bytes as they were where it imports no unshared memory.
 */
export function withSharedMemoryImport(module: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const out: number[] = Array.from(module.subarray(0, 8)); // magic and version
  let at = 8;
  let changed = false;
  while (at < module.length) {
    const id = module[at]!;
    const [size, start] = readLeb(module, at + 1);
    const end = start + size;
    if (id !== 2) {
      out.push(...module.subarray(at, end));
      at = end;
      continue;
    }
    // The import section: each entry's module and field names, its kind and its type.
    const section: number[] = [];
    let [count, p] = readLeb(module, start);
    section.push(...leb(count));
    while (count-- > 0) {
      const from = p;
      for (let name = 0; name < 2; name++) {
        const [length, text] = readLeb(module, p);
        p = text + length;
      }
      const kind = module[p++]!;
      section.push(...module.subarray(from, p));
      const typeStart = p;
      if (kind === 0) [, p] = readLeb(module, p); // function: a type index
      else if (kind === 3) p += 2; // global: value type and mutability
      else if (kind === 1 || kind === 2) {
        if (kind === 1) p++; // table: its element type, then limits as a memory's
        const flags = module[p++]!;
        let min: number;
        [min, p] = readLeb(module, p);
        if (flags & 1) [, p] = readLeb(module, p);
        if (kind === 2 && (flags & 2) === 0) {
          section.push(0x03, ...leb(min), ...leb(MAX_PAGES)); // shared, with a maximum
          changed = true;
          continue;
        }
      } else throw new Error(`withSharedMemoryImport: unknown import kind ${kind}`);
      section.push(...module.subarray(typeStart, p));
    }
    out.push(id, ...leb(section.length), ...section);
    at = end;
  }
  return changed ? Uint8Array.from(out) : module;
}
