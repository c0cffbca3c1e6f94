-- Every object of the taskdb extension described by name, one line each,
-- sorted: what two databases must agree on to hold "the same" taskdb.
-- No OIDs, no data; owners, grants, comments and definitions included.
-- Relations are the extension's own: the history's time partitions, made
-- by taskdb.maintain_history() as time goes by, are data, not schema.
-- Used by test/scripts/upgrade.sh to compare a fresh install with an
-- updated and a restored one.
\pset format unaligned
\pset tuples_only on
SET search_path = pg_catalog;
WITH ext AS (SELECT oid, extnamespace FROM pg_extension WHERE extname = 'taskdb'),
rels AS (
    -- the extension's relations, and the indexes and TOAST of its tables
    SELECT c.* FROM pg_class c, ext
     WHERE c.relnamespace = ext.extnamespace
       AND (EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                     AND d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
            OR EXISTS (SELECT 1 FROM pg_index i JOIN pg_depend d ON d.classid = 'pg_class'::regclass
                        AND d.objid = i.indrelid AND d.refclassid = 'pg_extension'::regclass
                        AND d.refobjid = ext.oid AND d.deptype = 'e'
                        WHERE i.indexrelid = c.oid))),
acl(obj, acl) AS (
    SELECT c.oid::regclass::text, c.relacl FROM rels c
    UNION ALL
    SELECT p.oid::regprocedure::text, p.proacl FROM pg_proc p, ext WHERE p.pronamespace = ext.extnamespace
    UNION ALL
    SELECT 'schema ' || n.nspname, n.nspacl FROM pg_namespace n, ext WHERE n.oid = ext.extnamespace),
lines(line) AS (
    -- the extension itself
    SELECT format('extension version=%s relocatable=%s schema=%s config=%s conditions=%s',
                  e.extversion, e.extrelocatable, e.extnamespace::regnamespace,
                  (SELECT array_agg(c::regclass::text ORDER BY c::regclass::text) FROM unnest(e.extconfig) c),
                  e.extcondition)
      FROM pg_extension e WHERE e.extname = 'taskdb'
    UNION ALL
    -- membership: every object that belongs to the extension
    SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
      FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
    UNION ALL
    -- relations and their columns
    SELECT format('relation %s kind=%s owner=%s persistence=%s rls=%s force_rls=%s options=%s',
                  c.oid::regclass, c.relkind, c.relowner::regrole, c.relpersistence,
                  c.relrowsecurity, c.relforcerowsecurity, c.reloptions)
      FROM rels c
    UNION ALL
    SELECT format('column %s.%s #%s %s notnull=%s default=%s collation=%s identity=%s generated=%s',
                  c.oid::regclass, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid), a.attcollation::regcollation, a.attidentity, a.attgenerated)
      FROM rels c
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
    UNION ALL
    SELECT format('constraint %s %s %s deferrable=%s deferred=%s', co.conrelid::regclass, co.conname,
                  pg_get_constraintdef(co.oid), co.condeferrable, co.condeferred)
      FROM pg_constraint co WHERE co.conrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
      FROM pg_index i WHERE i.indexrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT format('trigger %s enabled=%s %s', t.tgrelid::regclass, t.tgenabled, pg_get_triggerdef(t.oid))
      FROM pg_trigger t
     WHERE NOT t.tgisinternal AND t.tgrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT format('policy %s %s %s', p.polrelid::regclass, p.polname, p.polcmd)
      FROM pg_policy p WHERE p.polrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT format('view %s %s', c.oid::regclass, pg_get_viewdef(c.oid))
      FROM rels c WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('sequence %s type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s',
                  s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                  s.seqcache, s.seqcycle,
                  (SELECT d.refobjid::regclass || '.' || a.attname FROM pg_depend d
                     JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.deptype = 'a'))
      FROM pg_sequence s WHERE s.seqrelid IN (SELECT oid FROM rels)
    UNION ALL
    -- functions and procedures: the whole definition (language, volatility,
    -- strictness, parallel safety, security, settings, body), owner
    SELECT format('function %s owner=%s leakproof=%s cost=%s rows=%s %s', p.oid::regprocedure, p.proowner::regrole,
                  p.proleakproof, p.procost, p.prorows,
                  regexp_replace(pg_get_functiondef(p.oid), '\s+', ' ', 'g'))
      FROM pg_proc p, ext WHERE p.pronamespace = ext.extnamespace
    UNION ALL
    SELECT format('type %s type=%s', t.oid::regtype, t.typtype)
      FROM pg_type t, ext WHERE t.typnamespace = ext.extnamespace
       AND (t.typrelid = 0 OR t.typrelid IN (SELECT oid FROM rels))
       AND (t.typelem = 0 OR NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0
                                                                  AND e.typrelid NOT IN (SELECT oid FROM rels)))
    UNION ALL
    -- grants
    SELECT format('grant %s to %s: %s%s', a.obj,
                  CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END,
                  x.privilege_type, CASE WHEN x.is_grantable THEN ' with grant option' ELSE '' END)
      FROM acl a, aclexplode(a.acl) x
    UNION ALL
    SELECT format('no acl %s', a.obj) FROM acl a WHERE a.acl IS NULL
    UNION ALL
    -- comments on everything in the schema, and on the schema
    SELECT format('comment %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
      FROM pg_description d, ext
     WHERE (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM rels))
        OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = ext.extnamespace))
        OR (d.classoid = 'pg_trigger'::regclass AND d.objoid IN (SELECT t.oid FROM pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rels)))
        OR (d.classoid = 'pg_constraint'::regclass AND d.objoid IN (SELECT oid FROM pg_constraint WHERE conrelid IN (SELECT oid FROM rels)))
        OR (d.classoid = 'pg_namespace'::regclass AND d.objoid = ext.extnamespace))
SELECT line FROM lines ORDER BY line COLLATE "C";
