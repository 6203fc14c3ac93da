"""The README's first screen never lies: its commands run, and its column list matches the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
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


def test_demo_command_runs() -> None:
    """Runs the README's demo command as written, in the repo, with this test environment's venv."""
    env = {**os.environ, "DICOMLAKE_VENV": sys.prefix}
    p = subprocess.run(
        ["bash", "-c", first_screen_commands()[0]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=280
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert "StudyDateTime" in p.stdout and "InstanceCount" in p.stdout
    assert "ingested 120 instances" in p.stdout


def test_added_columns_documented_exactly() -> None:
    block = README.split("<!-- added-columns:start -->")[1].split("<!-- added-columns:end -->")[0]
    documented = dict(re.findall(r"^\| `(\w+)` \| (.+) \|$", block, re.M))
    assert documented == {k: d for k, (_, d) in ADDED_COLUMNS.items()}
