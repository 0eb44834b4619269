//! Relation loading support for generated prefetch code.
//!
//! A loader runs one statement for a whole set of keys and returns its rows
//! grouped by key: [`ToMany`] (any number of rows per key) or [`ToOne`] (at
//! most one). The parent then hands each of its rows its group. Groups are
//! moved out on their last use and cloned only when several parents share a
//! key ([`ToMany::expect_uses`]), so the common one-parent-per-key case copies
//! nothing.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use postgres_types::{FromSql, ToSql};

use crate::error::Error;
use crate::executor::Executor;
use crate::query::Query;
use crate::row::{decode, FromRow};

/// The distinct keys of `keys`, in first-seen order.
pub fn unique_keys<K: Hash + Eq + Copy>(keys: impl IntoIterator<Item = K>) -> Vec<K> {
    let keys = keys.into_iter();
    let mut seen = HashSet::with_capacity(keys.size_hint().0);
    keys.filter(|key| seen.insert(*key)).collect()
}

/// Runs a loader's statement and decodes each row as `(key, row)`, reading the
/// key from column `key_index`. Rows whose key is NULL are skipped: they
/// cannot belong to any parent.
pub async fn fetch_keyed<K, R, E>(
    db: &E,
    query: &Query,
    params: &[&(dyn ToSql + Sync)],
    key_index: usize,
    key_column: &'static str,
) -> Result<Vec<(K, R)>, Error>
where
    K: for<'a> FromSql<'a>,
    R: FromRow,
    E: Executor + ?Sized,
{
    let rows = db.query(query, params).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let decoded = decode::<Option<K>>(row, key_index, key_column)
            .and_then(|key| Ok((key, R::from_row(row)?)))
            .map_err(|error| error.into_query_error(query.name()))?;
        if let (Some(key), value) = decoded {
            out.push((key, value));
        }
    }
    Ok(out)
}

/// A group of rows and how many more parents will ask for it.
#[derive(Debug, Clone)]
struct Group<V> {
    value: V,
    uses: usize,
}

/// Rows of a to-many relation, grouped by key, in the loader's order within a group.
#[derive(Debug, Clone)]
pub struct ToMany<K, R> {
    groups: HashMap<K, Group<Vec<R>>>,
}

