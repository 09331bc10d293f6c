//! Patterns (Go 1.22's `[METHOD ][HOST]/PATH`): parsing, and how two
//! patterns relate, which is what decides precedence and conflicts.
//!
//! # Invariants of a parsed [`Pattern`]
//! - The path has at least one segment. A [`Segment::Multi`] or
//!   [`Segment::End`] is only ever the last one; a trailing `/` is a
//!   `Multi` with an empty name, and matches the subtree.
//! - Literal segments are stored percent-decoded, as request segments are
//!   compared decoded.
//! - Wildcard names are identifiers and distinct within the pattern.
//! - With a method other than `CONNECT`, the path is clean (paths are
//!   cleaned before matching, so an unclean one could never match).
//!
//! # Precedence
//! Two patterns relate as equivalent, disjoint, one more specific than the
//! other, or overlapping: each matches a request the other does not, and
//! some request both (Go's `relationship`). The relation combines the
//! method's and the path's, segment by segment. Patterns with a host never
//! conflict with ones without (the host-specific pattern wins); two
//! patterns with the same host conflict when they are equivalent or
//! overlap, so among registered patterns the most specific one matching a
//! request is always unique.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use http::Method;

use super::path;

/// One path segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Matches this exact (decoded) segment.
    Literal(Box<str>),
    /// `{name}`: any one segment, not a trailing slash.
    Wild(Box<str>),
    /// `{name...}`, or a trailing `/` (empty name): the rest of the path,
    /// possibly empty.
    Multi(Box<str>),
    /// `{$}`: a trailing slash, then the end.
    End,
}

impl Segment {
    /// The wildcard's name, if it is a named wildcard.
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            Segment::Wild(n) | Segment::Multi(n) if !n.is_empty() => Some(n),
            _ => None,
        }
    }
}

/// A parsed pattern; see the module doc for its invariants.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub(crate) text: Box<str>,
    pub(crate) method: Option<Method>,
    /// Empty when the pattern has no host.
    pub(crate) host: Box<str>,
    pub(crate) segments: Vec<Segment>,
}

/// Where [`Pattern::next_value`] is in a pattern and its path.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    segment: usize,
    at: usize,
}

/// How a pattern relates to another (Go's `relationship`), read as
/// "p1 is … p2".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Equivalent,
    MoreGeneral,
    MoreSpecific,
    Disjoint,
    Overlaps,
}

use Relation::{Disjoint, Equivalent, MoreGeneral, MoreSpecific, Overlaps};

/// Why a pattern was refused: at which byte offset, and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) offset: usize,
    pub(crate) reason: Cow<'static, str>,
}

fn invalid(offset: usize, reason: impl Into<Cow<'static, str>>) -> Invalid {
    Invalid { offset, reason: reason.into() }
}

impl Pattern {
    /// Parses `s` (Go's `parsePattern`).
    pub(crate) fn parse(s: &str) -> Result<Pattern, Invalid> {
        if s.is_empty() {
            return Err(invalid(0, "empty pattern"));
        }
        let (method, rest, mut off) = match s.find([' ', '\t']) {
            Some(i) => {
                let rest = s[i + 1..].trim_start_matches([' ', '\t']);
                (parse_method(&s[..i])?, rest, s.len() - rest.len())
            }
            None => (None, s, 0),
        };
        let slash = rest.find('/').ok_or_else(|| invalid(off, "host/path missing /"))?;
        let (host, path) = rest.split_at(slash);
        if let Some(j) = host.find('{') {
            return Err(invalid(off + j, "host contains '{' (missing initial '/'?)"));
        }
        off += slash;
        let connect = method.as_ref().is_none_or(|m| *m == Method::CONNECT);
        if !connect && path::clean(path) != path {
            return Err(invalid(off, "non-CONNECT pattern with unclean path can never match"));
        }
        let segments = parse_segments(path, off)?;
        Ok(Pattern { text: s.into(), method, host: host.into(), segments })
    }

    /// The last segment (there is always one).
    fn last(&self) -> &Segment {
        self.segments.last().expect("Pattern: no segments")
    }

    /// Whether the last segment is a multi wildcard or a trailing slash.
    pub(crate) fn ends_in_multi(&self) -> bool {
        matches!(self.last(), Segment::Multi(_))
    }

