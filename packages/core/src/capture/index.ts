/**
 * `@imspect/core/capture`: reads pcap and pcapng files and reassembles their TCP connections, for
 * `imspect replay` and for protocol plugin tests that replay real traffic.
 */
export { CaptureError, type CaptureErrorCode } from './capture-error.js';
export { MAX_BLOCK_BYTES, MAX_PACKET_BYTES, type CapturedPacket, type PacketParser } from './packet.js';
export { LinkType, describeLinkType, isSupportedLinkType, type LinkTypeValue } from './link-types.js';
export { PcapParser, PCAP_MAGIC } from './pcap.js';
export { PcapngParser, PcapngBlock } from './pcapng.js';
export {
  CaptureParser,
  forEachPacket,
  readPackets,
  type CaptureFormat,
  type CaptureReadOptions,
} from './capture-file.js';
export {
  decodeFrame,
  formatIpv4,
  formatIpv6,
  type DecodedFrame,
  type PacketAnomaly,
  type TcpFlags,
  type TcpSegment,
  type UdpDatagram,
} from './ip.js';
export {
  TcpReassembler,
  type CloseReason,
  type ConnectionAnomaly,
  type GapAnomaly,
  type ReassemblyHandlers,
  type ReassemblyOptions,
  type TcpConnection,
} from './tcp-reassembly.js';
export {
  readConnections,
  replayCapture,
  streamBytes,
  type CapturedChunk,
  type CapturedConnection,
  type ReplayOptions,
  type ReplayStats,
} from './connections.js';
