"""Django's ASGI handler, with a request's whole path in one thread.

Under ASGI Django builds its middleware chain for async, with `_get_response_async` at
its base. With sync-only middlewares in the chain (WhiteNoise, Attune's own), a request
went from the event loop to its thread for the middlewares, back to the loop to resolve
the URL and run `process_view`, to the thread again for the view, and back to the loop
and the thread on the way out: two round trips more than needed, through an event loop
that is busy writing frames to every socket of the board. Built as for WSGI and entered
once, the chain runs the middlewares, the view and the response in one thread (measured
by bench/live_board.py: README). Async views still work: Django runs them on the event
loop from that thread (async_to_sync), as before.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class OneThreadASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        # Entered from the event loop once per request, in the request's own thread
        # (Django gives each request a thread-sensitive context of its own).
        chain: Any = self._middleware_chain  # type: ignore[has-type]
        self._middleware_chain = sync_to_async(chain, thread_sensitive=True)
