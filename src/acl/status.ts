/** aclnn status codes (SEMANTICS §10). */
export const ACLNN_SUCCESS = 0;
export const ACLNN_ERR_PARAM_NULLPTR = 161001;
export const ACLNN_ERR_PARAM_INVALID = 161002;
export const ACLNN_ERR_RUNTIME_ERROR = 361001;
/** Our own internal faults (the 561000 range), e.g. a feature with no WebGPU kernel yet. */
export const ACLNN_ERR_INNER = 561000;
export const ACLNN_ERR_INNER_NOT_SUPPORTED = 561101;

export type AclnnStatus = number;

/** The error the named-options wrapper throws, and internal helpers throw to the API boundary. */
export class AclnnError extends Error {
  readonly status: AclnnStatus;
  constructor(status: AclnnStatus, message: string) {
    super(message);
    this.name = 'AclnnError';
    this.status = status;
  }
}

let recentErrMsg = '';

/** Records the message for a failed call; the API boundary calls this with every non-zero status. */
export function setRecentErrMsg(message: string): void {
  recentErrMsg = message;
}

/** The message of the most recent failed call (CANN's aclGetRecentErrMsg); empty when none. */
export function aclGetRecentErrMsg(): string {
  return recentErrMsg;
}

/** Converts a thrown value into (status, message), recording the message. */
export function statusOf(e: unknown): AclnnStatus {
  if (e instanceof AclnnError) {
    setRecentErrMsg(e.message);
    return e.status;
  }
  const message = e instanceof Error ? e.message : String(e);
  setRecentErrMsg(`internal error: ${message}`);
  return ACLNN_ERR_INNER;
}

export function invalid(message: string): AclnnError {
  return new AclnnError(ACLNN_ERR_PARAM_INVALID, message);
}

export function nullptr(message: string): AclnnError {
  return new AclnnError(ACLNN_ERR_PARAM_NULLPTR, message);
}
