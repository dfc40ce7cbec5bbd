"""Notice that Redis came back empty, and put this process's open sockets back in their
groups.

A Redis restart loses every group membership. Sockets whose own connection failed are
closed (4013) and reconnect; but a socket whose connection survived, or was retried on
a fresh one, stays open and deaf: no frame reaches it until its page's next heartbeat
(15 s) re-joins its groups. So each process keeps a key of its own in Redis and looks
at it every second; when the key is gone, Redis lost its data, and every socket of the
process re-joins its groups and tells its page the board's version (a page that missed
frames meanwhile then resyncs). docs/architecture.md, "Connection state and recovery".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import weakref
from typing import Any, Protocol

from channels.db import database_sync_to_async

from workshop.models import Workshop

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds between looks at the key
KEY_LIFETIME = 30  # seconds the key outlives a process that stopped looking


class Rejoins(Protocol):
    workshop_id: int

    async def rejoin(self, version: int) -> None: ...

    async def layer_lost(self) -> None: ...


_sockets: weakref.WeakSet[Any] = weakref.WeakSet()
_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = (
    weakref.WeakKeyDictionary())
_key = f"attune-process-{uuid.uuid4().hex}"


def watch(layer: Any, socket: Rejoins) -> None:
    """Look after this socket while it is open (only on a Redis layer)."""
    if not hasattr(layer, "connection"):
        return  # the in-memory layer cannot lose its groups under a running process
    _sockets.add(socket)
    loop = asyncio.get_running_loop()
    task = _watchers.get(loop)
    if task is None or task.done():
        _watchers[loop] = loop.create_task(_watch(layer))


def forget(socket: Rejoins) -> None:
    _sockets.discard(socket)


async def _watch(layer: Any) -> None:
    key = layer.prefix + _key
    known = False  # whether the key was set since Redis last failed us
    while _sockets:
        await asyncio.sleep(CHECK_EVERY)
        try:
            connection = layer.connection(0)
            present = await connection.getex(key, ex=KEY_LIFETIME)
            if present is None:
                await connection.set(key, b"1", ex=KEY_LIFETIME)
        except Exception:  # noqa: BLE001 - Redis is down
            if known:
                # Sockets do not receive from the layer (the hub does, and may be idle):
                # close them all, and the pages come back when Redis does.
                await _lose_all()
            known = False
            continue
        if present is None and known:
            await _rejoin_all()
        known = True


async def _lose_all() -> None:
    for socket in list(_sockets):
        with contextlib.suppress(Exception):
            await socket.layer_lost()


async def _rejoin_all() -> None:
    sockets = list(_sockets)
    versions = await database_sync_to_async(_versions)({s.workshop_id for s in sockets})
    log.warning("Redis lost its data (restarted empty?): %d open sockets re-join their "
                "groups", len(sockets))
    for socket in sockets:
        if socket.workshop_id in versions:
            with contextlib.suppress(Exception):
                await socket.rejoin(versions[socket.workshop_id])


def _versions(workshop_ids: set[int]) -> dict[int, int]:
    return dict(Workshop.objects.filter(pk__in=workshop_ids).values_list("pk", "version"))
