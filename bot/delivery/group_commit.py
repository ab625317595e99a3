"""Group commit of the Sender's 'sending' and 'sent' marks: many parts, one transaction.

Every part needs two committed marks (the outbox protocol, docs/design.md):
'sending' before it goes to Telegram, 'sent' with Telegram's message id after.
Here the marks of all workers are queued and written together with
:meth:`~bot.store.outbox.OutboxRepository.mark_progress` (at most
:data:`MARK_BATCH_ROWS` per transaction; when several wait, the flush first
gathers for :data:`MARK_GATHER_SECONDS`). This is the Sender's one write path
for the marks.

Kept for the capacity budget's delivery line "limits off, >= 1,000 msg/s in one
process" (docs/capacity.md): one small SQLite transaction through aiosqlite
costs ~0.7 ms CPU, so two per message alone would cap a process near 700 msg/s
before any HTTP work; batched, the marks cost ~0.1 ms per message.

A worker waits for its 'sending' commit before it sends, but not for 'sent':
that is committed with or before the worker's next 'sending', and before the
Sender's drain returns. So a sent part may stay 'sending' for one batch (a few
ms) longer: the same ambiguous window, a little wider; never a part that was
not sent. A crash still leaves at most one 'sending' part per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from bot.store.outbox import OutboxRepository

log = logging.getLogger(__name__)

# At most this many marks ('sending' or 'sent') per group-commit transaction.
MARK_BATCH_ROWS = 64
# When several marks are already waiting (a busy Sender), the flush waits this long for
# more: fewer, larger transactions (each costs ~2 ms CPU on SQLite here, most of it
# SQLAlchemy and aiosqlite's thread hops, whatever the number of rows).
MARK_GATHER_SECONDS = 0.002


@dataclass(slots=True)
class _Sending:
    """A part's 'sending' mark; its worker waits on ``committed`` (True: still ours)."""

    delivery_id: int
    committed: asyncio.Future[bool]


class GroupCommit:
    """Commits the workers' 'sending' and 'sent' marks together, in few transactions.

    There is no timer: a flush starts as soon as a mark arrives while nothing is
    being committed, and the marks that arrive during a commit go together in
    the next one (at most :data:`MARK_BATCH_ROWS` per transaction). An idle
    Sender thus commits at once, and a busy one pays one commit for many parts.

    A worker waits for its 'sending' commit before it sends, as before. It does
    not wait for 'sent': marks are committed in arrival order, so a worker's
    'sent' is committed with or before its next 'sending', and a crash can still
    leave at most one part per worker in 'sending'. Until its batch commits
    (one transaction, a few ms), a sent part stays 'sending': the documented
    ambiguous window. :meth:`settled` waits until every mark is committed.
    """

    def __init__(
        self,
        outbox: OutboxRepository,
        owner: str,
        write_turn: contextlib.AbstractAsyncContextManager[object],
    ) -> None:
        self._outbox = outbox
        self._owner = owner
        self._write_turn = write_turn
        self._sending: list[_Sending] = []
        self._sent: dict[int, int] = {}  # delivery id -> Telegram message id
        self._flusher: asyncio.Task[None] | None = None

    async def sending(self, delivery_id: int) -> bool:
        """Commit 'sending' for a leased part; False when the lease was lost."""
        mark = _Sending(delivery_id, asyncio.get_running_loop().create_future())
        self._sending.append(mark)
        self._kick()
        return await mark.committed

    def sent(self, delivery_id: int, message_id: int) -> None:
        """Queue 'sent' with Telegram's message id; committed with the next batch."""
        self._sent[delivery_id] = message_id
        self._kick()

    async def settled(self) -> None:
        """Return once every queued mark is committed (or its commit failed and was logged)."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)

    def _kick(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_all())

    async def _flush_all(self) -> None:
        try:
            while self._sending or self._sent:
                if 1 < len(self._sending) + len(self._sent) < MARK_BATCH_ROWS:
                    await asyncio.sleep(MARK_GATHER_SECONDS)  # busy: let the batch fill up
                await self._flush(*self._take_batch())
        except asyncio.CancelledError:  # shutting down: nobody may wait forever
            _cancel_waiters(self._sending)
            self._sending = []
            raise
        finally:
            self._flusher = None

    def _take_batch(self) -> tuple[list[_Sending], dict[int, int]]:
        """Up to MARK_BATCH_ROWS marks, every queued 'sent' first.

        A 'sending' mark goes only in a batch that also takes all 'sent' marks
        queued before it, so no worker's 'sent' is committed after its next
        'sending'. A waiter that was cancelled meanwhile is left out: its part
        will not be sent, so it must not become 'sending'.
        """
        sent_ids = list(self._sent)[:MARK_BATCH_ROWS]
        sent = {i: self._sent.pop(i) for i in sent_ids}
        room = MARK_BATCH_ROWS - len(sent)
        sending, self._sending = self._sending[:room], self._sending[room:]
        return [m for m in sending if not m.committed.done()], sent

    async def _flush(self, sending: list[_Sending], sent: dict[int, int]) -> None:
        try:
            async with self._write_turn:
                ours, recorded = await self._outbox.mark_progress(
                    self._owner, sending=[m.delivery_id for m in sending], sent=sent
                )
        except asyncio.CancelledError:
            _cancel_waiters(sending)
            raise
        except Exception as err:  # a database hiccup fails this batch only
            log.exception("could not commit %d sent parts; they stay 'sending'", len(sent))
            for mark in sending:
                if not mark.committed.done():
                    mark.committed.set_exception(err)
            return
        for mark in sending:
            if not mark.committed.done():
                mark.committed.set_result(mark.delivery_id in ours)
        for lost in sent.keys() - recorded:
            log.warning("delivery %s was sent but its lease had expired", lost)


def _cancel_waiters(marks: list[_Sending]) -> None:
    for mark in marks:
        mark.committed.cancel()
