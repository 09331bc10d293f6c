//! Unit tests of pattern parsing and of how patterns relate, with the
//! examples of Go's `pattern_test.go` and ServeMux documentation.

use super::*;

fn parse(s: &str) -> Pattern {
    Pattern::parse(s).unwrap_or_else(|e| panic!("parse({s:?}): {e:?}"))
}

fn lit(s: &str) -> Segment {
    Segment::Literal(s.into())
}
fn wild(s: &str) -> Segment {
    Segment::Wild(s.into())
}
fn multi(s: &str) -> Segment {
    Segment::Multi(s.into())
}

#[test]
fn parses_method_host_and_segments() {
    let cases: &[(&str, Option<Method>, &str, Vec<Segment>)] = &[
        ("/", None, "", vec![multi("")]),
        ("/a", None, "", vec![lit("a")]),
        ("/a/", None, "", vec![lit("a"), multi("")]),
        ("/path/to/something", None, "", vec![lit("path"), lit("to"), lit("something")]),
        ("/{w1}/lit/{w2}", None, "", vec![wild("w1"), lit("lit"), wild("w2")]),
        ("/{w1}/lit/{w2}/", None, "", vec![wild("w1"), lit("lit"), wild("w2"), multi("")]),
        ("example.com/", None, "example.com", vec![multi("")]),
        ("GET /", Some(Method::GET), "", vec![multi("")]),
        ("POST example.com/foo/{w}", Some(Method::POST), "example.com", vec![lit("foo"), wild("w")]),
        ("/{$}", None, "", vec![Segment::End]),
        (
            "DELETE example.com/a/{foo12}/{$}",
            Some(Method::DELETE),
            "example.com",
            vec![lit("a"), wild("foo12"), Segment::End],
        ),
        ("/foo/{$}", None, "", vec![lit("foo"), Segment::End]),
        ("/{a}/foo/{rest...}", None, "", vec![wild("a"), lit("foo"), multi("rest")]),
        ("//", None, "", vec![lit(""), multi("")]),
        ("/foo///./../bar", None, "", vec![lit("foo"), lit(""), lit(""), lit("."), lit(".."), lit("bar")]),
        ("a.com/foo//", None, "a.com", vec![lit("foo"), lit(""), multi("")]),
        ("/%61%62/%7b/%", None, "", vec![lit("ab"), lit("{"), lit("%")]),
        ("GET\t  /x", Some(Method::GET), "", vec![lit("x")]),
        ("PURGE /{π}", Some(Method::from_bytes(b"PURGE").unwrap()), "", vec![wild("π")]),
        ("CONNECT //a/../b", Some(Method::CONNECT), "", vec![lit(""), lit("a"), lit(".."), lit("b")]),
    ];
    for (s, method, host, segments) in cases {
        let p = parse(s);
        assert_eq!((&p.method, &*p.host, &p.segments), (method, *host, segments), "{s:?}");
    }
}

#[test]
fn rejects_invalid_patterns_with_offset_and_reason() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "empty pattern"),
        ("A=B /", 0, "invalid method"),
        (" ", 1, "host/path missing /"),
        ("/{w}x", 1, "bad wildcard segment"),
        ("/x{w}", 1, "bad wildcard segment"),
        ("/{wx", 1, "bad wildcard segment"),
        ("/a/{/}/c", 3, "bad wildcard segment"),
        ("/{a/b}", 1, "bad wildcard segment"),
        ("/{}", 1, "empty wildcard"),
        ("POST a.com/{}", 11, "empty wildcard"),
        ("/{...}", 1, "empty wildcard"),
        ("/{$...}", 1, "bad wildcard"),
        ("/{$}/", 1, "{$} not at end"),
        ("/{$}/x", 1, "{$} not at end"),
        ("/abc/{$}/x", 5, "{$} not at end"),
        ("/{a...}/", 1, "not at end"),
        ("/{a...}/x", 1, "not at end"),
        ("{a}/b", 0, "missing initial '/'"),
        ("/a/{x}/b/{x...}", 9, "duplicate wildcard name"),
        ("GET //", 4, "unclean path"),
        ("GET /a/../b", 4, "unclean path"),
        ("/{1a}", 1, "bad wildcard name"),
    ];
    for (s, offset, reason) in cases {
        let e = Pattern::parse(s).expect_err(s);
        assert!(e.reason.contains(reason), "{s:?}: got {:?}, want {reason:?}", e.reason);
        assert_eq!(e.offset, *offset, "{s:?}: offset");
    }
}

fn rel(a: &str, b: &str) -> Relation {
    parse(a).relation(&parse(b))
}

