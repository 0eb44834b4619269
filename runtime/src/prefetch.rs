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

/// Values by key, each with the number of parents still to ask for it, so the
/// last one gets the value moved rather than cloned.
#[derive(Debug, Clone)]
struct Groups<K, V> {
    map: HashMap<K, (V, usize)>,
}

impl<K, V> Default for Groups<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq, V: Clone> Groups<K, V> {
    fn expect_uses<'q, Q: Hash + Eq + ?Sized + 'q>(&mut self, keys: impl IntoIterator<Item = &'q Q>)
    where
        K: Borrow<Q>,
    {
        for key in keys {
            if let Some((_, uses)) = self.map.get_mut(key) {
                *uses += 1;
            }
        }
    }

    fn take<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        match self.map.get_mut(key) {
            None => None,
            Some((value, uses)) if *uses > 1 => {
                *uses -= 1;
                Some(value.clone())
            }
            Some(_) => self.map.remove(key).map(|(value, _)| value),
        }
    }

    fn into_map(self) -> HashMap<K, V> {
        self.map
            .into_iter()
            .map(|(key, (value, _))| (key, value))
            .collect()
    }
}

/// Rows of a to-many relation, grouped by key, in the loader's order within a group.
#[derive(Debug, Clone)]
pub struct ToMany<K, R> {
    groups: Groups<K, Vec<R>>,
}

impl<K, R> Default for ToMany<K, R> {
    fn default() -> Self {
        Self {
            groups: Groups::default(),
        }
    }
}

impl<K: Hash + Eq, R: Clone> ToMany<K, R> {
    /// Groups `(key, row)` pairs, keeping their order within each key.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (K, R)>) -> Self {
        let mut map: HashMap<K, (Vec<R>, usize)> = HashMap::new();
        for (key, row) in pairs {
            map.entry(key)
                .or_insert_with(|| (Vec::new(), 0))
                .0
                .push(row);
        }
        Self {
            groups: Groups { map },
        }
    }

    /// The rows for `key` (empty when there are none).
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> &[R]
    where
        K: Borrow<Q>,
    {
        self.groups
            .map
            .get(key)
            .map_or(&[], |(rows, _)| rows.as_slice())
    }

    /// Number of keys with at least one row.
    pub fn len(&self) -> usize {
        self.groups.map.len()
    }

    /// Whether no key has rows.
    pub fn is_empty(&self) -> bool {
        self.groups.map.is_empty()
    }

    /// Announces the parents' keys (one item per parent), so [`take`](Self::take)
    /// can move a group out on its last use instead of cloning it.
    pub fn expect_uses<'q, Q: Hash + Eq + ?Sized + 'q>(
        &mut self,
        keys: impl IntoIterator<Item = &'q Q>,
    ) where
        K: Borrow<Q>,
    {
        self.groups.expect_uses(keys);
    }

    /// The rows for one parent's `key`: moved out on the last announced use, cloned before.
    pub fn take<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Vec<R>
    where
        K: Borrow<Q>,
    {
        self.groups.take(key).unwrap_or_default()
    }

    /// All groups.
    pub fn into_map(self) -> HashMap<K, Vec<R>> {
        self.groups.into_map()
    }
}

/// Rows of a to-one relation: at most one per key.
#[derive(Debug, Clone)]
pub struct ToOne<K, R> {
    rows: Groups<K, R>,
}

impl<K, R> Default for ToOne<K, R> {
    fn default() -> Self {
        Self {
            rows: Groups::default(),
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
        let mut map = HashMap::new();
        for (key, row) in pairs {
            if map.insert(key, (row, 0)).is_some() {
                return Err(Error::TooManyRows {
                    query: query.name(),
                });
            }
        }
        Ok(Self {
            rows: Groups { map },
        })
    }

    /// The row for `key`, if any.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&R>
    where
        K: Borrow<Q>,
    {
        self.rows.map.get(key).map(|(row, _)| row)
    }

    /// Number of keys with a row.
    pub fn len(&self) -> usize {
        self.rows.map.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.map.is_empty()
    }

    /// See [`ToMany::expect_uses`].
    pub fn expect_uses<'q, Q: Hash + Eq + ?Sized + 'q>(
        &mut self,
        keys: impl IntoIterator<Item = &'q Q>,
    ) where
        K: Borrow<Q>,
    {
        self.rows.expect_uses(keys);
    }

    /// The row for one parent's `key`: moved out on the last announced use, cloned before.
    pub fn take<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<R>
    where
        K: Borrow<Q>,
    {
        self.rows.take(key)
    }

    /// All rows by key.
    pub fn into_map(self) -> HashMap<K, R> {
        self.rows.into_map()
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
