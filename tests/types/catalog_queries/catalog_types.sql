-- name: InsertCatalogValues :one
-- @row CatalogValues
INSERT INTO catalog_values (
    t_tid, t_cid, t_xid, t_xid8, t_pg_lsn,
    t_regclass, t_regproc, t_regprocedure, t_regoper, t_regoperator, t_regtype,
    t_regconfig, t_regdictionary, t_regnamespace, t_regrole, t_regcollation,
    t_oidvector, t_int2vector, t_pg_snapshot, t_txid_snapshot, t_refcursor, t_jsonpath
) VALUES (
    :t_tid?, :t_cid?, :t_xid?, :t_xid8?, :t_pg_lsn?,
    :t_regclass?, :t_regproc?, :t_regprocedure?, :t_regoper?, :t_regoperator?, :t_regtype?,
    :t_regconfig?, :t_regdictionary?, :t_regnamespace?, :t_regrole?, :t_regcollation?,
    :t_oidvector?, :t_int2vector?, :t_pg_snapshot?, :t_txid_snapshot?, :t_refcursor?, :t_jsonpath?
)
RETURNING *;

-- name: GetCatalogValues :one
-- @row CatalogValues
SELECT * FROM catalog_values WHERE id = :id;

-- name: GetCatalogText :one
-- What PostgreSQL makes of the stored values, in its text form.
SELECT
    t_tid::text AS t_tid, t_cid::text AS t_cid, t_xid::text AS t_xid,
    t_xid8::text AS t_xid8, t_pg_lsn::text AS t_pg_lsn,
    t_regclass::text AS t_regclass, t_regproc::text AS t_regproc,
    t_regprocedure::text AS t_regprocedure, t_regoper::text AS t_regoper,
    t_regoperator::text AS t_regoperator, t_regtype::text AS t_regtype,
    t_regconfig::text AS t_regconfig, t_regdictionary::text AS t_regdictionary,
    t_regnamespace::text AS t_regnamespace, t_regrole::text AS t_regrole,
    t_regcollation::text AS t_regcollation, t_oidvector::text AS t_oidvector,
    t_int2vector::text AS t_int2vector, t_pg_snapshot::text AS t_pg_snapshot,
    t_txid_snapshot::text AS t_txid_snapshot, t_refcursor::text AS t_refcursor,
    t_jsonpath::text AS t_jsonpath
FROM catalog_values WHERE id = :id;

-- name: CatalogLiterals :one
-- The same values, computed by PostgreSQL from their text form.
SELECT
    '(1,2)'::tid AS t_tid, '3'::cid AS t_cid, '742'::xid AS t_xid,
    '4294967296'::xid8 AS t_xid8, '16/B374D848'::pg_lsn AS t_pg_lsn,
    'pg_catalog.pg_class'::regclass AS t_regclass, 'now'::regproc AS t_regproc,
    'now()'::regprocedure AS t_regprocedure, 551::oid::regoper AS t_regoper,
    '+(integer,integer)'::regoperator AS t_regoperator, 'int4'::regtype AS t_regtype,
    'simple'::regconfig AS t_regconfig, 'simple'::regdictionary AS t_regdictionary,
    'pg_catalog'::regnamespace AS t_regnamespace, 'pg_database_owner'::regrole AS t_regrole,
    'pg_catalog."C"'::regcollation AS t_regcollation, '23 25'::oidvector AS t_oidvector,
    '1 3'::int2vector AS t_int2vector, '10:20:10,14'::pg_snapshot AS t_pg_snapshot,
    '10:20:10,14'::txid_snapshot AS t_txid_snapshot, 'c1'::refcursor AS t_refcursor,
    '$.a[*] ? (@ > 1)'::jsonpath AS t_jsonpath,
    ''::oidvector AS empty_oidvector, ''::int2vector AS empty_int2vector,
    '(0,1)'::tid AS first_tid;

-- name: InsertGeometryValues :one
-- @row GeometryValues
INSERT INTO geometry_values (t_point, t_line, t_lseg, t_box, t_path, t_polygon, t_circle)
VALUES (:t_point?, :t_line?, :t_lseg?, :t_box?, :t_path?, :t_polygon?, :t_circle?)
RETURNING *;

-- name: GetGeometryValues :one
-- @row GeometryValues
SELECT * FROM geometry_values WHERE id = :id;

-- name: GetGeometryText :one
SELECT
    t_point::text AS t_point, t_line::text AS t_line, t_lseg::text AS t_lseg,
    t_box::text AS t_box, t_path::text AS t_path, t_polygon::text AS t_polygon,
    t_circle::text AS t_circle
FROM geometry_values WHERE id = :id;

-- name: GeometryLiterals :one
SELECT
    '(1.5,-2)'::point AS t_point, '{1,-1,0.5}'::line AS t_line,
    '[(1,2),(3,4)]'::lseg AS t_lseg, '(1,2),(3,4)'::box AS t_box,
    '[(0,0),(1,1),(2,0)]'::path AS t_path, '((0,0),(1,1),(2,0))'::path AS closed_path,
    '((0,0),(1,1),(2,0))'::polygon AS t_polygon, '<(1,2),3>'::circle AS t_circle;

-- name: InsertCatalogArrays :one
-- @row CatalogArrays
INSERT INTO catalog_arrays (
    a_tid, a_cid, a_xid, a_xid8, a_pg_lsn, a_regclass, a_regtype, a_regrole,
    a_oidvector, a_int2vector, a_pg_snapshot,
    a_point, a_line, a_lseg, a_box, a_path, a_polygon, a_circle
) VALUES (
    :a_tid?, :a_cid?, :a_xid?, :a_xid8?, :a_pg_lsn?, :a_regclass?, :a_regtype?, :a_regrole?,
    :a_oidvector?, :a_int2vector?, :a_pg_snapshot?,
    :a_point?, :a_line?, :a_lseg?, :a_box?, :a_path?, :a_polygon?, :a_circle?
)
RETURNING *;

-- name: GetCatalogArrays :one
-- @row CatalogArrays
SELECT * FROM catalog_arrays WHERE id = :id;

-- name: GetCatalogArraysText :one
SELECT
    a_tid::text AS a_tid, a_cid::text AS a_cid, a_xid::text AS a_xid,
    a_xid8::text AS a_xid8, a_pg_lsn::text AS a_pg_lsn,
    a_regclass::text AS a_regclass, a_regtype::text AS a_regtype,
    a_regrole::text AS a_regrole, a_oidvector::text AS a_oidvector,
    a_int2vector::text AS a_int2vector, a_pg_snapshot::text AS a_pg_snapshot,
    a_point::text AS a_point, a_line::text AS a_line, a_lseg::text AS a_lseg,
    a_box::text AS a_box, a_path::text AS a_path, a_polygon::text AS a_polygon,
    a_circle::text AS a_circle
FROM catalog_arrays WHERE id = :id;

-- name: CurrentIds :one
-- Values only the server knows, each decoded and compared with its text.
SELECT
    pg_current_snapshot() AS snapshot, pg_current_snapshot()::text AS snapshot_text,
    pg_current_xact_id() AS xid8, pg_current_xact_id()::text AS xid8_text,
    ctid, ctid::text AS ctid_text, xmin, xmin::text AS xmin_text,
    cmin, cmin::text AS cmin_text, tableoid::regclass AS table_oid
FROM catalog_values WHERE id = :id;
