/**
 * A method replaced on one object (a device, a pool, a pipeline) as an own property, and put back
 * as it was: the object's own property again, or none, so that the prototype's shows through.
 */

/** What {@link replaceMethod} returns. */
export interface Restorable {
  /** Puts back what was there before. */
  restore(): void;
}

/** Sets `obj[name]` to `method` as an own property; restore() puts back what was there (own or inherited). */
export function replaceMethod<T extends object, K extends keyof T>(obj: T, name: K, method: T[K]): Restorable {
  const own = Object.getOwnPropertyDescriptor(obj, name);
  Object.defineProperty(obj, name, { value: method, configurable: true, writable: true });
  return {
    restore() {
      if (own !== undefined) Object.defineProperty(obj, name, own);
      else delete obj[name];
    },
  };
}
