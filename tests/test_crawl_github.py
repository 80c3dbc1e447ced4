"""The GitHub source against a local HTTP server (127.0.0.1, random port), no network.

Two kinds of server:
* ReplayServer serves the recorded exchanges in tests/github_replay/*.json strictly in
  order (built by tests/github_replay/build.py), and fails loudly on any other request;
* FakeSearch is a tiny GitHub search engine over generated repositories, for the
  1,000-results cap (10 pages of 100, Link headers capped like GitHub, 422 beyond).
PyGithub talks to them through its ordinary `base_url`; waits go to a recording sleep.
"""
from __future__ import annotations

import json
import logging
import math
import threading
from collections import Counter
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pyarrow.parquet as pq
import pytest

from editflow.crawl.github import (
    GitHubCrawler, GitHubSettings, RetryPolicy, crawl_github, make_client,
)
from editflow.crawl.table import CrawlError, rows_to_table
from editflow.records import REPO_SCHEMA

REPLAY = Path(__file__).parent / "github_replay"
QUERY = 'language:"Jupyter Notebook" machine learning'
GITHUB_API = "https://api.github.com"
NOW = 1700000000.0   # the fixed clock (2023-11-14T22:13:20Z)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, like api.github.com

    def do_GET(self):  # noqa: N802 (http.server API)
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.server.requests.append({"method": "GET", "path": parts.path, "query": query,
                                     "authorization": self.headers.get("Authorization")})
        status, headers, body = self.server.respond("GET", parts.path, query)
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep pytest output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class ReplayServer(_Server):
    def __init__(self, scenario: str):
        super().__init__()
        self.exchanges = json.loads((REPLAY / f"{scenario}.json").read_text())["exchanges"]
        self.position = 0

    def respond(self, method, path, query):
        if self.position >= len(self.exchanges):
            self.errors.append(f"unexpected extra request {method} {path} {query}")
            return 599, {}, {"message": "replay exhausted"}
        exchange = self.exchanges[self.position]
        want = exchange["request"]
        if (want["method"], want["path"], want["query"]) != (method, path, query):
            self.errors.append(f"request {self.position}: expected {want}, got {method} {path} {query}")
            return 599, {}, {"message": "replay mismatch"}
        self.position += 1
        # Recorded against https://api.github.com; served as if this server were the API host
        # (as a GitHub Enterprise server names itself in Link headers and `url` fields).
        response = json.loads(json.dumps(exchange["response"]).replace(GITHUB_API, self.base_url))
        return response["status"], response["headers"], response["body"]


def _recording_sleep():
    waits: list[float] = []
    return waits, waits.append


def _settings(base_url: str, **extra) -> dict:
    section = {"query": QUERY, "min_stars": 100, "top_n": 4, "licenses": ["mit", "apache-2.0"],
               "base_url": base_url, "per_page": 3, "max_retries": 3, "max_wait_seconds": 100}
    section.update(extra)
    return section


def test_pagination_rate_limits_retries_and_license_filter(caplog):
    token = "ghp_replayTOKEN0123456789abcdef"
    waits, sleep = _recording_sleep()
    caplog.set_level(logging.DEBUG)
    with ReplayServer("paginated_with_faults") as server:
        rows = crawl_github(_settings(server.base_url), sleep=sleep, clock=lambda: NOW,
                            environ={"GITHUB_TOKEN": token})
    assert server.errors == []
    assert server.position == len(server.exchanges) == 10          # every recorded exchange, no more
    # waits: 502 -> 1 s backoff; 429 -> Retry-After 7; 403 -> reset 1700000060 - now + 1
    assert waits == [1.0, 7.0, 61.0]
    table = rows_to_table(rows)
    assert table.schema == REPO_SCHEMA
    assert table.to_pylist() == [
        {"full_name": "alice/vision-notebooks", "slug": "alice__vision-notebooks",
         "clone_url": "https://github.com/alice/vision-notebooks.git", "stars": 900, "license": "mit",
         "default_branch": "main", "head_sha": "1" * 40, "pushed_at": "2024-05-01T10:00:00Z",
         "n_notebooks": None},
        {"full_name": "bob/tabular-ml", "slug": "bob__tabular-ml",
         "clone_url": "https://github.com/bob/tabular-ml.git", "stars": 800, "license": "apache-2.0",
         "default_branch": "master", "head_sha": "2" * 40, "pushed_at": "2024-04-02T11:30:00Z",
         "n_notebooks": None},
        {"full_name": "erin/nlp-labs", "slug": "erin__nlp-labs",
         "clone_url": "https://github.com/erin/nlp-labs.git", "stars": 500, "license": "mit",
         "default_branch": "develop", "head_sha": "5" * 40, "pushed_at": "2024-01-05T14:00:00Z",
         "n_notebooks": None},
        {"full_name": "grace/rl-tutorials", "slug": "grace__rl-tutorials",
         "clone_url": "https://github.com/grace/rl-tutorials.git", "stars": 300, "license": "mit",
         "default_branch": "main", "head_sha": "7" * 40, "pushed_at": "2023-11-07T16:00:00Z",
         "n_notebooks": None},
    ]
    # the token is sent on every request, and never logged
    assert [r["authorization"] for r in server.requests] == [f"token {token}"] * 10
    assert token not in caplog.text
    assert "waiting 61s" in caplog.text and "Retry-After: 7" in caplog.text


