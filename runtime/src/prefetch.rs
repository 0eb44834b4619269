//! Relation loading support for generated prefetch code.
//!
//! A loader runs one statement for a whole set of keys and returns its rows
//! grouped by key: [`ToMany`] (any number of rows per key) or [`ToOne`] (at
//! most one). A [`Relation`] ties a loader to a set of parent rows: it hands
//! the loader the parents' distinct keys, and then each parent its group.
//! Groups are moved out on their last use and cloned only when several
//! parents share a key, so the common one-parent-per-key case copies nothing
//! and costs one look-up per parent.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;

use postgres_types::{FromSql, ToSql};

use crate::error::Error;
use crate::executor::Executor;
use crate::query::Query;
use crate::row::{decode, FromRow};

/// The distinct keys of `keys`, in first-seen order.
pub fn unique_keys<K: Hash + Eq + Copy>(keys: impl IntoIterator<Item = K>) -> Vec<K> {
    ParentKeys::new(keys).distinct
}

/// The keys of a set of parent rows, as relation loading needs them: the
/// distinct keys (in first-seen order), for the loader's one statement, and
/// whether some key is shared by several parents, in which case the groups
/// must be announced with [`Grouped::expect_uses`] before they are taken.
/// Parents keyed by their primary key share none, and then every group is
/// simply moved to its parent.
#[derive(Debug, Clone)]
struct ParentKeys<K> {
    distinct: Vec<K>,
    shared: bool,
}

impl<K: Hash + Eq + Copy> ParentKeys<K> {
    /// Collects the parents' keys, one item per parent (`None`s filtered out by the caller).
    fn new(keys: impl IntoIterator<Item = K>) -> Self {
        let keys = keys.into_iter();
        let mut seen = HashSet::with_capacity(keys.size_hint().0);
        let mut distinct = Vec::with_capacity(keys.size_hint().0);
        let mut shared = false;
        for key in keys {
            if seen.insert(key) {
                distinct.push(key);
            } else {
                shared = true;
            }
        }
        Self { distinct, shared }
    }
}

/// One relation of a set of parent rows: the parents' distinct keys for the
/// loader's one statement ([`keys`](Self::keys)), then, once the loader's
/// rows are in ([`load`](Self::load)), each parent's group ([`Related`]).
///
/// `key_of` reads a parent's key (`None` for a NULL key: that parent gets no
/// rows, and its key is not sent). This is what a generated `with_relations`
/// does per relation; sibling relations are loaded together
/// (`quarry::try_join`), so their statements are pipelined:
///
/// ```no_run
/// # async fn demo(db: &quarry::Pool) -> Result<(), quarry::Error> {
/// # #[derive(Clone)] struct Comment { post_id: i64 }
/// # async fn comments_by_post(_: &quarry::Pool, _: &[impl quarry::types::ToSql + Sync])
/// #     -> Result<quarry::ToMany<i64, Comment>, quarry::Error> { Ok(Default::default()) }
/// struct Post { id: i64 }
/// let posts = vec![Post { id: 1 }, Post { id: 2 }];
/// let comments = quarry::Relation::new(&posts, |post| Some(&post.id));
/// let mut comments = comments.load(comments_by_post(db, comments.keys())).await?;
/// for post in &posts {
///     let rows: Vec<Comment> = comments.take(post);
/// #   let _ = rows;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Relation<'p, P, K: ?Sized, F> {
    parents: &'p [P],
    key_of: F,
    keys: ParentKeys<&'p K>,
}

impl<'p, P, K, F> Relation<'p, P, K, F>
where
    K: Hash + Eq + ?Sized,
    F: for<'a> Fn(&'a P) -> Option<&'a K> + Copy,
{
    /// Collects the keys of `parents`, as `key_of` reads them.
    pub fn new(parents: &'p [P], key_of: F) -> Self {
        let keys = ParentKeys::new(parents.iter().filter_map(key_of));
        Self {
            parents,
            key_of,
            keys,
        }
    }

    /// The parents' distinct keys (NULLs left out), in first-seen order: the
    /// loader's argument.
    pub fn keys(&self) -> &[&'p K] {
        &self.keys.distinct
    }

    /// Awaits the loader's groups and prepares them for the parents: when
    /// some key is shared, the uses are counted first, so that every parent
    /// but the last with that key gets a clone.
    pub async fn load<G: Grouped<K>>(
        &self,
        loading: impl Future<Output = Result<G, Error>>,
    ) -> Result<Related<G, F>, Error> {
        let mut groups = loading.await?;
        if self.keys.shared {
            groups.expect_uses(self.parents.iter().filter_map(self.key_of));
        }
        Ok(Related {
            groups,
            key_of: self.key_of,
        })
    }
}

