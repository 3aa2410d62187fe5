/**
 * What one 100-certificate list page costs to bring from PostgreSQL into Node, by the form its
 * rows travel in: the CPU of this process and of its backend per page, on one connection,
 * the statement named (prepared once) as the store sends it.
 *
 *   node bench/pg-page-transport.ts --url postgres://…/kept_db [--pages 2000] [--rounds 3]
 *
 * The page is the summary columns of a list page (rows.ts CERTIFICATE_SUMMARY_COLUMNS and
 * `has_chain`) of the seeded tenant's first 100 live certificates, read as:
 * - `objects`: pg's row objects, the store's way (int8 parsed to numbers as connect.ts does);
 * - `arrays`: pg's `rowMode: 'array'`, the same values by position;
 * - `no-facts`: objects without the `facts` column (about 1 KB of JSON text a row);
 * - `numbers`: objects of the certificate number alone (the statement's fixed cost);
 * - `json`: the page as one `json_agg` text, parsed by JSON.parse.
 * Before measuring, statements of 14 other column lists run through the same client, so pg's
 * row building is as polymorphic as in the server (it reads many statements' rows); a client
 * that only ever saw one list would flatter the objects. Forms alternate within each round;
 * CPU times are clock ticks (10 ms), so keep pages × µs well above that.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CERTIFICATE_SUMMARY_COLUMNS } from '../src/store/rows.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    pages: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
  },
});
if (!values.url) throw new Error('--url postgres://… (a store kept by bench/run.ts) is required');
const PAGES = Number(values.pages);

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT value ${text} does not fit a JS number.`);
  return value;
}
const client = new pg.Client({
  connectionString: values.url,
  types: {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === pg.types.builtins.INT8 && format !== 'binary'
        ? parseInt8
        : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
  },
});
await client.connect();

const cpuSecondsOf = async (pid: number): Promise<number> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const loadAverage = async (): Promise<string> => (await readFile('/proc/loadavg', 'utf8')).split(' ')[0]!;

try {
  const backend = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  // The seeded tenant: the one with the most live certificates.
  const tenant = (
    await client.query<{ tenant_id: number }>(
      'select tenant_id from certificates where deleted_at is null group by tenant_id order by count(*) desc limit 1',
    )
  ).rows[0]!.tenant_id;
  const columns = [...CERTIFICATE_SUMMARY_COLUMNS, `case when chain_pems = '[]' then 0 else 1 end as has_chain`];
  const pageOf = (list: readonly string[]): string =>
    `select ${list.join(', ')} from certificates where tenant_id = $1 and deleted_at is null order by certificate_no limit 100`;
  const forms: Array<{ name: string; text: string; arrays?: true; rows: (result: pg.QueryResult) => unknown[] }> = [
    { name: 'objects', text: pageOf(columns), rows: (r) => r.rows },
    { name: 'arrays', text: pageOf(columns), arrays: true, rows: (r) => r.rows },
    { name: 'no-facts', text: pageOf(columns.filter((c) => c !== 'facts')), rows: (r) => r.rows },
    { name: 'numbers', text: pageOf(['certificate_no']), rows: (r) => r.rows },
    {
      name: 'json',
      text: `select coalesce(json_agg(q), '[]')::text as page from (${pageOf(columns)}) as q`,
      rows: (r) => JSON.parse((r.rows[0] as { page: string }).page) as unknown[],
    },
  ];
  // Other column lists first (see the header).
  for (let n = 1; n < CERTIFICATE_SUMMARY_COLUMNS.length; n++)
    for (let i = 0; i < 20; i++)
      await client.query({
        name: `transport_other_${n}`,
        text: `select ${CERTIFICATE_SUMMARY_COLUMNS.slice(0, n).join(', ')} from certificates where tenant_id = $1 limit 5`,
        values: [tenant],
      });
  console.log(`${PAGES} pages per form and round; µs of CPU per page`);
  for (let round = 1; round <= Number(values.rounds); round++)
    for (const form of forms) {
      const config = {
        name: `transport_${form.name}`,
        text: form.text,
        values: [tenant],
        ...(form.arrays ? { rowMode: 'array' } : {}),
      };
      const read = async (): Promise<number> => form.rows(await client.query(config)).length;
      for (let i = 0; i < 200; i++) await read();
      const [node0, backend0] = [process.cpuUsage(), await cpuSecondsOf(backend)];
      let rows = 0;
      for (let i = 0; i < PAGES; i++) rows += await read();
      const [node, backend1] = [process.cpuUsage(node0), await cpuSecondsOf(backend)];
      console.log(
        `round ${round}\t${form.name.padEnd(8)}\tnode ${Math.round((node.user + node.system) / PAGES)}\tbackend ${Math.round(((backend1 - backend0) * 1e6) / PAGES)}\t${rows / PAGES} rows\tload ${await loadAverage()}`,
      );
    }
} finally {
  await client.end();
}
