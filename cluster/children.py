"""Child processes that do not outlive their parent.

``callcenter demo`` (and the tests' and benchmarks' local clusters) start etcd, centrals and
sites as children in their own sessions (so a Ctrl-C in the terminal reaches the parent only,
which then stops them in order). If the parent itself dies, even by SIGKILL, Linux sends each
child SIGTERM (``PR_SET_PDEATHSIG``), and they stop cleanly instead of holding their ports.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen` (``None`` where the OS cannot do it)."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec
