"""The generic result page: long values are shortened without changing a number; user text is escaped."""
from __future__ import annotations

import html
import json
import re

from losslens.report.page import fmt, render_result

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _numbers(text: str) -> set[float]:
    return {float(m) for m in NUMBER.findall(text)}


def test_a_shortened_list_shows_only_whole_numbers_of_the_document(tmp_path):
    path = [[8.483403187121726e-155, 0.529257705377117]] * 30       # > 12 items: written as JSON, then shortened
    src = tmp_path / "r.json"
    src.write_text(json.dumps({"schema_version": 1, "losslens": "0.1.0", "path": path}))
    page = html.unescape(render_result(src).read_text())
    cell = re.search(r"<th>path</th><td>(.*?)</td>", page, re.S).group(1)
    assert cell.endswith(" ...") and len(cell) <= 304
    assert _numbers(cell) == {8.483403187121726e-155, 0.529257705377117}


def test_a_shortened_mapping_shows_only_whole_numbers():
    values = [1.23456789e-100 * (i + 1) for i in range(11)]
    shown = {float(fmt(u)) for u in values}
    for pad in range(300, 320):                     # the 400-character limit falls on every place of an item
        text = fmt({"a": "x" * pad, **{f"k{i}": u for i, u in enumerate(values)}})
        assert text.endswith(" ...") and len(text) <= 404
        assert _numbers(re.sub(r"k\d+:", "", text)) <= shown, pad


def test_user_text_is_escaped(tmp_path):
    src = tmp_path / "r.json"
    src.write_text(json.dumps({"schema_version": 1, "losslens": "0.1.0", "expression": "<script>alert(1)</script>",
                               "x<y&z": ["<b>"] * 20}))
    page = render_result(src).read_text()
    assert "<script" not in page and "<b>" not in page and "x&lt;y&amp;z" in page


def test_the_users_names_are_shown_as_given_and_verdict_words_as_words(tmp_path):
    from losslens import classify_point, parse

    f = parse("learning_rate^2 - weight_decay^2")
    src = tmp_path / "r.json"
    src.write_text(json.dumps(classify_point(f, [0.0, 0.0]).to_dict()))
    page = render_result(src).read_text()
    assert "[learning_rate, weight_decay]" in page and "learning rate" not in page
    assert "<td class=\"num\">saddle</td>" in page
    nested = {"schema_version": 1, "losslens": "0.1.0", "verdict": "not_convex", "run": {"names": ["step_size"]}}
    src.write_text(json.dumps(nested))
    page = render_result(src).read_text()
    assert "not convex" in page and "step_size" in page and "step size" not in page
