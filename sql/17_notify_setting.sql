--
-- 17_notify_setting: taskdb.notify_status_changes is off by default and
-- settable by superusers only (LISTEN needs no privilege, so turning it on
-- broadcasts task ids and statuses to every role that can connect), or by a
-- role the superuser grants it to.  What it sends is in
-- specs/notify_status.spec; the client's tests listen to it.
--
\i sql/include/fresh.sql

SELECT name, setting, context, vartype, short_desc
  FROM pg_settings WHERE name = 'taskdb.notify_status_changes';

SET client_min_messages = warning;
DROP ROLE IF EXISTS notify17_app;
RESET client_min_messages;
CREATE ROLE notify17_app;
GRANT USAGE ON SCHEMA taskdb TO notify17_app;
GRANT SELECT ON ALL TABLES IN SCHEMA taskdb TO notify17_app;
GRANT INSERT, UPDATE, DELETE ON taskdb.tasks, taskdb.runs, taskdb.gates TO notify17_app;

-- An application role can neither turn it on nor, when it is on, off.
SET ROLE notify17_app;
SET taskdb.notify_status_changes = on;
BEGIN;
SET LOCAL taskdb.notify_status_changes = on;
ROLLBACK;
RESET ROLE;
-- On for the session, as ALTER DATABASE ... SET would make it for every one.
SET taskdb.notify_status_changes = on;
SET ROLE notify17_app;
SHOW taskdb.notify_status_changes;
SET taskdb.notify_status_changes = off;
RESET ROLE;
RESET taskdb.notify_status_changes;

-- Unless it is granted the setting.
GRANT SET ON PARAMETER taskdb.notify_status_changes TO notify17_app;
SET ROLE notify17_app;
SET taskdb.notify_status_changes = on;
SHOW taskdb.notify_status_changes;
-- Writing with it on works as before (the notifications themselves are
-- checked in specs/notify_status.spec).
INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('17000000-0000-4000-8000-000000000001', 'seventeen', '1');
INSERT INTO taskdb.runs (task_id, status)
VALUES ('17000000-0000-4000-8000-000000000001', 'running');
SELECT taskdb.status_derived('17000000-0000-4000-8000-000000000001');
-- PREPARE TRANSACTION is not refused with it on: the flush sends nothing
-- for a transaction committed in two phases.
BEGIN;
INSERT INTO taskdb.runs (task_id, status)
VALUES ('17000000-0000-4000-8000-000000000001', 'failed');
RESET ROLE;
PREPARE TRANSACTION 'notify17';
COMMIT PREPARED 'notify17';
SELECT taskdb.status_derived('17000000-0000-4000-8000-000000000001');
RESET taskdb.notify_status_changes;

REVOKE SET ON PARAMETER taskdb.notify_status_changes FROM notify17_app;
DROP OWNED BY notify17_app;
DROP ROLE notify17_app;
