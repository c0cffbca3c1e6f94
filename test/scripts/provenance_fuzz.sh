#!/usr/bin/env bash
# Bad-input fuzz test of publish_report, verify_provenance and
# debug_provenance, in a database of its own (dropped and recreated).
#
# A few thousand documents, the same ones for the same seed (FUZZ_SEED,
# default 1; only uuids and timestamps differ between runs), generated and
# fed in PL/pgSQL, each call in its own BEGIN ... EXCEPTION block so one
# session runs them all.  Every answer must be of the right class:
#   - an ERROR whose SQLSTATE is in the expected class, with a HINT, and whose
#     message quotes the offending value where there is one;
#   - or rows, where a document changed after publication always has at
#     least one FAIL row (the signature's, and "malformed claim: ..." for a
#     claim the change made unusable), never a silent all-PASS;
#   - debug_provenance gives the same verdicts as verify_provenance;
#   - a report publish_report returns always verifies (signature PASS, no
#     malformed claim).
# Classes: text that is not JSON (garbage, reports cut short), JSON of the
# wrong type, report fields and claim fields deleted or set to null,
# numbers, arrays, objects, other strings and malformed uuids, hashes,
# timestamps and snapshots; claims deleted, duplicated, reordered; one
# character of a signed value changed; signatures altered; unknown claim
# kinds; 10,000-deep nesting; 10,000-claim reports; 100,001 claims; random
# mutations of claims documents for publish_report.  Unchanged reports
# (also pretty-printed, keys reordered, a \u escape) are controls that must
# pass.
#
# At the end the server must still answer and must not have crashed.  A
# crash makes the postmaster reinitialize without changing
# pg_postmaster_start_time(), but the reinitialization discards the
# statistics, so pg_stat_bgwriter.stats_reset moves: both are compared.
#
# Prints one summary line (documents per class, and how they were
# answered); on failure lists each wrong answer with its input and exits 1.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

db=taskdb_provenance_fuzz
seed=${FUZZ_SEED:-1}
case $seed in
'' | *[!0-9]*)
	echo "provenance_fuzz: FUZZ_SEED must be a non-negative integer, not \"$seed\"" >&2
	exit 2
	;;
esac

fail() {
	echo "provenance_fuzz: FAILED: $*" >&2
	exit 1
}

server_incarnation() {
	psql -X -At -v ON_ERROR_STOP=1 -d postgres -c \
		"SELECT pg_postmaster_start_time() || ' / stats reset ' || coalesce((SELECT stats_reset FROM pg_stat_bgwriter)::text, 'never')"
}

before=$(server_incarnation) || fail "cannot connect to the server"

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL || fail "cannot create database $db"
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $db;
CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';
SQL

# ---------------------------------------------------------------------------
# Dataset, valid reports and the fuzzing functions.
# ---------------------------------------------------------------------------
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL' || fail "setup failed"
SET client_min_messages = warning;
CREATE EXTENSION taskdb;
CREATE SCHEMA fuzz;

-- Entities of the dataset; claims sets and the reports published from them.
CREATE TABLE fuzz.ent (name text PRIMARY KEY, kind text NOT NULL, id uuid NOT NULL);
CREATE TABLE fuzz.base (name text PRIMARY KEY, claims jsonb NOT NULL, report jsonb,
                        sound boolean NOT NULL);
-- Allowed values of "expected" per claim kind, and values that are not.
CREATE TABLE fuzz.allowed (kind text PRIMARY KEY, statuses text[], bad text[]);
INSERT INTO fuzz.allowed VALUES
    ('task_id', '{pending,in_progress,completed,failed,cancelled,retracted}',
                '{pass,queued,running,blocked,skipped,Pending,"completed ",done}'),
    ('run_id', '{queued,running,completed,failed,cancelled}',
               '{pending,pass,blocked,retracted,in_progress,Running,succeeded}'),
    ('gate_id', '{pending,pass,fail,skipped}',
                '{completed,failed,running,queued,passed,PASS,"pass "}'),
    ('status_derived', '{failed,pending,in_progress,completed,blocked}',
                       '{retracted,cancelled,pass,queued,skipped,Blocked}'),
    ('artifact_hash', NULL, NULL);

-- One row per document tried: how it was answered, and what was wrong with
-- the answer (NULL when it was of the right class).
CREATE TABLE fuzz.run (started timestamptz, finished timestamptz);
CREATE TABLE fuzz.results (
    n           bigserial PRIMARY KEY,
    class       text NOT NULL,
    what        text NOT NULL,
    fn          text NOT NULL,
    answer      text,
    problem     text,
    doc         text,
    observed    text,
    secs        float8
);

DO $$
DECLARE
    t1 uuid; t2 uuid; t3 uuid; r1 uuid; r2 uuid; r3 uuid;
    g1 uuid; g2 uuid; g3 uuid; a1 uuid; a2 uuid; a3 uuid;
BEGIN
    t1 := taskdb.create_task('fuzz task 1', '1.0');
    r1 := taskdb.create_run(t1, 'completed');
    g1 := taskdb.create_gate(r1, 'lint', 'lint', 'pass');
    a1 := taskdb.create_artifact(path => '/fuzz/a1', content => convert_to('alpha', 'UTF8'), run_id => r1);
    t2 := taskdb.create_task('fuzz task 2', '1.0', status => 'in_progress');
    r2 := taskdb.create_run(t2, 'running');
    g2 := taskdb.create_gate(r2, 'security', 'security', 'pending');
    a2 := taskdb.create_artifact(path => '/fuzz/a2', content => convert_to('beta', 'UTF8'), run_id => r2);
    t3 := taskdb.create_task('fuzz task 3', '1.0');
    r3 := taskdb.create_run(t3, 'failed');
    g3 := taskdb.create_gate(r3, 'policy', 'policy', 'fail');
    a3 := taskdb.create_artifact(path => '/fuzz/a3', sha256 => taskdb.sha256(convert_to('gamma', 'UTF8')),
                                 run_id => r3);
    INSERT INTO fuzz.ent VALUES
        ('t1', 'task_id', t1), ('t2', 'task_id', t2), ('t3', 'task_id', t3),
        ('r1', 'run_id', r1), ('r2', 'run_id', r2), ('r3', 'run_id', r3),
        ('g1', 'gate_id', g1), ('g2', 'gate_id', g2), ('g3', 'gate_id', g3),
        ('a1', 'artifact_hash', a1), ('a2', 'artifact_hash', a2), ('a3', 'artifact_hash', a3);
    -- For the 10,000-claim report: a task_id and a status_derived claim each.
    INSERT INTO taskdb.tasks (title, policy_version)
    SELECT 'fuzz bulk ' || i, '1.0' FROM generate_series(1, 5000) i;

    INSERT INTO fuzz.base (name, claims, sound) VALUES
    ('R1', jsonb_build_array(
        jsonb_build_object('kind', 'task_id', 'id', t1),
        jsonb_build_object('kind', 'run_id', 'id', r1),
        jsonb_build_object('kind', 'gate_id', 'id', g1),
        jsonb_build_object('kind', 'status_derived', 'id', t1),
        jsonb_build_object('kind', 'artifact_hash', 'id', a1)), true),
    ('R2', jsonb_build_array(
        jsonb_build_object('kind', 'task_id', 'id', t2, 'expected', 'in_progress'),
        jsonb_build_object('kind', 'run_id', 'id', r2, 'expected', 'running'),
        jsonb_build_object('kind', 'gate_id', 'id', g2, 'expected', 'pending'),
        jsonb_build_object('kind', 'status_derived', 'id', t2, 'expected', 'in_progress'),
        jsonb_build_object('kind', 'artifact_hash', 'hash', taskdb.sha256(convert_to('beta', 'UTF8'))),
        jsonb_build_object('kind', 'task_id', 'id', t3, 'expected', 'pending'),
        jsonb_build_object('kind', 'run_id', 'id', r3, 'expected', 'failed'),
        jsonb_build_object('kind', 'gate_id', 'id', g3, 'expected', 'fail'),
        jsonb_build_object('kind', 'artifact_hash', 'id', a3, 'hash', taskdb.sha256(convert_to('gamma', 'UTF8'))),
        jsonb_build_object('kind', 'status_derived', 'id', t3, 'expected', 'failed')), true),
    -- Claims that do not hold: the report is published, its rows FAIL.
    ('R3', jsonb_build_array(
        jsonb_build_object('kind', 'task_id', 'id', md5('no such task')::uuid),
        jsonb_build_object('kind', 'run_id', 'id', r1, 'expected', 'failed'),
        jsonb_build_object('kind', 'artifact_hash', 'hash', taskdb.sha256(convert_to('no such content', 'UTF8'))),
        jsonb_build_object('kind', 'task_id', 'id', t1)), false),
    ('R4', jsonb_build_array(jsonb_build_object('kind', 'gate_id', 'id', g1)), true);
END $$;

/* ---------------------------------------------------------------------------
 * Random choices (random(), so setseed() fixes them) and values.
 * ------------------------------------------------------------------------- */

CREATE FUNCTION fuzz.rint(lo int, hi int) RETURNS int LANGUAGE sql VOLATILE
AS $$ SELECT lo + floor(random() * (hi - lo + 1))::int $$;

CREATE FUNCTION fuzz.pick(a anyarray) RETURNS anyelement LANGUAGE sql VOLATILE
AS $$ SELECT a[array_lower(a, 1) + floor(random() * cardinality(a))::int] $$;

CREATE FUNCTION fuzz.rand_uuid() RETURNS text LANGUAGE sql VOLATILE
AS $$ SELECT md5(random()::text)::uuid::text $$;

CREATE FUNCTION fuzz.rand_hash() RETURNS text LANGUAGE sql VOLATILE
AS $$ SELECT 'sha256:' || encode(pg_catalog.sha256(convert_to(random()::text, 'UTF8')), 'hex') $$;

-- A string that is no uuid, hash, status, kind, timestamp or snapshot.
CREATE FUNCTION fuzz.fzstr(maxlen int DEFAULT 12) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet text := 'abcxyzQ019 _-:./"\é€𝄞''{}[],';
    s text := 'fz';
BEGIN
    FOR i IN 1 .. fuzz.rint(1, maxlen) LOOP
        s := s || substr(alphabet, fuzz.rint(1, length(alphabet)), 1);
    END LOOP;
    RETURN s;
END $$;

-- A value of the given shape, to put where a string is expected.
CREATE FUNCTION fuzz.value_for(op text) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN CASE op
        WHEN 'null' THEN 'null'::jsonb
        WHEN 'number' THEN fuzz.pick(ARRAY['0', '-1', '3.14', '1e30', '-0.0', '12345678901234567890123'])::jsonb
        WHEN 'bool' THEN fuzz.pick(ARRAY['true', 'false'])::jsonb
        WHEN 'array' THEN fuzz.pick(ARRAY['[]', '[1]', '["task_id"]', '[null, {}]'])::jsonb
        WHEN 'object' THEN fuzz.pick(ARRAY['{}', '{"a": 1}', '{"kind": "task_id"}'])::jsonb
        WHEN 'string' THEN to_jsonb(fuzz.fzstr())
        WHEN 'empty' THEN '""'::jsonb
        WHEN 'long' THEN to_jsonb('fz' || repeat('long', 1500))
        WHEN 'mb' THEN to_jsonb('fz' || repeat('é€𝄞', 60))
    END;
END $$;

