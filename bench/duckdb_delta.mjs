// DuckDB twin of `snapdelta diff`, for bench/compare.sh: the delta of two full exports computed
// the way the replaced pipeline did it in Athena, with a FULL OUTER JOIN on the key.
//
//   node bench/duckdb_delta.mjs OLD NEW OUT.csv [KEY[,KEY...]]      (KEY default: id)
//
// Both files are read with read_csv (header, every column VARCHAR; gzip detected from the name).
// INSERT: key only in NEW. DELETE: key only in OLD. UPDATE: key in both and any non-key column
// present in both files IS DISTINCT FROM its old value. OUT.csv gets one line per event: op, the
// key, then the new row's other columns (empty for a DELETE), as snapdelta's events carry the new
// row and, for a DELETE, only the key. DuckDB runs with its defaults (threads = cores, memory
// limit 80% of RAM). Prints one JSON object on stdout:
//   {"insert":N,"update":N,"delete":N,"duckdb":"v1.x.y","delta_ms":N,"count_ms":N}
// The counts are read back from OUT.csv (a COPY reports only its total), which costs count_ms,
// small next to delta_ms: the output holds only the changed rows.
//
// @duckdb/node-api is installed by compare.sh under bench/duckdb/, not next to this script, so
// it is resolved from there.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

import { exportColumns } from './export_columns.mjs';

const [oldPath, newPath, outPath, keyArg = 'id'] = process.argv.slice(2);
if (!oldPath || !newPath || !outPath) {
  console.error('usage: node duckdb_delta.mjs OLD NEW OUT.csv [KEY[,KEY...]]');
  process.exit(2);
}

const require = createRequire(new URL('./duckdb/', import.meta.url));
const { DuckDBInstance, version } = await import(
  pathToFileURL(require.resolve('@duckdb/node-api')).href);

const ident = (name) => '"' + name.replaceAll('"', '""') + '"';
const literal = (text) => "'" + text.replaceAll("'", "''") + "'";
const readCsv = (path) => `read_csv(${literal(path)}, header = true, all_varchar = true)`;

const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();

const { keys, values, compared } = await exportColumns(oldPath, newPath, keyArg, 'duckdb_delta');

const on = keys.map((k) => `o.${ident(k)} = n.${ident(k)}`).join(' AND ');
const newMissing = `n.${ident(keys[0])} IS NULL`;
const oldMissing = `o.${ident(keys[0])} IS NULL`;
const changed = compared.map((c) => `o.${ident(c)} IS DISTINCT FROM n.${ident(c)}`).join(' OR ')
  || 'false';
const select = [
  `CASE WHEN ${oldMissing} THEN 'INSERT' WHEN ${newMissing} THEN 'DELETE' ELSE 'UPDATE' END AS op`,
  ...keys.map((k) => `coalesce(n.${ident(k)}, o.${ident(k)}) AS ${ident(k)}`),
  ...values.map((c) => `n.${ident(c)}`),
].join(', ');

const deltaSql = `COPY (
  SELECT ${select}
  FROM ${readCsv(oldPath)} AS o FULL OUTER JOIN ${readCsv(newPath)} AS n ON ${on}
  WHERE ${oldMissing} OR ${newMissing} OR (${changed})
) TO ${literal(outPath)} (FORMAT csv, HEADER true)`;

let start = performance.now();
await connection.run(deltaSql);
const deltaMs = Math.round(performance.now() - start);

start = performance.now();
const reader = await connection.runAndReadAll(
  `SELECT op, count(*)::BIGINT AS n FROM read_csv(${literal(outPath)}, header = true,
     all_varchar = true) GROUP BY op`);
const countMs = Math.round(performance.now() - start);
const counts = { insert: 0, update: 0, delete: 0 };
for (const row of reader.getRowObjects()) counts[row.op.toLowerCase()] = Number(row.n);

console.log(JSON.stringify({ ...counts, duckdb: version(), delta_ms: deltaMs, count_ms: countMs }));
