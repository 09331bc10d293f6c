"""Checks shared by the Python clients of the HTTP tests
(tests/http_python_client.py, tests/https_python_client.py), imported from
the scripts' own directory."""


def expect(cond, what):
    """Fails the run with `what` unless `cond` holds."""
    if not cond:
        raise AssertionError(what)


def keep_alive(conn, body, n=5):
    """Sends `n` GET / on `conn`, each answered 200 with `body`, all on one
    socket; returns that socket."""
    sock = None
    for i in range(n):
        conn.request("GET", "/")
        resp = conn.getresponse()
        got = resp.read()
        expect(resp.status == 200, f"GET {i}: status {resp.status}")
        expect(got == body, f"GET {i}: body {got!r}")
        if sock is None:
            sock = conn.sock
        expect(conn.sock is sock, f"GET {i}: the connection was not reused")
    return sock
