/* taskdb--1.0.sql — the whole 1.0 install script.
 *
 * Reads top to bottom: helper functions the tables' constraints need, the
 * tables, the C functions that maintain task_status, the triggers that wire
 * them in, the SQL API, the views, and finally privileges.  Every object has a
 * COMMENT.  All names are schema-qualified; SQL functions pin search_path.
 */

\echo Use "CREATE EXTENSION taskdb" to load this file. \quit

COMMENT ON SCHEMA @extschema@ IS 'taskdb: tasks, runs, gates and artifacts with incrementally maintained status_derived, an append-only event history and signed provenance reports.';

/* ------------------------------------------------------------------------
 * Functions used by constraints and generated columns (must exist first)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION @extschema@.check_allowed(column_name text, value text, allowed text[])
RETURNS boolean
AS 'MODULE_PATHNAME', 'check_allowed'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.check_allowed(text, text, text[]) IS
'CHECK-constraint helper: true when value is one of allowed, otherwise raises check_violation naming the column, the value and the allowed values.';

CREATE FUNCTION @extschema@.check_sha256(column_name text, value text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'check_sha256'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.check_sha256(text, text) IS
'CHECK-constraint helper: true when value is ''sha256:'' followed by 64 lower-case hex digits, otherwise raises check_violation naming the column and the value.';

CREATE FUNCTION @extschema@.derive_status(runs_total bigint, runs_running bigint,
                                          runs_completed bigint, runs_failed bigint,
                                          gates_failed bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'derive_status'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.derive_status(bigint, bigint, bigint, bigint, bigint) IS
'The status_derived rule as a function of a task''s counters: failed if any run failed; pending with no runs; in_progress if any run is running; completed if any run completed and no gate failed; blocked otherwise.';

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

CREATE TABLE @extschema@.tasks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title           varchar(255) NOT NULL,
    description     text,
    status          varchar(20) NOT NULL DEFAULT 'pending',
    priority        varchar(10) NOT NULL DEFAULT 'medium',
    policy_version  varchar(20) NOT NULL,
    feature         varchar(100),
    owner           varchar(100),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    summary         text,
    dependencies    jsonb,
    metadata        jsonb,
    CONSTRAINT valid_status CHECK (@extschema@.check_allowed('tasks.status', status,
        '{pending,in_progress,completed,failed,cancelled,retracted}')),
    CONSTRAINT valid_priority CHECK (@extschema@.check_allowed('tasks.priority', priority,
        '{critical,high,medium,low}'))
);
COMMENT ON TABLE @extschema@.tasks IS 'Units of automated work. status is what the caller stored; taskdb.task_status holds what the runs and gates say (status_derived).';
COMMENT ON COLUMN @extschema@.tasks.id IS 'Task id (immutable).';
COMMENT ON COLUMN @extschema@.tasks.title IS 'Short human title.';
COMMENT ON COLUMN @extschema@.tasks.description IS 'Free-form description.';
COMMENT ON COLUMN @extschema@.tasks.status IS 'Stored status: pending, in_progress, completed, failed, cancelled or retracted.';
COMMENT ON COLUMN @extschema@.tasks.priority IS 'critical, high, medium or low.';
COMMENT ON COLUMN @extschema@.tasks.policy_version IS 'Version of the policy the task is judged under (required).';
COMMENT ON COLUMN @extschema@.tasks.feature IS 'Feature the task belongs to.';
COMMENT ON COLUMN @extschema@.tasks.owner IS 'Who owns the task.';
COMMENT ON COLUMN @extschema@.tasks.created_at IS 'When the task was created.';
COMMENT ON COLUMN @extschema@.tasks.updated_at IS 'When the task row was last updated through the API.';
COMMENT ON COLUMN @extschema@.tasks.completed_at IS 'When the stored status became completed.';
COMMENT ON COLUMN @extschema@.tasks.summary IS 'Outcome summary.';
COMMENT ON COLUMN @extschema@.tasks.dependencies IS 'Ids or descriptions of what the task depends on (jsonb).';
COMMENT ON COLUMN @extschema@.tasks.metadata IS 'Free-form metadata (jsonb).';

CREATE TABLE @extschema@.runs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id         uuid NOT NULL REFERENCES @extschema@.tasks (id) ON DELETE CASCADE,
    status          varchar(20) NOT NULL DEFAULT 'queued',
    tool_calls      jsonb,
    metrics         jsonb,
    started_at      timestamptz,
    finished_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT valid_run_status CHECK (@extschema@.check_allowed('runs.status', status,
        '{queued,running,completed,failed,cancelled}'))
);
CREATE INDEX runs_task_id_idx ON @extschema@.runs (task_id);
COMMENT ON TABLE @extschema@.runs IS 'Attempts at a task. Inserting, updating or deleting runs maintains taskdb.task_status at commit.';
COMMENT ON COLUMN @extschema@.runs.id IS 'Run id (immutable).';
COMMENT ON COLUMN @extschema@.runs.task_id IS 'The task this run attempts (immutable once written).';
COMMENT ON COLUMN @extschema@.runs.status IS 'queued, running, completed, failed or cancelled.';
COMMENT ON COLUMN @extschema@.runs.tool_calls IS 'Tool calls the run made (jsonb).';
COMMENT ON COLUMN @extschema@.runs.metrics IS 'Run metrics (jsonb).';
COMMENT ON COLUMN @extschema@.runs.started_at IS 'When the run started running.';
COMMENT ON COLUMN @extschema@.runs.finished_at IS 'When the run reached completed, failed or cancelled.';
COMMENT ON COLUMN @extschema@.runs.created_at IS 'When the run row was created.';
COMMENT ON COLUMN @extschema@.runs.updated_at IS 'When the run row was last updated through the API.';
COMMENT ON INDEX @extschema@.runs_task_id_idx IS 'Runs of a task; also serves cascading deletes from tasks.';

CREATE TABLE @extschema@.gates (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id          uuid NOT NULL REFERENCES @extschema@.runs (id) ON DELETE CASCADE,
    task_id         uuid NOT NULL,
    name            varchar(255) NOT NULL,
    type            varchar(20) NOT NULL,
    status          varchar(20) NOT NULL DEFAULT 'pending',
    checks          jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT valid_gate_type CHECK (@extschema@.check_allowed('gates.type', type,
        '{lint,policy,security,quality,truth}')),
    CONSTRAINT valid_gate_status CHECK (@extschema@.check_allowed('gates.status', status,
        '{pending,pass,fail,skipped}'))
);
CREATE INDEX gates_run_id_idx ON @extschema@.gates (run_id);
COMMENT ON TABLE @extschema@.gates IS 'Checks (lint, policy, security, quality, truth) that judge a run. A failed gate keeps its task from status_derived = completed.';
COMMENT ON COLUMN @extschema@.gates.id IS 'Gate id (immutable).';
COMMENT ON COLUMN @extschema@.gates.run_id IS 'The run this gate judges (immutable once written).';
COMMENT ON COLUMN @extschema@.gates.task_id IS 'The task of the run; filled by taskdb from run_id. A caller-supplied value that differs from the run''s task is refused.';
COMMENT ON COLUMN @extschema@.gates.name IS 'Gate name.';
COMMENT ON COLUMN @extschema@.gates.type IS 'lint, policy, security, quality or truth.';
COMMENT ON COLUMN @extschema@.gates.status IS 'pending, pass, fail or skipped.';
COMMENT ON COLUMN @extschema@.gates.checks IS 'Individual check results (jsonb).';
COMMENT ON COLUMN @extschema@.gates.created_at IS 'When the gate row was created.';
COMMENT ON INDEX @extschema@.gates_run_id_idx IS 'Gates of a run; also serves cascading deletes from runs.';

CREATE TABLE @extschema@.artifacts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id         uuid NOT NULL REFERENCES @extschema@.tasks (id) ON DELETE CASCADE,
    run_id          uuid REFERENCES @extschema@.runs (id) ON DELETE CASCADE,
    path            text NOT NULL,
    sha256          text NOT NULL,
    size_bytes      bigint,
    media_type      text,
    content         bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT valid_sha256 CHECK (@extschema@.check_sha256('artifacts.sha256', sha256)),
    CONSTRAINT valid_size CHECK (size_bytes IS NULL OR size_bytes >= 0)
);
CREATE INDEX artifacts_task_id_idx ON @extschema@.artifacts (task_id);
CREATE INDEX artifacts_run_id_idx ON @extschema@.artifacts (run_id);
COMMENT ON TABLE @extschema@.artifacts IS 'Files a run (or task) produced, identified by content hash.';
COMMENT ON COLUMN @extschema@.artifacts.id IS 'Artifact id (immutable).';
COMMENT ON COLUMN @extschema@.artifacts.task_id IS 'Owning task; filled from run_id when a run is given (a differing value is refused).';
COMMENT ON COLUMN @extschema@.artifacts.run_id IS 'Producing run, if any.';
COMMENT ON COLUMN @extschema@.artifacts.path IS 'Path of the artifact as the run saw it.';
COMMENT ON COLUMN @extschema@.artifacts.sha256 IS 'Content hash, ''sha256:'' followed by 64 lower-case hex digits.';
COMMENT ON COLUMN @extschema@.artifacts.size_bytes IS 'Size in bytes.';
COMMENT ON COLUMN @extschema@.artifacts.media_type IS 'Media (MIME) type.';
COMMENT ON COLUMN @extschema@.artifacts.content IS 'The content itself, when stored.';
COMMENT ON COLUMN @extschema@.artifacts.created_at IS 'When the artifact row was created.';
COMMENT ON INDEX @extschema@.artifacts_task_id_idx IS 'Artifacts of a task; serves cascading deletes from tasks.';
COMMENT ON INDEX @extschema@.artifacts_run_id_idx IS 'Artifacts of a run; serves cascading deletes from runs.';
CREATE INDEX artifacts_sha256_idx ON @extschema@.artifacts (sha256);
COMMENT ON INDEX @extschema@.artifacts_sha256_idx IS 'Finding artifacts by content hash (artifact_hash claims given by hash).';

/*
 * The summary: one row per task, maintained by taskdb (never by callers).
 * Counters are applied as deltas once per transaction, at commit, and
 * status_derived / health_score are computed from the new counters in the
 * same UPDATE (taskdb.derive_status is the one statement of the rule).  The
 * table deliberately has no CHECK constraint and no generated column: both
 * are re-read from the catalog by every statement that writes the table,
 * which would double the cost of the commit-time flush.  Zero drift is
 * proven by the differential tests instead.  calculated_at moves only when
 * status_derived changes, so most flushes are HOT updates that touch no
 * index.
 */
