//! Derived loaders: turns `-- @prefetch field` (no loader named) into a
//! loader query written from the foreign keys of the parent's source table
//! (reverse FK → to-many, forward FK → to-one, junction table →
//! many-to-many): finds the relation path, synthesizes the SQL, names the
//! loader and rewrites the directive to name it. No IO: the caller describes
//! the derived queries.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{Directives, PrefetchDirective, RelationSource};
use crate::describe::Described;
use crate::diagnostic::Diagnostic;
use crate::ident;
use crate::lex::{Directive, OffsetMap, ParamDef, ParamStyle, QueryDef, QueryKind};
use crate::schema::{Catalog, ForeignKey, Table};

/// A loader the generator wrote from foreign keys.
#[derive(Debug, Clone)]
pub struct DerivedLoader {
    /// Module it is emitted in (the first parent's).
    pub module: String,
    /// The synthesized query (SQL, kind, row name, one array parameter).
    pub def: QueryDef,
    /// The key is read from the SQL row but is not a field of the row struct
    /// (many-to-many through a junction table).
    pub hidden_key: bool,
}

/// A relation path found in the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RelationPath {
    /// `target.fk_column → source.referenced`: to-many.
    Reverse { target: u32, fk: ForeignKey },
    /// `source.fk_column → target.referenced`: to-one.
    Forward { target: u32, fk: ForeignKey },
    /// `junction.a → source`, `junction.b → target`: many-to-many.
    Junction {
        junction: u32,
        to_source: ForeignKey,
        to_target: ForeignKey,
        target: u32,
    },
}

impl RelationPath {
    fn explain(&self, catalog: &Catalog, source: &Table) -> String {
        let name = |oid: &u32| {
            catalog
                .tables
                .get(oid)
                .map_or("?", |t| t.name.as_str())
                .to_string()
        };
        let column = |oid: &u32, attnums: &[i16]| {
            let table = catalog.tables.get(oid);
            attnums
                .iter()
                .map(|a| {
                    table
                        .and_then(|t| t.column(*a))
                        .map_or("?", |c| c.name.as_str())
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            RelationPath::Reverse { target, fk } => format!(
                "to-many: {}.{} → {}.{}",
                name(target),
                column(target, &fk.columns),
                source.name,
                column(&source.oid, &fk.referenced_columns)
            ),
            RelationPath::Forward { target, fk } => format!(
                "to-one: {}.{} → {}.{}",
                source.name,
                column(&source.oid, &fk.columns),
                name(target),
                column(target, &fk.referenced_columns)
            ),
            RelationPath::Junction {
                junction,
                to_source,
                to_target,
                target,
            } => format!(
                "many-to-many: {} through {} ({} → {}, {} → {})",
                name(target),
                name(junction),
                column(junction, &to_source.columns),
                source.name,
                column(junction, &to_target.columns),
                name(target)
            ),
        }
    }
}

/// Very small English singular for naming row types after tables.
pub fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for suffix in ["sses", "xes", "ches", "shes"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return format!("{stem}{}", &suffix[..suffix.len() - 2]);
        }
    }
    if name.ends_with("ss") || name.ends_with("us") || name.ends_with("is") {
        return name.to_string();
    }
    name.strip_suffix('s').unwrap_or(name).to_string()
}

fn names_match(field: &str, table: &str) -> bool {
    field == table || singular(field) == singular(table)
}

/// The table a parent query's rows come from: the table of its first output
/// column that PostgreSQL traces to a base table.
fn source_table<'c>(described: &Described, catalog: &'c Catalog) -> Option<&'c Table> {
    described
        .columns
        .iter()
        .find_map(|c| c.table_oid.and_then(|oid| catalog.tables.get(&oid)))
}

fn single(columns: &[i16]) -> Option<i16> {
    match columns {
        [one] => Some(*one),
        _ => None,
    }
}

