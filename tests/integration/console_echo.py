#!/usr/bin/python3
"""A stream client written from docs/protocol.md ("Streams") alone, with pyzmq.

Usage: console_echo.py SOCKET URI DOMAIN MIB
Opens DOMAIN's console on the read-write SOCKET, sends MIB mebibytes through it in
chunks, reads what comes back (the probe driver's console echoes), checks that it is
what was sent, ends the stream and prints "OK <bytes>"; exits 1 with the reason on any
error or after 60 s.
"""
import json
import sys
import time

import zmq


def main():
    socket, uri, domain, mib = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    deadline = time.time() + 60
    req = zmq.Context().socket(zmq.DEALER)
    req.setsockopt(zmq.LINGER, 0)
    req.connect("ipc://" + socket)

    request = {"v": 1, "id": 1, "uri": uri, "proc": "domain.open-console",
               "args": {"domain": domain}}
    req.send_multipart([b"", json.dumps(request).encode()])
    reply = json.loads(req.recv_multipart()[1])
    if not reply["ok"]:
        sys.exit("open-console: " + reply["error"]["message"])
    stream = reply["result"]["stream"]
    window = reply["result"]["window"]
    chunk_bytes = reply["result"]["chunk_bytes"]

    def send(op, data=b"", **fields):
        header = dict(fields, v=1, stream=stream, op=op)
        req.send_multipart([b"", json.dumps(header).encode(), data])

    # We may send `window` chunks ahead; the daemon may send us as many as we grant.
    credit = window
    granted = window
    send("credit", chunks=window)

    total = mib << 20
    sent = received = 0
    expected = bytearray()
    while received < total:
        if time.time() > deadline:
            sys.exit("timed out after %d of %d bytes back" % (received, total))
        while sent < total and credit > 0:
            data = bytes([(sent // chunk_bytes) % 251]) * min(chunk_bytes, total - sent)
            send("data", data)
            expected += data[:1]
            sent += len(data)
            credit -= 1
        if not req.poll(1000):
            continue
        frames = req.recv_multipart()
        if len(frames) != 3:  # a reply, not a stream message: none is expected here
            continue
        header, data = json.loads(frames[1]), frames[2]
        if header["stream"] != stream:
            continue
        if header["op"] == "credit":
            credit += header["chunks"]
        elif header["op"] == "data":
            first = expected.pop(0)
            if data != bytes([first]) * len(data):
                sys.exit("chunk at byte %d came back changed" % received)
            received += len(data)
            granted -= 1
            if granted <= window // 2:  # grant again what we took
                send("credit", chunks=window - granted)
                granted = window
        else:  # end or abort
            sys.exit("the daemon ended the stream: %s" % header.get("message", "end"))
    send("end")
    print("OK %d" % received)


if __name__ == "__main__":
    main()
