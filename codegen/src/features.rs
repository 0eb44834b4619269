//! Runtime features: which cargo feature of `quarry` a generated type needs.
//!
//! Type codecs beyond the defaults (`inet` through the cidr crate, `macaddr`,
//! bit strings, text search, the `time`/`jiff` date types) sit behind cargo
//! features of the runtime crate. Generated code that uses one does not
//! compile without it, and the compiler's message (`could not find `cidr` in
//! `quarry``) does not say what to do. This stage reads the finished IR and
//! warns, at the query, about every feature its parameters and columns need
//! (through arrays, ranges, composite fields and domains) that the
//! configuration's `runtime_features` does not declare. No IO.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::RuntimeFeatures;
use crate::diagnostic::{Diagnostic, Location};
use crate::ir::{CheckedQuery, Project, RowRef};
use crate::typemap::{RustType, UserType};

/// One column or parameter that needs a feature.
struct Use {
    /// `column `addr` of `GetHost``, `parameter `addr` of `AddHost``.
    what: String,
    /// Its PostgreSQL type name.
    pg_type: String,
    /// Where to point: the parameter, or the query's name for a column.
    location: Location,
}

/// How many other uses a warning lists before "and N more".
const LISTED: usize = 4;

/// Warnings for the features `project`'s queries need and `declared` lacks:
/// one per feature (the fix is one line), at the first parameter or column
/// needing it, listing the others.
pub fn check(
    queries: &[CheckedQuery<'_>],
    project: &Project,
    declared: &RuntimeFeatures,
) -> Vec<Diagnostic> {
    let by_name: BTreeMap<&str, &CheckedQuery<'_>> = queries
        .iter()
        .map(|query| (query.def.name.as_str(), query))
        .collect();
    let mut needs: BTreeMap<&'static str, Vec<Use>> = BTreeMap::new();
    for query_ir in project.modules.iter().flat_map(|m| &m.queries) {
        let Some(query) = by_name.get(query_ir.name.as_str()) else {
            continue;
        };
        let def = query.def;
        for (index, param) in query_ir.params.iter().enumerate() {
            let span = def
                .params
                .get(index)
                .and_then(|p| p.spans.first().cloned())
                .unwrap_or_else(|| def.name_span.clone());
            let pg_type = query
                .described
                .params
                .get(index)
                .map_or_else(String::new, |ty| ty.name().to_string());
            for feature in features_of(&param.ty, project) {
                needs.entry(feature).or_default().push(Use {
                    what: format!("parameter `{}` of `{}`", param.name, def.name),
                    pg_type: pg_type.clone(),
                    location: Location::new(&def.file, span.clone()),
                });
            }
        }
        let fields = query_ir
            .row
            .as_ref()
            .map_or(&[][..], |row| row_fields(project, row));
        for field in fields {
            for feature in features_of(&field.ty, project) {
                needs.entry(feature).or_default().push(Use {
                    what: format!("column `{}` of `{}`", field.column, def.name),
                    pg_type: field.pg_type.clone(),
                    location: Location::new(&def.file, def.name_span.clone()),
                });
            }
        }
    }
    needs
        .into_iter()
        .filter(|(feature, _)| !declared.enables(feature))
        .filter_map(|(feature, uses)| missing_feature(feature, uses, declared))
        .collect()
}

/// The fields of the row struct `row` points at.
fn row_fields<'p>(project: &'p Project, row: &RowRef) -> &'p [crate::ir::FieldIr] {
    project
        .modules
        .iter()
        .filter(|m| m.name == row.module)
        .flat_map(|m| &m.rows)
        .find(|r| r.name == row.name)
        .map_or(&[], |r| &r.fields)
}

fn missing_feature(
    feature: &'static str,
    uses: Vec<Use>,
    declared: &RuntimeFeatures,
) -> Option<Diagnostic> {
    let mut uses = uses.into_iter();
    let first = uses.next()?;
    let others: Vec<String> = uses
        .map(|u| format!("{} (`{}`)", u.what, u.pg_type))
        .collect();
    let cargo = if declared.default_features {
        format!("quarry = {{ version = \"…\", features = [\"{feature}\"] }}")
    } else {
        format!(
            "quarry = {{ version = \"…\", default-features = false, features = [\"{feature}\"] }}"
        )
    };
    let listed: Vec<String> = declared
        .features
        .iter()
        .map(String::as_str)
        .chain([feature])
        .map(|f| format!("\"{f}\""))
        .collect();
    let mut diagnostic = Diagnostic::warning(
        format!("`{}` needs the `quarry` feature `{feature}`", first.pg_type),
        Some(first.location),
    )
    .with_label(format!("{} is `{}`", first.what, first.pg_type))
    .with_note("the generated code does not compile without it")
    .with_help(format!(
        "enable it in Cargo.toml: `{cargo}`, and declare it in quarry.toml: `runtime_features = [{}]`",
        listed.join(", ")
    ));
    if !others.is_empty() {
        let mut list = others
            .iter()
            .take(LISTED)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if others.len() > LISTED {
            list.push_str(&format!(" and {} more", others.len() - LISTED));
        }
        diagnostic = diagnostic.with_note(format!("also needed by {list}"));
    }
    Some(diagnostic)
}

/// The features a Rust type needs, through arrays, ranges, composite fields
/// and domain newtypes (each user type visited once).
pub fn features_of(ty: &RustType, project: &Project) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    let mut visited = BTreeSet::new();
    collect(ty, project, &mut visited, &mut out);
    out
}

