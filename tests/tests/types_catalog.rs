//! The system catalog types — `tid`, `cid`, `xid`, `xid8`, `pg_lsn`, the
//! `reg*` OID aliases, `oidvector`, `int2vector`, `pg_snapshot`,
//! `txid_snapshot` and the geometric types — round-tripped through GENERATED
//! code (`quarry_tests::generated::catalog`, from `tests/types/catalog.toml`)
//! against a real server: each value is written through the parameters of a
//! generated `insert_*` function, read back from `RETURNING *` and from the
//! generated `get_*` function, compared with what PostgreSQL prints for the
//! stored value (its text form, so a wrong encoding cannot cancel out a
//! wrong decoding), and the same values computed by PostgreSQL from their
//! text form are decoded and compared with the Rust values. NULL and arrays
//! of each type too.
//!
//! Every case runs twice: with named, cached statements and pooler-safe
//! ([`quarry::Pooler::Transaction`]: unnamed statements carrying the
//! parameter types the generator declared, by OID), so a wrong declared
//! type fails too.

use quarry::geo::{Circle, Line, LineSegment, Path, Point, Polygon, Rect};
use quarry::{
    Cid, Int2Vector, JsonPath, OidVector, PgLsn, PgSnapshot, Pooler, RefCursor, RegOid, Tid, Xid,
    Xid8,
};
use quarry_tests::generated::catalog::catalog_types as q;
use quarry_tests::workspace_root;

const POOLERS: [Pooler; 2] = [Pooler::Session, Pooler::Transaction];

/// A fresh database with `tests/types/catalog_schema.sql`, its client
/// sending statements as `pooler` says.
async fn database(prefix: &str, pooler: Pooler) -> quarry::Client {
    let db = quarry_tests::TestDb::new(prefix).await;
    db.execute_file(&workspace_root().join("tests/types/catalog_schema.sql"))
        .await;
    quarry::Client::from(db.client).with_pooler(pooler)
}

fn snapshot() -> PgSnapshot {
    PgSnapshot {
        xmin: Xid8(10),
        xmax: Xid8(20),
        xip: vec![Xid8(10), Xid8(14)],
    }
}

