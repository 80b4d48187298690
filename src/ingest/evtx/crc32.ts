/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum EVTX headers and chunks carry. */
const TABLE = buildTable();

function buildTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 of bytes[start, end); pass a previous result as `previous` to continue over a second range. */
export function crc32(bytes: Uint8Array, start: number, end: number, previous = 0): number {
  let crc = ~previous >>> 0;
  for (let i = start; i < end; i += 1) crc = (TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)) >>> 0;
  return ~crc >>> 0;
}
