//! SCIM filters (RFC 7644 §3.4.2.2): parsed into a tree, then compiled to the domain's
//! [`UserFilter`] (which storage compiles to bound, indexed SQL), or evaluated against one
//! element of a multi-valued attribute for PATCH paths such as `emails[type eq "work"]`.
//!
//! Every operator (`eq ne co sw ew pr gt ge lt le`), `and`/`or`/`not`, grouping, value paths
//! (`emails[value co "@example.com"]`), attribute names and operators in any case, and the
//! core schema's URN as a prefix. Strings compare as the schema declares: case ignored except
//! for `externalId` and `id`. Anything else is refused as `invalidFilter`.

use crate::errors::ScimError;
use crate::resource::USER_SCHEMA;
use persona_domain::query::{Comparison, TextField, TextMatch, TimeField, UserFilter};
use persona_domain::time::Timestamp;
use persona_domain::user::UserState;
use serde_json::Value;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_BYTES: usize = 8 * 1024;
/// Deepest nesting of groups, `not` and value paths the parser follows.
const MAX_NESTING: usize = 32;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co`
    Co,
    /// `sw`
    Sw,
    /// `ew`
    Ew,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

/// An attribute path: `name.givenName`, with the schema URN (if given) checked and dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The attribute, lower-cased.
    pub attr: String,
    /// The sub-attribute, lower-cased.
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses `[urn:...:User:]attr[.sub]`.
    ///
    /// # Errors
    /// A message when it is not an attribute path of the core User schema.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let rest = if raw.len() > USER_SCHEMA.len() && raw[..USER_SCHEMA.len()].eq_ignore_ascii_case(USER_SCHEMA) {
            raw[USER_SCHEMA.len()..].strip_prefix(':').ok_or_else(|| format!("{raw:?} is no attribute path"))?
        } else if raw.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            return Err(format!("{raw:?} names a schema Persona does not serve"));
        } else {
            raw
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((attr, sub)) => (attr, Some(sub)),
            None => (rest, None),
        };
        let name_ok = |n: &str| {
            n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        };
        if !name_ok(attr) || sub.is_some_and(|s| !name_ok(s)) {
            return Err(format!("{raw:?} is no attribute path"));
        }
        Ok(Self { attr: attr.to_ascii_lowercase(), sub: sub.map(str::to_ascii_lowercase) })
    }

    /// `attr.sub` (or `attr`), lower-cased.
    #[must_use]
    pub fn full(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}.{sub}", self.attr),
            None => self.attr.clone(),
        }
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`.
    Compare {
        /// The attribute.
        path: AttrPath,
        /// The operator.
        op: Op,
        /// The value (string, number, boolean or null).
        value: Value,
    },
    /// `path pr`.
    Present(AttrPath),
    /// `a and b and ...`.
    And(Vec<Filter>),
    /// `a or b or ...`.
    Or(Vec<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
    /// `attr[filter]`: some element of a multi-valued attribute matches.
    ValuePath {
        /// The multi-valued attribute.
        attr: AttrPath,
        /// The condition on one element (its paths are the element's sub-attributes).
        filter: Box<Filter>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Word(String),
    Text(String),
}

fn tokens(input: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (i, c) in chars.by_ref() {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or("a string is not closed")?;
                let text: String =
                    serde_json::from_str(&input[start..=end]).map_err(|e| format!("a string is malformed: {e}"))?;
                out.push(Token::Text(text));
            }
            _ => {
                let mut end = input.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                out.push(Token::Word(input[start..end].to_owned()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case(keyword));
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, token: &Token, what: &str) -> Result<(), String> {
        if self.tokens.get(self.at) == Some(token) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("{what} expected"))
        }
    }

    fn nested<T>(&mut self, inner: impl FnOnce(&mut Self) -> Result<T, String>) -> Result<T, String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!("the filter nests deeper than {MAX_NESTING} levels"));
        }
        let result = inner(self);
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut any = vec![self.and()?];
        while self.keyword("or") {
            any.push(self.and()?);
        }
        Ok(if any.len() == 1 { any.remove(0) } else { Filter::Or(any) })
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut all = vec![self.unary()?];
        while self.keyword("and") {
            all.push(self.unary()?);
        }
        Ok(if all.len() == 1 { all.remove(0) } else { Filter::And(all) })
    }

    fn unary(&mut self) -> Result<Filter, String> {
        if self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case("not"))
            && self.tokens.get(self.at + 1) == Some(&Token::Open)
        {
            self.at += 1;
            return self.nested(|p| Ok(Filter::Not(Box::new(p.group()?))));
        }
        if self.tokens.get(self.at) == Some(&Token::Open) {
            return self.nested(Self::group);
        }
        self.attribute_expression()
    }

    fn group(&mut self) -> Result<Filter, String> {
        self.expect(&Token::Open, "'('")?;
        let inner = self.or()?;
        self.expect(&Token::Close, "')'")?;
        Ok(inner)
    }

    fn attribute_expression(&mut self) -> Result<Filter, String> {
        let Some(Token::Word(word)) = self.tokens.get(self.at).cloned() else {
            return Err("an attribute expected".to_owned());
        };
        self.at += 1;
        let path = AttrPath::parse(&word)?;
        if self.tokens.get(self.at) == Some(&Token::OpenBracket) {
            if path.sub.is_some() {
                return Err(format!("{word:?} cannot hold a value filter"));
            }
            self.at += 1;
            let filter = self.nested(Self::or)?;
            self.expect(&Token::CloseBracket, "']'")?;
            return Ok(Filter::ValuePath { attr: path, filter: Box::new(filter) });
        }
        if self.keyword("pr") {
            return Ok(Filter::Present(path));
        }
        let op = self.peek_word().and_then(Op::parse).ok_or_else(|| format!("an operator expected after {word:?}"))?;
        self.at += 1;
        let value = match self.tokens.get(self.at).cloned() {
            Some(Token::Text(text)) => Value::String(text),
            Some(Token::Word(word)) => match word.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                number => serde_json::from_str::<serde_json::Number>(number)
                    .map(Value::Number)
                    .map_err(|_| format!("{number:?} is no value"))?,
            },
            _ => return Err("a value expected".to_owned()),
        };
        self.at += 1;
        Ok(Filter::Compare { path, op, value })
    }
}

