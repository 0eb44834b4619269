//! Parameterized relations: checks the `name = :param` bindings of a
//! `@prefetch` line against the loader's scalar parameters and the parent's
//! parameters (known names, not the key, every one bound, same types), and
//! that the new parameters a parent's function gets agree across its
//! relations. Every mistake is a diagnostic at the binding.

use std::collections::HashMap;
use std::ops::Range;

use super::{LoaderSpec, QueryFacts, RelationSpec};
use crate::diagnostic::Diagnostic;
use crate::prefetch::{Binding, PrefetchDirective};
use crate::typemap::TypeMapper;

/// A loader parameter bound from the parent call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingSpec {
    /// Index of the loader's parameter.
    pub loader_param: usize,
    /// Index of the parent query's parameter passed to it, or `None` for a
    /// new parameter of the parent's function (typed as the loader's).
    pub parent_param: Option<usize>,
    /// The parent parameter's name (as written after `:`).
    pub name: String,
}

/// The name a parameter is written with (`:since`), if it has one.
fn param_name<'a>(facts: &QueryFacts<'a>, index: usize) -> Option<&'a str> {
    facts.def.params.get(index)?.name.as_deref()
}

/// `since` (`date`), or `since` (`date`, optional) for `:since?`.
fn describe_param(facts: &QueryFacts<'_>, index: usize) -> String {
    let ty = facts.described.params.get(index).map_or("?", |t| t.name());
    let optional = facts.def.params.get(index).is_some_and(|p| p.nullable);
    if optional {
        format!("`{ty}`, optional")
    } else {
        format!("`{ty}`")
    }
}

/// The loader's parameters a relation must bind (all but the key), by name.
fn scalar_params<'a>(loader: &QueryFacts<'a>, spec: &LoaderSpec) -> Vec<(usize, &'a str)> {
    (0..loader.def.params.len())
        .filter(|&i| i != spec.key_param)
        .map(|i| (i, param_name(loader, i).unwrap_or("?")))
        .collect()
}

/// Checks one relation's bindings: `loader` is the loader's facts, `spec`
/// its loader spec, `loader_span` where the directive names it.
pub fn check_bindings(
    parent: &QueryFacts<'_>,
    prefetch: &PrefetchDirective,
    loader: &QueryFacts<'_>,
    spec: &LoaderSpec,
    loader_span: &Range<usize>,
    mapper: &TypeMapper<'_>,
) -> Result<Vec<BindingSpec>, Box<Diagnostic>> {
    let scalars = scalar_params(loader, spec);
    let mut out = Vec::new();
    for binding in &prefetch.bindings {
        out.push(check_binding(
            parent, binding, loader, spec, &scalars, mapper,
        )?);
    }
    let missing: Vec<&str> = scalars
        .iter()
        .filter(|(i, _)| !out.iter().any(|b| b.loader_param == *i))
        .map(|(_, name)| *name)
        .collect();
    if let Some(first) = missing.first() {
        let list: Vec<String> = missing.iter().map(|n| format!("`{n}`")).collect();
        let example: Vec<String> = missing.iter().map(|n| format!("{n} = :{n}")).collect();
        return Err(Box::new(
            Diagnostic::error_at(
                format!(
                    "loader `{}` takes parameter {} which this relation does not bind",
                    loader.def.name,
                    list.join(", ")
                ),
                &parent.def.file,
                loader_span.clone(),
            )
            .with_label(format!("`{first}` unbound"))
            .with_help(format!(
                "bind every parameter of the loader but its key array, from the parent call: `{}(…, {})`",
                loader.def.name,
                example.join(", ")
            )),
        ));
    }
    Ok(out)
}

