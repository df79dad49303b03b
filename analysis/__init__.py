"""Planning verdicts on walking distances: the checks (``run_checks``) and site proposals (``propose_sites``).

Both take the result of :func:`coverage.walk_coverage` and read no network, facility or
population file again::

    from coverage import walk_coverage
    from analysis import run_checks, propose_sites

    result = walk_coverage()          # embedded default (Helsinki streets, DEMO sites)
    run = run_checks(result)          # findings per rule id: run.summary()
    proposal = propose_sites(result, p=3)
"""

__all__ = ["propose_sites", "run_checks"]


def __getattr__(name: str):  # noqa: ANN202 - lazy: importing one analysis module stays light
    """``from analysis import run_checks, propose_sites``."""
    if name == "run_checks":
        from analysis.checks import run_checks

        return run_checks
    if name == "propose_sites":
        from analysis.site_proposals import propose_sites

        return propose_sites
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
