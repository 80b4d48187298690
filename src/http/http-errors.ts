import type { ErrorRequestHandler, RequestHandler } from 'express';
import { CodedError, ErrorCode, asCodedError } from '../errors.js';

/**
 * Errors leave the API as `{ "error": { "code", "message" } }` with a status from the code. No
 * stack trace, cause or internal message ever reaches a client: an unexpected error is logged
 * and answered with a generic message.
 */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BadInput]: 400,
  [ErrorCode.SchemaViolation]: 400,
  [ErrorCode.InvalidHostName]: 400,
  [ErrorCode.UnsupportedFormat]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.ApprovalRequired]: 409,
  [ErrorCode.ContentChanged]: 409,
};

export function statusOf(error: CodedError): number {
  return STATUS_BY_CODE[error.code] ?? 500;
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

export function errorHandler(log: (error: unknown, message: string) => void): ErrorRequestHandler {
  return (thrown: unknown, _request, response, _next) => {
    const parserError = thrown as BodyParserError;
    if (parserError?.type === 'entity.too.large') {
      response.status(413).json({ error: { code: ErrorCode.BadInput, message: 'request body is too large' } });
      return;
    }
    if (parserError?.type === 'entity.parse.failed') {
      response.status(400).json({ error: { code: ErrorCode.BadInput, message: 'request body is not valid JSON' } });
      return;
    }
    if (parserError?.type !== undefined && typeof parserError.status === 'number' && parserError.status < 500) {
      response.status(parserError.status).json({ error: { code: ErrorCode.BadInput, message: 'request body could not be read' } });
      return;
    }
    const error = asCodedError(thrown);
    const status = statusOf(error);
    if (status >= 500) {
      log(thrown, 'request failed');
      response.status(status).json({ error: { code: error.code === ErrorCode.Config ? ErrorCode.Internal : error.code, message: 'internal error' } });
      return;
    }
    response.status(status).json({ error: { code: error.code, message: error.message } });
  };
}

export const notFoundHandler: RequestHandler = (request, response) => {
  response.status(404).json({ error: { code: ErrorCode.NotFound, message: `no route for ${request.method} ${request.path}` } });
};
