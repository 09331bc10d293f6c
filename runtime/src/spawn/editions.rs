//! Doc tests only: every closure shape [`go!`](crate::go) takes, in both of
//! its forms, compiled and run once per edition. `shapes.rs` holds the one
//! body; a shape that stops compiling on either edition fails the suite.

/// The shapes on edition 2021, where a closure's `!` falls back to `()`.
#[doc = concat!("```edition2021\n", include_str!("shapes.rs"), "```")]
pub struct Edition2021;

/// The shapes on edition 2024, where a closure's `!` stays `!`.
#[doc = concat!("```edition2024\n", include_str!("shapes.rs"), "```")]
pub struct Edition2024;
