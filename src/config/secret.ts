/**
 * A value that must never reach a log line, an error message or a JSON dump by accident.
 *
 * Contract: `reveal()` is the only way to read the value. `String(secret)`, template literals,
 * `JSON.stringify` and `util.inspect` (so `console.log` and pino) all print `[redacted]`. Call
 * `reveal()` at the one place that needs the value (the vault, the database driver) and nowhere
 * else.
 */
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class Secret<T> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  /** The value itself. Do not log it, do not put it in an error message. */
  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