impl<K, R> Default for ToMany<K, R> {
    fn default() -> Self {
        Self {
            groups: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq, R: Clone> ToMany<K, R> {
    /// Groups `(key, row)` pairs, keeping their order within each key.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (K, R)>) -> Self {
        let mut groups: HashMap<K, Group<Vec<R>>> = HashMap::new();
        for (key, row) in pairs {
            groups
                .entry(key)
                .or_insert_with(|| Group {
                    value: Vec::new(),
                    uses: 0,
                })
                .value
                .push(row);
        }
        Self { groups }
    }

    /// The rows for `key` (empty when there are none).
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> &[R]
    where
        K: Borrow<Q>,
    {
        self.groups
            .get(key)
            .map_or(&[], |group| group.value.as_slice())
    }

    /// Number of keys with at least one row.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no key has rows.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Announces the parents' keys (one item per parent), so [`take`](Self::take)
    /// can move a group out on its last use instead of cloning it.
    pub fn expect_uses<'q, Q: Hash + Eq + ?Sized + 'q>(
        &mut self,
        keys: impl IntoIterator<Item = &'q Q>,
    ) where
        K: Borrow<Q>,
    {
        for key in keys {
            if let Some(group) = self.groups.get_mut(key) {
                group.uses += 1;
            }
        }
    }

    /// The rows for one parent's `key`: moved out on the last announced use, cloned before.
    pub fn take<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Vec<R>
    where
        K: Borrow<Q>,
    {
        match self.groups.get_mut(key) {
            None => Vec::new(),
            Some(group) if group.uses > 1 => {
                group.uses -= 1;
                group.value.clone()
            }
            Some(_) => self
                .groups
                .remove(key)
                .map(|group| group.value)
                .unwrap_or_default(),
        }
    }

    /// All groups.
    pub fn into_map(self) -> HashMap<K, Vec<R>> {
        self.groups
            .into_iter()
            .map(|(key, group)| (key, group.value))
            .collect()
    }
}

/// Rows of a to-one relation: at most one per key.
#[derive(Debug, Clone)]
pub struct ToOne<K, R> {
    rows: HashMap<K, Group<R>>,
}

impl<K, R> Default for ToOne<K, R> {
    fn default() -> Self {
        Self {
            rows: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq, R: Clone> ToOne<K, R> {
    /// Indexes `(key, row)` pairs; two rows for one key is
    /// [`Error::TooManyRows`] for `query`.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (K, R)>,
        query: &Query,
    ) -> Result<Self, Error> {
        let mut rows = HashMap::new();
        for (key, value) in pairs {
            if rows.insert(key, Group { value, uses: 0 }).is_some() {
                return Err(Error::TooManyRows {
                    query: query.name(),
                });
            }
        }
        Ok(Self { rows })
    }

    /// The row for `key`, if any.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&R>
    where
        K: Borrow<Q>,
    {
        self.rows.get(key).map(|group| &group.value)
    }

    /// Number of keys with a row.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// See [`ToMany::expect_uses`].
    pub fn expect_uses<'q, Q: Hash + Eq + ?Sized + 'q>(
        &mut self,
        keys: impl IntoIterator<Item = &'q Q>,
    ) where
        K: Borrow<Q>,
    {
        for key in keys {
            if let Some(group) = self.rows.get_mut(key) {
                group.uses += 1;
            }
        }
    }

    /// The row for one parent's `key`: moved out on the last announced use, cloned before.
    pub fn take<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<R>
    where
        K: Borrow<Q>,
    {
        match self.rows.get_mut(key) {
            None => None,
            Some(group) if group.uses > 1 => {
                group.uses -= 1;
                Some(group.value.clone())
            }
            Some(_) => self.rows.remove(key).map(|group| group.value),
        }
    }

    /// All rows by key.
    pub fn into_map(self) -> HashMap<K, R> {
        self.rows
            .into_iter()
            .map(|(key, group)| (key, group.value))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_keys_keep_first_seen_order() {
        assert_eq!(unique_keys([3, 1, 3, 2, 1]), vec![3, 1, 2]);
        assert_eq!(unique_keys(["b", "a", "b"]), vec!["b", "a"]);
        assert!(unique_keys(Vec::<i64>::new()).is_empty());
    }

    #[test]
    fn to_many_moves_on_last_use_and_clones_before() {
        let mut groups = ToMany::from_pairs([(1, "a"), (2, "b"), (1, "c")]);
        assert_eq!(groups.get(&1), ["a", "c"]);
        groups.expect_uses([&1, &1, &2]);
        assert_eq!(groups.take(&1), vec!["a", "c"]);
        assert_eq!(groups.take(&1), vec!["a", "c"]);
        assert_eq!(groups.take(&2), vec!["b"]);
        assert!(
            groups.is_empty(),
            "every group was moved out on its last use"
        );
        assert_eq!(groups.take(&9), Vec::<&str>::new());
    }

    #[test]
    fn to_one_rejects_two_rows_for_a_key() {
        const Q: Query = Query::new("AuthorsById", "SELECT 1");
        let one = ToOne::from_pairs([(String::from("x"), 1)], &Q);
        let mut one = one.unwrap_or_default();
        assert_eq!(one.get("x"), Some(&1));
        one.expect_uses(["x"]);
        assert_eq!(one.take("x"), Some(1));
        assert_eq!(one.take("x"), None);
        let two = ToOne::from_pairs([(1, 'a'), (1, 'b')], &Q);
        assert!(matches!(
            two,
            Err(Error::TooManyRows {
                query: "AuthorsById"
            })
        ));
    }
}
