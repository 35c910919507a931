"""A progress bar on standard error, for the commands that make a person wait."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def stage_progress(stderr: Console | None = None) -> Iterator[Callable[[str, int, int], None] | None]:
    """A ``progress(stage, done, total)`` callback that draws one bar per stage
    on standard error while the work runs, and erases them when it is done;
    None when standard error is not a terminal (a log or a pipe gets no bars).

    >>> import io
    >>> with stage_progress(Console(file=io.StringIO())) as progress:
    ...     progress is None
    True
    """
    console = Console(stderr=True) if stderr is None else stderr
    if not console.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bars:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield progress
