// The Web Worker of tracks.js: decodes each `tracks` frame's text it is sent, off the main thread.

import { decodeTracks } from "./tracks.js";

let previous = null;

self.addEventListener("message", (event) => {
  const { message, transfer, kept } = decodeTracks(event.data, previous);
  previous = kept;
  self.postMessage(message, transfer);
});
