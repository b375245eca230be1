// @parley/browser: a page joins a Parley room the way @parley/peer does from Node. The bundle
// (dist/browser/parley-browser.js) also carries the signalling client, so a page loads one file.

export { SignalClient, SignalError } from "@parley/signal/client";
export { RoomClientError, type RoomClientErrorCode } from "./errors.js";
export { handOverChannel } from "./hand-over.js";
export { type JoinRoomOptions, joinRoom, type RoomMember, type RoomSession } from "./join-room.js";