/// One value of each type (the OIDs are those of fixed catalog entries:
/// `pg_class`, `now()`, `+(integer,integer)`, `integer`, the `simple` text
/// search configuration and dictionary, `pg_catalog`, `pg_database_owner`,
/// the `"C"` collation).
fn values() -> q::InsertCatalogValuesParams {
    q::InsertCatalogValuesParams {
        t_tid: Some(Tid {
            block: 1,
            offset: 2,
        }),
        t_cid: Some(Cid(3)),
        t_xid: Some(Xid(742)),
        t_xid8: Some(Xid8(1 << 32)),
        t_pg_lsn: Some(PgLsn::from(0x16_B374_D848)),
        t_regclass: Some(RegOid(1259)),
        t_regproc: Some(RegOid(1299)),
        t_regprocedure: Some(RegOid(1299)),
        t_regoper: Some(RegOid(551)),
        t_regoperator: Some(RegOid(551)),
        t_regtype: Some(RegOid(23)),
        t_regconfig: Some(RegOid(3748)),
        t_regdictionary: Some(RegOid(3765)),
        t_regnamespace: Some(RegOid(11)),
        t_regrole: Some(RegOid(6171)),
        t_regcollation: Some(RegOid(950)),
        t_oidvector: Some(OidVector(vec![23, 25])),
        t_int2vector: Some(Int2Vector(vec![1, 3])),
        t_pg_snapshot: Some(snapshot()),
        t_txid_snapshot: Some(snapshot()),
        t_refcursor: Some(RefCursor("c1".to_owned())),
        // As the server prints it (it normalises `$.a[*] ? (@ > 1)`).
        t_jsonpath: Some(JsonPath(r#"$."a"[*]?(@ > 1)"#.to_owned())),
    }
}

/// What PostgreSQL prints for [`values`].
fn values_text() -> q::GetCatalogTextRow {
    let s = |text: &str| Some(text.to_string());
    q::GetCatalogTextRow {
        t_tid: s("(1,2)"),
        t_cid: s("3"),
        t_xid: s("742"),
        t_xid8: s("4294967296"),
        t_pg_lsn: s("16/B374D848"),
        t_regclass: s("pg_class"),
        t_regproc: s("now"),
        t_regprocedure: s("now()"),
        t_regoper: s("pg_catalog.+"),
        t_regoperator: s("+(integer,integer)"),
        t_regtype: s("integer"),
        t_regconfig: s("simple"),
        t_regdictionary: s("simple"),
        t_regnamespace: s("pg_catalog"),
        t_regrole: s("pg_database_owner"),
        t_regcollation: s("\"C\""),
        t_oidvector: s("23 25"),
        t_int2vector: s("1 3"),
        t_pg_snapshot: s("10:20:10,14"),
        t_txid_snapshot: s("10:20:10,14"),
        t_refcursor: s("c1"),
        t_jsonpath: s(r#"$."a"[*]?(@ > 1)"#),
    }
}

/// NULL for every column.
fn no_values() -> q::InsertCatalogValuesParams {
    q::InsertCatalogValuesParams {
        t_tid: None,
        t_cid: None,
        t_xid: None,
        t_xid8: None,
        t_pg_lsn: None,
        t_regclass: None,
        t_regproc: None,
        t_regprocedure: None,
        t_regoper: None,
        t_regoperator: None,
        t_regtype: None,
        t_regconfig: None,
        t_regdictionary: None,
        t_regnamespace: None,
        t_regrole: None,
        t_regcollation: None,
        t_oidvector: None,
        t_int2vector: None,
        t_pg_snapshot: None,
        t_txid_snapshot: None,
        t_refcursor: None,
        t_jsonpath: None,
    }
}

/// What PostgreSQL prints for [`no_values`]: NULLs.
fn no_values_text() -> q::GetCatalogTextRow {
    q::GetCatalogTextRow {
        t_tid: None,
        t_cid: None,
        t_xid: None,
        t_xid8: None,
        t_pg_lsn: None,
        t_regclass: None,
        t_regproc: None,
        t_regprocedure: None,
        t_regoper: None,
        t_regoperator: None,
        t_regtype: None,
        t_regconfig: None,
        t_regdictionary: None,
        t_regnamespace: None,
        t_regrole: None,
        t_regcollation: None,
        t_oidvector: None,
        t_int2vector: None,
        t_pg_snapshot: None,
        t_txid_snapshot: None,
        t_refcursor: None,
        t_jsonpath: None,
    }
}

/// NULL for every shape.
fn no_shapes() -> q::InsertGeometryValuesParams {
    q::InsertGeometryValuesParams {
        t_point: None,
        t_line: None,
        t_lseg: None,
        t_box: None,
        t_path: None,
        t_polygon: None,
        t_circle: None,
    }
}

/// A NULL array of every type.
fn no_arrays() -> q::InsertCatalogArraysParams {
    q::InsertCatalogArraysParams {
        a_tid: None,
        a_cid: None,
        a_xid: None,
        a_xid8: None,
        a_pg_lsn: None,
        a_regclass: None,
        a_regtype: None,
        a_regrole: None,
        a_oidvector: None,
        a_int2vector: None,
        a_pg_snapshot: None,
        a_point: None,
        a_line: None,
        a_lseg: None,
        a_box: None,
        a_path: None,
        a_polygon: None,
        a_circle: None,
    }
}

fn row_of(id: i32, p: q::InsertCatalogValuesParams) -> q::CatalogValues {
    q::CatalogValues {
        id,
        t_tid: p.t_tid,
        t_cid: p.t_cid,
        t_xid: p.t_xid,
        t_xid8: p.t_xid8,
        t_pg_lsn: p.t_pg_lsn,
        t_regclass: p.t_regclass,
        t_regproc: p.t_regproc,
        t_regprocedure: p.t_regprocedure,
        t_regoper: p.t_regoper,
        t_regoperator: p.t_regoperator,
        t_regtype: p.t_regtype,
        t_regconfig: p.t_regconfig,
        t_regdictionary: p.t_regdictionary,
        t_regnamespace: p.t_regnamespace,
        t_regrole: p.t_regrole,
        t_regcollation: p.t_regcollation,
        t_oidvector: p.t_oidvector,
        t_int2vector: p.t_int2vector,
        t_pg_snapshot: p.t_pg_snapshot,
        t_txid_snapshot: p.t_txid_snapshot,
        t_refcursor: p.t_refcursor,
        t_jsonpath: p.t_jsonpath,
    }
}

#[tokio::test]
async fn catalog_types_round_trip_as_parameters_and_columns() {
    for pooler in POOLERS {
        let db = database("catalog_values", pooler).await;
        let inserted = q::insert_catalog_values_with(&db, &values())
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        let expected = row_of(inserted.id, values());
        assert_eq!(inserted, expected, "{pooler:?}");
        let read = q::get_catalog_values(&db, inserted.id).await;
        assert_eq!(read.ok(), Some(expected), "{pooler:?}");
        let text = q::get_catalog_text(&db, inserted.id).await;
        assert_eq!(text.ok(), Some(values_text()), "{pooler:?}");

        // NULL of every type, both ways.
        let nulls = q::insert_catalog_values_with(&db, &no_values())
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        assert_eq!(nulls, row_of(nulls.id, no_values()), "{pooler:?}");
        let text = q::get_catalog_text(&db, nulls.id).await;
        assert_eq!(text.ok(), Some(no_values_text()), "{pooler:?}");
    }
}

#[tokio::test]
async fn catalog_values_postgres_computes_from_text_decode_to_the_same_values() {
    for pooler in POOLERS {
        let db = database("catalog_literals", pooler).await;
        let row = q::catalog_literals(&db)
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        let v = row_of(0, values());
        let computed = row_of(
            0,
            q::InsertCatalogValuesParams {
                t_tid: Some(row.t_tid),
                t_cid: Some(row.t_cid),
                t_xid: Some(row.t_xid),
                t_xid8: Some(row.t_xid8),
                t_pg_lsn: Some(row.t_pg_lsn),
                t_regclass: Some(row.t_regclass),
                t_regproc: Some(row.t_regproc),
                t_regprocedure: Some(row.t_regprocedure),
                t_regoper: Some(row.t_regoper),
                t_regoperator: Some(row.t_regoperator),
                t_regtype: Some(row.t_regtype),
                t_regconfig: Some(row.t_regconfig),
                t_regdictionary: Some(row.t_regdictionary),
                t_regnamespace: Some(row.t_regnamespace),
                t_regrole: Some(row.t_regrole),
                t_regcollation: Some(row.t_regcollation),
                t_oidvector: Some(row.t_oidvector),
                t_int2vector: Some(row.t_int2vector),
                t_pg_snapshot: Some(row.t_pg_snapshot),
                t_txid_snapshot: Some(row.t_txid_snapshot),
                t_refcursor: Some(row.t_refcursor),
                t_jsonpath: Some(row.t_jsonpath),
            },
        );
        assert_eq!(computed, v, "{pooler:?}");
        assert_eq!(row.empty_oidvector, OidVector(vec![]));
        assert_eq!(row.empty_int2vector, Int2Vector(vec![]));
        assert_eq!(
            row.first_tid,
            Tid {
                block: 0,
                offset: 1
            }
        );
    }
}

#[tokio::test]
async fn values_only_the_server_knows_decode_like_their_text() {
    for pooler in POOLERS {
        let db = database("catalog_current", pooler).await;
        let id = q::insert_catalog_values_with(&db, &no_values())
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"))
            .id;
        let row = q::current_ids(&db, id)
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        assert_eq!(row.snapshot.to_string(), row.snapshot_text);
        assert!(row.snapshot.xmin <= row.snapshot.xmax, "{:?}", row.snapshot);
        assert_eq!(row.xid8.to_string(), row.xid8_text);
        assert!(row.xid8 >= row.snapshot.xmin, "{row:?}");
        let text = |value: Option<String>| value.unwrap_or_default();
        assert_eq!(row.ctid.map(|t| t.to_string()), Some(text(row.ctid_text)));
        assert_eq!(row.xmin.map(|x| x.to_string()), Some(text(row.xmin_text)));
        assert_eq!(row.cmin.map(|c| c.to_string()), Some(text(row.cmin_text)));
        let oid: u32 = db
            .query_one("SELECT 'catalog_values'::regclass::oid", &[])
            .await
            .map(|r| r.get(0))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(row.table_oid, Some(RegOid(oid)));
    }
}

const P: Point = Point { x: 1.5, y: -2.0 };

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

fn shapes() -> q::InsertGeometryValuesParams {
    q::InsertGeometryValuesParams {
        t_point: Some(P),
        t_line: Some(Line {
            a: 1.0,
            b: -1.0,
            c: 0.5,
        }),
        t_lseg: Some(LineSegment {
            start: pt(1.0, 2.0),
            end: pt(3.0, 4.0),
        }),
        t_box: Some(Rect {
            high: pt(3.0, 4.0),
            low: pt(1.0, 2.0),
        }),
        t_path: Some(Path {
            closed: false,
            points: vec![pt(0.0, 0.0), pt(1.0, 1.0), pt(2.0, 0.0)],
        }),
        t_polygon: Some(Polygon {
            points: vec![pt(0.0, 0.0), pt(1.0, 1.0), pt(2.0, 0.0)],
        }),
        t_circle: Some(Circle {
            center: pt(1.0, 2.0),
            radius: 3.0,
        }),
    }
}

fn shapes_row(id: i32, p: q::InsertGeometryValuesParams) -> q::GeometryValues {
    q::GeometryValues {
        id,
        t_point: p.t_point,
        t_line: p.t_line,
        t_lseg: p.t_lseg,
        t_box: p.t_box,
        t_path: p.t_path,
        t_polygon: p.t_polygon,
        t_circle: p.t_circle,
    }
}

#[tokio::test]
async fn geometric_types_round_trip_and_match_their_text_form() {
    for pooler in POOLERS {
        let db = database("catalog_geometry", pooler).await;
        let inserted = q::insert_geometry_values_with(&db, &shapes())
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        let expected = shapes_row(inserted.id, shapes());
        assert_eq!(inserted, expected, "{pooler:?}");
        let read = q::get_geometry_values(&db, inserted.id).await;
        assert_eq!(read.ok(), Some(expected), "{pooler:?}");
        let s = |text: &str| Some(text.to_string());
        let text = q::get_geometry_text(&db, inserted.id).await;
        let expected_text = q::GetGeometryTextRow {
            t_point: s("(1.5,-2)"),
            t_line: s("{1,-1,0.5}"),
            t_lseg: s("[(1,2),(3,4)]"),
            t_box: s("(3,4),(1,2)"),
            t_path: s("[(0,0),(1,1),(2,0)]"),
            t_polygon: s("((0,0),(1,1),(2,0))"),
            t_circle: s("<(1,2),3>"),
        };
        assert_eq!(text.ok(), Some(expected_text), "{pooler:?}");

        // PostgreSQL's own values from text decode to the same.
        let lit = q::geometry_literals(&db)
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        let computed = q::InsertGeometryValuesParams {
            t_point: Some(lit.t_point),
            t_line: Some(lit.t_line),
            t_lseg: Some(lit.t_lseg),
            t_box: Some(lit.t_box),
            t_path: Some(lit.t_path),
            t_polygon: Some(lit.t_polygon),
            t_circle: Some(lit.t_circle),
        };
        assert_eq!(shapes_row(0, computed), shapes_row(0, shapes()));
        assert!(lit.closed_path.closed && lit.closed_path.points.len() == 3);

        // A box is stored normalised (upper right corner first); NULLs.
        let flipped = q::InsertGeometryValuesParams {
            t_box: Some(Rect {
                high: pt(1.0, 2.0),
                low: pt(3.0, 4.0),
            }),
            ..no_shapes()
        };
        let row = q::insert_geometry_values_with(&db, &flipped)
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        assert_eq!(row.t_box, shapes().t_box);
        assert_eq!(row.t_point, None);
        assert_eq!(row.t_path, None);
    }
}

/// Expects an error raised by PostgreSQL with `code` (the value reached the server).
#[track_caller]
fn assert_db_error<T: std::fmt::Debug>(result: Result<T, quarry::Error>, code: &str) {
    match result {
        Err(quarry::Error::Db { source, .. }) if source.code().map(|c| c.code()) == Some(code) => {}
        other => panic!("expected a database error {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn values_postgres_cannot_receive_are_its_errors_not_panics() {
    for pooler in POOLERS {
        let db = database("catalog_rejected", pooler).await;
        // An empty oidvector has no binary form PostgreSQL accepts
        // (documented on OidVector); a path needs a point.
        let empty = q::InsertCatalogValuesParams {
            t_oidvector: Some(OidVector(vec![])),
            ..no_values()
        };
        assert_db_error(q::insert_catalog_values_with(&db, &empty).await, "22P03");
        let no_points = q::InsertGeometryValuesParams {
            t_path: Some(Path::default()),
            ..no_shapes()
        };
        assert_db_error(
            q::insert_geometry_values_with(&db, &no_points).await,
            "22P03",
        );
    }
}

/// Arrays of every type (two elements where the text form quotes them).
fn arrays() -> q::InsertCatalogArraysParams {
    let tid = |block, offset| Tid { block, offset };
    q::InsertCatalogArraysParams {
        a_tid: Some(vec![tid(1, 2), tid(0, 1)]),
        a_cid: Some(vec![Cid(3), Cid(4)]),
        a_xid: Some(vec![Xid(742)]),
        a_xid8: Some(vec![Xid8(1 << 32), Xid8(1)]),
        a_pg_lsn: Some(vec![PgLsn::from(0x16_B374_D848), PgLsn::from(0)]),
        a_regclass: Some(vec![RegOid(1259), RegOid(1249)]),
        a_regtype: Some(vec![RegOid(23), RegOid(25)]),
        a_regrole: Some(vec![RegOid(6171)]),
        a_oidvector: Some(vec![OidVector(vec![23, 25]), OidVector(vec![26])]),
        a_int2vector: Some(vec![Int2Vector(vec![1, 3])]),
        a_pg_snapshot: Some(vec![
            snapshot(),
            PgSnapshot {
                xmin: Xid8(5),
                xmax: Xid8(5),
                xip: vec![],
            },
        ]),
        a_point: Some(vec![P, Point::default()]),
        a_line: shapes().t_line.map(|l| vec![l]),
        a_lseg: shapes().t_lseg.map(|l| vec![l]),
        a_box: Some(vec![
            Rect {
                high: pt(3.0, 4.0),
                low: pt(1.0, 2.0),
            },
            Rect {
                high: pt(1.0, 1.0),
                low: pt(0.0, 0.0),
            },
        ]),
        a_path: Some(vec![
            Path {
                closed: false,
                points: vec![pt(0.0, 0.0), pt(1.0, 1.0), pt(2.0, 0.0)],
            },
            Path {
                closed: true,
                points: vec![pt(0.0, 0.0), pt(1.0, 0.0)],
            },
        ]),
        a_polygon: shapes().t_polygon.map(|p| vec![p]),
        a_circle: shapes().t_circle.map(|c| vec![c]),
    }
}

fn arrays_row(id: i32, p: q::InsertCatalogArraysParams) -> q::CatalogArrays {
    q::CatalogArrays {
        id,
        a_tid: p.a_tid,
        a_cid: p.a_cid,
        a_xid: p.a_xid,
        a_xid8: p.a_xid8,
        a_pg_lsn: p.a_pg_lsn,
        a_regclass: p.a_regclass,
        a_regtype: p.a_regtype,
        a_regrole: p.a_regrole,
        a_oidvector: p.a_oidvector,
        a_int2vector: p.a_int2vector,
        a_pg_snapshot: p.a_pg_snapshot,
        a_point: p.a_point,
        a_line: p.a_line,
        a_lseg: p.a_lseg,
        a_box: p.a_box,
        a_path: p.a_path,
        a_polygon: p.a_polygon,
        a_circle: p.a_circle,
    }
}

/// What PostgreSQL prints for [`arrays`].
fn arrays_text() -> q::GetCatalogArraysTextRow {
    let s = |text: &str| Some(text.to_string());
    q::GetCatalogArraysTextRow {
        a_tid: s(r#"{"(1,2)","(0,1)"}"#),
        a_cid: s("{3,4}"),
        a_xid: s("{742}"),
        a_xid8: s("{4294967296,1}"),
        a_pg_lsn: s("{16/B374D848,0/0}"),
        a_regclass: s("{pg_class,pg_attribute}"),
        a_regtype: s("{integer,text}"),
        a_regrole: s("{pg_database_owner}"),
        a_oidvector: s(r#"{"23 25",26}"#),
        a_int2vector: s(r#"{"1 3"}"#),
        a_pg_snapshot: s(r#"{"10:20:10,14",5:5:}"#),
        a_point: s(r#"{"(1.5,-2)","(0,0)"}"#),
        a_line: s(r#"{"{1,-1,0.5}"}"#),
        a_lseg: s(r#"{"[(1,2),(3,4)]"}"#),
        a_box: s("{(3,4),(1,2);(1,1),(0,0)}"),
        a_path: s(r#"{"[(0,0),(1,1),(2,0)]","((0,0),(1,0))"}"#),
        a_polygon: s(r#"{"((0,0),(1,1),(2,0))"}"#),
        a_circle: s(r#"{"<(1,2),3>"}"#),
    }
}

#[tokio::test]
async fn arrays_of_catalog_types_round_trip() {
    for pooler in POOLERS {
        let db = database("catalog_arrays", pooler).await;
        let params = arrays();
        let inserted = q::insert_catalog_arrays_with(&db, &params)
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        let read = q::get_catalog_arrays(&db, inserted.id).await;
        assert_eq!(read.as_ref().ok(), Some(&inserted), "{pooler:?}");
        let expected = arrays_row(inserted.id, params);
        assert_eq!(inserted, expected, "{pooler:?}");
        let text = q::get_catalog_arrays_text(&db, inserted.id).await;
        assert_eq!(text.ok(), Some(arrays_text()), "{pooler:?}");

        // A NULL array of each type.
        let nulls = q::insert_catalog_arrays_with(&db, &no_arrays())
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        assert_eq!(nulls, arrays_row(nulls.id, no_arrays()), "{pooler:?}");
    }
}

#[tokio::test]
async fn extreme_values_round_trip() {
    for pooler in POOLERS {
        let db = database("catalog_extremes", pooler).await;
        let extremes = q::InsertCatalogValuesParams {
            t_tid: Some(Tid {
                block: u32::MAX,
                offset: u16::MAX,
            }),
            t_cid: Some(Cid(u32::MAX)),
            t_xid: Some(Xid(u32::MAX)),
            t_xid8: Some(Xid8(u64::MAX)),
            t_pg_lsn: Some(PgLsn::from(u64::MAX)),
            t_regclass: Some(RegOid(u32::MAX)),
            t_int2vector: Some(Int2Vector(vec![i16::MIN, -1, i16::MAX])),
            t_oidvector: Some(OidVector(vec![u32::MAX, 0])),
            ..no_values()
        };
        let row = q::insert_catalog_values_with(&db, &extremes)
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        assert_eq!(row, row_of(row.id, extremes), "{pooler:?}");
        let text = q::get_catalog_text(&db, row.id)
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        let s = |text: &str| Some(text.to_string());
        assert_eq!(text.t_tid, s("(4294967295,65535)"));
        assert_eq!(text.t_xid8, s("18446744073709551615"));
        assert_eq!(text.t_pg_lsn, s("FFFFFFFF/FFFFFFFF"));
        assert_eq!(text.t_regclass, s("4294967295"));
        assert_eq!(text.t_int2vector, s("-32768 -1 32767"));
        assert_eq!(text.t_oidvector, s("4294967295 0"));

        // Non-finite coordinates survive too.
        let odd = q::InsertGeometryValuesParams {
            t_point: Some(pt(f64::INFINITY, f64::NEG_INFINITY)),
            t_circle: Some(Circle {
                center: pt(-0.0, 1e300),
                radius: f64::MAX,
            }),
            ..no_shapes()
        };
        let row = q::insert_geometry_values_with(&db, &odd)
            .await
            .unwrap_or_else(|e| panic!("{pooler:?}: {e:?}"));
        assert_eq!(row, shapes_row(row.id, odd), "{pooler:?}");
        let text = q::get_geometry_text(&db, row.id).await.ok();
        assert_eq!(
            text.and_then(|t| t.t_point),
            s("(Infinity,-Infinity)"),
            "{pooler:?}"
        );
    }
}
