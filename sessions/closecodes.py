"""Application close codes (4000-4999): the htmx ws extension does not reconnect after
these, and the page tells the person why."""

REMOVED = 4001
LINK_ROTATED = 4002
NOT_A_MEMBER = 4403
# Not an application code: 1013 "try again later" is one the htmx ws extension
# reconnects after. Sent when the channel layer is down for a moment.
TRY_AGAIN = 1013
