//! What functions do with NULL: the knowledge the analysis needs about
//! built-in and user functions, aggregates and window functions.
//!
//! Functions not listed here follow `pg_proc.proisstrict`: strict functions
//! propagate the nullability of their arguments, others are nullable. The
//! lists below exist because some strict functions return NULL for non-null
//! input (`array_position`, `jsonb_extract_path`, …) and some non-strict ones
//! never do (`concat`, `coalesce` with a non-null argument, …).

use crate::schema::Catalog;

/// How a scalar function's result relates to its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScalarRule {
    /// Non-null if any argument is (`coalesce`, `greatest`, `least`).
    AnyArgument,
    /// Non-null if the first argument is (`concat_ws`).
    FirstArgument,
    /// Never NULL (`concat`, `num_nulls`, `now()`).
    NonNull,
    /// Non-null if every argument is (strict functions).
    Strict,
    /// May be NULL whatever the arguments.
    Nullable,
}

/// Strict functions that still return NULL for some non-null input.
const NULL_ON_NON_NULL_INPUT: &[&str] = &[
    "array_position",
    "array_length",
    "array_lower",
    "array_upper",
    "array_ndims",
    "regexp_match",
    "regexp_substr",
    "substring",
    "substr_regex",
    "json_extract_path",
    "json_extract_path_text",
    "jsonb_extract_path",
    "jsonb_extract_path_text",
    "json_array_element",
    "json_array_element_text",
    "jsonb_array_element",
    "jsonb_array_element_text",
    "json_object_field",
    "json_object_field_text",
    "jsonb_object_field",
    "jsonb_object_field_text",
    "jsonb_path_query_first",
    "jsonb_path_query_first_tz",
    "jsonb_set_lax",
    "json_strip_nulls",
    "to_regclass",
    "to_regtype",
    "to_regproc",
    "to_regprocedure",
    "to_regoper",
    "to_regnamespace",
    "to_regrole",
    "to_regcollation",
    "current_setting",
    "pg_get_expr",
    "pg_get_viewdef",
    "pg_get_constraintdef",
    "pg_get_indexdef",
    "pg_get_functiondef",
    "pg_get_triggerdef",
    "pg_get_ruledef",
    "pg_get_serial_sequence",
    "nextval_or_null",
    "inet_client_addr",
    "inet_server_addr",
    "txid_status",
    "pg_xact_commit_timestamp",
];

/// Non-strict functions that never return NULL.
const NEVER_NULL: &[&str] = &[
    "concat",
    "row",
    "grouping",
    "num_nulls",
    "num_nonnulls",
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timeofday",
    "random",
    "gen_random_uuid",
    "pg_backend_pid",
    "current_user",
    "session_user",
    "current_role",
    "current_database",
    "current_catalog",
    "version",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
];

/// The rule for scalar function `name` (lower case, unqualified).
pub(super) fn scalar_rule(name: &str, catalog: &Catalog) -> ScalarRule {
    match name {
        "coalesce" | "greatest" | "least" => ScalarRule::AnyArgument,
        "concat_ws" => ScalarRule::FirstArgument,
        "nullif" => ScalarRule::Nullable,
        _ if NEVER_NULL.contains(&name) => ScalarRule::NonNull,
        _ if NULL_ON_NON_NULL_INPUT.contains(&name) => ScalarRule::Nullable,
        _ => match catalog.functions.get(name) {
            Some(info) if info.strict && !info.aggregate => ScalarRule::Strict,
            _ => ScalarRule::Nullable,
        },
    }
}

/// How an aggregate's result relates to its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AggregateRule {
    /// `count`: never NULL, even over no rows.
    Count,
    /// NULL over no rows (or only NULL inputs); non-null over a non-empty
    /// input of non-null values (`sum`, `min`, `max`, `avg`, `array_agg`, …).
    NonEmpty,
    /// May be NULL even over non-empty non-null input (`stddev_samp` of one
    /// row, `percentile_cont`, user-defined aggregates).
    Nullable,
}

/// The rule for aggregate `name`, or `None` when `name` is not an aggregate.
pub(super) fn aggregate_rule(name: &str, catalog: &Catalog) -> Option<AggregateRule> {
    Some(match name {
        "count" => AggregateRule::Count,
        "sum"
        | "min"
        | "max"
        | "avg"
        | "array_agg"
        | "json_agg"
        | "jsonb_agg"
        | "string_agg"
        | "bool_and"
        | "bool_or"
        | "every"
        | "bit_and"
        | "bit_or"
        | "bit_xor"
        | "json_object_agg"
        | "jsonb_object_agg"
        | "xmlagg"
        | "range_agg"
        | "range_intersect_agg" => AggregateRule::NonEmpty,
        "stddev" | "stddev_samp" | "stddev_pop" | "variance" | "var_samp" | "var_pop" | "corr"
        | "covar_samp" | "covar_pop" | "regr_avgx" | "regr_avgy" | "regr_count"
        | "regr_intercept" | "regr_r2" | "regr_slope" | "regr_sxx" | "regr_sxy" | "regr_syy"
        | "percentile_cont" | "percentile_disc" | "mode" => AggregateRule::Nullable,
        _ => match catalog.functions.get(name) {
            Some(info) if info.aggregate => AggregateRule::Nullable,
            _ => return None,
        },
    })
}

/// What a window-only function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WindowRule {
    /// `row_number`, `rank`, `dense_rank`, `percent_rank`, `cume_dist`: never NULL.
    Ranking,
    /// `ntile(n)`: NULL only for a NULL `n`.
    Strict,
    /// `lag`/`lead`: the value of another row, which may not exist — unless a
    /// non-null default (third argument) is given.
    Offset,
    /// `first_value`, `last_value`, `nth_value`: nullable.
    Value,
}

/// The rule for window function `name`, or `None` for anything else.
pub(super) fn window_rule(name: &str) -> Option<WindowRule> {
    Some(match name {
        "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" => WindowRule::Ranking,
        "ntile" => WindowRule::Strict,
        "lag" | "lead" => WindowRule::Offset,
        "first_value" | "last_value" | "nth_value" => WindowRule::Value,
        _ => return None,
    })
}
