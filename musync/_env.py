"""Where numba keeps musync's compiled kernels, without touching the host process.

numba's ``cache=True`` writes compiled kernels next to the source files (``__pycache__`` inside
the installed package). pip does not know those files, so uninstalling or switching between a
normal and an editable install leaves a half-deleted ``musync`` folder behind that shadows the new
install. musync therefore registers a cache locator with numba that applies **only to functions
defined in musync's own source files** and puts their cache in ``<musync cache>/numba``
(:func:`musync.cache.cache_dir`). Nothing else changes: no environment variable is set, and
every other numba function in the process is cached wherever numba would cache it anyway. A user
who sets ``NUMBA_CACHE_DIR`` keeps full control (numba's own locator then wins).
"""

from __future__ import annotations

import os

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_installed = False


def numba_cache_dir() -> str:
    """The folder musync's numba kernels are cached in."""
    from .cache import cache_dir

    return os.path.join(str(cache_dir()), "numba")


def configure_numba_cache() -> None:
    """Register the musync-only cache locator with numba (once; harmless if numba changes)."""
    global _installed
    if _installed:
        return
    _installed = True
    try:
        from numba.core import caching, config
    except ImportError:          # pragma: no cover - numba is a dependency
        return

    base = getattr(caching, "_CacheLocator", None)
    mixin = getattr(caching, "_SourceFileBackedLocatorMixin", None)
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    classes = getattr(impl, "_locator_classes", None)
    if base is None or mixin is None or not isinstance(classes, list):
        return                   # an unknown numba layout: numba's defaults apply

    class MusyncCacheLocator(mixin, base):
        """Caches functions from musync's own files in musync's cache folder."""

        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = os.path.join(numba_cache_dir(), self.get_suitable_cache_subpath(py_file))

        def get_cache_path(self):
            return self._cache_path

        @classmethod
        def from_function(cls, py_func, py_file):
            if config.CACHE_DIR:                     # the user chose a folder: respect it
                return None
            try:
                inside = os.path.commonpath([os.path.abspath(py_file), _PACKAGE_DIR]) == _PACKAGE_DIR
            except ValueError:
                inside = False
            if not inside:
                return None
            return super().from_function(py_func, py_file)

    classes.insert(0, MusyncCacheLocator)
