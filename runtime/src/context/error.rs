//! Why a context ended: [`Error`], and its conversion into `io::Error`.

use std::fmt;
use std::io;
use std::sync::Arc;

/// What [`Context::cause`](super::Context::cause) returns: the error given
/// to [`Cancel::cancel_with`](super::Cancel::cancel_with), else the
/// context's [`Error`].
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// Why a context ended (Go's `context.Canceled` and
/// `context.DeadlineExceeded`).
///
/// It converts into an [`io::Error`] whose inner error
/// ([`get_ref`](io::Error::get_ref), [`into_inner`](io::Error::into_inner),
/// [`downcast`](io::Error::downcast)) is this `Error`, of kind `TimedOut`
/// for a passed deadline and `Other` for a cancellation. Never
/// `Interrupted`, which std's `read_exact` and `io::copy` retry.
///
/// ```
/// use gort::context::Error;
/// use std::io;
/// let e = io::Error::from(Error::DeadlineExceeded);
/// assert_eq!(e.kind(), io::ErrorKind::TimedOut);
/// assert_eq!(e.get_ref().unwrap().downcast_ref::<Error>(), Some(&Error::DeadlineExceeded));
/// assert_eq!(io::Error::from(Error::Canceled).kind(), io::ErrorKind::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// Its [`Cancel`](super::Cancel) (or an ancestor's) was called.
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl Error {
    /// The code a node stores in its `err` atomic (0 means live).
    pub(super) fn code(self) -> u8 {
        match self {
            Error::Canceled => 1,
            Error::DeadlineExceeded => 2,
        }
    }

    pub(super) fn from_code(code: u8) -> Option<Error> {
        match code {
            0 => None,
            1 => Some(Error::Canceled),
            _ => Some(Error::DeadlineExceeded),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e {
            Error::Canceled => io::ErrorKind::Other,
            Error::DeadlineExceeded => io::ErrorKind::TimedOut,
        };
        io::Error::new(kind, e)
    }
}
