"""`editflow crawl` must not leak the token: never over plain http to a remote base_url
(unless --allow-http-token), never in stderr when an error body echoes the request; and an
--out whose parent is a file is a message, not a traceback."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from editflow.crawl.github import crawl_github
from editflow.crawl.secrets import MASK, ScrubFilter, check_transport, scrub
from editflow.crawl.table import CrawlError

TOKEN = "ghp_SECRETsecret0123456789abcdefABCDEF"   # a token-shaped value
PLAIN = "plain-secret-value-42"                      # not token-shaped: only its value identifies it


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with a 422 whose body echoes the request, headers included
    (as some proxies and enterprise servers do)."""

    def do_GET(self):  # noqa: N802
        body = json.dumps({"message": "Validation Failed",
                           "errors": [{"message": f"bad request {self.path}",
                                       "request_headers": dict(self.headers)}]}).encode()
        self.send_response(422)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def echo_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _crawl(tmp_path, base_url: str, token: str, *extra: str) -> subprocess.CompletedProcess:
    settings = {"source": "github", "github": {"query": "language:python", "base_url": base_url,
                                               "max_retries": 0, "top_n": 1, "per_page": 1}}
    env = dict(os.environ, GITHUB_TOKEN=token)
    return subprocess.run([sys.executable, "-m", "editflow", "crawl", "--out", str(tmp_path / "repos.parquet"),
                           "--settings", json.dumps(settings), "--verbose", *extra],
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("token", [TOKEN, PLAIN])
def test_422_echoing_the_request_never_prints_the_token(tmp_path, echo_server, token):
    proc = _crawl(tmp_path, echo_server, token)
    assert proc.returncode == 1
    assert "GitHub rejected the search (HTTP 422: Validation Failed" in proc.stderr
    assert token not in proc.stderr and token not in proc.stdout
    assert f"token {MASK}" in proc.stderr  # the echoed Authorization header, scrubbed
    assert not (tmp_path / "repos.parquet").exists()


def test_plain_http_remote_base_url_is_refused_before_any_request(tmp_path):
    # 192.0.2.1 is TEST-NET-1: nothing answers; the refusal must come before any connection
    with pytest.raises(CrawlError, match=r"is plain http: GITHUB_TOKEN would be sent unencrypted to 192.0.2.1"):
        crawl_github({"query": "x", "base_url": "http://192.0.2.1/api/v3"}, environ={"GITHUB_TOKEN": TOKEN})
    proc = _crawl(tmp_path, "http://192.0.2.1/api/v3", TOKEN)
    assert proc.returncode == 1 and "--allow-http-token" in proc.stderr and TOKEN not in proc.stderr


def test_check_transport_rules():
    check_transport("https://github.example.com/api/v3", True)
    check_transport("http://192.0.2.1/api", False)            # no token: nothing to leak
    check_transport("http://127.0.0.1:8080", True)            # this machine
    check_transport("http://192.0.2.1/api", True, allow_http_token=True)
    with pytest.raises(CrawlError, match="not an http"):
        check_transport("ftp://192.0.2.1/", True)


def test_scrub_patterns():
    assert scrub(f"token {PLAIN}!", (PLAIN,)) == f"token {MASK}!"
    assert scrub("Authorization: Bearer abc.def ghi") == f"Authorization: Bearer {MASK} ghi"
    assert scrub('{"Authorization": "token xyz"}') == '{"Authorization": "token ***"}'
    assert scrub("github_pat_11ABCDEFG0123456789_abcdefghijklmnop rest") == f"{MASK} rest"
    assert scrub("nothing to hide") == "nothing to hide"


def test_scrub_filter_cleans_arguments_and_tracebacks():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "sent %s", (PLAIN,), None)
    try:
        raise RuntimeError(f"boom {PLAIN}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert ScrubFilter((PLAIN,)).filter(record)
    assert record.getMessage() == f"sent {MASK}"
    assert PLAIN not in record.exc_text and f"boom {MASK}" in record.exc_text


def test_out_whose_parent_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    proc = subprocess.run([sys.executable, "-m", "editflow", "crawl", "--out", str(tmp_path / "f" / "r.parquet"),
                           "--settings", json.dumps({"source": "local", "local": {"paths": []}})],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f"--out {tmp_path}/f/r.parquet: {tmp_path}/f is a file, not a directory" in proc.stderr
    assert "Traceback" not in proc.stderr
