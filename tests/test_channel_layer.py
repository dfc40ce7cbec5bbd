"""The Redis channel layer (sessions/layer.py): channels-redis's, with a group message in
two round trips to Redis instead of four, and the same delivery: every channel of the
group, in every process, once; nothing past a channel's capacity; nothing past its
expiry. On the local Redis server, each test under a prefix of its own."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio
from servers import service_up

from sessions.layer import TwoTripRedisChannelLayer

pytestmark = [pytest.mark.redis, pytest.mark.asyncio]


def make_layer(prefix: str, **config) -> TwoTripRedisChannelLayer:
    assert service_up(6379), "These tests need the local Redis server on 127.0.0.1:6379."
    return TwoTripRedisChannelLayer(
        hosts=[{"address": "redis://127.0.0.1:6379/0", "socket_timeout": None}],
        prefix=prefix, **config)


@pytest.fixture
async def prefix():
    name = "attune-test-" + uuid.uuid4().hex[:8]
    yield name
    client = redis.asyncio.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = [key async for key in client.scan_iter(match=f"{name}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_a_group_message_reaches_every_channel_of_every_process_once(prefix):
    one, other = make_layer(prefix), make_layer(prefix)  # two workers
    mine, also_mine, theirs = (await one.new_channel(), await one.new_channel(),
                               await other.new_channel())
    for channel, layer in ((mine, one), (also_mine, one), (theirs, other)):
        await layer.group_add("board-1-room", channel)
    await one.group_send("board-1-room", {"type": "frame", "text": "v7"})
    for channel, layer in ((mine, one), (also_mine, one), (theirs, other)):
        message = await asyncio.wait_for(layer.receive(channel), 5)
        assert message == {"type": "frame", "text": "v7"}
    for channel, layer in ((mine, one), (theirs, other)):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.3)


async def test_a_channel_at_capacity_drops_the_next_message_and_keeps_the_ones_it_has(prefix):
    layer = make_layer(prefix, capacity=2)
    channel = await layer.new_channel()
    await layer.group_add("board-1-room", channel)
    for n in range(3):
        await layer.group_send("board-1-room", {"type": "frame", "n": n})
    got = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(2)]
    assert [message["n"] for message in got] == [0, 1]
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.3)


async def test_messages_past_their_expiry_make_room_for_the_next(prefix):
    layer = make_layer(prefix, capacity=1, expiry=1)
    sender, receiver = layer, make_layer(prefix, capacity=1, expiry=1)
    channel = await receiver.new_channel()
    await receiver.group_add("board-1-room", channel)
    await sender.group_send("board-1-room", {"type": "frame", "n": 1})
    await asyncio.sleep(2.2)  # past the first message's expiry: nobody read it
    await sender.group_send("board-1-room", {"type": "frame", "n": 2})
    message = await asyncio.wait_for(receiver.receive(channel), 5)
    assert message["n"] == 2


async def test_a_group_message_is_two_round_trips_to_redis(prefix, monkeypatch):
    layer = make_layer(prefix)
    for _ in range(3):
        await layer.group_add("board-1-room", await layer.new_channel())
    await layer.group_send("board-1-room", {"type": "frame"})  # connections made
    trips = []
    sent_alone = redis.asyncio.Redis.execute_command
    sent_piped = redis.asyncio.client.Pipeline.execute

    async def alone(self, *args, **options):
        trips.append(args[0])
        return await sent_alone(self, *args, **options)

    async def piped(self, *args, **options):
        trips.append("pipeline")
        return await sent_piped(self, *args, **options)

    monkeypatch.setattr(redis.asyncio.Redis, "execute_command", alone)
    monkeypatch.setattr(redis.asyncio.client.Pipeline, "execute", piped)
    await layer.group_send("board-1-room", {"type": "frame"})
    assert trips == ["pipeline", "EVAL"]
