#!/usr/bin/python3
"""A small Parley signalling client and room participant on aiortc, written from packages/signal/PROTOCOL.md.

It joins a room as the newcomer, offers a data channel plus synthetic audio and video, answers renegotiations,
echoes data-channel messages ("echo:" + text), and prints one JSON line per event for the test to read:
  {"event": "ready", "id": ...}, {"event": "message", "data": ...}, {"event": "track", "kind": ...},
  {"event": "frames", "audio": N, "video": N}
Usage: parley_peer.py WS_URL ROOM
"""
import asyncio
import json
import sys

import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp


def emit(**event):
    print(json.dumps(event), flush=True)


class Signal:
    """Requests with ids and answers by `re`; messages with `seq` go to a queue."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.pending = {}
        self.events = asyncio.Queue()

    async def run(self):
        async for text in self.ws:
            msg = json.loads(text)
            future = self.pending.pop(msg.get("re"), None)
            if future:
                future.set_result(msg)
            else:
                await self.events.put(msg)

    async def request(self, **body):
        self.next_id += 1
        body["id"] = str(self.next_id)
        future = asyncio.get_running_loop().create_future()
        self.pending[body["id"]] = future
        await self.ws.send(json.dumps(body))
        reply = await asyncio.wait_for(future, 10)
        if reply["type"] == "error":
            raise RuntimeError(f"{reply['code']}: {reply['message']}")
        return reply


async def count_frames(track, counts):
    while True:
        try:
            await track.recv()
        except MediaStreamError:
            return
        counts[track.kind] += 1


async def main(url, room):
    async with websockets.connect(url) as ws:
        signal = Signal(ws)
        reader = asyncio.ensure_future(signal.run())
        welcome = await signal.request(type="hello", version=1)
        joined = await signal.request(type="join", room=room)
        emit(event="ready", id=welcome["sessionId"])
        others = [m["id"] for m in joined["members"]]
        if len(others) != 1:
            raise SystemExit(f"expected one member in the room, found {len(others)}")
        remote = others[0]
        pc = RTCPeerConnection()
        counts = {"audio": 0, "video": 0}

        async def send(kind, payload):
            await signal.request(type="signal", room=room, to=remote, kind=kind, payload=payload)

        def on_channel(channel):
            @channel.on("message")
            def on_message(data):
                emit(event="message", data=data if isinstance(data, str) else data.hex())
                if isinstance(data, str) and not data.startswith("echo:"):
                    channel.send("echo:" + data)

        @pc.on("datachannel")
        def on_datachannel(channel):
            on_channel(channel)

        @pc.on("track")
        def on_track(track):
            emit(event="track", kind=track.kind)
            asyncio.ensure_future(count_frames(track, counts))

        chat = pc.createDataChannel("aiortc")
        on_channel(chat)

        @chat.on("open")
        def on_open():
            chat.send("hello from aiortc")

        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())
        # aiortc gathers before it returns the description: one offer with every candidate, then end-of-candidates.
        await pc.setLocalDescription(await pc.createOffer())
        await send("offer", {"type": "offer", "sdp": pc.localDescription.sdp})
        await send("end-of-candidates", None)

        async def report():
            while True:
                await asyncio.sleep(0.5)
                emit(event="frames", **counts)

        reporter = asyncio.ensure_future(report())
        while True:
            msg = await signal.events.get()
            if msg["type"] != "signal" or msg["from"] != remote:
                continue
            kind, payload = msg["kind"], msg["payload"]
            if kind in ("offer", "answer"):
                await pc.setRemoteDescription(RTCSessionDescription(sdp=payload["sdp"], type=payload["type"]))
                if kind == "offer":
                    await pc.setLocalDescription(await pc.createAnswer())
                    await send("answer", {"type": "answer", "sdp": pc.localDescription.sdp})
            elif kind == "candidate" and payload and payload.get("candidate"):
                candidate = candidate_from_sdp(payload["candidate"].split(":", 1)[1])
                candidate.sdpMid = payload.get("sdpMid")
                candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
                await pc.addIceCandidate(candidate)
        reporter.cancel()
        reader.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