/// Each pair both ways: the relation is antisymmetric.
#[test]
fn relations_as_go() {
    let cases = [
        ("/a", "/a", Equivalent),
        ("/a", "/b", Disjoint),
        ("/a", "/", MoreSpecific),
        ("/a", "/{$}", Disjoint),
        ("/a", "/{x}", MoreSpecific),
        ("/a", "/{x...}", MoreSpecific),
        ("/b/{x}", "/b/c", MoreGeneral),
        ("/a/{x}", "/{x}/b", Overlaps),
        ("/a/{x}", "/a/{y}", Equivalent),
        ("/a/", "/a/{x...}", Equivalent),
        ("/a/", "/a", Disjoint),
        ("/a/{$}", "/a/", MoreSpecific),
        ("/a/{$}", "/a/{x}", Disjoint),
        ("/{$}", "/", MoreSpecific),
        ("/a/b/{x...}", "/a/{y}/", MoreSpecific),
        ("/a/{x}/{y...}", "/{z}/b/", Overlaps),
        ("/a/b", "/a/b/c", Disjoint),
        ("/a/b/", "/a/b/c", MoreGeneral),
        ("GET /", "/", MoreSpecific),
        ("GET /", "POST /", Disjoint),
        ("GET /", "HEAD /", MoreGeneral),
        ("HEAD /a", "GET /", MoreSpecific),
        ("GET /a/{x}", "/a/b", Overlaps),
        ("/a/b", "GET /a/", Overlaps),
        ("GET /a/b", "/a/", MoreSpecific),
    ];
    for (a, b, want) in cases {
        assert_eq!(rel(a, b), want, "{a:?} vs {b:?}");
        let back = match want {
            MoreGeneral => MoreSpecific,
            MoreSpecific => MoreGeneral,
            r => r,
        };
        assert_eq!(rel(b, a), back, "{b:?} vs {a:?}");
    }
}

#[test]
fn conflicts_as_go() {
    let cases = [
        ("/a/{x}", "/{x}/b", true),
        ("/b/{x}", "/b/c", false),
        ("GET /", "/", false),
        ("/a", "/a", true),
        ("/a/", "/a/{rest...}", true),
        ("GET /a/{x}", "/a/b", true),
        ("a.com/a/{x}", "/{x}/b", false),
        ("a.com/a/{x}", "a.com/{x}/b", true),
        ("a.com/", "b.com/", false),
        ("GET /", "HEAD /", false),
        ("POST /x", "PUT /x", false),
    ];
    for (a, b, want) in cases {
        assert_eq!(parse(a).conflicts_with(&parse(b)), want, "{a:?} vs {b:?}");
        assert_eq!(parse(b).conflicts_with(&parse(a)), want, "{b:?} vs {a:?}");
    }
}

#[test]
fn conflict_descriptions_say_why() {
    let d = parse("/a/{x}").describe_conflict(&parse("/{y}/b"));
    assert!(d.contains("both match some paths, like \"/a/b\""), "{d}");
    let d = parse("/a").describe_conflict(&parse("/a"));
    assert_eq!(d, "/a matches the same requests as /a");
    let d = parse("/a/b").describe_conflict(&parse("GET /a/"));
    assert_eq!(d, "/a/b matches more methods than GET /a/, but has a more specific path pattern");
    let d = parse("GET /a/").describe_conflict(&parse("/a/b"));
    assert_eq!(d, "GET /a/ matches fewer methods than /a/b, but has a more general path pattern");
}

#[test]
fn exact_matches_as_go() {
    assert!(parse("/a/b").matches_exactly("/a/b", false));
    assert!(parse("/a/").matches_exactly("/a/", false));
    assert!(!parse("/a/").matches_exactly("/a/b", false));
    assert!(!parse("/a/").matches_exactly("/a/b/", false));
    assert!(parse("/a/").matches_exactly("/a", true));
    assert!(parse("/a/{$}").matches_exactly("/a/", false));
    assert!(!parse("/").matches_exactly("/a", true));
}

#[test]
fn next_value_walks_the_wildcards() {
    let p = parse("/{a}/x/{b}/{rest...}");
    let path = "/one/x/t%20wo/3/4/";
    let mut cur = Cursor::default();
    let mut got = Vec::new();
    while let Some((name, span)) = p.next_value(path, &mut cur) {
        got.push((name, &path[span]));
    }
    assert_eq!(got, [("a", "one"), ("b", "t%20wo"), ("rest", "3/4/")]);
    let p = parse("/{a}/");
    let mut cur = Cursor::default();
    assert_eq!(p.next_value("/z/q", &mut cur).map(|(n, s)| (n, &"/z/q"[s])), Some(("a", "z")));
    assert_eq!(p.next_value("/z/q", &mut cur), None, "the anonymous trailing multi has no value");
}
