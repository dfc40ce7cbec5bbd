"""The Redis channel layer, with a group message in two round trips to Redis instead of
four: every edit's frame is one group message per audience, on the path from the write
to every screen, and on a busy worker each round trip is a wait for the GIL as well as
for Redis (measured: bench/live_board.py --breakdown, README "Live board").

Only `group_send` differs from channels-redis's `RedisChannelLayer`, and only in how
its commands travel: the group's expiry and members in one pipeline, then each
connection's messages in one script that also drops the messages past their expiry
(channels-redis sends that as a pipeline of its own before the script). What is stored,
and how the receiving side reads it, are channels-redis's own.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from channels_redis.core import RedisChannelLayer

log = logging.getLogger(__name__)

# channels-redis's group_send script, with its per-channel expiry (ZREMRANGEBYSCORE)
# moved in. KEYS: the channels' keys; ARGV: a message per key, a capacity per key, the
# time and the expiry.
GROUP_SEND = """
local over_capacity = 0
local current_time = ARGV[#ARGV - 1]
local expiry = ARGV[#ARGV]
local expired = math.floor(tonumber(current_time)) - tonumber(expiry)
for i=1,#KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, expired)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


class TwoTripRedisChannelLayer(RedisChannelLayer):
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        pipe = self.connection(self.consistent_hash(group)).pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zrange(key, 0, -1)
        _, members = await pipe.execute()
        channel_names = [member.decode("utf8") for member in members]
        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channel_names, message)
        for index, keys in by_connection.items():
            over = await self.connection(index).eval(
                GROUP_SEND, len(keys), *keys, *(messages[k] for k in keys),
                *(capacities[k] for k in keys), time.time(), self.expiry)
            if over > 0:
                log.info("%s of %s channels over capacity in group %s", over,
                         len(channel_names), group)