/// The rows of a loaded [`Relation`], handed to each parent with `take`:
/// moved out on the last use of a key, cloned before.
#[derive(Debug, Clone)]
pub struct Related<G, F> {
    groups: G,
    key_of: F,
}

impl<G, F> Related<G, F> {
    /// The loader's groups.
    pub fn into_inner(self) -> G {
        self.groups
    }
}

impl<Kg, R: Clone, F> Related<ToMany<Kg, R>, F> {
    /// The rows of `parent` (none for a NULL key).
    pub fn take<P, K>(&mut self, parent: &P) -> Vec<R>
    where
        F: for<'a> Fn(&'a P) -> Option<&'a K>,
        Kg: Hash + Eq + Borrow<K>,
        K: Hash + Eq + ?Sized,
    {
        (self.key_of)(parent).map_or_else(Vec::new, |key| self.groups.take(key))
    }
}

impl<Kg, R: Clone, F> Related<ToOne<Kg, R>, F> {
    /// The row of `parent`, if any (none for a NULL key).
    pub fn take<P, K>(&mut self, parent: &P) -> Option<R>
    where
        F: for<'a> Fn(&'a P) -> Option<&'a K>,
        Kg: Hash + Eq + Borrow<K>,
        K: Hash + Eq + ?Sized,
    {
        (self.key_of)(parent).and_then(|key| self.groups.take(key))
    }

    /// The row of `parent`, which the schema promises (a NOT NULL foreign
    /// key): its absence, a row deleted between the parent's statement and
    /// the loader's (`query`), is [`Error::MissingRelated`].
    pub fn take_required<P, K>(&mut self, parent: &P, query: &'static str) -> Result<R, Error>
    where
        F: for<'a> Fn(&'a P) -> Option<&'a K>,
        Kg: Hash + Eq + Borrow<K>,
        K: Hash + Eq + Debug + ?Sized,
    {
        let key = (self.key_of)(parent);
        key.and_then(|key| self.groups.take(key))
            .ok_or_else(|| Error::MissingRelated {
                query,
                key: key.map_or_else(|| "NULL".to_string(), |key| format!("{key:?}")),
            })
    }
}

/// Groups of rows by key that a [`Relation`] hands out: [`ToMany`] and
/// [`ToOne`], keyed by an owned form of the parents' key `Q`.
pub trait Grouped<Q: ?Sized> {
    /// Announces the parents' keys (one item per parent), so `take` can move
    /// a group out on its last use instead of cloning it. Needed only when
    /// several parents share a key: an unannounced group is moved out on its
    /// first `take`.
    fn expect_uses<'q>(&mut self, keys: impl IntoIterator<Item = &'q Q>)
    where
        Q: 'q;
}

impl<K, R, Q> Grouped<Q> for ToMany<K, R>
where
    K: Hash + Eq + Borrow<Q>,
    R: Clone,
    Q: Hash + Eq + ?Sized,
{
    fn expect_uses<'q>(&mut self, keys: impl IntoIterator<Item = &'q Q>)
    where
        Q: 'q,
    {
        self.groups.expect_uses(keys);
    }
}

impl<K, R, Q> Grouped<Q> for ToOne<K, R>
where
    K: Hash + Eq + Borrow<Q>,
    R: Clone,
    Q: Hash + Eq + ?Sized,
{
    fn expect_uses<'q>(&mut self, keys: impl IntoIterator<Item = &'q Q>)
    where
        Q: 'q,
    {
        self.rows.expect_uses(keys);
    }
}

/// Where a loader's hidden key is in its rows: the output column (index and
/// name) that is not a field of the row type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyColumn {
    /// Index of the column in the row.
    pub index: usize,
    /// Its name (for decode errors).
    pub name: &'static str,
}

