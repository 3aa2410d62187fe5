/**
 * Server-wide refusal of control characters in request text (the rule: domain/text.ts), so no
 * face has to remember it and no store sees such text.
 *
 * Contract:
 * - `onRequest` (before every face's authentication, which runs in route-level hooks after this):
 *   the decoded path parameters and every query value. A NUL in `/certmanager/v1.0/appkeys/%00/…`
 *   is refused here, before the appKey is looked up.
 * - `preValidation` (after the body is parsed, before any handler): every string in a parsed body,
 *   keys included: JSON objects and arrays, string bodies, `URLSearchParams` form bodies. Buffers
 *   and streams (file uploads) are not text and are left to their parsers.
 * - A refusal is `AppError('invalid_argument')` naming the field, thrown from the hook, so the
 *   route's face renders it in its own envelope with its own 400, and nothing reaches core.
 * Text decoded by a face out of a header (HTTP Basic credentials) is checked by core where it is
 * looked up (core/credentials.ts), since no hook here can see inside it.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../domain/errors.ts';
import { hasControlCharacter } from '../domain/text.ts';

function refuse(field: string): never {
  throw new AppError('invalid_argument', `The ${field} holds a control character.`, { field });
}

/** Throws for the first string (value or key) under `value` holding a control character. */
export function checkText(value: unknown, field: string): void {
  const pending: Array<[unknown, string]> = [[value, field]];
  while (pending.length > 0) {
    const [item, name] = pending.pop()!;
    if (typeof item === 'string') {
      if (hasControlCharacter(item)) refuse(name);
    } else if (item instanceof URLSearchParams) {
      for (const [key, text] of item) {
        if (hasControlCharacter(key)) refuse(field);
        if (hasControlCharacter(text)) refuse(key);
      }
    } else if (Array.isArray(item)) {
      for (const element of item) pending.push([element, name]);
    } else if (typeof item === 'object' && item !== null && !Buffer.isBuffer(item) && !ArrayBuffer.isView(item)) {
      if (typeof (item as { pipe?: unknown }).pipe === 'function') continue;
      for (const [key, element] of Object.entries(item)) {
        if (hasControlCharacter(key)) refuse(name);
        pending.push([element, key]);
      }
    }
  }
}

/** Callback-style hooks (no promise per request): every request of every face passes through them. */
export function refuseControlCharacters(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      checkText(request.params, 'path');
      checkText(request.query, 'query');
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });
  app.addHook('preValidation', (request, _reply, done) => {
    try {
      checkText(request.body, 'body');
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });
}
