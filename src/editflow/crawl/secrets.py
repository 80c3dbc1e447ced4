"""Keep the GitHub token out of logs and off unencrypted connections.

Why: an API error body can echo the request, headers included (a 422 from a proxy or an
enterprise server did), and that text reaches stderr, crawl.log and CI artefacts through
the error message. Every log record and every message the crawl prints passes through
`scrub`, which removes the token's value and anything shaped like a GitHub token or an
Authorization header. And a token must not travel over plain http: `check_transport`
refuses a non-https base_url unless it is this machine (a test server) or the user
allowed it explicitly (`editflow crawl --allow-http-token`).
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from editflow.crawl.table import CrawlError

MASK = "***"
_TOKENS = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{10,}|github_pat_[A-Za-z0-9_]{20,})")  # GitHub's formats
_AUTH = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:(?:token|bearer|basic)\s+)?)[^\s\"',}]+")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with every secret value and every token-shaped string replaced by ***."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = _AUTH.sub(lambda m: m.group(1) + MASK, text)
    return _TOKENS.sub(MASK, text)


class ScrubFilter(logging.Filter):
    """A handler filter that scrubs each record's final message (arguments included)."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = scrub(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.secrets)
        return True


def scrub_logging(secrets: tuple[str, ...]) -> ScrubFilter:
    """Attach a ScrubFilter to every handler of the root logger (and the lastResort one),
    so that records of any library (PyGithub, urllib3) are scrubbed too."""
    flt = ScrubFilter(tuple(s for s in secrets if s))
    handlers = list(logging.getLogger().handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt


def check_transport(base_url: str, has_token: bool, allow_http_token: bool = False) -> None:
    """Raise CrawlError when a token would go to `base_url` unencrypted (see the module)."""
    parts = urlsplit(base_url)
    if not has_token or parts.scheme == "https":
        return
    if parts.scheme != "http":
        raise CrawlError(f"crawl.github.base_url {base_url!r}: not an http(s) URL")
    if (parts.hostname or "") in _LOOPBACK or allow_http_token:
        return
    raise CrawlError(f"crawl.github.base_url {base_url!r} is plain http: GITHUB_TOKEN would be sent "
                     f"unencrypted to {parts.hostname}; use an https:// URL, or pass "
                     f"--allow-http-token if that is really what you want")
