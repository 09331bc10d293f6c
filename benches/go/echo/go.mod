module gort.invalid/benches/echo

go 1.22
