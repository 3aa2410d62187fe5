/**
 * The request readers both faces behind the NCP gateway share (NCP Certificate Manager and Global
 * Edge): the body as an object of fields, the query as one, own-property lookup (never the
 * prototype's), and how a wrong JSON type is named in a message. Each face's schemas.ts builds its
 * own field rules on these; a refusal is `invalid_argument` on the named field.
 */
import { AppError } from '../../domain/errors.ts';

export type Fields = Readonly<Record<string, unknown>>;

/** How a JSON value's type reads in a message: `null`, `an array`, `an object`, `a string`, … */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** The field's value when it is the object's own property; `__proto__` and friends are absent. */
export const own = (source: Fields, name: string): unknown => (Object.hasOwn(source, name) ? source[name] : undefined);

/** The JSON body as an object; omitted or empty is `{}`. */
export function bodyFields(body: unknown): Fields {
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('invalid_argument', `The request body must be a JSON object, not ${typeName(body)}.`, {
      field: 'body',
    });
  }
  return body as Fields;
}

/** Fastify's parsed query (values are strings, or arrays of strings when repeated). */
export function queryFields(query: unknown): Fields {
  return query !== null && typeof query === 'object' ? (query as Fields) : {};
}
