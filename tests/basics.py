"""What every product's tests share and that imports none of the services, so that
tests/verifier/ runs against a jwtkit-only install."""

import base64
import socket
from pathlib import Path

ISSUER = "http://issuer.test"
ROOT = Path(__file__).resolve().parent.parent


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
