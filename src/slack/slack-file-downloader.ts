import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { UploadDownloader } from '../app/analyze-upload-job.js';
import type { UploadedFile } from '../app/upload-intake.js';
import { CodedError, ErrorCode } from '../errors.js';

/**
 * Downloads a file shared with the bot from its url_private_download, with the bot token in the
 * Authorization header. The token only ever goes to the one origin the configuration allows (Slack's
 * file host, or the host of a configured Web API URL such as a test server): a URL anywhere else is
 * refused before any request, redirects are refused, and the body is streamed to disk under a byte
 * cap that aborts the transfer as soon as it is passed.
 */
export const SLACK_FILE_ORIGIN = 'https://files.slack.com';

/** The one origin downloads may go to, from the configuration, never from an event payload. */
export function allowedDownloadOrigin(apiUrl: string | undefined): string {
  if (apiUrl === undefined) return SLACK_FILE_ORIGIN;
  const url = new URL(apiUrl);
  return url.hostname === 'slack.com' ? SLACK_FILE_ORIGIN : url.origin;
}

/** Checks a download URL against the allowed origin; returns the parsed URL. */
export function assertDownloadUrl(raw: string, allowedOrigin: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CodedError(ErrorCode.BadInput, 'the file has no usable download URL', { field: 'url_private_download' });
  }
  if (url.origin !== allowedOrigin || url.username !== '' || url.password !== '') {
    throw new CodedError(ErrorCode.Forbidden, `the download URL is not on the Slack file host (${allowedOrigin}); the bot token is not sent anywhere else`, {
      origin: url.origin,
    });
  }
  return url;
}

export class SlackFileDownloader implements UploadDownloader {
  constructor(private readonly options: { botToken: string; allowedOrigin: string }) {}

  async download(file: UploadedFile, path: string, options: { maxBytes: number; signal: AbortSignal }): Promise<{ bytes: number; sha256: string }> {
    const url = assertDownloadUrl(file.downloadUrl, this.options.allowedOrigin);
    if (file.size > options.maxBytes) throw tooLarge(file, options.maxBytes);
    let response: Response;
    try {
      response = await fetch(url, { headers: { authorization: `Bearer ${this.options.botToken}` }, redirect: 'manual', signal: options.signal });
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      throw new CodedError(ErrorCode.HostUnreachable, `cannot reach the Slack file host: ${(error as Error).message}`, { fileId: file.id }, { cause: error });
    }
    try {
      refuseUnusable(response, file);
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (Number.isFinite(declared) && declared > options.maxBytes) throw tooLarge(file, options.maxBytes);
      return await this.save(response, path, file, options.maxBytes);
    } finally {
      await response.body?.cancel().catch(() => undefined);
    }
  }

  private async save(response: Response, path: string, file: UploadedFile, maxBytes: number): Promise<{ bytes: number; sha256: string }> {
    const hash = createHash('sha256');
    const handle = await open(path, 'wx', 0o600);
    let bytes = 0;
    try {
      if (response.body) {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          bytes += chunk.byteLength;
          if (bytes > maxBytes) throw tooLarge(file, maxBytes);
          hash.update(chunk);
          await handle.write(chunk);
        }
      }
    } finally {
      await handle.close();
    }
    return { bytes, sha256: hash.digest('hex') };
  }
}

function refuseUnusable(response: Response, file: UploadedFile): void {
  const { status } = response;
  if (status === 401 || status === 403) {
    throw new CodedError(ErrorCode.Forbidden, `Slack refused the download (HTTP ${status}): the bot needs files:read and access to the file`, { fileId: file.id, status });
  }
  if (status === 404 || status === 410) throw new CodedError(ErrorCode.NotFound, 'the file is gone from Slack (deleted or expired)', { fileId: file.id, status });
  if (status >= 300 && status < 400) throw new CodedError(ErrorCode.Forbidden, `Slack redirected the download (HTTP ${status}); redirects are not followed with the bot token`, { fileId: file.id, status });
  if (status === 429 || status >= 500) throw new CodedError(ErrorCode.HostUnreachable, `the Slack file host answered HTTP ${status}; trying again later`, { fileId: file.id, status });
  if (status !== 200) throw new CodedError(ErrorCode.BadOutput, `unexpected HTTP ${status} from the Slack file host`, { fileId: file.id, status });
  // Slack answers a download it will not authorize with its sign-in page, not with an error status.
  if ((response.headers.get('content-type') ?? '').toLowerCase().startsWith('text/html')) {
    throw new CodedError(ErrorCode.Forbidden, 'Slack answered with a web page instead of the file: the bot token was not accepted for it', { fileId: file.id });
  }
}

function tooLarge(file: UploadedFile, maxBytes: number): CodedError {
  return new CodedError(ErrorCode.OutputTooLarge, `the file is over the upload limit of ${formatBytes(maxBytes)}`, { fileId: file.id, maxBytes });
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1)} KB`;
  return `${bytes} bytes`;
}
