"""Source `github`: the top-N repositories of a GitHub search, frozen at their head commits.

GitHub's search API has two traps this module exists to handle:

* It returns at most 1,000 results per query (10 pages of 100), however large
  `total_count` is. We walk down the star ranking in windows: the first query is
  `stars:>=MIN`; when it is capped, the next is `stars:MIN..S` where S is the lowest star
  count seen, and so on (results are de-duplicated by full_name, since ties at S appear in
  both windows). If more than 1,000 repositories share one star count, that value is split
  further by creation date (`created:A..B`, bisected until each window fits).
* It has its own rate limit (30 requests/min with a token, 10 without), and the core API
  (used for branch lookups) 5,000/hour. A 403 with `X-RateLimit-Remaining: 0` is waited
  out until `X-RateLimit-Reset`; a 403/429 with `Retry-After` waits that long; a secondary
  limit without headers waits 60 s, doubling; 5xx and connection errors back off
  exponentially (1 s, 2 s, 4 s ...). Each call gives up after `max_retries` retries or when
  its waits would exceed `max_wait_seconds`, with an error that says which.

PyGithub has its own machinery for this (GithubRetry via `retry=`, and
`seconds_between_requests`). We switch both off (`retry=None`, `seconds_between_requests=None`)
and own the logic in RetryPolicy, because (a) GithubRetry sleeps inside urllib3 where a test
cannot observe or skip the waits, and (b) a page fetch that fails must be retried at the
same page, which PaginatedList supports only if the exception reaches us: it advances its
next-page link only after a successful response.

The token comes only from the GITHUB_TOKEN environment variable and is never logged or
written (PyGithub masks it in its own debug log).
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from editflow.crawl.licenses import normalize_spdx
from editflow.crawl.secrets import check_transport, scrub
from editflow.crawl.table import CrawlError, RepoRow, iso_utc

log = logging.getLogger(__name__)

SEARCH_CAP = 1000                 # GitHub serves at most this many results per search query
FIRST_CREATION_DATE = date(2007, 10, 1)   # before GitHub's first public repository


@dataclasses.dataclass(frozen=True)
class GitHubSettings:
    """The `crawl.github` config section (defaults live in the config schema)."""

    query: str
    min_stars: int = 0
    top_n: int = 1000
    licenses: tuple[str, ...] | None = None
    base_url: str = "https://api.github.com"
    per_page: int = 100
    max_retries: int = 5
    max_wait_seconds: float = 3700

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> "GitHubSettings":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in section.items() if k in known}
        if values.get("licenses") is not None:
            values["licenses"] = tuple(sorted({str(x).lower() for x in values["licenses"]}))
        return cls(**values)


class RetryPolicy:
    """Run one API call, waiting out rate limits and backing off on server errors.

    `sleep` and `clock` are injectable so tests request waits without taking them; every
    wait is appended to `waits` (seconds) in order.
    """

    def __init__(self, max_retries: int = 5, max_wait_seconds: float = 3700,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 backoff_base: float = 1.0, secondary_wait: float = 60.0) -> None:
        self.max_retries = max_retries
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep
        self.clock = clock
        self.backoff_base = backoff_base
        self.secondary_wait = secondary_wait
        self.waits: list[float] = []

    def call(self, what: str, fn: Callable[[], Any]) -> Any:
        import requests
        from github import GithubException

        attempt = 0
        waited = 0.0
        while True:
            try:
                return fn()
            except GithubException as exc:
                plan = self.plan_wait(exc.status, exc.headers or {}, exc.data, attempt)
                if plan is None:
                    raise
                wait, reason = plan
            except (requests.ConnectionError, requests.Timeout) as exc:
                wait, reason = self.backoff_base * 2 ** attempt, f"{type(exc).__name__}: {exc}"
            if attempt >= self.max_retries:
                raise CrawlError(f"GitHub {what}: gave up after {attempt + 1} attempts ({reason}); "
                                 f"raise crawl.github.max_retries or try again later") from None
            if waited + wait > self.max_wait_seconds:
                raise CrawlError(f"GitHub {what}: {reason}; waiting {wait:.0f}s more would exceed "
                                 f"crawl.github.max_wait_seconds={self.max_wait_seconds:g} "
                                 f"(already waited {waited:.0f}s); raise it or try again later") from None
            log.warning("GitHub %s: %s; waiting %.0fs (retry %d of at most %d)",
                        what, reason, wait, attempt + 1, self.max_retries)
            self.waits.append(wait)
            self.sleep(wait)
            waited += wait
            attempt += 1

    def plan_wait(self, status: int, headers: dict[str, Any], data: Any,
                  attempt: int) -> tuple[float, str] | None:
        """(seconds to wait, why) for a retryable error response, None if retrying cannot help."""
        from github.Requester import Requester

        headers = {str(k).lower(): str(v) for k, v in headers.items()}
        if status in (403, 429):
            retry_after = headers.get("retry-after")
            if retry_after is not None and retry_after.strip().isdigit():
                return float(retry_after), f"HTTP {status} with Retry-After: {retry_after}"
            if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
                reset = int(headers["x-ratelimit-reset"])
                wait = max(reset - self.clock(), 0.0) + 1.0   # +1 s: the reset second itself
                return wait, (f"HTTP {status}: rate limit exhausted until "
                              f"{iso_utc(reset)} (X-RateLimit-Reset)")
            message = data.get("message", "") if isinstance(data, dict) else ""
            if status == 429 or Requester.isSecondaryRateLimitError(message or ""):
                return (self.secondary_wait * 2 ** attempt,
                        f"HTTP {status}: secondary rate limit without reset headers")
            return None
        if 500 <= status < 600:
            return self.backoff_base * 2 ** attempt, f"HTTP {status} server error"
        return None


def make_client(settings: GitHubSettings, token: str | None):
    """A PyGithub client whose own retries and throttling are off (RetryPolicy owns them)."""
    from github import Auth, Github

    return Github(
        auth=Auth.Token(token) if token else None,
        base_url=settings.base_url.rstrip("/"),
        per_page=settings.per_page,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        timeout=30,
    )


@dataclasses.dataclass
class CrawlStats:
    """What the crawl saw, logged at the end so a short list is never a mystery."""

    queries: list[str] = dataclasses.field(default_factory=list)
    results_seen: int = 0
    duplicates: int = 0
    license_rejected: Counter = dataclasses.field(default_factory=Counter)
    branch_missing: list[str] = dataclasses.field(default_factory=list)
    capped_plateaus: list[str] = dataclasses.field(default_factory=list)


class GitHubCrawler:
    """Search, select the top-N (after the license filter) and freeze each head commit."""

    def __init__(self, settings: GitHubSettings, client, policy: RetryPolicy,
                 search_cap: int = SEARCH_CAP) -> None:
        self.settings = settings
        self.gh = client
        self.policy = policy
        self.search_cap = search_cap
        self.stats = CrawlStats()
        self._seen: set[str] = set()
        self._selected: list[Any] = []

    # -- searching ---------------------------------------------------------------
    def _search(self, qualifiers: str):
        """Open one search window and fetch its first page: (paginated list, query, total_count)."""
        q = f"{self.settings.query} {qualifiers}".strip()
        self.stats.queries.append(q)
        plist = self.gh.search_repositories(q, sort="stars", order="desc")
        try:
            self.policy.call(f"search {q!r} page 1", lambda: plist[0])
        except IndexError:
            return plist, q, 0
        if plist.incomplete_results:
            log.warning("GitHub search %r reported incomplete_results (it timed out server-side); "
                        "some repositories may be missing", q)
        return plist, q, plist.totalCount

    def _results(self, plist, q: str) -> Iterator[Any]:
        """Items of a window in rank order, at most search_cap; each page retried in place."""
        per_page = self.settings.per_page
        for i in range(self.search_cap):
            try:
                item = self.policy.call(f"search {q!r} page {i // per_page + 1}",
                                        lambda i=i: plist[i])
            except IndexError:
                return
            self.stats.results_seen += 1
            yield item

    def _done(self) -> bool:
        return len(self._selected) >= self.settings.top_n

    def _consider(self, item) -> None:
        name = item.full_name
        if name in self._seen:
            self.stats.duplicates += 1
            return
        self._seen.add(name)
        spdx = normalize_spdx(item.license.spdx_id if item.license is not None else None)
        allowed = self.settings.licenses
        if allowed is not None and spdx not in allowed:
            self.stats.license_rejected[spdx or "none"] += 1
            return
        self._selected.append(item)

    def _take(self, items: Iterator[Any]) -> tuple[int, int | None, int | None]:
        """Consider items until top-N is reached; return (count, most stars, fewest stars)."""
        n, most, fewest = 0, None, None
        for item in items:
            n += 1
            stars = item.stargazers_count
            most = stars if most is None else max(most, stars)
            fewest = stars if fewest is None else min(fewest, stars)
            self._consider(item)
            if self._done():
                break
        return n, most, fewest

    def _stars_window(self, upper: int | None) -> str:
        lo = self.settings.min_stars
        return f"stars:>={lo}" if upper is None else f"stars:{lo}..{upper}"

    def search(self) -> list[Any]:
        """The top-N search results that pass the license filter, best first."""
        upper: int | None = None
        while not self._done():
            plist, q, total = self._search(self._stars_window(upper))
            n, most, fewest = self._take(self._results(plist, q))
            if self._done() or n < self.search_cap or total <= self.search_cap:
                break   # enough, or this window held everything left
            if most == fewest:
                # > cap repositories share one star count: list them by creation date
                self._plateau(fewest)
                next_upper = fewest - 1
            else:
                # ties at `fewest` may straddle the cap: re-include them (de-duplicated)
                next_upper = fewest
            if upper is not None and next_upper >= upper:
                # Star counts in results can be fresher than the search index, so a window can
                # return repositories above its own bound; never query the same window twice.
                log.warning("search window %r returned stars up to %d above its bound %d; "
                            "moving on to stars <= %d", q, most, upper, upper - 1)
                next_upper = upper - 1
            upper = next_upper
            if upper < self.settings.min_stars:
                break
        return self._selected[: self.settings.top_n]

    def _plateau(self, stars: int) -> None:
        """All repositories with exactly `stars` stars, by bisecting creation dates."""
        today = datetime.fromtimestamp(self.policy.clock(), tz=timezone.utc).date()
        ranges = [(FIRST_CREATION_DATE, today)]
        while ranges and not self._done():
            lo, hi = ranges.pop()
            plist, q, total = self._search(f"stars:{stars} created:{lo.isoformat()}..{hi.isoformat()}")
            if total > self.search_cap and lo < hi:
                mid = lo + timedelta(days=(hi - lo).days // 2)
                ranges.append((lo, mid))                       # popped last: older half second
                ranges.append((mid + timedelta(days=1), hi))   # newer half first
                continue
            if total > self.search_cap:
                self.stats.capped_plateaus.append(q)
                log.warning("%d repositories match %r (one star count, one creation day); GitHub "
                            "shows only %d of them", total, q, self.search_cap)
            self._take(self._results(plist, q))

    # -- freezing ------------------------------------------------------------------
    def freeze(self, items: list[Any]) -> list[RepoRow]:
        """One row per item with the default branch's head commit; unreadable branches dropped."""
        from github import GithubException
        from tqdm import tqdm

        rows = []
        for item in tqdm(items, desc="head commits", unit="repo", disable=not sys.stderr.isatty()):
            branch_name = item.default_branch
            try:
                branch = self.policy.call(f"branch {item.full_name}@{branch_name}",
                                          lambda: item.get_branch(branch_name))
            except GithubException as exc:
                if exc.status in (404, 409, 451):
                    log.warning("%s: default branch %r could not be read (HTTP %d); repository "
                                "dropped (deleted, emptied or blocked since the search)",
                                item.full_name, branch_name, exc.status)
                    self.stats.branch_missing.append(item.full_name)
                    continue
                raise
            rows.append(RepoRow(
                full_name=item.full_name,
                clone_url=item.clone_url,
                stars=int(item.stargazers_count),
                license=normalize_spdx(item.license.spdx_id if item.license is not None else None),
                default_branch=branch_name,
                head_sha=branch.commit.sha,
                pushed_at=iso_utc(item.pushed_at),
                n_notebooks=None,   # unknown without a tree request per repository
            ))
        return rows

    def crawl(self) -> list[RepoRow]:
        items = self.search()
        rows = self.freeze(items)
        s = self.stats
        log.info("GitHub crawl: %d queries, %d results seen, %d duplicates across windows, "
                 "license rejected %s, %d dropped without a readable branch, %d repositories "
                 "listed; %d waits totalling %.0fs",
                 len(s.queries), s.results_seen, s.duplicates, dict(sorted(s.license_rejected.items())),
                 len(s.branch_missing), len(rows), len(self.policy.waits), math.fsum(self.policy.waits))
        if len(rows) < self.settings.top_n:
            log.warning("GitHub crawl listed %d repositories, fewer than top_n=%d (the search ran out)",
                        len(rows), self.settings.top_n)
        return rows


