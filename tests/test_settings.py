import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(**env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "CRYPTOGRAPHY_KEY")}
    env.update({"DJANGO_SETTINGS_MODULE": "qualytics_jira.settings", **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_without_secrets_when_debug_is_off():
    result = run_check(DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_names_the_missing_cryptography_key():
    result = run_check(DEBUG="0", SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "CRYPTOGRAPHY_KEY is not set" in result.stderr


def test_it_starts_with_development_secrets_in_debug():
    result = run_check(DEBUG="1")

    assert result.returncode == 0, result.stderr
