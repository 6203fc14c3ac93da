"""The README's first screen never lies: its commands run, and its column list matches the code.

Not a pip install into the environment under test: ``./dev.sh demo``'s steps run with the installed
command; its setup is the one ``./dev.sh test`` runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from dicomlake.codec.schema import ADDED_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def first_screen_commands() -> list[str]:
    head = README.split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", head)


def test_first_screen_has_two_commands_and_ci_runs_the_test_one() -> None:
    demo, test = first_screen_commands()
    assert demo == "./dev.sh demo" and test == "./dev.sh test"
    assert test in (ROOT / ".ci" / "run").read_text()


def _dev_sh_demo() -> tuple[str, list[str]]:
    """dev.sh's settings and functions (all before its ``cmd=`` line), and the lines of its ``demo)`` case."""
    dev = (ROOT / "dev.sh").read_text()
    prelude = dev.split("\ncmd=", 1)[0]
    case = re.search(r"\n    demo\)\n(.+?)\n        ;;\n", dev, re.S)
    assert case, "dev.sh has no demo) case"
    return prelude, [ln.strip() for ln in case.group(1).splitlines() if ln.strip()]


def test_demo_command_runs(tmp_path: Path) -> None:
    """The README's ``./dev.sh demo``: its setup, then its steps. The setup (``setup_system``,
    ``setup_python notebooks``) is what ``./dev.sh test`` ran before this suite, with the ``test``
    extra, which holds ``notebooks``: not run again here (a pip install into the environment under
    test). The steps run as dev.sh has them, after dev.sh's own settings and functions, with this
    environment's installed ``dicomlake`` command, in a folder of their own (dev.sh changes to the
    folder of its ``$0``)."""
    prelude, lines = _dev_sh_demo()
    setup, steps = lines[:2], lines[2:]
    assert setup == ["setup_system", "setup_python notebooks"]
    test_extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    assert any(d.startswith("dicomlake[") and "notebooks" in d for d in test_extra)
    assert [ln for ln in steps if not ln.startswith("say ")] == [
        '"$VENV/bin/dicomlake" sample sample-data --n 120',
        '"$VENV/bin/dicomlake" ingest sample-data --lake sample-lake --store sample --write-disposition WRITE_TRUNCATE',
        '"$VENV/bin/dicomlake" query latest_studies --lake sample-lake',
    ]
    assert (Path(sys.prefix) / "bin" / "dicomlake").is_file(), f"no dicomlake command in {sys.prefix}: ./dev.sh setup"
    script = prelude + "\n" + "\n".join(steps)
    env = {**os.environ, "DICOMLAKE_VENV": sys.prefix}
    p = subprocess.run(
        ["bash", "-c", script, str(tmp_path / "dev.sh")], env=env, capture_output=True, text=True, timeout=280
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert "StudyDateTime" in p.stdout and "InstanceCount" in p.stdout
    assert "ingested 120 instances" in p.stdout
    assert sorted(q.name for q in tmp_path.iterdir()) == ["sample-data", "sample-lake"]


def test_added_columns_documented_exactly() -> None:
    block = README.split("<!-- added-columns:start -->")[1].split("<!-- added-columns:end -->")[0]
    documented = dict(re.findall(r"^\| `(\w+)` \| (.+) \|$", block, re.M))
    assert documented == {k: d for k, (_, d) in ADDED_COLUMNS.items()}
