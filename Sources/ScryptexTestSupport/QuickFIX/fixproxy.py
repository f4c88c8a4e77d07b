#!/usr/bin/env python3
"""A TCP proxy between our FIX engine and the QuickFIX executor that spoils one message from the
broker on the first connection, to test what the session layer does about it:

    fixproxy.py LISTEN_PORT TARGET_PORT ACTION N

ACTION: drop (the broker's Nth message never arrives), corrupt (its checksum is wrong), cut (the
connection is closed just before it, both ways). Later connections pass everything. Prints
"listening" when ready and one line per spoiled message."""
import re
import socket
import sys
import threading

listen_port, target_port, action, spoil = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
connections = 0
MESSAGE = re.compile(rb"8=FIX\.4\.4\x019=(\d+)\x01")


def pump(source, sink, spoiling, done):
    buffer = b""
    count = 0
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if not spoiling:
                sink.sendall(data)
                continue
            buffer += data
            while True:
                match = MESSAGE.match(buffer)
                if not match:
                    break
                end = match.end() + int(match.group(1)) + 7
                if len(buffer) < end:
                    break
                message, buffer = buffer[:end], buffer[end:]
                count += 1
                if count == spoil:
                    print(f"{action} message {count}: {message[:60]!r}", flush=True)
                    if action == "drop":
                        continue
                    if action == "corrupt":
                        digit = message[-2:-1]
                        message = message[:-2] + (b"0" if digit != b"0" else b"1") + message[-1:]
                    if action == "cut":
                        raise ConnectionResetError("cut")
                sink.sendall(message)
    except OSError:
        pass
    finally:
        done()


def serve(client):
    global connections
    connections += 1
    first = connections == 1
    upstream = socket.create_connection(("127.0.0.1", target_port))
    closed = threading.Event()

    def close():
        if not closed.is_set():
            closed.set()
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    threading.Thread(target=pump, args=(client, upstream, False, close), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, first, close), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", listen_port))
listener.listen(8)
print("listening", flush=True)
while True:
    connection, _ = listener.accept()
    serve(connection)
