#!/usr/bin/python3
"""A third-party event subscriber written from docs/protocol.md alone, with pyzmq.

Usage: subscriber.py RUN_DIR COUNT
Subscribes to "domain." on RUN_DIR/domus-events, completes the ping/pong handshake
through RUN_DIR/domus-sock-ro, prints "READY" on stdout, then prints the JSON body of
the next COUNT events, one per line, and exits 0 (or 1 after 20 s without them).
"""
import json
import sys
import time
import uuid

import zmq


def main():
    run_dir, count = sys.argv[1], int(sys.argv[2])
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.connect("ipc://%s/domus-events" % run_dir)
    sub.setsockopt(zmq.SUBSCRIBE, b"domain.")
    sub.setsockopt(zmq.SUBSCRIBE, b"sys.")
    req = ctx.socket(zmq.DEALER)
    req.setsockopt(zmq.LINGER, 0)
    req.connect("ipc://%s/domus-sock-ro" % run_dir)

    token = uuid.uuid4().hex
    deadline = time.time() + 20
    next_id = 1
    ready = False
    early = []
    while not ready and time.time() < deadline:
        body = {"v": 1, "id": next_id, "proc": "events.ping", "args": {"token": token}}
        next_id += 1
        req.send_multipart([b"", json.dumps(body).encode()])
        if sub.poll(10):
            while sub.poll(0):
                topic, payload = sub.recv_multipart()
                msg = json.loads(payload)
                if topic == b"sys.pong" and msg.get("token") == token:
                    ready = True
                elif not topic.startswith(b"sys."):
                    early.append(msg)
    if not ready:
        print("no pong", file=sys.stderr)
        return 1
    print("READY", flush=True)
    got = 0
    for msg in early:
        print(json.dumps(msg), flush=True)
        got += 1
    while got < count and time.time() < deadline:
        if sub.poll(100):
            topic, payload = sub.recv_multipart()
            if topic.startswith(b"sys."):
                continue
            msg = json.loads(payload)
            assert msg["topic"] == topic.decode()
            print(json.dumps(msg), flush=True)
            got += 1
    return 0 if got == count else 1


if __name__ == "__main__":
    sys.exit(main())