CREATE TABLE @extschema@.task_status (
    task_id         uuid PRIMARY KEY REFERENCES @extschema@.tasks (id) ON DELETE CASCADE,
    runs_total      bigint NOT NULL DEFAULT 0,
    runs_running    bigint NOT NULL DEFAULT 0,
    runs_completed  bigint NOT NULL DEFAULT 0,
    runs_failed     bigint NOT NULL DEFAULT 0,
    gates_failed    bigint NOT NULL DEFAULT 0,
    status_derived  text NOT NULL DEFAULT 'pending',
    health_score    double precision NOT NULL DEFAULT 0,
    calculated_at   timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);
CREATE INDEX task_status_derived_idx ON @extschema@.task_status (status_derived, calculated_at);
COMMENT ON TABLE @extschema@.task_status IS 'Per-task summary maintained incrementally by taskdb at commit; equals the recomputation from runs and gates in every committed state. Not writable by applications.';
COMMENT ON COLUMN @extschema@.task_status.task_id IS 'The task summarized.';
COMMENT ON COLUMN @extschema@.task_status.runs_total IS 'Number of runs of the task.';
COMMENT ON COLUMN @extschema@.task_status.runs_running IS 'Runs with status running.';
COMMENT ON COLUMN @extschema@.task_status.runs_completed IS 'Runs with status completed.';
COMMENT ON COLUMN @extschema@.task_status.runs_failed IS 'Runs with status failed.';
COMMENT ON COLUMN @extschema@.task_status.gates_failed IS 'Gates with status fail, over all runs of the task.';
COMMENT ON COLUMN @extschema@.task_status.status_derived IS 'failed, pending, in_progress, completed or blocked (see taskdb.derive_status).';
COMMENT ON COLUMN @extschema@.task_status.health_score IS 'Completed runs / all runs; 0 with no runs.';
COMMENT ON COLUMN @extschema@.task_status.calculated_at IS 'When status_derived last changed: start time of the transaction that changed it (or created the task).';
COMMENT ON INDEX @extschema@.task_status_derived_idx IS 'Counting tasks by status_derived and listing the latest tasks in a status are index scans.';

/*
 * The event history: one row per inserted, changed or deleted row of tasks,
 * runs, gates, artifacts and reports, and one per TRUNCATE, written by
 * taskdb.record_events() straight into the table, in batches, as COPY does.
 * Append-only for everyone (refuse_event_change); no CHECK constraints, since
 * only taskdb writes it.  xact_id is the writing transaction's top-level id:
 * provenance verification decides "before or after a snapshot" with it.
 * Events are ordered by id (a sequence without cache, so ids follow the
 * order in which events were written).  id has no unique index: only
 * taskdb inserts (INSERT by anyone else is refused too) and it takes every
 * id from the sequence, so ids are unique by construction; the two uuid
 * indexes below are what reads need, and a third index would be a fifth of
 * the cost of recording a bulk load.
 */
CREATE SEQUENCE @extschema@.events_id_seq;
CREATE TABLE @extschema@.events (
    id              bigint NOT NULL DEFAULT nextval('@extschema@.events_id_seq'),
    xact_id         xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    occurred_at     timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
    task_id         uuid,
    entity          text NOT NULL,
    entity_id       uuid,
    operation       text NOT NULL,
    old_status      text,
    new_status      text,
    changes         jsonb
);
ALTER SEQUENCE @extschema@.events_id_seq OWNED BY @extschema@.events.id;
CREATE INDEX events_entity_id_idx ON @extschema@.events (entity_id);
CREATE INDEX events_task_id_idx ON @extschema@.events (task_id);
COMMENT ON SEQUENCE @extschema@.events_id_seq IS 'Ids of taskdb.events, in the order events were written.';
COMMENT ON TABLE @extschema@.events IS 'Append-only history of tasks, runs, gates, artifacts and reports, written only by taskdb''s triggers. INSERT, UPDATE, DELETE and TRUNCATE by anyone else are refused, for superusers too.';
COMMENT ON COLUMN @extschema@.events.id IS 'Event id from events_id_seq: unique, increasing in the order events were written (not indexed; filter by entity_id or task_id).';
COMMENT ON COLUMN @extschema@.events.xact_id IS 'Top-level transaction that wrote the change (pg_current_xact_id()); compared with report snapshots by pg_visible_in_snapshot().';
COMMENT ON COLUMN @extschema@.events.occurred_at IS 'Start time of the statement that made the change (not its commit time).';
COMMENT ON COLUMN @extschema@.events.task_id IS 'Task the changed row belongs to (NULL for reports and TRUNCATE).';
COMMENT ON COLUMN @extschema@.events.entity IS 'task, run, gate, artifact or report.';
COMMENT ON COLUMN @extschema@.events.entity_id IS 'Id of the changed row (NULL for TRUNCATE).';
COMMENT ON COLUMN @extschema@.events.operation IS 'insert, update, delete or truncate.';
COMMENT ON COLUMN @extschema@.events.old_status IS 'status before the change (tasks, runs, gates; NULL for inserts).';
COMMENT ON COLUMN @extschema@.events.new_status IS 'status after the change (tasks, runs, gates; NULL for deletes).';
COMMENT ON COLUMN @extschema@.events.changes IS 'For updates: the other columns that changed, as {"column": {"old": ..., "new": ...}} (updated_at omitted; artifact content shown as "changed"). NULL otherwise.';
COMMENT ON INDEX @extschema@.events_entity_id_idx IS 'History of one task, run, gate, artifact or report; also finds TRUNCATE events (entity_id IS NULL).';
COMMENT ON INDEX @extschema@.events_task_id_idx IS 'All events of one task (its row, runs, gates and artifacts).';

/*
 * Events moved out of taskdb.events by taskdb.archive_events(): the same
 * columns plus when they were moved.  Append-only like events; provenance
 * verification reads both (view taskdb.event_history).
 */
