/**
 * A Map used as a bounded least-recently-used table: its insertion order is the order of last use.
 * Shared by the in-memory limiters (core/rate-limit.ts, the console's login throttle).
 */

/** Sets `key` as the most recently used entry, then drops the oldest entries past `max`. */
export function touchBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
}
