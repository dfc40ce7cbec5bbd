"""Attune's middlewares, sync like the rest of the chain (workshop/handler.py runs the
whole chain in one thread per request)."""

from collections.abc import Callable

from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.http import HttpRequest, HttpResponse

from .events import committed_writes


class ReleaseConnectionsMiddleware:
    """Hand this request's database connections back when it is done, in the thread
    that used them, even if daphne gave up on the request meanwhile.

    Django returns connections on request_finished. When a client goes away and its
    request runs past daphne's application close timeout (an overloaded worker), daphne
    kills the request's coroutine; the view's thread still finishes, but nothing then
    returns its connection, and each one lost shrinks the pool until every request
    waits 30 s for a connection (bench/soak.py found it). This runs first and last."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            # Not inside a transaction: the test suite wraps each test in one.
            if not any(c.in_atomic_block for c in connections.all(initialized_only=True)):
                close_old_connections()


class DatabaseDroppedMiddleware:
    """A request whose database connection dropped (PostgreSQL restarted, or an admin
    terminated it) gets a 503 that says what happened to the change, not a bare 500.
    Every write is one transaction, so nothing is half-written: either no write of the
    request committed (say so: the person tries again) or one did and only showing it
    failed (say so: trying again would save it twice). The pool replaces the connection
    (CONN_HEALTH_CHECKS), so the next request works."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counted = committed_writes.set(0)
        try:
            return self.get_response(request)
        finally:
            committed_writes.reset(counted)

    def process_exception(self, request: HttpRequest,
                          exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        if committed_writes.get():
            message = ("Your change was saved, but the connection to the database dropped "
                       "before this page could show it. It will appear in a moment; do not "
                       "save it again.")
        else:
            message = ("The connection to the database dropped before your change was "
                       "saved, so nothing was saved. Please try again in a moment; your "
                       "text is still here.")
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "1"
        return response
