/**
 * `@imspect/core/testing`: the SDK's test kit (`@imspect/sdk/testing`) plus what needs the runtime: replaying
 * the TCP connections of real captures into a session.
 */
export * from '@imspect/sdk/testing';
export { captureTranscripts, type CaptureTranscript, type CaptureTranscriptOptions } from './captures.js';
