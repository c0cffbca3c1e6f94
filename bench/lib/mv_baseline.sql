-- The original plan's design, the baseline taskdb replaces: status_derived
-- in a materialized view that every row written to runs or gates refreshes
-- (REFRESH MATERIALIZED VIEW CONCURRENTLY from a FOR EACH ROW trigger).  The
-- view and triggers are the plan's, verbatim but for the schema; the tables
-- are copies of baseline's (same rows as taskdb's), with a unique index on
-- the view (CONCURRENTLY needs one).
\set ON_ERROR_STOP on
CREATE SCHEMA mv;
CREATE TABLE mv.tasks (LIKE baseline.tasks INCLUDING ALL);
CREATE TABLE mv.runs  (LIKE baseline.runs  INCLUDING ALL);
CREATE TABLE mv.gates (LIKE baseline.gates INCLUDING ALL);
INSERT INTO mv.tasks SELECT * FROM baseline.tasks;
INSERT INTO mv.runs  SELECT * FROM baseline.runs;
INSERT INTO mv.gates SELECT * FROM baseline.gates;
ALTER TABLE mv.runs  ADD FOREIGN KEY (task_id) REFERENCES mv.tasks (id) ON DELETE CASCADE;
ALTER TABLE mv.gates ADD FOREIGN KEY (run_id) REFERENCES mv.runs (id) ON DELETE CASCADE;

CREATE MATERIALIZED VIEW mv.task_status_derived_mv AS
SELECT
    t.id as task_id,
    t.status as stored_status,
    CASE
        WHEN EXISTS(SELECT 1 FROM mv.runs r WHERE r.task_id = t.id AND r.status = 'failed') THEN 'failed'
        WHEN NOT EXISTS(SELECT 1 FROM mv.runs r WHERE r.task_id = t.id) THEN 'pending'
        WHEN EXISTS(SELECT 1 FROM mv.runs r WHERE r.task_id = t.id AND r.status = 'running') THEN 'in_progress'
        WHEN EXISTS(SELECT 1 FROM mv.runs r WHERE r.task_id = t.id AND r.status = 'completed')
             AND NOT EXISTS(SELECT 1 FROM mv.gates g JOIN mv.runs r ON g.run_id = r.id WHERE r.task_id = t.id AND g.status = 'fail') THEN 'completed'
        ELSE 'blocked'
    END as status_derived,
    COALESCE(
        (SELECT COUNT(*) FROM mv.runs r WHERE r.task_id = t.id AND r.status = 'completed')::FLOAT /
        NULLIF((SELECT COUNT(*) FROM mv.runs r WHERE r.task_id = t.id), 0),
        0
    ) as health_score,
    NOW() as calculated_at
FROM mv.tasks t;
CREATE UNIQUE INDEX ON mv.task_status_derived_mv (task_id);

CREATE FUNCTION mv.refresh_task_status_derived()
RETURNS TRIGGER AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv.task_status_derived_mv;
    RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER trigger_refresh_status_after_run_change
    AFTER INSERT OR UPDATE OR DELETE ON mv.runs
    FOR EACH ROW EXECUTE FUNCTION mv.refresh_task_status_derived();
CREATE TRIGGER trigger_refresh_status_after_gate_change
    AFTER INSERT OR UPDATE OR DELETE ON mv.gates
    FOR EACH ROW EXECUTE FUNCTION mv.refresh_task_status_derived();
VACUUM ANALYZE mv.tasks, mv.runs, mv.gates, mv.task_status_derived_mv;
