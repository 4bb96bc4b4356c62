/**
 * The encodings the camera is published with. The relay receives up to three simulcast layers by rid and forwards to
 * each participant the best layer their connection carries, switching on keyframes (RFC 8853). Layers go from the
 * smallest to the full picture, as the relay and its tests name them: q (a quarter of each side), h (half), f (full).
 *
 * How many layers follows what Chromium makes of a picture of that size: it encodes three layers from 960×540
 * pixels on, two from 480×270, one below, and when offered more it drops the largest ones, so a 640×480 camera
 * offered q/h/f would send only 160×120 and 320×240 and nobody would see the full picture. Hence: 960×540 and more
 * gets q, h and f; 480×270 up to that (the 640×480 we ask for) gets h and f; smaller pictures, or an unknown size,
 * one plain encoding. Pixels count, not the height, so a phone held upright is treated like one held sideways. The
 * count is fixed when the call starts: a camera switched to later keeps the layers (the browser scales each from the
 * new picture, and stops those it cannot make).
 */

/** Pixels from which three layers are sent (960×540). */
export const THREE_LAYERS_FROM = 960 * 540;

/** Pixels from which two layers are sent (480×270). */
export const TWO_LAYERS_FROM = 480 * 270;

/** Bits per second per pixel of a layer, about what Chromium itself allows its simulcast layers at 30 frames/s. */
const BITS_PER_PIXEL = 3.5;
const MIN_BITRATE = 100_000;
const MAX_BITRATE = 2_500_000;

const LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4 },
  { rid: 'h', scaleResolutionDownBy: 2 },
  { rid: 'f', scaleResolutionDownBy: 1 },
] as const;

/** The most a layer of this size may send, in bit/s: by its pixel count, rounded to 10 kbit/s, within 100 kbit/s–2.5 Mbit/s. */
export function layerBitrate(width: number, height: number): number {
  const bitrate = Math.round((width * height * BITS_PER_PIXEL) / 10_000) * 10_000;
  return Math.min(MAX_BITRATE, Math.max(MIN_BITRATE, bitrate));
}

/**
 * The send encodings for a camera picture of this size: three or two rid layers, smallest first, or a single
 * encoding (no rid) when the picture is too small for two layers or its size is unknown (0).
 */
export function videoEncodings(width: number, height: number): RTCRtpEncodingParameters[] {
  const pixels = width * height;
  const count = pixels >= THREE_LAYERS_FROM ? 3 : pixels >= TWO_LAYERS_FROM ? 2 : 1;
  if (count === 1) return [singleEncoding(width, height)];
  return LAYERS.slice(LAYERS.length - count).map((layer) => ({
    rid: layer.rid,
    scaleResolutionDownBy: layer.scaleResolutionDownBy,
    maxBitrate: layerBitrate(width / layer.scaleResolutionDownBy, height / layer.scaleResolutionDownBy),
  }));
}

/** One encoding of the whole picture: when simulcast is not possible or was not accepted. */
export function singleEncoding(width: number, height: number): RTCRtpEncodingParameters {
  return { scaleResolutionDownBy: 1, maxBitrate: layerBitrate(width || 640, height || 480) };
}