CREATE TABLE @extschema@.events_archive (
    LIKE @extschema@.events,
    archived_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_archive_entity_id_idx ON @extschema@.events_archive (entity_id);
CREATE INDEX events_archive_task_id_idx ON @extschema@.events_archive (task_id);
COMMENT ON TABLE @extschema@.events_archive IS 'Events moved out of taskdb.events by taskdb.archive_events(), unchanged. Written only by that procedure; append-only.';
COMMENT ON COLUMN @extschema@.events_archive.id IS 'The event''s id in taskdb.events.';
COMMENT ON COLUMN @extschema@.events_archive.xact_id IS 'Top-level transaction that wrote the change.';
COMMENT ON COLUMN @extschema@.events_archive.occurred_at IS 'Start time of the statement that made the change.';
COMMENT ON COLUMN @extschema@.events_archive.task_id IS 'Task the changed row belongs to (NULL for reports and TRUNCATE).';
COMMENT ON COLUMN @extschema@.events_archive.entity IS 'task, run, gate, artifact or report.';
COMMENT ON COLUMN @extschema@.events_archive.entity_id IS 'Id of the changed row (NULL for TRUNCATE).';
COMMENT ON COLUMN @extschema@.events_archive.operation IS 'insert, update, delete or truncate.';
COMMENT ON COLUMN @extschema@.events_archive.old_status IS 'status before the change.';
COMMENT ON COLUMN @extschema@.events_archive.new_status IS 'status after the change.';
COMMENT ON COLUMN @extschema@.events_archive.changes IS 'For updates: the other columns that changed.';
COMMENT ON COLUMN @extschema@.events_archive.archived_at IS 'When taskdb.archive_events() moved the event here.';
COMMENT ON INDEX @extschema@.events_archive_entity_id_idx IS 'Archived history of one row; also finds archived TRUNCATE events.';
COMMENT ON INDEX @extschema@.events_archive_task_id_idx IS 'Archived events of one task.';

/* Published provenance reports (written only by taskdb.publish_report). */
CREATE TABLE @extschema@.reports (
    id                          uuid PRIMARY KEY,
    verification_snapshot_ts    timestamptz NOT NULL UNIQUE,
    snapshot                    pg_snapshot NOT NULL,
    published_by                text NOT NULL,
    claims_count                integer NOT NULL,
    report                      jsonb NOT NULL,
    created_at                  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.reports IS 'Provenance reports published by taskdb.publish_report(), exactly as returned to the publisher (signed).';
COMMENT ON COLUMN @extschema@.reports.id IS 'report_id of the report.';
COMMENT ON COLUMN @extschema@.reports.verification_snapshot_ts IS 'Unique, strictly increasing publication stamp (see taskdb.report_clock).';
COMMENT ON COLUMN @extschema@.reports.snapshot IS 'The MVCC snapshot every claim was read in (pg_current_snapshot()).';
COMMENT ON COLUMN @extschema@.reports.published_by IS 'Role that published the report.';
COMMENT ON COLUMN @extschema@.reports.claims_count IS 'Number of claims in the report.';
COMMENT ON COLUMN @extschema@.reports.report IS 'The signed report document.';
COMMENT ON COLUMN @extschema@.reports.created_at IS 'Transaction start time of the publication.';
COMMENT ON CONSTRAINT reports_verification_snapshot_ts_key ON @extschema@.reports IS 'No two reports share a verification_snapshot_ts.';

/*
 * One row, locked and advanced by every publication: the row lock puts
 * publishers in order and makes verification_snapshot_ts unique and
 * increasing.  Not dumped: after a restore it restarts from the newest
 * report's stamp.
 */
CREATE TABLE @extschema@.report_clock (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_ts     timestamptz NOT NULL
);
INSERT INTO @extschema@.report_clock (last_ts) VALUES ('-infinity');
COMMENT ON TABLE @extschema@.report_clock IS 'Internal: the last verification_snapshot_ts handed out. One row; publishers lock it in turn.';
COMMENT ON COLUMN @extschema@.report_clock.singleton IS 'Always true: the table has one row.';
COMMENT ON COLUMN @extschema@.report_clock.last_ts IS 'The most recent verification_snapshot_ts.';

/*
 * The HMAC-SHA-256 key reports are signed with, generated at install from
 * the server's strong random source.  Readable only by its owner (the
 * installing superuser); taskdb's functions read it as the owner.  Reports
 * are signed with the oldest key and verified against every key, so a key
 * restored by pg_restore (older than the one CREATE EXTENSION made in the
 * new database) keeps old reports verifiable.
 */
CREATE TABLE @extschema@.signing_key (
    key         bytea NOT NULL CHECK (pg_catalog.length(key) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO @extschema@.signing_key (key)
SELECT pg_catalog.uuid_send(pg_catalog.gen_random_uuid()) OPERATOR(pg_catalog.||)
       pg_catalog.uuid_send(pg_catalog.gen_random_uuid()) OPERATOR(pg_catalog.||)
       pg_catalog.uuid_send(pg_catalog.gen_random_uuid());
/* No policy: rows are invisible to everyone but the owner, even after a GRANT ... ON ALL TABLES. */
ALTER TABLE @extschema@.signing_key ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE @extschema@.signing_key IS 'Secret HMAC-SHA-256 key(s) for provenance reports; superuser-only. Set with taskdb.set_signing_key().';
COMMENT ON COLUMN @extschema@.signing_key.key IS 'The key (at least 32 bytes).';
COMMENT ON COLUMN @extschema@.signing_key.created_at IS 'When the key was set; the oldest key signs.';

/* The unique indexes behind the primary keys. */
COMMENT ON INDEX @extschema@.tasks_pkey IS 'Primary key of tasks: reading and locking one task by id.';
COMMENT ON INDEX @extschema@.runs_pkey IS 'Primary key of runs; gates find their run through it.';
COMMENT ON INDEX @extschema@.gates_pkey IS 'Primary key of gates.';
COMMENT ON INDEX @extschema@.artifacts_pkey IS 'Primary key of artifacts.';
COMMENT ON INDEX @extschema@.task_status_pkey IS 'The status_derived read: one probe of this index per task.';
COMMENT ON INDEX @extschema@.reports_pkey IS 'Primary key of reports (report_id).';
COMMENT ON INDEX @extschema@.reports_verification_snapshot_ts_key IS 'Enforces unique verification_snapshot_ts.';
COMMENT ON INDEX @extschema@.report_clock_pkey IS 'Keeps report_clock to its single row.';

/*
 * pg_dump keeps the data tables, the reports and the signing key (so
 * restored reports still verify).  task_status is rebuilt by the triggers on
 * restore; the event history is not dumped, because restoring the data
 * records every restored row again as a new insert.
 */
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tasks', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.runs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.gates', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.artifacts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reports', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.signing_key', '');

/* ------------------------------------------------------------------------
 * Maintenance functions (C, src/status.c and src/integrity.c)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION @extschema@.tasks_after_insert()
RETURNS trigger
AS 'MODULE_PATHNAME', 'tasks_after_insert'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.tasks_after_insert() IS
'Statement trigger: creates the task_status rows of newly inserted tasks.';

CREATE FUNCTION @extschema@.fold_status_delta()
RETURNS trigger
AS 'MODULE_PATHNAME', 'fold_status_delta'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.fold_status_delta() IS
'Statement trigger on runs and gates: folds the transition tables into per-task counter deltas, applied to task_status once at commit. On tasks (AFTER DELETE) it forgets the deleted tasks'' pending deltas.';

CREATE FUNCTION @extschema@.truncate_status()
RETURNS trigger
AS 'MODULE_PATHNAME', 'truncate_status'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.truncate_status() IS
'TRUNCATE trigger on runs and gates: zeroes the counters the truncated table feeds and voids their pending deltas.';

CREATE FUNCTION @extschema@.fill_task_id()
RETURNS trigger
AS 'MODULE_PATHNAME', 'fill_task_id'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.fill_task_id() IS
'Row trigger on gates and artifacts: fills task_id from run_id and refuses a caller-supplied task_id that differs from the run''s.';

CREATE FUNCTION @extschema@.refuse_key_change()
RETURNS trigger
AS 'MODULE_PATHNAME', 'refuse_key_change'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.refuse_key_change() IS
'Row trigger: refuses UPDATEs that change an id or a parent reference (runs.task_id, gates.run_id, gates.task_id, artifacts.task_id, artifacts.run_id).';

CREATE FUNCTION @extschema@.pending_deltas()
RETURNS TABLE (task_id uuid, runs_total bigint, runs_running bigint,
               runs_completed bigint, runs_failed bigint, gates_failed bigint)
AS 'MODULE_PATHNAME', 'pending_deltas'
LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION @extschema@.pending_deltas() IS
'The counter deltas the current transaction has made and not yet applied to task_status (they are applied at commit). Empty outside a writing transaction.';

CREATE FUNCTION @extschema@.status_derived(task_id uuid)
RETURNS text
AS 'MODULE_PATHNAME', 'status_derived'
LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.status_derived(uuid) IS
'status_derived of one task, including the calling transaction''s own uncommitted changes; NULL for an unknown task.';

CREATE FUNCTION @extschema@.void_pending_deltas()
RETURNS void
AS 'MODULE_PATHNAME', 'void_pending_deltas'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.void_pending_deltas() IS
'Internal to rebuild_status(): forgets the current transaction''s pending deltas (undone if the enclosing subtransaction rolls back).';

CREATE FUNCTION @extschema@.record_events()
RETURNS trigger
AS 'MODULE_PATHNAME', 'record_events'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.record_events() IS
'Statement trigger: appends one taskdb.events row per row the statement inserted, changed or deleted (one per TRUNCATE), written in batches as COPY writes rows.';

CREATE FUNCTION @extschema@.refuse_event_change()
RETURNS trigger
AS 'MODULE_PATHNAME', 'refuse_event_change'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.refuse_event_change() IS
'Statement trigger on taskdb.events: refuses INSERT (except taskdb''s own), UPDATE, DELETE and TRUNCATE: the history is written only by taskdb and is append-only.';

/* ------------------------------------------------------------------------
 * Triggers
 * ------------------------------------------------------------------------ */

/* History: every table that carries provenance, every operation. */
CREATE TRIGGER tasks_events_insert AFTER INSERT ON @extschema@.tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER tasks_events_update AFTER UPDATE ON @extschema@.tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER tasks_events_delete AFTER DELETE ON @extschema@.tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER tasks_events_truncate AFTER TRUNCATE ON @extschema@.tasks
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER runs_events_insert AFTER INSERT ON @extschema@.runs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER runs_events_update AFTER UPDATE ON @extschema@.runs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER runs_events_delete AFTER DELETE ON @extschema@.runs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER runs_events_truncate AFTER TRUNCATE ON @extschema@.runs
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER gates_events_insert AFTER INSERT ON @extschema@.gates
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER gates_events_update AFTER UPDATE ON @extschema@.gates
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER gates_events_delete AFTER DELETE ON @extschema@.gates
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER gates_events_truncate AFTER TRUNCATE ON @extschema@.gates
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER artifacts_events_insert AFTER INSERT ON @extschema@.artifacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER artifacts_events_update AFTER UPDATE ON @extschema@.artifacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER artifacts_events_delete AFTER DELETE ON @extschema@.artifacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER artifacts_events_truncate AFTER TRUNCATE ON @extschema@.artifacts
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER reports_events_insert AFTER INSERT ON @extschema@.reports
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();
CREATE TRIGGER reports_events_delete AFTER DELETE ON @extschema@.reports
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.record_events();

/* Written only by taskdb, append-only, even for the owner, superusers and session_replication_role = replica. */
CREATE TRIGGER events_archive_append_only BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.events_archive
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.refuse_event_change();
ALTER TABLE @extschema@.events_archive ENABLE ALWAYS TRIGGER events_archive_append_only;
CREATE TRIGGER events_append_only BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.events
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.refuse_event_change();
ALTER TABLE @extschema@.events ENABLE ALWAYS TRIGGER events_append_only;

CREATE TRIGGER tasks_status_insert AFTER INSERT ON @extschema@.tasks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.tasks_after_insert();

CREATE TRIGGER tasks_status_delete AFTER DELETE ON @extschema@.tasks
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.fold_status_delta();

CREATE TRIGGER runs_status_insert AFTER INSERT ON @extschema@.runs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.fold_status_delta();
CREATE TRIGGER runs_status_update AFTER UPDATE ON @extschema@.runs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.fold_status_delta();
CREATE TRIGGER runs_status_delete AFTER DELETE ON @extschema@.runs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.fold_status_delta();
CREATE TRIGGER runs_status_truncate AFTER TRUNCATE ON @extschema@.runs
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.truncate_status();

CREATE TRIGGER gates_fill_task_id BEFORE INSERT ON @extschema@.gates
    FOR EACH ROW EXECUTE FUNCTION @extschema@.fill_task_id();
CREATE TRIGGER gates_status_insert AFTER INSERT ON @extschema@.gates
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.fold_status_delta();
CREATE TRIGGER gates_status_update AFTER UPDATE ON @extschema@.gates
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.fold_status_delta();
CREATE TRIGGER gates_status_delete AFTER DELETE ON @extschema@.gates
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.fold_status_delta();
CREATE TRIGGER gates_status_truncate AFTER TRUNCATE ON @extschema@.gates
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.truncate_status();

CREATE TRIGGER artifacts_fill_task_id BEFORE INSERT ON @extschema@.artifacts
    FOR EACH ROW EXECUTE FUNCTION @extschema@.fill_task_id();

/* Immutable keys: the WHEN clause keeps ordinary updates free of any call. */
CREATE TRIGGER tasks_immutable_keys BEFORE UPDATE OF id ON @extschema@.tasks
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION @extschema@.refuse_key_change();
CREATE TRIGGER runs_immutable_keys BEFORE UPDATE OF id, task_id ON @extschema@.runs
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.task_id IS DISTINCT FROM NEW.task_id)
    EXECUTE FUNCTION @extschema@.refuse_key_change();
CREATE TRIGGER gates_immutable_keys BEFORE UPDATE OF id, run_id, task_id ON @extschema@.gates
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.run_id IS DISTINCT FROM NEW.run_id
                       OR OLD.task_id IS DISTINCT FROM NEW.task_id)
    EXECUTE FUNCTION @extschema@.refuse_key_change();
CREATE TRIGGER artifacts_immutable_keys BEFORE UPDATE OF id, task_id, run_id ON @extschema@.artifacts
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.task_id IS DISTINCT FROM NEW.task_id
                       OR OLD.run_id IS DISTINCT FROM NEW.run_id)
    EXECUTE FUNCTION @extschema@.refuse_key_change();

