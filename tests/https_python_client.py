"""Python's ssl and http.client against gort's HTTPS server (run by
tests/https_tools.rs with the server's port and the CA file): the
certificate verifies for "localhost", ALPN agrees on http/1.1, one
connection carries several requests, and a chunked body arrives whole.
Prints "python-tls-client: ok" when every check passed; a failed check
raises and exits non-zero."""

import http.client
import ssl
import sys

from http_checks import expect, keep_alive


def main():
    port, cafile = int(sys.argv[1]), sys.argv[2]
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    sock = keep_alive(conn, b"Hello, TLS!")
    expect(sock.selected_alpn_protocol() == "http/1.1", f"ALPN {sock.selected_alpn_protocol()}")
    expect(sock.version() in ("TLSv1.3", "TLSv1.2"), f"version {sock.version()}")
    conn.request("GET", "/chunked")
    resp = conn.getresponse()
    body = resp.read().decode()
    expect(resp.getheader("Transfer-Encoding") == "chunked", "chunked")
    expect(body == "".join(f"line {i}\n" for i in range(2000)), "the chunked body")
    expect(conn.sock is sock, "the connection survived the chunked body")
    conn.close()
    print("python-tls-client: ok")


main()