-- What a message should quote of value v (the start of it: long values are cut).
CREATE FUNCTION fuzz.valtext(v jsonb) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN left(v #>> '{}', 20) ELSE left(v::text, 20) END $$;

CREATE FUNCTION fuzz.bad_uuid(u text) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT fuzz.pick(ARRAY[
        left(u, 35), u || '0', 'g' || substr(u, 2), replace(u, '-', ''), '{' || u || '}',
        ' ' || u, u || ' ', 'urn:uuid:' || u,
        substr(u, 1, 8) || substr(u, 10, 1) || '-' || substr(u, 11),    -- dash moved
        upper(left(u, 35)) || 'G', left(u, 8), repeat('z', 36),
        '00000000-0000-0000-0000-00000000000', u || u])
$$;

CREATE FUNCTION fuzz.bad_hash(h text) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT fuzz.pick(ARRAY[
        left(h, 70), h || '0', upper(h), 'sha256:' || upper(substr(h, 8)), 'SHA256:' || substr(h, 8),
        'sha512:' || substr(h, 8), substr(h, 8), 'sha256:g' || substr(h, 9), h || ' ', ' ' || h,
        'sha256:', 'sha256:' || repeat('z', 64), 'sha256 :' || substr(h, 8), h || substr(h, 8)])
$$;

CREATE FUNCTION fuzz.unknown_kinds() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['task', 'Task_id', 'TASK_ID', 'task_id ', ' task_id', 'taskid', 'task-id',
                 'task_ids', 'run', 'gate', 'artifact', 'artifact_id', 'hash', 'status',
                 'signature', 'tâsk_id', 'task_іd', 'fz', 'null', '0', 'status-derived']
$$;

CREATE FUNCTION fuzz.base(p_name text) RETURNS fuzz.base LANGUAGE sql STABLE
AS $$ SELECT * FROM fuzz.base WHERE name = p_name $$;

CREATE FUNCTION fuzz.random_base(sound_only boolean DEFAULT false) RETURNS fuzz.base
LANGUAGE sql VOLATILE AS $$
    SELECT * FROM fuzz.base WHERE sound OR NOT sound_only
     ORDER BY name OFFSET fuzz.rint(0, (SELECT count(*)::int - 1 FROM fuzz.base WHERE sound OR NOT sound_only))
     LIMIT 1
$$;

/* ---------------------------------------------------------------------------
 * Calling the functions and judging the answers.
 * ------------------------------------------------------------------------- */

-- Is t valid in the database encoding (UTF8)?  convert_to() checks its input.
CREATE FUNCTION fuzz.valid_utf8(t text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM convert_to(t, 'UTF8');
    RETURN true;
EXCEPTION WHEN OTHERS THEN
    RETURN false;
END $$;

-- Calls publish / verify / debug on docj, or on doc cast to jsonb inside
-- the block (so a jsonb parse error is caught too).  Returns {"state",
-- "msg", "hint"} for an ERROR, else {"report"}, {"rows"} or {"lines"};
-- {"invalid_utf8": the first bad piece, escaped} when some text of the
-- answer is not valid UTF-8.
CREATE FUNCTION fuzz.call(fn text, doc text, docj jsonb, p_verbose boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    result jsonb;
    st text;
    msg text;
    hint text;
    bad text;
BEGIN
    BEGIN
        IF docj IS NULL THEN
            docj := doc::jsonb;
        END IF;
        IF fn = 'publish' THEN
            result := jsonb_build_object('report', taskdb.publish_report(docj));
        ELSIF fn = 'verify' THEN
            SELECT jsonb_build_object('rows', coalesce(jsonb_agg(jsonb_build_array(v.claim, v.kind, v.status, v.mismatch,
                                                                                   v.expected, v.actual)
                                                                 ORDER BY v.o), '[]'::jsonb))
              INTO result
              FROM taskdb.verify_provenance(docj)
                   WITH ORDINALITY AS v(claim, kind, status, expected, actual, mismatch, changed_at, o);
        ELSE
            SELECT jsonb_build_object('lines', coalesce(jsonb_agg(d.line ORDER BY d.o), '[]'::jsonb))
              INTO result
              FROM taskdb.debug_provenance(docj, p_verbose) WITH ORDINALITY AS d(line, o);
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
        result := jsonb_build_object('state', st, 'msg', msg, 'hint', nullif(hint, ''));
    END;
    IF NOT fuzz.valid_utf8(result::text) THEN
        SELECT encode(textsend(x::text), 'escape') INTO bad
          FROM jsonb_each(result) AS e(k, v),
               LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v ELSE jsonb_build_array(v) END) x
         WHERE NOT fuzz.valid_utf8(x::text)
         LIMIT 1;
        result := jsonb_build_object('invalid_utf8', left(coalesce(bad, encode(textsend(left(result::text, 300)), 'escape')), 400));
    END IF;
    RETURN result;
END $$;

/*
 * What is wrong with verify_provenance's rows (each [claim, kind, status,
 * mismatch]) given the expectation e:
 *   nclaims     number of claim rows (one more row, the signature's, follows)
 *   mutated     (default true) the document was changed: not all PASS
 *   sig_fail    the signature row is FAIL "signature invalid..."
 *   sig_pass    the signature row is PASS
 *   all_pass    every row is PASS
 *   claims_pass every claim row is PASS
 *   malformed   claim row k is FAIL "malformed claim: ..." and names mm[]
 *   fail_row    claim row k is FAIL
 */
CREATE FUNCTION fuzz.rows_problem(rows_ jsonb, e jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n int := jsonb_array_length(rows_);
    lastrow jsonb := rows_ -> (n - 1);
    nfail int;
    k int;
    rk jsonb;
    s text;
BEGIN
    IF n = 0 OR lastrow ->> 1 IS DISTINCT FROM 'signature' THEN
        RETURN 'the last row is not the signature''s';
    END IF;
    SELECT count(*) INTO nfail FROM jsonb_array_elements(rows_) x WHERE x ->> 2 = 'FAIL';
    IF (SELECT count(*) FROM jsonb_array_elements(rows_) x WHERE x ->> 2 NOT IN ('PASS', 'FAIL')) > 0 THEN
        RETURN 'a row whose status is neither PASS nor FAIL';
    END IF;
    IF e ? 'nclaims' AND n <> (e ->> 'nclaims')::int + 1 THEN
        RETURN format('%s rows for %s claims', n, e ->> 'nclaims');
    END IF;
    IF coalesce((e ->> 'mutated')::boolean, true) AND nfail = 0 THEN
        RETURN 'silent all-PASS for a changed document';
    END IF;
    IF coalesce((e ->> 'sig_fail')::boolean, false)
       AND NOT (lastrow ->> 2 = 'FAIL' AND coalesce(lastrow ->> 3, '') LIKE 'signature invalid%') THEN
        RETURN format('signature row is %s %s, not FAIL "signature invalid"', lastrow ->> 2, lastrow ->> 3);
    END IF;
    IF coalesce((e ->> 'sig_pass')::boolean, false) AND lastrow ->> 2 <> 'PASS' THEN
        RETURN format('signature row is FAIL (%s) for a report as published', lastrow ->> 3);
    END IF;
    IF coalesce((e ->> 'all_pass')::boolean, false) AND nfail > 0 THEN
        RETURN 'FAIL rows for a report as published';
    END IF;
    IF coalesce((e ->> 'claims_pass')::boolean, false)
       AND nfail > (CASE WHEN lastrow ->> 2 = 'FAIL' THEN 1 ELSE 0 END) THEN
        RETURN 'a claim row FAILs though no claim was changed';
    END IF;
    IF e ? 'malformed' THEN
        k := (e ->> 'malformed')::int;
        rk := rows_ -> (k - 1);
        IF k >= n OR rk ->> 2 <> 'FAIL' OR coalesce(rk ->> 3, '') NOT LIKE 'malformed claim: %' THEN
            RETURN format('claim row %s is %s %s, not FAIL "malformed claim: ..."', k, rk ->> 2, rk ->> 3);
        END IF;
        FOR s IN SELECT jsonb_array_elements_text(coalesce(e -> 'mm', '[]')) LOOP
            IF strpos(rk ->> 3, s) = 0 THEN
                RETURN format('mismatch of claim row %s does not quote %s', k, quote_literal(s));
            END IF;
        END LOOP;
    END IF;
    IF e ? 'fail_row' THEN
        k := (e ->> 'fail_row')::int;
        IF k >= n OR rows_ -> (k - 1) ->> 2 <> 'FAIL' THEN
            RETURN format('claim row %s is not FAIL', k);
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- debug_provenance must say what verify_provenance says.
CREATE FUNCTION fuzz.debug_problem(v jsonb, d jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    dv text[];
    dl text[];
    vv text[];
    vm text[];
    n int;
    npass int;
BEGIN
    IF v ? 'state' THEN
        IF NOT d ? 'state' THEN
            RETURN format('debug_provenance returned lines where verify_provenance raised %s', v ->> 'state');
        ELSIF d ->> 'state' <> v ->> 'state' OR d ->> 'msg' <> v ->> 'msg' THEN
            RETURN format('debug_provenance raised %s "%s", verify_provenance %s "%s"',
                          d ->> 'state', d ->> 'msg', v ->> 'state', v ->> 'msg');
        END IF;
        RETURN NULL;
    END IF;
    IF d ? 'state' THEN
        RETURN format('debug_provenance raised %s "%s" where verify_provenance returned rows',
                      d ->> 'state', d ->> 'msg');
    END IF;
    SELECT array_agg(substr(l, 2, 4) ORDER BY o), array_agg(l ORDER BY o) INTO dv, dl
      FROM jsonb_array_elements_text(d -> 'lines') WITH ORDINALITY AS x(l, o)
     WHERE l ~ '^\[(PASS|FAIL)\] ';
    SELECT array_agg(x ->> 2 ORDER BY o), array_agg(coalesce(x ->> 3, '') ORDER BY o) INTO vv, vm
      FROM jsonb_array_elements(v -> 'rows') WITH ORDINALITY AS y(x, o);
    IF dv IS DISTINCT FROM vv THEN
        RETURN 'debug_provenance verdicts differ from verify_provenance''s';
    END IF;
    n := cardinality(vv);
    npass := cardinality(array_positions(vv, 'PASS'));
    IF d -> 'lines' ->> 0 NOT LIKE 'Debugging provenance for snapshot: %' THEN
        RETURN 'debug_provenance first line: ' || (d -> 'lines' ->> 0);
    END IF;
    IF d -> 'lines' ->> -1 <> format('%s of %s checks passed', npass, n) THEN
        RETURN format('debug_provenance last line "%s" for %s of %s PASS rows', d -> 'lines' ->> -1, npass, n);
    END IF;
    FOR i IN 1 .. n LOOP
        IF vm[i] LIKE 'malformed claim: %' AND dl[i] NOT LIKE '%Malformed claim%' THEN
            RETURN format('debug_provenance line "%s" does not say the claim is malformed', dl[i]);
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- A report publish_report returned must verify: signature PASS, every claim well-formed.
CREATE FUNCTION fuzz.published_problem(report jsonb, v jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n int;
    bad text;
BEGIN
    IF v ? 'invalid_utf8' THEN
        RETURN 'verify_provenance of its own report returns text that is not valid UTF-8: ' || (v ->> 'invalid_utf8');
    ELSIF v ? 'state' THEN
        RETURN format('its own report does not verify: ERROR %s %s', v ->> 'state', v ->> 'msg');
    END IF;
    n := jsonb_array_length(v -> 'rows');
    IF n <> jsonb_array_length(report -> 'claims_validated') + 1 THEN
        RETURN format('its own report verifies as %s rows for %s claims', n,
                      jsonb_array_length(report -> 'claims_validated'));
    END IF;
    IF v -> 'rows' -> (n - 1) ->> 2 <> 'PASS' THEN
        RETURN 'the signature of its own report does not verify';
    END IF;
    SELECT format('claim %s: %s', o, x ->> 3) INTO bad
      FROM jsonb_array_elements(v -> 'rows') WITH ORDINALITY AS y(x, o)
     WHERE x ->> 3 LIKE 'malformed claim%' LIMIT 1;
    IF bad IS NOT NULL THEN
        RETURN 'its own report verifies with a malformed claim: ' || bad;
    END IF;
    RETURN NULL;
END $$;

/*
 * Feeds one document (text doc, or jsonb docj) to fn and records whether
 * the answer was of the expected class.  e:
 *   err     regex of the SQLSTATEs an ERROR may have (absent: no ERROR allowed)
 *   ok      rows (or a published report) are an allowed answer
 *   hint    (default true) an ERROR must carry a HINT
 *   msg     strings the ERROR message must contain
 *   msg_re  regex the ERROR message must match
 *   max_secs  time limit of the call
 *   and the row expectations of fuzz.rows_problem.
 * A document for verify_provenance also goes to debug_provenance.
 */
CREATE FUNCTION fuzz.check(p_class text, p_what text, p_fn text, p_doc text, e jsonb,
                           p_docj jsonb DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
    t0 timestamptz := clock_timestamp();
    secs float8;
    problem text;
    answer text;
    observed text;
    s text;
    v_rows jsonb;
BEGIN
    r := fuzz.call(p_fn, p_doc, p_docj, false);
    v_rows := r;
    secs := extract(epoch FROM clock_timestamp() - t0);
    IF r ? 'invalid_utf8' THEN
        answer := 'invalid UTF-8';
        observed := r ->> 'invalid_utf8';
        problem := 'answer (rows, message or report) is not valid UTF-8';
    ELSIF r ? 'state' THEN
        answer := 'ERROR ' || (r ->> 'state');
        observed := format('ERROR %s: %s | HINT: %s', r ->> 'state', r ->> 'msg', coalesce(r ->> 'hint', '(none)'));
        IF NOT e ? 'err' THEN
            problem := 'ERROR where rows were expected';
        ELSIF (r ->> 'state') !~ (e ->> 'err') THEN
            problem := format('SQLSTATE %s, expected %s', r ->> 'state', e ->> 'err');
        ELSIF coalesce((e ->> 'hint')::boolean, true) AND r ->> 'hint' IS NULL THEN
            problem := 'ERROR without a HINT';
        ELSIF e ? 'msg_re' AND (r ->> 'msg') !~ (e ->> 'msg_re') THEN
            problem := format('message does not match %s', e ->> 'msg_re');
        ELSE
            FOR s IN SELECT jsonb_array_elements_text(coalesce(e -> 'msg', '[]')) LOOP
                IF strpos(r ->> 'msg', s) = 0 THEN
                    problem := format('message does not quote %s', quote_literal(s));
                    EXIT;
                END IF;
            END LOOP;
        END IF;
    ELSIF p_fn = 'publish' THEN
        answer := 'published';
        observed := left((r -> 'report')::text, 200);
        IF NOT coalesce((e ->> 'ok')::boolean, false) THEN
            problem := format('published where an ERROR %s was expected', e ->> 'err');
        ELSE
            problem := fuzz.published_problem(r -> 'report', fuzz.call('verify', NULL, r -> 'report', false));
        END IF;
    ELSE
        answer := CASE WHEN EXISTS (SELECT FROM jsonb_array_elements(r -> 'rows') x WHERE x ->> 2 = 'FAIL')
                       THEN 'FAIL' ELSE 'PASS' END;
        SELECT string_agg(format('%s %s %s', x ->> 1, x ->> 2, x ->> 3), '; ') INTO observed
          FROM (SELECT x FROM jsonb_array_elements(r -> 'rows') x WHERE x ->> 2 = 'FAIL' LIMIT 3) y;
        IF NOT coalesce((e ->> 'ok')::boolean, false) THEN
            problem := format('rows (%s) where an ERROR %s was expected', answer, e ->> 'err');
        ELSE
            problem := fuzz.rows_problem(r -> 'rows', e);
        END IF;
    END IF;
    IF p_fn = 'verify' AND NOT r ? 'invalid_utf8' THEN
        r := fuzz.call('debug', p_doc, p_docj, random() < 0.5);
        IF r ? 'invalid_utf8' THEN
            problem := coalesce(problem, 'debug_provenance returned a line that is not valid UTF-8');
            observed := 'debug_provenance: ' || (r ->> 'invalid_utf8');
        ELSE
            problem := coalesce(problem, fuzz.debug_problem(v_rows, r));
        END IF;
    END IF;
    IF e ? 'max_secs' AND secs > (e ->> 'max_secs')::float8 THEN
        problem := coalesce(problem, format('took %s s, more than %s s', round(secs::numeric, 1), e ->> 'max_secs'));
    END IF;
    INSERT INTO fuzz.results (class, what, fn, answer, problem, doc, observed, secs)
    VALUES (p_class, p_what, p_fn, answer, problem,
            left(coalesce(p_doc, left(p_docj::text, 1000)), 300), left(observed, 500), secs);
END $$;

/* ---------------------------------------------------------------------------
 * The classes of documents.
 * ------------------------------------------------------------------------- */

-- Controls: reports as published, also written differently as text.
CREATE FUNCTION fuzz.class_controls() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    e jsonb;
BEGIN
    FOR b IN SELECT * FROM fuzz.base ORDER BY name LOOP
        e := '{"ok": true, "mutated": false, "sig_pass": true}'::jsonb
             || CASE WHEN b.sound THEN '{"all_pass": true}'::jsonb ELSE '{}' END;
        PERFORM fuzz.check('control', b.name || ' as published', 'verify', b.report::text, e);
        PERFORM fuzz.check('control', b.name || ' pretty-printed', 'verify', jsonb_pretty(b.report), e);
        PERFORM fuzz.check('control', b.name || ' keys in reverse order', 'verify',
                           (SELECT '{' || string_agg(to_json(key)::text || ':' || value::text, ',' ORDER BY key DESC) || '}'
                              FROM jsonb_each(b.report)), e);
        PERFORM fuzz.check('control', b.name || ' with \u escapes', 'verify',
                           replace(b.report::text, '"taskdb-provenance/1"', '"t\u0061skdb-provenance\/1"'), e);
    END LOOP;
END $$;

-- Text that is not JSON: garbage, and reports and claims documents cut short.
CREATE FUNCTION fuzz.class_not_json() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    src text;
    which text;
    k int;
    doc text;
    garbage text[] := ARRAY[
        '', ' ', '{', '}', '[', ']', '{]', '[}', 'nul', 'tru', 'nulll', 'True', 'NULL', 'NaN',
        'Infinity', '-Infinity', 'undefined', '01', '1.', '.5', '+1', '0x10', '1e', '--1', '1..2',
        '"abc', '"\x"', '"\u12"', '"\ud800"', '"\udc00"', '"\u0000"', '"\z"', '{"a":}', '{"a" 1}',
        '{"a":1,}', '[1,]', '[,1]', '[1 2]', '{a:1}', '{''a'':1}', '{"a":1}}', '[1]]', '{"a":1} x',
        '{"a"}', '{"a":1 "b":2}', '// comment', '/* c */ {}', '{"format": "taskdb-provenance/1",}',
        E'{"a":"\t"}', E'["\n"]', '[{"kind":"task_id","id":"x"]', E'\\x7b7d'];
    starts text[] := ARRAY['x', '}', ')', ',', ':', '=', '''', '\', '#', '<', ']'];
BEGIN
    FOREACH doc IN ARRAY garbage LOOP
        PERFORM fuzz.check('not_json', 'garbage', fuzz.pick(ARRAY['publish', 'verify']), doc,
                           '{"err": "^22P0[25]$", "hint": false}');
    END LOOP;
    FOR i IN 1 .. 60 LOOP
        doc := fuzz.pick(starts) || fuzz.fzstr(30);
        PERFORM fuzz.check('not_json', 'random garbage', fuzz.pick(ARRAY['publish', 'verify']), doc,
                           '{"err": "^22P02$", "hint": false}');
    END LOOP;
    FOR i IN 1 .. 300 LOOP
        b := fuzz.random_base();
        IF random() < 0.7 THEN
            src := b.report::text;
            which := 'report';
        ELSE
            src := b.claims::text;
            which := 'claims';
        END IF;
        k := fuzz.rint(0, length(src) - 1);
        PERFORM fuzz.check('truncated', format('%s %s cut to %s of %s characters', b.name, which, k, length(src)),
                           fuzz.pick(ARRAY['publish', 'verify']), left(src, k), '{"err": "^22P02$", "hint": false}');
    END LOOP;
END $$;

-- JSON of the wrong type where an object (report) or array (claims) is expected.
CREATE FUNCTION fuzz.class_wrong_type() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r1 text := (fuzz.base('R1')).report::text;
    c1 text := (fuzz.base('R1')).claims::text;
    claim1 text := ((fuzz.base('R1')).claims -> 0)::text;
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('verify', 'null', '{"err": "^22023$", "msg": ["scalar"]}'),
        ('verify', 'true', '{"err": "^22023$", "msg": ["scalar"]}'),
        ('verify', '0', '{"err": "^22023$", "msg": ["scalar"]}'),
        ('verify', '-1.5e3', '{"err": "^22023$", "msg": ["scalar"]}'),
        ('verify', '"taskdb-provenance/1"', '{"err": "^22023$", "msg": ["scalar"]}'),
        ('verify', '[]', '{"err": "^22023$", "msg": ["array"]}'),
        ('verify', '[1]', '{"err": "^22023$", "msg": ["array"]}'),
        ('verify', '[{}]', '{"err": "^22023$", "msg": ["array"]}'),
        ('verify', '[' || r1 || ']', '{"err": "^22023$", "msg": ["array"]}'),
        ('verify', '[[' || r1 || ']]', '{"err": "^22023$", "msg": ["array"]}'),
        ('verify', c1, '{"err": "^22023$", "msg": ["array"]}'),
        ('verify', '{}', '{"err": "^22023$", "msg": ["\"format\""]}'),
        ('verify', '{"report": ' || r1 || '}', '{"err": "^22023$", "msg": ["\"format\""]}'),
        ('verify', '{"claims": ' || c1 || '}', '{"err": "^22023$", "msg": ["\"format\""]}'),
        ('verify', '{"format": "taskdb-provenance/1"}', '{"err": "^22023$", "msg": ["\"report_id\""]}'),
        ('publish', 'null', '{"err": "^22023$", "msg": ["null"]}'),
        ('publish', 'true', '{"err": "^22023$", "msg": ["true"]}'),
        ('publish', '42', '{"err": "^22023$", "msg": ["42"]}'),
        ('publish', '"task_id"', '{"err": "^22023$", "msg": ["task_id"]}'),
        ('publish', '{}', '{"err": "^22023$", "msg": ["\"claims\""]}'),
        ('publish', '{"claim": ' || c1 || '}', '{"err": "^22023$", "msg": ["unknown field"]}'),
        ('publish', '{"Claims": ' || c1 || '}', '{"err": "^22023$", "msg": ["unknown field"]}'),
        ('publish', r1, '{"err": "^22023$", "msg": ["unknown field"]}'),
        ('publish', claim1, '{"err": "^22023$", "msg": ["unknown field"]}'),
        ('publish', '{"claims": null}', '{"err": "^22023$", "msg": ["null"]}'),
        ('publish', '{"claims": 42}', '{"err": "^22023$", "msg": ["a number", "42"]}'),
        ('publish', '{"claims": "fzclaims"}', '{"err": "^22023$", "msg": ["a string", "fzclaims"]}'),
        ('publish', '{"claims": true}', '{"err": "^22023$", "msg": ["true"]}'),
        ('publish', '{"claims": {}}', '{"err": "^22023$", "msg": ["an object"]}'),
        ('publish', '{"claims": ' || claim1 || '}', '{"err": "^22023$", "msg": ["an object"]}'),
        ('publish', '[]', '{"err": "^22023$", "msg": ["at least one claim"]}'),
        ('publish', '{"claims": []}', '{"err": "^22023$", "msg": ["at least one claim"]}'),
        ('publish', '[1]', '{"err": "^22023$", "msg": ["claim 1", "must be an object", "1"]}'),
        ('publish', '[null]', '{"err": "^22023$", "msg": ["claim 1", "must be an object", "null"]}'),
        ('publish', '["task_id"]', '{"err": "^22023$", "msg": ["claim 1", "must be an object", "task_id"]}'),
        ('publish', '[[]]', '{"err": "^22023$", "msg": ["claim 1", "must be an object"]}'),
        ('publish', '[' || c1 || ']', '{"err": "^22023$", "msg": ["claim 1", "must be an object"]}'),
        ('publish', '[' || claim1 || ', 7]', '{"err": "^22023$", "msg": ["claim 2", "must be an object", "7"]}'),
        -- the wrapper object: a misspelt second member must not pass silently
        ('publish', '{"claims": ' || c1 || ', "claimz": []}', '{"err": "^22023$", "msg": ["claimz"]}'),
        ('publish', '{"claims": ' || c1 || ', "expected": "completed"}', '{"err": "^22023$", "msg": ["expected"]}')
    ) AS v(fn, doc, e) LOOP
        PERFORM fuzz.check('wrong_type',
                           CASE WHEN length(t.doc) <= 70 THEN t.doc ELSE left(t.doc, 30) || ' ... ' || right(t.doc, 35) END,
                           t.fn, t.doc, t.e::jsonb);
    END LOOP;
END $$;

-- Each top-level field of each report deleted or replaced.
CREATE FUNCTION fuzz.class_top_field() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    k text;
    op text;
    v jsonb;
    doc jsonb;
    e jsonb;
BEGIN
    FOR b IN SELECT * FROM fuzz.base ORDER BY name LOOP
        FOREACH k IN ARRAY ARRAY['format', 'report_id', 'verification_snapshot_ts', 'snapshot', 'claims_validated',
                                 'database', 'published_by', 'signature', 'extra'] LOOP
            FOREACH op IN ARRAY ARRAY['delete', 'null', 'number', 'bool', 'array', 'object', 'string', 'empty', 'long', 'mb'] LOOP
                CONTINUE WHEN op = 'delete' AND k = 'extra';
                IF op = 'delete' THEN
                    v := NULL;
                    doc := b.report - k;
                ELSE
                    v := fuzz.value_for(op);
                    doc := jsonb_set(b.report, ARRAY[k], v, true);
                END IF;
                IF k IN ('format', 'report_id', 'verification_snapshot_ts', 'snapshot')
                   OR (k = 'claims_validated' AND op <> 'array') THEN
                    e := jsonb_build_object('err', '^22', 'msg',
                        CASE WHEN op = 'delete' THEN jsonb_build_array(k)
                             WHEN op IN ('null', 'number', 'bool', 'array', 'object') THEN jsonb_build_array(k, fuzz.valtext(v))
                             ELSE jsonb_build_array(fuzz.valtext(v)) END);
                ELSIF k = 'claims_validated' THEN
                    e := jsonb_build_object('ok', true, 'sig_fail', true, 'nclaims', jsonb_array_length(v));
                    IF jsonb_array_length(v) > 0 THEN
                        e := e || '{"malformed": 1}';
                    END IF;
                ELSE
                    e := '{"ok": true, "sig_fail": true}'::jsonb || CASE WHEN b.sound THEN '{"claims_pass": true}'::jsonb ELSE '{}' END;
                END IF;
                PERFORM fuzz.check('top_field', format('%s %s := %s', b.name, k, coalesce(left(v::text, 40), '(deleted)')),
                                   'verify', doc::text, e);
            END LOOP;
        END LOOP;
    END LOOP;
END $$;

-- Malformed timestamps, snapshots, report ids and formats.
CREATE FUNCTION fuzz.class_field_formats() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    s text;
    orig text;
    alphabet text;
    k int;
    c text;
    bad_ts text[] := ARRAY[
        '2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z', '2026-02-30T00:00:00Z', '2025-02-29T00:00:00Z',
        '2026-04-31T00:00:00Z', '2026-01-32T00:00:00Z', '2026-01-00T00:00:00Z', '2026-01-01T24:00:00Z',
        '2026-01-01T23:60:00Z', '2026-01-01T23:59:60Z', '2026-01-01T-1:00:00Z', '2026-01-01T00:-1:00Z',
        '2026-01-01T00:00:-1Z', '2026-01-01T-0:00:00Z', '2026-01-01T00:00:00', '2026-01-01T00:00:00+00:00',
        '2026-01-01 00:00:00Z', '2026-01-01t00:00:00z', '2026-01-01T00:00:00.1234567Z', '2026-01-01T00:00:00.Z',
        '2026-01-01T00:00:00.1.2Z', '2026-01-01T00:00:00.-1Z', '2026-01-01', '0000-01-01T00:00:00Z',
        '10000-01-01T00:00:00Z', '-001-01-01T00:00:00Z', '2026-1-01T00:00:00.0Z', '2026--1-01T00:00:00Z',
        'infinity', '-infinity', 'now', 'epoch', '', 'T', 'ZZZZZZZZZZZZZZZZZZZZ', '2026-01-01T00:00:00ZZ',
        '2026-01-01T00:00:00.000000ZZ', '2026-01-01T00:00:00Z ', ' 2026-01-01T00:00:00Z',
        '２０２６-01-01T00:00:00Z', '2026-01-01T00:00:00.12345Z0'];
    good_ts text[] := ARRAY['2026-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999Z',
                            '2024-02-29T12:00:00.5Z', '2000-01-01T00:00:00.000000Z'];
    bad_snap text[] := ARRAY[
        'a:b:c', '', '1', '1:2', '1:2:3:4', '10:5:', '5:10:3', '5:10:12', '5:10:10', '5:10:7,6', '0:0:',
        '0:1:', '1:2:,', '1:2:3,', ':1:', '1::', '::', '-1:2:', ' 1:2:', '1:2: ', '1:2:3 ', '+1:2:',
        '0x1:2:', '1:2:1,,1', '1,2:3:', '１:2:', '18446744073709551616:18446744073709551617:',
        '99999999999999999999999999:99999999999999999999999999:', '1:18446744073709551616:'];
    good_snap text[] := ARRAY['1:1:', '1:2:1', '3:3:', '740:745:741,743', '1:2:'];
    -- pg_snapshot_in takes these; pg_current_snapshot() never prints them.
    odd_snap text[] := ARRAY['5:10:6,6', '1:18446744073709551615:', '1:18446744073709551615:18446744073709551614'];
BEGIN
    -- verification_snapshot_ts
    FOREACH s IN ARRAY bad_ts LOOP
        b := fuzz.random_base();
        PERFORM fuzz.check('timestamp', 'verification_snapshot_ts := ' || s, 'verify',
                           jsonb_set(b.report, '{verification_snapshot_ts}', to_jsonb(s))::text,
                           jsonb_build_object('err', '^22', 'msg', jsonb_build_array(s)));
    END LOOP;
    FOREACH s IN ARRAY good_ts LOOP
        b := fuzz.random_base();
        PERFORM fuzz.check('timestamp', 'verification_snapshot_ts := ' || s, 'verify',
                           jsonb_set(b.report, '{verification_snapshot_ts}', to_jsonb(s))::text,
                           '{"ok": true, "sig_fail": true}');
    END LOOP;
    FOR i IN 1 .. 150 LOOP
        b := fuzz.random_base();
        orig := b.report ->> 'verification_snapshot_ts';
        s := orig;
        FOR j IN 1 .. fuzz.rint(1, 3) LOOP
            k := fuzz.rint(1, length(s));
            LOOP
                c := substr('0123456789-T:.Z', fuzz.rint(1, 15), 1);
                EXIT WHEN c <> substr(s, k, 1);
            END LOOP;
            s := overlay(s PLACING c FROM k FOR 1);
        END LOOP;
        CONTINUE WHEN s = orig;
        PERFORM fuzz.check('timestamp', 'verification_snapshot_ts := ' || s, 'verify',
                           jsonb_set(b.report, '{verification_snapshot_ts}', to_jsonb(s))::text,
                           jsonb_build_object('ok', true, 'sig_fail', true, 'err', '^22', 'msg', jsonb_build_array(s)));
    END LOOP;

    -- snapshot
    FOREACH s IN ARRAY bad_snap LOOP
        b := fuzz.random_base();
        PERFORM fuzz.check('snapshot', 'snapshot := ' || s, 'verify',
                           jsonb_set(b.report, '{snapshot}', to_jsonb(s))::text,
                           jsonb_build_object('err', '^22', 'msg', jsonb_build_array(left(s, 20))));
    END LOOP;
    FOREACH s IN ARRAY good_snap LOOP
        b := fuzz.random_base();
        PERFORM fuzz.check('snapshot', 'snapshot := ' || s, 'verify',
                           jsonb_set(b.report, '{snapshot}', to_jsonb(s))::text, '{"ok": true, "sig_fail": true}');
    END LOOP;
    FOREACH s IN ARRAY odd_snap LOOP
        b := fuzz.random_base();
        PERFORM fuzz.check('snapshot', 'snapshot := ' || s, 'verify',
                           jsonb_set(b.report, '{snapshot}', to_jsonb(s))::text,
                           jsonb_build_object('ok', true, 'sig_fail', true, 'err', '^22', 'msg', jsonb_build_array(left(s, 20))));
    END LOOP;
    FOR i IN 1 .. 150 LOOP
        b := fuzz.random_base();
        IF random() < 0.5 THEN
            orig := b.report ->> 'snapshot';
            alphabet := '0123456789:,';
        ELSE
            orig := fuzz.rint(1, 900) || ':' || fuzz.rint(1, 900) || ':' || fuzz.rint(1, 900) || ',' || fuzz.rint(1, 900);
            alphabet := '0123456789:,-';
        END IF;
        s := orig;
        FOR j IN 1 .. fuzz.rint(1, 3) LOOP
            k := fuzz.rint(1, length(s));
            LOOP
                c := substr(alphabet, fuzz.rint(1, length(alphabet)), 1);
                EXIT WHEN c <> substr(s, k, 1);
            END LOOP;
            s := overlay(s PLACING c FROM k FOR 1);
        END LOOP;
        CONTINUE WHEN s = b.report ->> 'snapshot';
        PERFORM fuzz.check('snapshot', 'snapshot := ' || s, 'verify',
                           jsonb_set(b.report, '{snapshot}', to_jsonb(s))::text,
                           jsonb_build_object('ok', true, 'sig_fail', true, 'err', '^22', 'msg', jsonb_build_array(s)));
    END LOOP;

    -- report_id
    FOR i IN 1 .. 40 LOOP
        b := fuzz.random_base();
        orig := b.report ->> 'report_id';
        IF i <= 4 THEN
            s := CASE i WHEN 1 THEN upper(orig) WHEN 2 THEN '00000000-0000-0000-0000-000000000000'
                        WHEN 3 THEN fuzz.rand_uuid() ELSE upper(fuzz.rand_uuid()) END;
            PERFORM fuzz.check('report_id', 'report_id := ' || s, 'verify',
                               jsonb_set(b.report, '{report_id}', to_jsonb(s))::text, '{"ok": true, "sig_fail": true}');
        ELSE
            s := CASE WHEN i % 8 = 0 THEN fuzz.fzstr() ELSE fuzz.bad_uuid(orig) END;
            PERFORM fuzz.check('report_id', 'report_id := ' || s, 'verify',
                               jsonb_set(b.report, '{report_id}', to_jsonb(s))::text,
                               jsonb_build_object('err', '^22', 'msg', jsonb_build_array(left(s, 20))));
        END IF;
    END LOOP;

    -- format
    FOREACH s IN ARRAY ARRAY['taskdb-provenance/2', 'TASKDB-PROVENANCE/1', 'taskdb-provenance/1 ', ' taskdb-provenance/1',
                             'taskdb-provenance', 'taskdb-provenance/1.0', 'taskdb-provenance/01', 'taskdb-provenance/1/1',
                             fuzz.fzstr(), 'taskdb-provenance/1' || repeat('x', 200)] LOOP
        b := fuzz.random_base();
        PERFORM fuzz.check('format', 'format := ' || left(s, 40), 'verify',
                           jsonb_set(b.report, '{format}', to_jsonb(s))::text,
                           jsonb_build_object('err', '^22023$', 'msg', jsonb_build_array(left(s, 20))));
    END LOOP;
END $$;

-- The value a claim field gets for op (NULL: op does not apply).
CREATE FUNCTION fuzz.claim_value(kind text, field text, op text, cur text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    allowed text[] := (SELECT statuses FROM fuzz.allowed a WHERE a.kind = claim_value.kind);
    bad text[] := (SELECT a.bad FROM fuzz.allowed a WHERE a.kind = claim_value.kind);
BEGIN
    IF op = 'upper' THEN
        RETURN CASE WHEN cur IS NULL OR cur = upper(cur) THEN NULL ELSE to_jsonb(upper(cur)) END;
    ELSIF op = 'mb' AND field = 'claim' THEN
        RETURN to_jsonb(kind || ':fz' || repeat('é€𝄞', 60));   -- a name with a kind, then multibyte text

    ELSIF op = 'other' THEN
        RETURN to_jsonb(CASE field
            WHEN 'kind' THEN fuzz.pick(array_remove(ARRAY['task_id', 'run_id', 'gate_id', 'status_derived', 'artifact_hash'], cur))
            WHEN 'id' THEN fuzz.rand_uuid()
            WHEN 'hash' THEN fuzz.rand_hash()
            WHEN 'claim' THEN kind || ':' || fuzz.rand_uuid()
            ELSE CASE WHEN kind = 'artifact_hash' THEN fuzz.rand_hash() ELSE fuzz.pick(array_remove(allowed, cur)) END
        END);
    ELSIF op = 'bad' THEN
        RETURN to_jsonb(CASE field
            WHEN 'kind' THEN fuzz.pick(fuzz.unknown_kinds())
            WHEN 'id' THEN fuzz.bad_uuid(coalesce(cur, fuzz.rand_uuid()))
            WHEN 'hash' THEN fuzz.bad_hash(coalesce(cur, fuzz.rand_hash()))
            WHEN 'claim' THEN fuzz.fzstr()
            ELSE CASE WHEN kind = 'artifact_hash' THEN fuzz.bad_hash(coalesce(cur, fuzz.rand_hash())) ELSE fuzz.pick(bad) END
        END);
    END IF;
    RETURN fuzz.value_for(op);
END $$;

/*
 * One field of one claim of a sound report deleted or replaced.  The
 * report stays sound, so verify_provenance must answer with rows: the
 * signature FAILs, and the claim is "malformed claim: ..." when the change
 * made it unusable.
 */
CREATE FUNCTION fuzz.class_claim_field() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    c jsonb;
    i int;
    n int;
    kind text;
    is_art boolean;
    field text;
    key text;
    op text;
    cur text;
    v jsonb;
    doc jsonb;
    mal boolean;
    e jsonb;
BEGIN
    FOR b IN SELECT * FROM fuzz.base WHERE sound ORDER BY name LOOP
        n := jsonb_array_length(b.report -> 'claims_validated');
        FOR i IN 0 .. n - 1 LOOP
            c := b.report -> 'claims_validated' -> i;
            kind := c ->> 'kind';
            is_art := kind = 'artifact_hash';
            FOREACH field IN ARRAY ARRAY['kind', 'id', 'hash', 'expected', 'at_snapshot', 'claim', 'unknown'] LOOP
                FOREACH op IN ARRAY ARRAY['delete', 'null', 'number', 'bool', 'array', 'object', 'string', 'empty',
                                          'long', 'mb', 'upper', 'other', 'bad'] LOOP
                    key := CASE WHEN field = 'unknown'
                                THEN fuzz.pick(ARRAY['expcted', 'Kind', 'ID', 'status', 'value', 'claims', 'signature',
                                                     '', ' kind', 'kind ', 'ïd', 'fz' || fuzz.rint(0, 99)])
                                ELSE field END;
                    cur := c ->> key;
                    CONTINUE WHEN op = 'delete' AND NOT c ? key;
                    CONTINUE WHEN field = 'unknown' AND op IN ('delete', 'upper', 'other', 'bad');
                    CONTINUE WHEN field = 'hash' AND NOT is_art AND op IN ('upper');
                    IF op = 'delete' THEN
                        v := NULL;
                        doc := b.report #- ARRAY['claims_validated', i::text, key];
                    ELSE
                        v := fuzz.claim_value(kind, field, op, cur);
                        CONTINUE WHEN v IS NULL;
                        doc := jsonb_set(b.report, ARRAY['claims_validated', i::text, key], v, true);
                    END IF;
                    mal := CASE
                        WHEN field = 'unknown' THEN true
                        WHEN field = 'hash' AND NOT is_art THEN op <> 'null'
                        WHEN op IN ('number', 'bool', 'array', 'object', 'string', 'empty', 'long', 'mb', 'bad') THEN true
                        WHEN op = 'delete' THEN field <> 'expected'
                        WHEN op = 'null' THEN field IN ('kind', 'id', 'hash', 'claim')
                        WHEN op = 'upper' THEN field <> 'id'
                        WHEN op = 'other' THEN field IN ('kind', 'claim', 'hash') OR (field = 'id' AND NOT is_art)
                    END;
                    e := jsonb_build_object('ok', true, 'sig_fail', true, 'nclaims', n);
                    IF mal THEN
                        e := e || jsonb_build_object('malformed', i + 1, 'mm',
                            CASE
                                WHEN field = 'unknown' THEN jsonb_build_array(key)
                                WHEN field = 'hash' AND NOT is_art THEN '["hash"]'::jsonb
                                WHEN op IN ('number', 'bool', 'array', 'object', 'string', 'long', 'mb', 'upper', 'bad')
                                    THEN jsonb_build_array(fuzz.valtext(v))
                                WHEN op = 'delete' AND field IN ('kind', 'at_snapshot', 'claim')
                                    THEN jsonb_build_array(field)
                                ELSE '[]'::jsonb
                            END);
                    ELSIF (field = 'expected' AND op IN ('delete', 'null', 'other'))
                          OR (field = 'at_snapshot' AND op IN ('null', 'other')) THEN
                        e := e || jsonb_build_object('fail_row', i + 1);
                    END IF;
                    PERFORM fuzz.check('claim_field',
                                       format('%s claim %s (%s) %s := %s', b.name, i + 1, kind, key,
                                              coalesce(left(v::text, 50), '(deleted)')),
                                       'verify', doc::text, e);
                END LOOP;
            END LOOP;
        END LOOP;
    END LOOP;
END $$;

-- Whole claims of a sound report deleted, duplicated, reordered or replaced.
CREATE FUNCTION fuzz.class_claim_shape() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    cl jsonb;
    c jsonb;
    n int;
    v jsonb;
    op text;
BEGIN
    FOR b IN SELECT * FROM fuzz.base WHERE sound ORDER BY name LOOP
        cl := b.report -> 'claims_validated';
        n := jsonb_array_length(cl);
        FOR i IN 0 .. n - 1 LOOP
            c := cl -> i;
            PERFORM fuzz.check('claim_shape', format('%s claim %s deleted', b.name, i + 1), 'verify',
                               jsonb_set(b.report, '{claims_validated}', cl - i)::text,
                               jsonb_build_object('ok', true, 'sig_fail', true, 'claims_pass', true, 'nclaims', n - 1));
            PERFORM fuzz.check('claim_shape', format('%s claim %s repeated at the end', b.name, i + 1), 'verify',
                               jsonb_set(b.report, '{claims_validated}', cl || jsonb_build_array(c))::text,
                               jsonb_build_object('ok', true, 'sig_fail', true, 'nclaims', n + 1, 'malformed', n + 1,
                                                  'mm', jsonb_build_array('duplicate of claim ' || (i + 1))));
            PERFORM fuzz.check('claim_shape', format('%s claim %s repeated first', b.name, i + 1), 'verify',
                               jsonb_set(b.report, '{claims_validated}', jsonb_build_array(c) || cl)::text,
                               jsonb_build_object('ok', true, 'sig_fail', true, 'nclaims', n + 1, 'malformed', i + 2,
                                                  'mm', '["duplicate of claim 1"]'::jsonb));
            PERFORM fuzz.check('claim_shape', format('%s claim %s repeated with an upper-case id', b.name, i + 1), 'verify',
                               jsonb_set(b.report, '{claims_validated}',
                                         cl || jsonb_build_array(jsonb_set(c, '{id}', to_jsonb(upper(c ->> 'id')))))::text,
                               jsonb_build_object('ok', true, 'sig_fail', true, 'nclaims', n + 1, 'malformed', n + 1,
                                                  'mm', jsonb_build_array('duplicate of claim ' || (i + 1))));
            FOREACH op IN ARRAY ARRAY['null', 'number', 'string', 'array', 'object', 'wrapped'] LOOP
                v := CASE op WHEN 'wrapped' THEN jsonb_build_array(c) WHEN 'object' THEN '{}'::jsonb ELSE fuzz.value_for(op) END;
                PERFORM fuzz.check('claim_shape', format('%s claim %s := %s', b.name, i + 1, left(v::text, 50)), 'verify',
                                   jsonb_set(b.report, ARRAY['claims_validated', i::text], v)::text,
                                   jsonb_build_object('ok', true, 'sig_fail', true, 'nclaims', n, 'malformed', i + 1,
                                                      'mm', CASE WHEN op IN ('null', 'number', 'string')
                                                                 THEN jsonb_build_array(fuzz.valtext(v)) ELSE '[]' END));
            END LOOP;
        END LOOP;
        IF n > 1 THEN
            PERFORM fuzz.check('claim_shape', b.name || ' claims in reverse order', 'verify',
                               jsonb_set(b.report, '{claims_validated}',
                                         (SELECT jsonb_agg(x ORDER BY o DESC) FROM jsonb_array_elements(cl) WITH ORDINALITY y(x, o)))::text,
                               jsonb_build_object('ok', true, 'sig_fail', true, 'claims_pass', true, 'nclaims', n));
        END IF;
    END LOOP;
END $$;

-- One character of one signed string value changed (the report stays
-- structurally sound): the signature must FAIL, and nothing may raise.
CREATE FUNCTION fuzz.class_byte_flip() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    cand jsonb;
    path text[];
    s text;
    k int;
    c text;
    nc text;
    e jsonb;
BEGIN
    FOR i IN 1 .. 600 LOOP
        b := fuzz.random_base();
        SELECT '[["report_id"], ["verification_snapshot_ts"], ["database"], ["published_by"]]'::jsonb
               || coalesce(jsonb_agg(jsonb_build_array('claims_validated', (o - 1)::text, key)), '[]')
          INTO cand
          FROM jsonb_array_elements(b.report -> 'claims_validated') WITH ORDINALITY AS y(cl, o),
               jsonb_each(cl) AS f(key, value)
         WHERE jsonb_typeof(value) = 'string';
        path := ARRAY(SELECT jsonb_array_elements_text(cand -> fuzz.rint(0, jsonb_array_length(cand) - 1)));
        s := b.report #>> path;
        IF path[1] = 'verification_snapshot_ts' THEN
            k := fuzz.rint(21, 26);                   -- a digit of the microseconds
        ELSIF path[1] = 'report_id' THEN
            LOOP
                k := fuzz.rint(1, 36);
                EXIT WHEN k NOT IN (9, 14, 19, 24);
            END LOOP;
        ELSE
            k := fuzz.rint(1, length(s));
        END IF;
        c := substr(s, k, 1);
        LOOP
            nc := CASE WHEN c ~ '[0-9]' THEN substr('0123456789', fuzz.rint(1, 10), 1)
                       WHEN c ~ '[a-f]' THEN substr('abcdef', fuzz.rint(1, 6), 1)
                       WHEN c ~ '[a-z]' THEN substr('abcdefghijklmnopqrstuvwxyz', fuzz.rint(1, 26), 1)
                       ELSE substr('qQ_.', fuzz.rint(1, 4), 1) END;
            EXIT WHEN nc <> c;
        END LOOP;
        e := '{"ok": true, "sig_fail": true}'::jsonb;
        IF b.sound AND path[1] <> 'claims_validated' THEN
            e := e || '{"claims_pass": true}';
        END IF;
        PERFORM fuzz.check('byte_flip', format('%s %s: character %s %s -> %s', b.name, array_to_string(path, '.'), k, c, nc),
                           'verify', jsonb_set(b.report, path, to_jsonb(overlay(s PLACING nc FROM k FOR 1)))::text, e);
    END LOOP;
END $$;

-- The signature itself altered.
CREATE FUNCTION fuzz.class_signature() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    sig text;
    s text;
    k int;
    c text;
BEGIN
    FOR i IN 1 .. 100 LOOP
        b := fuzz.random_base();
        sig := b.report ->> 'signature';
        IF i <= 60 THEN
            k := fuzz.rint(13, length(sig));
            c := substr(sig, k, 1);
            s := overlay(sig PLACING CASE WHEN c = '0' THEN '1' ELSE '0' END FROM k FOR 1);
        ELSE
            s := fuzz.pick(ARRAY[upper(sig), left(sig, length(sig) - 1), sig || '0', substr(sig, 13), 'hmac-sha256:', '',
                                 'hmac-sha512:' || substr(sig, 13), ' ' || sig, sig || ' ',
                                 (SELECT report ->> 'signature' FROM fuzz.base x WHERE x.name <> b.name ORDER BY x.name LIMIT 1),
                                 'hmac-sha256:' || repeat('0', 64), fuzz.fzstr(), 'hmac-sha256:é€𝄞é€𝄞', 'é€𝄞é€𝄞']);
        END IF;
        PERFORM fuzz.check('signature', format('%s signature := %s', b.name, s), 'verify',
                           jsonb_set(b.report, '{signature}', to_jsonb(s))::text,
                           '{"ok": true, "sig_fail": true}'::jsonb
                           || CASE WHEN b.sound THEN '{"claims_pass": true}'::jsonb ELSE '{}' END);
    END LOOP;
END $$;

-- Unknown claim kinds, to both functions.
CREATE FUNCTION fuzz.class_unknown_kind() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    kind text;
    b fuzz.base;
    n int;
    j int;
BEGIN
    FOREACH kind IN ARRAY fuzz.unknown_kinds() LOOP
        b := fuzz.random_base(true);
        n := jsonb_array_length(b.claims);
        j := fuzz.rint(0, n - 1);
        PERFORM fuzz.check('unknown_kind', format('%s claim %s kind := %s', b.name, j + 1, kind), 'publish',
                           jsonb_set(b.claims, ARRAY[j::text, 'kind'], to_jsonb(kind))::text,
                           jsonb_build_object('err', '^22023$', 'msg_re', '\mclaim ' || (j + 1) || '\M',
                                              'msg', jsonb_build_array('unknown claim kind', kind)));
        n := jsonb_array_length(b.report -> 'claims_validated');
        j := fuzz.rint(0, n - 1);
        PERFORM fuzz.check('unknown_kind', format('%s claim %s kind := %s', b.name, j + 1, kind), 'verify',
                           jsonb_set(b.report, ARRAY['claims_validated', j::text, 'kind'], to_jsonb(kind))::text,
                           jsonb_build_object('ok', true, 'sig_fail', true, 'nclaims', n, 'malformed', j + 1,
                                              'mm', jsonb_build_array(kind)));
    END LOOP;
END $$;

/*
 * publish_report: one field of one claim changed.  "maybe" changes can
 * leave a valid claim (then the report must be published and verify);
 * the others must be ERROR 22023 naming the claim and the value.
 */
CREATE FUNCTION fuzz.class_publish_claim() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    c jsonb;
    n int;
    kind text;
    is_art boolean;
    field text;
    key text;
    op text;
    cur text;
    v jsonb;
    doc jsonb;
    e jsonb;
    err jsonb;
    maybe jsonb;
    vt text;
BEGIN
    FOR b IN SELECT * FROM fuzz.base ORDER BY name LOOP
        n := jsonb_array_length(b.claims);
        FOR i IN 0 .. n - 1 LOOP
            c := b.claims -> i;
            kind := c ->> 'kind';
            is_art := kind = 'artifact_hash';
            err := jsonb_build_object('err', '^22023$', 'msg_re', '\mclaim ' || (i + 1) || '\M');
            maybe := err || '{"ok": true}';
            FOREACH field IN ARRAY ARRAY['kind', 'id', 'hash', 'expected', 'unknown', 'whole'] LOOP
                FOREACH op IN ARRAY ARRAY['delete', 'null', 'number', 'bool', 'array', 'object', 'string', 'empty',
                                          'long', 'mb', 'upper', 'other', 'bad'] LOOP
                    key := CASE WHEN field = 'unknown'
                                THEN fuzz.pick(ARRAY['expcted', 'Kind', 'ID', 'status', 'value', 'claim', 'at_snapshot',
                                                     'signature', '', ' kind', 'kind ', 'ïd', 'fz' || fuzz.rint(0, 99)])
                                ELSE field END;
                    cur := c ->> key;
                    CONTINUE WHEN op = 'delete' AND (field = 'whole' OR NOT c ? key);
                    CONTINUE WHEN field IN ('unknown', 'whole') AND op IN ('upper', 'other', 'bad', 'delete');
                    IF op = 'delete' THEN
                        v := NULL;
                        doc := b.claims #- ARRAY[i::text, key];
                    ELSE
                        v := CASE WHEN field IN ('unknown', 'whole') THEN fuzz.value_for(op)
                                  ELSE fuzz.claim_value(kind, field, op, cur) END;
                        CONTINUE WHEN v IS NULL;
                        IF field = 'whole' THEN
                            doc := jsonb_set(b.claims, ARRAY[i::text], v);
                        ELSE
                            doc := jsonb_set(b.claims, ARRAY[i::text, key], v, true);
                        END IF;
                    END IF;
                    vt := fuzz.valtext(v);
                    e := CASE
                        WHEN field = 'whole' AND op = 'object' THEN
                            err                                 -- an object, but not a claim
                        WHEN field = 'whole' THEN
                            err || jsonb_build_object('msg', jsonb_build_array('must be an object', vt))
                        WHEN field = 'unknown' THEN
                            err || jsonb_build_object('msg', jsonb_build_array('unknown field', key))
                        WHEN op = 'delete' THEN
                            CASE field
                                WHEN 'kind' THEN err || '{"msg": ["\"kind\""]}'
                                WHEN 'expected' THEN maybe
                                ELSE CASE WHEN NOT is_art THEN err || jsonb_build_object('msg', jsonb_build_array('"' || field || '"'))
                                          WHEN c ? CASE field WHEN 'id' THEN 'hash' ELSE 'id' END THEN maybe
                                          ELSE err || '{"msg": ["\"id\" or \"hash\""]}' END
                            END
                        WHEN field = 'hash' AND NOT is_art THEN
                            err || '{"msg": ["\"hash\""]}'
                        WHEN op = 'null' AND field = 'expected' THEN maybe
                        WHEN op IN ('null', 'number', 'bool', 'array', 'object') THEN
                            err || jsonb_build_object('msg', jsonb_build_array('"' || field || '"', vt))
                        WHEN op IN ('string', 'empty', 'long', 'mb', 'bad') OR (op = 'upper' AND field <> 'id') THEN
                            err || jsonb_build_object('msg', jsonb_build_array(vt))
                        WHEN op = 'other' AND field = 'expected' AND is_art THEN
                            err || '{"msg": ["\"expected\""]}'
                        ELSE maybe                            -- upper-case id; another kind, id, hash or status
                    END;
                    PERFORM fuzz.check('publish_claim',
                                       format('%s claim %s (%s) %s := %s', b.name, i + 1, kind, key,
                                              coalesce(left(v::text, 50), '(deleted)')),
                                       'publish', doc::text, e);
                END LOOP;
            END LOOP;
        END LOOP;
    END LOOP;
END $$;

-- publish_report: duplicate claims.
CREATE FUNCTION fuzz.class_publish_dup() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    c jsonb;
    n int;
    a1 text := (SELECT id::text FROM fuzz.ent WHERE name = 'a1');
    h1 text := taskdb.sha256(convert_to('alpha', 'UTF8'));
    doc jsonb;
BEGIN
    FOR b IN SELECT * FROM fuzz.base ORDER BY name LOOP
        n := jsonb_array_length(b.claims);
        FOR i IN 0 .. n - 1 LOOP
            c := b.claims -> i;
            PERFORM fuzz.check('publish_dup', format('%s claim %s repeated at the end', b.name, i + 1), 'publish',
                               (b.claims || jsonb_build_array(c))::text,
                               jsonb_build_object('err', '^22023$', 'msg_re', '\mclaim ' || (n + 1) || '\M',
                                                  'msg', jsonb_build_array('duplicate of claim ' || (i + 1))));
            PERFORM fuzz.check('publish_dup', format('%s claim %s repeated first', b.name, i + 1), 'publish',
                               (jsonb_build_array(c) || b.claims)::text,
                               jsonb_build_object('err', '^22023$', 'msg_re', '\mclaim ' || (i + 2) || '\M',
                                                  'msg', '["duplicate of claim 1"]'::jsonb));
            IF c ? 'id' THEN
                PERFORM fuzz.check('publish_dup', format('%s claim %s repeated with an upper-case id', b.name, i + 1),
                                   'publish', (b.claims || jsonb_build_array(jsonb_set(c, '{id}', to_jsonb(upper(c ->> 'id')))))::text,
                                   jsonb_build_object('err', '^22023$', 'msg_re', '\mclaim ' || (n + 1) || '\M',
                                                      'msg', jsonb_build_array('duplicate of claim ' || (i + 1))));
            END IF;
            IF c ->> 'kind' <> 'artifact_hash' THEN
                PERFORM fuzz.check('publish_dup', format('%s claim %s repeated with another expected status', b.name, i + 1),
                                   'publish',
                                   (b.claims || jsonb_build_array(c || jsonb_build_object('expected',
                                        (SELECT fuzz.pick(array_remove(statuses, c ->> 'expected')) FROM fuzz.allowed a
                                          WHERE a.kind = c ->> 'kind'))))::text,
                                   jsonb_build_object('err', '^22023$', 'msg_re', '\mclaim ' || (n + 1) || '\M',
                                                      'msg', jsonb_build_array('duplicate of claim ' || (i + 1))));
            END IF;
        END LOOP;
        PERFORM fuzz.check('publish_dup', b.name || ' claims twice', 'publish', (b.claims || b.claims)::text,
                           jsonb_build_object('err', '^22023$', 'msg_re', '\mclaim ' || (n + 1) || '\M',
                                              'msg', '["duplicate of claim 1"]'::jsonb));
    END LOOP;
    -- One artifact claimed by id and by its hash: refused as a duplicate, or
    -- published as a report that verifies.
    doc := jsonb_build_array(jsonb_build_object('kind', 'artifact_hash', 'id', a1),
                             jsonb_build_object('kind', 'artifact_hash', 'hash', h1));
    PERFORM fuzz.check('publish_dup', 'artifact a1 by id, then by its hash', 'publish', doc::text,
                       '{"ok": true, "err": "^22023$", "msg_re": "\\mclaim 2\\M"}');
    doc := jsonb_build_array(doc -> 1, doc -> 0);
    PERFORM fuzz.check('publish_dup', 'artifact a1 by its hash, then by id', 'publish', doc::text,
                       '{"ok": true, "err": "^22023$", "msg_re": "\\mclaim 2\\M"}');
    doc := jsonb_build_array(jsonb_build_object('kind', 'artifact_hash', 'id', a1),
                             jsonb_build_object('kind', 'artifact_hash', 'id', a1, 'hash', h1));
    PERFORM fuzz.check('publish_dup', 'artifact a1 by id, then by id and hash', 'publish', doc::text,
                       '{"err": "^22023$", "msg_re": "\\mclaim 2\\M", "msg": ["duplicate of claim 1"]}');
END $$;

-- publish_report: random mutations (one to three) of a claims document.
CREATE FUNCTION fuzz.class_publish_random() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b fuzz.base;
    doc jsonb;
    what text;
    op text;
    n int;
    j int;
    field text;
    v jsonb;
    ids text[] := ARRAY(SELECT id::text FROM fuzz.ent ORDER BY name);
    statuses text[] := ARRAY(SELECT DISTINCT unnest(statuses || bad) FROM fuzz.allowed ORDER BY 1);
    pool text[] := ARRAY['null', 'number', 'bool', 'array', 'object', 'string', 'empty', 'long', 'mb'];
BEGIN
    FOR i IN 1 .. 400 LOOP
        b := fuzz.random_base();
        doc := b.claims;
        what := b.name;
        FOR m IN 1 .. fuzz.rint(1, 3) LOOP
            n := jsonb_array_length(doc);
            op := fuzz.pick(ARRAY['del_claim', 'dup_claim', 'set_field', 'set_field', 'set_field', 'del_field',
                                  'add_field', 'replace_claim', 'shuffle', 'insert_junk', 'empty']);
            IF n = 0 AND op NOT IN ('insert_junk') THEN
                op := 'insert_junk';
            END IF;
            j := fuzz.rint(0, greatest(n - 1, 0));
            field := fuzz.pick(ARRAY['kind', 'id', 'hash', 'expected']);
            CASE op
                WHEN 'del_claim' THEN
                    doc := doc - j;
                WHEN 'dup_claim' THEN
                    doc := jsonb_insert(doc, ARRAY[fuzz.rint(0, n - 1)::text], doc -> j, random() < 0.5);
                WHEN 'set_field' THEN
                    IF jsonb_typeof(doc -> j) = 'object' THEN
                        v := CASE fuzz.rint(1, 4)
                            WHEN 1 THEN fuzz.value_for(fuzz.pick(pool))
                            WHEN 2 THEN to_jsonb(fuzz.pick(ids))
                            WHEN 3 THEN to_jsonb(fuzz.pick(statuses))
                            ELSE to_jsonb(fuzz.pick(ARRAY['task_id', 'run_id', 'gate_id', 'status_derived', 'artifact_hash',
                                                          fuzz.rand_hash(), fuzz.rand_uuid()]))
                        END;
                        doc := jsonb_set(doc, ARRAY[j::text, field], v, true);
                        op := format('%s %s := %s', op, field, left(v::text, 30));
                    END IF;
                WHEN 'del_field' THEN
                    doc := doc #- ARRAY[j::text, field];
                    op := op || ' ' || field;
                WHEN 'add_field' THEN
                    IF jsonb_typeof(doc -> j) = 'object' THEN
                        doc := jsonb_set(doc, ARRAY[j::text, fuzz.pick(ARRAY['expcted', 'at_snapshot', 'claim', 'x'])],
                                         fuzz.value_for(fuzz.pick(pool)), true);
                    END IF;
                WHEN 'replace_claim' THEN
                    doc := jsonb_set(doc, ARRAY[j::text], fuzz.value_for(fuzz.pick(pool)));
                WHEN 'shuffle' THEN
                    doc := (SELECT jsonb_agg(x ORDER BY random()) FROM jsonb_array_elements(doc) x);
                WHEN 'insert_junk' THEN
                    doc := jsonb_insert(CASE WHEN n = 0 THEN '[null]'::jsonb ELSE doc END, '{0}',
                                        fuzz.value_for(fuzz.pick(pool)), random() < 0.5);
                WHEN 'empty' THEN
                    doc := '[]';
            END CASE;
            what := what || format('; %s claim %s', op, j + 1);
        END LOOP;
        IF random() < 0.2 THEN
            doc := jsonb_build_object('claims', doc);
            what := what || '; wrapped in {"claims": ...}';
        END IF;
        PERFORM fuzz.check('publish_random', what, 'publish', doc::text,
                           '{"ok": true, "err": "^22023$", "msg_re": "claim"}');
    END LOOP;
END $$;

-- Very deep nesting inside claims and reports.
CREATE FUNCTION fuzz.class_deep() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    darr_text text := repeat('[', 10000) || '"deep"' || repeat(']', 10000);
    dobj_text text := repeat('{"a": ', 10000) || '"deep"' || repeat('}', 10000);
    darr jsonb;
    dobj jsonb;
    deep jsonb;
    r1 jsonb := (fuzz.base('R1')).report;
    c1 jsonb := (fuzz.base('R1')).claims;
    t1 text := (SELECT id::text FROM fuzz.ent WHERE name = 't1');
    errfail jsonb := '{"ok": true, "err": "^(22|54)"}';
    shape text;
BEGIN
    -- As text: the jsonb parser may refuse the depth (54001) or the function answers.
    PERFORM fuzz.check('deep', '10,000 nested arrays as the report', 'verify', darr_text,
                       '{"err": "^(54001|22023)$"}');
    PERFORM fuzz.check('deep', '10,000 nested arrays as the claims', 'publish', darr_text,
                       '{"err": "^(54001|22023)$"}');
    PERFORM fuzz.check('deep', '100,000 nested arrays as the report', 'verify',
                       repeat('[', 100000) || repeat(']', 100000), '{"err": "^(54001|22023)$"}');
    PERFORM fuzz.check('deep', '100,000 nested objects as the claims', 'publish',
                       repeat('{"a":', 100000) || '1' || repeat('}', 100000), '{"err": "^(54001|22023)$"}');
    -- Built by the parser (which, at the default max_stack_depth, takes 10,000 levels).
    darr := darr_text::jsonb;
    dobj := dobj_text::jsonb;
    FOREACH deep IN ARRAY ARRAY[darr, dobj] LOOP
        shape := CASE WHEN jsonb_typeof(deep) = 'array' THEN 'deep (10,000 arrays)' ELSE 'deep (10,000 objects)' END;
        PERFORM fuzz.check('deep', replace('claim 1 kind := deep', 'deep', shape), 'publish', NULL,
                           '{"err": "^22023$", "msg": ["claim 1", "\"kind\""]}', jsonb_set(c1, '{0,kind}', deep));
        PERFORM fuzz.check('deep', replace('claim 1 id := deep', 'deep', shape), 'publish', NULL,
                           '{"err": "^22023$", "msg": ["claim 1", "\"id\""]}', jsonb_set(c1, '{0,id}', deep));
        PERFORM fuzz.check('deep', replace('claim 2 expected := deep', 'deep', shape), 'publish', NULL,
                           '{"err": "^22023$", "msg": ["claim 2", "\"expected\""]}', jsonb_set(c1, '{1,expected}', deep, true));
        PERFORM fuzz.check('deep', replace('claim 3 deep := deep', 'deep', shape), 'publish', NULL,
                           '{"err": "^22023$", "msg": ["claim 3", "unknown field"]}', jsonb_set(c1, '{2,deep}', deep, true));
        PERFORM fuzz.check('deep', replace('claim 1 := deep', 'deep', shape), 'publish', NULL,
                           '{"err": "^22023$", "msg": ["claim 1"]}', jsonb_set(c1, '{0}', deep));
        PERFORM fuzz.check('deep', replace('{"claims": deep}', 'deep', shape), 'publish', NULL,
                           '{"err": "^22023$", "msg": ["claim"]}', jsonb_build_object('claims', deep));
        PERFORM fuzz.check('deep', replace('{"claims": [...], "deep": deep}', 'deep', shape), 'publish', NULL,
                           '{"err": "^22023$", "msg": ["deep"]}', jsonb_build_object('claims', c1, 'deep', deep));
        PERFORM fuzz.check('deep', replace('report claim 1 kind := deep', 'deep', shape), 'verify', NULL,
                           errfail || '{"sig_fail": true, "malformed": 1, "mm": ["\"kind\""]}',
                           jsonb_set(r1, '{claims_validated,0,kind}', deep));
        PERFORM fuzz.check('deep', replace('report claim 2 id := deep', 'deep', shape), 'verify', NULL,
                           errfail || '{"sig_fail": true, "malformed": 2, "mm": ["\"id\""]}',
                           jsonb_set(r1, '{claims_validated,1,id}', deep));
        PERFORM fuzz.check('deep', replace('report claim 3 at_snapshot := deep', 'deep', shape), 'verify', NULL,
                           errfail || '{"sig_fail": true, "malformed": 3, "mm": ["\"at_snapshot\""]}',
                           jsonb_set(r1, '{claims_validated,2,at_snapshot}', deep));
        PERFORM fuzz.check('deep', replace('report claim 4 deep := deep', 'deep', shape), 'verify', NULL,
                           errfail || '{"sig_fail": true, "malformed": 4, "mm": ["unknown field"]}',
                           jsonb_set(r1, '{claims_validated,3,deep}', deep, true));
        PERFORM fuzz.check('deep', replace('report claim 5 := deep', 'deep', shape), 'verify', NULL,
                           errfail || '{"sig_fail": true, "malformed": 5}',
                           jsonb_set(r1, '{claims_validated,4}', deep));
        PERFORM fuzz.check('deep', replace('report claims_validated := [deep]', 'deep', shape), 'verify', NULL,
                           errfail || '{"sig_fail": true, "malformed": 1, "nclaims": 1}',
                           jsonb_set(r1, '{claims_validated}', jsonb_build_array(deep)));
        PERFORM fuzz.check('deep', replace('report database := deep', 'deep', shape), 'verify', NULL,
                           errfail || '{"sig_fail": true, "claims_pass": true}', jsonb_set(r1, '{database}', deep));
        PERFORM fuzz.check('deep', replace('report signature := deep', 'deep', shape), 'verify', NULL,
                           errfail || '{"sig_fail": true, "claims_pass": true}', jsonb_set(r1, '{signature}', deep));
        PERFORM fuzz.check('deep', replace('report snapshot := deep', 'deep', shape), 'verify', NULL,
                           '{"err": "^22", "msg": ["snapshot"]}', jsonb_set(r1, '{snapshot}', deep));
        PERFORM fuzz.check('deep', replace('report claims_validated := deep', 'deep', shape), 'verify', NULL,
                           '{"ok": true, "err": "^22", "sig_fail": true}', jsonb_set(r1, '{claims_validated}', deep));
        PERFORM fuzz.check('deep', replace('report := deep', 'deep', shape), 'verify', NULL, '{"err": "^22023$"}', deep);
    END LOOP;
END $$;

-- 10,000-claim reports, and documents over the 100,000-claim limit.
CREATE FUNCTION fuzz.class_big() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    claims jsonb;
    r jsonb;
    rep jsonb;
    id7777 text;
    t1 text := (SELECT id::text FROM fuzz.ent WHERE name = 't1');
BEGIN
    SELECT jsonb_agg(c ORDER BY t.id, k) INTO claims
      FROM taskdb.tasks t,
           LATERAL (VALUES (1, jsonb_build_object('kind', 'task_id', 'id', t.id)),
                           (2, jsonb_build_object('kind', 'status_derived', 'id', t.id))) AS v(k, c)
     WHERE t.title LIKE 'fuzz bulk %';
    PERFORM fuzz.check('big', '10,000 claims', 'publish', NULL, '{"ok": true, "max_secs": 20}', claims);
    r := fuzz.call('publish', NULL, claims, false);
    rep := r -> 'report';
    IF rep IS NULL THEN
        RAISE EXCEPTION 'publishing 10,000 claims failed: %', r;
    END IF;
    PERFORM fuzz.check('big', '10,000 claims as published', 'verify', NULL,
                       '{"ok": true, "mutated": false, "all_pass": true, "nclaims": 10000, "max_secs": 20}', rep);
    id7777 := rep -> 'claims_validated' -> 7776 ->> 'id';
    PERFORM fuzz.check('big', '10,000 claims, claim 7777 id changed', 'verify', NULL,
                       '{"ok": true, "sig_fail": true, "malformed": 7777, "nclaims": 10000, "max_secs": 20}',
                       jsonb_set(rep, '{claims_validated,7776,id}',
                                 to_jsonb(overlay(id7777 PLACING CASE WHEN substr(id7777, 1, 1) = '0' THEN '1' ELSE '0' END
                                                  FROM 1 FOR 1))));
    PERFORM fuzz.check('big', '10,000 claims, snapshot with 20,000 xids in progress', 'verify', NULL,
                       '{"ok": true, "sig_fail": true, "nclaims": 10000, "max_secs": 20}',
                       jsonb_set(rep, '{snapshot}',
                                 to_jsonb('3:40003:' || (SELECT string_agg(x::text, ',' ORDER BY x)
                                                           FROM generate_series(4, 40002, 2) x))));
    PERFORM fuzz.check('big', '10,000 claims, all the same claim', 'verify', NULL,
                       '{"ok": true, "sig_fail": true, "nclaims": 10000, "malformed": 10000, "mm": ["duplicate of claim 1"], "max_secs": 20}',
                       jsonb_set(rep, '{claims_validated}',
                                 (SELECT jsonb_agg(rep -> 'claims_validated' -> 0) FROM generate_series(1, 10000))));
    PERFORM fuzz.check('big', 'claim 1 id := 1 MB string', 'publish', NULL,
                       '{"err": "^22023$", "msg": ["claim 1", "fzéééé"], "max_secs": 20}',
                       jsonb_set((fuzz.base('R1')).claims, '{0,id}', to_jsonb('fz' || repeat('é', 500000))));
    PERFORM fuzz.check('big', 'report claim 1 claim := 1 MB string', 'verify', NULL,
                       '{"ok": true, "sig_fail": true, "malformed": 1, "mm": ["task_id:fz€€€€"], "max_secs": 20}',
                       jsonb_set((fuzz.base('R1')).report, '{claims_validated,0,claim}',
                                 to_jsonb('task_id:fz' || repeat('€', 350000))));
    PERFORM fuzz.check('big', 'report database := 10 MB string', 'verify', NULL,
                       '{"ok": true, "sig_fail": true, "claims_pass": true, "max_secs": 20}',
                       jsonb_set((fuzz.base('R1')).report, '{database}', to_jsonb(repeat('taskdb', 1750000))));
    PERFORM fuzz.check('big', '10,000 claims, signature changed', 'verify', NULL,
                       '{"ok": true, "sig_fail": true, "claims_pass": true, "nclaims": 10000, "max_secs": 20}',
                       jsonb_set(rep, '{signature}', to_jsonb('hmac-sha256:' || repeat('0', 64))));

    SELECT jsonb_agg(jsonb_build_object('kind', 'task_id', 'id', md5(i::text)::uuid)) INTO claims
      FROM generate_series(1, 100001) i;
    PERFORM fuzz.check('big', '100,001 claims', 'publish', NULL,
                       '{"err": "^54000$", "msg": ["100001", "100000"], "max_secs": 20}', claims);
    PERFORM fuzz.check('big', '{"claims": 100,001 claims}', 'publish', NULL,
                       '{"err": "^54000$", "msg": ["100001"], "max_secs": 20}', jsonb_build_object('claims', claims));
    PERFORM fuzz.check('big', '100,001 claims, the last of an unknown kind', 'publish', NULL,
                       '{"err": "^54000$", "msg": ["100001"], "max_secs": 20}',
                       jsonb_set(claims, '{100000,kind}', '"fz"'));
    -- 100,000 claims are within the limit: the defect in the last one is what is reported.
    PERFORM fuzz.check('big', '100,000 claims, the last of an unknown kind', 'publish', NULL,
                       '{"err": "^22023$", "msg": ["claim 100000", "fz"], "max_secs": 20}',
                       jsonb_set(claims - 100000, '{99999,kind}', '"fz"'));
    PERFORM fuzz.check('big', 'report with 100,001 claims', 'verify', NULL,
                       '{"err": "^54000$", "msg": ["100001"], "max_secs": 20}',
                       jsonb_set((fuzz.base('R1')).report, '{claims_validated}',
                                 (SELECT jsonb_agg(rep -> 'claims_validated' -> (i % 10000)) FROM generate_series(0, 100000) i)));
END $$;

-- One line: documents per class and how they were answered.
CREATE FUNCTION fuzz.summary(seed bigint) RETURNS text LANGUAGE sql AS $$
    WITH a AS (
        SELECT class, answer, count(*) AS n, min(n) AS first FROM fuzz.results GROUP BY class, answer
    ), c AS (
        SELECT class, sum(n) AS n, min(first) AS first,
               string_agg(answer || ' ' || n, ', ' ORDER BY n DESC, answer) AS answers
          FROM a GROUP BY class
    )
    SELECT format('provenance fuzz, seed %s: %s documents in %s s (%s); %s with a wrong answer',
                  seed, (SELECT count(*) FROM fuzz.results),
                  (SELECT round(extract(epoch FROM finished - started), 1) FROM fuzz.run),
                  string_agg(format('%s %s: %s', class, n, answers), '; ' ORDER BY first),
                  (SELECT count(*) FROM fuzz.results WHERE problem IS NOT NULL))
      FROM c
$$;
SQL

# Publish the valid reports, each in a transaction of its own (the claims
# of R3 do not hold: publish_report warns and stores it).
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL' || fail "publishing the valid reports failed"
SET client_min_messages = error;
UPDATE fuzz.base SET report = taskdb.publish_report(claims) WHERE name = 'R1';
UPDATE fuzz.base SET report = taskdb.publish_report(claims) WHERE name = 'R2';
UPDATE fuzz.base SET report = taskdb.publish_report(claims) WHERE name = 'R3';
UPDATE fuzz.base SET report = taskdb.publish_report(claims) WHERE name = 'R4';
SQL

# ---------------------------------------------------------------------------
# The fuzzing session.
# ---------------------------------------------------------------------------
# (-b: a statement that fails, e.g. because the backend crashed, is echoed.)
psql -X -q -b -v ON_ERROR_STOP=1 -v seed="$seed" -d "$db" <<'SQL' >/dev/null
SET client_min_messages = error;
-- publish_report warns about every claim that does not hold; keep that out of the server log.
SELECT set_config('log_min_messages', 'error', false) FROM pg_roles WHERE rolname = current_user AND rolsuper;
SET statement_timeout = '300s';
SELECT setseed((:seed % 1000003) / 1000003.0);
INSERT INTO fuzz.run (started) VALUES (clock_timestamp());
SELECT fuzz.class_controls();
SELECT fuzz.class_not_json();
SELECT fuzz.class_wrong_type();
SELECT fuzz.class_top_field();
SELECT fuzz.class_field_formats();
SELECT fuzz.class_claim_field();
SELECT fuzz.class_claim_shape();
SELECT fuzz.class_byte_flip();
SELECT fuzz.class_signature();
SELECT fuzz.class_unknown_kind();
SELECT fuzz.class_publish_claim();
SELECT fuzz.class_publish_dup();
SELECT fuzz.class_publish_random();
SELECT fuzz.class_deep();
SELECT fuzz.class_big();
UPDATE fuzz.run SET finished = clock_timestamp();
SQL
session=$?

after=$(server_incarnation)
alive=$?
problems=0
if [ $session -ne 0 ]; then
	echo "provenance_fuzz: the fuzzing session ended abnormally (psql exit status $session); see the server log" >&2
	problems=1
fi
if [ $alive -ne 0 ]; then
	echo "provenance_fuzz: the server no longer answers after the run" >&2
	problems=1
elif [ "$before" != "$after" ]; then
	echo "provenance_fuzz: the server restarted during the run (a backend crashed): before $before, after $after" >&2
	problems=1
fi
[ $alive -eq 0 ] || exit 1

psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c "SELECT fuzz.summary($seed)" ||
	fail "cannot read the results"
wrong=$(psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c 'SELECT count(*) FROM fuzz.results WHERE problem IS NOT NULL') ||
	fail "cannot read the results"
if [ "$wrong" != 0 ]; then
	echo "provenance_fuzz: $wrong documents got a wrong answer; by kind of problem (count, then the first example):" >&2
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -P pager=off -P format=unaligned -P fieldsep=' | ' -P footer=off -t <<'SQL' >&2
WITH p AS (
    SELECT *, regexp_replace(problem, 'E?''.*''|"[^"]*"|\d+', '...', 'g') AS sort
      FROM fuzz.results WHERE problem IS NOT NULL
), g AS (
    SELECT class, fn, sort, count(*) AS cnt, min(n) AS first,
           array_to_string((array_agg(what ORDER BY n))[1:3], ' || ') AS inputs
      FROM p GROUP BY class, fn, sort
)
SELECT format(E'[%s x] %s / %s: %s\n    inputs:   %s%s\n    doc:      %s\n    observed: %s',
              g.cnt, p.class, p.fn, p.problem, g.inputs, CASE WHEN g.cnt > 3 THEN ' || ...' ELSE '' END,
              p.doc, p.observed)
  FROM g JOIN p ON p.n = g.first
 ORDER BY g.first;
SQL
	problems=1
fi
if [ $problems -ne 0 ]; then
	echo "provenance_fuzz: FAILED (database $db kept for inspection: SELECT * FROM fuzz.results WHERE problem IS NOT NULL)" >&2
	exit 1
fi
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
echo "provenance_fuzz: ok"
