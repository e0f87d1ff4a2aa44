"""The verdict vocabulary (losslens.verdicts) matches the words the analyses use, and is enforced on every result."""
import dataclasses

import pytest
import torch

from losslens import verdicts
from losslens.verdicts import UNKNOWN, VERDICTS, check, is_allowed, table_markdown


def test_every_set_allows_unknown_and_says_what_each_word_means():
    assert len(VERDICTS) >= 20
    for name, words in VERDICTS.items():
        assert UNKNOWN in words and len(words) >= 2, name
        assert all(isinstance(m, str) and len(m) > 10 for m in words.values()), name
        assert name in verdicts.COMMANDS


def test_the_sets_are_the_words_the_code_uses():
    from losslens import classify, critical
    from losslens.convexity import check as convexity
    from losslens.curvature import verdict as curvature
    from losslens.diagnose import flowmonitor
    from losslens.optimize import constrained
    from losslens.optimize import verdict as optimize

    assert set(VERDICTS["PointReport"]) == {*classify.KINDS, UNKNOWN}
    assert set(VERDICTS["HessianReport"]) == set(curvature.KINDS)
    assert set(VERDICTS["Run"]) == set(optimize.VERDICTS)
    assert set(VERDICTS["Convexity"]) == set(convexity.VERDICTS)
    assert set(VERDICTS["GradientFlow"]) == set(flowmonitor.VERDICTS)
    assert set(VERDICTS["ConstrainedResult"]) == set(constrained.VERDICTS)
    assert set(critical.KINDS) <= set(VERDICTS["PointReport"])


def test_a_result_with_an_undocumented_verdict_cannot_be_made():
    from losslens.diagnose.flowmonitor import GradientFlow

    ok = GradientFlow(("a", "b"), torch.ones(1, 2), torch.ones(1), 1.0, "healthy", "fine", 1e-2, 1e2, 1e3)
    assert is_allowed("GradientFlow", ok.verdict)
    with pytest.raises(ValueError, match=r"GradientFlow.verdict == 'fine' is not one of its documented words"):
        dataclasses.replace(ok, verdict="fine")
    with pytest.raises(ValueError, match="not one of its documented words"):
        check(type("Run", (), {"verdict": "stuck"})())                   # checked by type name
    check(type("NotListed", (), {"verdict": "anything"})())        # types without a set are not checked


def test_the_docs_table_lists_every_word():
    table = table_markdown()
    for name, words in VERDICTS.items():
        for word in words:
            assert f"| `{name}` | `{verdicts.COMMANDS[name]}` | `{word}` |" in table


def test_the_docs_carry_the_current_table():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "json" / "README.md").read_text()
    assert table_markdown() in text