/* ------------------------------------------------------------------------
 * Views
 * ------------------------------------------------------------------------ */

/*
 * The stored summary plus the calling transaction's not-yet-applied deltas,
 * so a transaction reads its own writes.  Outside a writing transaction
 * pending_deltas() is empty and this is a primary-key join.
 */
CREATE VIEW @extschema@.task_status_derived AS
SELECT s.task_id,
       t.status AS stored_status,
       CASE WHEN p.task_id IS NULL THEN s.status_derived
            ELSE @extschema@.derive_status(s.runs_total + p.runs_total,
                                           s.runs_running + p.runs_running,
                                           s.runs_completed + p.runs_completed,
                                           s.runs_failed + p.runs_failed,
                                           s.gates_failed + p.gates_failed)
       END AS status_derived,
       CASE WHEN p.task_id IS NULL THEN s.health_score
            WHEN s.runs_total + p.runs_total > 0
            THEN (s.runs_completed + p.runs_completed)::double precision / (s.runs_total + p.runs_total)
            ELSE 0
       END AS health_score,
       s.calculated_at,
       s.runs_total + COALESCE(p.runs_total, 0) AS runs_total,
       s.runs_running + COALESCE(p.runs_running, 0) AS runs_running,
       s.runs_completed + COALESCE(p.runs_completed, 0) AS runs_completed,
       s.runs_failed + COALESCE(p.runs_failed, 0) AS runs_failed,
       s.gates_failed + COALESCE(p.gates_failed, 0) AS gates_failed
FROM @extschema@.task_status s
JOIN @extschema@.tasks t ON t.id = s.task_id
LEFT JOIN @extschema@.pending_deltas() p ON p.task_id = s.task_id;
COMMENT ON VIEW @extschema@.task_status_derived IS
'Every task''s status_derived, health_score and counters, including the current transaction''s own uncommitted changes.';

CREATE VIEW @extschema@.task_status_derived_mv AS
SELECT task_id, stored_status, status_derived, health_score, calculated_at
FROM @extschema@.task_status_derived;
COMMENT ON VIEW @extschema@.task_status_derived_mv IS
'Compatibility view with the columns of the original plan''s materialized view task_status_derived_mv; always current, never needs REFRESH.';

/* ------------------------------------------------------------------------
 * API (mirrors the earlier TaskDB: createTask, createRun, createGate, getSystemStats)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION @extschema@.create_task(
    title text,
    policy_version text,
    description text DEFAULT NULL,
    priority text DEFAULT 'medium',
    status text DEFAULT 'pending',
    feature text DEFAULT NULL,
    owner text DEFAULT NULL,
    summary text DEFAULT NULL,
    dependencies jsonb DEFAULT NULL,
    metadata jsonb DEFAULT NULL)
RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO @extschema@.tasks (title, policy_version, description, priority, status,
                                   feature, owner, summary, dependencies, metadata, completed_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
            CASE WHEN $5 OPERATOR(pg_catalog.=) 'completed' THEN pg_catalog.now() END)
    RETURNING id;
$$;
COMMENT ON FUNCTION @extschema@.create_task(text, text, text, text, text, text, text, text, jsonb, jsonb) IS
'Creates a task and returns its id (createTask). title and policy_version are required.';

CREATE FUNCTION @extschema@.create_run(
    task_id uuid,
    status text DEFAULT 'queued',
    tool_calls jsonb DEFAULT NULL,
    metrics jsonb DEFAULT NULL)
RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO @extschema@.runs (task_id, status, tool_calls, metrics, started_at, finished_at)
    VALUES ($1, $2, $3, $4,
            CASE WHEN $2 OPERATOR(pg_catalog.<>) 'queued' THEN pg_catalog.now() END,
            CASE WHEN $2 OPERATOR(pg_catalog.=) ANY ('{completed,failed,cancelled}'::text[])
                 THEN pg_catalog.now() END)
    RETURNING id;
$$;
COMMENT ON FUNCTION @extschema@.create_run(uuid, text, jsonb, jsonb) IS
'Creates a run of a task and returns its id (createRun).';

CREATE FUNCTION @extschema@.create_gate(
    run_id uuid,
    name text,
    type text,
    status text DEFAULT 'pending',
    checks jsonb DEFAULT NULL)
RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO @extschema@.gates (run_id, name, type, status, checks)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING id;
$$;
COMMENT ON FUNCTION @extschema@.create_gate(uuid, text, text, text, jsonb) IS
'Creates a gate on a run and returns its id (createGate); task_id is taken from the run.';

CREATE FUNCTION @extschema@.set_run_status(run_id uuid, status text)
RETURNS @extschema@.runs
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r @extschema@.runs;
BEGIN
    IF status IS NULL THEN
        RAISE EXCEPTION 'status of run % must not be NULL', run_id
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass one of queued, running, completed, failed, cancelled.';
    END IF;
    UPDATE @extschema@.runs AS x
       SET status = set_run_status.status,
           started_at = CASE WHEN set_run_status.status OPERATOR(pg_catalog.<>) 'queued'
                             THEN COALESCE(x.started_at, pg_catalog.now()) END,
           finished_at = CASE WHEN set_run_status.status OPERATOR(pg_catalog.=)
                                   ANY ('{completed,failed,cancelled}'::text[])
                              THEN pg_catalog.now() END,
           updated_at = pg_catalog.now()
     WHERE x.id OPERATOR(pg_catalog.=) set_run_status.run_id
    RETURNING x.* INTO r;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % does not exist', run_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Pass the id returned by taskdb.create_run().';
    END IF;
    RETURN r;
END;
$$;
COMMENT ON FUNCTION @extschema@.set_run_status(uuid, text) IS
'Sets a run''s status (stamping started_at / finished_at) and returns the updated row.';

CREATE FUNCTION @extschema@.set_gate_status(gate_id uuid, status text)
RETURNS @extschema@.gates
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g @extschema@.gates;
BEGIN
    IF status IS NULL THEN
        RAISE EXCEPTION 'status of gate % must not be NULL', gate_id
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass one of pending, pass, fail, skipped.';
    END IF;
    UPDATE @extschema@.gates AS x
       SET status = set_gate_status.status
     WHERE x.id OPERATOR(pg_catalog.=) set_gate_status.gate_id
    RETURNING x.* INTO g;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'gate % does not exist', gate_id
            USING ERRCODE = 'no_data_found',
                  HINT = 'Pass the id returned by taskdb.create_gate().';
    END IF;
    RETURN g;
END;
$$;
COMMENT ON FUNCTION @extschema@.set_gate_status(uuid, text) IS
'Sets a gate''s status and returns the updated row.';

CREATE FUNCTION @extschema@.system_stats()
RETURNS TABLE (entity text, status text, count bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'tasks', 'total', pg_catalog.count(*) FROM @extschema@.tasks
    UNION ALL
    SELECT * FROM (SELECT 'tasks', t.status::text, pg_catalog.count(*)
                     FROM @extschema@.tasks t GROUP BY t.status ORDER BY 2) a
    UNION ALL
    SELECT 'runs', 'total', pg_catalog.count(*) FROM @extschema@.runs
    UNION ALL
    SELECT * FROM (SELECT 'runs', r.status::text, pg_catalog.count(*)
                     FROM @extschema@.runs r GROUP BY r.status ORDER BY 2) b
    UNION ALL
    SELECT 'gates', 'total', pg_catalog.count(*) FROM @extschema@.gates
    UNION ALL
    SELECT * FROM (SELECT 'gates', g.status::text, pg_catalog.count(*)
                     FROM @extschema@.gates g GROUP BY g.status ORDER BY 2) c
    UNION ALL
    SELECT 'artifacts', 'total', pg_catalog.count(*) FROM @extschema@.artifacts
    UNION ALL
    SELECT * FROM (SELECT 'status_derived', d.status_derived, pg_catalog.count(*)
                     FROM @extschema@.task_status d GROUP BY d.status_derived ORDER BY 2) e;
$$;
COMMENT ON FUNCTION @extschema@.system_stats() IS
'Totals per table and per status (getSystemStats): one row per (entity, status), status = ''total'' for the table total; status_derived counts come from the summary.';

CREATE FUNCTION @extschema@.rebuild_status()
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    changed bigint := 0;
    n bigint;
BEGIN
    /*
     * Block writers for the duration: a summary computed from one snapshot
     * must not be overwritten by, or overwrite, a concurrent commit's deltas.
     */
    LOCK TABLE @extschema@.tasks, @extschema@.runs, @extschema@.gates IN SHARE MODE;
    LOCK TABLE @extschema@.task_status IN SHARE ROW EXCLUSIVE MODE;

    CREATE TEMP TABLE taskdb_rebuild ON COMMIT DROP AS
    SELECT c.*,
           @extschema@.derive_status(c.runs_total, c.runs_running, c.runs_completed,
                                     c.runs_failed, c.gates_failed) AS status_derived,
           CASE WHEN c.runs_total OPERATOR(pg_catalog.>) 0
                THEN c.runs_completed::double precision OPERATOR(pg_catalog./) c.runs_total
                ELSE 0 END AS health_score
    FROM (
    SELECT t.id AS task_id,
           COALESCE(r.total, 0) AS runs_total,
           COALESCE(r.running, 0) AS runs_running,
           COALESCE(r.completed, 0) AS runs_completed,
           COALESCE(r.failed, 0) AS runs_failed,
           COALESCE(g.failed, 0) AS gates_failed
      FROM @extschema@.tasks t
      LEFT JOIN (SELECT x.task_id,
                        pg_catalog.count(*) AS total,
                        pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'running') AS running,
                        pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'completed') AS completed,
                        pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'failed') AS failed
                   FROM @extschema@.runs x GROUP BY x.task_id) r ON r.task_id OPERATOR(pg_catalog.=) t.id
      LEFT JOIN (SELECT x.task_id, pg_catalog.count(*) AS failed
                   FROM @extschema@.gates y JOIN @extschema@.runs x ON x.id OPERATOR(pg_catalog.=) y.run_id
                  WHERE y.status OPERATOR(pg_catalog.=) 'fail'
                  GROUP BY x.task_id) g ON g.task_id OPERATOR(pg_catalog.=) t.id
    ) c;

    DELETE FROM @extschema@.task_status s
     WHERE NOT EXISTS (SELECT 1 FROM taskdb_rebuild b WHERE b.task_id OPERATOR(pg_catalog.=) s.task_id);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;

    UPDATE @extschema@.task_status s
       SET runs_total = b.runs_total, runs_running = b.runs_running,
           runs_completed = b.runs_completed, runs_failed = b.runs_failed,
           gates_failed = b.gates_failed, status_derived = b.status_derived,
           health_score = b.health_score, calculated_at = pg_catalog.now()
      FROM taskdb_rebuild b
     WHERE b.task_id OPERATOR(pg_catalog.=) s.task_id
       AND (s.runs_total, s.runs_running, s.runs_completed, s.runs_failed, s.gates_failed,
            s.status_derived, s.health_score)
           IS DISTINCT FROM
           (b.runs_total, b.runs_running, b.runs_completed, b.runs_failed, b.gates_failed,
            b.status_derived, b.health_score);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;

    INSERT INTO @extschema@.task_status (task_id, runs_total, runs_running, runs_completed,
                                         runs_failed, gates_failed, status_derived, health_score)
    SELECT b.task_id, b.runs_total, b.runs_running, b.runs_completed, b.runs_failed, b.gates_failed,
           b.status_derived, b.health_score
      FROM taskdb_rebuild b
     WHERE NOT EXISTS (SELECT 1 FROM @extschema@.task_status s
                        WHERE s.task_id OPERATOR(pg_catalog.=) b.task_id);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;

    DROP TABLE taskdb_rebuild;
    /* The rebuilt rows already include this transaction's own changes. */
    PERFORM @extschema@.void_pending_deltas();
    RETURN changed;
