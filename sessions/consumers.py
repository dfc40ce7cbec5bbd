"""The board's websocket: thin. It checks membership, joins the board's groups,
tracks presence, relays frames and answers resync. Writes travel over HTTP."""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import presence
from .access import find_membership
from .broadcast import group, person_group
from .closecodes import NOT_A_MEMBER
from .fragments import catch_up
from .viewer import FACILITATORS, ROOM


class BoardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.workshop_id = int(self.scope["url_route"]["kwargs"]["pk"])
        self.groups_joined: list[str] = []
        member = await database_sync_to_async(find_membership)(
            self.scope.get("user"), self.scope.get("session") or {}, self.workshop_id)
        if member is None:
            # Accept, then close with a reason, so the page says why instead of retrying.
            await self.accept()
            await self.send_json({"type": "error", "code": NOT_A_MEMBER,
                                  "message": "You are not in this workshop (any more)."})
            await self.close(code=NOT_A_MEMBER)
            return
        self.member = member
        self.audience = FACILITATORS if member.is_facilitator else ROOM
        # Join before accepting: while the layer is down the handshake fails, and the
        # page's backoff grows instead of reconnecting every second.
        for name in (group(self.workshop_id, self.audience),
                     person_group(self.workshop_id, member.person)):
            await self.channel_layer.group_add(name, self.channel_name)
            self.groups_joined.append(name)
        await self.accept()
        text = await database_sync_to_async(presence.arrive)(member, self.channel_name)
        await self.tell_room(text)

    async def disconnect(self, code: int) -> None:
        for name in self.groups_joined:
            await self.channel_layer.group_discard(name, self.channel_name)
        if self.groups_joined:
            text = await database_sync_to_async(presence.leave)(self.workshop_id,
                                                                 self.channel_name)
            await self.tell_room(text)

    async def tell_room(self, text: str) -> None:
        for audience in (ROOM, FACILITATORS):
            await self.channel_layer.group_send(group(self.workshop_id, audience),
                                                {"type": "board.frame", "text": text})

    async def receive_json(self, content, **kwargs) -> None:
        if not self.groups_joined:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind in ("hello", "resync"):
            since = content.get("version")
            since = since if isinstance(since, int) and since >= 0 else None
            frame = await database_sync_to_async(catch_up)(self.workshop_id, since,
                                                           self.audience)
            await self.send(text_data=json.dumps(frame, separators=(",", ":")))
        elif kind == "ping":
            await database_sync_to_async(presence.seen)(self.channel_name)
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "message":
                                  "This socket only takes hello, resync and ping; "
                                  "changes are saved over HTTP."})

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except (json.JSONDecodeError, TypeError, ValueError):
            await self.send_json({"type": "error", "message": "Frames must be JSON."})

    async def board_frame(self, message) -> None:
        await self.send(text_data=message["text"])

    async def board_kick(self, message) -> None:
        await self.send_json({"type": "error", "code": message["code"],
                              "message": message["reason"]})
        await self.close(code=message["code"])
