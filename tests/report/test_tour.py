import json
import os
import shutil
from pathlib import Path

import pytest

from losslens.report.page import render_result
from losslens.report.tour import run_tour


@pytest.fixture(scope="module")
def tour_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    run_tour(out, quick=True)
    return out


def _claims(out):
    data = json.loads((out / "results.json").read_text())
    return {s["id"]: s["claims"] for s in data["sections"]}


def test_results_numbers_match_exact_math(tour_dir):
    claims = _claims(tour_dir)
    cubic, saddle, high_dim, network, critical = claims["saddle-points"]
    # exact GOE value at n = 8 from de Bruijn's Pfaffian is far below the naive 2^-8
    assert high_dim["numbers"]["source"] == "exact" and high_dim["numbers"]["P(min), n = 8"] < 2.0 ** -8
    assert cubic["numbers"]["kind"] == "degenerate" and cubic["numbers"]["f''(0)"] == 0.0
    assert saddle["numbers"]["Hessian eigenvalues"] == [-2.0, 2.0] and saddle["status"] == "confirmed"
    tanh, stalled, flow = claims["vanishing-gradients"]
    assert tanh["numbers"]["f'(4)"] == pytest.approx(0.0013409506830258655, rel=1e-12)
    assert stalled["numbers"]["verdict"] == "vanishing_gradient"
    certified, basins = claims["local-minima"]
    assert certified["numbers"]["certified"] and certified["numbers"]["complete (no other critical point)"]
    assert certified["numbers"]["global minimum at"] == pytest.approx(1.0904082219, abs=1e-9)
    at = sorted(float(k.split("= ")[1]) for k in basins["numbers"] if k.startswith("minimum at"))
    # x cos(pi x) on [-1, 2]: f'(x) = cos(pi x) - pi x sin(pi x) = 0 near -0.2738 (local) and 1.0904 (global)
    assert at[0] == pytest.approx(-0.2738, abs=1e-3) and at[-1] == pytest.approx(1.0904, abs=1e-3)
    conv = {c["statement"].split(" is ")[0]: c["numbers"].get("verdict") for c in claims["convexity"]}
    assert conv["0.5*x^2"] == "strongly_convex" and conv["cos(pi*x)"] == "not_convex"
    risk = claims["goal"][0]["numbers"]
    # f'(x) = cos(pi x) - pi x sin(pi x) = 0 at x = 1.0904 on [0.5, 1.5]; the ripple moves g's minimizer away
    assert risk["argmin risk"] == pytest.approx(1.0904082, abs=1e-6)
    assert abs(risk["argmin empirical risk"] - risk["argmin risk"]) > 0.01
    kkt, decay, _ = claims["constraints"]
    # x1 = 2 x2 - 1 with 8 x2^2 - 4 x2 - 3 = 0 (both constraints active)
    x2 = (4 + 112 ** 0.5) / 16
    assert kkt["numbers"]["solution"] == pytest.approx([2 * x2 - 1, x2], abs=1e-6)
    assert decay["numbers"]["multiplier"] == pytest.approx(decay["numbers"]["λ"], rel=1e-6)
    assert flow["numbers"]["deep sigmoid verdict"] == "vanishing"
    assert network["numbers"]["λmax after 1 step"] > 0
    # the highest-loss critical point has every hidden unit off (output = class prior): a saddle
    nums = critical["numbers"]
    assert nums["converged"] >= 5 and nums["index at highest loss"] > 0
    assert critical["status"] == {"saddles_high_minima_low": "confirmed", "not_observed": "refuted"}.get(
        nums["checker's verdict"], "unknown")


def test_every_claim_has_a_known_status_and_figures_exist(tour_dir):
    for claims in _claims(tour_dir).values():
        for c in claims:
            assert c["status"] in ("confirmed", "refuted", "unknown", "unavailable")
            for f in c["figures"]:
                assert (tour_dir / f["path"]).stat().st_size > 0 and f["alt"]


def test_rerun_reuses_sections_and_rebuilds_a_missing_one(tmp_path):
    first = run_tour(tmp_path, quick=True)
    assert first.reused == ()
    (tmp_path / "sections" / "saddle-points.json").unlink()
    second = run_tour(tmp_path, quick=True)
    assert "saddle-points" not in second.reused and "vanishing-gradients" in second.reused


