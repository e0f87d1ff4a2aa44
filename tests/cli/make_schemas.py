"""Write ``docs/json/<command>.schema.json`` from the real ``--json`` output of the cases in ``json_cases.py``.

    PYTHONPATH=src python tests/cli/make_schemas.py

Each schema is inferred from the documents of its command's cases (types of every key, at every depth; a key
present in every case is required) and then tightened: ``schema_version`` is a constant, ``verdict`` takes exactly
the words of :mod:`losslens.verdicts` for the result type, no top-level key outside the listed ones. A command
whose cases print different result types (``convex`` and ``convex --around``; ``catalog`` and ``catalog NAME``)
gets one schema per type under ``oneOf``. A key that was null in every case takes its type from :data:`NULLABLE`
(by key name), or is left open when not listed. Review the diff before committing.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from json_cases import CASES  # noqa: E402

from losslens import results  # noqa: E402
from losslens.verdicts import VERDICTS  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "docs" / "json"
_NUM, _INT, _STR, _OBJ, _ARR = "number", "integer", "string", "object", "array"
# key -> what it holds when it is not null (hand-written: the examples show only null)
NULLABLE = {
    **dict.fromkeys(("momentum", "perturb_radius", "perturb_gtol", "known_minimum", "minimum", "modulus", "reversals",
                     "rate", "rate_stderr", "coefficient", "r2", "theta_fit", "theta_fit_stderr",
                     "model_distance", "lower", "lower_value", "slope", "intercept", "linear_rmse", "spearman",
                     "spearman_p", "pb_scale", "pb_eps_c", "pb_rmse"), {"type": [_NUM, "null"]}),
    **dict.fromkeys(("steps_to_tol", "seed", "units"), {"type": [_INT, "null"]}),
    **dict.fromkeys(("checkpoint", "store", "rule"), {"type": [_STR, "null"]}),
    "stopped_by": {"enum": [None, "work", "time"]},
    "escape_direction": {"type": [_ARR, "null"], "items": {"type": _NUM}},
    **dict.fromkeys(("schedule", "risk", "trace", "density", "feasible_set", "subgradient", "witness", "membership",
                     "network", "rare_event", "evidence", "proof", "global_minimum", "second_order"),
                    {"type": [_OBJ, "null"]}),
}
NULLABLE_AT = {("certificate", "box"): {"type": [_ARR, "null"], "items": {"type": _ARR, "items": {"type": _NUM}}},
               ("domain", "box"): {"type": [_OBJ, "null"]},
               ("evidence", "eigenvalues"): {"type": [_ARR, "null"], "items": {"type": [_NUM, "null"]}}}
BASE = "https://losslens.invalid/json/"


def infer(value) -> dict:
    """The schema of one JSON value (numbers are ``number``)."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, float):         # a non-finite float is written as null (results.jsonable)
        return {"type": [_NUM, "null"]}
    if isinstance(value, int):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        items = [infer(v) for v in value]
        out: dict = {"type": "array"}
        if items:
            merged = items[0]
            for s in items[1:]:
                merged = merge(merged, s)
            out["items"] = merged
        return out
    props = {k: infer(v) for k, v in value.items()}
    return {"type": "object", "properties": props, "required": sorted(props)}


def _types(s: dict) -> set:
    t = s.get("type")
    return set() if t is None else {t} if isinstance(t, str) else set(t)


