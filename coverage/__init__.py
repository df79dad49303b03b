"""Walking-network engine for 15-minute elderly-service circles (一刻钟养老服务圈).

This package shadows coverage.py on purpose: the project never uses coverage.py or pytest-cov.

numba (the engine's compiled kernels) probes ``import coverage`` while it is itself being
imported, looking for coverage.py, and would crash on finding this package instead. Two guards:

* if this package is being imported *by that probe* (someone imported numba before the engine),
  refuse with ImportError, which numba takes as "coverage.py is not installed";
* otherwise import numba now, with ``coverage`` hidden from its probe, so that no later import of
  numba (libpysal, esda, ...) can run the probe while this package is loaded.
"""

import sys as _sys

_probe = _sys.modules.get("numba.misc.coverage_support")
if _probe is not None and not hasattr(_probe, "coverage_available"):
    raise ImportError("this 'coverage' is the elderly-care walking engine, not coverage.py")

if _sys.argv[:1] == ["-m"]:  # ``python -m coverage`` is starting (runpy sets argv[0] to "-m" meanwhile)
    import os as _os
    import signal as _signal

    def _interrupted_while_starting(signum, frame):  # noqa: ARG001 - the signal API
        """Ctrl-C while the heavy imports load: nothing is written yet, so one line and exit 130."""
        _os.write(2, b"error: interrupted (Ctrl-C) while starting; nothing was written\n")
        _os._exit(130)

    _signal.signal(_signal.SIGINT, _interrupted_while_starting)  # __main__ restores Python's handler

if "numba" not in _sys.modules:
    _self = _sys.modules.get(__name__)
    _sys.modules[__name__] = None  # type: ignore[assignment]  # numba's probe: ImportError
    try:
        import numba as _numba  # noqa: F401
    except ImportError:  # numba missing: the kernels module reports it when first used
        pass
    finally:
        _sys.modules[__name__] = _self


def _version() -> str:
    """The distribution's version: a checkout's ``pyproject.toml``, else the installed metadata.

    A checkout reads its own pyproject (the code that runs is the checkout's, even when another
    copy of the distribution is installed in the environment); an installed wheel has no
    pyproject beside its packages and reads ``importlib.metadata``.
    """
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        try:
            with pyproject.open("rb") as handle:
                project = tomllib.load(handle).get("project", {})
        except (OSError, tomllib.TOMLDecodeError):  # an unreadable pyproject: the metadata decides
            project = {}
        if project.get("name") == "elderly-coverage" and "version" in project:
            return str(project["version"])
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("elderly-coverage")
    except PackageNotFoundError:  # neither a checkout nor installed (files copied by hand)
        return "0+unknown"


__version__ = _version()

__all__ = ["walk_coverage"]


def __getattr__(name: str):  # noqa: ANN202 - lazy: ``import coverage`` stays light (numba guard above)
    """``from coverage import walk_coverage`` without loading geopandas on ``import coverage``."""
    if name == "walk_coverage":
        from coverage.walk import walk_coverage

        return walk_coverage
    raise AttributeError(f"module 'coverage' has no attribute {name!r}")
