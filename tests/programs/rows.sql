-- rows.sql — the sqlite3 workload of the real-program tests (run_program.py) and of the
-- benchmarks (bench/programs/sqlite.sh.in): builds, indexes, queries, updates and deletes
-- a table of 200k rows. Its output depends on nothing but the computation.
PRAGMA cache_size = -65536;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, v REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
INSERT INTO t SELECT x, (x * 7919) % 1000, 'name-' || ((x * 31) % 100003), x * 0.5 FROM c;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(k), max(name), printf('%.2f', sum(v)) FROM t;
SELECT k, count(*), min(id), max(id) FROM t GROUP BY k ORDER BY count(*) DESC, k LIMIT 10;
SELECT name FROM t WHERE k = 17 ORDER BY id LIMIT 5;
SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY name DESC LIMIT 20);
UPDATE t SET name = name || '-updated' WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(name)) FROM t;
SELECT sum(length(s)), min(s), max(s) FROM (SELECT name || k AS s FROM t ORDER BY s);
SELECT a.k, count(*) FROM t a JOIN t b ON a.id = b.id + 1 WHERE a.k < 5 GROUP BY a.k;