def crawl_github(section: dict[str, Any], sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time,
                 environ: dict[str, str] | None = None, allow_http_token: bool = False) -> list[RepoRow]:
    """Crawl with the `crawl.github` settings; the token is read from GITHUB_TOKEN only, and
    is never sent over plain http unless `allow_http_token` (secrets.check_transport)."""
    settings = GitHubSettings.from_section(section)
    env = os.environ if environ is None else environ
    token = env.get("GITHUB_TOKEN") or None
    check_transport(settings.base_url, token is not None, allow_http_token)
    if token is None:
        log.warning("GITHUB_TOKEN is not set: unauthenticated search allows 10 requests/min and "
                    "the core API 60/hour; export GITHUB_TOKEN for a real crawl")
    policy = RetryPolicy(settings.max_retries, settings.max_wait_seconds, sleep=sleep, clock=clock)
    crawler = GitHubCrawler(settings, make_client(settings, token), policy)
    from github import GithubException

    try:
        return crawler.crawl()
    except GithubException as exc:
        raise CrawlError(scrub(_explain(exc, settings), (token or "",))) from None


def _explain(exc, settings: GitHubSettings) -> str:
    """A GitHub error that retrying cannot fix, as a message with the likely fix."""
    message = exc.data.get("message", "") if isinstance(exc.data, dict) else str(exc.data)
    errors = exc.data.get("errors") if isinstance(exc.data, dict) else None
    detail = f"HTTP {exc.status}: {message}" + (f" {errors}" if errors else "")
    if exc.status == 401:
        return (f"GitHub {settings.base_url} refused the token ({detail}); GITHUB_TOKEN is "
                f"invalid or expired: create a new token, or unset GITHUB_TOKEN to search unauthenticated")
    if exc.status == 422:
        return (f"GitHub rejected the search ({detail}); check crawl.github.query "
                f"{settings.query!r} against GitHub's search syntax")
    return f"GitHub {settings.base_url}: {detail}; check crawl.github.base_url and the token's access"
