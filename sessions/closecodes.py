"""Application close codes (4000-4999): the htmx ws extension does not reconnect after
these, and the page tells the person why."""

REMOVED = 4001
LINK_ROTATED = 4002
LEFT = 4003
# The owner archived the workshop or restored it: reload to see it as it now is.
ARCHIVE_CHANGED = 4010
# The owner deleted the workshop: there is nothing left to reload.
DELETED = 4410
NOT_A_MEMBER = 4403
# The channel layer is down for a moment: come back soon. Daphne (autobahn) can send only
# 1000 or 3000-4999, so not 1013 "try again later"; the htmx ws extension does not
# reconnect after application codes, so static/js/live.js does it for this one.
TRY_AGAIN = 4013
NO_SUCH_SOCKET = 4404
TOO_MANY_SOCKETS = 4029
