// Go's net/http serving the same routes as gort's examples/hello.rs, for
// benches/http.sh: go run . -addr 127.0.0.1:8082 (GOMAXPROCS=1 there);
// with -tls-cert cert.pem -tls-key key.pem, over HTTPS (ListenAndServeTLS).
package main

import (
	"flag"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "address to listen on")
	cert := flag.String("tls-cert", "", "PEM certificate: serve HTTPS (needs -tls-key)")
	key := flag.String("tls-key", "", "PEM private key for -tls-cert")
	flag.Parse()
	http.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("Hello, World!")) })
	http.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("Hello, " + r.PathValue("name") + "!"))
	})
	if *cert != "" {
		panic(http.ListenAndServeTLS(*addr, *cert, *key, nil))
	}
	panic(http.ListenAndServe(*addr, nil))
}
