"""Write the recorded GitHub REST exchanges the crawl tests replay (run: python build.py).

These are our own recordings, shaped after GitHub's REST docs ("Search repositories",
"Get a branch", "Rate limits for the REST API") and real responses: the same fields,
headers (Link, X-RateLimit-*, Retry-After) and error bodies, trimmed to what matters.
Each scenario is a JSON file: {"description", "exchanges": [{"request", "response"}]}
served strictly in order by the test server in tests/test_crawl_github.py.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
API = "https://api.github.com"
QUERY = 'language:"Jupyter Notebook" machine learning'
RESET = 1700000060          # X-RateLimit-Reset used by the 403 (tests fix the clock at 1700000000)


def repo_item(owner: str, name: str, stars: int, spdx: str | None, branch: str, rid: int,
              pushed_at: str, created_at: str = "2019-03-04T05:06:07Z") -> dict:
    full = f"{owner}/{name}"
    licenses = {
        "MIT": ("mit", "MIT License"), "Apache-2.0": ("apache-2.0", "Apache License 2.0"),
        "GPL-3.0": ("gpl-3.0", "GNU General Public License v3.0"),
        "BSD-3-Clause": ("bsd-3-clause", 'BSD 3-Clause "New" or "Revised" License'),
        "NOASSERTION": ("other", "Other"),
    }
    lic = None
    if spdx is not None:
        key, lname = licenses[spdx]
        lic = {"key": key, "name": lname, "spdx_id": spdx,
               "url": None if spdx == "NOASSERTION" else f"{API}/licenses/{key}",
               "node_id": f"MDc6TGljZW5zZ{rid % 10}"}
    return {
        "id": rid, "node_id": f"R_kgDO{rid:08d}", "name": name, "full_name": full, "private": False,
        "owner": {"login": owner, "id": rid * 7, "type": "User", "url": f"{API}/users/{owner}",
                  "html_url": f"https://github.com/{owner}", "site_admin": False},
        "html_url": f"https://github.com/{full}", "description": f"{name}: notebooks", "fork": False,
        "url": f"{API}/repos/{full}", "branches_url": f"{API}/repos/{full}/branches{{/branch}}",
        "created_at": created_at, "updated_at": pushed_at, "pushed_at": pushed_at,
        "git_url": f"git://github.com/{full}.git", "ssh_url": f"git@github.com:{full}.git",
        "clone_url": f"https://github.com/{full}.git", "homepage": None, "size": 1000 + rid,
        "stargazers_count": stars, "watchers_count": stars, "language": "Jupyter Notebook",
        "has_issues": True, "forks_count": stars // 10, "archived": False, "disabled": False,
        "open_issues_count": 3, "license": lic, "topics": ["machine-learning"],
        "visibility": "public", "forks": stars // 10, "open_issues": 3, "watchers": stars,
        "default_branch": branch, "score": 1.0,
    }


def search_headers(remaining: int, link: str | None = None) -> dict:
    headers = {"Content-Type": "application/json; charset=utf-8", "X-RateLimit-Limit": "30",
               "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(RESET),
               "X-RateLimit-Used": str(30 - remaining), "X-RateLimit-Resource": "search",
               "X-GitHub-Media-Type": "github.v3; format=json"}
    if link:
        headers["Link"] = link
    return headers


def core_headers(remaining: int) -> dict:
    return {"Content-Type": "application/json; charset=utf-8", "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(RESET + 3600),
            "X-RateLimit-Used": str(5000 - remaining), "X-RateLimit-Resource": "core"}


def search_request(q: str, per_page: int, page: int | None = None) -> dict:
    query = {"q": q, "sort": "stars", "order": "desc", "per_page": str(per_page)}
    if page is not None:
        query["page"] = str(page)
    return {"method": "GET", "path": "/search/repositories", "query": query}


def page_link(q: str, per_page: int, page: int, last: int) -> str:
    def url(p: int) -> str:
        return f"{API}/search/repositories?" + urlencode(
            {"q": q, "sort": "stars", "order": "desc", "per_page": per_page, "page": p})
    parts = []
    if page > 1:
        parts += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
    if page < last:
        parts += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    return ", ".join(parts)


def branch_exchange(full: str, branch: str, sha: str, status: int = 200, headers: dict | None = None,
                    body: dict | None = None) -> dict:
    if body is None:
        body = {
            "name": branch,
            "commit": {"sha": sha, "node_id": f"C_{sha[:12]}", "url": f"{API}/repos/{full}/commits/{sha}",
                       "html_url": f"https://github.com/{full}/commit/{sha}",
                       "commit": {"message": "Update notebooks", "tree": {"sha": sha[::-1]}}},
            "_links": {"self": f"{API}/repos/{full}/branches/{branch}",
                       "html": f"https://github.com/{full}/tree/{branch}"},
            "protected": False,
        }
    return {"request": {"method": "GET", "path": f"/repos/{full}/branches/{branch}", "query": {}},
            "response": {"status": status, "headers": headers or core_headers(4990), "body": body}}


REPOS = [  # rank order (stars desc); per_page 3 -> pages [0:3], [3:6], [6:7]
    repo_item("alice", "vision-notebooks", 900, "MIT", "main", 101, "2024-05-01T10:00:00Z"),
    repo_item("bob", "tabular-ml", 800, "Apache-2.0", "master", 102, "2024-04-02T11:30:00Z"),
    repo_item("carol", "gpl-course", 700, "GPL-3.0", "main", 103, "2024-03-03T12:00:00Z"),
    repo_item("dave", "no-license", 600, None, "main", 104, "2024-02-04T13:00:00Z"),
    repo_item("erin", "nlp-labs", 500, "MIT", "develop", 105, "2024-01-05T14:00:00Z"),
    repo_item("frank", "bsd-stats", 400, "BSD-3-Clause", "main", 106, "2023-12-06T15:00:00Z"),
    repo_item("grace", "rl-tutorials", 300, "MIT", "main", 107, "2023-11-07T16:00:00Z"),
]
SHAS = {"alice/vision-notebooks": "1" * 40, "bob/tabular-ml": "2" * 40,
        "erin/nlp-labs": "5" * 40, "grace/rl-tutorials": "7" * 40}


def search_page_ok(q: str, page: int, remaining: int) -> dict:
    items = REPOS[(page - 1) * 3: page * 3]
    return {"status": 200, "headers": search_headers(remaining, page_link(q, 3, page, 3)),
            "body": {"total_count": len(REPOS), "incomplete_results": False, "items": items}}


def paginated_with_faults() -> dict:
    q = f"{QUERY} stars:>=100"
    ex = [
        {"request": search_request(q, 3), "response": search_page_ok(q, 1, 29)},
        {"request": search_request(q, 3, 2),
         "response": {"status": 502, "headers": {"Content-Type": "application/json"},
                      "body": {"message": "Server Error"}}},
        {"request": search_request(q, 3, 2), "response": search_page_ok(q, 2, 28)},
        {"request": search_request(q, 3, 3),
         "response": {"status": 429, "headers": {**search_headers(0), "Retry-After": "7"},
                      "body": {"message": "You have exceeded a secondary rate limit. Please wait a few "
                                          "minutes before you try again.",
                               "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}}},
        {"request": search_request(q, 3, 3), "response": search_page_ok(q, 3, 27)},
        branch_exchange("alice/vision-notebooks", "main", SHAS["alice/vision-notebooks"], status=403,
                        headers={**core_headers(0), "X-RateLimit-Reset": str(RESET)},
                        body={"message": "API rate limit exceeded for user ID 4242. If you reach out to "
                                         "GitHub Support for help, please include the request ID.",
                              "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
        branch_exchange("alice/vision-notebooks", "main", SHAS["alice/vision-notebooks"]),
        branch_exchange("bob/tabular-ml", "master", SHAS["bob/tabular-ml"]),
        branch_exchange("erin/nlp-labs", "develop", SHAS["erin/nlp-labs"]),
        branch_exchange("grace/rl-tutorials", "main", SHAS["grace/rl-tutorials"]),
    ]
    return {"description": "top_n=4 of 7 results over 3 pages (per_page=3), license allow-list "
                           "[mit, apache-2.0]; a 502 on page 2, a 429 with Retry-After on page 3, "
                           "a primary-rate-limit 403 on the first branch lookup",
            "exchanges": ex}


def rate_limit_too_long() -> dict:
    q = f"{QUERY} stars:>=100"
    return {"description": "a 403 whose X-RateLimit-Reset is an hour away, beyond max_wait_seconds",
            "exchanges": [
                {"request": search_request(q, 3),
                 "response": {"status": 403,
                              "headers": {**search_headers(0), "X-RateLimit-Reset": str(1700003600)},
                              "body": {"message": "API rate limit exceeded for 203.0.113.7. (But here's "
                                                  "the good news: Authenticated requests get a higher rate "
                                                  "limit. Check out the documentation for more details.)",
                                       "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}}},
            ]}


def server_errors_exhaust() -> dict:
    q = f"{QUERY} stars:>=100"
    bad = {"status": 503, "headers": {"Content-Type": "application/json"},
           "body": {"message": "Service Unavailable"}}
    return {"description": "503 on every try: max_retries=2 gives 3 attempts and waits 1 s, 2 s",
            "exchanges": [{"request": search_request(q, 3), "response": bad} for _ in range(3)]}


def missing_branch() -> dict:
    q = f"{QUERY} stars:>=100"
    items = REPOS[:2]
    return {"description": "two results; the first repository's branch is gone (404): dropped",
            "exchanges": [
                {"request": search_request(q, 3),
                 "response": {"status": 200, "headers": search_headers(29),
                              "body": {"total_count": 2, "incomplete_results": False, "items": items}}},
                branch_exchange("alice/vision-notebooks", "main", "", status=404,
                                body={"message": "Branch not found",
                                      "documentation_url": "https://docs.github.com/rest/branches/branches#get-a-branch",
                                      "status": "404"}),
                branch_exchange("bob/tabular-ml", "master", SHAS["bob/tabular-ml"]),
            ]}


def bad_credentials() -> dict:
    q = f"{QUERY} stars:>=100"
    return {"description": "an invalid or expired token: 401, not retried",
            "exchanges": [
                {"request": search_request(q, 3),
                 "response": {"status": 401, "headers": {"Content-Type": "application/json; charset=utf-8"},
                              "body": {"message": "Bad credentials",
                                       "documentation_url": "https://docs.github.com/rest",
                                       "status": "401"}}},
            ]}


SCENARIOS = {
    "bad_credentials": bad_credentials,
    "paginated_with_faults": paginated_with_faults,
    "rate_limit_too_long": rate_limit_too_long,
    "server_errors_exhaust": server_errors_exhaust,
    "missing_branch": missing_branch,
}

if __name__ == "__main__":
    for name, build in SCENARIOS.items():
        (HERE / f"{name}.json").write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {name}.json")
