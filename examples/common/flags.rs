//! What every example's command line shares: clap's derive API parses the
//! flags (`--help` lists each with its default; an unknown flag or a bad
//! value is a usage error, exit status 2), and this file holds the value
//! parsers more than one example needs. Each example includes it with
//! `#[path]`.

/// A count of at least 1, such as `--conns 19000`, also written `19_000`.
pub fn count(s: &str) -> Result<usize, String> {
    match s.replace('_', "").parse() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a count: {e}")),
    }
}
