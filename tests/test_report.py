"""editflow report: deterministic example choice, escaping, a self-contained page."""
from __future__ import annotations

import re

from test_aggregate import make_scores

from editflow.report import commit_message, pick_positions, position_label, render


def test_pick_positions_always_has_best_median_worst():
    assert pick_positions(10, 3) == [0, 4, 9]
    assert [position_label(p, 10) for p in pick_positions(10, 3)] == ["best", "median", "worst"]
    assert pick_positions(10, 1) == [4] and pick_positions(10, 2) == [0, 9]
    assert pick_positions(10, 5) == [0, 2, 4, 6, 9]
    assert pick_positions(3, 8) == [0, 1, 2] and pick_positions(0, 8) == [] and pick_positions(5, 0) == []
    assert len(pick_positions(100, 8)) == 8


def test_commit_message_is_the_query_message():
    prompt = ('Commit Message: "first"\nOriginal Code:\n...### End\n'
              'Commit Message:" add <b>plot</b> "quoted" "\n\nOriginal Code Cells:\n')
    assert commit_message({"prompt": prompt}) == 'add <b>plot</b> "quoted" '
    assert commit_message({"prompt": "nothing"}) is None
    assert commit_message({"message": "m", "prompt": prompt}) == "m"


def _page(tmp_path, n=3):
    d = tmp_path / "results/metrics/m/nb-cell/0shot"
    base = make_scores(d / "base.parquet", n=5, metrics={"edit_sim": [10, 90, 50, 30, 70]},
                       predictions=["a0", "<script>alert(1)</script>", "a2", "a3", "a4"],
                       references=["r0", "x = 1", "r2", "r3", "r4"],
                       prompts=[f'Commit Message: "msg {i} </pre><img src=x>"\nOriginal Code:\n' for i in range(5)])
    run1 = make_scores(d / "run1.parquet", checkpoint="run1", n=5, metrics={"edit_sim": [5, 5, 5, 5, 5]})
    return render([str(run1), str(base)], n)


def test_examples_are_best_median_worst_by_edit_sim(tmp_path):
    page = _page(tmp_path)
    base = page.split('<section id="system-0">')[1].split("</section>")[0]
    ids = re.findall(r'<article id="[^"]+" data-example="([^"]+)">', base)
    assert ids == ["ex01", "ex02", "ex00"]        # edit_sim 90 (best), 50 (median), 10 (worst)
    assert "best by edit_sim — rank 1 of 5" in base and "worst by edit_sim — rank 5 of 5" in base
    ft = page.split('<section id="system-1">')[1]
    assert "m · nb-cell · finetuned 0-shot (run1)" in ft
    assert re.findall(r'<article id="[^"]+" data-example="([^"]+)">', ft) == ["ex00", "ex02", "ex04"]  # ties: by example_id


def test_untrusted_text_is_escaped(tmp_path):
    page = _page(tmp_path)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Commit message: msg 1 &lt;/pre&gt;&lt;img src=x&gt;" in page


def test_page_is_self_contained_and_deterministic(tmp_path):
    page = _page(tmp_path)
    assert page == _page(tmp_path)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r'(src|href)="(?!#)', page)   # no external resources, only in-page anchors


def test_cli_writes_the_page(tmp_path):
    from editflow.cli import main
    p = make_scores(tmp_path / "results/metrics/m/nb-cell/0shot/base.parquet", n=12)
    out = tmp_path / "report/examples.html"
    assert main(["report", "--scores", str(p), "--out", str(out), "--n", "4"]) == 0
    assert out.read_text().count("<article ") == 4
    assert main(["report", "--scores", str(p), "--out", str(out), "--settings", '{"n_examples": 2}']) == 0
    assert out.read_text().count("<article ") == 2


def test_markdown_mode_embeds_local_images_only(tmp_path):
    from editflow.cli import main
    (tmp_path / "plots").mkdir()
    png = b"\x89PNG\r\n\x1a\nfake"
    (tmp_path / "plots/funnel.png").write_bytes(png)
    (tmp_path / "secret.png").write_bytes(png)
    (tmp_path / "README.md").write_text(
        "# card <x>\n\n> **demo** data\n\n| step | n |\n|---|---|\n| - kept | 3 |\n\n"
        "![funnel](plots/funnel.png)\n![gone](plots/missing.png)\n![remote](http://x/y.png)\n"
        "![up](../secret.png)\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/README.md").write_text("![up](../secret.png)\n")
    out = tmp_path / "card.html"
    assert main(["report", "--markdown", str(tmp_path / "README.md"), "--out", str(out)]) == 0
    page = out.read_text()
    assert "<title>card &lt;x&gt;</title>" in page and "<blockquote><strong>demo</strong> data</blockquote>" in page
    assert page.count('src="data:image/png;base64,') == 1 and "<td>- kept</td>" in page
    assert "<em>[gone]</em>" in page and "<em>[remote]</em>" in page and "http://" not in page
    assert main(["report", "--markdown", str(tmp_path / "sub/README.md"), "--out", str(out)]) == 0
    assert "base64" not in out.read_text()          # outside the card's folder: not embedded


def test_each_example_shows_the_edit_beside_what_the_model_did(tmp_path):
    """old -> reference next to old -> prediction; a copy of the input is flagged, not hidden."""
    d = tmp_path / "results/metrics/m/nb-cell/0shot"
    path = make_scores(d / "base.parquet", n=2, metrics={"edit_sim": [90, 10]},
                       sources=["x = 1\ny = 2", "a = 1"], predictions=["x = 1\ny = 2", "a = 3"],
                       references=["x = 1\ny = 5", "a = 3"])
    page = render([str(path)], 2)
    copied, fixed = page.split('<article id="system-0-1"')[1], page.split('<article id="system-0-2"')[1]
    copied, fixed = copied.split("</article>")[0], fixed.split("</article>")[0]
    for article in (copied, fixed):
        assert "the edit: old → reference" in article and "the model: old → prediction" in article
    assert "copied its input" in copied and "copied its input" not in fixed
    assert "<span class=\"diff_chg\">5</span>" in copied  # the edit's change is on the page
