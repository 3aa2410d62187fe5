/**
 * Reads the one file of an NHN upload (`multipart/form-data`, field `file`) from the request
 * stream, with the 512 KiB cap enforced while streaming: nothing past the cap is ever buffered.
 *
 * - Content-Length known and larger than the cap plus a framing allowance (16 KiB): refused with
 *   52008 before a single body byte is read, and the connection is closed.
 * - Content-Length known and within it: the body (at most 540,672 bytes) is read to its end; file
 *   bytes past the cap are counted, not kept, so 52008 reports the file's exact size.
 * - No Content-Length (chunked): reading stops as soon as the file passes the cap (52008 reports
 *   the bytes received by then, at least cap + 1) or the body passes cap + allowance, and the
 *   connection is closed.
 * - A part counts as a file when it has a filename, or is named `file` (`curl -F file=<x.pem`);
 *   other fields are read and ignored. Zero files: 52007; two or more: 52002; an empty file: 52001.
 * - A body that is not complete multipart (truncated, no closing boundary, bad boundary): 40001.
 */
import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import type { FastifyRequest } from 'fastify';
import { documentedError, FACE_CODES, NhnWireError, tooLargeError } from './errors.ts';

export interface UploadLimits {
  /** Largest file accepted (NHN: 524,288 bytes). */
  fileBytes: number;
  /** Multipart framing allowed on top of the file: boundaries, part headers, small fields. */
  framingBytes: number;
}

export interface UploadedFile {
  fieldName: string;
  /** As the client sent it (busboy keeps the last path segment only), or null when none. */
  fileName: string | null;
  bytes: Buffer;
}

const MULTIPART = /^multipart\/form-data\s*;/i;

export function isMultipart(contentType: string | undefined): boolean {
  return contentType !== undefined && MULTIPART.test(contentType);
}

function malformed(message: string, options: { closeConnection?: boolean } = {}): NhnWireError {
  return new NhnWireError(
    'invalid_argument',
    { status: 400, resultCode: FACE_CODES.malformedRequest, resultMessage: message },
    { field: 'file', ...options },
  );
}

export const notMultipartError = (): NhnWireError =>
  new NhnWireError(
    'invalid_argument',
    {
      status: 415,
      resultCode: FACE_CODES.unsupportedMediaType,
      resultMessage: 'Upload the certificate file as multipart/form-data in the field "file" (curl -F file=@cert.pem).',
    },
    { closeConnection: true },
  );

function declaredLength(request: FastifyRequest): number | null {
  const value = request.headers['content-length'];
  if (value === undefined || !/^[0-9]{1,15}$/.test(value)) return null;
  return Number(value);
}

interface FilePart {
  fieldName: string;
  fileName: string | null;
  size: number;
}

export function readSingleFile(request: FastifyRequest, limits: UploadLimits): Promise<UploadedFile> {
  // Refused before reading: the reply closes the connection rather than drain an unknown body.
  if (!isMultipart(request.headers['content-type'])) return Promise.reject(notMultipartError());
  const bodyCap = limits.fileBytes + limits.framingBytes;
  const declared = declaredLength(request);
  if (declared !== null && declared > bodyCap) {
    return Promise.reject(tooLargeError(limits.fileBytes, declared, { closeConnection: true }));
  }

  return new Promise<UploadedFile>((resolve, reject) => {
    const raw = request.raw;
    let settled = false;
    let received = 0;
    const files: FilePart[] = [];
    const kept: Buffer[] = [];

    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        headers: request.headers as Parameters<typeof Busboy>[0]['headers'],
        limits: { fields: 16, fieldSize: 1024, parts: 32, headerPairs: 16, headerSize: 8192 },
        isPartAFile: (fieldName, contentType, fileName) =>
          fileName !== undefined || fieldName === 'file' || contentType === 'application/octet-stream',
      });
    } catch {
      if (declared !== null) raw.resume();
      reject(
        malformed('The multipart/form-data content type has no usable boundary.', {
          closeConnection: declared === null,
        }),
      );
      return;
    }

    // Bounded bodies (known length within the cap) are drained after a refusal, so the connection
    // stays usable; unbounded ones are left unread and the reply closes the connection.
    const bounded = declared !== null;
    const detach = (): void => {
      raw.removeListener('data', onData);
      raw.removeListener('end', onEnd);
      raw.removeListener('close', onClose);
      parser.removeAllListeners();
      parser.on('error', () => undefined);
      parser.destroy();
    };
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      detach();
      return true;
    };
    const fail = (error: NhnWireError): void => {
      if (!settle()) return;
      if (error.closeConnection) {
        raw.pause();
      } else {
        raw.resume();
      }
      reject(error);
    };
    const close = { closeConnection: !bounded };

    parser.on('file', (fieldName: string, stream: BusboyFileStream, fileName: string | undefined) => {
      const part: FilePart = {
        fieldName,
        fileName: fileName === undefined || fileName === '' ? null : fileName,
        size: 0,
      };
      const first = files.length === 0;
      files.push(part);
      stream.on('error', () => undefined);
      stream.on('data', (chunk: Buffer) => {
        part.size += chunk.length;
        if (part.size > limits.fileBytes) {
          // Unknown length: stop now. Known length: the body is bounded; keep counting, keep nothing.
          if (declared === null) fail(tooLargeError(limits.fileBytes, part.size, { closeConnection: true }));
          return;
        }
        if (first) kept.push(chunk);
      });
    });
    parser.on('partsLimit', () =>
      fail(malformed('The upload has too many parts; send one file in the field "file".', close)),
    );
    parser.on('error', () => fail(malformed('The multipart/form-data body is malformed or truncated.', close)));
    parser.on('finish', () => {
      if (!settle()) return;
      // Whatever follows the closing boundary (an epilogue) is read and dropped.
      raw.resume();
      const [file] = files;
      if (!file) return reject(documentedError('invalid_argument', 400, 52007));
      if (files.length > 1) return reject(documentedError('invalid_argument', 400, 52002));
      if (file.size > limits.fileBytes) return reject(tooLargeError(limits.fileBytes, file.size));
      if (file.size === 0) return reject(documentedError('invalid_argument', 400, 52001));
      resolve({ fieldName: file.fieldName, fileName: file.fileName, bytes: Buffer.concat(kept, file.size) });
    });

    function onData(chunk: Buffer): void {
      received += chunk.length;
      if (received > bodyCap) {
        fail(tooLargeError(limits.fileBytes, received, { closeConnection: true }));
        return;
      }
      if (!parser.write(chunk)) {
        raw.pause();
        parser.once('drain', () => {
          if (!settled) raw.resume();
        });
      }
    }
    function onEnd(): void {
      parser.end();
    }
    function onClose(): void {
      if (!raw.complete)
        fail(malformed('The upload ended before the request body was complete.', { closeConnection: true }));
    }
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('close', onClose);
  });
}