END;
$$;
COMMENT ON FUNCTION @extschema@.rebuild_status() IS
'Repair: recomputes every task_status row from tasks, runs and gates (inserting missing rows, deleting orphans) and returns how many rows changed. Blocks writers of tasks, runs and gates while it runs.';

/* ------------------------------------------------------------------------
 * Artifacts and provenance (src/hash.c, src/provenance.c)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION @extschema@.sha256(content bytea)
RETURNS text
AS 'MODULE_PATHNAME', 'taskdb_sha256'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sha256(bytea) IS
'SHA-256 of content (OpenSSL) in the form artifacts.sha256 stores: ''sha256:'' followed by 64 lower-case hex digits.';

CREATE FUNCTION @extschema@.create_artifact(
    path text,
    content bytea DEFAULT NULL,
    sha256 text DEFAULT NULL,
    run_id uuid DEFAULT NULL,
    task_id uuid DEFAULT NULL,
    media_type text DEFAULT NULL,
    store_content boolean DEFAULT true)
RETURNS uuid
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    computed text;
    new_id uuid;
BEGIN
    IF path IS NULL THEN
        RAISE EXCEPTION 'artifact path must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass the path the run wrote the artifact to.';
    END IF;
    IF run_id IS NULL AND task_id IS NULL THEN
        RAISE EXCEPTION 'artifact "%" needs a run_id or a task_id', path
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass run_id => the producing run (its task is filled in), or task_id => the owning task.';
    END IF;
    IF content IS NULL AND sha256 IS NULL THEN
        RAISE EXCEPTION 'artifact "%" needs content or a declared sha256', path
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass content => the bytes (taskdb hashes them), or sha256 => ''sha256:<64 hex digits>''.';
    END IF;
    IF sha256 IS NOT NULL THEN
        PERFORM @extschema@.check_sha256('sha256', sha256);
    END IF;
    IF content IS NOT NULL THEN
        computed := @extschema@.sha256(content);
        IF sha256 IS NOT NULL AND sha256 OPERATOR(pg_catalog.<>) computed THEN
            RAISE EXCEPTION 'declared hash % does not match the content of artifact "%"', sha256, path
                USING ERRCODE = 'data_exception',
                      DETAIL = pg_catalog.format('The content hashes to %s.', computed),
                      HINT = 'Pass the content alone and let taskdb hash it.';
        END IF;
    END IF;
    INSERT INTO @extschema@.artifacts (task_id, run_id, path, sha256, size_bytes, media_type, content)
    VALUES (create_artifact.task_id, create_artifact.run_id, create_artifact.path,
            COALESCE(computed, create_artifact.sha256),
            pg_catalog.length(create_artifact.content),
            create_artifact.media_type,
            CASE WHEN store_content THEN create_artifact.content END)
    RETURNING id INTO new_id;
    RETURN new_id;
END;
$$;
COMMENT ON FUNCTION @extschema@.create_artifact(text, bytea, text, uuid, uuid, text, boolean) IS
'Records an artifact of a run (or task) and returns its id. Give content (hashed here with SHA-256; stored unless store_content => false) or a declared sha256; both must agree when both are given.';

CREATE FUNCTION @extschema@.publish_report(claims jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'publish_report'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.publish_report(jsonb) IS
'Publishes a provenance report: reads every claim''s value in one snapshot (with the caller''s privileges), stamps a unique increasing verification_snapshot_ts, records the snapshot, signs the report with HMAC-SHA-256, stores it in taskdb.reports and returns it. claims: [{"kind": "task_id"|"run_id"|"gate_id"|"status_derived", "id": uuid, "expected": status?} | {"kind": "artifact_hash", "id": uuid?, "hash": "sha256:..."?}, ...].';

CREATE FUNCTION @extschema@.verify_provenance(report jsonb)
RETURNS TABLE (claim text, kind text, status text, expected text, actual text,
               mismatch text, changed_at timestamptz)
AS 'MODULE_PATHNAME', 'verify_provenance'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED ROWS 11;
COMMENT ON FUNCTION @extschema@.verify_provenance(jsonb) IS
'Verifies a published report: one row per claim and one for the signature, status PASS or FAIL; on FAIL, mismatch says why (changed after snapshot, deleted after snapshot, created after snapshot, already different at snapshot, never existed, content hash differs, signature invalid, malformed claim) and changed_at when. Before/after the snapshot is decided by transaction visibility.';

CREATE FUNCTION @extschema@.debug_provenance(report jsonb, verbose boolean DEFAULT false)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'debug_provenance'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED ROWS 12;
COMMENT ON FUNCTION @extschema@.debug_provenance(jsonb, boolean) IS
'verify_provenance in human form, one line per claim ("[PASS] task_id: a1b2c3d4... - Task exists and status matches"); verbose adds Expected / Actual / Mismatch lines under each FAIL.';

CREATE FUNCTION @extschema@.set_signing_key(key bytea)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF key IS NULL OR pg_catalog.length(key) OPERATOR(pg_catalog.<) 32 THEN
        RAISE EXCEPTION 'a report signing key must have at least 32 bytes, not %',
                        COALESCE(pg_catalog.length(key)::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 32 random bytes, e.g. from openssl rand -hex 32, passed as decode(''<hex>'', ''hex'').';
    END IF;
    DELETE FROM @extschema@.signing_key;
    INSERT INTO @extschema@.signing_key (key) VALUES (set_signing_key.key);
END;
$$;
COMMENT ON FUNCTION @extschema@.set_signing_key(bytea) IS
'Superuser only: replaces the report signing key (at least 32 bytes). Reports signed with the previous key no longer verify; use the same key in databases that must verify each other''s reports.';

CREATE FUNCTION @extschema@.report_signature_valid(report jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'report_signature_valid'
LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.report_signature_valid(jsonb) IS
'True when the report''s signature was made with one of this database''s keys over the rest of the report; false for a missing, malformed or wrong signature.';

/*
 * The whole history: events still in taskdb.events and those archived.
 * Provenance verification reads this view, so archiving never loses an
 * explanation.
 */
CREATE VIEW @extschema@.event_history AS
SELECT id, xact_id, occurred_at, task_id, entity, entity_id, operation, old_status, new_status, changes
  FROM @extschema@.events
UNION ALL
SELECT id, xact_id, occurred_at, task_id, entity, entity_id, operation, old_status, new_status, changes
  FROM @extschema@.events_archive;
COMMENT ON VIEW @extschema@.event_history IS 'Every event, in taskdb.events or already archived to taskdb.events_archive.';

CREATE FUNCTION @extschema@.archive_event_blocks(cutoff timestamptz, first_block bigint, blocks integer)
RETURNS bigint
AS 'MODULE_PATHNAME', 'archive_event_blocks'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.archive_event_blocks(timestamptz, bigint, integer) IS
'Internal to archive_events(): moves the events older than cutoff stored in blocks [first_block, first_block + blocks) of taskdb.events to taskdb.events_archive; returns how many.';

