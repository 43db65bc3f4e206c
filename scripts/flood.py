#!/usr/bin/env python3
"""One client floods a Bartleby on this machine with half-sent requests; another asks for a page.

    scripts/flood.py [PORT] [CONNECTIONS]      (default 3000, 1100)

The flood comes from 127.0.0.1, the visitor from 127.0.0.2 (another address on the loopback).
Prints how many of the flood's connections were accepted, refused at once (429/503) or closed,
how long the visitor waited for /login during the flood, and how long the server took to drop
the stalled connections. Loopback only, bounded in count and time; it stops by itself.
"""
import socket
import sys
import time

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
COUNT = min(int(sys.argv[2]) if len(sys.argv) > 2 else 1100, 5000)
HOST = "127.0.0.1"


def visit(source):
    t0 = time.monotonic()
    s = socket.create_connection((HOST, PORT), timeout=30, source_address=(source, 0))
    s.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    status = s.recv(64).split(b"\r\n")[0].decode(errors="replace")
    s.close()
    return status, (time.monotonic() - t0) * 1000


socks, refused = [], 0
t0 = time.monotonic()
for _ in range(COUNT):
    try:
        s = socket.create_connection((HOST, PORT), timeout=5, source_address=("127.0.0.1", 0))
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        socks.append(s)
    except OSError:
        refused += 1
opened = time.monotonic() - t0
time.sleep(0.5)
answered_at_once = 0
for s in socks:
    s.setblocking(False)
    try:
        data = s.recv(64)
        if data.startswith(b"HTTP/1.1 429") or data.startswith(b"HTTP/1.1 503") or data == b"":
            answered_at_once += 1
    except BlockingIOError:
        pass
    except OSError:
        answered_at_once += 1
held = len(socks) - answered_at_once
print(f"flood: {COUNT} half-sent requests from 127.0.0.1 in {opened:.1f} s: "
      f"{held} held open by the server, {answered_at_once + refused} refused at once")
status, ms = visit("127.0.0.2")
print(f"another client during the flood: GET /login -> {status} in {ms:.1f} ms")
status, ms = visit("127.0.0.1")
print(f"the flooding address itself: GET /login -> {status} in {ms:.1f} ms")
t1 = time.monotonic()
deadline = t1 + 60
still = held
while still and time.monotonic() < deadline:
    time.sleep(0.5)
    still = 0
    for s in socks:
        try:
            s.setblocking(False)
            if s.recv(64) == b"":
                continue
        except BlockingIOError:
            still += 1
        except OSError:
            pass
print(f"stalled connections dropped by the server after {time.monotonic() - t1 + 0.5:.1f} s ({still} left)")
for s in socks:
    s.close()