/// Runs a loader's statement and decodes each row as `(key, row)`, reading the
/// key from the column `key`. Rows whose key is NULL are skipped: they
/// cannot belong to any parent.
///
/// Generated loaders use it when the key is not a field of the row (the
/// junction key of a derived many-to-many loader); otherwise they decode the
/// rows once and read the key from them ([`ToMany::from_rows`]).
pub async fn fetch_keyed<K, R, E>(
    db: &E,
    query: &Query,
    params: &[&(dyn ToSql + Sync)],
    key: KeyColumn,
) -> Result<Vec<(K, R)>, Error>
where
    K: for<'a> FromSql<'a>,
    R: FromRow,
    E: Executor + ?Sized,
{
    let rows = db.query(query, params).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let decoded = decode::<Option<K>>(row, key.index, key.name)
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
    /// Whether uses were announced ([`Groups::expect_uses`]); if not, every
    /// `take` moves the value out.
    counted: bool,
}

impl<K, V> Default for Groups<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            counted: false,
        }
    }
}

impl<K: Hash + Eq, V: Clone> Groups<K, V> {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            map: HashMap::with_capacity(capacity),
            counted: false,
        }
    }

    fn expect_uses<'q, Q: Hash + Eq + ?Sized + 'q>(&mut self, keys: impl IntoIterator<Item = &'q Q>)
    where
        K: Borrow<Q>,
    {
        self.counted = true;
        for key in keys {
            if let Some((_, uses)) = self.map.get_mut(key) {
                *uses += 1;
            }
        }
    }

    /// Without announced uses, one look-up that moves the value out (parents
    /// with distinct keys, the common case). With them, one look-up per
    /// clone, and a second one to move the value out on its last use.
    fn take<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        if self.counted {
            match self.map.get_mut(key) {
                None => return None,
                Some((value, uses)) if *uses > 1 => {
                    *uses -= 1;
                    return Some(value.clone());
                }
                Some(_) => {}
            }
        }
        self.map.remove(key).map(|(value, _)| value)
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
    /// Groups `(key, row)` pairs, keeping their order within each key;
    /// `capacity` is the expected number of keys.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (K, R)>, capacity: usize) -> Self {
        let mut groups = Groups::with_capacity(capacity);
        for (key, row) in pairs {
            groups
                .map
                .entry(key)
                .or_insert_with(|| (Vec::new(), 0))
                .0
                .push(row);
        }
        Self { groups }
    }

    /// Groups rows by the key `key_of` reads from each (rows without a key are
    /// dropped), keeping their order within each key; `capacity` is the
    /// expected number of keys.
    pub fn from_rows<F>(rows: Vec<R>, capacity: usize, key_of: F) -> Self
    where
        K: Clone,
        F: for<'r> Fn(&'r R) -> Option<&'r K>,
    {
        let mut groups: Groups<K, Vec<R>> = Groups::with_capacity(capacity);
        for row in rows {
            let Some(key) = key_of(&row) else {
                continue;
            };
            match groups.map.get_mut(key) {
                Some((group, _)) => group.push(row),
                None => {
                    let key = key.clone();
                    groups.map.insert(key, (vec![row], 0));
                }
            }
        }
        Self { groups }
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

    /// The rows for one parent's `key`: moved out on the last use announced
    /// with [`Grouped::expect_uses`], cloned before.
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
    /// Indexes `(key, row)` pairs (`capacity`: the expected number of keys);
    /// two rows for one key is [`Error::TooManyRows`] for `query`.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (K, R)>,
        capacity: usize,
        query: &Query,
    ) -> Result<Self, Error> {
        let mut rows = Groups::with_capacity(capacity);
        for (key, row) in pairs {
            if rows.map.insert(key, (row, 0)).is_some() {
                return Err(Error::TooManyRows {
                    query: query.name(),
                });
            }
        }
        Ok(Self { rows })
    }

    /// Indexes rows by the key `key_of` reads from each (rows without a key
    /// are dropped); two rows for one key is [`Error::TooManyRows`] for `query`.
    pub fn from_rows<F>(
        rows: Vec<R>,
        capacity: usize,
        key_of: F,
        query: &Query,
    ) -> Result<Self, Error>
    where
        K: Clone,
        F: for<'r> Fn(&'r R) -> Option<&'r K>,
    {
        let pairs = rows
            .into_iter()
            .filter_map(|row| key_of(&row).cloned().map(|key| (key, row)));
        Self::from_pairs(pairs, capacity, query)
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

    /// The row for one parent's `key`: moved out on the last use announced
    /// with [`Grouped::expect_uses`], cloned before.
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
    fn parent_keys_tell_whether_a_key_is_shared() {
        let distinct = ParentKeys::new([4, 2, 7]);
        assert_eq!(distinct.distinct, [4, 2, 7]);
        assert!(!distinct.shared);
        let shared = ParentKeys::new(["b", "a", "b"]);
        assert_eq!(shared.distinct, ["b", "a"]);
        assert!(shared.shared);
        let none = ParentKeys::new(Vec::<i32>::new());
        assert!(none.distinct.is_empty());
        assert!(!none.shared);
    }

    #[test]
    fn to_many_moves_on_last_use_and_clones_before() {
        let mut groups = ToMany::from_pairs([(1, "a"), (2, "b"), (1, "c")], 2);
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
    fn unannounced_groups_move_on_first_take() {
        let mut groups = ToMany::from_pairs([(1, "a"), (2, "b")], 0);
        assert_eq!(groups.take(&1), vec!["a"]);
        assert_eq!(groups.take(&1), Vec::<&str>::new());
        assert_eq!(groups.len(), 1);
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Comment {
        post_id: Option<i32>,
        text: &'static str,
    }

    fn comment(post_id: Option<i32>, text: &'static str) -> Comment {
        Comment { post_id, text }
    }

    #[test]
    fn to_many_from_rows_groups_by_the_key_read_from_each_row() {
        let rows = vec![
            comment(Some(1), "a"),
            comment(None, "orphan"),
            comment(Some(2), "b"),
            comment(Some(1), "c"),
        ];
        let groups = ToMany::from_rows(rows, 2, |row| row.post_id.as_ref());
        assert_eq!(groups.len(), 2, "the row without a key is dropped");
        let texts: Vec<&str> = groups.get(&1).iter().map(|c| c.text).collect();
        assert_eq!(texts, ["a", "c"], "order within a group is the loader's");
        assert_eq!(groups.get(&2), [comment(Some(2), "b")]);
    }

    #[test]
    fn to_one_rejects_two_rows_for_a_key() {
        const Q: Query = Query::new("AuthorsById", "SELECT 1");
        let one = ToOne::from_pairs([(String::from("x"), 1)], 1, &Q);
        let mut one = one.unwrap_or_default();
        assert_eq!(one.get("x"), Some(&1));
        one.expect_uses(["x"]);
        assert_eq!(one.take("x"), Some(1));
        assert_eq!(one.take("x"), None);
        let two = ToOne::from_pairs([(1, 'a'), (1, 'b')], 1, &Q);
        assert!(matches!(
            two,
            Err(Error::TooManyRows {
                query: "AuthorsById"
            })
        ));
        let rows = vec![comment(Some(1), "a"), comment(None, "b")];
        let by_post = ToOne::from_rows(rows, 1, |row| row.post_id.as_ref(), &Q);
        let by_post = by_post.unwrap_or_default();
        assert_eq!(by_post.len(), 1);
        assert_eq!(by_post.get(&1), Some(&comment(Some(1), "a")));
        let twice = vec![comment(Some(1), "a"), comment(Some(1), "b")];
        assert!(matches!(
            ToOne::from_rows(twice, 1, |row| row.post_id.as_ref(), &Q),
            Err(Error::TooManyRows {
                query: "AuthorsById"
            })
        ));
    }

    /// A row that counts its clones.
    #[derive(Debug)]
    struct Counted {
        text: &'static str,
        clones: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Clone for Counted {
        fn clone(&self) -> Self {
            self.clones
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Self {
                text: self.text,
                clones: self.clones.clone(),
            }
        }
    }

    struct Post {
        id: i64,
        editor: Option<String>,
    }

    fn post(id: i64, editor: Option<&str>) -> Post {
        Post {
            id,
            editor: editor.map(str::to_string),
        }
    }

    /// A loader over `keys` as generated ones are: the rows of the keys it knows.
    async fn comments_by_post(
        keys: &[impl ToSql + Sync],
        clones: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) -> Result<ToMany<i64, Counted>, Error> {
        let known: Vec<String> = keys.iter().map(|key| format!("{key:?}")).collect();
        let rows = [(1, "a"), (2, "b"), (1, "c"), (3, "unasked")];
        let pairs = rows
            .into_iter()
            .filter(|(key, _)| known.contains(&key.to_string()))
            .map(|(key, text)| {
                let clones = clones.clone();
                (key, Counted { text, clones })
            });
        Ok(ToMany::from_pairs(pairs, keys.len()))
    }

    fn texts(rows: &[Counted]) -> Vec<&'static str> {
        rows.iter().map(|row| row.text).collect()
    }

    #[tokio::test]
    async fn a_relation_moves_every_group_when_parents_share_no_key() -> Result<(), Error> {
        let clones = std::sync::Arc::default();
        let posts = vec![post(2, None), post(1, None), post(4, None)];
        let comments = Relation::new(&posts, |post| Some(&post.id));
        assert_eq!(comments.keys(), [&2, &1, &4], "distinct, first-seen order");
        let mut comments = comments
            .load(comments_by_post(comments.keys(), &clones))
            .await?;
        let got: Vec<Vec<&str>> = posts.iter().map(|p| texts(&comments.take(p))).collect();
        assert_eq!(got, [vec!["b"], vec!["a", "c"], vec![]]);
        assert_eq!(clones.load(std::sync::atomic::Ordering::Relaxed), 0);
        Ok(())
    }

    #[tokio::test]
    async fn a_relation_clones_a_shared_group_for_all_but_its_last_parent() -> Result<(), Error> {
        let clones = std::sync::Arc::default();
        let posts = vec![post(1, None), post(2, None), post(1, None), post(1, None)];
        let comments = Relation::new(&posts, |post| Some(&post.id));
        assert_eq!(comments.keys(), [&1, &2], "each key is sent once");
        let mut comments = comments
            .load(comments_by_post(comments.keys(), &clones))
            .await?;
        for post in &posts {
            let expected = if post.id == 1 {
                vec!["a", "c"]
            } else {
                vec!["b"]
            };
            assert_eq!(texts(&comments.take(post)), expected);
        }
        // Two rows for key 1, cloned for the first two of its three parents.
        assert_eq!(clones.load(std::sync::atomic::Ordering::Relaxed), 4);
        assert!(comments.into_inner().is_empty(), "the last uses moved");
        Ok(())
    }

    #[tokio::test]
    async fn a_relation_skips_null_keys_and_reports_a_missing_required_row() -> Result<(), Error> {
        const Q: Query = Query::new("AuthorsByName", "SELECT 1");
        let posts = vec![post(1, Some("ann")), post(2, None), post(3, Some("bob"))];
        let editors = Relation::new(&posts, |post| post.editor.as_ref());
        assert_eq!(editors.keys(), [&"ann".to_string(), &"bob".to_string()]);
        let loading = async {
            let rows = [("ann".to_string(), 10)];
            ToOne::from_pairs(rows, editors.keys().len(), &Q)
        };
        let mut editors = editors.load(loading).await?;
        assert_eq!(editors.take(&posts[0]), Some(10));
        assert_eq!(editors.take(&posts[1]), None, "a NULL key has no row");
        assert_eq!(editors.take(&posts[2]), None);
        let missing = editors.take_required(&posts[2], "AuthorsByName");
        assert!(
            matches!(&missing, Err(Error::MissingRelated { query: "AuthorsByName", key }) if key == "\"bob\""),
            "{missing:?}"
        );
        let null = editors.take_required(&posts[1], "AuthorsByName");
        assert!(
            matches!(&null, Err(Error::MissingRelated { key, .. }) if key == "NULL"),
            "{null:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_relation_passes_the_loader_error_on() {
        let posts = vec![post(1, None)];
        let comments = Relation::new(&posts, |post| Some(&post.id));
        let failing = async { Err::<ToMany<i64, i64>, _>(Error::NotFound { query: "Comments" }) };
        let result = comments.load(failing).await;
        assert!(matches!(result, Err(Error::NotFound { query: "Comments" })));
    }
}