fn collect<'p>(
    ty: &'p RustType,
    project: &'p Project,
    visited: &mut BTreeSet<&'p str>,
    out: &mut BTreeSet<&'static str>,
) {
    match ty {
        RustType::Builtin(builtin) => out.extend(builtin.feature()),
        RustType::Array { element, .. }
        | RustType::Range(element)
        | RustType::Multirange(element) => collect(element, project, visited, out),
        RustType::Enum(_) => {}
        RustType::Composite(name) | RustType::Domain(name) => {
            if !visited.insert(name) {
                return;
            }
            match project.user_types.get(name) {
                Some(UserType::Composite { fields, .. }) => {
                    for field in fields {
                        collect(&field.ty, project, visited, out);
                    }
                }
                Some(UserType::Domain { base, .. }) => collect(base, project, visited, out),
                Some(UserType::Enum { .. }) | None => {}
            }
        }
        RustType::Custom(path) => out.extend(path_features(path, project)),
        RustType::Json(path) => {
            out.insert("with-serde_json");
            out.extend(path_features(path, project));
        }
    }
}

/// Features named by a user's override path (`quarry::cidr::IpInet`,
/// `quarry::postgres_types::Date<quarry::time::Date>`, …), under `quarry::`
/// or the configured runtime path.
fn path_features(path: &str, project: &Project) -> Vec<&'static str> {
    const BY_PATH: [(&str, &str); 12] = [
        ("chrono::", "with-chrono"),
        ("TimeTz", "with-chrono"),
        ("uuid::", "with-uuid"),
        ("serde_json::", "with-serde_json"),
        ("rust_decimal::", "with-rust_decimal"),
        ("time::", "with-time"),
        ("jiff::", "with-jiff"),
        ("cidr::", "with-cidr"),
        ("eui48::", "with-eui48"),
        ("bit_vec::", "with-bit-vec"),
        ("TsVector", "text-search"),
        ("TsQuery", "text-search"),
    ];
    let compact: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    let roots: Vec<String> = std::iter::once("quarry".to_string())
        .chain(project.runtime.clone())
        .map(|root| format!("{}::", root.trim_start_matches("::")))
        .collect();
    BY_PATH
        .iter()
        .filter(|(item, _)| {
            roots
                .iter()
                .any(|root| compact.contains(&format!("{root}{item}")))
        })
        .map(|&(_, feature)| feature)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typemap::Builtin;

    fn project() -> Project {
        Project {
            modules: Vec::new(),
            user_types: BTreeMap::from([
                (
                    "Host".to_string(),
                    UserType::Composite {
                        pg_name: "host".into(),
                        fields: vec![crate::typemap::CompositeField {
                            name: "addr".into(),
                            pg_name: "addr".into(),
                            ty: RustType::Builtin(Builtin::Inet),
                        }],
                    },
                ),
                (
                    "Bits".to_string(),
                    UserType::Domain {
                        pg_name: "bits".into(),
                        base: RustType::Builtin(Builtin::Bit),
                    },
                ),
            ]),
            derives: Default::default(),
            runtime: None,
        }
    }

    fn names(ty: RustType) -> Vec<&'static str> {
        features_of(&ty, &project()).into_iter().collect()
    }

    #[test]
    fn features_through_containers_and_user_types() {
        use crate::config::TimeCrate;
        assert_eq!(names(RustType::Builtin(Builtin::I32)), Vec::<&str>::new());
        assert_eq!(
            names(RustType::Array {
                element: Box::new(RustType::Range(Box::new(RustType::Builtin(Builtin::Date(
                    TimeCrate::Jiff
                ))))),
                nullable_elements: false,
            }),
            ["with-jiff"]
        );
        assert_eq!(names(RustType::Composite("Host".into())), ["with-cidr"]);
        assert_eq!(
            names(RustType::Multirange(Box::new(RustType::Domain(
                "Bits".into()
            )))),
            ["with-bit-vec"]
        );
        assert_eq!(names(RustType::Builtin(Builtin::TsQuery)), ["text-search"]);
    }

    #[test]
    fn features_of_override_paths() {
        assert_eq!(
            names(RustType::Custom(
                "quarry::postgres_types::Date<quarry::time::Date>".into()
            )),
            ["with-time"]
        );
        assert_eq!(
            names(RustType::Custom("quarry :: cidr :: IpInet".into())),
            ["with-cidr"]
        );
        assert_eq!(
            names(RustType::Custom("quarry::TsVector".into())),
            ["text-search"]
        );
        assert_eq!(
            names(RustType::Custom("quarry::Interval".into())),
            Vec::<&str>::new()
        );
        assert_eq!(
            names(RustType::Custom("my_app::cidr::Net".into())),
            Vec::<&str>::new()
        );
        assert_eq!(
            names(RustType::Json("my_app::Meta".into())),
            ["with-serde_json"]
        );
    }

    #[test]
    fn declared_features_add_to_the_defaults() {
        let declared = RuntimeFeatures {
            default_features: true,
            features: vec!["with-cidr".into()],
        };
        assert!(declared.enables("with-cidr") && declared.enables("with-chrono"));
        assert!(!declared.enables("text-search"));
        let bare = RuntimeFeatures {
            default_features: false,
            features: Vec::new(),
        };
        assert!(!bare.enables("with-chrono"));
    }
}