CREATE PROCEDURE @extschema@.archive_events(older_than interval, batch_blocks integer DEFAULT 1000,
                                            INOUT archived bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $$
/*
 * No SET search_path here: a procedure with SET clauses cannot COMMIT
 * between batches.  Every name below is schema-qualified instead.
 */
DECLARE
    cutoff pg_catalog.timestamptz;
    blk pg_catalog.int8 := 0;
    nblocks pg_catalog.int8;
    newer boolean;
BEGIN
    IF older_than IS NULL OR older_than OPERATOR(pg_catalog.<) '0'::pg_catalog.interval THEN
        RAISE EXCEPTION 'older_than must be a positive interval, not %', COALESCE(older_than::pg_catalog.text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example CALL taskdb.archive_events(interval ''90 days'').';
    END IF;
    IF batch_blocks IS NULL OR batch_blocks OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'batch_blocks must be a positive number of 8 kB blocks, not %', COALESCE(batch_blocks::pg_catalog.text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The default, 1000 blocks, moves about 40,000 events per transaction.';
    END IF;
    cutoff := pg_catalog.now() OPERATOR(pg_catalog.-) older_than;
    archived := 0;
    nblocks := pg_catalog.pg_relation_size('@extschema@.events')
               OPERATOR(pg_catalog./) pg_catalog.current_setting('block_size')::pg_catalog.int8;
    /* Events are appended in time order: stop after the first range holding newer ones. */
    WHILE blk OPERATOR(pg_catalog.<) nblocks LOOP
        archived := archived OPERATOR(pg_catalog.+) @extschema@.archive_event_blocks(cutoff, blk, batch_blocks);
        newer := EXISTS (SELECT 1 FROM @extschema@.events e
                          WHERE e.ctid OPERATOR(pg_catalog.>=) pg_catalog.format('(%s,0)', blk)::pg_catalog.tid
                            AND e.ctid OPERATOR(pg_catalog.<) pg_catalog.format('(%s,0)', blk OPERATOR(pg_catalog.+) batch_blocks)::pg_catalog.tid
                            AND e.occurred_at OPERATOR(pg_catalog.>=) cutoff);
        COMMIT;
        EXIT WHEN newer;
        blk := blk OPERATOR(pg_catalog.+) batch_blocks;
    END LOOP;
END;
$$;
COMMENT ON PROCEDURE @extschema@.archive_events(interval, integer, bigint) IS
'Moves events older than older_than from taskdb.events to taskdb.events_archive, batch_blocks blocks of the table per transaction (CALL it outside a transaction block); returns how many it moved. Verification still explains changes through the archive.';

/* ------------------------------------------------------------------------
 * Whole-database hash and synthetic load (src/export_hash.c)
 * ------------------------------------------------------------------------ */

CREATE FUNCTION @extschema@.export_hash()
RETURNS text
LANGUAGE c STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
SET IntervalStyle = 'postgres'
SET bytea_output = 'hex'
SET extra_float_digits = 1
AS 'MODULE_PATHNAME', 'export_hash';
COMMENT ON FUNCTION @extschema@.export_hash() IS
'sha256:<hex> over all of taskdb''s data in canonical form: tasks, runs, gates, artifacts, reports and task_status (without calculated_at), each in primary-key order. Independent of physical order, VACUUM and session settings; equal on a restored dump; the event history, the signing key and report_clock are not included.';

/*
 * The plan's synthetic dataset, written through the normal path (every
 * trigger on: status maintenance and event history).  Deterministic: ids
 * are md5 of (seed, kind, number), times count from 2026-01-01 UTC, and every
 * choice is hashint8extended(number, seed), which PostgreSQL keeps stable
 * across platforms and versions (hash partitioning depends on it).  The
 * life of every row is replayed: runs are inserted queued and then started,
 * given their tool calls and finished (4 events); gates inserted pending and
 * then decided (2); tasks inserted and then closed (2); artifacts inserted
 * (1).  At the plan's size, 100k tasks x 10 runs x 3 gates and 500k
 * artifacts, that is 10.7M events.  The work is done in chunks of tasks,
 * with a NOTICE after each.  (OPERATOR(pg_catalog.x) gives every operator
 * the same precedence, left to right: hence the parentheses.)
 */
CREATE FUNCTION @extschema@.generate_synthetic(
    tasks integer,
    runs_per_task integer DEFAULT 10,
    gates_per_run integer DEFAULT 3,
    artifacts integer DEFAULT NULL,
    seed integer DEFAULT 42,
    OUT tasks_created bigint,
    OUT runs_created bigint,
    OUT gates_created bigint,
    OUT artifacts_created bigint,
    OUT events_written bigint)
RETURNS record
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ntasks constant bigint := tasks;
    rpt constant bigint := runs_per_task;
    gpr constant bigint := gates_per_run;
    nart bigint := artifacts;
    chunk bigint;
    lo bigint;
    hi bigint;
    n bigint;
    t0 timestamptz := pg_catalog.clock_timestamp();
    base constant timestamptz := '2026-01-01 00:00:00+00';
    prefix constant text := 'taskdb-synthetic:' OPERATOR(pg_catalog.||) seed::text OPERATOR(pg_catalog.||) ':';
BEGIN
    IF ntasks IS NULL OR rpt IS NULL OR gpr IS NULL OR seed IS NULL THEN
        RAISE EXCEPTION 'generate_synthetic: tasks, runs_per_task, gates_per_run and seed must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Leave artifacts NULL (or out) for 5 per task; give every other argument a value or leave it out.';
    END IF;
    IF ntasks OPERATOR(pg_catalog.<) 0 OR rpt OPERATOR(pg_catalog.<) 0 OR gpr OPERATOR(pg_catalog.<) 0
       OR nart OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION 'generate_synthetic: counts must not be negative: tasks %, runs_per_task %, gates_per_run %, artifacts %',
            ntasks, rpt, gpr, nart
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The plan''s dataset is generate_synthetic(100000, 10, 3, 500000).';
    END IF;
    nart := COALESCE(nart, ntasks OPERATOR(pg_catalog.*) 5);
    IF nart OPERATOR(pg_catalog.>) 0 AND ntasks OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION 'generate_synthetic: % artifacts need at least one task', nart
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Every artifact belongs to a task; ask for tasks too, or for 0 artifacts.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.tasks t
                WHERE t.id OPERATOR(pg_catalog.=) pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:1')::uuid) THEN
        RAISE EXCEPTION 'generate_synthetic: the dataset of seed % is already loaded', seed
            USING ERRCODE = 'unique_violation',
                  HINT = 'Ids are derived from the seed: use another seed, or delete the tasks first.';
    END IF;

    tasks_created := 0; runs_created := 0; gates_created := 0;
    artifacts_created := 0; events_written := 0;
    chunk := GREATEST(1, LEAST(5000, (ntasks OPERATOR(pg_catalog.+) 19) OPERATOR(pg_catalog./) 20));
    lo := 1;
    WHILE lo OPERATOR(pg_catalog.<=) ntasks LOOP
        hi := LEAST(ntasks, lo OPERATOR(pg_catalog.+) chunk OPERATOR(pg_catalog.-) 1);

        INSERT INTO @extschema@.tasks (id, title, description, status, priority, policy_version,
                                       feature, owner, created_at, updated_at, dependencies, metadata)
        SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:' OPERATOR(pg_catalog.||) i)::uuid,
               'Synthetic task ' OPERATOR(pg_catalog.||) i,
               'Generated by taskdb.generate_synthetic, seed ' OPERATOR(pg_catalog.||) seed,
               'pending',
               (ARRAY['critical','high','medium','low'])[1 OPERATOR(pg_catalog.+)
                   (pg_catalog.hashint8extended(i, seed) OPERATOR(pg_catalog.&) 3)::int],
               '1.1.0',
               'feature-' OPERATOR(pg_catalog.||) (i OPERATOR(pg_catalog.%) 40),
               'owner-' OPERATOR(pg_catalog.||) (i OPERATOR(pg_catalog.%) 25),
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => i),
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => i),
               CASE WHEN i OPERATOR(pg_catalog.>) 1 AND i OPERATOR(pg_catalog.%) 10 OPERATOR(pg_catalog.=) 0
                    THEN pg_catalog.jsonb_build_array(pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:'
                             OPERATOR(pg_catalog.||) (i OPERATOR(pg_catalog.-) 1))::uuid) END,
               pg_catalog.jsonb_build_object('synthetic', true, 'seed', seed, 'n', i)
          FROM pg_catalog.generate_series(lo, hi) AS i;
        GET DIAGNOSTICS n = ROW_COUNT;
        tasks_created := tasks_created OPERATOR(pg_catalog.+) n;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* r: the run's number; its fate f in 0..999 decides what happens to it. */
        IF pg_catalog.to_regclass('pg_temp.taskdb_synthetic_runs') IS NULL THEN
            CREATE TEMP TABLE taskdb_synthetic_runs
                (id uuid PRIMARY KEY, r bigint, t bigint, f int) ON COMMIT DROP;
        END IF;
        TRUNCATE taskdb_synthetic_runs;
        INSERT INTO taskdb_synthetic_runs
        SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'run:' OPERATOR(pg_catalog.||) r)::uuid, r, t,
               pg_catalog.abs(pg_catalog.hashint8extended(r, seed OPERATOR(pg_catalog.+) 1) OPERATOR(pg_catalog.%) 1000)::int
          FROM pg_catalog.generate_series(lo, hi) AS t,
               LATERAL pg_catalog.generate_series((t OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) rpt OPERATOR(pg_catalog.+) 1,
                                                  t OPERATOR(pg_catalog.*) rpt) AS r;
        ANALYZE taskdb_synthetic_runs;

        INSERT INTO @extschema@.runs (id, task_id, status, created_at, updated_at)
        SELECT s.id, pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:' OPERATOR(pg_catalog.||) s.t)::uuid,
               'queued',
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r),
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r)
          FROM taskdb_synthetic_runs s ORDER BY s.r;
        GET DIAGNOSTICS n = ROW_COUNT;
        runs_created := runs_created OPERATOR(pg_catalog.+) n;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        INSERT INTO @extschema@.gates (id, run_id, name, type, status, created_at)
        SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'gate:' OPERATOR(pg_catalog.||)
                   ((s.r OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) gpr OPERATOR(pg_catalog.+) g))::uuid,
               s.id,
               'gate-' OPERATOR(pg_catalog.||) g,
               (ARRAY['lint','policy','security','quality','truth'])[1 OPERATOR(pg_catalog.+)
                   ((g OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.%) 5)::int],
               'pending',
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => g::int)
          FROM taskdb_synthetic_runs s, pg_catalog.generate_series(1, gpr) AS g
         ORDER BY s.r, g;
        GET DIAGNOSTICS n = ROW_COUNT;
        gates_created := gates_created OPERATOR(pg_catalog.+) n;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* 0.5 % of the runs stay queued; the rest start. */
        UPDATE @extschema@.runs x
           SET status = 'running',
               started_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => 1),
               updated_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => 1)
          FROM taskdb_synthetic_runs s
         WHERE x.id OPERATOR(pg_catalog.=) s.id AND s.f OPERATOR(pg_catalog.>=) 5;
        GET DIAGNOSTICS n = ROW_COUNT;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        UPDATE @extschema@.runs x
           SET tool_calls = pg_catalog.jsonb_build_array(
                   pg_catalog.jsonb_build_object('tool', 'bash', 'calls', s.r OPERATOR(pg_catalog.%) 7),
                   pg_catalog.jsonb_build_object('tool', 'edit', 'calls', s.r OPERATOR(pg_catalog.%) 5)),
               updated_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => 2)
          FROM taskdb_synthetic_runs s
         WHERE x.id OPERATOR(pg_catalog.=) s.id AND s.f OPERATOR(pg_catalog.>=) 5;
        GET DIAGNOSTICS n = ROW_COUNT;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* 1.5 % stay running, 1 % fail, 2 % are cancelled, 95 % complete. */
        UPDATE @extschema@.runs x
           SET status = CASE WHEN s.f OPERATOR(pg_catalog.<) 30 THEN 'failed'
                             WHEN s.f OPERATOR(pg_catalog.<) 50 THEN 'cancelled'
                             ELSE 'completed' END,
               metrics = pg_catalog.jsonb_build_object('duration_ms', 1000 OPERATOR(pg_catalog.+) (s.f OPERATOR(pg_catalog.*) 37)),
               finished_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => 3),
               updated_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => 3)
          FROM taskdb_synthetic_runs s
         WHERE x.id OPERATOR(pg_catalog.=) s.id AND s.f OPERATOR(pg_catalog.>=) 20;
        GET DIAGNOSTICS n = ROW_COUNT;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* Gates of runs that started are decided: 0.5 % fail, 4 % are skipped. */
        UPDATE @extschema@.gates y
           SET status = CASE WHEN v.h OPERATOR(pg_catalog.<) 5 THEN 'fail'
                             WHEN v.h OPERATOR(pg_catalog.<) 45 THEN 'skipped'
                             ELSE 'pass' END,
               checks = pg_catalog.jsonb_build_object('passed', v.h OPERATOR(pg_catalog.>=) 5, 'score', v.h)
          FROM (SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'gate:' OPERATOR(pg_catalog.||) gn)::uuid AS id,
                       pg_catalog.abs(pg_catalog.hashint8extended(gn, seed OPERATOR(pg_catalog.+) 2)
                                      OPERATOR(pg_catalog.%) 1000)::int AS h
                  FROM taskdb_synthetic_runs s,
                       LATERAL pg_catalog.generate_series((s.r OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) gpr OPERATOR(pg_catalog.+) 1,
                                                          s.r OPERATOR(pg_catalog.*) gpr) AS gn
                 WHERE s.f OPERATOR(pg_catalog.>=) 5) v
         WHERE y.id OPERATOR(pg_catalog.=) v.id;
        GET DIAGNOSTICS n = ROW_COUNT;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* The tasks are closed: stored status by their number. */
        UPDATE @extschema@.tasks x
           SET status = CASE WHEN pg_catalog.hashint8extended(i, seed OPERATOR(pg_catalog.+) 3) OPERATOR(pg_catalog.%) 10
                                  OPERATOR(pg_catalog.=) 0 THEN 'in_progress'
                             ELSE 'completed' END,
               updated_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(days => 1, secs => i),
               completed_at = CASE WHEN pg_catalog.hashint8extended(i, seed OPERATOR(pg_catalog.+) 3) OPERATOR(pg_catalog.%) 10
                                        OPERATOR(pg_catalog.=) 0 THEN NULL
                                   ELSE base OPERATOR(pg_catalog.+) pg_catalog.make_interval(days => 1, secs => i) END
          FROM pg_catalog.generate_series(lo, hi) AS i
         WHERE x.id OPERATOR(pg_catalog.=) pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:' OPERATOR(pg_catalog.||) i)::uuid;
        GET DIAGNOSTICS n = ROW_COUNT;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* Artifacts j = t, t + ntasks, t + 2 ntasks, ... of each task t, on one of its runs. */
        INSERT INTO @extschema@.artifacts (id, task_id, run_id, path, sha256, size_bytes, media_type, created_at)
        SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'artifact:' OPERATOR(pg_catalog.||) j)::uuid,
               pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:' OPERATOR(pg_catalog.||) t)::uuid,
               CASE WHEN rpt OPERATOR(pg_catalog.>) 0 THEN
                   pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'run:' OPERATOR(pg_catalog.||)
                       ((t OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) rpt OPERATOR(pg_catalog.+) 1
                        OPERATOR(pg_catalog.+) (j OPERATOR(pg_catalog.%) rpt)))::uuid END,
               'artifacts/' OPERATOR(pg_catalog.||) t OPERATOR(pg_catalog.||) '/output-' OPERATOR(pg_catalog.||) j OPERATOR(pg_catalog.||) '.json',
               'sha256:' OPERATOR(pg_catalog.||) pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
                   prefix OPERATOR(pg_catalog.||) 'content:' OPERATOR(pg_catalog.||) j, 'UTF8')), 'hex'),
               pg_catalog.length(prefix OPERATOR(pg_catalog.||) 'content:' OPERATOR(pg_catalog.||) j),
               'application/json',
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(days => 1, secs => j)
          FROM pg_catalog.generate_series(lo, hi) AS t,
               LATERAL pg_catalog.generate_series(t, nart, ntasks) AS j
         ORDER BY j;
        GET DIAGNOSTICS n = ROW_COUNT;
        artifacts_created := artifacts_created OPERATOR(pg_catalog.+) n;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        RAISE NOTICE 'generate_synthetic: % of % tasks (% %%), % runs, % gates, % artifacts, % events, % s',
            hi, ntasks, (100 OPERATOR(pg_catalog.*) hi) OPERATOR(pg_catalog./) ntasks,
            runs_created, gates_created, artifacts_created, events_written,
            pg_catalog.round(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0)::numeric, 1);
        lo := hi OPERATOR(pg_catalog.+) 1;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION @extschema@.generate_synthetic(integer, integer, integer, integer, integer) IS
