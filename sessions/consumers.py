"""The board's websocket: thin. It checks membership, joins its audience (through the
process's hub, sessions/hub.py, which writes the board's frames to it and hands it its
person's regroup and kick), tracks presence and answers hello, resync and ping. Writes
travel over HTTP. The frame protocol is in docs/architecture.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings

from . import layer_watch, presence
from .access import find_membership
from .broadcast import frame_message, group
from .closecodes import NO_SUCH_SOCKET, NOT_A_MEMBER, TOO_MANY_SOCKETS, TRY_AGAIN
from .fragments import catch_up
from .hub import hub
from .outage import CHANNEL_LAYER
from .viewer import AUDIENCES, FACILITATORS, ROOM

log = logging.getLogger(__name__)

# Versions are JSON numbers the page got from us: whole, not negative, and exact in a
# JavaScript number.
MAX_VERSION = 2**53 - 1
ONLY = "This socket takes hello, resync and ping frames; changes are saved over HTTP."
WHOLE_BOARD = object()  # a catch-up from nothing: the whole board


def valid_version(value: Any) -> bool:
    # bool is an int in Python; `true` is not a version.
    return type(value) is int and 0 <= value <= MAX_VERSION


class BoardConsumer(AsyncJsonWebsocketConsumer):
    room: str | None = None  # its audience's group, joined through the hub
    presence_recorded = False
    last_ping = float("-inf")
    ping_warned = False
    # At most one catch-up in flight per socket; requests meanwhile are folded into one
    # more, from the oldest version any of them asked for.
    catching_up: asyncio.Task | None = None
    wanted: Any = None
    caught_up_at = float("-inf")

    async def __call__(self, scope, receive, send) -> None:
        """Run the socket; if the channel layer fails under it (Redis went away), close
        it with a code the page reconnects after, and clean up, logging once per
        outage rather than one traceback per socket."""
        try:
            await self.run(scope, receive, send)
        except Exception as error:
            if is_layer_error(error):
                CHANNEL_LAYER.failed(error)
            else:
                log.exception("Board socket failed")
            await self.leave()
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": TRY_AGAIN})

    async def run(self, scope, receive, send) -> None:
        """channels' AsyncConsumer.__call__, except that what comes to this socket from
        outside its page (its person's regroup and kick) comes from the process's hub
        through `inbox`, not from the channel layer. A socket receiving from the layer
        is one more receiver of the process's one key in Redis, and channels-redis loses
        the message a receive was popping when it is cancelled, as every socket's is when
        its page closes: that message is the hub's, a frame for every socket of the
        process (found by tests/test_live_consumer.py's presence test on PostgreSQL)."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        # Names the socket's presence row (sessions/presence.py); no layer channel.
        self.channel_name = f"socket!{uuid.uuid4().hex}"
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.base_send = send
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch([receive, self.inbox.get], self.dispatch)

    async def connect(self) -> None:
        self.workshop_id = int(self.scope["url_route"]["kwargs"]["pk"])
        # Accept first: a handshake that needs Redis would fail while Redis is down, and
        # the page's backoff would keep growing; this way the page hears why and retries.
        await self.accept()
        member = await database_sync_to_async(find_membership)(
            self.scope.get("user"), self.scope.get("session") or {}, self.workshop_id)
        if member is None:
            await self.refuse()
            return
        self.member = member
        self.audience = FACILITATORS if member.is_facilitator else ROOM
        try:
            await self.enter(group(self.workshop_id, self.audience))
        except Exception as error:
            if not is_layer_error(error):
                raise
            CHANNEL_LAYER.failed(error)
            await self.error("unavailable", "The live connection is down for a moment. "
                             "Everything you save is kept; the board reconnects by itself.")
            await self.close(code=TRY_AGAIN)
            return
        CHANNEL_LAYER.succeeded()
        layer_watch.watch(self.channel_layer, self)
        text = await database_sync_to_async(presence.arrive)(member, self.channel_name)
        if text is None:
            await self.leave()
            await self.send_json({
                "type": "error", "code": TOO_MANY_SOCKETS,
                "message": "This board is open in too many of your tabs or devices. Close "
                           "one of them, then reload this page."})
            await self.close(code=TOO_MANY_SOCKETS)
            return
        self.presence_recorded = True
        await self.tell_room(text)

    @property
    def person(self) -> str:
        return self.member.person

    async def enter(self, room: str) -> None:
        """Receive the frames of this audience's group from now on (again: renews the
        process's membership of the group)."""
        await hub(self.channel_layer).add(room, self)
        self.room = room

    async def refuse(self) -> None:
        # An explained close: the page says why instead of retrying.
        await self.send_json({"type": "error", "code": NOT_A_MEMBER,
                              "message": "You are not in this workshop (any more)."})
        await self.close(code=NOT_A_MEMBER)

    async def error(self, reason: str, message: str) -> None:
        await self.send_json({"type": "error", "reason": reason, "message": message})

    async def disconnect(self, code: int) -> None:
        await self.leave()

    async def leave(self) -> None:
        """Presence first: it lives in the database, so the room's list is right even
        while the channel layer is down; then the groups, as far as the layer lets us."""
        layer_watch.forget(self)
        if self.catching_up is not None and self.catching_up is not asyncio.current_task():
            self.catching_up.cancel()
        if self.presence_recorded:
            self.presence_recorded = False
            text = await database_sync_to_async(presence.leave)(self.workshop_id,
                                                                 self.channel_name)
            with contextlib.suppress(Exception):
                await self.tell_room(text)
        room, self.room = self.room, None
        if room is not None:
            with contextlib.suppress(Exception):
                await hub(self.channel_layer).discard(room, self)

    async def tell_room(self, text: str) -> None:
        for audience in AUDIENCES:
            name = group(self.workshop_id, audience)
            await self.channel_layer.group_send(name, frame_message(name, text))

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except (json.JSONDecodeError, TypeError, ValueError, RecursionError):
            await self.error("bad_frame", "Frames must be JSON objects. " + ONLY)

    async def receive_json(self, content, **kwargs) -> None:
        if self.room is None:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind in ("hello", "resync"):
            since = content.get("version")
            if since is not None and not valid_version(since):
                await self.error("bad_version", "The version must be a whole number from 0 "
                                 "up, or null for the whole board.")
                return
            shown = content.get("audience")
            if shown is not None and shown not in AUDIENCES:
                await self.error("bad_frame", "The audience must be one of "
                                 f"{', '.join(AUDIENCES)}, or left out.")
                return
            if shown is not None and shown != self.audience:
                # The page shows the board as another audience saw it (the person's role
                # changed while it was away): the events it missed do not redraw what
                # the other audience sees differently, so it gets the whole board.
                since = None
            self.catch_up_from(since)
        elif kind == "ping":
            # Each ping refreshes presence in the database and re-joins the groups: a
            # socket's pings closer together than a page sends them get no answer.
            now, gap = asyncio.get_running_loop().time(), settings.SOCKET_PING_GAP
            if now - self.last_ping < gap:
                if not self.ping_warned:
                    self.ping_warned = True
                    await self.error("too_many_pings", "This socket answers one ping "
                                     f"every {gap:g} s; the page pings every 15 s.")
                return
            self.last_ping, self.ping_warned = now, False
            await self.heartbeat()
        else:
            await self.error("unknown_type", ONLY)

    def catch_up_from(self, since: int | None) -> None:
        """Send the page what it missed since `since` (None: the whole board): now if no
        catch-up is on its way or just sent, else folded into the one that follows, so
        that a page (or a script) asking 200 times gets a few answers, not 200 boards."""
        asked = WHOLE_BOARD if since is None else since
        if self.wanted is None:
            self.wanted = asked
        elif self.wanted is not WHOLE_BOARD:
            self.wanted = asked if asked is WHOLE_BOARD else min(self.wanted, asked)
        if self.catching_up is None or self.catching_up.done():
            self.catching_up = asyncio.ensure_future(self._catch_up())

    async def _catch_up(self) -> None:
        loop = asyncio.get_running_loop()
        while self.wanted is not None:
            wait = self.caught_up_at + settings.SOCKET_CATCH_UP_GAP - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # requests arriving meanwhile fold into this one
            self.caught_up_at = loop.time()
            asked, self.wanted = self.wanted, None
            since = None if asked is WHOLE_BOARD else asked
            try:
                texts = await database_sync_to_async(catch_up)(self.workshop_id, since,
                                                               self.audience, self.person)
                await self.send_all(texts)
            except Exception:  # noqa: BLE001 - the page asks again after its next pong
                log.exception("Catch-up of board %s failed", self.workshop_id)
                return

    async def send_all(self, texts: list[str]) -> None:
        for text in texts:
            await self.send(text_data=text)

    async def heartbeat(self) -> None:
        """Refresh presence and group membership, and tell the page the board's version
        so a page that missed frames knows it is behind. Re-joining the groups renews
        their expiry: a socket that crashed without leaving drops out of them soon."""
        await self.rejoin_groups()
        version, swept = await database_sync_to_async(presence.seen)(self.workshop_id,
                                                                      self.channel_name)
        await self.send_json({"type": "pong", "version": version})
        if swept:
            await self.tell_room(swept)

    async def rejoin(self, version: int) -> None:
        """Redis lost its data (sessions/layer_watch.py): back into the groups, and tell
        the page the board's version, so that a page that missed frames resyncs."""
        await self.rejoin_groups()
        await self.send_json({"type": "pong", "version": version})

    async def layer_lost(self) -> None:
        """The channel layer went away under the process (its hub or its watch noticed):
        close with the code the page reconnects after, as when the layer fails under
        this socket's own receive."""
        await self.close(code=TRY_AGAIN)

    async def rejoin_groups(self) -> None:
        if self.room is not None:
            await self.enter(self.room)

    # Messages from the channel layer -------------------------------------------------

    async def board_kick(self, message) -> None:
        await self.send_json({"type": "error", "code": message["code"],
                              "message": message["reason"]})
        await self.close(code=message["code"])

    async def board_regroup(self, message) -> None:
        """What this person may see changed. The hub holds this socket's frames from the
        moment the regroup reached it (sessions/hub.py); read the membership again, then
        either let the held frames go (same audience) or drop them and move to the new
        audience with the whole board as it sees it: a demoted co-facilitator gets no
        facilitators' frame saved after the demotion."""
        member = await database_sync_to_async(find_membership)(
            self.scope.get("user"), self.scope.get("session") or {}, self.workshop_id)
        if member is None:
            await self.leave()
            await self.refuse()
            return
        audience = FACILITATORS if member.is_facilitator else ROOM
        self.member = member
        board = hub(self.channel_layer)
        if audience == self.audience:
            await board.release(self)
            return
        if self.room is not None:
            await board.discard(self.room, self)
            self.room = None
        self.audience = audience
        await self.enter(group(self.workshop_id, audience))
        await self.send_all(await database_sync_to_async(catch_up)(
            self.workshop_id, None, audience, self.person))


class NoSuchSocket(AsyncJsonWebsocketConsumer):
    """A websocket at an address that is no board's (`/ws/w/abc/`): say so and close."""

    channel_layer_alias = "none"  # no layer configured under it: it receives from none

    async def connect(self) -> None:
        await self.accept()
        await self.send_json({"type": "error", "code": NO_SUCH_SOCKET,
                              "message": "There is no board at this address: open the "
                                         "board's page again from its link."})
        await self.close(code=NO_SUCH_SOCKET)


def is_layer_error(error: BaseException) -> bool:
    """Whether an exception means the channel layer (Redis) is unreachable."""
    from redis.exceptions import RedisError

    return isinstance(error, (RedisError, OSError, TimeoutError))
