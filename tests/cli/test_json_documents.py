"""For every command: ``losslens CMD ... --json`` is exactly ``result.to_dict()`` of the API call, validates against
``docs/json/<command>.schema.json``, and its verdict is a word of :mod:`losslens.verdicts`."""
import importlib
import json
from pathlib import Path

import jsonschema
import pytest
import typer.main
from typer.testing import CliRunner

from losslens.cli import app
from losslens.cli._app import COMMAND_MODULES
from losslens.results import SCHEMA_VERSION
from losslens.verdicts import VERDICTS, is_allowed

from json_cases import CASES, stable

runner = CliRunner()
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "json"
NO_JSON = {"report"}            # renders a saved document as HTML: prints no result of its own


def roundtrip(d):
    return json.loads(json.dumps(d, allow_nan=False))


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def invoke(case, tmp_path, monkeypatch):
    """Run the case's command with --json; return (printed document, the result object the command printed)."""
    module, name = case.target.rsplit(".", 1)
    mod = importlib.import_module(module)
    original, caught = getattr(mod, name), []

    def spy(*args, **kwargs):
        caught.append(original(*args, **kwargs))
        return caught[-1]

    monkeypatch.setattr(mod, name, spy)
    r = runner.invoke(app, [*case.argv(tmp_path), "--json"])
    monkeypatch.undo()
    assert r.exit_code == 0, r.output
    assert caught, f"{case.target} was not called"
    return json.loads(r.stdout), caught[-1]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else []) for c in CASES])
def test_json_is_to_dict_of_the_api_call(case, tmp_path, monkeypatch):
    printed, result = invoke(case, tmp_path, monkeypatch)
    # the command prints its result's to_dict() and nothing else (seconds included: the very object)
    assert printed == roundtrip(result.to_dict())
    # an independent API call with the same inputs gives the same document (wall-clock seconds aside)
    assert stable(printed) == stable(roundtrip(case.api(tmp_path).to_dict()))
    assert printed["schema_version"] == SCHEMA_VERSION
    jsonschema.validate(printed, schema(case.schema))
    kind = type(result).__name__
    if kind in VERDICTS:
        assert is_allowed(kind, printed["verdict"]), (kind, printed["verdict"])
        assert isinstance(printed["reason"], str) and printed["reason"]
    else:
        assert kind in ("Listing", "Entry") and "verdict" not in printed     # the catalog: a listing, no verdict


def test_every_command_has_a_case_and_a_schema():
    commands = set(typer.main.get_command(app).commands)
    assert len(COMMAND_MODULES) > 10 and commands - NO_JSON == {c.schema for c in CASES}
    for name in {c.schema for c in CASES}:
        s = schema(name)
        jsonschema.Draft202012Validator.check_schema(s)
        assert s["$id"].endswith(f"{name}.schema.json")


@pytest.mark.parametrize("name", sorted({c.schema for c in CASES if c.id not in ("catalog", "catalog-entry")}))
def test_schemas_pin_the_version_and_the_verdict_words(name):
    s = schema(name)
    variants = s.get("oneOf", [s])
    for v in variants:
        assert v["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
        assert {"schema_version", "losslens", "verdict", "reason"} <= set(v["required"])
        assert v["additionalProperties"] is False
        assert v["properties"]["verdict"]["enum"] == list(VERDICTS[v["title"]])      # title: the result type


@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("eval", "project")], ids=lambda c: c.id)
def test_a_schema_refuses_a_wrong_document(case, tmp_path, monkeypatch):
    printed, _ = invoke(case, tmp_path, monkeypatch)
    s = schema(case.schema)
    for bad in ({**printed, "verdict": "maybe"}, {k: v for k, v in printed.items() if k != "reason"},
                {**printed, "schema_version": SCHEMA_VERSION + 1}, {**printed, "extra": 1}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, s)
