/**
 * The retention pass: purges deleted certificates whose recovery window has passed, drops
 * versions older than the version retention (core/certificates.ts RetentionSettings), and moves
 * the store's count of certificates expired before today forward (Store.advanceExpiredBefore). Started by
 * `serve` next to the other workers and stopped before the store closes; tests drive `runOnce()`.
 *
 * Small and claim-safe: each pass purges at most `batch` certificates and drops at most `batch`
 * versions, each by a write conditional on the row's state (CertificateRepository.purgeExpired),
 * so several processes running the pass at once purge each row once and a restore racing a purge
 * either restores or finds it purged, never half of each. Needs no lease: the work is idempotent.
 * A full batch means more is due: the next pass follows at once instead of after `pollMs`.
 */
import type { RetentionSettings } from './certificates.ts';
import type { Clock, Store } from './ports.ts';

const DAY_MS = 86_400_000;

export interface RetentionPass {
  certificates: number;
  versions: number;
  /** Tenants whose count of certificates expired before today moved to today (Store.advanceExpiredBefore). */
  tenants: number;
}

export interface RetentionWorkerLog {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface RetentionWorker {
  runOnce(): Promise<RetentionPass>;
  start(): void;
  stop(): Promise<void>;
}

export function createRetentionWorker(options: {
  store: Store;
  clock: Clock;
  settings: RetentionSettings;
  /** Rows of each kind per pass. Default 100. */
  batch?: number;
  /** Pause between passes when nothing more is due. Default 10 minutes. */
  pollMs?: number;
  log?: RetentionWorkerLog;
}): RetentionWorker {
  const { store, clock, settings } = options;
  const batch = options.batch ?? 100;
  const pollMs = options.pollMs ?? 600_000;
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  async function pass(): Promise<RetentionPass> {
    const now = clock.now().getTime();
    const result = await store.certificates.purgeExpired({
      // 0 days: a deletion purges at once; rows left from a longer window before are purged now.
      deletedBefore: new Date(now - settings.deleteRetentionDays * DAY_MS),
      replacedBefore:
        settings.versionRetentionDays === 0 ? null : new Date(now - settings.versionRetentionDays * DAY_MS),
      limit: batch,
      at: new Date(now),
    });
    const tenants = await store.certificates.advanceExpiredBefore({ at: new Date(now), limit: batch });
    if (result.certificates + result.versions > 0) options.log?.info({ ...result }, 'retention pass purged');
    return { ...result, tenants };
  }

  function runOnce(): Promise<RetentionPass> {
    const next = chain.then(pass);
    chain = next.catch(() => undefined);
    return next;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      runOnce().then(
        (result) =>
          schedule(result.certificates >= batch || result.versions >= batch || result.tenants >= batch ? 0 : pollMs),
        (error: unknown) => {
          options.log?.error(
            { err: error instanceof Error ? error.message : String(error) },
            'retention pass failed; retrying after the poll pause',
          );
          schedule(pollMs);
        },
      );
    }, delayMs);
    timer.unref();
  }

  return {
    runOnce,
    start() {
      if (!stopped && timer === null) schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await chain;
    },
  };
}
