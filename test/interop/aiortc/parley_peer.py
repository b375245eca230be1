#!/usr/bin/python3
"""A small Parley signalling client and room participant on aiortc, written from packages/signal/PROTOCOL.md.

It joins a room as the newcomer, offers a data channel plus synthetic audio and video, answers renegotiations,
follows renewals (a new connection in place of the old one, answering the bot's offer, and its channel opened
again), echoes data-channel messages ("echo:" + text), and prints one JSON line per event for the test to read:
  {"event": "ready", "id": ...}, {"event": "message", "data": ...}, {"event": "track", "kind": ...},
  {"event": "renewed", "generation": N}, {"event": "frames", "audio": N, "video": N}
With --tone HZ it sends a sine at HZ instead of aiortc's silent audio, and reports what it hears (the strongest
frequency of the last second of decoded audio, by FFT): {"event": "audio-peak", "hz": F, "rms": R}.
Usage: parley_peer.py WS_URL ROOM [--tone HZ]
"""
import asyncio
import fractions
import json
import sys
import time

import av
import numpy

import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack, VideoStreamTrack
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


class ToneTrack(MediaStreamTrack):
    """20 ms frames of a 48 kHz mono sine, paced by the clock like aiortc's own AudioStreamTrack."""

    kind = "audio"

    def __init__(self, hz):
        super().__init__()
        self.hz = hz
        self.pts = 0
        self.start = None

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        else:
            wait = self.start + self.pts / 48000 - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (numpy.arange(960) + self.pts) / 48000
        samples = (0.3 * 32767 * numpy.sin(2 * numpy.pi * self.hz * t)).astype(numpy.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self.pts
        frame.time_base = fractions.Fraction(1, 48000)
        self.pts += 960
        return frame


def audio_peak(samples, rate):
    """Strongest frequency (Hz) of a Hann-windowed FFT, and the RMS level (1 = full scale)."""
    x = samples.astype(numpy.float64) / 32768
    mags = numpy.abs(numpy.fft.rfft(x * numpy.hanning(len(x))))
    mags[0] = 0
    return float(numpy.argmax(mags) * rate / len(x)), float(numpy.sqrt(numpy.mean(x * x)))


async def count_frames(track, counts, heard):
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        counts[track.kind] += 1
        if track.kind == "audio":
            # Packed s16: one row of interleaved samples; keep the first channel's last second.
            channels = len(frame.layout.channels)
            heard["rate"] = frame.sample_rate
            heard["samples"] = numpy.concatenate([heard["samples"], frame.to_ndarray()[0][::channels]])[
                -frame.sample_rate :
            ]


async def main(url, room, tone):
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
        counts = {"audio": 0, "video": 0}
        heard = {"samples": numpy.zeros(0, dtype=numpy.int16), "rate": 48000}

        async def send(kind, payload):
            await signal.request(type="signal", room=room, to=remote, kind=kind, payload=payload)

        def on_channel(channel):
            @channel.on("message")
            def on_message(data):
                emit(event="message", data=data if isinstance(data, str) else data.hex())
                if isinstance(data, str) and not data.startswith("echo:"):
                    channel.send("echo:" + data)

        def open_chat(pc, hello):
            chat = pc.createDataChannel("aiortc")
            on_channel(chat)

            @chat.on("open")
            def on_open():
                chat.send(hello)

        def our_track(kind):
            if kind == "video":
                return VideoStreamTrack()
            return ToneTrack(tone) if tone else AudioStreamTrack()

        def connection(offering):
            """A connection reporting the channels and tracks the bot opens; with our audio and video if we offer."""
            pc = RTCPeerConnection()

            @pc.on("datachannel")
            def on_datachannel(channel):
                on_channel(channel)

            @pc.on("track")
            def on_track(track):
                emit(event="track", kind=track.kind)
                asyncio.ensure_future(count_frames(track, counts, heard))

            if offering:
                pc.addTrack(our_track("audio"))
                pc.addTrack(our_track("video"))
            return pc

        pc = connection(offering=True)
        open_chat(pc, "hello from aiortc")
        # aiortc gathers before it returns the description: one offer with every candidate, then end-of-candidates.
        await pc.setLocalDescription(await pc.createOffer())
        await send("offer", {"type": "offer", "sdp": pc.localDescription.sdp})
        await send("end-of-candidates", None)
        # PROTOCOL.md, Peer conventions: the pair's first connection is generation 0; a renewal from the bot
        # (`restart` with `{"renew": N}`) replaces it, and we answer the bot's offer on the new one.
        generation = 0
        renewed = False

        async def report():
            while True:
                await asyncio.sleep(0.5)
                emit(event="frames", **counts)
                if tone and len(heard["samples"]) == heard["rate"]:
                    hz, level = audio_peak(heard["samples"], heard["rate"])
                    emit(event="audio-peak", hz=hz, rms=level)

        reporter = asyncio.ensure_future(report())
        while True:
            msg = await signal.events.get()
            if msg["type"] != "signal" or msg["from"] != remote:
                continue
            kind, payload = msg["kind"], msg["payload"]
            renew = payload.get("renew") if kind == "restart" and isinstance(payload, dict) else None
            if isinstance(renew, int) and not isinstance(renew, bool):
                if renew <= generation:
                    continue  # stale, or one we already followed
                # Close ours, confirm before any signal of the new connection, then act as the member already in
                # the room: the bot offers.
                generation = renew
                await pc.close()
                await send("restart", {"renewed": renew})
                pc = connection(offering=False)
                renewed = True
                emit(event="renewed", generation=renew)
            elif kind in ("offer", "answer"):
                await pc.setRemoteDescription(RTCSessionDescription(sdp=payload["sdp"], type=payload["type"]))
                if kind == "offer" and renewed:
                    # Our media on the kinds the bot's first offer has (aiortc cannot answer with a transceiver of
                    # its own that the offer lacks).
                    for media in sorted({t.kind for t in pc.getTransceivers()}):
                        pc.addTrack(our_track(media))
                if kind == "offer":
                    await pc.setLocalDescription(await pc.createAnswer())
                    await send("answer", {"type": "answer", "sdp": pc.localDescription.sdp})
                    if renewed and pc.sctp:
                        # Our own channel again, in-band on the association the bot's offer brought.
                        renewed = False
                        open_chat(pc, "hello again from aiortc")
            elif kind == "candidate" and payload and payload.get("candidate"):
                candidate = candidate_from_sdp(payload["candidate"].split(":", 1)[1])
                candidate.sdpMid = payload.get("sdpMid")
                candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
                await pc.addIceCandidate(candidate)
        reporter.cancel()
        reader.cancel()


if __name__ == "__main__":
    tone = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--tone" else None
    asyncio.run(main(sys.argv[1], sys.argv[2], tone))
