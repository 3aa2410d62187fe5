/**
 * Small text rules shared across layers. Pure; locale-independent on purpose: DNS names and the
 * stored search columns fold ASCII only (RFC 4343: DNS comparisons are ASCII case-insensitive),
 * and `String.prototype.toLowerCase` would also fold non-ASCII letters (`İ` becomes two code units).
 */

/** `A`–`Z` to `a`–`z`; every other character unchanged. */
export const asciiLower = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** The first UTF-16 unit upper-cased (message fragments such as "block 2 of the chain"). */
export const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The one rule for control characters in text that comes from outside.
 *
 * PostgreSQL's `text` cannot hold U+0000 (the server answers `invalid byte sequence for encoding
 * "UTF8": 0x00`) while SQLite stores it, so a NUL that reached the store answered 500 on one store
 * and a 4xx on the other. No name, key, id, query or description certkeeper accepts has a use for
 * C0 controls or DEL either, so text from a request is refused when it holds any of them, before
 * it reaches core or a store, and both stores see the same input. Tab, line feed and carriage
 * return are allowed: PEM bodies hold line breaks, descriptions may hold a tab.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** Whether `text` holds a control character other than tab, line feed and carriage return. */
export const hasControlCharacter = (text: string): boolean => CONTROL.test(text);
