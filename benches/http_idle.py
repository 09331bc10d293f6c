#!/usr/bin/env python3
"""Idle keep-alive connections for benches/http.sh.

Opens N connections to HOST:PORT, makes one `GET /hello/x` on each and reads
its response (by Content-Length), then keeps them all open and idle. Prints
`ready N` once every connection has had its response, then holds them for
HOLD seconds (the caller ends it sooner once it has read the server).
With `tls` after HOLD, each connection is TLS (certificates not checked:
this measures the server, over loopback).

usage: http_idle.py HOST PORT N HOLD [tls]
"""

import socket
import ssl
import sys
import time

REQUEST = b"GET /hello/x HTTP/1.1\r\nHost: bench\r\n\r\n"


def one_response(sock):
    """Reads one whole response; fails on EOF or a missing Content-Length."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("EOF before the response head")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("EOF inside the response body")
        body += chunk


def main():
    host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    tls = None
    if sys.argv[5:] == ["tls"]:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    conns = []
    for _ in range(n):
        sock = socket.create_connection((host, port))
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=host)
        sock.sendall(REQUEST)
        one_response(sock)
        conns.append(sock)
    print(f"ready {len(conns)}", flush=True)
    time.sleep(hold)


if __name__ == "__main__":
    main()
