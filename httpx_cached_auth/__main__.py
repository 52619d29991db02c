"""
The command line of `httpx_cached_auth`: `python -m httpx_cached_auth demo`.

The demo needs the `demo` extra (uvicorn and starlette), and `--client httpx2`
needs the `httpx2` extra; both are imported only once the arguments are read,
so that `--help` works without them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

PROG = "python -m httpx_cached_auth"


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the command in `argv`, by default the process's own arguments.

    Returns:
        0 when the demo went as expected, 1 when it did not. Usage errors and
        missing extras exit with status 2, through `SystemExit`.
    """
    parser = build_parser()
    options = parser.parse_args(argv)

    # "demo" is the only command: argparse has refused any other by now.
    return _run_demo_command(parser, options)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the command line, with one subcommand per command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="One login for every httpx client: bearer tokens cached by "
        "credentials, refreshed on 401.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="show many clients sharing one login against an embedded login API",
        description="Start a login API on 127.0.0.1, register a user, and have "
        "sync and async clients call the API with one cached token; then revoke "
        "every token and show the clients renewing it with one more login.",
    )
    demo.add_argument(
        "--client",
        choices=["httpx", "httpx2"],
        default="httpx",
        help="the HTTP library of the clients (default: httpx)",
    )
    demo.add_argument(
        "--clients",
        type=_positive_int,
        default=10,
        metavar="N",
        help="sync clients, and as many async ones, built in each round (default: 10)",
    )
    demo.add_argument(
        "--requests",
        type=_positive_int,
        default=3,
        metavar="N",
        help="requests each client makes (default: 3)",
    )
    demo.add_argument(
        "--login-delay",
        type=_seconds,
        default=0.3,
        metavar="SECONDS",
        help="how long a login takes on the server, like bcrypt on a real one "
        "(default: 0.3)",
    )

    return parser


def _run_demo_command(
    parser: argparse.ArgumentParser, options: argparse.Namespace
) -> int:
    try:
        from ._demo import load_library, run_demo
    except ImportError as exc:
        parser.error(
            f"the demo needs uvicorn and starlette ({_cause(exc)}): "
            "pip install 'httpx-cached-auth[demo]'"
        )

    try:
        library = load_library(options.client)
    except ImportError as exc:
        parser.error(
            f"--client httpx2 needs httpx2 ({_cause(exc)}): "
            "pip install 'httpx-cached-auth[httpx2]'"
        )

    try:
        report = run_demo(
            library,
            clients=options.clients,
            requests=options.requests,
            login_delay=options.login_delay,
        )
    except library.http_error as exc:
        # Messages of httpx errors and of login errors name URLs and statuses,
        # never a password or a token.
        print(f"The demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1

    print(report.render())
    return 0 if report.ok else 1


def _cause(exc: ImportError) -> str:
    """The innermost import error's message, such as "No module named 'uvicorn'"."""
    while isinstance(exc.__cause__, ImportError):
        exc = exc.__cause__
    return str(exc)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")

    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, not {text}")

    return value


if __name__ == "__main__":
    sys.exit(main())
