"""The command line, a thin shell over the library: ``python -m coverage circles|check|sites``.

Each command module parses its arguments, calls the library function
(:func:`coverage.walk_coverage`, :func:`analysis.run_checks`, :func:`analysis.propose_sites`),
writes the output through :mod:`coverage.safe_write` and prints. This package may import every
layer (``layers``, ``coverage``, ``analysis``); none of them imports it. The console entry point
is :func:`cli.main.main`.
"""
