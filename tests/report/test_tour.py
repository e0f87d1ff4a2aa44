import json
import math
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from losslens.cli import app
from losslens.report.page import render_result, render_tour
from losslens.report.sections._common import CHECKS, REPRODUCE
from losslens.report.tour import Context, run_tour, select_sections

runner = CliRunner()


@pytest.fixture(scope="module")
def tour_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    run_tour(out, quick=True)
    return out


def _data(out):
    return json.loads((out / "results.json").read_text())


def _claims(out):
    return {c["id"]: c for s in _data(out)["sections"] for c in s["claims"]}


def test_results_numbers_match_exact_math(tour_dir):
    c = {k: v["numbers"] for k, v in _claims(tour_dir).items()}
    # exact GOE value at n = 8 from de Bruijn's Pfaffian is far below the naive 2^-8
    assert c["saddle.goe"]["source"] == "exact" and c["saddle.goe"]["P(min) at the largest n"] < 2.0 ** -8
    assert c["saddle.cubic"]["kind"] == "degenerate" and c["saddle.cubic"]["f'''(0) (exact)"] == 6
    assert c["saddle.xy"]["Hessian eigenvalues (exact)"] == ["-2", "2"]
    assert c["saddle.rule"]["-x^2 - y^2"] == {"eigenvalues (exact)": ["-2", "-2"], "kind": "max"}
    assert c["vanishing.tanh"]["f'(4)"] == pytest.approx(0.0013409506830258655, rel=1e-12)
    assert c["minima.certified"]["global minimum at"] == pytest.approx(1.0904082219, abs=1e-9)
    at = sorted(m["x"] for m in c["minima.basins"]["minima reached"])
    # x cos(pi x) on [-1, 2]: f'(x) = cos(pi x) - pi x sin(pi x) = 0 near -0.2738 (local) and 1.0904 (global)
    assert at[0] == pytest.approx(-0.2738, abs=1e-3) and at[-1] == pytest.approx(1.0904, abs=1e-3)
    assert c["convexity.function-half-square"]["modulus μ"] == "1"
    # (x - y)^2 + x^2 has the constant Hessian [[4, -2], [-2, 2]], eigenvalues 3 ± √5
    assert c["convexity.hessian"]["(x - y)^2 + x^2"]["smallest eigenvalue (exact)"] == "3 - sqrt(5)"
    # f'' = 6x of x³ is negative exactly on (−∞, 0); (x + 1)(x − 1)² has f'' = 6x − 2 >= 0 on [1/3, ∞)
    assert c["convexity.hessian"]["x^3"]["where f'' < 0 (exact)"] == "(-∞, 0)"
    assert c["convexity.hessian"]["log(1 + exp(x))"]["Hessian"] == "exp(x)/(exp(x) + 1)^2"
    assert c["convexity.cubic-local"]["where f'' < 0 within x >= 1/3 (exact)"] == "∅"
    assert c["convexity.domain"]["f''(x) >= 0 for x >= 0 (exact)"] is True
    assert c["convexity.jensen"]["E[f(X)] (exact)"] == pytest.approx(math.exp(1 / 8), rel=1e-15)
    assert c["convexity.cubic-local"]["critical points (exact)"] == ["-1/3", "1"]
    assert c["goal.risk"]["argmin risk"] == pytest.approx(1.0904082, abs=1e-6)
    x2 = (4 + 112 ** 0.5) / 16       # x1 = 2 x2 - 1 with 8 x2^2 - 4 x2 - 3 = 0 (both constraints active)
    assert c["constraints.kkt"]["exact x"] == pytest.approx([2 * x2 - 1, x2], abs=1e-15)
    assert c["constraints.kkt"]["exact multipliers"][0] == pytest.approx(1.5 + 7 ** 0.5 / 28, abs=1e-15)
    # soft thresholding of c = (2, 0.5) at λ = 1 is (1, 0): radius 1
    assert c["constraints.l1"]["solution at λ = 1"] == [1.0, 0.0]
    assert c["exercises.half-ball"]["midpoint value (exact)"] == "sqrt(2)"
    assert c["exercises.subspace"]["M (exact)"] == "[[2/3, -1/3, 1/3], [-1/3, 2/3, 1/3], [1/3, 1/3, 2/3]]"
    # exercise 1: a + t(b − a) from (9/5, 1/2) to (1/2, 9/5) crosses y = 1 at t = (1 − 1/2)/(13/10) = 5/13 and
    # x = 1 at t = (9/5 − 1)/(13/10) = 8/13; of the L-shape's 15 vertex pairs exactly three pass the notch
    bv = c["exercises.boundary-vertices"]
    assert bv["segment a–b leaves for t in"] == ["(5/13, 8/13)"]
    assert bv["exit and re-entry points (exact)"] == ["(13/10, 1)", "(1, 13/10)"]
    assert bv["L-shape: leaving pairs"] == ["(2, 0)–(1, 2)", "(2, 1)–(1, 2)", "(2, 1)–(0, 2)"]
    assert bv["L-shape: reflex vertices"] == ["(1, 1)"] and bv["hexagon: vertex pairs whose segment leaves"] == 0
    # exercise 7: exp at 0, ε = −1: e^ξ = 2(e^−1 − 1 + 1) = 2/e; x⁴ at 1, ε = 2: 12(1 + ξ)² = 2(81 − 1 − 8)/4 = 36
    xi = c["exercises.taylor"]["ξ (exact)"]
    assert xi["exp(x), x = 0, ε = -1"] == "-1 + log(2)" and xi["x^4, x = 1, ε = 2"] == "-1 + sqrt(3)"
    assert c["exercises.taylor"]["ξ/ε"]["x^4, x = 1, ε = 2"] == pytest.approx((3 ** 0.5 - 1) / 2, rel=1e-15)
    # heavy ball along x1 (λ = 0.2, η = 0.4, β = 0.5): largest root of z² − 1.42 z + 0.5 = 0
    assert c["landscape.momentum"]["momentum rate along x1 (exact)"] == pytest.approx((1.42 + 0.0164 ** 0.5) / 2)
    assert c["landscape.momentum"]["gd rate along x1 (exact)"] == pytest.approx(0.92)


