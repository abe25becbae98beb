import { JwtGateError, type JwtGateErrorCode, type JwtGateErrorOptions } from '../errors.js';

/**
 * Errors of jwt-gate's outgoing clients (lib/client). Unlike `HttpError`, which the server renders
 * as a response, these describe a response the client *received*. Messages name the server, the
 * status, the server's own explanation and the fix; they never contain the token.
 */

/** What the server said about a failed call, as far as it said anything. */
export interface ReceivedFailure {
  /** HTTP status, or `undefined` when no response arrived (timeout, connection refused). */
  status: number | undefined;
  /** The server's explanation: the body's `message`, else the `WWW-Authenticate` `error_description`. */
  serverMessage: string | undefined;
}

/** Shared shape of the client errors: the code, the status and the server's own words. */
abstract class ClientFailure extends JwtGateError implements ReceivedFailure {
  readonly status: number | undefined;
  readonly serverMessage: string | undefined;

  constructor(
    code: JwtGateErrorCode,
    status: number | undefined,
    serverMessage: string | undefined,
    message: string,
    options?: JwtGateErrorOptions,
  ) {
    super(code, message, options);
    this.status = status;
    this.serverMessage = serverMessage;
  }
}

/** The ingestion client's token was refused (401), even after re-reading its token file. */
export class IngestionAuthError extends ClientFailure {
  declare readonly status: number;

  constructor(
    status: number,
    serverMessage: string | undefined,
    message: string,
    options?: JwtGateErrorOptions,
  ) {
    super('ERR_CLIENT_UNAUTHORIZED', status, serverMessage, message, options);
  }
}

/** An ingestion call failed for another reason: a non-2xx answer, a timeout, no connection. */
export class IngestionRequestError extends ClientFailure {
  constructor(
    status: number | undefined,
    serverMessage: string | undefined,
    message: string,
    options?: JwtGateErrorOptions,
  ) {
    super('ERR_CLIENT_REQUEST_FAILED', status, serverMessage, message, options);
  }
}

/** A call to the pipeline service (the reference's Airflow REST APIs) failed. */
export class PipelineServiceError extends ClientFailure {
  constructor(
    status: number | undefined,
    serverMessage: string | undefined,
    message: string,
    options?: JwtGateErrorOptions,
  ) {
    super('ERR_PIPELINE_SERVICE_FAILED', status, serverMessage, message, options);
  }
}
