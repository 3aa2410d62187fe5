/**
 * The store being unavailable (PostgreSQL down or unreachable, the SQLite disk full or failing) is
 * one event, not one per request: the store tells its listener once when it becomes unavailable
 * and once when it works again, and each failed request is only the face's 503 (logged by the
 * face at info, without a stack).
 *
 * - `failed(cause)`: a statement failed because the store is unavailable (postgres-faults.ts,
 *   errors.ts `storageFault`). The first one after a success reports `unavailable` with the
 *   driver's code; the rest are counted.
 * - `succeeded(startedIn)`: a statement that proves the store works again ran (PostgreSQL: any
 *   statement; SQLite: a write, since reads keep working on a full disk). After an outage it
 *   reports `recovered` with how long it lasted and how many statements failed, but only for a
 *   statement that started after the outage did (`startedIn`, the `epoch` read when it started):
 *   a query answered just before PostgreSQL went away, whose answer arrives after the first
 *   failure, proves nothing and must not split one outage into two. Cheap when nothing is wrong
 *   (one comparison), since it runs on every statement.
 *
 * - A relapse: an outage with the same code as the last one, starting less than `relapseMs`
 *   (default a minute) after that one's recovery, is reported with `relapse: true`, which the log
 *   writes as a warning, not a new error. A store that flaps is one incident: a nearly full SQLite
 *   disk lets some writes through (WAL frames reused after a checkpoint need no new space) while
 *   others fail, and each write that works is a recovery.
 *
 * Per process: each process of a deployment reports its own outage.
 */
export type AvailabilityEvent =
  | { kind: 'unavailable'; code: string; relapse: boolean }
  | { kind: 'recovered'; code: string; downMs: number; failures: number };

/** An outage this soon after the last one's recovery, with its code, is a relapse of it. */
export const RELAPSE_MS = 60_000;

export type AvailabilityListener = (event: AvailabilityEvent) => void;

export class AvailabilityWatch {
  private listener: AvailabilityListener = () => undefined;
  private down: { code: string; since: number; failures: number } | null = null;
  private outages = 0;
  private lastRecovery: { code: string; at: number } | null = null;
  private readonly now: () => number;
  private readonly relapseMs: number;

  constructor(now: () => number = Date.now, relapseMs: number = RELAPSE_MS) {
    this.now = now;
    this.relapseMs = relapseMs;
  }

  /** Replaces the listener (one per store: the server's log). */
  listen(listener: AvailabilityListener): void {
    this.listener = listener;
  }

  /** Counts the outages so far: read when a statement starts, passed to `succeeded`. */
  get epoch(): number {
    return this.outages;
  }

  /** Whether the last verdict was "unavailable". */
  get unavailable(): boolean {
    return this.down !== null;
  }

  failed(cause: unknown): void {
    if (this.down !== null) {
      this.down.failures++;
      return;
    }
    const code = causeCode(cause);
    const now = this.now();
    const relapse = this.lastRecovery?.code === code && now - this.lastRecovery.at < this.relapseMs;
    this.down = { code, since: now, failures: 1 };
    this.outages++;
    this.listener({ kind: 'unavailable', code, relapse });
  }

  succeeded(startedIn: number = this.outages): void {
    if (this.down === null || startedIn !== this.outages) return;
    const { code, since, failures } = this.down;
    const now = this.now();
    this.down = null;
    this.lastRecovery = { code, at: now };
    this.listener({ kind: 'recovered', code, downMs: now - since, failures });
  }
}

/** The driver's code of `error` (its own, else its cause's), or 'error'. Never message text. */
function causeCode(error: unknown): string {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'unavailable') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return 'error';
}
