//! The examples' command lines: `--help` prints usage with each flag's
//! default and exits 0, hiding c10k's child modes; an unknown flag or a bad
//! value is a usage error with exit status 2; c10k's load generator that
//! cannot connect says so on its row line. The example binaries are the
//! ones `cargo test` builds beside the tests, in target/<profile>/examples/.

mod common;

use std::process::{Command, Output};

/// Runs target/<profile>/examples/`name` with `args`.
fn example(name: &str, args: &[&str]) -> Output {
    Command::new(common::example_bin(name)).args(args).output().unwrap_or_else(|e| panic!("run {name}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn c10k_help_prints_usage_with_defaults_and_hides_child_modes() {
    let out = example("c10k", &["--help"]);
    let help = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{help}{}", text(&out.stderr));
    assert!(help.contains("Usage: c10k"), "{help}");
    let shown =
        ["--conns <N>", "[default: 10000]", "--secs <S>", "[default: 5]", "--shared", "--http", "--floor"];
    for shown in shown.into_iter().chain(["--rounds <N>", "[default: 2]"]) {
        assert!(help.contains(shown), "help lacks {shown:?}: {help}");
    }
    for hidden in ["--server", "--client", "--addr", "--cpus"] {
        assert!(!help.contains(hidden), "help shows the child mode {hidden:?}: {help}");
    }
}

#[test]
fn every_example_prints_its_defaults() {
    for (name, defaults) in [
        ("echo", &["--addr <HOST:PORT>", "[default: 127.0.0.1:7000]"][..]),
        ("million", &["--gs <N>", "[default: 1000000]", "--threads <N>", "[default: 10000]"]),
        ("switchlab", &["--json", "--quick"]),
        (
            "hello",
            &["--addr <HOST:PORT>", "[default: 127.0.0.1:8080]", "--tls-cert <PATH>", "--tls-key <PATH>"],
        ),
        (
            "loadgen",
            &[
                "--url <URL>",
                "[default: http://127.0.0.1:8080/hello/gopher]",
                "[default: 50]",
                "[default: 10s]",
            ],
        ),
        ("pool", &["--requests <N>", "[default: 1000]", "--connect-delay <DURATION>", "--idle <N>"]),
    ] {
        let out = example(name, &["--help"]);
        let help = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{name}: {help}{}", text(&out.stderr));
        assert!(help.contains(&format!("Usage: {name}")), "{name}: {help}");
        for d in defaults {
            assert!(help.contains(d), "{name}: help lacks {d:?}: {help}");
        }
    }
}

#[test]
fn unknown_flags_and_bad_values_are_usage_errors() {
    for (name, args, says) in [
        ("c10k", &["--no-such-flag"][..], "unexpected argument '--no-such-flag'"),
        ("c10k", &["--conns", "many"], "invalid value 'many' for '--conns <N>'"),
        ("c10k", &["--secs", "0"], "invalid value '0' for '--secs <S>'"),
        ("c10k", &["--http=yes"], "--http"),
        ("c10k", &["--rounds", "3"], "--floor"),
        ("c10k", &["--floor", "--rounds", "0"], "invalid value '0' for '--rounds <N>'"),
        ("c10k", &["--floor", "--http"], "cannot be used with"),
        ("echo", &["--port", "7000"], "unexpected argument '--port'"),
        ("echo", &["--addr", "nonsense"], "expected host:port"),
        ("million", &["--gs", "lots"], "invalid value 'lots' for '--gs <N>'"),
        ("million", &["--threads", "0"], "must be at least 1"),
        ("switchlab", &["--jsn"], "unexpected argument '--jsn'"),
        ("switchlab", &["--quick=yes"], "--quick"),
        ("hello", &["--tls-cert", "c.pem"], "--tls-key"),
        ("hello", &["--addr", "nonsense"], "expected host:port"),
        (
            "thread_per_conn_http",
            &["--addr", "127.0.0.1:99999"],
            "invalid value '127.0.0.1:99999' for '--addr",
        ),
        ("loadgen", &["-d", "soon"], "bad duration"),
        ("loadgen", &["--serve", "nonsense"], "invalid value 'nonsense' for '--serve <ADDR>'"),
        ("pool", &["--requests", "many"], "invalid value 'many' for '--requests <N>'"),
    ] {
        let out = example(name, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {err}{}", text(&out.stdout));
        assert!(err.contains(says), "{name} {args:?}: stderr lacks {says:?}: {err}");
    }
}

#[test]
fn c10k_client_that_cannot_connect_says_so_in_its_row_line() {
    // A port nothing listens on: bound, then closed.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let out = example("c10k", &["--client", "--addr", &addr, "--conns", "3", "--secs", "1"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let says = format!("failed: connection 1 of 3 to {addr}: Connection refused");
    assert!(stdout.starts_with(&says), "stdout lacks {says:?}: {stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
