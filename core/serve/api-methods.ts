/**
 * The request/reply envelope shared by both transports of the `Api`: Electron
 * IPC and the HTTP server of `seedscope serve`. It has no dependencies, so the
 * sandboxed preload script can bundle it.
 */
import type { Api } from '../api';
import type { SpecIssue } from '../spec';

/** Every `Api` method that is a request/reply call; `subscribe` travels as an event stream instead. */
export const API_METHODS = [
  'listExperiments',
  'getExperiment',
  'validateSpec',
  'createExperiment',
  'updateExperiment',
  'deleteExperiment',
  'cancelExperiment',
  'cancelRun',
  'retryRun',
  'getRunMetrics',
  'listPairMetrics',
  'getPairMetrics',
  'getArtifacts',
  'getRunLog',
] as const satisfies ReadonlyArray<Exclude<keyof Api, 'subscribe'>>;

export type ApiMethod = (typeof API_METHODS)[number];

export function isApiMethod(name: string): name is ApiMethod {
  return (API_METHODS as readonly string[]).includes(name);
}

/** An error as data: the `ApiError` fields that survive a transport. */
export interface WireError {
  code: 'invalid' | 'not_found' | 'conflict' | 'internal';
  message: string;
  issues?: SpecIssue[];
}

/** The reply to one call; a transport never throws across its boundary. */
export type ApiReply<T = unknown> = { ok: true; value: T } | { ok: false; error: WireError };

export type ApiArguments<M extends ApiMethod> = Parameters<Api[M]>;
export type ApiResult<M extends ApiMethod> = Awaited<ReturnType<Api[M]>>;
