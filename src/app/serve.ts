/**
 * `certkeeper serve` (and `npm start`): open the app, create the first tenant and credential on an
 * empty store, serve HTTP, and shut down gracefully on SIGTERM/SIGINT.
 */
import type { Config } from '../config/config.ts';
import { installSignalHandlers, startServer } from '../server/index.ts';
import { openApp } from './app.ts';
import { bootstrapIfEmpty } from './bootstrap.ts';
import { buildFaces } from './faces.ts';

export async function serve(config: Config, io: { stdout: { write(text: string): unknown } }): Promise<void> {
  const app = await openApp(config);
  try {
    const { credentialsFile } = await bootstrapIfEmpty(app.core, config.dataDir);
    const running = await startServer({
      config,
      store: app.store,
      clock: app.core.clock,
      faces: buildFaces(app.core, config),
      expiryHistogram: (asOf, bounds) => app.store.certificates.expiryHistogram(null, asOf, bounds),
    });
    installSignalHandlers(running.app, app.store);
    io.stdout.write(`certkeeper listening on ${running.address} (${app.store.dialect}: ${app.store.location})\n`);
    if (credentialsFile) {
      // The path only: the secret stays in the 0600 file.
      io.stdout.write(`First start: tenant 'default' and an ADMIN credential were created. They are in ${credentialsFile}\n`);
    }
  } catch (error) {
    await app.close();
    throw error;
  }
}