    /// Whether `path` (clean, followed by a `/` when `slash`), which this
    /// pattern matches, leaves its multi wildcard nothing (Go's
    /// `exactMatch`): `/a/` matches `/a/` exactly but `/a/b` only as part
    /// of the subtree. A pattern with no multi wildcard always matches
    /// exactly.
    pub(crate) fn matches_exactly(&self, path: &str, slash: bool) -> bool {
        if !self.ends_in_multi() {
            return true;
        }
        if !slash && !path.ends_with('/') {
            return false;
        }
        self.segments.len() == memchr::memchr_iter(b'/', path.as_bytes()).count() + usize::from(slash)
    }

    /// The next named wildcard of this pattern and the span of `path` it
    /// matched, resuming from `cur` (start with `Cursor::default()`).
    /// `path` must be one this pattern matches.
    pub(crate) fn next_value<'p>(&'p self, path: &str, cur: &mut Cursor) -> Option<(&'p str, Range<usize>)> {
        while let Some(seg) = self.segments.get(cur.segment) {
            cur.segment += 1;
            match seg {
                Segment::Literal(_) | Segment::Wild(_) => {
                    let start = cur.at + 1;
                    cur.at = start + path::first_segment(&path[cur.at..]).0.len();
                    if let Segment::Wild(name) = seg {
                        return Some((name, start..cur.at));
                    }
                }
                Segment::Multi(name) if !name.is_empty() => return Some((name, cur.at + 1..path.len())),
                Segment::Multi(_) | Segment::End => return None,
            }
        }
        None
    }

    /// Whether `self` and `other` match a common request with neither more
    /// specific: registering both is an error.
    pub(crate) fn conflicts_with(&self, other: &Pattern) -> bool {
        self.host == other.host && matches!(self.relation(other), Equivalent | Overlaps)
    }

    /// How `self` relates to `other` in method and path (hosts aside).
    pub(crate) fn relation(&self, other: &Pattern) -> Relation {
        let m = compare_methods(self.method.as_ref(), other.method.as_ref());
        if m == Disjoint {
            return Disjoint;
        }
        combine(m, self.compare_paths(other))
    }

    fn compare_paths(&self, other: &Pattern) -> Relation {
        let (s1, s2) = (&self.segments, &other.segments);
        if s1.len() != s2.len() && !self.ends_in_multi() && !other.ends_in_multi() {
            return Disjoint;
        }
        let mut rel = Equivalent;
        for (a, b) in s1.iter().zip(s2) {
            rel = combine(rel, compare_segments(a, b));
            if rel == Disjoint {
                return Disjoint;
            }
        }
        match s1.len().cmp(&s2.len()) {
            std::cmp::Ordering::Equal => rel,
            std::cmp::Ordering::Less if self.ends_in_multi() => combine(rel, MoreGeneral),
            std::cmp::Ordering::Greater if other.ends_in_multi() => combine(rel, MoreSpecific),
            _ => Disjoint,
        }
    }

    /// Why `self` and `other` conflict, in a sentence or two.
    pub(crate) fn describe_conflict(&self, other: &Pattern) -> String {
        let m = compare_methods(self.method.as_ref(), other.method.as_ref());
        let p = self.compare_paths(other);
        let (a, b) = (&self.text, &other.text);
        match (combine(m, p), m, p) {
            (Equivalent, ..) => format!("{a} matches the same requests as {b}"),
            (_, _, Overlaps) => format!(
                "{a} and {b} both match some paths, like {:?}, but neither is more specific than the other",
                common_path(self, other)
            ),
            (_, MoreGeneral, _) => {
                format!("{a} matches more methods than {b}, but has a more specific path pattern")
            }
            _ => format!("{a} matches fewer methods than {b}, but has a more general path pattern"),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The method before the space; an empty one means any (as in Go).
fn parse_method(m: &str) -> Result<Option<Method>, Invalid> {
    if m.is_empty() {
        return Ok(None);
    }
    Method::from_bytes(m.as_bytes()).map(Some).map_err(|_| invalid(0, format!("invalid method {m:?}")))
}

/// Parses the path part, which starts with `/`; `off` is its offset in
/// the whole pattern.
fn parse_segments(path: &str, off: usize) -> Result<Vec<Segment>, Invalid> {
    let mut segments: Vec<Segment> = Vec::new();
    let mut rest = path;
    while let Some(after) = rest.strip_prefix('/') {
        let at = off + path.len() - after.len();
        if after.is_empty() {
            segments.push(Segment::Multi("".into()));
            break;
        }
        let end = after.find('/').unwrap_or(after.len());
        let (seg, tail) = after.split_at(end);
        rest = tail;
        let Some(brace) = seg.find('{') else {
            segments.push(Segment::Literal(path::unescape(seg).into()));
            continue;
        };
        let segment = parse_wildcard(seg, brace, tail.is_empty()).map_err(|r| invalid(at, r))?;
        if let Some(name) = segment.name().filter(|n| segments.iter().any(|s: &Segment| s.name() == Some(n)))
        {
            return Err(invalid(at, format!("duplicate wildcard name {name:?}")));
        }
        segments.push(segment);
    }
    Ok(segments)
}

/// Parses one segment holding a `{`, at byte `brace`; `last` says whether
/// it ends the path.
fn parse_wildcard(seg: &str, brace: usize, last: bool) -> Result<Segment, Cow<'static, str>> {
    if brace != 0 {
        return Err("bad wildcard segment (must start with '{')".into());
    }
    let Some(name) = seg[1..].strip_suffix('}') else {
        return Err("bad wildcard segment (must end with '}')".into());
    };
    if name == "$" {
        return if last { Ok(Segment::End) } else { Err("{$} not at end".into()) };
    }
    let (name, multi) = match name.strip_suffix("...") {
        Some(n) => (n, true),
        None => (name, false),
    };
    if multi && !last {
        return Err("{...} wildcard not at end".into());
    }
    if name.is_empty() {
        return Err("empty wildcard".into());
    }
    if !is_identifier(name) {
        return Err(format!("bad wildcard name {name:?}").into());
    }
    Ok(if multi { Segment::Multi(name.into()) } else { Segment::Wild(name.into()) })
}

/// Go's identifier rule: a letter or `_`, then letters, digits and `_`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn compare_methods(m1: Option<&Method>, m2: Option<&Method>) -> Relation {
    match (m1, m2) {
        (None, None) => Equivalent,
        (None, Some(_)) => MoreGeneral,
        (Some(_), None) => MoreSpecific,
        (Some(a), Some(b)) if a == b => Equivalent,
        // GET also serves HEAD.
        (Some(&Method::GET), Some(&Method::HEAD)) => MoreGeneral,
        (Some(&Method::HEAD), Some(&Method::GET)) => MoreSpecific,
        _ => Disjoint,
    }
}

