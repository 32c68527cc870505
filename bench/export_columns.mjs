// The columns of an export pair, shared by bench/duckdb_delta.mjs and bench/polars_delta.mjs:
// each file's header row, read here rather than by the engine (DuckDB's sniffer would read a
// sample of each file once more, about 0.2 s per gzip file; Polars would infer a schema), and
// the key, value and compared columns the delta query needs.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

// The names in the first line of `path` (gzip when it ends in .gz): CSV with double quotes, a
// BOM and a CR dropped.
export async function columnsOf(path) {
  let stream = createReadStream(path);
  if (path.endsWith('.gz')) stream = stream.pipe(createGunzip());
  let line = '';
  for await (const chunk of stream) {
    line += chunk.toString('utf8');
    const end = line.indexOf('\n');
    if (end >= 0) {
      line = line.slice(0, end);
      break;
    }
  }
  line = line.replace(/^\uFEFF/, '').replace(/\r$/, '');
  const names = [];
  let name = '', quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') name += line[++i];
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) names.push(name), name = '';
    else name += c;
  }
  names.push(name);
  return names;
}

// {keys, oldColumns, newColumns, values, compared} of OLD and NEW for the key list `keyArg`
// ("id" or "region,id"): values are NEW's non-key columns, compared those of them OLD has too.
// Exits 1, naming `tool`, when a key column is missing from either file.
export async function exportColumns(oldPath, newPath, keyArg, tool) {
  const keys = keyArg.split(',');
  const oldColumns = await columnsOf(oldPath);
  const newColumns = await columnsOf(newPath);
  for (const key of keys) {
    if (!oldColumns.includes(key) || !newColumns.includes(key)) {
      console.error(`${tool}: key column ${key} missing in ${oldPath} or ${newPath}`);
      process.exit(1);
    }
  }
  const values = newColumns.filter((c) => !keys.includes(c));
  const compared = values.filter((c) => oldColumns.includes(c));
  return { keys, oldColumns, newColumns, values, compared };
}
