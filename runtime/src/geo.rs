//! PostgreSQL's geometric types: [`Point`], [`Line`], [`LineSegment`],
//! [`Rect`] (`box`), [`Path`], [`Polygon`] and [`Circle`], in the binary
//! format of the server's `*_send`/`*_recv` functions (big-endian
//! `float8`s).
//!
//! Each type accepts exactly its PostgreSQL type. Coordinates are `f64`, so
//! the types are `PartialEq` but neither `Eq` nor `Hash`; the fixed-size
//! ones are `Copy`.

use bytes::{BufMut, BytesMut};
use postgres_types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::wire::{count, BoxError, Reader};

/// A PostgreSQL `point`: `(x,y)`.
///
/// ```
/// let origin = quarry::geo::Point { x: 0.0, y: 0.0 };
/// assert_eq!(origin, quarry::geo::Point::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// The x coordinate.
    pub x: f64,
    /// The y coordinate.
    pub y: f64,
}

/// A PostgreSQL `line`: the infinite line `a·x + b·y + c = 0` (`{a,b,c}`).
/// The server rejects a line whose `a` and `b` are both zero.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Line {
    /// The coefficient of x.
    pub a: f64,
    /// The coefficient of y.
    pub b: f64,
    /// The constant term.
    pub c: f64,
}

/// A PostgreSQL `lseg`: the line segment between two points.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LineSegment {
    /// The first end point.
    pub start: Point,
    /// The second end point.
    pub end: Point,
}

/// A PostgreSQL `box`: a rectangle by two opposite corners. The server
/// stores the upper right corner as `high` and the lower left as `low`,
/// swapping coordinates as needed, so a box read back is normalised.
///
/// Named `Rect` rather than `Box` so that `use quarry::geo::*` does not
/// shadow `std::boxed::Box`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    /// The upper right corner.
    pub high: Point,
    /// The lower left corner.
    pub low: Point,
}

/// A PostgreSQL `path`: points joined by segments, open (`[…]`) or closed
/// (`(…)`, the last point joined to the first). The server rejects a path
/// without points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Path {
    /// Whether the last point connects back to the first.
    pub closed: bool,
    /// The points, in order.
    pub points: Vec<Point>,
}

/// A PostgreSQL `polygon`: a closed figure by its vertices (the server
/// computes its bounding box). The server rejects a polygon without points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Polygon {
    /// The vertices, in order.
    pub points: Vec<Point>,
}

/// A PostgreSQL `circle`: `<(x,y),r>`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Circle {
    /// The center.
    pub center: Point,
    /// The radius (not negative: the server rejects a negative one).
    pub radius: f64,
}

impl Point {
    fn read(r: &mut Reader<'_>) -> Result<Self, BoxError> {
        Ok(Point {
            x: r.f64()?,
            y: r.f64()?,
        })
    }

    fn write(self, out: &mut BytesMut) {
        out.put_f64(self.x);
        out.put_f64(self.y);
    }
}

/// Reads a count of points and the points (after what precedes them).
fn read_points(r: &mut Reader<'_>, available: usize) -> Result<Vec<Point>, BoxError> {
    let n = r.len()?;
    let mut points = Vec::with_capacity(n.min(available / 16));
    for _ in 0..n {
        points.push(Point::read(r)?);
    }
    Ok(points)
}

fn write_points(points: &[Point], out: &mut BytesMut) -> Result<(), BoxError> {
    out.reserve(4 + 16 * points.len());
    out.put_i32(count(points.len())?);
    for point in points {
        point.write(out);
    }
    Ok(())
}

/// `FromSql`/`ToSql` for a geometric type from its read and write bodies.
macro_rules! geo_sql {
    ($name:ident, $pg:literal, $ty:ident, |$r:ident, $raw:ident| $read:expr, |$v:ident, $out:ident| $write:expr) => {
        impl<'a> FromSql<'a> for $name {
            fn from_sql(_: &Type, $raw: &'a [u8]) -> Result<Self, BoxError> {
                let mut $r = Reader::new($raw, $pg);
                let value = $read;
                $r.finish()?;
                Ok(value)
            }

            accepts!($ty);
        }

        impl ToSql for $name {
            fn to_sql(&self, _: &Type, $out: &mut BytesMut) -> Result<IsNull, BoxError> {
                let $v = self;
                $write;
                Ok(IsNull::No)
            }

            accepts!($ty);
            to_sql_checked!();
        }
    };
}

geo_sql!(
    Point,
    "point",
    POINT,
    |r, _raw| Point::read(&mut r)?,
    |v, out| v.write(out)
);

geo_sql!(
    Line,
    "line",
    LINE,
    |r, _raw| Line {
        a: r.f64()?,
        b: r.f64()?,
        c: r.f64()?
    },
    |v, out| {
        out.put_f64(v.a);
        out.put_f64(v.b);
        out.put_f64(v.c);
    }
);

