/** Close code for a connection whose session was resumed on another one (PROTOCOL.md): do not resume it again. */
export const CLOSE_RESUMED_ELSEWHERE = 4001;
/** Close code for a connection whose session an operator ended (`kick`): do not resume, do not reconnect. */
export const CLOSE_KICKED = 4003;
