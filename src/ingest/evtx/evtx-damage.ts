import { CodedError, ErrorCode } from '../../errors.js';

/**
 * Damage found while decoding one structure of an EVTX file. It never leaves the reader: the reader
 * catches it at the record or chunk it belongs to and reports it as a problem with its position.
 * `chunkOffset` is relative to the start of the 64 KiB chunk being decoded.
 */
export class EvtxDamageError extends CodedError {
  constructor(message: string, readonly chunkOffset: number) {
    super(ErrorCode.BadInput, message, { chunkOffset });
    this.name = 'EvtxDamageError';
  }
}
