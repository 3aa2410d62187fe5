/** Assertions on AppError: the code, the field it blames, and fragments of the message a user reads. */
import assert from 'node:assert/strict';
import { AppError, type ErrorCode, type InputField } from '../../src/domain/errors.ts';

/** Runs `fn`, which must throw an AppError with this code and field, whose message has every fragment. */
export function expectError(
  fn: () => unknown,
  code: ErrorCode,
  field: InputField,
  ...fragments: (string | RegExp)[]
): AppError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof AppError, `expected AppError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.field, field);
  for (const fragment of fragments) {
    if (typeof fragment === 'string')
      assert.ok(caught.message.includes(fragment), `message "${caught.message}" lacks "${fragment}"`);
    else assert.match(caught.message, fragment);
  }
  return caught;
}
