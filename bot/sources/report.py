"""Tables for the terminal: what one polling cycle did, and how healthy each source is.

Used by ``newsbot ingest`` (``cycle_table``, plus ``progress_line`` as the
poller's progress callback) and ``newsbot sources`` (``health_table``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.table import Table
from rich.text import Text

from bot.sources.poll_results import CycleReport, SourceResult
from bot.store.records import Source
from bot.wording import counted

_STATUS_STYLE = {
    "new": "green",
    "updated": "cyan",
    "unchanged": "white",
    "not_modified": "dim",
    "failed": "bold red",
}
_STATUS_LABEL = {"not_modified": "304 not modified"}


def cycle_table(report: CycleReport) -> Table:
    """One row per polled source: status, new, updated, unchanged, seconds, error."""
    table = Table(title="Ingestion cycle", show_footer=True)
    table.add_column("source", footer=counted(len(report.results), "source"))
    table.add_column("status", footer=f"{len(report.failed)} failed")
    table.add_column("new", justify="right", footer=str(_total(report.results, "new")))
    table.add_column("updated", justify="right", footer=str(_total(report.results, "updated")))
    table.add_column("unchanged", justify="right", footer=str(_total(report.results, "unchanged")))
    table.add_column("seconds", justify="right")
    table.add_column("error", overflow="fold")
    for result in sorted(report.results, key=lambda r: r.name):
        table.add_row(
            result.name,
            status_text(result),
            str(result.new),
            str(result.updated),
            str(result.unchanged),
            f"{result.seconds:.2f}",
            result.error or "",
        )
    return table


def status_text(result: SourceResult) -> Text:
    """The status word, coloured."""
    label = _STATUS_LABEL.get(result.status, result.status)
    return Text(label, style=_STATUS_STYLE.get(result.status, ""))


def progress_line(result: SourceResult) -> str:
    """A one-line summary of one source, for a progress callback."""
    if result.status == "failed":
        return f"✗ {result.name}: {result.error}"
    if result.status == "not_modified":
        return f"· {result.name}: not modified ({result.seconds:.2f} s)"
    return (
        f"✓ {result.name}: {result.new} new, {result.updated} updated, "
        f"{result.unchanged} unchanged ({result.seconds:.2f} s)"
    )


def health_table(sources: Sequence[Source], now: datetime) -> Table:
    """One row per source: kind, last success, errors in a row, last error, next poll."""
    table = Table(title="Sources")
    table.add_column("source")
    table.add_column("kind")
    table.add_column("last success")
    table.add_column("errors", justify="right")
    table.add_column("last error", overflow="fold")
    table.add_column("next poll")
    table.add_column("moved to", overflow="fold")
    for source in sources:
        errors = Text(str(source.error_count), style="bold red" if source.error_count else "")
        table.add_row(
            source.name,
            source.kind,
            humanize(source.last_success_at, now),
            errors,
            source.last_error or "",
            humanize(source.next_poll_at, now),
            source.redirect_url or "",
        )
    return table


def humanize(moment: datetime | None, now: datetime) -> str:
    """ "in 4 min", "3 h ago", "just now", "never"."""
    if moment is None:
        return "never"
    seconds = (moment - now).total_seconds()
    if abs(seconds) < 30:
        return "just now"
    amount = _amount(abs(seconds))
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def _amount(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


def _total(results: Sequence[SourceResult], counter: str) -> int:
    return sum(getattr(r, counter) for r in results)