def test_every_claim_has_a_check_a_figure_and_its_mutation_is_refuted(tour_dir):
    data = _data(tour_dir)
    seen = set()
    for s in data["sections"]:
        for c in s["claims"]:
            cid = c["id"]
            assert cid in CHECKS, c["statement"]
            seen.add(cid)
            check = CHECKS[cid]
            # the status shown is the check applied to the numbers shown
            ok = check.test(c["numbers"])
            assert c["status"] == ("unknown" if ok is None else "confirmed" if ok else "refuted"), cid
            assert c["figures"], f"{cid} has no figure"
            assert c["command"].startswith("losslens "), f"{cid} has no command that recomputes it"
            for f in c["figures"]:
                assert (tour_dir / f["path"]).stat().st_size > 0 and f["alt"]
            mutated = check.mutate(c["numbers"])
            assert mutated != c["numbers"] and check.test(mutated) is False, cid
            # and the page then shows it refuted
            c_status, c_numbers = c["status"], c["numbers"]
            c["status"], c["numbers"] = "refuted", mutated
            html = render_tour(data)
            c["status"], c["numbers"] = c_status, c_numbers
            block = html.split(f'id="{s["id"]}-{s["claims"].index(c) + 1}"')[1].split('<div class="claim"')[0]
            assert '<span class="badge refuted"' in block, cid
    assert seen == set(CHECKS), set(CHECKS) - seen
    assert all(c["status"] == "confirmed" for c in _claims(tour_dir).values()), \
        {k: v["status"] for k, v in _claims(tour_dir).items() if v["status"] != "confirmed"}


def _ctx(tmp_path):
    return Context(tmp_path, True, 0)


def test_perturbed_inputs_turn_claims_refuted(tmp_path, monkeypatch):
    from losslens.report.sections import constraints, convexity, exercises, landscape

    monkeypatch.setattr(landscape, "BETA", 0.9)   # heavy ball with β = 0.9 contracts by √0.9 > 0.92 along x1
    assert landscape._momentum(_ctx(tmp_path)).status == "refuted"
    monkeypatch.setattr(convexity, "HESSIAN_CASES", {**convexity.HESSIAN_CASES, "x^3": "convex"})
    assert convexity._hessian_psd(_ctx(tmp_path)).status == "refuted"
    monkeypatch.setattr(constraints, "OBJECTIVE", "(x1 - 2)^2 + (x2 - 1.2)^2")   # the exact point is the old one's
    assert constraints._lagrangian(_ctx(tmp_path)).status == "refuted"
    # a convex rectangle in place of the L-shape: the checker proves it convex, no vertex pair leaves it
    monkeypatch.setattr(exercises, "L_SHAPE", "0 <= x <= 2 and 0 <= y <= 2")
    bv = exercises._boundary_vertices(_ctx(tmp_path))
    assert bv.status == "refuted" and bv.numbers["L-shape: vertex pairs whose segment leaves"] == 0
    # a concave function: f'' < 0, the remainder is negative (f below its tangents)
    monkeypatch.setattr(exercises, "TAYLOR_CASES", (("-x^4", 1),))
    taylor = exercises._taylor(_ctx(tmp_path))
    assert taylor.status == "refuted" and taylor.numbers["smallest f(x+ε) − f(x) − εf'(x)"] < 0


