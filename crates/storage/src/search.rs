//! A user search as SQL: [`UserSearch`] compiled to a sea-query condition and order, every
//! value a bound parameter, answering exactly as `persona_domain::query::search_in` does.
//!
//! How the meaning is kept on both backends:
//! - case-ignoring matches compare the `*_key` columns (lower-cased in Rust, see `keys`) with
//!   the lower-cased value, so SQL's `lower()` (ASCII only on SQLite) is never used;
//! - texts compare and sort by bytes: SQLite's default `BINARY` collation, and on PostgreSQL
//!   the columns are `COLLATE "C"` (migration m0002);
//! - prefixes are ranges (`col >= p AND col < next(p)`), which the btree indexes serve on both;
//! - substrings and suffixes are `LIKE` with `%`, `_` and `\` escaped on PostgreSQL (where
//!   `LIKE` is case-sensitive), and `instr` / `substr` on SQLite (whose `LIKE` ignores ASCII
//!   case);
//! - a machine's missing texts are the empty strings its row holds, its display name is its
//!   `machine_name`, and a missing phone is `''` (`COALESCE`), so no live row yields NULL
//!   and `NOT` keeps two-valued logic.

use crate::config::Backend;
use crate::entities::users::{self, Column};
use crate::keys::search_key;
use persona_domain::query::{
    Comparison, KindFilter, OrgScope, SortField, TextField, TextMatch, TimeField, UserFilter, UserSearch,
};
use persona_domain::user::UserState;
use sea_orm::sea_query::{Asterisk, Condition, Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select};

/// Most values in one `IN (...)`: longer lists are split, far below every parameter limit.
const IN_CHUNK: usize = 1000;

/// Which users `search` finds, before ordering and paging: never removed ones, only in scope.
pub(crate) fn condition(search: &UserSearch, backend: Backend) -> Condition {
    let mut all = Condition::all().add(Expr::col(Column::State).ne(UserState::Deleted.number()));
    if let OrgScope::Orgs(orgs) = &search.scope {
        all = all.add(is_in(Column::OrgId, orgs.iter().map(|org| org.as_str().to_owned()), backend));
    }
    all.add(filter(&search.filter, backend))
}

/// The page of `search`: its condition, ordered by the sort column then id, offset and limit.
pub(crate) fn page(search: &UserSearch, condition: Condition) -> Select<users::Entity> {
    let order = if search.ascending { Order::Asc } else { Order::Desc };
    let offset = Ord::min(search.offset, i64::MAX.unsigned_abs());
    users::Entity::find()
        .filter(condition)
        .order_by(sort_expr(search.sort), order.clone())
        .order_by(Expr::col(Column::Id), order)
        .offset(offset)
        .limit(u64::from(search.limit))
}

/// How many users the condition finds, as a one-column select of `COUNT(*)`.
pub(crate) fn count(condition: Condition) -> Select<users::Entity> {
    users::Entity::find().select_only().column_as(Expr::col(Asterisk).count(), "total").filter(condition)
}

/// The total, when the page alone tells it: a page shorter than the limit is the end of the
/// list, unless it is empty after an offset (the list may have ended earlier).
pub(crate) fn total_from_page(offset: u64, limit: u32, found: usize) -> Option<u64> {
    let found = u64::try_from(found).unwrap_or(u64::MAX);
    (found < u64::from(limit) && (found > 0 || offset == 0)).then(|| offset.saturating_add(found))
}

/// False (an empty OR).
fn never() -> Condition {
    Condition::any()
}

/// Whether PostgreSQL could hold `text`: it has no NUL in text, so no stored value contains one
/// and a value with one matches nothing (binding it would fail).
fn storable(text: &str, backend: Backend) -> bool {
    backend != Backend::Postgres || !text.contains('\0')
}

fn filter(filter: &UserFilter, backend: Backend) -> Condition {
    match filter {
        UserFilter::Text { field, value, method } => text(*field, value, *method, backend),
        UserFilter::Compare { field, op, value, ignore_case } => compare(*field, *op, value, *ignore_case, backend),
        UserFilter::Time { field, op, at } => {
            let column = match field {
                TimeField::Created => Column::CreatedAt,
                TimeField::Changed => Column::ChangedAt,
            };
            Condition::all().add(ordered(Expr::col(column), *op, at.unix_micros()))
        }
        UserFilter::State(state) => Condition::all().add(Expr::col(Column::State).eq(state.number())),
        UserFilter::Kind(kind) => Condition::all().add(kind_is(*kind)),
        UserFilter::InIds(ids) => is_in(Column::Id, ids.iter().map(|id| id.as_str().to_owned()), backend),
        UserFilter::InEmails(emails) => Condition::all().add(kind_is(KindFilter::Human)).add(is_in(
            Column::EmailKey,
            emails.iter().map(|email| search_key(email)),
            backend,
        )),
        UserFilter::Org(org) => is_in(Column::OrgId, [org.as_str().to_owned()], backend),
        UserFilter::And(all) => all.iter().fold(Condition::all(), |c, f| c.add(self::filter(f, backend))),
        UserFilter::Or(any) => any.iter().fold(Condition::any(), |c, f| c.add(self::filter(f, backend))),
        UserFilter::Not(inner) => self::filter(inner, backend).not(),
    }
}

