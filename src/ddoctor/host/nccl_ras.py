"""A client for NCCL's RAS service (NCCL >= 2.24; JSON answers from 2.28.7), as `ncclras` speaks it.

Every NCCL process listens on localhost:28028 (NCCL_RAS_ADDR); one query to any rank answers for
the whole job. The wire protocol is plain text: `CLIENT PROTOCOL 2` -> `SERVER PROTOCOL N`,
`TIMEOUT <s>` -> `OK`, `SET FORMAT json` -> `OK`, `VERBOSE STATUS` -> the document, then the
server closes the connection. Every step has a deadline, and the answer is capped in size.
"""

from __future__ import annotations

import socket
import time

DEFAULT_ADDRESS = "localhost:28028"
PROTOCOL = 2
MAX_ANSWER = 64 << 20


class RasError(Exception):
    """The service could not be reached or did not speak the protocol."""


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        return text.strip() or "localhost", 28028
    try:
        p = int(port)
    except ValueError:
        raise ValueError(f"bad RAS address {text!r}: use HOST:PORT (default {DEFAULT_ADDRESS})") from None
    if not 0 < p < 65536:
        raise ValueError(f"bad RAS port {p}")
    return (host.strip("[]") or "localhost"), p


def _line(sock: socket.socket, deadline: float) -> str:
    buf = b""
    while not buf.endswith(b"\n"):
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
        if len(buf) > 65536:
            raise RasError("the RAS service sent an over-long line")
    return buf.decode("utf-8", "replace").strip()


def query(address: str = DEFAULT_ADDRESS, *, timeout_s: float = 10.0, collective_timeout_s: int = 5) -> str:
    """One VERBOSE STATUS answer in JSON (text)."""
    host, port = parse_address(address)
    deadline = time.monotonic() + timeout_s
    try:
        sock = socket.create_connection((host, port), timeout=min(timeout_s, 5.0))
    except OSError as exc:
        raise RasError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
    with sock:
        try:
            sock.sendall(f"CLIENT PROTOCOL {PROTOCOL}\n".encode())
            hello = _line(sock, deadline)
            if not hello.upper().startswith("SERVER PROTOCOL"):
                raise RasError(f"not a NCCL RAS service at {host}:{port} (it answered {hello[:80]!r})")
            for cmd in (f"TIMEOUT {collective_timeout_s}", "SET FORMAT json"):
                sock.sendall(f"{cmd}\n".encode())
                ok = _line(sock, deadline)
                if ok.upper() != "OK":
                    raise RasError(f"the RAS service refused {cmd!r} ({ok[:80]!r}); JSON needs NCCL >= 2.28.7")
            sock.sendall(b"VERBOSE STATUS\n")
            out = bytearray()
            while True:
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                out += chunk
                if len(out) > MAX_ANSWER:
                    raise RasError("the RAS answer is larger than 64 MiB")
        except TimeoutError:
            raise RasError(f"the RAS service at {host}:{port} did not answer within {timeout_s:.0f} s") from None
        except OSError as exc:
            raise RasError(f"RAS connection to {host}:{port} failed: {exc.strerror or exc}") from None
    return out.decode("utf-8", "replace")
