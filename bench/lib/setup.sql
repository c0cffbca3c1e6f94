-- Schema for the benchmark: taskdb itself, and schema "baseline" holding the
-- same tables (columns, defaults, primary keys, indexes, CHECK constraints,
-- foreign keys) with none of taskdb's triggers.  Nothing maintains a summary
-- in baseline: its status_derived is computed on read.
\set ON_ERROR_STOP on

CREATE EXTENSION taskdb;

CREATE SCHEMA baseline;
CREATE TABLE baseline.tasks (LIKE taskdb.tasks INCLUDING ALL);
CREATE TABLE baseline.runs  (LIKE taskdb.runs  INCLUDING ALL);
CREATE TABLE baseline.gates (LIKE taskdb.gates INCLUDING ALL);
-- LIKE copies no foreign keys; load.sql adds them (as in taskdb) after the copy.

-- Random picks in pgbench scripts: a random n selects an existing id.
CREATE TABLE bench_ids  (n int PRIMARY KEY, id uuid NOT NULL);
CREATE TABLE bench_runs (n int PRIMARY KEY, id uuid NOT NULL, task_id uuid NOT NULL);