geo_sql!(
    LineSegment,
    "lseg",
    LSEG,
    |r, _raw| LineSegment {
        start: Point::read(&mut r)?,
        end: Point::read(&mut r)?
    },
    |v, out| {
        v.start.write(out);
        v.end.write(out);
    }
);

geo_sql!(
    Rect,
    "box",
    BOX,
    |r, _raw| Rect {
        high: Point::read(&mut r)?,
        low: Point::read(&mut r)?
    },
    |v, out| {
        v.high.write(out);
        v.low.write(out);
    }
);

geo_sql!(
    Path,
    "path",
    PATH,
    |r, raw| Path {
        closed: match r.u8()? {
            0 => false,
            1 => true,
            other => return Err(format!("invalid path value: closed flag {other}").into()),
        },
        points: read_points(&mut r, raw.len())?
    },
    |v, out| {
        out.put_u8(u8::from(v.closed));
        write_points(&v.points, out)?;
    }
);

geo_sql!(
    Polygon,
    "polygon",
    POLYGON,
    |r, raw| Polygon {
        points: read_points(&mut r, raw.len())?
    },
    |v, out| write_points(&v.points, out)?
);

geo_sql!(
    Circle,
    "circle",
    CIRCLE,
    |r, _raw| Circle {
        center: Point::read(&mut r)?,
        radius: r.f64()?
    },
    |v, out| {
        v.center.write(out);
        out.put_f64(v.radius);
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types_test::{encode, roundtrip};

    fn floats(values: &[f64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    const P: Point = Point { x: 1.5, y: -2.0 };
    const Q: Point = Point { x: 3.0, y: 4.0 };

    #[test]
    fn fixed_size_shapes_are_their_floats_in_order() {
        assert_eq!(encode(&P, &Type::POINT), floats(&[1.5, -2.0]));
        let line = Line {
            a: 1.0,
            b: -1.0,
            c: 0.5,
        };
        assert_eq!(encode(&line, &Type::LINE), floats(&[1.0, -1.0, 0.5]));
        let lseg = LineSegment { start: P, end: Q };
        assert_eq!(encode(&lseg, &Type::LSEG), floats(&[1.5, -2.0, 3.0, 4.0]));
        let rect = Rect { high: Q, low: P };
        assert_eq!(encode(&rect, &Type::BOX), floats(&[3.0, 4.0, 1.5, -2.0]));
        let circle = Circle {
            center: P,
            radius: 2.0,
        };
        assert_eq!(encode(&circle, &Type::CIRCLE), floats(&[1.5, -2.0, 2.0]));
        assert_eq!(roundtrip(&P, &Type::POINT), P);
        assert_eq!(roundtrip(&line, &Type::LINE), line);
        assert_eq!(roundtrip(&lseg, &Type::LSEG), lseg);
        assert_eq!(roundtrip(&rect, &Type::BOX), rect);
        assert_eq!(roundtrip(&circle, &Type::CIRCLE), circle);
        assert!(Point::from_sql(&Type::POINT, &[0; 15]).is_err());
        assert!(Circle::from_sql(&Type::CIRCLE, &[0; 32]).is_err());
        assert!(!<Point as ToSql>::accepts(&Type::BOX));
        assert!(!<Rect as FromSql>::accepts(&Type::LSEG));
    }

    #[test]
    fn paths_and_polygons_count_their_points() {
        let path = Path {
            closed: true,
            points: vec![P, Q],
        };
        let mut expected = vec![1, 0, 0, 0, 2];
        expected.extend(floats(&[1.5, -2.0, 3.0, 4.0]));
        assert_eq!(encode(&path, &Type::PATH), expected);
        assert_eq!(roundtrip(&path, &Type::PATH), path);
        let open = Path {
            closed: false,
            ..path.clone()
        };
        assert_eq!(roundtrip(&open, &Type::PATH), open);
        let polygon = Polygon { points: vec![P] };
        let mut expected = vec![0, 0, 0, 1];
        expected.extend(floats(&[1.5, -2.0]));
        assert_eq!(encode(&polygon, &Type::POLYGON), expected);
        assert_eq!(roundtrip(&polygon, &Type::POLYGON), polygon);
        // A bad closed flag, a huge count without data, trailing bytes.
        assert!(Path::from_sql(&Type::PATH, &[2, 0, 0, 0, 0]).is_err());
        assert!(Polygon::from_sql(&Type::POLYGON, &i32::MAX.to_be_bytes()).is_err());
        assert!(Polygon::from_sql(&Type::POLYGON, &[0, 0, 0, 0, 0]).is_err());
        assert!(!<Polygon as ToSql>::accepts(&Type::PATH));
    }
}
