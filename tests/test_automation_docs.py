"""docs/automation.md: its runnable walk through runs as written, and its tables name the
real choices (event types, retry delays, promotion metrics, settings)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ssots.config import Settings, variable
from ssots.services.schedules import MISFIRE_POLICIES, PROMOTION_METRICS
from ssots.services.webhooks import RETRY_DELAYS
from ssots.store.webhooks import EVENT_TYPES

DOC = Path(__file__).resolve().parents[1] / "docs" / "automation.md"


def runnable_block() -> str:
    text = DOC.read_text()
    match = re.search(r"<!-- runnable -->\n```bash\n(.*?)```", text, re.S)
    assert match is not None
    return match[1]


@pytest.mark.slow
def test_the_walk_through_runs_as_written(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(tmp_path),
    }
    env.pop("SSOTS_HOME", None)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", runnable_block()],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "refused: a private address" in done.stdout
    assert "whsec_" in done.stdout


def test_the_doc_names_the_real_choices() -> None:
    text = DOC.read_text()
    for event in EVENT_TYPES:
        assert f"`{event}`" in text
    for metric in PROMOTION_METRICS:
        assert f"`{metric}`" in text
    for policy in MISFIRE_POLICIES:
        assert f"`{policy}`" in text
    assert "immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h" in text
    assert RETRY_DELAYS == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    for field in ("scheduler", "schedule_misfire_grace", "webhook_key",
                  "webhook_allow_private", "webhook_retry_scale"):
        assert field in Settings.model_fields
        assert f"`{variable(field)}`" in text
