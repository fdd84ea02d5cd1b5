// Pixel dimensions read from image headers, so that a tiny file declaring a huge canvas (an image
// "bomb") is refused before the OCR engine allocates it.

export interface ImageSize {
  width: number;
  height: number;
}

/** Most pixels an image may have for OCR: a 600 dpi A3 scan is about 70 MP. */
export const MAX_OCR_PIXELS = 80_000_000;

function pngSize(view: DataView): ImageSize | undefined {
  // IHDR is always the first chunk: width and height at bytes 16 and 20.
  if (view.byteLength < 24) return undefined;
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function gifSize(view: DataView): ImageSize | undefined {
  if (view.byteLength < 10) return undefined;
  return { width: view.getUint16(6, true), height: view.getUint16(8, true) };
}

function jpegSize(view: DataView): ImageSize | undefined {
  let offset = 2;
  while (offset + 9 < view.byteLength) {
    if (view.getUint8(offset) !== 0xff) return undefined;
    const marker = view.getUint8(offset + 1);
    // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: view.getUint16(offset + 5), width: view.getUint16(offset + 7) };
    }
    offset += 2 + view.getUint16(offset + 2);
  }
  return undefined;
}

/** Width and height from a PNG, GIF or JPEG header; undefined for other formats or unreadable headers. */
export function readImageSize(type: string, bytes: Uint8Array): ImageSize | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === "png") return pngSize(view);
  if (type === "gif") return gifSize(view);
  if (type === "jpeg") return jpegSize(view);
  return undefined;
}