fn kind_is(kind: KindFilter) -> Expr {
    Expr::col(Column::Kind).eq(match kind {
        KindFilter::Human => "human",
        KindFilter::Machine => "machine",
    })
}

/// `column IN (values)`, in chunks; false for no values.
fn is_in(column: Column, values: impl IntoIterator<Item = String>, backend: Backend) -> Condition {
    let values: Vec<String> = values.into_iter().filter(|value| storable(value, backend)).collect();
    values.chunks(IN_CHUNK).fold(never(), |any, chunk| any.add(Expr::col(column).is_in(chunk.iter().cloned())))
}

/// A text field's value as `search_in` sees it (`query::text_of`).
fn field_expr(field: TextField) -> Expr {
    match field {
        TextField::UserName => Expr::col(Column::UserName),
        TextField::FirstName => Expr::col(Column::FirstName),
        TextField::LastName => Expr::col(Column::LastName),
        TextField::NickName => Expr::col(Column::NickName),
        TextField::DisplayName => display_name(),
        TextField::Email => Expr::col(Column::Email),
        TextField::Phone => Func::coalesce([Expr::col(Column::Phone), Expr::val("")]).into(),
        TextField::ExternalId => Expr::col(Column::ExternalId),
    }
}

/// A human's display name, a machine's name.
fn display_name() -> Expr {
    Expr::case(Expr::col(Column::Kind).eq("machine"), Expr::col(Column::MachineName))
        .finally(Expr::col(Column::DisplayName))
        .into()
}

/// The lower-cased column of a field (`user_name_key` is NULL for removed users only, which
/// no search finds).
fn key_column(field: TextField) -> Column {
    match field {
        TextField::UserName => Column::UserNameKey,
        TextField::FirstName => Column::FirstNameKey,
        TextField::LastName => Column::LastNameKey,
        TextField::NickName => Column::NickNameKey,
        TextField::DisplayName => Column::DisplayNameKey,
        TextField::Email => Column::EmailKey,
        TextField::Phone => Column::PhoneKey,
        TextField::ExternalId => Column::ExternalIdKey,
    }
}

fn text(field: TextField, value: &str, method: TextMatch, backend: Backend) -> Condition {
    let (target, pattern) = if method.ignores_case() {
        (Expr::col(key_column(field)), search_key(value))
    } else {
        (field_expr(field), value.to_owned())
    };
    if !storable(&pattern, backend) {
        return never();
    }
    let expr = match method {
        TextMatch::Equals | TextMatch::EqualsIgnoreCase => target.eq(pattern),
        // Every text starts with, contains and ends with the empty string.
        _ if pattern.is_empty() => return Condition::all(),
        TextMatch::StartsWith | TextMatch::StartsWithIgnoreCase => starts_with(target, pattern),
        TextMatch::Contains | TextMatch::ContainsIgnoreCase => contains(target, pattern, backend),
        TextMatch::EndsWith | TextMatch::EndsWithIgnoreCase => ends_with(target, &pattern, backend),
    };
    Condition::all().add(expr)
}

/// A text field ordered against a bound: by bytes, on the key column when case is ignored.
fn compare(field: TextField, op: Comparison, value: &str, ignore_case: bool, backend: Backend) -> Condition {
    let (target, bound) = if ignore_case {
        (Expr::col(key_column(field)), search_key(value))
    } else {
        (field_expr(field), value.to_owned())
    };
    if !storable(&bound, backend) {
        // No stored text holds a NUL: order it by the part before the NUL, which sorts below
        // the whole bound, so `>`/`>=` hold from that part on and `<`/`<=` stay below or equal.
        let head = bound.split('\0').next().unwrap_or_default().to_owned();
        let expr = match op {
            Comparison::Equal => return never(),
            Comparison::Greater | Comparison::GreaterOrEqual => target.clone().gt(head.clone()),
            Comparison::Less | Comparison::LessOrEqual => target.clone().lte(head.clone()),
        };
        return Condition::all().add(expr);
    }
    Condition::all().add(ordered(target, op, bound))
}

/// `target <op> value`.
fn ordered<V: Into<sea_orm::Value>>(target: Expr, op: Comparison, value: V) -> Expr {
    match op {
        Comparison::Equal => target.eq(value),
        Comparison::Greater => target.gt(value),
        Comparison::GreaterOrEqual => target.gte(value),
        Comparison::Less => target.lt(value),
        Comparison::LessOrEqual => target.lte(value),
    }
}

/// `target` starts with `prefix` (not empty): a byte range, so an index serves it.
fn starts_with(target: Expr, prefix: String) -> Expr {
    match prefix_end(&prefix) {
        Some(end) => target.clone().gte(prefix).and(target.lt(end)),
        None => target.gte(prefix),
    }
}

