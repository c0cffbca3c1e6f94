-- A fresh taskdb in the test database (DROP ... CASCADE also drops what
-- earlier tests built on it), and the psql settings the tests share.
SET client_min_messages TO warning;
DROP EXTENSION IF EXISTS taskdb CASCADE;
RESET client_min_messages;
CREATE EXTENSION taskdb;
\set VERBOSITY default
\set SHOW_CONTEXT never
