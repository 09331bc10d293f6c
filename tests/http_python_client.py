"""Python's standard http.client against gort's server (run by
tests/http_python.rs with the server's port): keep-alive reuse of one
connection, a chunked POST, HEAD, a 404, and a pipelined pair over a raw
socket. Prints "python-client: ok" when every check passed; any failed
check raises and exits non-zero."""

import http.client
import socket
import sys

from http_checks import expect, keep_alive


def reuse(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    keep_alive(conn, b"Hello, World!")
    conn.close()


def chunked_post(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    parts = [b"alpha-", b"beta-" * 1000, b"gamma"]
    conn.request("POST", "/echo", body=iter(parts), encode_chunked=True)
    resp = conn.getresponse()
    body = resp.read()
    expect(resp.status == 200, f"chunked POST: status {resp.status}")
    expect(body == b"".join(parts), f"chunked POST: {len(body)} bytes back")
    sock = conn.sock
    conn.request("POST", "/echo", body=b"again")
    resp = conn.getresponse()
    expect(resp.read() == b"again", "POST after the chunked one")
    expect(conn.sock is sock, "the connection was not reused after a chunked POST")
    conn.close()


def head_and_404(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("HEAD", "/")
    resp = conn.getresponse()
    expect(resp.status == 200, f"HEAD: status {resp.status}")
    expect(resp.getheader("Content-Length") == "13", f"HEAD: Content-Length {resp.getheader('Content-Length')}")
    expect(resp.read() == b"", "HEAD: a body came back")
    conn.request("GET", "/nowhere")
    resp = conn.getresponse()
    resp.read()
    expect(resp.status == 404, f"GET /nowhere: status {resp.status}")
    conn.close()


def pipelined(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            b"GET /a HTTP/1.1\r\nHost: p\r\n\r\n"
            b"GET /b HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while True:
            got = s.recv(65536)
            if not got:
                break
            data += got
    expect(data.count(b"HTTP/1.1 200 OK\r\n") == 2, f"pipelined: {data!r}")
    expect(data.endswith(b"Hello, World!"), f"pipelined: {data!r}")
    first, second = data.split(b"HTTP/1.1 200 OK\r\n")[1:]
    expect(first.endswith(b"\r\n\r\nHello, World!"), f"pipelined first: {first!r}")
    expect(b"Connection: close\r\n" in second, f"pipelined second: {second!r}")


def main():
    port = int(sys.argv[1])
    reuse(port)
    chunked_post(port)
    head_and_404(port)
    pipelined(port)
    print("python-client: ok")


if __name__ == "__main__":
    main()
