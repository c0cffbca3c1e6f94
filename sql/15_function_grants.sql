--
-- 15_function_grants: every function and procedure of the extension with
-- who may execute it, against the list below.  A new function is executable
-- by PUBLIC unless its script revokes that, so it appears here and changes
-- this output: adding one cannot make it callable by everyone unnoticed.
--
-- "public" means EXECUTE for every role (the default for a new function);
-- "owner" means the owner only (REVOKE ALL ... FROM PUBLIC).  In 1.0
-- count_doctor_checks() was public: any role with USAGE could push the
-- doctor's counters and fire the alerts.
--
\i sql/include/fresh.sql

SELECT p.oid::regprocedure AS function,
       CASE WHEN has_function_privilege('public', p.oid, 'EXECUTE') THEN 'public' ELSE 'owner' END AS execute,
       p.prosecdef AS security_definer,
       (SELECT string_agg(a.grantee::regrole::text, ', ' ORDER BY a.grantee::regrole::text)
          FROM aclexplode(p.proacl) a
         WHERE a.grantee NOT IN (0, p.proowner)) AS other_grantees
  FROM pg_proc p
 WHERE p.pronamespace = 'taskdb'::regnamespace
 ORDER BY p.oid::regprocedure::text;

-- Nothing outside the schema belongs to the extension.
SELECT count(*) AS extension_functions_elsewhere
  FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'taskdb')
   AND p.pronamespace <> 'taskdb'::regnamespace;
