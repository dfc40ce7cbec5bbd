"""daphne, with two guards only the server's protocol can give. Run it as daphne:

    python -m workshop.serve -b 0.0.0.0 -p 8000 workshop.asgi:application

- A request body over the largest limit (workshop/bodylimit.py) is refused with 413
  while it arrives, on its Content-Length or as it streams, and the connection closed:
  daphne would otherwise receive the whole body and put all of it in the app's queue
  before any ASGI code could look at it (an anonymous 200 MB POST cost 200 MB).
- The access log does not record join tokens: a join link is a key to a board, and
  logs travel further than keys should.
"""

from __future__ import annotations

import re
from typing import Any

from daphne import access, cli, http_protocol

from .bodylimit import largest_limit, message

JOIN_TOKEN = re.compile(r"/join/[^/\s?]+")


class LimitedRequest(http_protocol.WebRequest):
    over_limit = False
    limit = 0
    received = 0

    def gotLength(self, length: int | None) -> None:  # noqa: N802 - Twisted's name
        self.limit = largest_limit()
        if length is not None and length > self.limit:
            self.refuse()
        super().gotLength(None if self.over_limit else length)

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        if self.over_limit:
            return
        self.received += len(data)
        if self.received > self.limit:
            self.refuse()
            return
        super().handleContentChunk(data)

    def process(self) -> Any:
        if self.over_limit:
            return None  # answered already; the app never sees this request
        return super().process()

    def refuse(self) -> None:
        self.over_limit = True
        body = message(self.limit)
        head = ("HTTP/1.1 413 Content Too Large\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode()
        self.channel.transport.write(head + body)
        self.channel.transport.loseConnection()


class RedactedAccessLog(access.AccessLogGenerator):
    def write_entry(self, host: Any, date: Any, request: Any, *args: Any,
                    **kwargs: Any) -> None:
        super().write_entry(host, date, JOIN_TOKEN.sub("/join/[token]", request),
                            *args, **kwargs)


def main() -> None:
    # daphne has no hooks for either: its protocol and its CLI take these by name.
    http_protocol.WebRequest = LimitedRequest
    cli.AccessLogGenerator = RedactedAccessLog
    cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
