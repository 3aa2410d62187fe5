/**
 * How long replaced versions and deleted certificates are kept (core/certificates.ts
 * RetentionSettings), read from the environment by the app (server and CLI alike: the CLI's
 * `cert delete` honours the delete window too):
 *
 * | Variable | Default | Meaning |
 * |---|---|---|
 * | `CERTKEEPER_VERSION_RETENTION_DAYS` | 90 (0–36500) | replaced versions kept this long; 0 keeps them forever |
 * | `CERTKEEPER_DELETE_RETENTION_DAYS` | 30 (0–36500) | deleted certificates recoverable this long; 0 purges at deletion |
 *
 * Same rules as notify-settings.ts: empty means unset, a bad value stops the start naming the variable.
 */
import type { RetentionSettings } from '../core/certificates.ts';

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 36_500) {
    const error = new Error(
      `${name} must be a whole number of days from 0 to 36500; got ${JSON.stringify(text.slice(0, 40))}.`,
    );
    error.name = 'ConfigError';
    throw error;
  }
  return Number(text);
}

export function retentionSettings(env: NodeJS.ProcessEnv): RetentionSettings {
  return {
    versionRetentionDays: integer(env, 'CERTKEEPER_VERSION_RETENTION_DAYS', 90),
    deleteRetentionDays: integer(env, 'CERTKEEPER_DELETE_RETENTION_DAYS', 30),
  };
}