def test_unauthenticated_when_no_token(caplog):
    waits, sleep = _recording_sleep()
    with ReplayServer("missing_branch") as server:
        rows = crawl_github(_settings(server.base_url), sleep=sleep, clock=lambda: NOW, environ={})
    assert server.errors == [] and server.position == 3
    assert [r["authorization"] for r in server.requests] == [None, None, None]
    assert "GITHUB_TOKEN is not set" in caplog.text
    # the 404 branch drops alice/vision-notebooks; no wait for a 404
    assert [(r.full_name, r.head_sha) for r in rows] == [("bob/tabular-ml", "2" * 40)]
    assert waits == []
    assert "dropped" in caplog.text


def test_rate_limit_reset_beyond_max_wait_fails_without_sleeping():
    waits, sleep = _recording_sleep()
    with ReplayServer("rate_limit_too_long") as server:
        with pytest.raises(CrawlError) as info:
            crawl_github(_settings(server.base_url, max_wait_seconds=600), sleep=sleep,
                         clock=lambda: NOW, environ={})
    assert server.errors == [] and server.position == 1
    assert waits == []
    message = str(info.value)
    assert "3601s" in message and "max_wait_seconds=600" in message
    assert "2023-11-14T23:13:20Z" in message   # when the limit resets


def test_server_errors_give_up_after_max_retries():
    waits, sleep = _recording_sleep()
    with ReplayServer("server_errors_exhaust") as server:
        with pytest.raises(CrawlError, match=r"gave up after 3 attempts \(HTTP 503 server error\)"):
            crawl_github(_settings(server.base_url, max_retries=2), sleep=sleep,
                         clock=lambda: NOW, environ={})
    assert server.errors == [] and server.position == 3
    assert waits == [1.0, 2.0]