fn compare_segments(s1: &Segment, s2: &Segment) -> Relation {
    use Segment::{End, Literal, Multi, Wild};
    match (s1, s2) {
        (Multi(_), Multi(_)) | (Wild(_), Wild(_)) | (End, End) => Equivalent,
        (Multi(_), _) => MoreGeneral,
        (_, Multi(_)) => MoreSpecific,
        // A single wildcard does not match a trailing slash.
        (Wild(_), End) | (End, Wild(_)) => Disjoint,
        (Wild(_), Literal(_)) => MoreGeneral,
        (Literal(_), Wild(_)) => MoreSpecific,
        (Literal(a), Literal(b)) if a == b => Equivalent,
        _ => Disjoint,
    }
}

/// Go's `combineRelationships`: the relation of two patterns from the
/// relations of two of their parts.
pub(crate) fn combine(r1: Relation, r2: Relation) -> Relation {
    match (r1, r2) {
        (Equivalent, r) | (r, Equivalent) => r,
        (Disjoint, _) | (_, Disjoint) => Disjoint,
        (Overlaps, _) | (_, Overlaps) => Overlaps,
        (a, b) if a == b => a,
        _ => Overlaps,
    }
}

/// A path both patterns match (for conflict messages).
fn common_path(p1: &Pattern, p2: &Pattern) -> String {
    let (s1, s2) = (&p1.segments, &p2.segments);
    let mut out = String::new();
    for (a, b) in s1.iter().zip(s2) {
        write_segment(&mut out, if matches!(a, Segment::Wild(_) | Segment::Multi(_)) { b } else { a });
    }
    let longer = if s1.len() > s2.len() { s1 } else { s2 };
    for s in &longer[s1.len().min(s2.len())..] {
        write_segment(&mut out, s);
    }
    out
}

fn write_segment(out: &mut String, s: &Segment) {
    out.push('/');
    match s {
        Segment::Literal(l) => out.push_str(l),
        Segment::Wild(name) => out.push_str(name),
        Segment::Multi(_) | Segment::End => {}
    }
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
