"""Run the app (and a second-origin host page) on free loopback ports inside the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_app(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread; yields its base URL (http://127.0.0.1:PORT)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_page(html: str, host: str = "localhost") -> Iterator[str]:
    """Serve one HTML page at ``/`` from another origin; yields its base URL."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def host_page(script_src: str, site_key: str, hostile_css: bool = True) -> str:
    """A third-party page embedding the widget; by default with aggressive page CSS (all text red and
    40px, every ``.card`` hidden) to prove the shadow DOM keeps styles apart."""
    css = "* { color: rgb(255, 0, 0) !important; font-size: 40px !important; } .card { display: none; }"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<style>{css if hostile_css else ".card { display: none; } body { font-family: Georgia, serif; }"}</style>
</head><body><h1 id="shop">A shop page</h1><p>Our shop's own content.</p>
<div class="card" id="shop-card">shop card</div>
<script src="{script_src}" data-site-key="{site_key}" async></script></body></html>"""