@pytest.mark.parametrize("status,headers,data,attempt,expected", [
    (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000100"}, {}, 0, 101.0),
    (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1699999000"}, {}, 0, 1.0),  # reset past
    (429, {"Retry-After": "30"}, {}, 2, 30.0),
    (403, {}, {"message": "You have exceeded a secondary rate limit."}, 1, 120.0),
    (429, {}, {}, 0, 60.0),
    (500, {}, {}, 3, 8.0),
    (403, {}, {"message": "Resource not accessible by integration"}, 0, None),
    (404, {}, {"message": "Not Found"}, 0, None),
    (422, {}, {"message": "Validation Failed"}, 0, None),
])
def test_plan_wait(status, headers, data, attempt, expected):
    plan = RetryPolicy(clock=lambda: NOW).plan_wait(status, headers, data, attempt)
    assert (plan[0] if plan else None) == expected


# -- the 1,000-results cap -------------------------------------------------------------

class FakeSearch(_Server):
    """GitHub search semantics over `repos`: qualifiers stars:>=N, stars:A..B, stars:N,
    created:A..B; sort by stars desc (ties by id); at most 1,000 results per query."""

    CAP = 1000

    def __init__(self, repos: list[dict]):
        super().__init__()
        self.repos = sorted(repos, key=lambda r: (-r["stargazers_count"], r["id"]))

    @staticmethod
    def _matches(repo: dict, qualifiers: list[str]) -> bool:
        for qual in qualifiers:
            key, _, value = qual.partition(":")
            field = repo["stargazers_count"] if key == "stars" else repo["created_at"][:10]
            parse = int if key == "stars" else str
            if value.startswith(">="):
                ok = field >= parse(value[2:])
            elif ".." in value:
                lo, hi = value.split("..")
                ok = parse(lo) <= field <= parse(hi)
            else:
                ok = field == parse(value)
            if not ok:
                return False
        return True

    def respond(self, method, path, query):
        assert path == "/search/repositories", path
        assert query["sort"] == "stars" and query["order"] == "desc"
        q = query["q"]
        assert q.startswith(QUERY + " ")
        qualifiers = q[len(QUERY) + 1:].split()
        hits = [r for r in self.repos if self._matches(r, qualifiers)]
        per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        if page * per_page > self.CAP:
            self.errors.append(f"requested beyond the cap: page {page}")
            return 422, {}, {"message": "Only the first 1000 search results are available"}
        last = max(1, math.ceil(min(len(hits), self.CAP) / per_page))

        def url(p):
            return f"{self.base_url}/search/repositories?" + urlencode(
                {"q": q, "sort": "stars", "order": "desc", "per_page": per_page, "page": p})
        links = ([f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
                 if page < last else [])
        headers = {"Content-Type": "application/json; charset=utf-8", "X-RateLimit-Remaining": "29"}
        if links:
            headers["Link"] = ", ".join(links)
        items = json.loads(json.dumps(hits[(page - 1) * per_page: page * per_page])
                           .replace(GITHUB_API, self.base_url))
        return 200, headers, {"total_count": len(hits), "incomplete_results": False, "items": items}


def _fake_repo(k: int, stars: int, spdx: str, created: date) -> dict:
    return {"id": k, "name": f"nb{k:04d}", "full_name": f"user{k:04d}/nb{k:04d}",
            "url": f"https://api.github.com/repos/user{k:04d}/nb{k:04d}",
            "clone_url": f"https://github.com/user{k:04d}/nb{k:04d}.git",
            "stargazers_count": stars, "default_branch": "main",
            "created_at": f"{created.isoformat()}T00:00:00Z", "pushed_at": "2024-01-01T00:00:00Z",
            "license": {"key": spdx.lower(), "spdx_id": spdx, "name": spdx}}


def _crawler(server, sleep, **section) -> GitHubCrawler:
    settings = GitHubSettings.from_section({"query": QUERY, "base_url": server.base_url, **section})
    policy = RetryPolicy(settings.max_retries, settings.max_wait_seconds, sleep=sleep, clock=lambda: NOW)
    return GitHubCrawler(settings, make_client(settings, None), policy)


def test_top_n_above_the_cap_walks_down_star_ranges():
    # 1,450 repositories; stars = 2000 - (k+2)//4, so ranks 999 and 1000 tie at 1750 stars
    # (the tie straddles the 1,000 cap); every 10th is GPL (rejected by the allow-list).
    repos = [_fake_repo(k, 2000 - (k + 2) // 4, "GPL-3.0" if k % 10 == 9 else "MIT",
                        date(2015, 1, 1)) for k in range(1450)]
    waits, sleep = _recording_sleep()
    with FakeSearch(repos) as server:
        crawler = _crawler(server, sleep, min_stars=1650, top_n=1100, per_page=100,
                           licenses=["mit", "apache-2.0"])
        items = crawler.search()
    assert server.errors == [] and waits == []
    assert crawler.stats.queries == [f"{QUERY} stars:>=1650", f"{QUERY} stars:1650..1750"]
    pages = [(r["query"]["q"].split()[-1], r["query"].get("page", "1")) for r in server.requests]
    assert pages == ([("stars:>=1650", str(p)) for p in range(1, 11)]
                     + [("stars:1650..1750", str(p)) for p in range(1, 4)])
    expected = [f"user{k:04d}/nb{k:04d}" for k in range(1222) if k % 10 != 9]
    assert [i.full_name for i in items] == expected           # exactly the top 1,100 allowed
    assert len(expected) == 1100
    assert crawler.stats.duplicates == 2                      # ranks 998 and 999 seen twice
    assert crawler.stats.license_rejected == {"gpl-3.0": 122}
    assert crawler.stats.results_seen == 1000 + 224


def test_more_than_cap_with_one_star_count_bisects_creation_dates():
    # 1,300 repositories all with 50 stars, created every 3 days from 2010-01-01
    repos = [_fake_repo(k, 50, "MIT", date(2010, 1, 1) + timedelta(days=3 * k)) for k in range(1300)]
    waits, sleep = _recording_sleep()
    with FakeSearch(repos) as server:
        crawler = _crawler(server, sleep, min_stars=50, top_n=2000, per_page=100, licenses=None)
        items = crawler.search()
    assert server.errors == []
    names = [i.full_name for i in items]
    assert len(names) == len(set(names)) == 1300              # all of them, none twice
    assert crawler.stats.capped_plateaus == []
    # the clock's "today" is 2023-11-14; 708 repositories were created up to 2015-10-23, 592 after
    assert crawler.stats.queries == [
        f"{QUERY} stars:>=50",                                # capped: 1,000 of 1,300, one star count
        f"{QUERY} stars:50 created:2007-10-01..2023-11-14",   # 1,300 > cap: split (first page only)
        f"{QUERY} stars:50 created:2015-10-24..2023-11-14",   # 592: newer half first
        f"{QUERY} stars:50 created:2007-10-01..2015-10-23",   # 708
    ]
    per_query = Counter(r["query"]["q"][len(QUERY) + 1:] for r in server.requests)
    assert per_query == {"stars:>=50": 10, "stars:50 created:2007-10-01..2023-11-14": 1,
                         "stars:50 created:2015-10-24..2023-11-14": 6,
                         "stars:50 created:2007-10-01..2015-10-23": 8}
    assert crawler.stats.duplicates == 1000                   # the first window's, seen again
    assert waits == []


def test_frozen_rows_roundtrip(tmp_path):
    waits, sleep = _recording_sleep()
    with ReplayServer("paginated_with_faults") as server:
        rows = crawl_github(_settings(server.base_url), sleep=sleep, clock=lambda: NOW, environ={})
    from editflow.atomic import write_parquet
    write_parquet(rows_to_table(rows), tmp_path / "repos.parquet")
    assert pq.read_table(tmp_path / "repos.parquet").column("head_sha").to_pylist() == [
        "1" * 40, "2" * 40, "5" * 40, "7" * 40]


def test_cli_github_source_writes_repos_parquet(tmp_path, monkeypatch, capsys):
    from editflow.cli import main

    token = "ghp_cliTOKENabcdef"
    monkeypatch.setenv("GITHUB_TOKEN", token)
    out = tmp_path / "repos.parquet"
    with ReplayServer("missing_branch") as server:
        settings = {"source": "github", "github": _settings(server.base_url)}
        rc = main(["crawl", "--out", str(out), "--settings", json.dumps(settings)])
    assert rc == 0 and server.errors == [] and server.position == 3
    table = pq.read_table(out)
    assert table.schema == REPO_SCHEMA
    assert table.column("full_name").to_pylist() == ["bob/tabular-ml"]
    assert token.encode() not in out.read_bytes()
    captured = capsys.readouterr()
    assert token not in captured.out + captured.err


def test_connection_errors_back_off_then_succeed():
    import requests

    waits, sleep = _recording_sleep()
    outcomes = [requests.ConnectionError("refused"), requests.Timeout("slow"), "ok"]

    def flaky():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    policy = RetryPolicy(max_retries=5, max_wait_seconds=100, sleep=sleep, clock=lambda: NOW)
    assert policy.call("test", flaky) == "ok"
    assert waits == [1.0, 2.0] and policy.waits == [1.0, 2.0]


def test_stale_star_counts_never_repeat_a_window():
    # The index says these have <= 1750 stars but the results carry fresher, higher counts:
    # the second window must still move strictly downwards.
    class StaleSearch(FakeSearch):
        def respond(self, method, path, query):
            status, headers, body = super().respond(method, path, query)
            for item in body.get("items", []):
                item["stargazers_count"] += 5000 if "1950..1975" in query["q"] else 0
            return status, headers, body

    # stars = 2000 - (k+2)//40: ranks 999/1000 tie at 1975; 2,038 repositories have >= 1950
    repos = [_fake_repo(k, 2000 - (k + 2) // 40, "MIT", date(2015, 1, 1)) for k in range(2100)]
    waits, sleep = _recording_sleep()
    with StaleSearch(repos) as server:
        crawler = _crawler(server, sleep, min_stars=1950, top_n=2100, per_page=100, licenses=None)
        items = crawler.search()
    assert server.errors == []
    assert [q[len(QUERY) + 1:] for q in crawler.stats.queries] == [
        "stars:>=1950", "stars:1950..1975", "stars:1950..1974"]
    assert len(items) == len({i.full_name for i in items}) == 2038


def test_bad_token_is_a_clear_error_without_the_token():
    token = "ghp_expiredTOKEN42"
    waits, sleep = _recording_sleep()
    with ReplayServer("bad_credentials") as server:
        with pytest.raises(CrawlError) as info:
            crawl_github(_settings(server.base_url), sleep=sleep, clock=lambda: NOW,
                         environ={"GITHUB_TOKEN": token})
    assert server.errors == [] and server.position == 1 and waits == []
    message = str(info.value)
    assert "HTTP 401: Bad credentials" in message and "GITHUB_TOKEN is invalid or expired" in message
    assert token not in message
