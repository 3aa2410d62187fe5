/** CLI output: `--json` for machines, aligned tables for people, one line on stderr for errors. */

export type Row = Record<string, string | number | boolean | null | undefined>;

export function table(rows: Row[], columns: string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((row) => columns.map((c) => formatCell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

export function keyValues(row: Row): string {
  const width = Math.max(...Object.keys(row).map((k) => k.length));
  return (
    Object.entries(row)
      .map(([k, v]) => `${k.padEnd(width)}  ${formatCell(v)}`)
      .join('\n') + '\n'
  );
}

function formatCell(value: Row[string]): string {
  if (value === null || value === undefined) return '-';
  // Control characters from certificate fields must not drive the terminal.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return String(value).replace(/[\u0000-\u001f\u007f]/g, '?');
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
