// Polars twin of bench/duckdb_delta.mjs, for bench/compare.sh: the same FULL OUTER JOIN delta of
// two full exports, computed by Polars's lazy API (nodejs-polars) instead of DuckDB's SQL.
//
//   node bench/polars_delta.mjs OLD NEW OUT.csv [KEY[,KEY...]]      (KEY default: id)
//
// Both files are read with scanCSV, every column Utf8: the schema is given (all Utf8, the names
// from each file's header), so Polars infers nothing and reads the file once. scanCSV reads a
// .gz path itself (no decompressing stream in front of it): with the schema given, Polars's
// streaming CSV source decompresses as it parses. Empty fields, quoted ("") or not, are read as
// null (nullValues ''), as DuckDB's read_csv does (NULL for both), so the comparison below has
// no empty-string-versus-null case DuckDB does not have.
// INSERT: key only in NEW. DELETE: key only in OLD. UPDATE: key in both and any non-key column
// present in both files differs, null-safe: nodejs-polars has no neqMissing (IS DISTINCT FROM),
// so both sides are compared with null filled as '', exact here since no value is '' (above).
// A row is INSERT when OLD's first key column is null after the join, else DELETE when NEW's is,
// else UPDATE: duckdb_delta.mjs's CASE, so even rows with a null key get the same op.
// OUT.csv gets one line per event: op, the key, then the new row's other columns (empty for a
// DELETE), the layout of duckdb_delta.mjs. The query ends in sinkCSV, run by the streaming engine
// (collectSync with engine 'streaming'); Polars uses its defaults otherwise (threads = cores).
// Prints one JSON object on stdout:
//   {"insert":N,"update":N,"delete":N,"polars":"0.x.y","delta_ms":N,"count_ms":N}
// The counts are read back from OUT.csv, as duckdb_delta.mjs does, which costs count_ms.
//
// nodejs-polars (with its platform binary package) is installed by compare.sh under
// bench/polars/, not next to this script, so it is resolved from there.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

import { exportColumns } from './export_columns.mjs';

const [oldPath, newPath, outPath, keyArg = 'id'] = process.argv.slice(2);
if (!oldPath || !newPath || !outPath) {
  console.error('usage: node polars_delta.mjs OLD NEW OUT.csv [KEY[,KEY...]]');
  process.exit(2);
}

const require = createRequire(new URL('./polars/', import.meta.url));
const pl = (await import(pathToFileURL(require.resolve('nodejs-polars')).href)).default;

const { keys, oldColumns, newColumns, values, compared } =
  await exportColumns(oldPath, newPath, keyArg, 'polars_delta');

// Each side's columns get a prefix before the join, so that no name of a file can collide with
// the join's own suffixing; the output renames them back.
const O = (c) => `o\u0000${c}`;
const N = (c) => `n\u0000${c}`;
const scan = (path, columns, prefix) =>
  pl.scanCSV(path, {
    hasHeader: true,
    schema: Object.fromEntries(columns.map((c) => [c, pl.Utf8])),
    nullValues: '',
  }).select(...columns.map((c) => pl.col(c).alias(prefix(c))));

const oldMissing = pl.col(O(keys[0])).isNull();
const newMissing = pl.col(N(keys[0])).isNull();
const differs = (c) => pl.col(O(c)).fillNull('').neq(pl.col(N(c)).fillNull(''));
const changed = compared.length ? pl.anyHorizontal(compared.map(differs)) : pl.lit(false);

const delta = scan(oldPath, oldColumns, O)
  .join(scan(newPath, newColumns, N), {
    leftOn: keys.map(O),
    rightOn: keys.map(N),
    how: 'full',
    coalesce: false,
  })
  .filter(oldMissing.or(newMissing).or(changed))
  .select(
    pl.when(oldMissing).then(pl.lit('INSERT')).when(newMissing).then(pl.lit('DELETE'))
      .otherwise(pl.lit('UPDATE')).alias('op'),
    ...keys.map((k) => pl.col(N(k)).fillNull(pl.col(O(k))).alias(k)),
    ...values.map((c) => pl.col(N(c)).alias(c)),
  );

let start = performance.now();
delta.sinkCSV(outPath, { includeHeader: true }).collectSync({ engine: 'streaming' });
const deltaMs = Math.round(performance.now() - start);

start = performance.now();
const counted = pl.scanCSV(outPath, { inferSchemaLength: 0 })
  .groupBy('op').agg(pl.col('op').count().alias('n'))
  .collectSync({ engine: 'streaming' });
const countMs = Math.round(performance.now() - start);
const counts = { insert: 0, update: 0, delete: 0 };
for (const row of counted.toRecords()) counts[row.op.toLowerCase()] = Number(row.n);

console.log(JSON.stringify({ ...counts, polars: pl.version, delta_ms: deltaMs, count_ms: countMs }));
