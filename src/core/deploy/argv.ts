/**
 * The reload command of a directory target, split into argv the way a shell splits words, and
 * nothing more: it is run with `spawn(argv[0], argv.slice(1))`, never through `sh -c`, so no
 * value can inject a second command.
 *
 * Accepted: words separated by spaces or tabs; '…' (literal), "…" (backslash escapes `"` and `\`
 * only), and a backslash outside quotes escaping the next character. Refused, so nobody believes
 * a shell feature works when it would silently become a literal argument: unquoted
 * `| & ; < > ( ) $ \` * ? ~ { } [ ] #` and newlines, unterminated quotes, an empty command. To use
 * shell features, point the reload command at a script.
 */
import { AppError } from '../../domain/errors.ts';

const SHELL_ONLY = new Set([
  '|',
  '&',
  ';',
  '<',
  '>',
  '(',
  ')',
  '$',
  '`',
  '*',
  '?',
  '~',
  '{',
  '}',
  '[',
  ']',
  '#',
  '\n',
  '\r',
]);
export const RELOAD_COMMAND_MAX = 4096;
const MAX_ARGS = 64;

const refuse = (message: string): AppError =>
  new AppError('invalid_argument', `The reload command ${message}`, { field: 'reloadCommand' });

export function splitCommand(line: string): string[] {
  if (line.length > RELOAD_COMMAND_MAX) throw refuse(`is longer than ${RELOAD_COMMAND_MAX} characters.`);
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(line))
    throw refuse('may not contain control characters.');
  const args: string[] = [];
  let current = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw refuse('has an unterminated single quote.');
      current += line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && (line[j + 1] === '"' || line[j + 1] === '\\')) j++;
        current += line[j];
      }
      if (j >= line.length) throw refuse('has an unterminated double quote.');
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw refuse('ends with a backslash.');
      current += line[++i];
    } else if (SHELL_ONLY.has(c)) {
      throw refuse(
        `uses '${c === '\n' || c === '\r' ? 'a line break' : c}', a shell feature: it is run without a shell. Quote it to pass it literally, or put the commands in a script and run that.`,
      );
    } else {
      current += c;
    }
  }
  if (inWord) args.push(current);
  if (args.length === 0 || args[0] === '') throw refuse('is empty.');
  if (args.length > MAX_ARGS) throw refuse(`has more than ${MAX_ARGS} arguments.`);
  return args;
}

/**
 * One word as a POSIX shell (and splitCommand) reads it back: as it is when it holds only safe
 * characters, else in single quotes (a quote inside as `'\''`).
 */
export const shellWord = (arg: string): string =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;

/** The argv as a command line a person can read (and paste back): words quoted where needed. */
export function joinCommand(argv: readonly string[]): string {
  return argv.map(shellWord).join(' ');
}