/// Finds every relation path named `field` from `source`. A plural field
/// (`comments`) names a to-many relation, a singular one (`author`) a to-one.
fn find_paths(field: &str, source: &Table, catalog: &Catalog) -> Vec<RelationPath> {
    let mut paths = Vec::new();
    let plural = singular(field) != field;
    for table in catalog.tables.values() {
        for fk in &table.foreign_keys {
            if plural
                && fk.referenced_table == source.oid
                && single(&fk.columns).is_some()
                && names_match(field, &table.name)
            {
                paths.push(RelationPath::Reverse {
                    target: table.oid,
                    fk: fk.clone(),
                });
            }
        }
    }
    for fk in &source.foreign_keys {
        let Some(column) = single(&fk.columns).and_then(|a| source.column(a)) else {
            continue;
        };
        let target = catalog.tables.get(&fk.referenced_table);
        let by_column = column.name == format!("{field}_id") || column.name == field;
        let by_table = target.is_some_and(|t| names_match(field, &t.name));
        if !plural && (by_column || by_table) {
            paths.push(RelationPath::Forward {
                target: fk.referenced_table,
                fk: fk.clone(),
            });
        }
    }
    for junction in catalog.tables.values() {
        if junction.oid == source.oid {
            continue;
        }
        for to_source in junction
            .foreign_keys
            .iter()
            .filter(|fk| fk.referenced_table == source.oid)
        {
            for to_target in &junction.foreign_keys {
                let Some(target) = catalog.tables.get(&to_target.referenced_table) else {
                    continue;
                };
                if !plural
                    || to_target == to_source
                    || target.oid == junction.oid
                    || !names_match(field, &target.name)
                    || single(&to_source.columns).is_none()
                    || single(&to_target.columns).is_none()
                {
                    continue;
                }
                paths.push(RelationPath::Junction {
                    junction: junction.oid,
                    to_source: to_source.clone(),
                    to_target: to_target.clone(),
                    target: target.oid,
                });
            }
        }
    }
    paths
}

/// PostgreSQL identifier quoting, only where needed (keywords included).
fn quote_ident(name: &str) -> String {
    ident::sql_ident(name)
}

/// The table's name as SQL: unqualified in `public`, unless the name could
/// resolve to a system catalog first (`pg_catalog` is searched before `public`).
fn qualified(table: &Table) -> String {
    if table.schema == "public" && !table.name.starts_with("pg_") {
        quote_ident(&table.name)
    } else {
        format!(
            "{}.{}",
            quote_ident(&table.schema),
            quote_ident(&table.name)
        )
    }
}

fn column_name(table: &Table, attnum: i16) -> String {
    table
        .column(attnum)
        .map_or_else(String::new, |c| c.name.clone())
}

