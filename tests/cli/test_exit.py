"""The ``losslens`` script ends without the interpreter's teardown once a command's outputs are closed: exit
handlers still run, output is flushed, the exit code is 0, and running threads are waited for."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import losslens
from losslens.cli._app import TEARDOWN, main

SRC = str(Path(losslens.__file__).resolve().parents[1])


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout)


def test_end_without_teardown_runs_exit_handlers_and_flushes():
    r = _python("import atexit, sys\n"
                "from losslens.cli import end_without_teardown\n"
                "atexit.register(lambda: print('exit handler ran'))\n"
                "sys.stdout.write('buffered, no newline'); sys.stderr.write('on stderr')\n"
                "end_without_teardown()\n"
                "print('not reached')\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "buffered, no newlineexit handler ran\n" and r.stderr == "on stderr"


def test_end_without_teardown_waits_for_running_threads():
    r = _python("import threading, time\n"
                "from losslens.cli import end_without_teardown\n"
                "threading.Thread(target=lambda: (time.sleep(0.3), print('thread finished'))).start()\n"
                "end_without_teardown()\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "thread finished\n"


def test_only_a_finished_tour_marks_its_outputs_closed(tmp_path):
    assert main(["tour", "--only", "nonexistent", "--out", str(tmp_path)]) == 2
    assert TEARDOWN["skippable"] is False
    assert main(["catalog"]) == 0
    assert TEARDOWN["skippable"] is False


@pytest.mark.slow
def test_tour_script_ends_with_its_results_written(tmp_path):
    out = tmp_path / "t"
    r = _python("import atexit, sys\n"
                "atexit.register(lambda: print('exit handler ran'))\n"
                f"sys.argv = ['losslens', 'tour', '--quick', '--only', 'constraints', '--out', {str(out)!r}]\n"
                "from losslens.cli import main\n"
                "main()\n", timeout=300)
    assert r.returncode == 0, r.stderr
    assert "confirmed) in" in r.stdout and r.stdout.endswith("exit handler ran\n")
    data = json.loads((out / "results.json").read_text())
    assert [s["id"] for s in data["sections"]] == ["constraints"]
    assert (out / "index.html").read_text().rstrip().endswith("</html>")


def test_ctrl_c_in_a_command_is_exit_130_with_one_line(monkeypatch, capsys):
    # typer turned the KeyboardInterrupt into a silent exit 130: no line said the run was interrupted
    import losslens.diagnose.training as training

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train", interrupted)
    assert main(["train", "--steps", "5"]) == 130
    captured = capsys.readouterr()
    assert captured.err == "losslens: interrupted\n" and captured.out == ""
