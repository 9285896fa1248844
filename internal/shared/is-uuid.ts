const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `s` is a UUID in its canonical 8-4-4-4-12 hex form (any case, any version). */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}
