//! The routing tree (Go's `routingNode`): host, then method, then one
//! level per path segment, each leaf naming the route registered there.
//!
//! # Why the first match is the most specific
//! A lookup tries the request's host before the host-less patterns, the
//! exact method before GET-for-HEAD before any method, and at each path
//! level a literal child before the single wildcard before the multi
//! wildcard, backtracking when a branch fails. The conflict check at
//! registration leaves only patterns where, of two that match a request,
//! one is more specific in every part (method and each segment). Every
//! preference above picks the more specific part first, so the first
//! match found is the most specific one.
//!
//! # Invariants
//! - A node holds at most one route per slot: two patterns landing on the
//!   same slot are equivalent, which registration refuses.
//! - `literals` is sorted by key, so a lookup is a binary search.
//! - A lookup allocates nothing unless a segment has a `%` escape.

use http::Method;

use super::path::{first_segment, unescape};
use super::pattern::{Pattern, Segment};

/// A route's index in the mux's table.
pub(crate) type RouteId = usize;

/// The whole tree: host-specific subtrees, then the host-less one.
#[derive(Default)]
pub(crate) struct Tree {
    hosts: Vec<(Box<str>, Methods)>,
    any_host: Methods,
}

/// One host's patterns, by method.
#[derive(Default)]
struct Methods {
    by_method: Vec<(Method, Node)>,
    any: Node,
}

/// One path level.
#[derive(Default)]
struct Node {
    /// The pattern that ends exactly here (no trailing slash).
    route: Option<RouteId>,
    /// Literal next segments, sorted by the decoded text.
    literals: Vec<(Box<str>, Node)>,
    /// `{name}` as the next segment.
    single: Option<Box<Node>>,
    /// `{$}`: a trailing slash ends the pattern here.
    end: Option<RouteId>,
    /// `{name...}` or a trailing slash: the rest of the path.
    multi: Option<RouteId>,
}

impl Tree {
    /// Adds `p` as route `id`. `p` conflicts with no route already in.
    pub(crate) fn insert(&mut self, p: &Pattern, id: RouteId) {
        let methods = if p.host.is_empty() {
            &mut self.any_host
        } else {
            match self.hosts.iter().position(|(h, _)| *h == p.host) {
                Some(i) => &mut self.hosts[i].1,
                None => {
                    self.hosts.push((p.host.clone(), Methods::default()));
                    &mut self.hosts.last_mut().expect("just pushed").1
                }
            }
        };
        methods.node_mut(p.method.as_ref()).insert(&p.segments, id);
    }

    /// The most specific route for `host` (no port), `method` and the clean
    /// `path`, followed by a `/` when `slash`.
    pub(crate) fn find(&self, host: &str, method: &Method, path: &str, slash: bool) -> Option<RouteId> {
        if let Some(id) = self.host(host).and_then(|m| m.find(method, path, slash)) {
            return Some(id);
        }
        self.any_host.find(method, path, slash)
    }

    /// Adds to `out` each method a pattern for `host` and `path` names
    /// (patterns for any method are not asked: the caller already found
    /// none match).
    pub(crate) fn methods_for(&self, host: &str, path: &str, slash: bool, out: &mut Vec<Method>) {
        for methods in self.host(host).into_iter().chain([&self.any_host]) {
            let found = methods.by_method.iter().filter(|(_, n)| n.find(path, slash).is_some());
            out.extend(found.map(|(m, _)| m.clone()));
        }
    }

    /// Whether any pattern names a host.
    pub(crate) fn has_hosts(&self) -> bool {
        !self.hosts.is_empty()
    }

    fn host(&self, host: &str) -> Option<&Methods> {
        if host.is_empty() {
            return None;
        }
        self.hosts.iter().find(|(h, _)| **h == *host).map(|(_, m)| m)
    }
}

impl Methods {
    fn node_mut(&mut self, method: Option<&Method>) -> &mut Node {
        let Some(method) = method else { return &mut self.any };
        match self.by_method.iter().position(|(m, _)| m == method) {
            Some(i) => &mut self.by_method[i].1,
            None => {
                self.by_method.push((method.clone(), Node::default()));
                &mut self.by_method.last_mut().expect("just pushed").1
            }
        }
    }

    fn node(&self, method: &Method) -> Option<&Node> {
        self.by_method.iter().find(|(m, _)| m == method).map(|(_, n)| n)
    }

    fn find(&self, method: &Method, path: &str, slash: bool) -> Option<RouteId> {
        let exact = || self.node(method)?.find(path, slash);
        let get_for_head =
            || (*method == Method::HEAD).then(|| self.node(&Method::GET)?.find(path, slash)).flatten();
        exact().or_else(get_for_head).or_else(|| self.any.find(path, slash))
    }
}

impl Node {
    fn insert(&mut self, segments: &[Segment], id: RouteId) {
        let slot = match segments.split_first() {
            None => &mut self.route,
            Some((Segment::End, _)) => &mut self.end,
            Some((Segment::Multi(_), _)) => &mut self.multi,
            Some((Segment::Wild(_), rest)) => return self.single.get_or_insert_default().insert(rest, id),
            Some((Segment::Literal(l), rest)) => return self.literal_mut(l).insert(rest, id),
        };
        assert!(
            slot.replace(id).is_none(),
            "ServeMux: two routes on one tree slot (the conflict check missed them)"
        );
    }

    fn literal_mut(&mut self, key: &str) -> &mut Node {
        let i = match self.literals.binary_search_by(|(k, _)| (**k).cmp(key)) {
            Ok(i) => i,
            Err(i) => {
                self.literals.insert(i, (key.into(), Node::default()));
                i
            }
        };
        &mut self.literals[i].1
    }

    fn literal(&self, key: &str) -> Option<&Node> {
        let i = self.literals.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        Some(&self.literals[i].1)
    }

    /// The route for the rest of the path, `""` or starting with `/`
    /// (Go's `matchPath`); `slash` appends a virtual `/`.
    fn find(&self, path: &str, slash: bool) -> Option<RouteId> {
        match (path, slash) {
            ("", false) => self.route,
            // A trailing slash: `{$}`, else the subtree; never `{name}`.
            ("", true) | ("/", false) => self.end.or(self.multi),
            _ => self.find_segment(path, slash),
        }
    }

    fn find_segment(&self, path: &str, slash: bool) -> Option<RouteId> {
        let (seg, rest) = first_segment(path);
        let seg = unescape(seg);
        if let Some(id) = self.literal(&seg).and_then(|n| n.find(rest, slash)) {
            return Some(id);
        }
        if let Some(id) = self.single.as_ref().and_then(|n| n.find(rest, slash)) {
            return Some(id);
        }
        self.multi
    }
}
