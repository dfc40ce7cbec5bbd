"""One delivery per process: the board's frames reach a worker once and are written from
there to each of its sockets.

Without it every socket joins its audience's group with a channel of its own, and one
frame for a room of 200 becomes 200 layer messages in the process: 200 queue puts (a
task and a copy each, in memory), 200 consumer wake-ups and dispatches, 200 tasks
re-armed. Here the process joins each group once, with one channel, and a frame costs
one layer message plus a write per socket.

One event's frames may come in one message with what some persons get instead
(`personal`): the authors of private writing, whose own items the room's frames leave
out (sessions/fragments.py); each of their sockets gets theirs, in the same order.

A person's regroup (their role changed) and kick (they lost access) travel the same
way, on the board's groups, so that the hub sees them in order with the frames: from
the moment a regroup arrives, that person's sockets get nothing more until their
consumer has read the new role (their frames wait, and are dropped if the audience
changed: a demoted co-facilitator sees no facilitators' frame saved after the
demotion); from a kick, nothing at all. The hub then hands the message to each of
those sockets' inbox, for its consumer to act on (the hub is the process's only
receiver from the layer: sessions/consumers.py, `BoardConsumer.run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any, Protocol

from .outage import CHANNEL_LAYER

log = logging.getLogger(__name__)

FRAME = "board.frame"
KICK = "board.kick"
REGROUP = "board.regroup"


class Socket(Protocol):
    inbox: asyncio.Queue[dict[str, Any]]  # what its consumer acts on, in order

    @property
    def person(self) -> str: ...

    async def base_send(self, message: dict[str, Any]) -> None: ...

    async def layer_lost(self) -> None: ...


class Hub:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.channel: str | None = None
        # group -> its sockets in this process, in the order they joined
        self.sockets: dict[str, dict[Socket, None]] = {}
        self.held: dict[Socket, list[str]] = {}  # frames waiting on a regroup
        self.task: asyncio.Task | None = None

    async def add(self, group: str, socket: Socket) -> None:
        """Put the socket in the group; join the group for the process (again: a
        repeated join renews its expiry, as each socket's heartbeat did)."""
        if self.channel is None:
            self.channel = await self.layer.new_channel()
        await self.layer.group_add(group, self.channel)
        self.sockets.setdefault(group, {})[socket] = None
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run(self.channel))

    async def discard(self, group: str, socket: Socket) -> None:
        self.held.pop(socket, None)
        members = self.sockets.get(group)
        if members is None:
            return
        members.pop(socket, None)
        if members:
            return
        del self.sockets[group]
        channel = self.channel
        if not self.sockets:
            # The last socket has gone: so does the hub's channel (the next socket starts
            # afresh, on whatever layer state it finds: a flushed one in tests).
            self.channel = None
            task, self.task = self.task, None
            if task is not None and task is not asyncio.current_task():
                task.cancel()  # (from within, a kick of the last socket: it ends itself)
        if channel is not None:
            await self.layer.group_discard(group, channel)

    async def release(self, socket: Socket) -> None:
        """The regroup left this socket where it was: send what waited, in order."""
        for text in self.held.pop(socket, []):
            await self.write(socket, text)

    async def _run(self, channel: str) -> None:
        while self.channel == channel:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the layer (Redis) went away
                CHANNEL_LAYER.failed(error)
                await self.lost(channel)
                return
            try:
                await self.handle(message)
            except Exception:  # noqa: BLE001 - one bad message must not stop the board
                log.exception("The hub could not deliver a %s", message.get("type"))

    async def lost(self, channel: str) -> None:
        """The layer failed under the hub: its sockets hear nothing any more, so each is
        closed with "try again" (the page reconnects, and the hub starts afresh when a
        socket joins again). The sockets do not receive from the layer (the hub is
        the process's one receiver), so they hear of the failure only from here."""
        if self.channel != channel:
            return
        sockets = {socket for members in self.sockets.values() for socket in members}
        self.sockets, self.held, self.channel, self.task = {}, {}, None, None
        for socket in sockets:
            with contextlib.suppress(Exception):
                await socket.layer_lost()

    async def handle(self, message: dict[str, Any]) -> None:
        group = message.get("group", "")
        if message["type"] == FRAME:
            if "texts" in message:
                await self.deliver_each(group, message["texts"], message["personal"])
            else:
                await self.deliver(group, message["text"])
            return
        persons = set(message.get("persons", ()))
        everyone = message.get("everyone", False)
        for socket in [s for s in self.sockets.get(group, ())
                       if everyone or s.person in persons]:
            if message["type"] == REGROUP:
                self.held.setdefault(socket, [])
            forwarded = {k: v for k, v in message.items()
                         if k not in ("group", "persons", "everyone")}
            socket.inbox.put_nowait(forwarded)
            if message["type"] == KICK:
                await self.discard(group, socket)

    async def deliver(self, group: str, text: str) -> None:
        for socket in list(self.sockets.get(group, ())):
            waiting = self.held.get(socket)
            if waiting is not None:
                waiting.append(text)
            else:
                await self.write(socket, text)

    async def deliver_each(self, group: str, texts: list[str],
                           personal: dict[str, list[str]]) -> None:
        """One event's frames, in order; a person in `personal` gets theirs instead
        (what they wrote privately, which the others' frames leave out)."""
        for socket in list(self.sockets.get(group, ())):
            own = personal.get(socket.person, texts)
            waiting = self.held.get(socket)
            if waiting is not None:
                waiting.extend(own)
            else:
                for text in own:
                    await self.write(socket, text)

    @staticmethod
    async def write(socket: Socket, text: str) -> None:
        # One closed or failing socket must not hold up the others.
        with contextlib.suppress(Exception):
            await socket.base_send({"type": "websocket.send", "text": text})


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = (
    weakref.WeakKeyDictionary())


def hub(layer: Any) -> Hub:
    """The hub of the running event loop (a test's loop has its own) and this layer."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None or found.layer is not layer:
        found = _hubs[loop] = Hub(layer)
    return found