def _same(page, reproduced, where):
    if isinstance(reproduced, dict):
        for k, v in reproduced.items():
            _same(page[k], v, f"{where}/{k}")
    elif isinstance(reproduced, list):
        assert len(page) == len(reproduced), where
        for i, (a, b) in enumerate(zip(page, reproduced)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(reproduced, float):
        assert page == pytest.approx(reproduced, rel=1e-6, abs=1e-9), where
    else:
        assert page == reproduced, where


def test_reproduce_commands_give_the_page_numbers(tour_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for cid, c in _claims(tour_dir).items():
        if not c["command"] or c["command"].startswith("losslens tour"):
            continue
        assert cid in REPRODUCE, f"{cid}: no reader for the output of {c['command']!r}"
        args = shlex.split(c["command"])
        assert args[0] == "losslens"
        r = runner.invoke(app, [args[1], "--json", *args[2:]])     # options before a "--"
        assert r.exit_code == 0, (c["command"], r.output)
        _same(c["numbers"], REPRODUCE[cid](json.loads(r.stdout)), cid)


@pytest.mark.slow
def test_tour_commands_reproduce_their_sections(tour_dir, tmp_path):
    claims = _claims(tour_dir)
    commands = {c["command"] for c in claims.values() if c["command"].startswith("losslens tour")}
    assert commands
    for command in sorted(commands):
        args = shlex.split(command)[1:]
        args[args.index("--out") + 1] = str(tmp_path / args[args.index("--out") + 1])
        r = runner.invoke(app, args + ["--json"])
        assert r.exit_code == 0, r.output
        for s in json.loads(r.stdout)["sections"]:
            for c in s["claims"]:
                assert c["numbers"] == claims[c["id"]]["numbers"], c["id"]


def test_only_selects_sections_and_rejects_unknown_ones(tmp_path):
    assert [s.id for s in select_sections("exercises, goal")] == ["goal", "exercises"]
    assert select_sections(None) is None
    from losslens import InputError

    with pytest.raises(InputError, match="unknown one"):
        select_sections("goal,nope")
    with pytest.raises(InputError, match="names no section"):
        select_sections(" , ")
    r = runner.invoke(app, ["tour", "--only", "nope", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "nope" in r.output and "Traceback" not in r.output


def test_page_teaches_with_rendered_formulas(tour_dir):
    html = (tour_dir / "index.html").read_text()
    intros = re.findall(r'<div class="intro">(.*?)</div>', html, re.S)
    assert len(intros) == len(_data(tour_dir)["sections"]) and all("<math" in i for i in intros)
    convexity = html.split('id="convexity"')[1]
    # convex set (∈), convex function (≤), Jensen (≥), Hessian test (⪰), each as MathML from sympy objects
    for fragment in ("<mo>∈</mo>", "<mo>&#x2264;</mo>", "<mo>&#x2265;</mo>", "<mo>⪰</mo>"):
        assert fragment in convexity.split("</div>")[0], fragment
    # sympy's printer would lower-case function names (E(X) as e(X), L as l): kept as written
    assert "<mi>E</mi><mrow><mo>(</mo><mrow><mi>f</mi>" in convexity.split("</div>")[0]
    constraints = html.split('id="constraints"')[1].split("</div>")[0]
    assert "Lagrangian" in constraints and "<mo>&#x2211;</mo>" in constraints    # L = f + Σ α_i c_i
    assert "<mi>L</mi>" in constraints and "<msub><mi>c</mi><mi>i</mi></msub>" in constraints
    for words in ("gradient clipping", "affine", "L1", "exercise", "Krawczyk", "subset simulation", "index",
                  "filter normalisation"):
        assert words.lower() in html.lower(), words
    cells = re.findall(r'<td class="num">(.*?)</td>', html, re.S)
    assert cells and not [c for c in cells if re.search(r"\b(not|strongly|strictly)_convex\b", c)]
    # and in the figures' titles, legends and labels
    words = {f.name: re.findall(r">[^<]*\b[a-z]{2,}_[a-z]{2,}\b[^<]*<", f.read_text())
             for f in (tour_dir / "figures").glob("*.svg")}
    assert not {k: v for k, v in words.items() if v}


def test_rerun_reuses_sections_and_rebuilds_a_missing_one(tmp_path):
    sections = select_sections("vanishing-gradients,exercises")
    first = run_tour(tmp_path, quick=True, sections=sections)
    assert first.reused == ()
    (tmp_path / "sections" / "exercises.json").unlink()
    second = run_tour(tmp_path, quick=True, sections=sections)
    assert "exercises" not in second.reused and "vanishing-gradients" in second.reused
    assert [c.id for c in second.sections[0].claims] == [c.id for c in first.sections[0].claims]


def test_report_renders_any_result(tmp_path, tour_dir):
    src = tmp_path / "eval.json"
    src.write_text(json.dumps({"schema_version": 1, "losslens": "0.1.0", "kind": "saddle",
                               "eigenvalues": [-2.0, 2.0], "nested": {"a": None}}))
    html = render_result(src).read_text()
    assert "saddle" in html and "[-2, 2]" in html and "n/a" in html
    page = render_result(tour_dir / "results.json", tmp_path / "t.html").read_text()
    assert "Saddle points" in page and "<math" in page


def test_report_bad_input(tmp_path):
    from losslens import InputError

    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(InputError, match="is not JSON"):
        render_result(bad)
    with pytest.raises(InputError, match="cannot read"):
        render_result(tmp_path / "missing.json")
    for other in ({"kind": "saddle"}, [1, 2], "text"):          # JSON, but not written by losslens
        bad.write_text(json.dumps(other))
        with pytest.raises(InputError, match="is not a losslens result"):
            render_result(bad)


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


# Every <text> of an SVG figure: its box on screen; overlapping pairs (more than 15% of the smaller box, and more
# than 4 px²); and every plotting axes' labels (ax<i>, ax<i>-xlabel, ax<i>-ylabel are set by losslens.plot.save).
_FIGURE_JS = """() => {
  const boxes = [...document.querySelectorAll('text')].filter(t => t.textContent.trim())
      .map(t => { const r = t.getBoundingClientRect(); return {s: t.textContent.trim(), x0: r.left, y0: r.top,
                                                                 x1: r.right, y1: r.bottom}; });
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0), h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
    if (w <= 0 || h <= 0) continue;
    const small = Math.min((a.x1 - a.x0) * (a.y1 - a.y0), (b.x1 - b.x0) * (b.y1 - b.y0));
    if (w * h > 4 && w * h > 0.15 * small) overlaps.push([a.s, b.s]);
  }
  const axes = [...document.querySelectorAll('g[id]')].map(g => g.id).filter(id => /^ax\\d+$/.test(id));
  const unlabelled = axes.filter(id => !['xlabel', 'ylabel'].every(k => {
      const g = document.getElementById(id + '-' + k); return g && g.textContent.trim(); }));
  return {overlaps, axes: axes.length, unlabelled, texts: boxes.length};
}"""


def test_page_in_a_real_browser(tour_dir):
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium on this machine (.ci/run installs it with apt-get)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(180_000)   # a safety net on a loaded machine, not a timing assertion
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((tour_dir / "index.html").as_uri())
        page.wait_for_load_state("load")
        sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth])")
        assert sizes and all(w > 0 for _, w in sizes), sizes
        # MathML is laid out by the browser: a rendered formula has a height
        heights = page.eval_on_selector_all("math", "els => els.map(e => e.getBoundingClientRect().height)")
        assert heights and all(h > 5 for h in heights), heights
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
        problems = {}
        for src, _ in sizes:
            fig = context.new_page()
            fig.goto((tour_dir / src).as_uri())
            r = fig.evaluate(_FIGURE_JS)
            fig.close()
            if r["overlaps"] or r["unlabelled"] or not r["axes"]:
                problems[src] = r
        browser.close()
    assert errors == []
    assert problems == {}, json.dumps(problems, indent=0, ensure_ascii=False)


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


def test_tour_runs_the_garbage_collector_less_often_and_restores_it(tmp_path):
    import gc

    from losslens.report.claims import Section
    from losslens.report.garbage import GC_YOUNG_THRESHOLD

    seen = []

    def probe(ctx):
        seen.append(gc.get_threshold())
        return []

    def fails(ctx):
        raise RuntimeError("section failed")

    before = gc.get_threshold()
    run_tour(tmp_path / "a", quick=True, sections=[Section("probe", "Probe", probe)])
    assert seen == [(max(before[0], GC_YOUNG_THRESHOLD), *before[1:])] and gc.get_threshold() == before
    with pytest.raises(RuntimeError, match="section failed"):
        run_tour(tmp_path / "b", quick=True, sections=[Section("fails", "Fails", fails)])
    assert gc.get_threshold() == before