'Loads a deterministic synthetic dataset through taskdb''s normal path (status maintenance and event history on): tasks x runs_per_task runs x gates_per_run gates, artifacts artifacts (default 5 per task), each row''s life replayed (10.7M events at the plan''s size, generate_synthetic(100000, 10, 3, 500000)). The same seed gives the same export_hash(). Progress as NOTICEs; one transaction.';

/* ------------------------------------------------------------------------
 * Metrics (src/metrics.c; need shared_preload_libraries = 'taskdb')
 * ------------------------------------------------------------------------ */

CREATE FUNCTION @extschema@.metrics()
RETURNS text
AS 'MODULE_PATHNAME', 'metrics'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.metrics() IS
'Every taskdb metric in the Prometheus text exposition format (latency histograms in milliseconds, counters, the writers gauge, build info). Needs taskdb in shared_preload_libraries.';

CREATE FUNCTION @extschema@.metrics_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'metrics_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.metrics_reset() IS
'Zeroes every taskdb counter and histogram (the writers gauge keeps counting). Owner only.';

CREATE FUNCTION @extschema@.metric_samples()
RETURNS TABLE (metric text, labels text, value double precision)
AS 'MODULE_PATHNAME', 'metric_samples'
LANGUAGE C VOLATILE PARALLEL SAFE ROWS 80;
COMMENT ON FUNCTION @extschema@.metric_samples() IS
'The samples of taskdb.metrics() as rows: series name, labels as in the exposition (NULL for none), value.';

CREATE VIEW @extschema@.stat AS
SELECT metric, labels, value FROM @extschema@.metric_samples();
COMMENT ON VIEW @extschema@.stat IS
'taskdb''s metrics for SQL users: one row per sample of taskdb.metrics() (histogram buckets, sums and counts, counters, the writers gauge). Needs taskdb in shared_preload_libraries.';

CREATE FUNCTION @extschema@.metrics_histogram(name text,
    OUT bounds double precision[], OUT counts bigint[], OUT sum double precision, OUT count bigint)
AS 'MODULE_PATHNAME', 'metrics_histogram'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.metrics_histogram(text) IS
'One latency histogram as postgres_exporter''s HISTOGRAM usage reads it: bucket upper bounds in ms (the last is Infinity), cumulative counts, sum (ms) and count. name: status_derived_read_latency_ms, provenance_verification_latency_ms or status_flush_latency_ms.';

