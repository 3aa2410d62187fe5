/**
 * First start on an empty store: create tenant `default` and one ADMIN credential, and write them
 * to `<data dir>/initial-credentials.json` (0600). The caller prints the file's path, never the
 * secret. Runs only when the store has no tenant at all, so a restart never mints another admin.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Core } from '../core/core.ts';

export const INITIAL_CREDENTIALS_FILE = 'initial-credentials.json';

export interface BootstrapResult {
  /** Path of the credentials file, when this start created it. */
  credentialsFile: string | null;
}

export async function bootstrapIfEmpty(core: Core, dataDir: string): Promise<BootstrapResult> {
  if ((await core.tenants.list()).length > 0) return { credentialsFile: null };
  const tenant = await core.tenants.create('default');
  const { credential, secretKey } = await core.credentials.createForTenant(
    tenant.id,
    'ADMIN',
    'created on first start',
  );
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const content = {
    tenant: tenant.name,
    memberNo: tenant.memberNo,
    appKey: tenant.appKey,
    accessKey: credential.accessKey,
    secretKey,
    role: credential.role,
    note: 'Created on first start. Store the secret key somewhere safe, then delete this file.',
  };
  const text = `${JSON.stringify(content, null, 2)}\n`;
  // 'wx': never overwrite a file an operator may still need (a left-over from an earlier store
  // gets a dated sibling instead); mode 0600: the secret is in it.
  for (const name of [INITIAL_CREDENTIALS_FILE, `initial-credentials-${Date.now()}.json`]) {
    const file = join(dataDir, name);
    try {
      await writeFile(file, text, { mode: 0o600, flag: 'wx' });
      return { credentialsFile: file };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`Could not write the initial credentials file in ${dataDir}.`);
}
