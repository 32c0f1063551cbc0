"""Loggers for the modules every command loads (cache, shared store, private files), which
import ``logging`` only when a record could go somewhere.

Importing ``logging`` costs about 5 ms (it brings ``traceback``, ``string``, ``textwrap``), a
tenth of what a warm ``redshift-ephemeral creds`` may take. Until something imports it,
nothing can have configured it either: no handler, the root logger at WARNING, so a DEBUG or
INFO record would be dropped, and one of WARNING and above goes to ``logging.lastResort``.
``Logger`` does exactly that - drops the former while ``logging`` is not loaded, logs the
latter through it - and otherwise is ``logging.getLogger(name)``, records pointing at the
caller's line.
"""

from __future__ import annotations

import sys

_DEBUG, _INFO, _WARNING = 10, 20, 30  # logging.DEBUG, INFO, WARNING
_CALLER = 3  # stacklevel: the caller of debug/info/warning, not this module


class Logger:
    """``logging.getLogger(name)``'s ``debug``, ``info`` and ``warning``, loaded on demand."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def debug(self, message: str, *args: object) -> None:
        self._log(_DEBUG, message, args)

    def info(self, message: str, *args: object) -> None:
        self._log(_INFO, message, args)

    def warning(self, message: str, *args: object) -> None:
        self._log(_WARNING, message, args)

    def _log(self, level: int, message: str, args: tuple[object, ...]) -> None:
        if level < _WARNING and "logging" not in sys.modules:
            return  # logging is unconfigured: the record would be dropped
        import logging

        logging.getLogger(self.name).log(level, message, *args, stacklevel=_CALLER)
