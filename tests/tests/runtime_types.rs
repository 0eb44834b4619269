//! The runtime's PostgreSQL types against a real server, in the binary
//! format: every value is sent as a parameter and read back
//! (`SELECT $1::type`), and literals the server parses itself are decoded
//! and compared with the expected Rust value (`SELECT 'literal'::type`), so
//! the layouts are checked against PostgreSQL, not only against our own
//! encoder. Where a type has a `Display`, it is compared with the server's
//! `::text`.

use std::error::Error as StdError;
use std::fmt::Debug;

use quarry::chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use quarry::postgres_types::{Date as PgDate, Timestamp as PgTimestamp};
use quarry::rust_decimal::Decimal;
use quarry::types::{FromSql, Json, ToSql};
use quarry::{
    Interval, MacAddr8, Money, Multirange, Range, RangeBound, TimeTz, TsLexeme, TsOperand, TsQuery,
    TsQueryNode, TsVector, TsWeight, TsWeights, Xml,
};
use quarry_tests::TestDb;

type TestResult = Result<(), Box<dyn StdError>>;

/// A fresh database with a session set up for stable text forms.
async fn db(prefix: &str) -> TestDb {
    let db = TestDb::new(prefix).await;
    db.client
        .batch_execute(
            "SET TIME ZONE 'UTC'; SET IntervalStyle = 'postgres'; SET DateStyle = 'ISO, MDY'; \
             SET lc_monetary = 'C'; SET client_min_messages = 'warning'",
        )
        .await
        .unwrap_or_else(|e| panic!("session setup: {e:?}"));
    db
}

/// `SELECT $1::ty`, decoded.
async fn echo<T>(db: &TestDb, ty: &str, value: &T) -> T
where
    T: ToSql + Sync + Debug + for<'a> FromSql<'a>,
{
    let sql = format!("SELECT $1::{ty}");
    let row = db
        .client
        .query_one(&sql, &[value])
        .await
        .unwrap_or_else(|e| panic!("{sql} with {value:?}: {e:?}"));
    row.try_get(0)
        .unwrap_or_else(|e| panic!("{sql} with {value:?}: decode: {e:?}"))
}

/// Sends `value` as `ty` and expects it back unchanged.
async fn assert_echo<T>(db: &TestDb, ty: &str, value: T)
where
    T: ToSql + Sync + Debug + PartialEq + for<'a> FromSql<'a>,
{
    let back = echo(db, ty, &value).await;
    assert_eq!(back, value, "round trip through {ty}");
}

/// Sends `value` as `ty` and expects `canonical` back.
async fn assert_echo_as<T>(db: &TestDb, ty: &str, value: T, canonical: T)
where
    T: ToSql + Sync + Debug + PartialEq + for<'a> FromSql<'a>,
{
    let back = echo(db, ty, &value).await;
    assert_eq!(back, canonical, "round trip of {value:?} through {ty}");
}

/// `SELECT expr`, decoded (or the error).
async fn try_select<T>(db: &TestDb, expr: &str) -> Result<T, quarry::tokio_postgres::Error>
where
    T: for<'a> FromSql<'a>,
{
    let sql = format!("SELECT {expr}");
    let row = db
        .client
        .query_one(&sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    row.try_get(0)
}

/// `SELECT expr`, decoded.
async fn select<T>(db: &TestDb, expr: &str) -> T
where
    T: for<'a> FromSql<'a>,
{
    try_select(db, expr)
        .await
        .unwrap_or_else(|e| panic!("SELECT {expr}: decode: {e:?}"))
}

/// Decodes `'literal'::ty` and compares it with `expected`.
async fn assert_literal<T>(db: &TestDb, literal: &str, ty: &str, expected: T)
where
    T: Debug + PartialEq + for<'a> FromSql<'a>,
{
    let quoted = literal.replace('\'', "''");
    let got: T = select(db, &format!("'{quoted}'::{ty}")).await;
    assert_eq!(got, expected, "'{literal}'::{ty}");
}

/// The server's text form of `value` sent as `ty`.
async fn server_text<T: ToSql + Sync + Debug>(db: &TestDb, ty: &str, value: &T) -> String {
    let sql = format!("SELECT $1::{ty}::text");
    let row = db
        .client
        .query_one(&sql, &[value])
        .await
        .unwrap_or_else(|e| panic!("{sql} with {value:?}: {e:?}"));
    row.get(0)
}

/// Whether the server finds `value` (sent as `ty`) equal to `expr`.
async fn server_equals<T: ToSql + Sync + Debug>(
    db: &TestDb,
    ty: &str,
    value: &T,
    expr: &str,
) -> bool {
    let sql = format!("SELECT $1::{ty} = {expr}");
    let row = db
        .client
        .query_one(&sql, &[value])
        .await
        .unwrap_or_else(|e| panic!("{sql} with {value:?}: {e:?}"));
    row.get(0)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| panic!("date {y}-{m}-{d}"))
}

