"""
The demo, `python -m httpx_cached_auth demo`, run for real against its embedded API.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from httpx_cached_auth import CacheStats
from httpx_cached_auth import _demo as demo
from httpx_cached_auth.__main__ import main
from httpx_cached_auth._demo_api import DemoLoginAPI

SMALL = ["--clients", "3", "--requests", "2", "--login-delay", "0"]

# Every token of the demo API is a JWT, whose encoded header starts like this.
JWT_START = "eyJ"


def logins_in(report: str) -> tuple[int, int]:
    """The logins the report counts before the revocation, and after it."""
    before = re.search(r"^before revocation: .*logins: (\d+)$", report, re.MULTILINE)
    after = re.search(r"^after revocation: .*logins: \+(\d+)$", report, re.MULTILINE)
    assert before is not None, report
    assert after is not None, report

    return int(before[1]), int(after[1])


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_demo_logs_in_once_then_once_more(
    library: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo succeeds with one login, and one more after the revocation."""
    status = main(["demo", "--client", library, *SMALL])

    report = capsys.readouterr().out
    assert status == 0, report
    assert logins_in(report) == (1, 1)
    assert f"on {library}\n" in report
    assert report.rstrip().splitlines()[-1].startswith("OK: all 24 requests")


def test_demo_never_prints_the_password_or_a_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The report shows the user's email, but neither the password nor a token."""
    main(["demo", *SMALL])

    output = capsys.readouterr()
    assert "user: demo-" in output.out
    for secret in (demo.DEMO_PASSWORD, JWT_START):
        assert secret not in output.out
        assert secret not in output.err


def test_demo_runs_as_a_module() -> None:
    """`python -m httpx_cached_auth demo` exits 0 and keeps the password out."""
    command = [sys.executable, "-W", "error", "-m", "httpx_cached_auth", "demo"]
    command += ["--clients", "2", "--requests", "1", "--login-delay", "0"]

    # The command is this interpreter and fixed arguments, with no shell.
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert logins_in(result.stdout) == (1, 1)
    assert demo.DEMO_PASSWORD not in result.stdout


def test_demo_fails_when_the_logins_are_not_as_expected(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A revocation that does not happen means no second login: exit 1, and why."""
    monkeypatch.setattr(DemoLoginAPI, "revoke_all_tokens", lambda self: None)

    status = main(["demo", *SMALL])

    report = capsys.readouterr().out
    assert status == 1
    assert "FAILED:" in report
    assert "expected 1 login after the revocation, the server counted 0" in report


def test_demo_fails_with_the_error_when_a_login_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A login refused by the server ends the demo with status 1 and the error."""
    monkeypatch.setattr(demo, "LOGIN_PATH", "/api/v1/authentication/nowhere")

    status = main(["demo", *SMALL])

    output = capsys.readouterr()
    assert status == 1
    assert "The demo failed: LoginError" in output.err
    assert "404" in output.err
    assert demo.DEMO_PASSWORD not in output.err


def test_report_lists_every_problem() -> None:
    """A report with failed requests and extra logins is not ok, and says why."""
    good = demo.RoundReport(
        clients=2, requests=4, succeeded=4, sent=4, unauthorized=0, logins=1
    )
    bad = demo.RoundReport(
        clients=2, requests=4, succeeded=3, sent=6, unauthorized=2, logins=2
    )
    report = demo.DemoReport(
        library="httpx",
        email="someone@example.com",
        clients=1,
        requests=2,
        login_delay=0,
        before=good,
        after=bad,
        cache=CacheStats(),
        seconds=0.1,
    )

    assert not report.ok
    assert report.problems == [
        "1 of 8 requests did not end 200",
        "expected 1 login after the revocation, the server counted 2",
    ]
    assert report.render().endswith(
        "FAILED:\n"
        "- 1 of 8 requests did not end 200\n"
        "- expected 1 login after the revocation, the server counted 2"
    )


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` describes the commands and exits 0."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])

    assert exit_info.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown command is a usage error: exit 2 with the valid choices."""
    with pytest.raises(SystemExit) as exit_info:
        main(["dance"])

    assert exit_info.value.code == 2
    assert "invalid choice: 'dance'" in capsys.readouterr().err


def test_missing_httpx2_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--client httpx2` without httpx2 exits 2 and names the `httpx2` extra."""
    monkeypatch.setitem(sys.modules, "httpx2", None)
    monkeypatch.setitem(sys.modules, "httpx_cached_auth.httpx2", None)

    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--client", "httpx2"])

    assert exit_info.value.code == 2
    assert "pip install 'httpx-cached-auth[httpx2]'" in capsys.readouterr().err


def test_missing_uvicorn_names_the_demo_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo without uvicorn exits 2 and names the `demo` extra."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.delitem(sys.modules, "httpx_cached_auth._demo")
    monkeypatch.delitem(sys.modules, "httpx_cached_auth._demo_api")

    with pytest.raises(SystemExit) as exit_info:
        main(["demo"])

    assert exit_info.value.code == 2
    assert "pip install 'httpx-cached-auth[demo]'" in capsys.readouterr().err
