// bench/duckdb_df.cjs - bench_df's queries in DuckDB, for
// bench/compare_df.sh.
//
//   node bench/duckdb_df.cjs DUCKDB_DIR PATH THREADS QUERY
//
// Runs query QUERY (bench_df's numbering, 1-11; 0 only starts DuckDB, to
// measure the process's own footprint) over the events CSV at PATH on
// THREADS threads, reading the file as bench_df does: every query parses
// the CSV again, with the same column types (ts stays a string).  Prints
// one line: "duckdb Q WALL_S PEAK_MIB ANSWER".  DuckDB comes from npm
// (@duckdb/node-api) installed under DUCKDB_DIR by compare_df.sh; it is
// never a dependency of taskgraph.
'use strict';
const fs = require('fs');

const [dir, path, threads, qs] = process.argv.slice(2);
if (!dir || !path || !threads || qs === undefined) {
    console.error('usage: duckdb_df.cjs DUCKDB_DIR PATH THREADS QUERY');
    process.exit(2);
}
const q = Number(qs);
const { DuckDBInstance } = require(dir + '/node_modules/@duckdb/node-api');

const lit = (s) => "'" + s.replace(/'/g, "''") + "'";
const ev =
    `read_csv(${lit(path)}, header = true, delim = ',', ` +
    "columns = {'id': 'BIGINT', 'key': 'VARCHAR', 'grp': 'BIGINT', " +
    "'x': 'DOUBLE', 'y': 'BIGINT', 'ts': 'VARCHAR'})";
const order = 'ORDER BY key ASC NULLS LAST, x DESC NULLS LAST';
const out = path + '.duckdb.sorted.csv';

// bench_df's queries.  Grouping drops null keys, as bench_df's groupby
// and value_counts do by default (pandas); the join is an inner join of
// events with the 920-row dims table bench_df builds (same keys, labels
// and weights); the transform is a window over grp.
const queries = {
    1: `SELECT count(*) FROM ${ev}`,
    2: `SELECT count(*) FROM ${ev} WHERE x > 0`,
    3: `SELECT key, avg(x) FROM ${ev} WHERE key IS NOT NULL GROUP BY key`,
    4: `SELECT key, grp, sum(y), count(y) FROM ${ev}
        WHERE key IS NOT NULL GROUP BY key, grp`,
    5: `SELECT grp, count(*) AS n FROM ${ev} WHERE grp IS NOT NULL
        GROUP BY grp ORDER BY n DESC`,
    6: `SELECT count(x), avg(x), stddev_samp(x), min(x), max(x) FROM ${ev}`,
    7: `SELECT count(id), count(key), count(grp), count(x), count(y),
        count(ts) FROM ${ev}`,
    8: `SELECT * FROM ${ev} ${order} LIMIT 100`,
    9: `COPY (SELECT * FROM ${ev} ${order}) TO ${lit(out)}
        (HEADER, DELIMITER ',')`,
    10: `SELECT label, sum(x * weight) AS xw_sum FROM ${ev} e
         JOIN dims d ON e.key = d.key GROUP BY label ORDER BY label`,
    11: `SELECT count(z), stddev_samp(z) FROM (
           SELECT (x - avg(x) OVER w) / nullif(stddev_samp(x) OVER w, 0) AS z
           FROM ${ev} WINDOW w AS (PARTITION BY grp))`,
};
const dims = `CREATE TABLE dims AS
    SELECT printf('key_%04d', i) AS key,
           printf('label_%02d', (i * 7) % 23) AS label,
           0.5 + (i % 8) * 0.25 AS weight
    FROM range(920) t(i)`;

function peakMiB() {
    const m = /VmHWM:\s+(\d+) kB/.exec(
        fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
}

function summary(rows) {
    if (rows.length === 1 && Object.keys(rows[0]).length <= 6)
        return Object.values(rows[0]).map(String).join(' ');
    const first = rows.length ? Object.values(rows[0]) : [];
    return `${rows.length} rows` +
        (first.length ? `, first ${first.map(String).join(' ')}` : '');
}

(async () => {
    if (q !== 0 && !(q in queries)) {
        console.error(`duckdb_df: no query ${qs}`);
        process.exit(2);
    }
    const inst = await DuckDBInstance.create(':memory:', { threads });
    const con = await inst.connect();
    if (q === 10)
        await con.run(dims); // bench_df builds its dims outside the timing too
    const t0 = process.hrtime.bigint();
    let answer = 'started';
    if (q !== 0) {
        const r = await con.runAndReadAll(queries[q]);
        answer = summary(r.getRowObjects());
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (q === 9) {
        answer = `${fs.statSync(out).size} bytes written`;
        fs.unlinkSync(out);
    }
    console.log(`duckdb ${q} ${wall.toFixed(3)} ${peakMiB().toFixed(1)} ${answer}`);
})().catch((e) => {
    console.error(`duckdb_df: query ${qs}: ${e.message}`);
    process.exit(1);
});
