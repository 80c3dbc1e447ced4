"""Optional numba compilation for the quadratic dynamic programs (keystrokes, ROUGE-L's LCS).

The kernels are written as plain Python over numpy arrays, so they run (slowly) without
numba; with numba they are compiled once and cached next to this file, which is what makes
10,000 examples score in well under a minute.
"""
from __future__ import annotations

try:  # pragma: no cover - exercised implicitly
    import numba as _numba

    HAVE_NUMBA = True
    NUMBA_VERSION = _numba.__version__
except ImportError:  # pragma: no cover
    _numba = None
    HAVE_NUMBA = False
    NUMBA_VERSION = None


def jit(func):
    """numba.njit(cache=True) when numba is installed, else the function unchanged."""
    if _numba is None:
        return func
    return _numba.njit(cache=True, nogil=True)(func)
