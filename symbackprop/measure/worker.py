"""The worker process that measures a route under a time cap.

SymPy cannot be interrupted from inside, so a route is measured in a child
process that is killed when the route runs past the cap; the route then
comes back over the cap with the figures of the stages it finished.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from dataclasses import replace

from ..errors import SymbackpropError, WorkerError
from .stages import FAILED, OVER_CAP, RouteMeasurement, measured_safely, warm_up


def _watch_parent(parent: int) -> None:
    # Killed without a chance to clean up (SIGKILL, SIGTERM), the parent
    # cannot stop this process: it stops itself instead of running on.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _serve(connection, parent: int) -> None:
    # Ctrl-C is the parent's to handle (SIGINT is ignored from the start, see
    # Worker._start): it stops this process itself.
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    warm_up()
    try:
        connection.send("ready")
        while True:
            task = connection.recv()
            try:
                for measured in measured_safely(*task):
                    connection.send(measured)
            except SymbackpropError as exc:  # bad input: raised again in the parent
                connection.send(exc)
            else:
                connection.send(None)
    except (EOFError, OSError):
        # The parent's end of the pipe closed (it was killed, or it stopped
        # us): nobody is left to report to, and no traceback is wanted. The
        # measuring reports its own failures as results, so these errors
        # only come from the pipe.
        return


class Worker:
    """A child process that measures routes; killed and replaced when a route
    runs past the cap (SymPy cannot be interrupted from inside). The process
    starts on the first :meth:`run`, so a worker never used costs nothing.

    >>> worker = Worker()
    >>> worker.stop()
    """

    def __init__(self) -> None:
        self._process = None
        self._connection = None

    def _start(self) -> None:
        # spawn, not fork: the parent may be running threads (rich's live display).
        context = multiprocessing.get_context("spawn")
        connection, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, os.getpid()), daemon=True)
        # A Ctrl-C at the terminal reaches every process of the group. A
        # blocked SIGINT stays blocked across fork and exec: the child never
        # receives it, so it never prints a traceback, even while it is still
        # importing. Meanwhile this process only notes a Ctrl-C (another of its
        # threads, such as BLAS's, may take the signal) and raises it once the
        # child is under control: ignoring it here would lose it.
        # Only Python's main thread may change handlers, and a handler set
        # outside Python (getsignal gives None) could not be put back.
        ours = threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not None
        interrupted: list[int] = []
        if ours:
            previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            process.start()
        finally:
            if ours:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                signal.signal(signal.SIGINT, previous)
        child.close()
        self._process, self._connection = process, connection
        if interrupted:
            self.stop()
            raise KeyboardInterrupt
        try:
            # Starting Python and importing SymPy is not the route's time.
            connection.recv()
        except (EOFError, OSError):
            self.stop()
            raise WorkerError(
                "the worker process that measures the routes could not start; in a script, call "
                "compare() and sweep() under `if __name__ == '__main__':`, or pass cap=None"
            ) from None

    def run(self, task: tuple, cap: float) -> RouteMeasurement:
        """Measure in the child; a route still running after ``cap`` seconds
        comes back :data:`OVER_CAP` with the stages it finished."""
        if self._process is None:
            self._start()
        route = task[1]
        last = RouteMeasurement(route, OVER_CAP, unfinished="derive")
        deadline = time.monotonic() + cap
        try:
            self._connection.send(task)
            while self._connection.poll(max(0.0, deadline - time.monotonic())):
                answer = self._connection.recv()
                if answer is None:
                    return last
                if isinstance(answer, BaseException):
                    raise answer
                last = answer
        except (EOFError, OSError):
            self.stop()
            return replace(last, status=FAILED, reason="the worker process died (out of memory?)")
        self.stop()
        return last

    def stop(self) -> None:
        """Kill the child, if there is one."""
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._connection.close()
            self._process = self._connection = None


__all__ = ["Worker"]
