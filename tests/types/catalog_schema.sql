-- The system catalog types (issue 18): identifiers, OID aliases, vectors,
-- snapshots and geometry, each as a column and as an array column.

CREATE TABLE catalog_values (
    id serial PRIMARY KEY,
    t_tid tid,
    t_cid cid,
    t_xid xid,
    t_xid8 xid8,
    t_pg_lsn pg_lsn,
    t_regclass regclass,
    t_regproc regproc,
    t_regprocedure regprocedure,
    t_regoper regoper,
    t_regoperator regoperator,
    t_regtype regtype,
    t_regconfig regconfig,
    t_regdictionary regdictionary,
    t_regnamespace regnamespace,
    t_regrole regrole,
    t_regcollation regcollation,
    t_oidvector oidvector,
    t_int2vector int2vector,
    t_pg_snapshot pg_snapshot,
    t_txid_snapshot txid_snapshot,
    t_refcursor refcursor,
    t_jsonpath jsonpath
);

CREATE TABLE geometry_values (
    id serial PRIMARY KEY,
    t_point point,
    t_line line,
    t_lseg lseg,
    t_box box,
    t_path path,
    t_polygon polygon,
    t_circle circle
);

CREATE TABLE catalog_arrays (
    id serial PRIMARY KEY,
    a_tid tid[],
    a_cid cid[],
    a_xid xid[],
    a_xid8 xid8[],
    a_pg_lsn pg_lsn[],
    a_regclass regclass[],
    a_regtype regtype[],
    a_regrole regrole[],
    a_oidvector oidvector[],
    a_int2vector int2vector[],
    a_pg_snapshot pg_snapshot[],
    a_point point[],
    a_line line[],
    a_lseg lseg[],
    a_box box[],
    a_path path[],
    a_polygon polygon[],
    a_circle circle[]
);
