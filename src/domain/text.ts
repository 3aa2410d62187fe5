/**
 * Small text rules shared across layers. Pure; locale-independent on purpose: DNS names and the
 * stored search columns fold ASCII only (RFC 4343: DNS comparisons are ASCII case-insensitive),
 * and `String.prototype.toLowerCase` would also fold non-ASCII letters (`İ` becomes two code units).
 */

/** `A`–`Z` to `a`–`z`; every other character unchanged. */
export const asciiLower = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** The first UTF-16 unit upper-cased (message fragments such as "block 2 of the chain"). */
export const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