CREATE FUNCTION @extschema@.count_doctor_checks(passed integer, warned integer, failed integer, orphans bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'count_doctor_checks'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.count_doctor_checks(integer, integer, integer, bigint) IS
'Internal to doctor(): adds its results to taskdb_doctor_checks_total and taskdb_orphans_detected_total (nothing without preloading).';

/* ------------------------------------------------------------------------
 * Diagnostics
 * ------------------------------------------------------------------------ */

/*
 * doctor(sample): the health checks, one row each, then the verdict
 * (system_health: excellent, degraded or failing).
 * sample = NULL checks every task and report; a number checks that many
 * random tasks (and as many reports) on big databases.
 */
CREATE FUNCTION @extschema@.doctor(sample integer DEFAULT NULL)
RETURNS TABLE (check_name text, status text, detail text)
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    total bigint;
    first_bad text;
    fails int := 0;
    warns int := 0;
    checks int := 0;
    orphan_rows bigint := 0;
BEGIN
    IF sample IS NOT NULL AND sample OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'sample must be a positive number of tasks, not %', sample
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL (the default) to check every task.';
    END IF;

    -- 1. The summary against the recomputation from runs and gates.
    /*
     * Set-based, as rebuild_status() computes: one pass over runs and one
     * over failed gates, grouped by task (a per-task subquery would be a
     * join per task).  With a sample, only the sampled tasks' rows.
     */
    WITH d AS (
        SELECT t.id FROM @extschema@.tasks t
         ORDER BY CASE WHEN sample IS NULL THEN 0 ELSE pg_catalog.random() END
         LIMIT sample),
    r AS (
        SELECT x.task_id,
               pg_catalog.count(*) AS total,
               pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'running') AS running,
               pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'completed') AS completed,
               pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'failed') AS failed
          FROM @extschema@.runs x
         WHERE sample IS NULL OR x.task_id IN (SELECT d.id FROM d)
         GROUP BY x.task_id),
    g AS (
        SELECT x.task_id, pg_catalog.count(*) AS failed
          FROM @extschema@.gates y JOIN @extschema@.runs x ON x.id OPERATOR(pg_catalog.=) y.run_id
         WHERE y.status OPERATOR(pg_catalog.=) 'fail'
           AND (sample IS NULL OR x.task_id IN (SELECT d.id FROM d))
         GROUP BY x.task_id),
    c AS (
        SELECT d.id, COALESCE(r.total, 0) AS total, COALESCE(r.running, 0) AS running,
               COALESCE(r.completed, 0) AS completed, COALESCE(r.failed, 0) AS failed,
               COALESCE(g.failed, 0) AS gates_failed
          FROM d
          LEFT JOIN r ON r.task_id OPERATOR(pg_catalog.=) d.id
          LEFT JOIN g ON g.task_id OPERATOR(pg_catalog.=) d.id)
    SELECT (SELECT pg_catalog.count(*) FROM d), pg_catalog.count(*), pg_catalog.min(c.id::text)
      INTO total, n, first_bad
      FROM c
      LEFT JOIN @extschema@.task_status s ON s.task_id OPERATOR(pg_catalog.=) c.id
     WHERE s.task_id IS NULL
        OR (s.runs_total, s.runs_running, s.runs_completed, s.runs_failed, s.gates_failed,
            s.status_derived)
           IS DISTINCT FROM
           (c.total, c.running, c.completed, c.failed, c.gates_failed,
            @extschema@.derive_status(c.total, c.running, c.completed, c.failed, c.gates_failed));
    check_name := 'summary_drift';
    IF n OPERATOR(pg_catalog.=) 0 THEN
        status := 'pass';
        detail := pg_catalog.format('%s tasks checked%s, all equal to the recomputation', total,
                                    CASE WHEN sample IS NULL THEN '' ELSE ' (sampled)' END);
    ELSE
        status := 'fail';
        detail := pg_catalog.format('%s of %s tasks differ from the recomputation (first: %s); run taskdb.rebuild_status()',
                                    n, total, first_bad);
    END IF;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 2. Orphans: rows whose parent is gone (foreign keys should make these impossible).
    check_name := 'orphans';
    SELECT (SELECT pg_catalog.count(*) FROM @extschema@.gates g
             WHERE NOT EXISTS (SELECT 1 FROM @extschema@.runs r WHERE r.id OPERATOR(pg_catalog.=) g.run_id))
         + (SELECT pg_catalog.count(*) FROM @extschema@.runs r
             WHERE NOT EXISTS (SELECT 1 FROM @extschema@.tasks t WHERE t.id OPERATOR(pg_catalog.=) r.task_id))
         + (SELECT pg_catalog.count(*) FROM @extschema@.task_status s
             WHERE NOT EXISTS (SELECT 1 FROM @extschema@.tasks t WHERE t.id OPERATOR(pg_catalog.=) s.task_id))
         + (SELECT pg_catalog.count(*) FROM @extschema@.tasks t
             WHERE NOT EXISTS (SELECT 1 FROM @extschema@.task_status s WHERE s.task_id OPERATOR(pg_catalog.=) t.id))
      INTO n;
    orphan_rows := n;
    status := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'pass' ELSE 'fail' END;
    detail := CASE WHEN n OPERATOR(pg_catalog.=) 0
                   THEN 'no gate without its run, run without its task, summary row without its task or task without its summary row'
                   ELSE pg_catalog.format('%s orphaned or missing rows (gates without runs, runs without tasks, summary rows without tasks, tasks without summary rows); run taskdb.rebuild_status() for the summary', n) END;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 3. The history's guard is in place and always fires.
    check_name := 'event_history_guard';
    SELECT pg_catalog.count(*) INTO n FROM pg_catalog.pg_trigger
     WHERE ((tgrelid OPERATOR(pg_catalog.=) '@extschema@.events'::pg_catalog.regclass
             AND tgname OPERATOR(pg_catalog.=) 'events_append_only')
         OR (tgrelid OPERATOR(pg_catalog.=) '@extschema@.events_archive'::pg_catalog.regclass
             AND tgname OPERATOR(pg_catalog.=) 'events_archive_append_only'))
       AND tgenabled OPERATOR(pg_catalog.=) 'A';
    status := CASE WHEN n OPERATOR(pg_catalog.=) 2 THEN 'pass' ELSE 'fail' END;
    detail := CASE WHEN n OPERATOR(pg_catalog.=) 2
                   THEN 'events_append_only and events_archive_append_only are enabled ALWAYS: the history cannot be changed through SQL'
                   ELSE 'an append-only trigger (events_append_only, events_archive_append_only) is missing or not ENABLE ALWAYS: the history may have been changed' END;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 4. No event carries an id the sequence has not handed out (a forged or replayed event).
    check_name := 'event_history_ids';
    SELECT pg_catalog.count(*) INTO n FROM @extschema@.event_history e
     WHERE e.id OPERATOR(pg_catalog.>) (SELECT s.last_value FROM @extschema@.events_id_seq s);
    status := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'pass' ELSE 'fail' END;
    detail := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'every event id was issued by events_id_seq'
                   ELSE pg_catalog.format('%s events have ids events_id_seq never issued', n) END;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 5. Report signatures.
    check_name := 'report_signatures';
    SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE NOT @extschema@.report_signature_valid(r.report)),
           pg_catalog.min(r.id::text) FILTER (WHERE NOT @extschema@.report_signature_valid(r.report))
      INTO total, n, first_bad
      FROM (SELECT * FROM @extschema@.reports
             ORDER BY CASE WHEN sample IS NULL THEN 0 ELSE pg_catalog.random() END LIMIT sample) r;
    status := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'pass' ELSE 'fail' END;
    detail := CASE WHEN n OPERATOR(pg_catalog.=) 0
                   THEN pg_catalog.format('%s stored reports checked%s, every signature valid', total,
                                          CASE WHEN sample IS NULL THEN '' ELSE ' (sampled)' END)
                   ELSE pg_catalog.format('%s of %s stored reports have an invalid signature (first: %s): altered, or signed with a key this database no longer has',
                                          n, total, first_bad) END;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 6. Metrics need the library preloaded.
    check_name := 'metrics_preloaded';
    IF 'taskdb' OPERATOR(pg_catalog.=) ANY (pg_catalog.string_to_array(
            pg_catalog.replace(pg_catalog.current_setting('shared_preload_libraries'), ' ', ''), ',')) THEN
        status := 'pass';
        detail := 'taskdb is in shared_preload_libraries';
    ELSE
        status := 'warn';
        detail := 'taskdb is not in shared_preload_libraries: everything works, but no metrics are collected';
    END IF;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- The verdict, also counted in taskdb.metrics().
    PERFORM @extschema@.count_doctor_checks(checks OPERATOR(pg_catalog.-) warns OPERATOR(pg_catalog.-) fails,
                                            warns, fails, orphan_rows);
    check_name := 'system_health';
    status := CASE WHEN fails OPERATOR(pg_catalog.>) 0 THEN 'failing'
                   WHEN warns OPERATOR(pg_catalog.>) 0 THEN 'degraded'
                   ELSE 'excellent' END;
    detail := pg_catalog.format('%s checks: %s pass, %s warn, %s fail',
                                checks, checks OPERATOR(pg_catalog.-) warns OPERATOR(pg_catalog.-) fails, warns, fails);
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION @extschema@.doctor(integer) IS
'Health checks, one row each (status pass, warn or fail, with what was found): summary drift (every task, or a random sample of that many tasks and reports), orphans, the event history''s guard and ids, report signatures, whether metrics are collected; then the row system_health: excellent (all pass), degraded (some warn) or failing (any fail).';

/* ------------------------------------------------------------------------
 * Privileges: nothing is granted to PUBLIC beyond PostgreSQL's defaults for
 * functions; the repair function is for the extension owner only.
 * ------------------------------------------------------------------------ */

REVOKE ALL ON FUNCTION @extschema@.rebuild_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.void_pending_deltas() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.tasks_after_insert() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.fold_status_delta() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.truncate_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.fill_task_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.refuse_key_change() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.record_events() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.refuse_event_change() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.set_signing_key(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.metrics_reset() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.archive_event_blocks(timestamptz, bigint, integer) FROM PUBLIC;
REVOKE ALL ON PROCEDURE @extschema@.archive_events(interval, integer, bigint) FROM PUBLIC;
REVOKE ALL ON TABLE @extschema@.signing_key FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.generate_synthetic(integer, integer, integer, integer, integer) FROM PUBLIC;