fn select_list(alias: &str, table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| format!("{alias}.{}", quote_ident(&c.name)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn order_by(alias: &str, table: &Table, lead: Option<String>) -> String {
    let mut keys: Vec<String> = lead.into_iter().collect();
    keys.extend(
        table
            .primary_key
            .iter()
            .map(|a| format!("{alias}.{}", quote_ident(&column_name(table, *a)))),
    );
    if keys.is_empty() {
        String::new()
    } else {
        format!("\nORDER BY {}", keys.join(", "))
    }
}

/// What deriving needs to know about a parent query.
pub struct Parent<'a> {
    /// Module of the parent.
    pub module: &'a str,
    /// The parent query.
    pub def: &'a QueryDef,
    /// Its describe result.
    pub described: &'a Described,
    /// Its directives; derived ones are rewritten to name their loader.
    pub directives: &'a mut Directives,
}

/// Resolves every `@prefetch field` without a loader into a generated loader,
/// rewriting the directive to name it. `taken` holds the user's query names.
/// A user's loader that is the one derivation would write (the same
/// statement and key) is named instead of writing it a second time.
pub fn derive_loaders(
    parents: Vec<Parent<'_>>,
    catalog: &Catalog,
    taken: &BTreeSet<String>,
) -> (Vec<DerivedLoader>, Vec<Diagnostic>) {
    let user_loaders = user_loaders(&parents);
    let mut loaders: BTreeMap<String, DerivedLoader> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for parent in parents {
        for prefetch in parent.directives.prefetch.iter_mut() {
            if prefetch.source != RelationSource::Derived {
                continue;
            }
            let (def, described) = (parent.def, parent.described);
            let derived =
                relation_path(def, described, prefetch, catalog).and_then(|(source, path)| {
                    synthesize(&path, source, described, catalog, def, prefetch)
                        .map(|shape| (path.explain(catalog, source), shape))
                });
            let (explained, shape) = match derived {
                Ok(derived) => derived,
                Err(error) => {
                    errors.push(*error);
                    continue;
                }
            };
            if let Some(user) = user_loaders.iter().find(|user| user.writes(&shape)) {
                name_loader(prefetch, user.name.clone(), shape.parent_column);
                continue;
            }
            let name = unique_name(&shape.name, taken, &loaders, &shape.sql);
            if !loaders.contains_key(&name) {
                order.push(name.clone());
                let loader = DerivedLoader {
                    module: parent.module.to_string(),
                    def: loader_query(&name, &shape, &explained, def, prefetch),
                    hidden_key: shape.hidden_key,
                };
                loaders.insert(name.clone(), loader);
            }
            name_loader(prefetch, name, shape.parent_column);
        }
    }
    let mut out = Vec::new();
    for name in order {
        if let Some(loader) = loaders.remove(&name) {
            out.push(loader);
        }
    }
    (out, errors)
}

/// Rewrites a derived `@prefetch` to name its loader, as if the user had
/// written `= Loader(parent_column)` at the field.
fn name_loader(prefetch: &mut PrefetchDirective, loader: String, parent_column: String) {
    prefetch.source = RelationSource::Named {
        loader,
        loader_span: prefetch.field_span.clone(),
        parent_column,
        column_span: prefetch.field_span.clone(),
    };
}

/// A loader the user wrote (`@key`), as derivation compares it with the one
/// it would write.
struct UserLoader {
    name: String,
    statement: String,
    key: String,
    to_many: bool,
}

impl UserLoader {
    /// Whether the derived loader `shape` would be this one again: the same
    /// statement (whatever its layout or keyword case), key and kind.
    fn writes(&self, shape: &LoaderShape) -> bool {
        self.key == shape.key_column
            && self.to_many == (shape.kind == QueryKind::Many)
            && canonical_sql(&shape.sql).is_some_and(|sql| sql == self.statement)
    }
}

fn user_loaders(parents: &[Parent<'_>]) -> Vec<UserLoader> {
    parents
        .iter()
        .filter_map(|parent| {
            let (key, _) = parent.directives.key.as_ref()?;
            Some(UserLoader {
                name: parent.def.name.clone(),
                statement: canonical_sql(&parent.def.sql)?,
                key: key.clone(),
                to_many: parent.def.kind == QueryKind::Many,
            })
        })
        .collect()
}

/// A statement as sqlparser renders it: the same for the same statement
/// whatever its whitespace, comments or keyword case.
fn canonical_sql(sql: &str) -> Option<String> {
    crate::parse::parse_statement(sql)
        .ok()
        .map(|statement| statement.to_string())
}

/// The one relation path `prefetch` names from the parent query's source
/// table; none or several are diagnostics.
fn relation_path<'c>(
    def: &QueryDef,
    described: &Described,
    prefetch: &PrefetchDirective,
    catalog: &'c Catalog,
) -> Result<(&'c Table, RelationPath), Box<Diagnostic>> {
    let name_the_loader = "name the loader: `-- @prefetch field = Loader(parent_column)`";
    let Some(source) = source_table(described, catalog) else {
        return Err(Box::new(
            Diagnostic::error_at(
                format!(
                    "cannot derive `{}`: query `{}` returns no base-table column",
                    prefetch.field, def.name
                ),
                &def.file,
                prefetch.field_span.clone(),
            )
            .with_help(name_the_loader),
        ));
    };
    let paths = find_paths(&prefetch.field, source, catalog);
    match paths.as_slice() {
        [one] => Ok((source, one.clone())),
        [] => Err(Box::new(
            Diagnostic::error_at(
                format!("no foreign-key path from `{}` to `{}`", source.name, prefetch.field),
                &def.file,
                prefetch.field_span.clone(),
            )
            .with_label("no relation of this name")
            .with_note(format!(
                "looked for: a table `{0}` with a foreign key to `{1}` (to-many), a foreign key `{2}_id` from `{1}` (to-one), a junction table between `{1}` and `{0}` (many-to-many)",
                prefetch.field,
                source.name,
                singular(&prefetch.field)
            ))
            .with_help(name_the_loader),
        )),
        many => {
            let list: Vec<String> = many.iter().map(|p| p.explain(catalog, source)).collect();
            Err(Box::new(
                Diagnostic::error_at(
                    format!("ambiguous relation `{}` from `{}`", prefetch.field, source.name),
                    &def.file,
                    prefetch.field_span.clone(),
                )
                .with_label(format!("{} candidates", many.len()))
                .with_note(format!("candidates: {}", list.join("; ")))
                .with_help(name_the_loader),
            ))
        }
    }
}

/// The query of a derived loader, as if the user had written it at the
/// `@prefetch` line: every span points there.
fn loader_query(
    name: &str,
    shape: &LoaderShape,
    explained: &str,
    def: &QueryDef,
    prefetch: &PrefetchDirective,
) -> QueryDef {
    QueryDef {
        file: Arc::clone(&def.file),
        name: name.to_string(),
        name_span: prefetch.field_span.clone(),
        kind: shape.kind,
        kind_span: prefetch.field_span.clone(),
        docs: vec![format!(
            "Loader derived from the foreign key of {} (for `{}.{}`).",
            markdown_escape(explained),
            def.name,
            prefetch.field
        )],
        row_name: Some((shape.row.clone(), prefetch.field_span.clone())),
        overrides: Vec::new(),
        directives: vec![Directive {
            name: "key".to_string(),
            args: shape.key_column.clone(),
            span: prefetch.span.clone(),
            args_span: prefetch.field_span.clone(),
        }],
        sql_span: prefetch.span.clone(),
        sql: shape.sql.clone(),
        params: vec![ParamDef {
            name: Some("keys".to_string()),
            nullable: false,
            spans: vec![prefetch.field_span.clone()],
            style: ParamStyle::Named,
        }],
        offsets: OffsetMap::pointing_at(prefetch.span.clone()),
        // The one `$1` (quoted names elsewhere may contain anything).
        param_sites: vec![(0, shape.param_at..shape.param_at + 2)],
        dynamic: None,
        embeds: Vec::new(),
    }
}

/// `text` (made of SQL names) as markdown text that renders as itself.
fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '&' | '#' | '|' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A name for a derived loader: the natural one, unless a user query has it.
fn unique_name(
    base: &str,
    taken: &BTreeSet<String>,
    derived: &BTreeMap<String, DerivedLoader>,
    sql: &str,
) -> String {
    let mut name = base.to_string();
    let mut n = 1;
    loop {
        let free = !taken.contains(&name) && derived.get(&name).is_none_or(|d| d.def.sql == sql);
        if free {
            return name;
        }
        n += 1;
        name = format!("{base}{n}");
    }
}

/// The name a junction loader selects its hidden key as: `quarry_key`, or
/// `quarry_key_1`, `quarry_key_2`, … when the target table has a column of
/// that name (the loader finds its key by name).
fn key_alias(target: &Table) -> String {
    let taken = |name: &str| target.columns.iter().any(|c| c.name == name);
    let mut alias = "quarry_key".to_string();
    let mut n = 0;
    while taken(&alias) {
        n += 1;
        alias = format!("quarry_key_{n}");
    }
    alias
}

/// What a derived loader looks like.
struct LoaderShape {
    name: String,
    sql: String,
    key_column: String,
    parent_column: String,
    kind: QueryKind,
    row: String,
    hidden_key: bool,
    /// Byte offset of `$1` in `sql`.
    param_at: usize,
}

/// SQL, names and shape of the loader for one path.
fn synthesize(
    path: &RelationPath,
    source: &Table,
    described: &Described,
    catalog: &Catalog,
    def: &QueryDef,
    prefetch: &PrefetchDirective,
) -> Result<LoaderShape, Box<Diagnostic>> {
    let parent_column = |attnum| parent_column(described, source, attnum, def, prefetch);
    let table = |oid: &u32| {
        catalog.tables.get(oid).ok_or_else(|| {
            Box::new(Diagnostic::error_at(
                "internal error: foreign key to an unknown table",
                &def.file,
                prefetch.span.clone(),
            ))
        })
    };
    match path {
        RelationPath::Reverse { target, fk } => {
            let target = table(target)?;
            let parent_column = parent_column(fk.referenced_columns[0])?;
            Ok(one_table_loader(
                target,
                fk.columns[0],
                QueryKind::Many,
                parent_column,
            ))
        }
        RelationPath::Forward { target, fk } => {
            let target = table(target)?;
            let parent_column = parent_column(fk.columns[0])?;
            Ok(one_table_loader(
                target,
                fk.referenced_columns[0],
                QueryKind::Opt,
                parent_column,
            ))
        }
        RelationPath::Junction {
            junction,
            to_source,
            to_target,
            target,
        } => {
            let junction = table(junction)?;
            let target = table(target)?;
            let parent_column = parent_column(to_source.referenced_columns[0])?;
            Ok(junction_loader(
                junction,
                target,
                to_source,
                to_target,
                parent_column,
            ))
        }
    }
}

/// The parent query's output column holding `source`'s column `attnum`,
/// where the path starts from.
fn parent_column(
    described: &Described,
    source: &Table,
    attnum: i16,
    def: &QueryDef,
    prefetch: &PrefetchDirective,
) -> Result<String, Box<Diagnostic>> {
    described
        .columns
        .iter()
        .find(|c| c.table_oid == Some(source.oid) && c.column_id == Some(attnum))
        .map(|c| c.name.clone())
        .ok_or_else(|| {
            Box::new(
                Diagnostic::error_at(
                    format!(
                        "`{}` needs `{}.{}` in the output of query `{}`",
                        prefetch.field,
                        source.name,
                        column_name(source, attnum),
                        def.name
                    ),
                    &def.file,
                    prefetch.field_span.clone(),
                )
                .with_help(format!(
                    "select `{}` in the query",
                    column_name(source, attnum)
                )),
            )
        })
}

/// Reverse and forward paths read one table, keyed by one of its columns.
fn one_table_loader(
    target: &Table,
    key_attnum: i16,
    kind: QueryKind,
    parent_column: String,
) -> LoaderShape {
    let key_column = column_name(target, key_attnum);
    let order = if kind == QueryKind::Many {
        order_by("t", target, None)
    } else {
        String::new()
    };
    let head = format!(
        "SELECT {}\nFROM {} t\nWHERE t.{} = ",
        select_list("t", target),
        qualified(target),
        quote_ident(&key_column),
    );
    LoaderShape {
        name: format!(
            "{}By{}",
            ident::pascal(&target.name),
            ident::pascal(&key_column)
        ),
        sql: format!("{head}ANY($1){order}"),
        param_at: head.len() + "ANY(".len(),
        parent_column,
        key_column,
        kind,
        row: ident::pascal(&singular(&target.name)),
        hidden_key: false,
    }
}

/// A many-to-many path reads the target through the junction table. The
/// key is selected last under a name of its own, which no column of the
/// target has, and kept out of the row struct.
fn junction_loader(
    junction: &Table,
    target: &Table,
    to_source: &ForeignKey,
    to_target: &ForeignKey,
    parent_column: String,
) -> LoaderShape {
    let source_key = column_name(junction, to_source.columns[0]);
    let key_alias = key_alias(target);
    let head = format!(
        "SELECT {}, j.{} AS {}\nFROM {} j\nJOIN {} t ON t.{} = j.{}\nWHERE j.{} = ",
        select_list("t", target),
        quote_ident(&source_key),
        quote_ident(&key_alias),
        qualified(junction),
        qualified(target),
        quote_ident(&column_name(target, to_target.referenced_columns[0])),
        quote_ident(&column_name(junction, to_target.columns[0])),
        quote_ident(&source_key),
    );
    let order = order_by("t", target, Some(format!("j.{}", quote_ident(&source_key))));
    LoaderShape {
        name: format!(
            "{}Via{}",
            ident::pascal(&target.name),
            ident::pascal(&junction.name)
        ),
        sql: format!("{head}ANY($1){order}"),
        param_at: head.len() + "ANY(".len(),
        key_column: key_alias,
        parent_column,
        kind: QueryKind::Many,
        row: ident::pascal(&singular(&target.name)),
        hidden_key: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singulars() {
        for (plural, one) in [
            ("comments", "comment"),
            ("categories", "category"),
            ("boxes", "box"),
            ("status", "status"),
            ("address", "address"),
            ("tags", "tag"),
        ] {
            assert_eq!(singular(plural), one);
        }
    }
}
