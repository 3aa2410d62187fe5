/**
 * Input members of the ACM API model, checked as AWS checks them: type, required, length and
 * pattern of each shape (botocore `acm/2015-12-08/service-2.json`). A failure is AWS's
 * `ValidationException` with AWS's wording ("1 validation error detected: Value … at '<member>'
 * failed to satisfy constraint: …"), the member in AWS's lower-camel form. Nothing here writes.
 */
import { invalidArn, validation, AcmWireError } from './errors.ts';

export type Json = Record<string, unknown>;

const memberName = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

function shown(value: unknown): string {
  if (typeof value === 'string') return value.length > 256 ? `${value.slice(0, 256)}…` : value;
  return JSON.stringify(value)?.slice(0, 256) ?? 'null';
}

const constraint = (name: string, value: unknown, rule: string): AcmWireError =>
  validation(
    `1 validation error detected: Value '${shown(value)}' at '${memberName(name)}' failed to satisfy constraint: ${rule}`,
  );

/** The body: one JSON object. Anything else is AWS's SerializationException. */
export function parseBody(raw: Buffer): Json {
  let value: unknown;
  try {
    value = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AcmWireError('invalid_argument', 'SerializationException', 'The request body is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new AcmWireError('invalid_argument', 'SerializationException', 'The request body must be a JSON object.');
  return value as Json;
}

const missing = (name: string): AcmWireError => constraint(name, null, 'Member must not be null');

export function string(
  body: Json,
  name: string,
  rule: { required?: boolean; min?: number; max?: number; pattern?: RegExp; enum?: readonly string[] } = {},
): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (rule.required) throw missing(name);
    return undefined;
  }
  if (typeof value !== 'string')
    throw new AcmWireError('invalid_argument', 'SerializationException', `The member ${name} must be a string.`);
  const length = [...value].length;
  if (rule.min !== undefined && length < rule.min)
    throw constraint(name, value, `Member must have length greater than or equal to ${rule.min}`);
  if (rule.max !== undefined && length > rule.max)
    throw constraint(name, value, `Member must have length less than or equal to ${rule.max}`);
  if (rule.pattern && !rule.pattern.test(value))
    throw constraint(
      name,
      value,
      `Member must satisfy regular expression pattern: ${rule.pattern.source.replace(/^\^|\$$/g, '')}`,
    );
  if (rule.enum && !rule.enum.includes(value))
    throw constraint(name, value, `Member must satisfy enum value set: [${rule.enum.join(', ')}]`);
  return value;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A blob member: standard base64 with padding, decoded, its byte length within [min, max]. */
export function blob(
  body: Json,
  name: string,
  rule: { required?: boolean; min: number; max: number },
): Buffer | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (rule.required) throw missing(name);
    return undefined;
  }
  if (typeof value !== 'string')
    throw new AcmWireError('invalid_argument', 'SerializationException', `The member ${name} must be a base64 string.`);
  if (!BASE64.test(value)) {
    throw new AcmWireError(
      'invalid_argument',
      'SerializationException',
      value.includes('-----BEGIN')
        ? `The member ${name} is PEM text; send the base64 encoding of the PEM bytes (the AWS CLI does with fileb://).`
        : `The member ${name} is not valid base64.`,
    );
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < rule.min)
    throw constraint(name, '***', `Member must have length greater than or equal to ${rule.min}`);
  if (bytes.length > rule.max)
    throw constraint(name, '***', `Member must have length less than or equal to ${rule.max}`);
  return bytes;
}

export function integer(body: Json, name: string, rule: { min?: number; max?: number } = {}): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new AcmWireError('invalid_argument', 'SerializationException', `The member ${name} must be an integer.`);
  if (rule.min !== undefined && value < rule.min)
    throw constraint(name, value, `Member must have value greater than or equal to ${rule.min}`);
  if (rule.max !== undefined && value > rule.max)
    throw constraint(name, value, `Member must have value less than or equal to ${rule.max}`);
  return value;
}

export function object(body: Json, name: string, required = false): Json | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw missing(name);
    return undefined;
  }
  if (typeof value !== 'object' || Array.isArray(value))
    throw new AcmWireError('invalid_argument', 'SerializationException', `The member ${name} must be an object.`);
  return value as Json;
}

export function list(
  body: Json,
  name: string,
  rule: { required?: boolean; min?: number; max?: number } = {},
): unknown[] | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (rule.required) throw missing(name);
    return undefined;
  }
  if (!Array.isArray(value))
    throw new AcmWireError('invalid_argument', 'SerializationException', `The member ${name} must be a list.`);
  if (rule.min !== undefined && value.length < rule.min)
    throw constraint(name, value, `Member must have length greater than or equal to ${rule.min}`);
  if (rule.max !== undefined && value.length > rule.max)
    throw constraint(name, value, `Member must have length less than or equal to ${rule.max}`);
  return value;
}

/** A list of enum strings. */
export function enumList(body: Json, name: string, values: readonly string[]): string[] | undefined {
  const items = list(body, name);
  if (items === undefined) return undefined;
  return items.map((item, i) => {
    if (typeof item !== 'string' || !values.includes(item))
      throw constraint(`${name}.${i + 1}.member`, item, `Member must satisfy enum value set: [${values.join(', ')}]`);
    return item;
  });
}

/** The model's `Arn` shape. */
const ARN_SHAPE = /^arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(\/[\w+=,.@-]+)*$/;
/** What certkeeper issues: partition aws, region, 12-digit account, certificate/<lower-case UUID>. */
const CERTIFICATE_ARN =
  /^arn:aws:acm:([a-z0-9-]{1,32}):([0-9]{12}):certificate\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export interface ParsedArn {
  region: string;
  account: string;
  arnId: string;
}

/** A CertificateArn member: the model's shape (ValidationException), then a certificate ARN (InvalidArnException). */
export function certificateArn(body: Json, name = 'CertificateArn', required = true): ParsedArn | undefined {
  const value = string(body, name, { required, min: 20, max: 2048, pattern: ARN_SHAPE });
  if (value === undefined) return undefined;
  const m = CERTIFICATE_ARN.exec(value);
  if (!m) throw invalidArn(value);
  return { region: m[1] as string, account: m[2] as string, arnId: m[3] as string };
}

export const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** A TagList member: 1–50 `{Key, Value?}` objects (their rules are core's, core/acm.ts). */
export function tags(
  body: Json,
  name: string,
  required: boolean,
): Array<{ key: string; value: string | null }> | undefined {
  // No max here: more than 50 is core's TooManyTagsException, the more useful answer.
  const items = list(body, name, { required, min: 1 });
  if (items === undefined) return undefined;
  return items.map((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw new AcmWireError('invalid_argument', 'SerializationException', `Each member of ${name} must be an object.`);
    const member = `${name}.${i + 1}.member`;
    const tag = item as Json;
    const key = tag.Key;
    if (key === undefined || key === null) throw missing(`${member}.key`);
    if (typeof key !== 'string')
      throw new AcmWireError('invalid_argument', 'SerializationException', `${member}.Key must be a string.`);
    const value = tag.Value;
    if (value !== undefined && value !== null && typeof value !== 'string')
      throw new AcmWireError('invalid_argument', 'SerializationException', `${member}.Value must be a string.`);
    return { key, value: typeof value === 'string' ? value : null };
  });
}

/** The model's `DomainNameString`. */
export const DOMAIN_NAME = /^(\*\.)?(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])$/;
