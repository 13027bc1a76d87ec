// DuckDB running the same 10 contract rules as SQL on the same CSV, and
// SUMMARIZE (its profile) on it, each timed. Used by bench/data:
//   (cd bench/data/duckdb && npm install) && go run ./bench/data
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const src = `read_csv('${file}', header=true, all_varchar=true)`;
const checks = `
SELECT
  count(*) AS rows,
  count(*) FILTER (WHERE id IS NULL) AS id_required,
  count(*) FILTER (WHERE id IS NOT NULL AND TRY_CAST(id AS BIGINT) IS NULL) AS id_type,
  count(id) - count(DISTINCT id) AS id_unique,
  count(*) FILTER (WHERE "user" IS NOT NULL AND NOT regexp_full_match("user", 'u[0-9]+')) AS user_pattern,
  count(*) FILTER (WHERE amount IS NOT NULL AND TRY_CAST(amount AS DOUBLE) IS NULL) AS amount_type,
  count(*) FILTER (WHERE TRY_CAST(amount AS DOUBLE) < 0 OR TRY_CAST(amount AS DOUBLE) > 1000000) AS amount_range,
  count(*) FILTER (WHERE status IS NOT NULL AND status NOT IN ('new', 'paid', 'shipped')) AS status_enum,
  100.0 * count(*) FILTER (WHERE country IS NULL) / count(*) AS country_null_pct,
  count(*) FILTER (WHERE day IS NOT NULL AND TRY_CAST(day AS DATE) IS NULL) AS day_type,
  count(*) FILTER (WHERE flag IS NOT NULL AND TRY_CAST(flag AS BOOLEAN) IS NULL) AS flag_type
FROM ${src}`;

for (const [name, sql] of [['validate, 10 rules (SQL)', checks], ['SUMMARIZE (profile)', `SUMMARIZE SELECT * FROM read_csv('${file}', header=true)`]]) {
  const start = process.hrtime.bigint();
  const r = await con.runAndReadAll(sql);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const rows = r.getRows();
  console.log(`| DuckDB ${name} | ${secs.toFixed(3)} s | ${name.startsWith('validate') ? Math.round(Number(rows[0][0]) / secs) : '-'} |`);
}