fn datetime(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> NaiveDateTime {
    date(y, mo, d)
        .and_hms_micro_opt(h, mi, s, us)
        .unwrap_or_else(|| panic!("time {h}:{mi}:{s}.{us}"))
}

fn inc<T>(v: T) -> RangeBound<T> {
    RangeBound::Inclusive(v)
}

fn exc<T>(v: T) -> RangeBound<T> {
    RangeBound::Exclusive(v)
}

fn range<T>(lower: RangeBound<T>, upper: RangeBound<T>) -> Range<T> {
    Range::new(lower, upper)
}

const UNB: RangeBound<i32> = RangeBound::Unbounded;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges() -> TestResult {
    let db = db("rt_ranges").await;

    // int4range: the server canonicalises to `[)`.
    assert_literal(&db, "[1,3]", "int4range", range(inc(1), exc(4))).await;
    assert_literal(&db, "(1,3)", "int4range", range(inc(2), exc(3))).await;
    assert_literal(&db, "empty", "int4range", Range::<i32>::Empty).await;
    assert_literal(&db, "[3,3)", "int4range", Range::<i32>::Empty).await;
    assert_literal(&db, "(,5]", "int4range", range(UNB, exc(6))).await;
    assert_literal(&db, "[-7,)", "int4range", range(inc(-7), UNB)).await;
    assert_literal(&db, "(,)", "int4range", Range::<i32>::unbounded()).await;
    assert_echo(&db, "int4range", range(inc(i32::MIN), exc(i32::MAX))).await;
    assert_echo(&db, "int4range", Range::<i32>::Empty).await;
    assert_echo(&db, "int4range", Range::<i32>::unbounded()).await;
    assert_echo(&db, "int4range", range(UNB, exc(0))).await;
    assert_echo_as(
        &db,
        "int4range",
        range(inc(1), inc(3)),
        range(inc(1), exc(4)),
    )
    .await;
    assert_echo_as(&db, "int4range", range(exc(5), exc(6)), Range::Empty).await;
    assert_eq!(
        server_text(&db, "int4range", &range(exc(0), UNB)).await,
        "[1,)"
    );

    // int8range
    assert_literal(&db, "[10,20]", "int8range", range(inc(10i64), exc(21))).await;
    assert_echo(
        &db,
        "int8range",
        range(inc(i64::MIN), RangeBound::Unbounded),
    )
    .await;

    // numrange: continuous, bounds kept as given.
    let num = |s: &str| -> Decimal { s.parse().unwrap_or_else(|e| panic!("{s}: {e}")) };
    assert_literal(
        &db,
        "(1.5,2.25]",
        "numrange",
        range(exc(num("1.5")), inc(num("2.25"))),
    )
    .await;
    assert_echo(
        &db,
        "numrange",
        range(
            inc(num("-12345678901234567890.123456789")),
            exc(num("0.000001")),
        ),
    )
    .await;
    assert_echo(&db, "numrange", range(inc(num("3")), inc(num("3")))).await;

    // daterange
    assert_literal(
        &db,
        "[2024-01-01,2024-01-31]",
        "daterange",
        range(inc(date(2024, 1, 1)), exc(date(2024, 2, 1))),
    )
    .await;
    assert_echo(
        &db,
        "daterange",
        range(RangeBound::Unbounded, exc(date(1999, 12, 31))),
    )
    .await;

    // tsrange / tstzrange, with microseconds.
    let ts = range(
        inc(datetime(2024, 2, 29, 10, 0, 0, 1)),
        exc(datetime(2024, 3, 1, 0, 0, 0, 0)),
    );
    assert_literal(
        &db,
        "[2024-02-29 10:00:00.000001,2024-03-01)",
        "tsrange",
        ts,
    )
    .await;
    assert_echo(&db, "tsrange", ts).await;
    let tz = ts.map(|t| t.and_utc());
    assert_literal(
        &db,
        "[2024-02-29 11:00:00.000001+01,2024-03-01 00:00:00+00)",
        "tstzrange",
        tz,
    )
    .await;
    assert_echo(&db, "tstzrange", tz).await;

    // An `infinity` bound is a value, not a missing bound: plain chrono
    // cannot hold it (an error, not a panic), postgres-types' `Date` and
    // `Timestamp` can.
    let err = try_select::<Range<NaiveDateTime>>(&db, "'[2024-01-01,infinity)'::tsrange").await;
    assert!(err.is_err(), "infinity bound decoded as {err:?}");
    assert_literal(
        &db,
        "[-infinity,infinity)",
        "tsrange",
        range(
            inc(PgTimestamp::<NaiveDateTime>::NegInfinity),
            exc(PgTimestamp::PosInfinity),
        ),
    )
    .await;
    assert_echo(
        &db,
        "tstzrange",
        range(
            inc(PgTimestamp::Value(DateTime::<Utc>::UNIX_EPOCH)),
            inc(PgTimestamp::PosInfinity),
        ),
    )
    .await;
    assert_literal(
        &db,
        "[2024-01-01,infinity]",
        "daterange",
        range(
            inc(PgDate::Value(date(2024, 1, 1))),
            inc(PgDate::PosInfinity),
        ),
    )
    .await;

    // A user-defined range type over float8.
    db.client
        .batch_execute("CREATE TYPE floatrange AS RANGE (subtype = float8)")
        .await?;
    assert_literal(&db, "[1.5,2.5]", "floatrange", range(inc(1.5f64), inc(2.5))).await;
    assert_echo(
        &db,
        "floatrange",
        range(exc(f64::NEG_INFINITY), RangeBound::Unbounded),
    )
    .await;

    // Arrays of ranges.
    assert_literal(
        &db,
        "{\"[1,2)\",empty,\"(,)\"}",
        "int4range[]",
        vec![range(inc(1), exc(2)), Range::Empty, Range::unbounded()],
    )
    .await;
    assert_echo_as(
        &db,
        "int8range[]",
        vec![Range::<i64>::Empty, range(exc(1), inc(9))],
        vec![Range::Empty, range(inc(2), exc(10))],
    )
    .await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiranges() -> TestResult {
    let db = db("rt_multiranges").await;

    assert_literal(
        &db,
        "{[1,3), [5,7]}",
        "int4multirange",
        Multirange(vec![range(inc(1), exc(3)), range(inc(5), exc(8))]),
    )
    .await;
    assert_literal(&db, "{}", "int4multirange", Multirange::<i32>::default()).await;
    // Sorted, merged, empty ranges dropped.
    assert_literal(
        &db,
        "{[3,5), empty, [1,3), [10,)}",
        "int8multirange",
        Multirange(vec![
            range(inc(1i64), exc(5)),
            range(inc(10), RangeBound::Unbounded),
        ]),
    )
    .await;
    assert_echo(
        &db,
        "int4multirange",
        Multirange(vec![
            range(UNB, exc(-5)),
            range(inc(0), exc(1)),
            range(inc(9), UNB),
        ]),
    )
    .await;
    assert_echo(&db, "int4multirange", Multirange::<i32>::default()).await;
    assert_echo_as(
        &db,
        "int4multirange",
        Multirange(vec![
            range(inc(3), exc(5)),
            Range::Empty,
            range(inc(1), inc(2)),
        ]),
        Multirange(vec![range(inc(1), exc(5))]),
    )
    .await;
    assert_echo(
        &db,
        "datemultirange",
        Multirange(vec![
            range(inc(date(2024, 1, 1)), exc(date(2024, 1, 8))),
            range(inc(date(2024, 2, 1)), RangeBound::Unbounded),
        ]),
    )
    .await;
    assert_literal(
        &db,
        "{[1.5,2), (3,4.25]}",
        "nummultirange",
        Multirange(vec![
            range(inc(Decimal::new(15, 1)), exc(Decimal::new(2, 0))),
            range(exc(Decimal::new(3, 0)), inc(Decimal::new(425, 2))),
        ]),
    )
    .await;
    let t0 = datetime(2020, 1, 1, 0, 0, 0, 0);
    assert_echo(
        &db,
        "tsmultirange",
        Multirange(vec![range(inc(t0), exc(datetime(2020, 1, 1, 0, 0, 0, 1)))]),
    )
    .await;
    assert_echo(
        &db,
        "tstzmultirange",
        Multirange(vec![range(RangeBound::Unbounded, inc(t0.and_utc()))]),
    )
    .await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intervals() -> TestResult {
    let db = db("rt_intervals").await;
    const H: i64 = 3_600_000_000;

    assert_literal(
        &db,
        "1 year 2 months 3 days 04:05:06.789",
        "interval",
        Interval::new(14, 3, 4 * H + 5 * 60_000_000 + 6_789_000),
    )
    .await;
    assert_literal(
        &db,
        "-1 mons +2 days -00:00:01",
        "interval",
        Interval::new(-1, 2, -1_000_000),
    )
    .await;
    assert_literal(&db, "36 hours", "interval", Interval::new(0, 0, 36 * H)).await;
    assert_literal(&db, "0", "interval", Interval::default()).await;
    assert_literal(
        &db,
        "1.000001 seconds",
        "interval",
        Interval::new(0, 0, 1_000_001),
    )
    .await;

    for i in [
        Interval::default(),
        Interval::new(14, 3, 14_706_500_000),
        Interval::new(-14, -3, -1),
        Interval::new(1, -1, 1),
        Interval::new(0, -1, 3_600_000_000),
        Interval::new(0, 1, -1),
        Interval::new(-13, 0, 0),
        Interval::new(0, 0, 100 * H),
        Interval::new(i32::MAX - 1, i32::MIN + 1, i64::MIN + 1),
        Interval::new(0, 0, 59_999_999),
    ] {
        assert_echo(&db, "interval", i).await;
        assert_eq!(
            server_text(&db, "interval", &i).await,
            i.to_string(),
            "{i:?}"
        );
    }
    assert_echo(
        &db,
        "interval[]",
        vec![Interval::new(1, 2, 3), Interval::new(-1, -2, -3)],
    )
    .await;

    // Durations through chrono, time and jiff.
    let i = Interval::try_from(quarry::chrono::Duration::milliseconds(90_061_001))?;
    assert!(server_equals(&db, "interval", &i, "'1 day 01:01:01.001'::interval").await);
    let i = Interval::try_from(quarry::time::Duration::seconds(-90))?;
    assert_eq!(server_text(&db, "interval", &i).await, "-00:01:30");
    let i = Interval::try_from(quarry::jiff::SignedDuration::from_micros(1))?;
    assert_eq!(server_text(&db, "interval", &i).await, "00:00:00.000001");
    let back: Interval = select(&db, "'2 days 3 hours'::interval").await;
    assert_eq!(
        quarry::chrono::Duration::try_from(back)?,
        quarry::chrono::Duration::hours(51)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_macaddr8_xml_json() -> TestResult {
    let db = db("rt_scalars").await;

    // money (lc_monetary = C: two decimals)
    assert_literal(&db, "12.34", "money", Money(1234)).await;
    assert_literal(&db, "-12.34", "money", Money(-1234)).await;
    assert_literal(&db, "-0.05", "money", Money(-5)).await;
    assert_literal(&db, "0", "money", Money(0)).await;
    for m in [
        Money(1234),
        Money(-1234),
        Money(-5),
        Money(i64::MAX),
        Money(i64::MIN),
    ] {
        assert_echo(&db, "money", m).await;
    }
    assert_eq!(
        select::<Money>(&db, "'92233720368547758.07'::money").await,
        Money(i64::MAX)
    );
    // The server prints a currency symbol; the rest matches `Display`.
    assert_eq!(server_text(&db, "money", &Money(-1234)).await, "-$12.34");
    assert_eq!(Money(-1234).to_string(), "-12.34");
    assert!(server_equals(&db, "money", &Money(1050), "'10.50'::money").await);

    // macaddr8 (and a 6-byte address widened with ff:fe)
    let mac = MacAddr8([0x08, 0x00, 0x2b, 0x01, 0x02, 0x03, 0x04, 0x05]);
    assert_literal(&db, "08:00:2b:01:02:03:04:05", "macaddr8", mac).await;
    assert_literal(
        &db,
        "08-00-2b-01-02-03",
        "macaddr8",
        MacAddr8([0x08, 0x00, 0x2b, 0xff, 0xfe, 0x01, 0x02, 0x03]),
    )
    .await;
    assert_echo(&db, "macaddr8", mac).await;
    assert_echo(&db, "macaddr8", MacAddr8([0xff; 8])).await;
    assert_eq!(server_text(&db, "macaddr8", &mac).await, mac.to_string());

    // xml
    let doc = Xml::from("<doc a=\"1\">héllo &amp; <b>wörld</b></doc>");
    assert_literal(&db, doc.as_str(), "xml", doc.clone()).await;
    assert_echo(&db, "xml", doc.clone()).await;
    assert_echo(&db, "xml", Xml::from("just text, a content fragment")).await;

    // json / jsonb through serde types (`quarry::types::Json`)
    assert_literal(&db, "[1, 2, 3]", "jsonb", Json(vec![1, 2, 3])).await;
    assert_echo(&db, "json", Json(vec!["a".to_owned(), "ü".to_owned()])).await;
    let Json(map): Json<std::collections::BTreeMap<String, Option<i64>>> =
        select(&db, "'{\"b\": null, \"a\": 1}'::jsonb").await;
    assert_eq!(map.get("a"), Some(&Some(1)));
    assert_eq!(map.get("b"), Some(&None));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_and_bit_strings() -> TestResult {
    let db = db("rt_network").await;
    use quarry::bit_vec::BitVec;
    use quarry::cidr::{IpCidr, IpInet};
    use quarry::eui48::MacAddress;

    let inet: IpInet = "192.168.0.1/24".parse()?;
    assert_literal(&db, "192.168.0.1/24", "inet", inet).await;
    assert_echo(&db, "inet", inet).await;
    let host: IpInet = "2001:db8::1".parse()?;
    assert_literal(&db, "2001:db8::1", "inet", host).await;
    assert_echo(&db, "inet", host).await;
    let net: IpCidr = "10.0.0.0/8".parse()?;
    assert_literal(&db, "10/8", "cidr", net).await;
    assert_echo(&db, "cidr", net).await;
    let net6: IpCidr = "2001:db8::/32".parse()?;
    assert_echo(&db, "cidr", net6).await;

    let mac = MacAddress::new([0x08, 0x00, 0x2b, 0x01, 0x02, 0x03]);
    assert_literal(&db, "08:00:2b:01:02:03", "macaddr", mac).await;
    assert_echo(&db, "macaddr", mac).await;

    let bits = |s: &str| -> BitVec { s.chars().map(|c| c == '1').collect() };
    assert_literal(&db, "10110", "bit(5)", bits("10110")).await;
    assert_literal(&db, "1011001", "varbit", bits("1011001")).await;
    assert_literal(&db, "", "varbit", bits("")).await;
    for b in ["1", "1011001", "1111111110000000011", "0000000000000"] {
        assert_echo(&db, "varbit", bits(b)).await;
        assert_eq!(server_text(&db, "varbit", &bits(b)).await, b);
    }
    assert_echo(&db, "bit(13)", bits("1010101010101")).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timetz() -> TestResult {
    let db = db("rt_timetz").await;
    let t = |h, m, s, us, east| {
        TimeTz::new(
            NaiveTime::from_hms_micro_opt(h, m, s, us).unwrap_or_else(|| panic!("time")),
            FixedOffset::east_opt(east).unwrap_or_else(|| panic!("offset")),
        )
    };

    assert_literal(
        &db,
        "12:34:56.789+05:30",
        "timetz",
        t(12, 34, 56, 789_000, 5 * 3600 + 1800),
    )
    .await;
    assert_literal(&db, "04:05:06-08", "timetz", t(4, 5, 6, 0, -8 * 3600)).await;
    assert_literal(&db, "00:00:00+00", "timetz", t(0, 0, 0, 0, 0)).await;
    for v in [
        t(12, 34, 56, 789_000, 5 * 3600 + 1800),
        t(23, 59, 59, 999_999, -(15 * 3600 + 59 * 60)),
        t(0, 0, 0, 1, 15 * 3600 + 59 * 60 + 59),
        t(1, 2, 3, 0, -(3600 + 2 * 60 + 3)),
    ] {
        assert_echo(&db, "timetz", v).await;
        assert_eq!(server_text(&db, "timetz", &v).await, v.to_string());
    }
    // 24:00:00 is valid in PostgreSQL but has no NaiveTime: an error.
    let err = try_select::<TimeTz>(&db, "'24:00:00+00'::timetz").await;
    assert!(err.is_err(), "24:00 decoded as {err:?}");
    Ok(())
}

fn w(word: &str) -> TsQueryNode {
    TsQueryNode::word(word)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_search() -> TestResult {
    let db = db("rt_text_search").await;

    // tsvector: lexemes sorted and merged by the server, positions and weights.
    let v = TsVector::new([
        TsLexeme::new("cat").with_position(1, TsWeight::A),
        TsLexeme::new("fat")
            .with_position(2, TsWeight::D)
            .with_position(4, TsWeight::B),
        TsLexeme::new("it's"),
        TsLexeme::new("rat").with_position(16383, TsWeight::C),
    ]);
    assert_literal(
        &db,
        "fat:2,4B cat:1A 'it''s' rat:16383C",
        "tsvector",
        v.clone(),
    )
    .await;
    assert_echo(&db, "tsvector", v.clone()).await;
    assert_eq!(server_text(&db, "tsvector", &v).await, v.to_string());
    assert_eq!(v.to_string(), "'cat':1A 'fat':2,4B 'it''s' 'rat':16383C");
    assert_literal(&db, "", "tsvector", TsVector::default()).await;
    assert_echo(&db, "tsvector", TsVector::default()).await;
    let odd = TsVector::new([
        TsLexeme::new("back\\slash").with_position(1, TsWeight::B),
        TsLexeme::new("naïve"),
        TsLexeme::new("日本語").with_position(3, TsWeight::D),
    ]);
    assert_echo(&db, "tsvector", odd.clone()).await;
    assert_eq!(server_text(&db, "tsvector", &odd).await, odd.to_string());
    let parsed: TsVector = select(
        &db,
        "to_tsvector('english', 'The fat cats sat on the mat; the fat cat')",
    )
    .await;
    assert_eq!(
        parsed,
        TsVector::new([
            TsLexeme::new("cat")
                .with_position(3, TsWeight::D)
                .with_position(10, TsWeight::D),
            TsLexeme::new("fat")
                .with_position(2, TsWeight::D)
                .with_position(9, TsWeight::D),
            TsLexeme::new("mat").with_position(7, TsWeight::D),
            TsLexeme::new("sat").with_position(4, TsWeight::D),
        ])
    );

    // tsquery: every operator, prefix and weights.
    assert_literal(
        &db,
        "fat & (rat | cat)",
        "tsquery",
        TsQuery::new(w("fat") & (w("rat") | w("cat"))),
    )
    .await;
    assert_literal(
        &db,
        "!cat & dog",
        "tsquery",
        TsQuery::new(!w("cat") & w("dog")),
    )
    .await;
    assert_literal(
        &db,
        "a <-> b <2> c",
        "tsquery",
        TsQuery::new(w("a").followed_by(w("b")).followed_at(2, w("c"))),
    )
    .await;
    assert_literal(
        &db,
        "super:*AB | 'it''s':C",
        "tsquery",
        TsQuery::new(
            TsQueryNode::from(
                TsOperand::new("super")
                    .with_prefix()
                    .with_weights(TsWeights::only(TsWeight::A).with(TsWeight::B)),
            ) | TsOperand::new("it's")
                .with_weights(TsWeights::only(TsWeight::C))
                .into(),
        ),
    )
    .await;
    assert_literal(
        &db,
        "a & b & c",
        "tsquery",
        TsQuery::new(w("a") & w("b") & w("c")),
    )
    .await;
    assert_literal(&db, "", "tsquery", TsQuery::empty()).await;
    assert_eq!(
        select::<TsQuery>(&db, "to_tsquery('english', 'The & Cats')").await,
        TsQuery::new(w("cat"))
    );
    assert_eq!(
        select::<TsQuery>(&db, "phraseto_tsquery('english', 'fat cats')").await,
        TsQuery::new(w("fat").followed_by(w("cat")))
    );

    // The server sends an empty tsquery but does not receive one: the
    // encoder says so instead of sending it.
    let err = db
        .client
        .query_one("SELECT $1::tsquery", &[&TsQuery::empty()])
        .await
        .err()
        .map(|e| format!("{e:?}"));
    assert!(
        err.as_deref().is_some_and(|e| e.contains("empty tsquery")),
        "{err:?}"
    );

    let queries = [
        TsQuery::new(w("cat")),
        TsQuery::new(!w("cat")),
        TsQuery::new(w("fat") & (w("rat") | w("cat"))),
        TsQuery::new((w("fat") & w("rat")) | !w("cat")),
        TsQuery::new(w("a") & (w("b") & w("c"))),
        TsQuery::new(!(w("a") | w("b"))),
        TsQuery::new(w("a").followed_by(w("b").followed_at(0, w("c")))),
        TsQuery::new(w("a").followed_at(16384, w("b"))),
        TsQuery::new(w("x").followed_by(w("y") & w("z")) | w("q")),
        TsQuery::new(
            TsQueryNode::from(
                TsOperand::new("star").with_prefix().with_weights(
                    TsWeights::only(TsWeight::A)
                        .with(TsWeight::C)
                        .with(TsWeight::D),
                ),
            ) & !w("it's"),
        ),
        TsQuery::new(w("back\\slash") & w("ü")),
    ];
    for q in queries {
        assert_echo(&db, "tsquery", q.clone()).await;
        assert_eq!(
            server_text(&db, "tsquery", &q).await,
            q.to_string(),
            "{q:?}"
        );
    }

    // Matching uses the decoded/encoded values consistently.
    let row = db
        .client
        .query_one(
            "SELECT $1::tsvector @@ $2::tsquery",
            &[&v, &TsQuery::new(w("fat") & !w("dog"))],
        )
        .await?;
    assert!(row.get::<_, bool>(0));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chrono_dates_times_and_infinity() -> TestResult {
    let db = db("rt_chrono").await;

    for d in [
        date(2024, 2, 29),
        date(1999, 12, 31),
        date(2000, 1, 1),
        date(1, 1, 1),
    ] {
        assert_echo(&db, "date", d).await;
    }
    assert_literal(&db, "4713-11-24 BC", "date", date(-4712, 11, 24)).await;
    let t = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap_or_else(|| panic!("t"));
    assert_literal(&db, "23:59:59.999999", "time", t).await;
    assert_echo(&db, "time", t).await;
    let ts = datetime(2024, 2, 29, 12, 34, 56, 789_012);
    assert_literal(&db, "2024-02-29 12:34:56.789012", "timestamp", ts).await;
    assert_echo(&db, "timestamp", ts).await;
    assert_literal(
        &db,
        "2024-02-29 14:34:56.789012+02",
        "timestamptz",
        ts.and_utc(),
    )
    .await;
    assert_echo(&db, "timestamptz", ts.and_utc()).await;

    // Plain chrono types refuse infinity with an error, not a panic.
    for expr in ["'infinity'::date", "'-infinity'::date"] {
        let r = try_select::<NaiveDate>(&db, expr).await;
        assert!(r.is_err(), "{expr} decoded as {r:?}");
    }
    for expr in ["'infinity'::timestamp", "'-infinity'::timestamp"] {
        let r = try_select::<NaiveDateTime>(&db, expr).await;
        assert!(r.is_err(), "{expr} decoded as {r:?}");
    }
    for expr in ["'infinity'::timestamptz", "'-infinity'::timestamptz"] {
        let r = try_select::<DateTime<Utc>>(&db, expr).await;
        assert!(r.is_err(), "{expr} decoded as {r:?}");
    }

    // postgres-types' `Date` and `Timestamp` read and write them.
    type D = PgDate<NaiveDate>;
    type Ts = PgTimestamp<NaiveDateTime>;
    type Tz = PgTimestamp<DateTime<Utc>>;
    assert_literal(&db, "infinity", "date", D::PosInfinity).await;
    assert_literal(&db, "-infinity", "date", D::NegInfinity).await;
    assert_literal(&db, "2024-02-29", "date", D::Value(date(2024, 2, 29))).await;
    assert_literal(&db, "infinity", "timestamp", Ts::PosInfinity).await;
    assert_literal(&db, "-infinity", "timestamptz", Tz::NegInfinity).await;
    for v in [D::PosInfinity, D::NegInfinity, D::Value(date(1970, 1, 1))] {
        assert_echo(&db, "date", v).await;
    }
    assert!(server_equals(&db, "date", &D::PosInfinity, "'infinity'::date").await);
    assert!(server_equals(&db, "date", &D::NegInfinity, "'-infinity'::date").await);
    assert!(server_equals(&db, "timestamp", &Ts::PosInfinity, "'infinity'::timestamp").await);
    assert!(
        server_equals(
            &db,
            "timestamptz",
            &Tz::NegInfinity,
            "'-infinity'::timestamptz"
        )
        .await
    );
    for v in [Ts::PosInfinity, Ts::NegInfinity, Ts::Value(ts)] {
        assert_echo(&db, "timestamp", v).await;
    }
    for v in [Tz::PosInfinity, Tz::NegInfinity, Tz::Value(ts.and_utc())] {
        assert_echo(&db, "timestamptz", v).await;
    }
    assert_literal(
        &db,
        "{infinity,2000-01-01,-infinity}",
        "date[]",
        vec![D::PosInfinity, D::Value(date(2000, 1, 1)), D::NegInfinity],
    )
    .await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_crate() -> TestResult {
    use quarry::time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
    let db = db("rt_time").await;

    let d = Date::from_calendar_date(2024, Month::February, 29)?;
    let t = Time::from_hms_micro(12, 34, 56, 789_012)?;
    let ts = PrimitiveDateTime::new(d, t);
    let tz = ts.assume_utc();
    assert_literal(&db, "2024-02-29", "date", d).await;
    assert_literal(&db, "12:34:56.789012", "time", t).await;
    assert_literal(&db, "2024-02-29 12:34:56.789012", "timestamp", ts).await;
    assert_literal(&db, "2024-02-29 14:34:56.789012+02", "timestamptz", tz).await;
    assert_echo(&db, "date", d).await;
    assert_echo(
        &db,
        "date",
        Date::from_calendar_date(1999, Month::December, 31)?,
    )
    .await;
    assert_echo(&db, "time", t).await;
    assert_echo(&db, "time", Time::MIDNIGHT).await;
    assert_echo(&db, "timestamp", ts).await;
    assert_echo(&db, "timestamptz", tz).await;
    // Another offset is the same instant.
    let east = tz.to_offset(UtcOffset::from_hms(5, 30, 0)?);
    assert_eq!(echo(&db, "timestamptz", &east).await, tz);
    assert_echo(&db, "timestamptz", OffsetDateTime::UNIX_EPOCH).await;

    assert!(try_select::<Date>(&db, "'infinity'::date").await.is_err());
    assert!(
        try_select::<PrimitiveDateTime>(&db, "'-infinity'::timestamp")
            .await
            .is_err()
    );
    assert!(try_select::<OffsetDateTime>(&db, "'infinity'::timestamptz")
        .await
        .is_err());
    assert_literal(&db, "infinity", "date", PgDate::<Date>::PosInfinity).await;
    assert_echo(
        &db,
        "timestamptz",
        PgTimestamp::<OffsetDateTime>::NegInfinity,
    )
    .await;
    assert_echo(&db, "timestamp", PgTimestamp::Value(ts)).await;
    assert_echo(&db, "daterange", range(inc(d), RangeBound::Unbounded)).await;
    assert_literal(
        &db,
        "[2024-02-29 12:34:56.789012,)",
        "tsrange",
        range(inc(ts), RangeBound::Unbounded),
    )
    .await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jiff_crate() -> TestResult {
    use quarry::jiff::civil::{self, Date, DateTime as CivilDateTime, Time};
    use quarry::jiff::Timestamp;
    let db = db("rt_jiff").await;

    let d = civil::date(2024, 2, 29);
    let t = civil::time(12, 34, 56, 789_012_000);
    let ts = civil::datetime(2024, 2, 29, 12, 34, 56, 789_012_000);
    let tz = Timestamp::from_microsecond(1_709_210_096_789_012)?;
    assert_literal(&db, "2024-02-29", "date", d).await;
    assert_literal(&db, "12:34:56.789012", "time", t).await;
    assert_literal(&db, "2024-02-29 12:34:56.789012", "timestamp", ts).await;
    assert_literal(&db, "2024-02-29 14:34:56.789012+02", "timestamptz", tz).await;
    assert_echo(&db, "date", d).await;
    assert_echo(&db, "date", civil::date(1, 1, 1)).await;
    assert_echo(&db, "time", t).await;
    assert_echo(&db, "time", Time::midnight()).await;
    assert_echo(&db, "timestamp", ts).await;
    assert_echo(&db, "timestamptz", tz).await;
    assert_echo(&db, "timestamptz", Timestamp::UNIX_EPOCH).await;

    assert!(try_select::<Date>(&db, "'-infinity'::date").await.is_err());
    assert!(try_select::<CivilDateTime>(&db, "'infinity'::timestamp")
        .await
        .is_err());
    assert!(try_select::<Timestamp>(&db, "'-infinity'::timestamptz")
        .await
        .is_err());
    assert_literal(&db, "-infinity", "date", PgDate::<Date>::NegInfinity).await;
    assert_echo(&db, "timestamptz", PgTimestamp::<Timestamp>::PosInfinity).await;
    assert_echo(&db, "timestamp", PgTimestamp::Value(ts)).await;
    assert_echo(
        &db,
        "tstzrange",
        range(exc(tz), inc(Timestamp::from_second(2_000_000_000)?)),
    )
    .await;
    assert_echo(
        &db,
        "datemultirange",
        Multirange(vec![range(inc(d), exc(civil::date(2024, 3, 2)))]),
    )
    .await;
    Ok(())
}
