import secrets

# 32 bytes = 256 bits from the OS's CSPRNG; the design asks for at least 128.
TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)