def test_report_renders_any_result(tmp_path, tour_dir):
    src = tmp_path / "eval.json"
    src.write_text(json.dumps({"kind": "saddle", "eigenvalues": [-2.0, 2.0], "nested": {"a": None}}))
    html = render_result(src).read_text()
    assert "saddle" in html and "[-2, 2]" in html and "n/a" in html
    assert "Saddle points" in render_result(tour_dir / "results.json", tmp_path / "t.html").read_text()


def test_report_bad_input(tmp_path):
    from losslens import InputError

    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(InputError, match="is not JSON"):
        render_result(bad)
    with pytest.raises(InputError, match="cannot read"):
        render_result(tmp_path / "missing.json")


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_page_in_a_real_browser(tour_dir):
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium on this machine (.ci/run installs it with apt-get)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((tour_dir / "index.html").as_uri())
        page.wait_for_load_state("load")
        sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth])")
        assert sizes and all(w > 0 for _, w in sizes), sizes
        anchors = page.eval_on_selector_all("a[href^='#']", "els => els.map(e => e.getAttribute('href'))")
        for href in anchors:
            if href != "#":
                assert page.query_selector(href) is not None, href
        links = page.eval_on_selector_all("a[href]:not([href^='#'])", "els => els.map(e => e.getAttribute('href'))")
        assert links and all((tour_dir / h).exists() for h in links), links
        frames = [f for f in page.frames if f.url.endswith(".html") and "figures/" in f.url]
        assert frames, "the interactive figure did not load"
        frames[0].wait_for_selector(".js-plotly-plot .main-svg", timeout=20000)
        artifacts = Path(os.environ.get("LOSSLENS_ARTIFACTS", "test-artifacts"))
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "tour.png"), full_page=True)
        browser.close()
    assert errors == []


def _fake_sections(calls):
    from losslens.report.tour import Claim, Section

    def make(name):
        def run(ctx):
            calls.append(name)
            fig = ctx.html_figure(f"<p>{name} {ctx.seed}</p>", name, f"figure of {name}")
            return [Claim(f"{name} holds", "computed", "confirmed", {"value": 1.5, "seed": ctx.seed}, (fig,), "cmd")]
        return Section(name, name.title(), run)

    return [make("alpha"), make("beta")]


def test_a_changed_byte_in_any_cached_file_recomputes_that_section_and_says_so(tmp_path):
    from flipbytes import flipped, positions, stored_files

    calls = []
    sections = _fake_sections(calls)
    first = run_tour(tmp_path, quick=True, sections=sections)
    assert calls == ["alpha", "beta"] and first.store_notes == ()
    cached = [p for p in stored_files(tmp_path) if p.parent.name in ("sections", "figures")]
    assert [p.relative_to(tmp_path).as_posix() for p in cached] == [
        "figures/alpha.html", "figures/beta.html", "sections/alpha.json", "sections/beta.json"]
    for p in cached:
        name = p.stem
        for pos in positions(p.stat().st_size):
            calls.clear()
            with flipped(p, pos):
                again = run_tour(tmp_path, quick=True, sections=sections)
            assert calls == [name] and again.reused == tuple(s for s in ("alpha", "beta") if s != name)
            assert len(again.store_notes) == 1 and again.store_notes[0].endswith(": recomputed")
            assert again.store_notes[0].startswith(f"sections/{name}.json")
            if p.parent.name == "figures":
                assert f"figure figures/{name}.html changed since it was written (sha256)" in again.store_notes[0]
            else:
                assert f"sections/{name}.json is corrupt (" in again.store_notes[0]
            assert again.to_dict()["sections"] == [{**s, "seconds": a["seconds"]} for s, a in
                                                   zip(first.to_dict()["sections"], again.to_dict()["sections"])]
    calls.clear()
    other = run_tour(tmp_path, quick=True, seed=1, sections=sections)
    assert calls == ["alpha", "beta"] and other.store_notes == (
        "sections/alpha.json was made with other inputs (seed 0 there, 1 now): recomputed",
        "sections/beta.json was made with other inputs (seed 0 there, 1 now): recomputed")
