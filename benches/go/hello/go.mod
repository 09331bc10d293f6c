module gort.invalid/benches/hello

go 1.22
