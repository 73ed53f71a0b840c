"""The ``env`` fixture of the console tests (console_support.make_env)."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_support import Env, make_env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)
