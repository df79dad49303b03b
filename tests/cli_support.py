"""Run ``check`` in-process through :func:`cli.main.main` and read its one ``--json`` line.

The report's PDF (headless Chromium, a few seconds per run) is only printed where a test asks for
it (``pdf=True``); ``tests/test_report_filing.py`` and ``tests/test_output_safety.py`` test it.
"""

from __future__ import annotations

import json

from cli.main import main


def check_args(args: tuple[str, ...], *, pdf: bool) -> list[str]:
    """``check`` and ``args``, with ``--no-pdf`` when a report folder is written and ``pdf`` is False."""
    no_pdf = ["--no-pdf"] if not pdf and "--out" in args and "--no-pdf" not in args else []
    return ["check", *args, *no_pdf]


def check_json(capsys, *args: str, pdf: bool = False) -> dict:
    """``check ARGS --json``: exit 0 and exactly one stdout line, parsed."""
    assert main([*check_args(args, pdf=pdf), "--json"]) == 0, capsys.readouterr().err
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])
