/**
 * Raised when curvature estimates are unusable: non-finite Kronecker factors,
 * a Fisher–vector product with non-positive curvature along the step, or a
 * non-finite preconditioned gradient. The training loop reports the run as
 * `diverged` with this message.
 */
export class CurvatureError extends Error {
  override readonly name = 'CurvatureError';

  constructor(
    message: string,
    /** Parameter or layer whose curvature failed, when one is to blame. */
    readonly parameter?: string,
  ) {
    super(message);
  }
}