/// Parses a filter.
///
/// # Errors
/// `invalidFilter` for a filter that is too long, malformed or nested too deep.
pub fn parse(input: &str) -> Result<Filter, ScimError> {
    if input.len() > MAX_FILTER_BYTES {
        return Err(ScimError::filter(format!("the filter is longer than {MAX_FILTER_BYTES} bytes")));
    }
    parse_tokens(input).map_err(|e| ScimError::filter(format!("invalid filter: {e}")))
}

fn parse_tokens(input: &str) -> Result<Filter, String> {
    let tokens = tokens(input)?;
    if tokens.is_empty() {
        return Err("the filter is empty".to_owned());
    }
    let mut parser = Parser { tokens, at: 0, depth: 0 };
    let filter = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err("unexpected text after the filter".to_owned());
    }
    Ok(filter)
}

/// Parses the value filter of a PATCH path (`type eq "work"` in `emails[type eq "work"]`).
///
/// # Errors
/// A message for a malformed filter.
pub fn parse_element_filter(input: &str) -> Result<Filter, String> {
    parse_tokens(input)
}

/// What a filterable attribute is, for the compiler.
enum Attr {
    Id,
    Text(TextField, bool),
    Active,
    Time(TimeField),
    /// `emails.type`, `phoneNumbers.type`: the one stored value is the `work` one.
    Type(UserFilter),
    /// `emails.primary`, `phoneNumbers.primary`: the one stored value is primary.
    Primary(UserFilter),
    /// Always present on a user (`name`, `meta`).
    Always,
}

fn has(field: TextField) -> UserFilter {
    UserFilter::Not(Box::new(UserFilter::Text { field, value: String::new(), method: TextMatch::Equals }))
}

fn never() -> UserFilter {
    UserFilter::Or(Vec::new())
}

fn always() -> UserFilter {
    UserFilter::And(Vec::new())
}