def merge(a: dict, b: dict) -> dict:
    """One schema accepting what ``a`` or ``b`` accepts (open when either is open)."""
    if not a or not b:
        return {}
    if a.get("enum") is not None or b.get("enum") is not None:
        return a if a == b else {}
    types = _types(a) | _types(b)
    out: dict = {"type": sorted(types)[0] if len(types) == 1 else sorted(types)}
    if "object" in types:
        pa, pb = a.get("properties", {}), b.get("properties", {})
        out["properties"] = {k: merge(pa[k], pb[k]) if k in pa and k in pb else pa.get(k, pb.get(k))
                             for k in {**pa, **pb}}
        ra = set(a.get("required", pa)) if "properties" in a else set(pb)
        rb = set(b.get("required", pb)) if "properties" in b else set(pa)
        out["required"] = sorted(ra & rb)
    if "array" in types:
        ia, ib = a.get("items"), b.get("items")
        if ia is not None and ib is not None:
            out["items"] = merge(ia, ib)
        elif ia is not None or ib is not None:
            out["items"] = ia if ia is not None else ib
    return out


def _numbers_widened(types: set) -> set:
    """``types`` with ``number`` added when it holds ``integer`` (the inferred schemas say ``number`` for both)."""
    return types | {_NUM} if _INT in types else types


def fill_nulls(s: dict, path: tuple = ()) -> dict:
    """Every always-null key typed from :data:`NULLABLE_AT` / :data:`NULLABLE`, else left open; a key listed there
    that the examples show only non-null, with a type listed there, may still be null (a run that did not converge,
    a point on a path)."""
    listed = NULLABLE_AT.get(path[-2:], NULLABLE.get(path[-1])) if path else None
    if s.get("type") == "null" and path:
        return listed or {}
    s = dict(s)
    seen = _types(s)
    if listed is not None and seen and "null" not in seen and seen <= _numbers_widened(_types(listed)):
        s["type"] = sorted(seen | {"null"})
    if "properties" in s:
        s["properties"] = {k: fill_nulls(v, path + (k,)) for k, v in s["properties"].items()}
    if "items" in s:
        s["items"] = fill_nulls(s["items"], path + ("[]",))
    return s


def tighten(s: dict, kind: str) -> dict:
    """The top level: version constant, the verdict words of ``kind``, nothing else allowed."""
    s = fill_nulls(s)
    props = dict(s["properties"])
    props["schema_version"] = {"const": results.SCHEMA_VERSION}
    props["losslens"] = {"type": "string"}
    if kind in VERDICTS:
        props["verdict"] = {"enum": list(VERDICTS[kind])}
        props["reason"] = {"type": "string"}
    s["properties"] = props
    s["additionalProperties"] = False
    s["title"] = kind
    return s


def documents() -> dict[str, list[tuple[str, dict]]]:
    """schema name -> [(result type, printed document)] for every case."""
    from typer.testing import CliRunner

    from losslens.cli import app
    import importlib

    runner = CliRunner()
    out: dict[str, list[tuple[str, dict]]] = {}
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        for case in CASES:
            module, name = case.target.rsplit(".", 1)
            mod = importlib.import_module(module)
            original, caught = getattr(mod, name), []

            def spy(*a, _o=original, _c=caught, **k):
                _c.append(_o(*a, **k))
                return _c[-1]

            mp.setattr(mod, name, spy)
            path = Path(tmp) / case.id
            path.mkdir()
            r = runner.invoke(app, [*case.argv(path), "--json"])
            mp.undo()
            if r.exit_code != 0:
                raise SystemExit(f"{case.id}: exit {r.exit_code}: {r.output}")
            out.setdefault(case.schema, []).append((type(caught[-1]).__name__, json.loads(r.stdout)))
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, docs in documents().items():
        by_kind: dict[str, dict] = {}
        for kind, d in docs:
            s = infer(d)
            by_kind[kind] = merge(by_kind[kind], s) if kind in by_kind else s
        variants = [tighten(s, kind) for kind, s in by_kind.items()]
        head = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{BASE}{name}.schema.json",
                "description": f"losslens {name} --json (schema_version {results.SCHEMA_VERSION})"}
        doc = {**head, **variants[0]} if len(variants) == 1 else {**head, "oneOf": variants}
        (OUT / f"{name}.schema.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {OUT / f'{name}.schema.json'}")


if __name__ == "__main__":
    main()
