#!/usr/bin/env python3
"""Opens N TLS keep-alive connections to a server, makes one request on each, holds them idle,
and reports how much the server's resident memory grew per connection.

usage: idle_connections.py --port 9443 --count 10000 --pids 123,456
"""
import argparse
import resource
import socket
import ssl
import time


def resident_bytes(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--pids", required=True, help="comma-separated server process ids")
    parser.add_argument("--host", default="localhost")
    arguments = parser.parse_args()
    pids = [int(p) for p in arguments.pids.split(",") if p]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, arguments.count + 1024), hard))

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = f"GET /healthz HTTP/1.1\r\nHost: {arguments.host}\r\n\r\n".encode()

    time.sleep(1)
    before = resident_bytes(pids)
    connections = []
    started = time.monotonic()
    for _ in range(arguments.count):
        raw = socket.create_connection(("127.0.0.1", arguments.port))
        tls = context.wrap_socket(raw, server_hostname=arguments.host)
        tls.sendall(request)
        response = b""
        while b"\r\n\r\n" not in response or not response.endswith(b"}"):
            chunk = tls.recv(4096)
            if not chunk:
                raise SystemExit("the server closed a connection")
            response += chunk
        connections.append(tls)
    opened = time.monotonic() - started
    time.sleep(2)
    after = resident_bytes(pids)
    per_connection = (after - before) / arguments.count
    print(f"connections={arguments.count} rss_before={before} rss_after={after} "
          f"bytes_per_connection={per_connection:.0f} open_seconds={opened:.1f}")
    for connection in connections:
        connection.close()


if __name__ == "__main__":
    main()
