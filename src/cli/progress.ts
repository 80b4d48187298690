import type { CliIo } from './io.js';

/**
 * Progress over large inputs, on stderr and only when stderr is a terminal: never mixed into a
 * report on stdout, never written into logs or pipes. Redraws one line at most every 200 ms.
 */
const MIN_BYTES_FOR_PROGRESS = 8 * 1024 * 1024;

export function progressReporter(io: CliIo): { onProgress?: (progress: { bytesDone: number; bytesTotal: number; source: string }) => void; done(): void } {
  if (!io.stderrIsTerminal) return { done: () => undefined };
  let lastDraw = 0;
  let drawn = false;
  return {
    onProgress: ({ bytesDone, bytesTotal, source }) => {
      if (bytesTotal < MIN_BYTES_FOR_PROGRESS) return;
      const now = Date.now();
      if (now - lastDraw < 200 && bytesDone < bytesTotal) return;
      lastDraw = now;
      drawn = true;
      const percent = bytesTotal > 0 ? Math.floor((bytesDone / bytesTotal) * 100) : 100;
      io.stderr(`\r\x1b[Kreading ${percent}% (${megabytes(bytesDone)} of ${megabytes(bytesTotal)} MB) ${source}`);
    },
    done: () => {
      if (drawn) io.stderr('\r\x1b[K');
    },
  };
}

function megabytes(bytes: number): string {
  return (bytes / 1_048_576).toFixed(0);
}
