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

if "numba" not in _sys.modules:
    _self = _sys.modules.get(__name__)
    _sys.modules[__name__] = None  # type: ignore[assignment]  # numba's probe: ImportError
    try:
        import numba as _numba  # noqa: F401
    except ImportError:  # numba missing: the kernels module reports it when first used
        pass
    finally:
        _sys.modules[__name__] = _self

__version__ = "0.1.0"

__all__ = ["walk_coverage"]


def __getattr__(name: str):  # noqa: ANN202 - lazy: ``import coverage`` stays light (numba guard above)
    """``from coverage import walk_coverage`` without loading geopandas on ``import coverage``."""
    if name == "walk_coverage":
        from coverage.walk import walk_coverage

        return walk_coverage
    raise AttributeError(f"module 'coverage' has no attribute {name!r}")
