"""Application close codes (4000-4999): the htmx ws extension does not reconnect after
these, and the page tells the person why."""

REMOVED = 4001
LINK_ROTATED = 4002
NOT_A_MEMBER = 4403
