/**
 * `@imspect/sdk/testing`: the machinery to test a plugin the way imspect's own are tested. Cut the input at every
 * byte offset (around frame boundaries for long inputs) and in random chunk sizes, and check the frames and events
 * stay the same and every byte comes out exactly once; build test events; set up filter, content and logger
 * plugins with a stub context and a recording logger and run their hooks. Nothing here depends on a test
 * runner: checks throw plain Errors with messages naming the cut (or the plugin and hook).
 */
export { seededRandom } from './random.js';
export { assertSameBytes, concatBytes, firstByteDifference, latin1Bytes, latin1String } from './bytes.js';
export { cutAt, cutRandom, lineBoundaries, offsetsAround } from './cuts.js';
export {
  coalesceSteps,
  describeFrame,
  describeFrames,
  runTranscript,
  script,
  type FrameNormaliser,
  type FrameRecord,
  type RecordedFrame,
  type RunOptions,
  type TestedSession,
  type TranscriptRun,
  type TranscriptStep,
} from './transcript.js';
export {
  assertSameItems,
  checkPassesThrough,
  checkSplitInvariance,
  SplitInvarianceError,
  type PassThroughOptions,
  type SplitInvarianceOptions,
} from './invariance.js';
export { checkMidstreamResync, projectEvent, type MidstreamOptions, type ProjectedEvent } from './midstream.js';
export { testEvent } from './events.js';
export { recordingLogger, type LogLevel, type LogLine, type RecordingLogger } from './logger.js';
export {
  frozenEvent,
  runContent,
  runFilter,
  runLogger,
  setupPlugin,
  stubContext,
  TEST_HOST_VERSION,
  type PluginUnderTest,
  type RunLoggerOptions,
  type StubContextOptions,
} from './plugin.js';