/// One `name = :param`.
fn check_binding(
    parent: &QueryFacts<'_>,
    binding: &Binding,
    loader: &QueryFacts<'_>,
    spec: &LoaderSpec,
    scalars: &[(usize, &str)],
    mapper: &TypeMapper<'_>,
) -> Result<BindingSpec, Box<Diagnostic>> {
    let file = &parent.def.file;
    let loader_name = &loader.def.name;
    if param_name(loader, spec.key_param) == Some(binding.name.as_str()) {
        return Err(Box::new(
            Diagnostic::error_at(
                format!("`{}` is the key array of loader `{loader_name}`", binding.name),
                file,
                binding.name_span.clone(),
            )
            .with_label("cannot be bound")
            .with_help("the relation fills it with the parents' distinct keys (the parent column before the bindings); bind only the loader's other parameters"),
        ));
    }
    let Some(&(loader_param, _)) = scalars.iter().find(|(_, name)| *name == binding.name) else {
        let names: Vec<String> = scalars.iter().map(|(_, n)| format!("`{n}`")).collect();
        let help = if names.is_empty() {
            format!("`{loader_name}` takes only its key array: remove the binding")
        } else {
            format!(
                "parameters of `{loader_name}` to bind: {}",
                names.join(", ")
            )
        };
        return Err(Box::new(
            Diagnostic::error_at(
                format!(
                    "unknown parameter `{}` of loader `{loader_name}`",
                    binding.name
                ),
                file,
                binding.name_span.clone(),
            )
            .with_label("no such loader parameter")
            .with_help(help),
        ));
    };
    let parent_param = (0..parent.def.params.len())
        .find(|&i| param_name(parent, i) == Some(binding.param.as_str()));
    let Some(index) = parent_param else {
        if parent.directives.key.is_some() {
            return Err(Box::new(
                Diagnostic::error_at(
                    format!(
                        "loader `{}` has no parameter `{}` to pass on",
                        parent.def.name, binding.param
                    ),
                    file,
                    binding.param_span.clone(),
                )
                .with_help("a loader's own relations bind the loader's parameters; add it to the loader's SQL"),
            ));
        }
        return Ok(BindingSpec {
            loader_param,
            parent_param: None,
            name: binding.param.clone(),
        });
    };
    let in_block = parent.def.dynamic.as_ref().and_then(|dynamic| {
        dynamic
            .blocks
            .iter()
            .find(|block| block.params.contains(&index))
    });
    if let Some(block) = in_block {
        return Err(Box::new(
            Diagnostic::error_at(
                format!(
                    "`:{}` is a parameter of an optional block of `{}`: a relation cannot be bound to it",
                    binding.param, parent.def.name
                ),
                file,
                binding.param_span.clone(),
            )
            .with_label("may be absent")
            .with_note({
                let (line, col) = file.line_col(block.span.start);
                format!("the block is at {}:{line}:{col}", file.display_path.display())
            })
            .with_help("bind a parameter outside the blocks, or a new one (a name not in the parent's SQL)"),
        ));
    }
    let same_type = mapper.map(&parent.described.params[index])
        == mapper.map(&loader.described.params[loader_param])
        && parent.def.params[index].nullable == loader.def.params[loader_param].nullable;
    if !same_type {
        return Err(Box::new(
            Diagnostic::error_at(
                format!(
                    "type mismatch: parameter `{}` of `{}` is {} but parameter `{}` of loader `{loader_name}` is {}",
                    binding.param,
                    parent.def.name,
                    describe_param(parent, index),
                    binding.name,
                    describe_param(loader, loader_param),
                ),
                file,
                binding.param_span.clone(),
            )
            .with_help("cast the parameter in one of the two queries (`:since::date`), and write both `:name?` or neither"),
        ));
    }
    Ok(BindingSpec {
        loader_param,
        parent_param: Some(index),
        name: binding.param.clone(),
    })
}

/// A parent's new parameters (bound by its relations, not in its SQL) must
/// have one type: two relations binding `:since` to loader parameters of
/// different types is an error at the second binding.
pub fn check_new_params(
    parent: &QueryFacts<'_>,
    relations: &[(RelationSpec, &PrefetchDirective)],
    loaders: &[QueryFacts<'_>],
    mapper: &TypeMapper<'_>,
) -> Vec<Diagnostic> {
    let mut seen: HashMap<&str, (usize, usize, &str)> = HashMap::new();
    let mut errors = Vec::new();
    for (relation, prefetch) in relations {
        let loader = &loaders[relation.loader];
        for (binding, written) in relation.bindings.iter().zip(&prefetch.bindings) {
            if binding.parent_param.is_some() {
                continue;
            }
            let Some(&(first_loader, first_param, first_name)) = seen.get(binding.name.as_str())
            else {
                seen.insert(
                    &binding.name,
                    (relation.loader, binding.loader_param, &written.name),
                );
                continue;
            };
            let first = &loaders[first_loader];
            let same = mapper.map(&first.described.params[first_param])
                == mapper.map(&loader.described.params[binding.loader_param])
                && first.def.params[first_param].nullable
                    == loader.def.params[binding.loader_param].nullable;
            if !same {
                errors.push(
                    Diagnostic::error_at(
                        format!(
                            "type mismatch: new parameter `{}` of `{}` is {} for `{}.{first_name}` but {} for `{}.{}`",
                            binding.name,
                            parent.def.name,
                            describe_param(first, first_param),
                            first.def.name,
                            describe_param(loader, binding.loader_param),
                            loader.def.name,
                            written.name,
                        ),
                        &parent.def.file,
                        written.param_span.clone(),
                    )
                    .with_help("bind parameters of one type to it, or give this one another name"),
                );
            }
        }
    }
    errors
}
