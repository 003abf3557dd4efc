// billing_duckdb.mjs — the peer of bench/billing_bench.c: DuckDB (@duckdb/node-api, its engine in
// the npm package) on one thread computes the same totals from the same records (the CSV the C
// bench wrote): rating every storage record by the same price list (integer micro-yen, rounded up,
// in HUGEINT so nothing overflows) and the month's report grouped by tenant, project, service, meter
// and resource, with 税抜 / 消費税 / 税込 per tenant. Loading the CSV is timed apart, as loading the
// database is on kasumi's side.
//
//   node bench/billing_duckdb.mjs FILE.csv [ROUNDS]   → one JSON line per round (the CSV loaded once)
import { DuckDBInstance } from "@duckdb/node-api";

const file = process.argv[2];
const rounds = Number(process.argv[3] || 3);
const ms = (s) => Date.parse(s);
const FROM = ms("2026-02-01T00:00:00+09:00"), START = ms("2026-03-01T00:00:00+09:00"),
    END = ms("2026-04-01T00:00:00+09:00"), UNTIL = "9223372036854775807";
const prices = [["requests_read", 400000, 1000], ["requests_write", 5000, 1], ["bytes_in", 0, 1],
    ["bytes_out", 11500000, 1073741824], ["storage_byte_seconds", 2300000, 2783138807808000]];

const db = await DuckDBInstance.create(":memory:", { threads: "1" });
const c = await db.connect();
const run = async (sql) => c.run(sql);
const time = async (sql) => { const t = process.hrtime.bigint(); await run(sql); return Number(process.hrtime.bigint() - t) / 1e9; };

const load_s = await time(`CREATE TABLE u AS SELECT * FROM read_csv('${file}', header = true, columns = {
    'tenant': 'VARCHAR', 'project': 'VARCHAR', 'service': 'VARCHAR', 'meter': 'VARCHAR',
    'resource': 'VARCHAR', 'quantity': 'BIGINT', 'time_ms': 'BIGINT', 'given_cost': 'BIGINT'})`);
await run(`CREATE TABLE prices(meter VARCHAR, price BIGINT, per BIGINT, valid_from BIGINT, valid_until BIGINT)`);
await run(`INSERT INTO prices VALUES ` + prices.map(([m, p, per]) => `('${m}', ${p}, ${per}, ${FROM}, ${UNTIL})`).join(","));
for (let round = 1; round <= rounds; round++) {
    await run(`DROP TABLE IF EXISTS rated; DROP TABLE IF EXISTS rep`);
    const rate_s = await time(`CREATE TABLE rated AS SELECT u.tenant, u.project, u.service, u.meter, u.resource,
        u.quantity, u.time_ms, CASE WHEN u.service = 'ai' THEN u.given_cost
            ELSE coalesce(CAST((CAST(u.quantity AS HUGEINT) * p.price + p.per - 1) // p.per AS BIGINT), 0) END AS cost
        FROM u LEFT JOIN prices p ON u.service = 'storage' AND p.meter = u.meter
            AND u.time_ms >= p.valid_from AND u.time_ms < p.valid_until`);
    const report_s = await time(`CREATE TABLE rep AS SELECT tenant, project, service, meter, resource,
        sum(quantity) AS q, sum(cost) AS c, count(*) AS n FROM rated
        WHERE time_ms >= ${START} AND time_ms < ${END} AND NOT (service = 'storage' AND meter = 'storage_bytes')
        GROUP BY ALL ORDER BY tenant, project, service, meter, resource`);
    const t = process.hrtime.bigint();
    const totals = (await c.runAndReadAll(`SELECT count(*), sum(c), sum(q) FROM rep`)).getRows()[0];
    const tax = (await c.runAndReadAll(`SELECT sum(ex + ex * 10 // 100) FROM
        (SELECT tenant, sum(c) // 1000000 AS ex FROM rep GROUP BY tenant)`)).getRows()[0];
    const invoice_s = Number(process.hrtime.bigint() - t) / 1e9;
    console.log(JSON.stringify({ engine: "duckdb", round, threads: 1, load_s, rate_s,
        report_s: report_s + invoice_s, rows: Number(totals[0]), total_microyen: totals[1].toString(),
        total_quantity: totals[2].toString(), incl_tax_yen: tax[0].toString() }));
}
