// A goroutine-per-connection echo server with a 4 KiB buffer, Go's side of
// the c10k example's `--floor` table: it prints its address, then echoes
// until killed. The example builds it and runs it with GOMAXPROCS=1.
package main

import (
	"fmt"
	"net"
)

func echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go echo(c)
	}
}
