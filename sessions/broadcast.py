"""The pipe: after a write commits, render its frames once per audience and hand them
to the channel layer, off the write's own path (`Broadcaster`). The database stays the
ledger; a lost frame is caught up on resync (docs/architecture.md, "Catch-up"), so a
failing layer or a failing render must never fail the write."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Coroutine
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import close_old_connections, connections

from workshop.event_kinds import touches
from workshop.models import BoardEvent

from .fragments import event_deliveries
from .hub import FRAME, KICK, REGROUP
from .outage import CHANNEL_LAYER
from .viewer import AUDIENCES, ROOM

log = logging.getLogger(__name__)


def group(workshop_id: int, audience: str) -> str:
    return f"board-{workshop_id}-{audience}"


def frame_message(group_name: str, text: str) -> dict[str, Any]:
    """A frame for every socket of a board's audience group, as the hub
    (sessions/hub.py) takes it: text serialized once, written as is to each."""
    return {"type": FRAME, "group": group_name, "text": text}


def frames_message(group_name: str, texts: list[str],
                   personal: dict[str, list[str]]) -> dict[str, Any]:
    """One event's frames for an audience group, in one message, with what some persons
    get instead (their own private writing): the hub writes `texts` to every socket of
    the group, and a person's own frames to that person's sockets."""
    return {"type": FRAME, "group": group_name, "texts": texts, "personal": personal}


Messages = list[tuple[str, dict[str, Any]]]


def _send_all(messages: Messages) -> None:
    """Send these group messages in this order, in one hop to an event loop (one per
    event, not one per audience)."""
    layer = get_channel_layer()

    async def send_in_order() -> None:
        for group_name, message in messages:
            await layer.group_send(group_name, message)

    try:
        if BROADCASTER.is_current():
            BROADCASTER.run(send_in_order(), layer)
        else:
            async_to_sync(send_in_order)()
    except Exception as error:  # noqa: BLE001 - the write is saved; pages catch up
        CHANNEL_LAYER.failed(error)
        return
    CHANNEL_LAYER.succeeded()


class Broadcaster:
    """Renders and sends committed events on a thread of its own, one at a time in the
    order they committed, so that a write's answer does not wait on the fan-out; and
    the kicks and regroups of committed writes in that same order, so that a removed
    person's sockets get nothing saved after the removal.

    It works once the server's event loop is known (`bind`, from workshop/asgi.py) and
    `settings.BROADCAST_THREAD` is on; otherwise (the test process, management
    commands) an event is published in the committing thread, as before."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        # The thread's own loop, for a layer whose connections are per loop (Redis):
        # its sends then do not queue behind the server's loop writing frames to every
        # socket (each round trip to Redis a turn of a busy loop). The in-memory layer's
        # queues belong to the server's loop.
        self.own_loop: asyncio.AbstractEventLoop | None = None
        self.jobs: queue.SimpleQueue[BoardEvent | Messages] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def is_current(self) -> bool:
        return self.thread is not None and threading.current_thread() is self.thread

    def submit(self, job: BoardEvent | Messages) -> bool:
        """Queue an event to publish, or group messages to send; False if it must be
        done here and now instead."""
        loop = self.loop
        if not settings.BROADCAST_THREAD or loop is None or not loop.is_running():
            return False
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="broadcaster",
                                               daemon=True)
                self.thread.start()
        self.jobs.put(job)
        return True

    def run(self, sends: Coroutine[Any, Any, None], layer: Any) -> None:
        """Run these sends on `layer` from the broadcaster's thread, within
        SEND_TIMEOUT."""
        if isinstance(layer, InMemoryChannelLayer):
            # Hand the sends to the server's loop, as async_to_sync does for a
            # request's thread.
            assert self.loop is not None
            asyncio.run_coroutine_threadsafe(sends, self.loop).result(SEND_TIMEOUT)
            return
        if self.own_loop is None:
            self.own_loop = asyncio.new_event_loop()
        self.own_loop.run_until_complete(asyncio.wait_for(sends, SEND_TIMEOUT))

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if isinstance(job, list):
                _send_all(job)
                continue
            close_old_connections()
            try:
                _publish(job)
            except Exception:  # noqa: BLE001 - one bad event must not stop the others
                log.exception("Broadcast of board %s event %s failed", job.workshop_id,
                              job.version)
            if self.jobs.empty():
                connections.close_all()  # back to the pool while there is nothing to do


BROADCASTER = Broadcaster()
SEND_TIMEOUT = 10.0  # seconds an event's sends may take (Redis, or a busy loop)


def publish_event(event: BoardEvent) -> None:
    """Send one committed event to every open page of its board: on the broadcaster's
    thread when there is one, else here."""
    if not BROADCASTER.submit(event):
        _publish(event)


def _publish(event: BoardEvent) -> None:
    try:
        rendered = event_deliveries(event)
    except Exception:
        # A bug, not an outage: say which event, and let pages catch up when they next
        # resync (the heartbeat tells them they are behind).
        log.exception("Could not render board %s event %s (%s); pages will catch up",
                      event.workshop_id, event.version, event.kind)
        return
    touched = touches(event.kind)
    messages = []
    if touched is not None and touched.audience and event.item_id:
        # First, so the person's sockets leave their old audience before its next frame.
        messages += _person_messages(event.workshop_id,
                                     {"type": REGROUP, "persons": [f"p{event.item_id}"]})
    for audience, texts in rendered.audiences.items():
        name = group(event.workshop_id, audience)
        if audience == ROOM and rendered.persons:
            messages.append((name, frames_message(name, texts, rendered.persons)))
            continue
        # Serialized once, sent as is to every socket of the audience.
        messages += [(name, frame_message(name, text)) for text in texts]
    _send_all(messages)


def regroup(workshop_id: int, persons: list[str]) -> None:
    """Tell these people's sockets that what they may see changed: each one reads its
    membership again and moves to its new audience (or closes)."""
    _to_persons(workshop_id, {"type": REGROUP, "persons": persons})


def kick(workshop_id: int, persons: list[str], code: int, reason: str) -> None:
    """Close the sockets of people who lost access, with a code the page explains."""
    _to_persons(workshop_id, {"type": KICK, "persons": persons, "code": code,
                              "reason": reason})


def kick_everyone(workshop_id: int, code: int, reason: str) -> None:
    """Close every socket of the board, with a code the page explains."""
    _to_persons(workshop_id, {"type": KICK, "persons": [], "everyone": True, "code": code,
                              "reason": reason})


def _to_persons(workshop_id: int, message: dict[str, Any]) -> None:
    """Behind the events committed before it (a write sends this from its on-commit
    hooks, after its event's): the hubs see a kick before any frame saved after it."""
    messages = _person_messages(workshop_id, message)
    if not BROADCASTER.submit(messages):
        _send_all(messages)


def _person_messages(workshop_id: int, message: dict[str, Any]) -> Messages:
    # On the board's groups, not the persons' own: each process's hub must see it in
    # order with the frames around it (sessions/hub.py).
    return [(group(workshop_id, audience), message | {"group": group(workshop_id, audience)})
            for audience in AUDIENCES]
