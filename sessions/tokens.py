import re
import secrets

# 32 bytes = 256 bits from the OS's CSPRNG; the design asks for at least 128.
TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


# What new_token makes (URL-safe base64): anything else in a link is no link, answered
# as one before it reaches the database (PostgreSQL refuses a NUL byte with an error).
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_token(text: str) -> bool:
    return TOKEN.fullmatch(text) is not None
