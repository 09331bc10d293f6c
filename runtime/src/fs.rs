//! `gort::fs`: file helpers that run on [`blocking`], so a
//! slow disk holds one OS thread, never a P.

use std::io;
use std::path::Path;

use crate::sched::blocking::blocking;

/// Reads a whole file ([`std::fs::read`] on a blocking call).
///
/// ```
/// let bytes = gort::go!(|| gort::fs::read("Cargo.toml")).join().unwrap().unwrap();
/// assert!(!bytes.is_empty());
/// ```
pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    blocking(|| std::fs::read(path))
}

/// Reads a whole file as UTF-8 ([`std::fs::read_to_string`] on a blocking call).
pub fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    blocking(|| std::fs::read_to_string(path))
}

/// Writes a whole file, replacing it ([`std::fs::write`] on a blocking call).
///
/// ```
/// let p = std::env::temp_dir().join(format!("gort-fs-doc-{}", std::process::id()));
/// gort::fs::write(&p, b"hi").unwrap();
/// assert_eq!(gort::fs::read_to_string(&p).unwrap(), "hi");
/// std::fs::remove_file(p).unwrap();
/// ```
pub fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    blocking(|| std::fs::write(path, contents))
}