fn resolve(full: &str) -> Result<Attr, String> {
    Ok(match full {
        "id" => Attr::Id,
        "username" => Attr::Text(TextField::UserName, true),
        "name.givenname" => Attr::Text(TextField::FirstName, true),
        "name.familyname" => Attr::Text(TextField::LastName, true),
        "displayname" => Attr::Text(TextField::DisplayName, true),
        "nickname" => Attr::Text(TextField::NickName, true),
        "emails" | "emails.value" => Attr::Text(TextField::Email, true),
        "phonenumbers" | "phonenumbers.value" => Attr::Text(TextField::Phone, true),
        "externalid" => Attr::Text(TextField::ExternalId, false),
        "active" => Attr::Active,
        "meta.created" => Attr::Time(TimeField::Created),
        "meta.lastmodified" => Attr::Time(TimeField::Changed),
        "emails.type" => Attr::Type(has(TextField::Email)),
        "phonenumbers.type" => Attr::Type(has(TextField::Phone)),
        "emails.primary" => Attr::Primary(has(TextField::Email)),
        "phonenumbers.primary" => Attr::Primary(has(TextField::Phone)),
        "name" | "meta" | "meta.resourcetype" | "meta.location" | "meta.version" | "schemas" => Attr::Always,
        other => return Err(format!("Persona cannot filter on {other:?}")),
    })
}

fn negated(op: Op, filter: UserFilter) -> UserFilter {
    if op == Op::Ne { UserFilter::Not(Box::new(filter)) } else { filter }
}

fn text_value(value: &Value, full: &str) -> Result<String, String> {
    value.as_str().map(str::to_owned).ok_or_else(|| format!("{full} compares with a string"))
}

fn compare(full: &str, op: Op, value: &Value) -> Result<UserFilter, String> {
    let unsupported = || format!("{full} does not support this operator");
    Ok(match resolve(full)? {
        Attr::Id => match op {
            Op::Eq | Op::Ne => {
                negated(op, UserFilter::InIds(vec![persona_domain::ids::UserId::new(text_value(value, full)?)]))
            }
            _ => return Err(unsupported()),
        },
        Attr::Text(field, ignore_case) => {
            let value = text_value(value, full)?;
            let method = |exact, ignoring| if ignore_case { ignoring } else { exact };
            let order = |op| UserFilter::Compare { field, op, value: value.clone(), ignore_case };
            match op {
                Op::Eq | Op::Ne => negated(
                    op,
                    UserFilter::Text {
                        field,
                        value: value.clone(),
                        method: method(TextMatch::Equals, TextMatch::EqualsIgnoreCase),
                    },
                ),
                Op::Co => UserFilter::Text {
                    field,
                    value,
                    method: method(TextMatch::Contains, TextMatch::ContainsIgnoreCase),
                },
                Op::Sw => UserFilter::Text {
                    field,
                    value,
                    method: method(TextMatch::StartsWith, TextMatch::StartsWithIgnoreCase),
                },
                Op::Ew => UserFilter::Text {
                    field,
                    value,
                    method: method(TextMatch::EndsWith, TextMatch::EndsWithIgnoreCase),
                },
                Op::Gt => order(Comparison::Greater),
                Op::Ge => order(Comparison::GreaterOrEqual),
                Op::Lt => order(Comparison::Less),
                Op::Le => order(Comparison::LessOrEqual),
            }
        }
        Attr::Active => {
            let active = value.as_bool().ok_or_else(|| format!("{full} compares with true or false"))?;
            let inactive = UserFilter::State(UserState::Inactive);
            let is = if active { UserFilter::Not(Box::new(inactive)) } else { inactive };
            match op {
                Op::Eq | Op::Ne => negated(op, is),
                _ => return Err(unsupported()),
            }
        }
        Attr::Time(field) => {
            let at = timestamp(&text_value(value, full)?).ok_or_else(|| format!("{full} compares with a dateTime"))?;
            let time = |op| UserFilter::Time { field, op, at };
            match op {
                Op::Eq | Op::Ne => negated(op, time(Comparison::Equal)),
                Op::Gt => time(Comparison::Greater),
                Op::Ge => time(Comparison::GreaterOrEqual),
                Op::Lt => time(Comparison::Less),
                Op::Le => time(Comparison::LessOrEqual),
                _ => return Err(unsupported()),
            }
        }
        Attr::Type(present) => {
            let value = text_value(value, full)?;
            match op {
                Op::Eq | Op::Ne => negated(op, if value.eq_ignore_ascii_case("work") { present } else { never() }),
                _ => return Err(unsupported()),
            }
        }
        Attr::Primary(present) => {
            let primary = value.as_bool().ok_or_else(|| format!("{full} compares with true or false"))?;
            match op {
                Op::Eq | Op::Ne => negated(op, if primary { present } else { never() }),
                _ => return Err(unsupported()),
            }
        }
        Attr::Always => return Err(unsupported()),
    })
}

fn present(full: &str) -> Result<UserFilter, String> {
    Ok(match resolve(full)? {
        Attr::Id | Attr::Active | Attr::Time(_) | Attr::Always => always(),
        Attr::Text(field, _) => has(field),
        Attr::Type(present) | Attr::Primary(present) => present,
    })
}

