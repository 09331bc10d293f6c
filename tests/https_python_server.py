"""A TLS server nobody here wrote: Python's http.server wrapped in its ssl
module (run by tests/https_tools.rs with a certificate and key made there).
HTTP/1.1 with keep-alive; /hello answers with a Content-Length body naming
the client's port (the same port on every answer means one connection was
reused), /chunked with a chunked body, /upgrade a 101 to an echo protocol
(for `Upgrade: echo`: "hi" behind the head, then every byte back until
EOF), /gzip the /hello text gzipped when the request accepts gzip. Prints "port N" once listening and serves until killed."""

import gzip
import http.server
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/upgrade" and self.headers.get("Upgrade") == "echo":
            self.send_response(101)
            self.send_header("Upgrade", "echo")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.write(b"hi")
            self.wfile.flush()
            while data := self.connection.recv(4096):
                self.connection.sendall(data)
            self.connection.unwrap()  # close_notify back, then the FIN
            self.close_connection = True
            return
        if self.path == "/gzip" and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(b"hello from python, gzipped " * 100)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(300):
                line = f"line {i}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = f"hello from python, client port {self.client_address[1]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    cert, key = sys.argv[1], sys.argv[2]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(f"port {srv.server_address[1]}", flush=True)
    srv.serve_forever()


main()
