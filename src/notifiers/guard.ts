/**
 * The address rule of core/notifications/address.ts applied where the connection is made: every
 * address a host name resolves to is checked, so a tenant cannot reach loopback or link-local
 * addresses through DNS (a name pointing at 127.0.0.1 or 169.254.169.254), unless the operator
 * allowed it.
 */
import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { isForbiddenAddress, isForbiddenHost } from '../core/notifications/address.ts';
import { DeliveryError } from '../core/notifications/ports.ts';

export const forbidden = (host: string): DeliveryError =>
  new DeliveryError(
    `${host} is a loopback or link-local address, which channels may not reach (the operator can allow it with CERTKEEPER_NOTIFY_ALLOW_PRIVATE=1).`,
  );

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for node:http(s) and node:net that refuses forbidden addresses. */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      const list = addresses;
      if (!allowPrivate && list.some((a) => isForbiddenAddress(a.address))) return callback(forbidden(hostname), '');
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address.`), { code: 'ENOTFOUND' }), '');
      callback(null, first.address, first.family);
    });
  };
}

/** Resolves `host` once, checked; the address to connect to (the host itself when it is an IP). */
export async function resolveChecked(host: string, allowPrivate: boolean): Promise<string> {
  if (isIP(host)) {
    if (!allowPrivate && isForbiddenAddress(host)) throw forbidden(host);
    return host;
  }
  if (!allowPrivate && isForbiddenHost(host)) throw forbidden(host);
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    lookup(host, { all: true }, (error, list) => (error ? reject(error) : resolve(list))),
  ).catch((error: unknown) => {
    throw new DeliveryError(`${host} could not be resolved (${(error as { code?: string }).code ?? 'error'}).`);
  });
  if (!allowPrivate && addresses.some((a) => isForbiddenAddress(a.address))) throw forbidden(host);
  const first = addresses[0];
  if (!first) throw new DeliveryError(`${host} has no address.`);
  return first.address;
}