fn contains(target: Expr, part: String, backend: Backend) -> Expr {
    match backend {
        Backend::Postgres => target.like(LikeExpr::new(format!("%{}%", like_escaped(&part))).escape('\\')),
        Backend::Sqlite => Expr::from(Func::cust("instr").arg(target).arg(part)).gt(0),
    }
}

fn ends_with(target: Expr, suffix: &str, backend: Backend) -> Expr {
    match backend {
        Backend::Postgres => target.like(LikeExpr::new(format!("%{}", like_escaped(suffix))).escape('\\')),
        Backend::Sqlite => {
            // substr counts characters (code points), as Rust's chars.
            let chars = i64::try_from(suffix.chars().count()).unwrap_or(i64::MAX);
            Expr::from(Func::cust("substr").arg(target).arg(-chars)).eq(suffix)
        }
    }
}

/// `text` as a literal part of a `LIKE` pattern whose escape character is `\`.
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The least text greater than every text that starts with `prefix`, in byte order (UTF-8
/// keeps code-point order): the prefix with its last character that has a successor replaced
/// by that successor, and what follows dropped. `None` when every character is `char::MAX`.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The sort column: what `UserSearch::sort_key` compares.
fn sort_expr(sort: SortField) -> Expr {
    match sort {
        SortField::CreationDate => Expr::col(Column::CreatedAt),
        SortField::UserName => Expr::col(Column::UserName),
        SortField::FirstName => Expr::col(Column::FirstName),
        SortField::LastName => Expr::col(Column::LastName),
        SortField::NickName => Expr::col(Column::NickName),
        SortField::DisplayName => display_name(),
        SortField::Email => Expr::col(Column::Email),
        SortField::State => Expr::col(Column::State),
        // "human" < "machine", as humans (0) before machines (1).
        SortField::Kind => Expr::col(Column::Kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use persona_domain::query::SortField;
    use sea_orm::{DbBackend, QueryTrait};

    fn search(filter: UserFilter) -> UserSearch {
        UserSearch { scope: OrgScope::All, filter, sort: SortField::UserName, ascending: true, offset: 0, limit: 10 }
    }

    #[test]
    fn prefix_ends_follow_the_last_character_that_has_a_successor() {
        assert_eq!(prefix_end("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_end("a\u{7f}").as_deref(), Some("a\u{80}"));
        assert_eq!(prefix_end("a\u{d7ff}").as_deref(), Some("a\u{e000}"), "surrogates are no characters");
        assert_eq!(prefix_end("ab\u{10ffff}").as_deref(), Some("ac"));
        assert_eq!(prefix_end("\u{10ffff}"), None);
        for (text, prefix) in [("abcz", "abc"), ("ab\u{10ffff}x", "ab\u{10ffff}"), ("a\u{80}", "a")] {
            let end = prefix_end(prefix).unwrap_or_default();
            assert!(
                text.starts_with(prefix) && prefix <= text && text < end.as_str(),
                "{text:?} in [{prefix:?}, {end:?})"
            );
        }
        assert!("abd" >= prefix_end("abc").unwrap_or_default().as_str(), "the end itself is outside");
    }

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(like_escaped(r"50%_off\now"), r"50\%\_off\\now");
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let value = "x' OR '1'='1";
        let filter = UserFilter::Or(vec![
            UserFilter::Text { field: TextField::Email, value: value.to_owned(), method: TextMatch::Contains },
            UserFilter::Text { field: TextField::UserName, value: value.to_owned(), method: TextMatch::StartsWith },
        ]);
        for (backend, db) in [(Backend::Sqlite, DbBackend::Sqlite), (Backend::Postgres, DbBackend::Postgres)] {
            let s = search(filter.clone());
            let statement = page(&s, condition(&s, backend)).build(db);
            assert!(!statement.sql.contains("OR '1'"), "{}", statement.sql);
            assert!(statement.values.is_some_and(|v| !v.0.is_empty()));
        }
    }

    #[test]
    fn empty_lists_and_trees_compile_to_constants() {
        let never = UserFilter::Or(vec![]);
        let none = UserFilter::InIds(vec![]);
        for filter in [never, none] {
            let s = search(filter);
            let sql = page(&s, condition(&s, Backend::Sqlite)).build(DbBackend::Sqlite).sql;
            assert!(sql.contains("FALSE"), "{sql}");
        }
    }

    #[test]
    fn a_page_shorter_than_the_limit_tells_the_total() {
        assert_eq!(total_from_page(0, 10, 3), Some(3));
        assert_eq!(total_from_page(20, 10, 3), Some(23));
        assert_eq!(total_from_page(0, 10, 0), Some(0));
        assert_eq!(total_from_page(20, 10, 0), None, "the list may end before the offset");
        assert_eq!(total_from_page(0, 10, 10), None, "a full page may have more after it");
        assert_eq!(total_from_page(0, 0, 0), None);
    }
}
