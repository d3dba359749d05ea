// Package bench holds the benchmarks behind the figures of DESIGN §10
// (`make bench`): throughput, failover, precision, invalidation, footprint,
// sql-cost, start-latency, items, million-buckets, bucket-pages, chaos (the
// database faults of tests/chaos, with the same harness), and compare (River in its own module
// under bench/river, in the same run). They start real cadre processes (node/proctest) on PostgreSQL
// (db/dbtest) or SQLite, print one `cadre <scenario> key=value …` line per
// figure, and fail only on broken behaviour, never on speed.
package bench
