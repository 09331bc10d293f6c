//! gort-http: Go's net/http on gort (not built yet).
#![forbid(unsafe_code)]
