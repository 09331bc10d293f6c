module gort.invalid/benches/context

go 1.21
