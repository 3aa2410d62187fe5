/**
 * The composition root: the one place that knows every part. It opens the store, builds the core
 * on it, and (for `serve`) the HTTP server with its faces. The CLI and the server both start here,
 * so they run the same migrations and the same master-key checks against the same data.
 */
import type { Config } from '../config/config.ts';
import { createCore, type Core } from '../core/core.ts';
import { systemClock, type Clock } from '../core/ports.ts';
import { openStore, type RotateMasterKeyResult, type StoreHandle } from '../store/open.ts';

export interface App {
  core: Core;
  store: StoreHandle;
  migrate(): Promise<string[]>;
  rotateMasterKey(newKeyBase64?: string): Promise<RotateMasterKeyResult>;
  close(): Promise<void>;
}

export async function openApp(config: Config, options: { clock?: Clock } = {}): Promise<App> {
  const clock = options.clock ?? systemClock;
  const databaseUrl = config.databaseUrl?.reveal();
  const masterKey = config.masterKey?.reveal().toString('base64');
  const store = await openStore({
    dataDir: config.dataDir,
    clock,
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(masterKey ? { masterKey } : {}),
  });
  return {
    core: createCore(store, clock),
    store,
    migrate: () => store.migrate(),
    rotateMasterKey: (newKeyBase64) => store.rotateMasterKey(newKeyBase64),
    close: () => store.close(),
  };
}
