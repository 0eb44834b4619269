//! What each implementation loaded, reduced to numbers that must agree
//! before anything is timed.

/// Counts and checksums of one result.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Users (rows of `trivial_query` and `medium_complex_query`).
    pub users: usize,
    /// Posts (joined or loaded).
    pub posts: usize,
    /// Comments.
    pub comments: usize,
    /// Sum of every id seen (users, posts and comments).
    pub ids: i64,
    /// Bytes of every string seen.
    pub bytes: usize,
    /// NULLs seen (hair colours, bodies, nullable tags).
    pub nulls: usize,
}

impl Summary {
    pub fn user(&mut self, id: i32, name: &str, hair_color: Option<&str>) {
        self.users += 1;
        self.ids += i64::from(id);
        self.bytes += name.len() + hair_color.map_or(0, str::len);
        self.nulls += usize::from(hair_color.is_none());
    }

    #[allow(clippy::too_many_arguments)]
    pub fn post(
        &mut self,
        id: i32,
        user_id: i32,
        title: &str,
        body: Option<&str>,
        tags: &[String],
        nullable_tags: Option<&[String]>,
    ) {
        self.posts += 1;
        self.ids += i64::from(id) + i64::from(user_id);
        self.bytes += title.len() + body.map_or(0, str::len);
        self.bytes += tags.iter().map(String::len).sum::<usize>();
        self.bytes += nullable_tags.map_or(0, |tags| tags.iter().map(String::len).sum());
        self.nulls += usize::from(body.is_none()) + usize::from(nullable_tags.is_none());
    }

    pub fn comment(&mut self, id: i32, post_id: i32, text: &str) {
        self.comments += 1;
        self.ids += i64::from(id) + i64::from(post_id);
        self.bytes += text.len();
    }
}
