//! The `select!` macro: parses the arms into a list, then evaluates every
//! channel and value expression once, in source order, as the scrutinee of
//! one `match` (so temporaries among them live until the select ends, as
//! Go's `case <-time.After(d):` needs), builds one arm object per channel
//! operation, runs `select`, and matches the index it returns to the body of
//! the arm that fired. Each parsing step names its arm `__arm` and its
//! evaluated operands `__ch`/`__v`; macro hygiene makes every step's names
//! distinct variables.

/// Waits on several channel operations at once and runs the body of the
/// one that completes (Go's `select`). Arms:
///
/// - `recv(rx) -> v => body`: `v` is `Result<T, RecvError>` (`Err` once the
///   channel is closed and drained);
/// - `send(tx, value) -> res => body` (or `send(tx, value) => body`): `res`
///   is `Result<(), SendError<T>>`;
/// - at most one `default => body` (run at once when no arm is ready) or
///   `default(duration) => body` (run when none became ready in time).
///
/// When several arms are ready, each is chosen with equal chance (the arms
/// are tried in a random order, Go's), so none starves; a select that
/// waits is completed by whichever peer comes first, and arms on one
/// channel are queued in random order too. Every channel and value
/// expression is evaluated once, in source order, before anything waits,
/// and lives until the select ends: a channel made on the spot, such as
/// `recv(gort::time::after(d))`, works. A value whose arm did not fire is
/// dropped. A goroutine that has run for over 10 ms yields when its select
/// takes `default`.
///
/// ```
/// use std::time::Duration;
/// let (tx1, rx1) = gort::chan::bounded::<u32>(1);
/// let (tx2, rx2) = gort::chan::bounded::<&str>(1);
/// tx2.send("two").unwrap();
/// let got = gort::select! {
///     recv(rx1) -> v => format!("one: {v:?}"),
///     recv(rx2) -> v => format!("two: {}", v.unwrap()),
///     default(Duration::from_millis(50)) => "timeout".to_string(),
/// };
/// assert_eq!(got, "two: two");
/// gort::select! {
///     send(tx1, 7) -> res => assert!(res.is_ok()),
///     default => unreachable!("there was room"),
/// }
/// ```
///
/// Go's timeout idiom, `case <-time.After(d):`, reads the same:
///
/// ```
/// use std::time::Duration;
/// let (_tx, rx) = gort::chan::bounded::<u32>(0);
/// let timed_out = gort::select! {
///     recv(rx) -> _ => false,
///     recv(gort::time::after(Duration::from_millis(5))) -> _ => true,
/// };
/// assert!(timed_out);
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(() () $($tokens)*)
    };
}

/// `select!`'s parser: `(arms so far) (default arm) tokens…`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // The comma after a block body is optional.
    ($arms:tt $def:tt , $($rest:tt)*) => {
        $crate::__select_parse!($arms $def $($rest)*)
    };
    // recv(rx) -> pat => body
    (($($arms:tt)*) $def:tt recv($rx:expr) -> $p:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(($($arms)* [__arm (&$rx) (__ch) ($crate::chan::__private::RecvArm::new(__ch)) ($p) ($body)]) $def $($rest)*)
    };
    (($($arms:tt)*) $def:tt recv($rx:expr) -> $p:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(($($arms)* [__arm (&$rx) (__ch) ($crate::chan::__private::RecvArm::new(__ch)) ($p) ($body)]) $def $($($rest)*)?)
    };
    // send(tx, v) -> pat => body
    (($($arms:tt)*) $def:tt send($tx:expr, $v:expr) -> $p:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(($($arms)* [__arm ((&$tx, $v)) ((__ch, __v)) ($crate::chan::__private::SendArm::new(__ch, __v)) ($p) ($body)]) $def $($rest)*)
    };
    (($($arms:tt)*) $def:tt send($tx:expr, $v:expr) -> $p:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(($($arms)* [__arm ((&$tx, $v)) ((__ch, __v)) ($crate::chan::__private::SendArm::new(__ch, __v)) ($p) ($body)]) $def $($($rest)*)?)
    };
    // send(tx, v) => body
    (($($arms:tt)*) $def:tt send($tx:expr, $v:expr) => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(($($arms)* [__arm ((&$tx, $v)) ((__ch, __v)) ($crate::chan::__private::SendArm::new(__ch, __v)) (_) ($body)]) $def $($rest)*)
    };
    (($($arms:tt)*) $def:tt send($tx:expr, $v:expr) => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(($($arms)* [__arm ((&$tx, $v)) ((__ch, __v)) ($crate::chan::__private::SendArm::new(__ch, __v)) (_) ($body)]) $def $($($rest)*)?)
    };
    // default(d) => body
    ($arms:tt () default($d:expr) => $body:block $($rest:tt)*) => {
        $crate::__select_parse!($arms (($crate::chan::__private::Timeout::After($d)) ($body)) $($rest)*)
    };
    ($arms:tt () default($d:expr) => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!($arms (($crate::chan::__private::Timeout::After($d)) ($body)) $($($rest)*)?)
    };
    // default => body
    ($arms:tt () default => $body:block $($rest:tt)*) => {
        $crate::__select_parse!($arms (($crate::chan::__private::Timeout::Now) ($body)) $($rest)*)
    };
    ($arms:tt () default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!($arms (($crate::chan::__private::Timeout::Now) ($body)) $($($rest)*)?)
    };
    // Done, without a default arm: block.
    (($([$arm:ident ($eval:expr) ($bind:pat) ($new:expr) ($p:pat) ($body:expr)])*) ()) => {
        $crate::__select_parse!(@run ($([$arm ($eval) ($bind) ($new) ($p) ($body)])*) ($crate::chan::__private::Timeout::Never) (
            ::core::unreachable!("select: no arm fired without a default")
        ))
    };
    // Done, with one.
    (($([$arm:ident ($eval:expr) ($bind:pat) ($new:expr) ($p:pat) ($body:expr)])*) (($t:expr) ($def:expr))) => {
        $crate::__select_parse!(@run ($([$arm ($eval) ($bind) ($new) ($p) ($body)])*) ($t) ($def))
    };
    (@run ($([$arm:ident ($eval:expr) ($bind:pat) ($new:expr) ($p:pat) ($body:expr)])*) ($t:expr) ($def:expr)) => {
        // Temporaries in a `match` scrutinee live until the `match` ends, so a
        // channel made by the arm's own expression (`recv(time::after(d))`)
        // outlives the wait and the body.
        match ($($eval,)*) {
            ($($bind,)*) => {
                $( let $arm = $new; )*
                let __fired = $crate::chan::__private::select([$(&$arm as &dyn $crate::chan::__private::Arm),*], $t);
                // Guards run in order until one holds, so `__k` counts the arms.
                let mut __k = 0usize;
                match __fired {
                    $(
                        ::core::option::Option::Some(__i) if __i == { __k += 1; __k - 1 } => {
                            let $p = $arm.result();
                            $body
                        }
                    )*
                    _ => $def,
                }
            }
        }
    };
}
