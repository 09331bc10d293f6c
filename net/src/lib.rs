//! gort-net: std-shaped sockets on gort's netpoller (not built yet: issue "Netpoller and gort::net").
#![forbid(unsafe_code)]
