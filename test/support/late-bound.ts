/**
 * A stand-in for a value a hook makes later (beforeAll starts an app, a client...), so a file can
 * name it at the top and use it inside tests: each property read reaches the value as it is
 * then, methods bound to it.
 */
export function lateBound<T extends object>(get: () => T | undefined, what: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      const value = get();
      if (value === undefined) throw new Error(`${what} is not there yet (did beforeAll fail?)`);
      const member: unknown = Reflect.get(value, property);
      return typeof member === "function" ? (member as (...a: unknown[]) => unknown).bind(value) : member;
    },
  });
}