fn compile_in(filter: &Filter, parent: Option<&str>) -> Result<UserFilter, String> {
    let full = |path: &AttrPath| -> Result<String, String> {
        match parent {
            None => Ok(path.full()),
            Some(_) if path.sub.is_some() => Err(format!("{} is no sub-attribute", path.full())),
            Some(parent) => Ok(format!("{parent}.{}", path.attr)),
        }
    };
    Ok(match filter {
        Filter::Compare { path, op, value } => compare(&full(path)?, *op, value)?,
        Filter::Present(path) => present(&full(path)?)?,
        Filter::And(all) => UserFilter::And(all.iter().map(|f| compile_in(f, parent)).collect::<Result<_, _>>()?),
        Filter::Or(any) => UserFilter::Or(any.iter().map(|f| compile_in(f, parent)).collect::<Result<_, _>>()?),
        Filter::Not(inner) => UserFilter::Not(Box::new(compile_in(inner, parent)?)),
        Filter::ValuePath { attr, filter } => {
            if parent.is_some() || !matches!(attr.attr.as_str(), "emails" | "phonenumbers") {
                return Err(format!("{} holds no values to filter", attr.full()));
            }
            compile_in(filter, Some(&attr.attr))?
        }
    })
}

/// The domain filter of a SCIM filter.
///
/// # Errors
/// `invalidFilter` for an attribute Persona cannot filter on, an operator the attribute does
/// not support, or a value of the wrong type.
pub fn compile(filter: &Filter) -> Result<UserFilter, ScimError> {
    compile_in(filter, None).map_err(|e| ScimError::filter(format!("invalid filter: {e}")))
}

/// An RFC 3339 instant, to the microsecond.
#[must_use]
pub fn timestamp(text: &str) -> Option<Timestamp> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(Timestamp::from_unix_micros(parsed.timestamp_micros()))
}

/// Whether one element of a multi-valued attribute (an email or phone number object)
/// satisfies a value filter whose paths are the element's sub-attributes. Strings compare with
/// case ignored (the core schema's `value`, `type` and `display` are not case-exact).
///
/// # Errors
/// A message for a filter that does not fit an element (nested value paths, sub-paths).
pub fn element_matches(filter: &Filter, element: &serde_json::Map<String, Value>) -> Result<bool, String> {
    let get = |path: &AttrPath| -> Result<Option<&Value>, String> {
        if path.sub.is_some() {
            return Err(format!("{} is no sub-attribute", path.full()));
        }
        Ok(element.iter().find(|(k, _)| k.eq_ignore_ascii_case(&path.attr)).map(|(_, v)| v).filter(|v| !v.is_null()))
    };
    Ok(match filter {
        Filter::Present(path) => get(path)?.is_some_and(|v| v.as_str() != Some("")),
        Filter::Compare { path, op, value } => {
            let actual = get(path)?;
            let result = match (actual, value) {
                (Some(Value::String(a)), Value::String(b)) => {
                    let (a, b) = (a.to_lowercase(), b.to_lowercase());
                    match op {
                        Op::Eq | Op::Ne => a == b,
                        Op::Co => a.contains(&b),
                        Op::Sw => a.starts_with(&b),
                        Op::Ew => a.ends_with(&b),
                        Op::Gt => a > b,
                        Op::Ge => a >= b,
                        Op::Lt => a < b,
                        Op::Le => a <= b,
                    }
                }
                (Some(Value::Bool(a)), Value::Bool(b)) if matches!(op, Op::Eq | Op::Ne) => a == b,
                (None, Value::Null) if matches!(op, Op::Eq | Op::Ne) => true,
                // The one value Persona keeps is the primary one.
                (None, Value::Bool(primary)) if matches!(op, Op::Eq | Op::Ne) && path.attr == "primary" => *primary,
                _ => false,
            };
            if *op == Op::Ne { !result } else { result }
        }
        Filter::And(all) => {
            let mut result = true;
            for f in all {
                result &= element_matches(f, element)?;
            }
            result
        }
        Filter::Or(any) => {
            let mut result = false;
            for f in any {
                result |= element_matches(f, element)?;
            }
            result
        }
        Filter::Not(inner) => !element_matches(inner, element)?,
        Filter::ValuePath { .. } => return Err("value filters do not nest".to_owned()),
    })
}
