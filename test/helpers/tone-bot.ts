import { type AudioFrame, AudioSource, AudioStream, type AudioStreamOptions, type Room } from "@parley/peer";
import { firstChannel, joinSamples, peak, rms, sine } from "./tone.js";

/**
 * A bot's side of the tone proofs: in `room` it speaks a sine at `speakHz` until stopped (an AudioSource fed in real
 * time) and decodes every audio track it receives (AudioStream with `listen`).
 */
export function toneBot(room: Room, speakHz: number, listen: AudioStreamOptions = {}) {
  const source = new AudioSource();
  room.addTrack(source.track);
  let speaking = true;
  const tone = sine(speakHz, 1); // a whole number of cycles: it loops without a click
  const speaker = (async () => {
    while (speaking) await source.write(tone);
  })();
  const frames: AudioFrame[] = [];
  const streams: AudioStream[] = [];
  room.on("track", (_member, track) => {
    if (track.kind !== "audio") return;
    const stream = new AudioStream(track, listen);
    streams.push(stream);
    void (async () => {
      for await (const f of stream) frames.push(f);
    })();
  });
  /** Frames with something in them (RMS over 0.05 of full scale). */
  const loud = () => frames.filter((f) => rms(firstChannel(f.data, f.channels)) > 0.05);
  return {
    streams,
    loud,
    /** The strongest frequency of the last `count` loud frames. */
    heard(count = 50) {
      const last = loud().slice(-count);
      return peak(firstChannel(joinSamples(last.map((f) => f.data)), last[0]!.channels), last[0]!.sampleRate);
    },
    async stop() {
      speaking = false;
      source.close();
      await speaker;
      for (const s of streams) s.close();
    },
  };
}
