/**
 * The version in package.json (`info.version` of `/docs/openapi.json`). Read once at load: this
 * file sits two levels below the package root both as source (src/app/) and built (dist/app/).
 */
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version?: unknown;
};
if (typeof manifest.version !== 'string') throw new Error('package.json has no version');

export const PACKAGE_VERSION: string = manifest.version;
