import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeWithService } from '../../../../test/support/e2e.js';
import { readConnections, readPackets, streamBytes, type CapturedConnection } from '../../src/capture/index.js';

/** /work/shared/captures, i.e. `../shared/captures` next to the repository root. */
const CAPTURES = fileURLToPath(new URL('../../../../../shared/captures/', import.meta.url));

interface Side {
  bytes: number;
  /** First 16 bytes, hex. */
  first: string;
  sha256: string;
  /** Sizes of the holes, in order; not checked where tshark cannot tell them (see below). */
  gaps?: number[];
}

interface Expected {
  file: string;
  packets: number;
  /** Capture time of the first packet, ns since the epoch (tshark frame.time_epoch). */
  firstNs: bigint;
  connections: Array<{
    id: number;
    client: string;
    server: string;
    midstream: boolean;
    closed: string;
    out: Side;
    in: Side;
  }>;
}

/*
 * Every number below was established with tshark 4.0, not with this code:
 *   capinfos / `tshark -T fields -e frame.time_epoch` for packet counts and first timestamps;
 *   `tshark -q -z conv,tcp` for the connections; `tshark -q -z follow,tcp,raw,N` for each stream's bytes
 *   per direction (byte count, first 16 bytes, SHA-256 of the stream with tshark's
 *   "[N bytes missing in capture file]" markers removed, and the sizes in those markers as gaps);
 *   the SYN sender (`tcp.flags.syn==1 && tcp.flags.ack==0`) as client, or for streams without a SYN the
 *   lower port as server; the FIN/RST sequence of each stream for the close reason (both FINs before any
 *   RST: fin; a RST first: rst; neither: end-of-capture).
 * One deliberate difference: in zeek-contentline-irc-5k-line.pcap stream 0, tshark reports "1 bytes
 * missing" because the first packet is a keep-alive ACK whose sequence number is one below the next data
 * byte. That byte was never data, so the reassembler reports no gap there.
 * ndpi-quickplay-wechat.pcap is a filtered trace with large holes; tshark 4.0's `follow` leaves out the data after
 * a hole that nothing fills before the capture ends (stream 0: frame 14), so its streams were checked instead
 * against the `tcp.payload` of every segment (`tshark -Y 'tcp.stream==N && tcp.len>0' -T fields -e ip.src
 * -e tcp.srcport -e tcp.seq_raw -e tcp.payload`) put in sequence order: byte counts and SHA-256 match; the sizes
 * of the holes are not checked for this file, because there the receiver's ACKs (which close a hole here) and the
 * sequence numbers (all tshark has) tell them differently.
 * lmg-aim-evidence01.pcap stream 0 (SSH, joined mid-connection): the capture shows each ACK of the server's data
 * before the data itself (frames 1-4), so the reassembler, which gives up a hole once the receiver has
 * acknowledged it, reports the server's 112 bytes as a gap and the 48 bytes before them as already delivered,
 * where tshark shows 160 bytes. That is the reassembler's documented rule meeting a reordered capture; the
 * mid-stream work (resynchronisation) is where it changes.
 */
const EXPECTED: Expected[] = [
  {
    file: 'escargot-msnp8.pcap',
    packets: 133,
    firstNs: 1795253857050862000n,
    connections: [
      {
        id: 0,
        client: '127.0.0.1:33094',
        server: '127.0.0.1:1863',
        midstream: false,
        closed: 'fin',
        out: { bytes: 187, first: '5645522031204d534e50382043565230', sha256: '7cb159cd5516575ab8561ae765a09e9d4a1c48aa041364e543a65b76863369bb', gaps: [] },
        in: { bytes: 1033, first: '5645522031204d534e50380d0a435652', sha256: '143060b579954c2deb155432b4c346900e7c172a3e9068b6f35452a90c7be88f', gaps: [] },
      },
      {
        id: 1,
        client: '127.0.0.1:38774',
        server: '127.0.0.1:8081',
        midstream: false,
        closed: 'rst',
        out: { bytes: 235, first: '474554202f6c6f67696e20485454502f', sha256: '6d77787f520f2a63d295b39e394703f94112e8e289235294f0a84f9aa1cb7600', gaps: [] },
        in: { bytes: 241, first: '485454502f312e3120323030204f4b0d', sha256: '793e31e39c207f0efdb514d453882a8b82ba0961112aa465a8da93c54eded98f', gaps: [] },
      },
      {
        id: 2,
        client: '127.0.0.1:47016',
        server: '127.0.0.1:1863',
        midstream: false,
        closed: 'fin',
        out: { bytes: 177, first: '5645522031204d534e50382043565230', sha256: 'a3e593dd9041c9a6be8a96919990f6a02ed2aa8ba2b867edc80f99c4c9fdba7e', gaps: [] },
        in: { bytes: 1086, first: '5645522031204d534e50380d0a435652', sha256: '0e135bb9f5208bda5eb9640744dba5af15e26b5298d5f0ad7468bc36d2e32604', gaps: [] },
      },
      {
        id: 3,
        client: '127.0.0.1:35268',
        server: '127.0.0.1:8081',
        midstream: false,
        closed: 'rst',
        out: { bytes: 235, first: '474554202f6c6f67696e20485454502f', sha256: 'a4574d147698551616914cdf26badcf787f61ef3ddccdbe06d924df1bdb5b3f5', gaps: [] },
        in: { bytes: 241, first: '485454502f312e3120323030204f4b0d', sha256: '56268db4db99d30baa580d15030e0ffadd8f521b7e7f0498f07c7e6ccc087e59', gaps: [] },
      },
      {
        id: 4,
        client: '127.0.0.1:50372',
        server: '127.0.0.1:1864',
        midstream: false,
        closed: 'rst',
        out: { bytes: 902, first: '555352203120743465406578616d706c', sha256: 'd8c1557a82a68304461c6a690931bfe3f2b6e52a24d56daa30120bd8141e98e8', gaps: [] },
        in: { bytes: 222, first: '5553522031204f4b2074346540657861', sha256: '7fa67411439fd7222b687c9cab80f818ad804c3351ef04a16b44c0be4ec472fb', gaps: [] },
      },
      {
        id: 5,
        client: '127.0.0.1:35822',
        server: '127.0.0.1:1864',
        midstream: false,
        closed: 'rst',
        out: { bytes: 178, first: '414e53203120743565406578616d706c', sha256: 'cad836339c74efd7bb43ee851468a8ca902e467bc7981701bc5d468c5643f94c', gaps: [] },
        in: { bytes: 972, first: '4a4f4920743565406578616d706c652e', sha256: '573b7c0c6e0cfdcdea322730565b21893d1ad2153be5551b4f325b55fa3cfc02', gaps: [] },
      },
    ],
  },
  {
    file: 'escargot-ymsg10.pcap',
    packets: 54,
    firstNs: 1795253958841969000n,
    connections: [
      {
        id: 0,
        client: '127.0.0.1:60794',
        server: '127.0.0.1:5050',
        midstream: false,
        closed: 'fin',
        out: { bytes: 349, first: '594d53470a0000000000004c00000000', sha256: '1a2b8f92188b50a65c179f28788aafd549b8dca0a5e44fbca11b2de3603ab93f', gaps: [] },
        in: { bytes: 2088, first: '594d5347000000000000004c00000001', sha256: 'cb543c801e58c3a72d3b89fcf8c10964559bc6cc02c4914dc10f7842627f3232', gaps: [] },
      },
      {
        id: 1,
        client: '127.0.0.1:60800',
        server: '127.0.0.1:5050',
        midstream: false,
        closed: 'fin',
        out: { bytes: 257, first: '594d53470a0000000000004c00000000', sha256: 'bb79b4fa4a8ed1081bb06a2d4054faa3ce52acca2346570a1751a76152aa360a', gaps: [] },
        in: { bytes: 2109, first: '594d5347000000000000004c00000001', sha256: '576434999b9337821ddb8d829bdd24e357a822a61a98f5933098f3d891571bb8', gaps: [] },
      },
    ],
  },
  {
    file: 'ndpi-jabber.pcap',
    packets: 376,
    firstNs: 1502379693992994000n,
    connections: [
      {
        id: 0,
        client: '172.16.0.62:57094',
        server: '172.16.1.138:5222',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 2785, first: '3c3f786d6c2076657273696f6e3d2731', sha256: '3485ff99cf29a9dedae29e8874d71e0b01c651a444f139bde7f8df9fe736fc5f', gaps: [] },
        in: { bytes: 11027, first: '3c3f786d6c2076657273696f6e3d2731', sha256: '275455607b5db80f11beeffa6d7e0cf225fd661f979c3389888dcdcb08537706', gaps: [] },
      },
      {
        id: 1,
        client: '172.16.0.62:57122',
        server: '172.16.1.138:5222',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 2785, first: '3c3f786d6c2076657273696f6e3d2731', sha256: '7e55f02db15d57cb7aa4ecb9151428755d3d3ef9f560269ed7da5280d2d13bbb', gaps: [] },
        in: { bytes: 11026, first: '3c3f786d6c2076657273696f6e3d2731', sha256: '676e9c9bf14281cfcbf76a557e2aa1541e55cc8fdb378620087189f3c3c9da5e', gaps: [] },
      },
      {
        id: 2,
        client: '172.16.0.62:57126',
        server: '172.16.1.138:5222',
        midstream: true,
        closed: 'fin',
        out: { bytes: 16, first: '3c2f73747265616d3a73747265616d3e', sha256: 'ace68e79f20a4ae15b0eb604ccfc43ebe03955d8c36de4ff518c87223207cae2', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
      },
      {
        id: 3,
        client: '172.16.0.62:57129',
        server: '172.16.1.138:5222',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 1810, first: '3c697120747970653d27736574272069', sha256: '721e28e161b606ac9d013d1a762f4807c4dde921b0e786ecdf56ffe0f0307a25', gaps: [138, 138] },
        in: { bytes: 1679, first: '3c697120786d6c3a6c616e673d27656e', sha256: 'c8bb86d2c0da44447724ca947c442c63646acc90a55b0e2710f51acdfc54af0c', gaps: [212, 212] },
      },
      {
        id: 4,
        client: '172.16.0.62:57147',
        server: '172.16.1.138:5222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 654, first: '3c3f786d6c2076657273696f6e3d2731', sha256: 'e38159741a3e562cc338f35ed2ecb3bab88830f8f7ea342504d4df4824bd2186', gaps: [] },
        in: { bytes: 772, first: '3c3f786d6c2076657273696f6e3d2731', sha256: 'b746cd795c430495955611c93535201412d7c245d7387ab5b3152000947985af', gaps: [] },
      },
      {
        id: 5,
        client: '172.16.0.62:57149',
        server: '172.16.1.138:5222',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 1366, first: '3c70726573656e636520746f3d276368', sha256: '0ceacbe7e62b6de7e858ee6675ffcc3f8faeb4d18726a03b6b55120b2f67217d', gaps: [1150, 69] },
        in: { bytes: 2292, first: '3c70726573656e636520786d6c3a6c61', sha256: 'f86ef594f2087c4f045ca230ed7625a8ec849780c2c4ecef17cffd7545972628', gaps: [2009, 106] },
      },
      {
        id: 6,
        client: '192.168.58.1:53460',
        server: '192.168.58.153:5222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 157, first: '3c3f786d6c2076657273696f6e3d2731', sha256: 'f769dfc2ad3058beba1c4c6397af62e8395f138c5deb764c845d009c6b9098ac', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
      },
      {
        id: 7,
        client: '192.168.2.100:34218',
        server: '160.44.201.102:5223',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 302, first: '2500451404118ab5816e165f0a59146a', sha256: 'd47b264ca7681b1044d712d97a6296cdfe93f5f181c6476f041092ddced41aee', gaps: [] },
        in: { bytes: 117, first: '26001000b3b6d114a9c7e53e498aa645', sha256: '66b54d09ee454fd167993f492002504e1633409a4805c4362febc1037de21b1a', gaps: [] },
      },
      {
        id: 8,
        client: '192.168.2.100:37614',
        server: '160.44.201.102:5223',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 302, first: '2500451404be247f2c0bf9607fc9f718', sha256: '1d80063abe6f72027ce14b0ea94bd0a7370a307ebec42e71b29870ed64d339b9', gaps: [] },
        in: { bytes: 117, first: '26001000a36ce92d8cf92b2bec715d3f', sha256: 'c375f0f623b9942b86e8497350ea5e119df05aec0fe8e409fd96bfc75a1a5598', gaps: [] },
      },
      {
        id: 9,
        client: '192.168.2.100:58388',
        server: '160.44.201.102:5223',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 303, first: '2500451404b00884a766bc33b1633f20', sha256: '11db9afacbf77d2920e0561bfead00f30b61ca143be153a0f4d79fe574720d8f', gaps: [] },
        in: { bytes: 119, first: '260010002015cd29327b1ddbddf76626', sha256: 'ffb1e2b3284adc445d8a43a16ef4538700f9df45498bffd48dfa785e52ed36f2', gaps: [] },
      },
      {
        id: 10,
        client: '192.168.2.100:41420',
        server: '160.44.201.102:5223',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 270, first: '25004514048e48ce4065d82421c80673', sha256: '8d0ed6cb47ccbd9158e34e37c755fb33fc68bbb3cfb317fa4badb4f25ed23156', gaps: [] },
        in: { bytes: 53, first: '2600100018bc3adfd0d8f8f2ccafe6e7', sha256: '225d6d90d56cee146bdf74749e79f56b96076d4ef6e87f55bebc00c6a904e526', gaps: [] },
      },
      {
        id: 11,
        client: '192.168.2.100:34070',
        server: '160.44.201.102:5223',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 302, first: '2500451404d6b9675e9a1b223630bf2b', sha256: '02f01b0a28d547fde1db7c54b4310372700dd56a09bad9b0eb7b2869a31826ac', gaps: [] },
        in: { bytes: 117, first: '26001000a1b19590279aa2fe04d8fa84', sha256: 'cf6b292776a4381817971ab9d14db924dfea2f70962ea2380f2badeb6a377958', gaps: [] },
      },
    ],
  },
  {
    file: 'ngircd-irc.pcap',
    packets: 43,
    firstNs: 1795253546317054000n,
    connections: [
      {
        id: 0,
        client: '127.0.0.1:42954',
        server: '127.0.0.1:16667',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 131, first: '4e49434b20616c6963650d0a55534552', sha256: '094a7d129e6cc065e5716da95466447169af255960437c5b2ccefccd0d8e9354', gaps: [] },
        in: { bytes: 2524, first: '3a6972632e746573742e6c6f63616c20', sha256: '6e5df7a11994a4be540b91133b9ceea24f4733230d9f087be131e6cb27e736f3', gaps: [] },
      },
      {
        id: 1,
        client: '127.0.0.1:42960',
        server: '127.0.0.1:16667',
        midstream: false,
        closed: 'rst',
        out: { bytes: 208, first: '4e49434b20626f620d0a555345522062', sha256: 'a22a2b58d11fc3da9edd746cbcfbaf357522995ffd8d88728376a57f8a78fe05', gaps: [] },
        in: { bytes: 2307, first: '3a6972632e746573742e6c6f63616c20', sha256: '651e762c5afa62ba3eb11e33e5cac4b10476923c7bbffad17e24cbcb70f74fa0', gaps: [] },
      },
    ],
  },
  {
    file: 'prosody-xmpp.pcap',
    packets: 211,
    firstNs: 1795253572457536000n,
    connections: [
      {
        id: 0,
        client: '127.0.0.1:54110',
        server: '127.0.0.1:15222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 1188, first: '3c73747265616d3a73747265616d2074', sha256: 'cf7ee30198a81c7a2cc6ee61b7cced0c872dc60af5e5156f10c3ece9583dd200', gaps: [] },
        in: { bytes: 2466, first: '3c3f786d6c2076657273696f6e3d2731', sha256: 'b72bc4bc68addcc0aae7e77b30cb1b7c3ff87b8ad99a2569ff1ee5c28cf5442e', gaps: [] },
      },
      {
        id: 1,
        client: '127.0.0.1:54118',
        server: '127.0.0.1:15222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 1473, first: '3c73747265616d3a73747265616d2074', sha256: '5e1895e5faeb8135ad5776ddd52479f7c88855caa0485c71387965f55edff374', gaps: [] },
        in: { bytes: 2132, first: '3c3f786d6c2076657273696f6e3d2731', sha256: 'e523d43a29e844e216b8a591bda7b4bccff865539014b637aed0526b9f30e9e4', gaps: [] },
      },
      {
        id: 2,
        client: '127.0.0.1:34728',
        server: '127.0.0.1:15222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 448, first: '3c73747265616d3a73747265616d2074', sha256: 'c737e6402841173e8ddbcb65942b8f224d7a841aa2484ba807bb529d0a6189fa', gaps: [] },
        in: { bytes: 50, first: '3c70726f6365656420786d6c6e733d27', sha256: '5f83473db87744c3f7db44c27ffef14707029c7cef600e3d7a1f5139999a6313', gaps: [] },
      },
      {
        id: 3,
        client: '127.0.0.1:34740',
        server: '127.0.0.1:15222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 448, first: '3c73747265616d3a73747265616d2074', sha256: '8c11792aecbd3a9c75a118f23e51d9e3a4a3e13d83635fbb51f65ee7929ddb58', gaps: [] },
        in: { bytes: 50, first: '3c70726f6365656420786d6c6e733d27', sha256: '5f83473db87744c3f7db44c27ffef14707029c7cef600e3d7a1f5139999a6313', gaps: [] },
      },
      {
        id: 4,
        client: '127.0.0.1:34744',
        server: '127.0.0.1:15222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: '0adb6b6fbfff99c1ccc17a57581b53bcc93283d97ff9c3d4c1c510e232e627a0', gaps: [] },
        in: { bytes: 1444, first: '3c70726f6365656420786d6c6e733d27', sha256: 'bde734e390d3621219cac0e89d0ec5c010d7c016e5082580a2fc776e839d4639', gaps: [] },
      },
      {
        id: 5,
        client: '127.0.0.1:34748',
        server: '127.0.0.1:15222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: 'c2c36ba04e6e4fe76c1d82a4461ba70ba6969f90a50874f537987c3110d8feb5', gaps: [] },
        in: { bytes: 1444, first: '3c70726f6365656420786d6c6e733d27', sha256: '2619c85a717d4b3b05c56c68ae4cfaf76c17de9a8f23707ac6ccfe0a6e4e7605', gaps: [] },
      },
      {
        id: 6,
        client: '127.0.0.1:34756',
        server: '127.0.0.1:15222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: '36dab6d7f89fc252d7237d52bc2e7629f265604cb1aaa217bcce77450febbad8', gaps: [] },
        in: { bytes: 2025, first: '3c70726f6365656420786d6c6e733d27', sha256: '1e8b152e15979f415849ecb576c6468d106f5c6d6dfb7f838464b489ccff3a89', gaps: [] },
      },
      {
        id: 7,
        client: '127.0.0.1:34766',
        server: '127.0.0.1:15222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: 'b0e0f3b4b1cf3e19976ae5011680f29d277a5034f07db4ffe4810d0d051ac6f4', gaps: [] },
        in: { bytes: 2025, first: '3c70726f6365656420786d6c6e733d27', sha256: 'aeab2e2f24f022b0425918efb47f9aa6f10e2e49df146938dbeed4fbc48db0b7', gaps: [] },
      },
      {
        id: 8,
        client: '127.0.0.1:34780',
        server: '127.0.0.1:15222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: 'd97d15439e91052285785137b267cc305ede2bd06da28fa45b166c8b09d8d520', gaps: [] },
        in: { bytes: 1442, first: '3c70726f6365656420786d6c6e733d27', sha256: 'a7b4ef5704313dc8f8b7fe4063a667badd2c7a82a9d208aa7cf8a376c252dddc', gaps: [] },
      },
      {
        id: 9,
        client: '127.0.0.1:34784',
        server: '127.0.0.1:15222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: '1942c2694ca62aa3da43ec06dba19f219692a70d530c37fc6256815bb2b25a8d', gaps: [] },
        in: { bytes: 1443, first: '3c70726f6365656420786d6c6e733d27', sha256: 'bafd14df8c01f3282acda7b7f5b22c4e9de4a9eb895186674b4edcd4ddd588fc', gaps: [] },
      },
    ],
  },
  {
    file: 'zeek-contentline-irc-5k-line.pcap',
    packets: 118,
    firstNs: 1509735974998620000n,
    connections: [
      {
        id: 0,
        client: '127.0.0.1:61556',
        server: '127.0.0.1:12345',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 1109, first: '1703030450767f8eb5acb69de4845ae1', sha256: '83a13bd961043a4a6a754a4fca0fbc448e572ef3afe54b3b197f257d9ff02d9f', gaps: [] },
        in: { bytes: 2762, first: '1703030330aa1c780b3334fd9bca518c', sha256: '4afbfccb580221e086612df387999e1c0a4297f42d1b0655a6801ca0e0751522', gaps: [] },
      },
      {
        id: 1,
        client: '127.0.0.1:50163',
        server: '127.0.0.1:37757',
        midstream: true,
        closed: 'fin',
        out: { bytes: 14805, first: '0000000819000000000000000000375d', sha256: '35c274bd16342e0d1b1c0eb2df5fdde21717aaef9dff2db746b7c4d6d656da7f', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
      },
      {
        id: 2,
        client: '127.0.0.1:62855',
        server: '127.0.0.1:12345',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 1109, first: '170303045066543dc1d7ee8a5c0ac163', sha256: '0b449aa3c036b94f78c2dfce4d5dfb88b4e91bdd5d1bbdc93fd586524d188cd1', gaps: [] },
        in: { bytes: 2458, first: '1703030330f818ead803d2ad3db9829b', sha256: 'b6694d12dbcc490a7e6da4300adf50e88aeb95e3742e901cd15d1b7db77896b6', gaps: [] },
      },
      {
        id: 3,
        client: '127.0.0.1:50164',
        server: '127.0.0.1:6667',
        midstream: false,
        closed: 'fin',
        out: { bytes: 5232, first: '5553455220666f6f0a4e49434b20666f', sha256: 'f7ae94dd1a778d0d6192bb9372688a019dda7060c87810f7552b69d69683ee22', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
      },
      {
        id: 4,
        client: '127.0.0.1:65233',
        server: '127.0.0.1:12345',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
      },
      {
        id: 5,
        client: '127.0.0.1:50165',
        server: '127.0.0.1:37757',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 1350, first: '00000008010000000000000000000019', sha256: 'ebd76b1d6133ec02b97194465eb09dcef18178e99da42e8a4499b8d1bf06958c', gaps: [] },
        in: { bytes: 1598, first: '00000008010000000000000000000011', sha256: '4d4bd97cbc9ec533234430c2645f99cbf361ab5434f1f406eb1fa3cbcc5218f7', gaps: [] },
      },
    ],
  },
  {
    file: 'zeek-irc-353.pcap',
    packets: 12,
    firstNs: 1536797872428410000n,
    connections: [
      {
        id: 0,
        client: '::1:65388',
        server: '::1:6666',
        midstream: false,
        closed: 'rst',
        out: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
      },
      {
        id: 1,
        client: '127.0.0.1:65389',
        server: '127.0.0.1:6666',
        midstream: false,
        closed: 'fin',
        out: { bytes: 5, first: '333533200a', sha256: 'b930dd838a57ab4e9e5eec0b34870b1cf8cc6a9344f60024a8e21f954d5eca87', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
      },
    ],
  },
  {
    file: 'zeek-irc-basic.pcap',
    packets: 34,
    firstNs: 1454964786195024000n,
    connections: [
      {
        id: 0,
        client: '192.168.6.110:49170',
        server: '130.239.18.119:6667',
        midstream: false,
        closed: 'fin',
        out: { bytes: 94, first: '555345522062726f74657374202a202a', sha256: '514e18c5abd511c319a0e8aec0041f2b3cfd00429931faf202938d1d57104a12', gaps: [] },
        in: { bytes: 4793, first: '3a6c656775696e2e667265656e6f6465', sha256: '78af4f41379e8db72fc821f7f9b9d28443435486bab90162636414e56093447e', gaps: [] },
      },
    ],
  },
  {
    file: 'zeek-irc-dcc-send.pcapng',
    packets: 1184,
    firstNs: 1753735709964970000n,
    connections: [
      {
        id: 0,
        client: '10.0.0.7:59069',
        server: '10.0.0.22:6667',
        midstream: false,
        closed: 'fin',
        out: { bytes: 638, first: '434150204c53203330320d0a4a4f494e', sha256: 'ef130c345ef8c742b76d8f24c226a51b6b5a2bbefaa061f2a2936513187ea16b', gaps: [] },
        in: { bytes: 9679, first: '3a69726364312e6c6f63616c204e4f54', sha256: '2033cf7ae8ed210676f7122ed21c80f43eaf656e69295f680d0ce90e4e3d0f84', gaps: [] },
      },
      {
        id: 1,
        client: '10.0.0.22:43614',
        server: '10.0.0.7:59130',
        midstream: false,
        closed: 'fin',
        out: { bytes: 352, first: '0000080000001a000000260000003800', sha256: '5b6f6c31537be875cb941db2425582ff755e70e0be71bb9f6792a9c34d4e2930', gaps: [] },
        in: { bytes: 1320211, first: 'd4c3b2a1020004000000000000000000', sha256: '566c4819a8130d65d29076930bd46dde5c2595a4a8be4a380857feb5b430ec6e', gaps: [] },
      },
      {
        id: 2,
        client: '10.0.0.22:38016',
        server: '10.0.0.7:59214',
        midstream: false,
        closed: 'fin',
        out: { bytes: 22, first: '68656c6c6f2c2061726520796f752074', sha256: '56ac8e5bc3e6bd1adab8ff51e13d0bc1ee741fa60b5aae8d5115dd94403f6f58', gaps: [] },
        in: { bytes: 10, first: '796573206920616d210a', sha256: 'a2fafd3760cfa308728fbd51ef55540b6201bf9ce4ca0ef2326e8600939d59cb', gaps: [] },
      },
    ],
  },
  {
    file: 'zeek-irc-more-commands.pcap',
    packets: 145,
    firstNs: 1683582047265855000n,
    connections: [
      {
        id: 0,
        client: '172.16.238.1:40896',
        server: '172.16.238.10:6667',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 455, first: '434150204c530d0a5041535320746573', sha256: 'b8b2139435a9028373db940b82cecf7215232a14127c1f58855aaa7a1513b306', gaps: [] },
        in: { bytes: 7731, first: '3a69726364312e6c6f63616c204e4f54', sha256: 'ea48bb41a2e09e80c57a57ea51535513b74852cb9dedc9dfa68eb53a4e4b88fe', gaps: [] },
      },
      {
        id: 1,
        client: '172.16.238.1:52624',
        server: '172.16.238.10:6667',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 328, first: '434150204c530d0a5041535320746573', sha256: '009d2519968054a569f81a360186d6eaaf92175026a44dafbd0a212c3f0807d8', gaps: [] },
        in: { bytes: 7443, first: '3a69726364312e6c6f63616c204e4f54', sha256: '304e27f4b1ab71b0924ee713ed5b10f5392138b17a39738f4b2711325d538c56', gaps: [] },
      },
    ],
  },
  {
    file: 'zeek-irc-starttls.pcap',
    packets: 20,
    firstNs: 1438145937325196000n,
    connections: [
      {
        id: 0,
        client: '203.143.168.47:55123',
        server: '185.18.76.170:6667',
        midstream: false,
        closed: 'rst',
        out: { bytes: 913, first: '5354415254544c530d0a160301013801', sha256: '85c7e59b348436c1467c9e6b73c7ea58950a0cb4ca588634dc7a4c0cc7138fb0', gaps: [] },
        in: { bytes: 1903, first: '3a6972632e6a6f756c756e65742e6f72', sha256: '16eda77b4cfaf66eba680c77debbf68924e138accd954774d57a65c104f1584a', gaps: [] },
      },
    ],
  },
  {
    file: 'zeek-irc-whitespace.pcap',
    packets: 36,
    firstNs: 1455323497483484000n,
    connections: [
      {
        id: 0,
        client: '192.168.6.110:61203',
        server: '193.219.128.49:6667',
        midstream: false,
        closed: 'fin',
        out: { bytes: 130, first: '555345522062726f74657374202a202a', sha256: '9887cda1efc24b56c05511164e3e41d15a748ab4b0a5d15b3df83da7a85d7af8', gaps: [] },
        in: { bytes: 4817, first: '3a73656e64616b2e667265656e6f6465', sha256: 'c7853d61b3f3cfbaf8583737888fc30dfc473548bf7fe5ad0db88bd0afbe0e6e', gaps: [] },
      },
    ],
  },
  {
    file: 'zeek-xmpp-starttls.pcap',
    packets: 34,
    firstNs: 1437091701732171000n,
    connections: [
      {
        id: 0,
        client: '198.128.203.95:56048',
        server: '146.255.57.229:5222',
        midstream: false,
        closed: 'fin',
        out: { bytes: 676, first: '3c73747265616d3a73747265616d2078', sha256: 'e1a801101ed4b79c04366bd45205ba9f996fbc9d2208e56cafde498eb874502d', gaps: [] },
        in: { bytes: 4678, first: '3c3f786d6c2076657273696f6e3d2731', sha256: '22c983d5033a77c81726297315fc6fc4c877b9d8be64c85a699e98dc4559a98c', gaps: [] },
      },
    ],
  },
  {
    file: 'lmg-aim-evidence01.pcap',
    packets: 240,
    firstNs: 1250143023151495000n,
    connections: [
      {
        id: 0,
        client: '192.168.1.2:55488',
        server: '192.168.1.30:22',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 48, first: '4d07a037e69d7f5c000f1b5cf9637dad', sha256: '39a44c0cbf947fd967e8315b3fb7588b2e233d8d3899f50bd601c5b2b4452ffe', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [112] },
      },
      {
        id: 1,
        client: '192.168.1.2:54419',
        server: '192.168.1.157:80',
        midstream: false,
        closed: 'fin',
        out: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
      },
      {
        id: 2,
        client: '192.168.1.158:51128',
        server: '64.12.24.50:443',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 523, first: '2a05006000002a02006100b700040006', sha256: '5a7f507602bffe98a82c20ca5c00729adeeb155d0200a5db68e5f8dac5c8ab87', gaps: [] },
        in: { bytes: 1500, first: '2a0256d400cb0001000a8000852a8b41', sha256: '809cf3e5d21bed980079f6501a7773a0b0bb0f3868a10554292fb1d0a11946d1', gaps: [] },
      },
      {
        id: 3,
        client: '192.168.1.159:1221',
        server: '64.12.25.91:443',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 899, first: '17030100224d55c91ea550f26c6a0aa9', sha256: 'd99f2e43e8b4cb714654ca223d386568a32e71de5adbbc18e9b1aa6de4e2d1fa', gaps: [] },
        in: { bytes: 1877, first: '1703010112aa1a3794fe368d104e8d14', sha256: 'd452f0c06c7decbd6667c229af759ee52f6244b106684d31b1c4c725c6543bb8', gaps: [] },
      },
      {
        id: 4,
        client: '192.168.1.159:1271',
        server: '205.188.13.12:443',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 525, first: '2a0156c2018a0000000100060100de7c', sha256: 'fcb3b8075893e47fa2751848bad0654ae890b2e64ef22cb2db45f468f3a9c32f', gaps: [] },
        in: { bytes: 26660, first: '2a017a2b000c00000001800100040000', sha256: '94b10c27ef3121dbdec2aee892e5532300affd5c4f9bd500751309c9ee00afd7', gaps: [] },
      },
      {
        id: 5,
        client: '192.168.1.159:1272',
        server: '192.168.1.158:5190',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 512, first: '4f465432010002023731373436343700', sha256: 'dc05392f31deea5d264adbff0ac720673820fd0c0c64c858da6c2fb4733af26c', gaps: [] },
        in: { bytes: 12264, first: '4f465432010001010000000000000000', sha256: '6d55249c7045fe33d7262817d68471047f6b47560bada38979aafd0e6aafa9bf', gaps: [] },
      },
      {
        id: 6,
        client: '192.168.1.159:1273',
        server: '64.236.68.246:80',
        midstream: false,
        closed: 'end-of-capture',
        out: { bytes: 1674, first: '474554202f6164696672616d652f332e', sha256: '60fc8f540f1d191bfce5eba7bbb5325920cdc7de9d229c4886ee0b27a464e93a', gaps: [] },
        in: { bytes: 1255, first: '485454502f312e3020323030204f4b0d', sha256: '1bc87bff4ce6ee6acd64abfc32f3b66e5dd705989eb5dc409977554ec834186c', gaps: [] },
      },
    ],
  },
  {
    file: 'ndpi-oicq.pcap',
    packets: 29,
    firstNs: 1680268613307049000n,
    connections: [],
  },
  {
    file: 'ndpi-quickplay-wechat.pcap',
    packets: 155,
    firstNs: 1429000030398627000n,
    connections: [
      {
        id: 0,
        client: '10.54.169.250:50668',
        server: '120.28.35.41:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 621, first: '474554202f736f6c722f526573744170', sha256: '24fed817e64e5d56ad8ed37bd40a1f97e530c3e49da02d589874007cb84e5a5d' },
        in: { bytes: 2515, first: '485454502f312e3120323030204f4b0d', sha256: '040133d57cfd68b7a0d1d42cafb545438f9770fb85bd24f03542d22a7c638611' },
      },
      {
        id: 1,
        client: '10.54.169.250:50669',
        server: '120.28.35.41:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 732, first: '474554202f736f6c722f526573744170', sha256: '8e16faeef5f512bd1eb915f7abb6fc058a160d3f9b065ce46578445f947c2afb' },
        in: { bytes: 2724, first: '485454502f312e3120323030204f4b0d', sha256: '86c04e25a61ab061e295373167577b97c5690dee2c352deaba2611ff0b219f45' },
      },
      {
        id: 2,
        client: '10.54.169.250:33064',
        server: '120.28.5.18:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 302, first: '474554202f736f6c722f526573744170', sha256: '7a6ed7f9a41ace37bd73a648a7bd17d998524e9c4e3a0fbaf18ee1360c0ad517' },
        in: { bytes: 53, first: 'fee94d6b7475fef065879961ca7f5cf4', sha256: '25138d0677865d7a7de93fe881fc9c69cf4e56a4633181f0b6cf505c685f2b69' },
      },
      {
        id: 3,
        client: '10.54.169.250:52285',
        server: '173.252.74.22:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 187, first: '474554202f6d6f62696c652f73746174', sha256: '4f12cdb17451be0c3c00a94fd853a2ca4d964a3b48f11ec4b4e7e7ffb7943b85' },
        in: { bytes: 283, first: '485454502f312e3120323034204e6f20', sha256: '7ddc2444083b4a7560a792727f45637ec865ca66d5bd44dc665f329870a9754a' },
      },
      {
        id: 4,
        client: '10.54.169.250:52288',
        server: '173.252.74.22:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 187, first: '474554202f6d6f62696c652f73746174', sha256: '4f12cdb17451be0c3c00a94fd853a2ca4d964a3b48f11ec4b4e7e7ffb7943b85' },
        in: { bytes: 283, first: '485454502f312e3120323034204e6f20', sha256: 'f1783bca92d179099e889d65a80921a6924037d0e694feedca919400bccbacb3' },
      },
      {
        id: 5,
        client: '10.54.169.250:33277',
        server: '120.28.26.231:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 185, first: '474554202f67656e65726174655f3230', sha256: 'e9b13b7bc09bb5136f3676164b414ac08ccdc628c7b0e1394290f826a755ac45' },
        in: { bytes: 81, first: '485454502f312e3120323034204e6f20', sha256: '1b368ed7250d4d40d128b9db4c86407b244263b865da7baca571826acdada6a7' },
      },
      {
        id: 6,
        client: '10.54.169.250:44793',
        server: '31.13.68.49:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 181, first: '474554202f6d6f62696c652f73746174', sha256: 'd8b03d56432d85fd207acb48005b75c40bfdab566291f14830b8ff1bccc7892f' },
        in: { bytes: 283, first: '485454502f312e3120323034204e6f20', sha256: 'a7cb0348edbbb29c0ba21db724cb2abab7a58ec5761e295f8bac6f81a9acf1e2' },
      },
      {
        id: 7,
        client: '10.54.169.250:44256',
        server: '120.28.5.41:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 487, first: '474554202f767374622f706c61796c69', sha256: 'ea0c4f95bc9b29384ec56d6cc1645005d0d7aed8131d7cdb8f12b6f385c9aaf9' },
        in: { bytes: 1169, first: '5f323035343033335f46454154555245', sha256: '9def7222987c89e070647fce214ca39487395cc07a4299bc4e7be0dc03f05d0f' },
      },
      {
        id: 8,
        client: '10.54.169.250:52007',
        server: '120.28.35.40:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 1415, first: '474554202f7365672f766f6c312f732f', sha256: 'e4fb9593bdf48ea0ad0fe1b0eb01a587ddeec0b9a3e6e81c70c7f5180e2ded54' },
        in: { bytes: 1096, first: '72a9b2112929d73b79fbc036ec7d493c', sha256: '03156fe0901e3b00f39c30f0bc801c4330e1b31e7caa909554a88d88c36a229f' },
      },
      {
        id: 9,
        client: '10.54.169.250:54883',
        server: '203.205.151.160:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 540, first: '504f535420687474703a2f2f686b6578', sha256: '097492bd9e8fee18a47346fe8c3cb66476ddb6b2804d8c4015e35147f7904c5f' },
        in: { bytes: 89, first: 'cb495905c5d84ed358c692aaa2affe0f', sha256: 'b8513cf003158be88beeeb71d0ca883e15efeb48a2d696c7a5a016f4dfea20a4' },
      },
      {
        id: 10,
        client: '10.54.169.250:52009',
        server: '120.28.35.40:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 15942, first: '474554202f7365672f766f6c312f732f', sha256: 'a287d05da60db7fe06008a9b9a225a99a8c5cde91ba59f51b15809aafd7972af' },
        in: { bytes: 26320, first: 'ba7a26918d4bff44f90e1fcd85e56a2c', sha256: '350924a78f7bc34eecc919a2fa0173ff039d5b49e9b4ae72aa6b348cc3aa651b' },
      },
      {
        id: 11,
        client: '10.54.169.250:42761',
        server: '203.205.129.101:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 324, first: '504f535420687474703a2f2f686b6578', sha256: 'ade3b939c7f9ba9beaf414feccda18b1d998dcb75bd0cde87b51fb7f1ed6e302' },
        in: { bytes: 205, first: '485454502f312e3120323030204f4b0d', sha256: 'c207c08ecf2fc34e02893dc2b2ad3e4fba192fe30d17d11c976b078313e6d8e0' },
      },
      {
        id: 12,
        client: '10.54.169.250:54885',
        server: '203.205.151.160:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 405, first: '504f535420687474703a2f2f686b6578', sha256: '590a97e82366ab941a2804c78cae61f876da2aae4a1e54e6bb2bd0f664186b05' },
        in: { bytes: 205, first: '485454502f312e3120323030204f4b0d', sha256: 'c98ee585e06616028bd8704fffdb51cd7bf702298ec5e5aa3074ea2191c4a4ef' },
      },
      {
        id: 13,
        client: '10.54.169.250:42762',
        server: '203.205.129.101:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 560, first: '504f535420687474703a2f2f686b6578', sha256: '015b1735907905c792a0a11f79caeab3c10e8f9c021d373d30600dcefde6898d' },
        in: { bytes: 205, first: '485454502f312e3120323030204f4b0d', sha256: '41054b8f1f6d7eb0cc4b0e8ff95b9e279e1d6796ac82f1fcb4201fc7e2bb2817' },
      },
      {
        id: 14,
        client: '10.54.169.250:35670',
        server: '203.205.147.215:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 625, first: '504f535420687474703a2f2f686b6d69', sha256: 'bf75754006d83742ef82e5bf8ff9fa3187d7ff2351761b0ef2d6cd681223228c' },
        in: { bytes: 206, first: '485454502f312e3120323030204f4b0d', sha256: '4150da7fa627c6b112bceccd68ce278cb0d32a7bcef1979cbb82a6f942cdabdc' },
      },
      {
        id: 15,
        client: '10.54.169.250:56381',
        server: '54.179.140.65:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 582, first: '474554202f706173732f76322f736166', sha256: 'c39caf5060b58652e7c17f98f9feec9249bb5c2a69e13ccbc53d9b441f102ab8' },
        in: { bytes: 775, first: '485454502f312e3120323030204f4b0d', sha256: 'c4f3d185d2dd9004e2fe96888aadeb6eeffb81dfe73dbe437696379089d74804' },
      },
      {
        id: 16,
        client: '10.54.169.250:52017',
        server: '120.28.35.40:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 2230, first: '474554202f7365672f766f6c312f732f', sha256: '462a09f6c75c6a55324ad96ccd7dfe5b0c334d516a75cb0e688f5ddc086799d3' },
        in: { bytes: 3354, first: 'a1108ae0ae579802115adc5dfddfc060', sha256: 'de1d5cabd315b8657304fc2f7377177c1709b2d1eca7775527191b02d4efafa5' },
      },
      {
        id: 17,
        client: '10.54.169.250:52018',
        server: '120.28.35.40:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 1784, first: '474554202f7365672f766f6c312f732f', sha256: '3fe0fa03203910e1ce96fbe65542b347c4ab3d849ae742d1f64c0ecefef20dec' },
        in: { bytes: 2872, first: '3ba34ea5394311f5bd2d37836a5aa8d8', sha256: 'a78c0a00b319a88251a8f7b7ae9076b58de9496afd8fb67ddcfcd249eee031ed' },
      },
      {
        id: 18,
        client: '10.54.169.250:52019',
        server: '120.28.35.40:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 5352, first: '474554202f7365672f766f6c312f732f', sha256: 'e391f1782fcaafae33a077eed06ff336491574083ae1b18821b8d99acf66c667' },
        in: { bytes: 11962, first: '73623dd87154653a9ddcf8b4c5c85a4a', sha256: 'dc1641f4b976e7c6af2c85a675f4ff051dd6c067ef280fcf5eb036b8d7cd3a49' },
      },
      {
        id: 19,
        client: '10.54.169.250:52021',
        server: '120.28.35.40:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 1338, first: '474554202f7365672f766f6c312f732f', sha256: '3003253e993a4de9e107d5e3948455997fdcfc53cc77ec8661698b4040c83132' },
        in: { bytes: 1192, first: 'fe4f93b720f66606fef52fc59f922c60', sha256: 'ef093fa5a07234689bc6df769e20a76455a5446cf11462542ac721be84208322' },
      },
      {
        id: 20,
        client: '10.54.169.250:52022',
        server: '120.28.35.40:80',
        midstream: true,
        closed: 'end-of-capture',
        out: { bytes: 1784, first: '474554202f7365672f766f6c312f732f', sha256: '4f4131a72c5782a2d49169c711a3ea34df76046252b930ceac586eb627ba31c3' },
        in: { bytes: 2108, first: 'fa82f24adda07d59d8b65b30de368302', sha256: '4067bd576ff5c92dd67f87a36f73765a99e1709ed12f566809d1297218550a32' },
      },
    ],
  },
  {
    file: 'pygadu-libgadu-gg.pcapng',
    packets: 45,
    firstNs: 1796611701215678500n,
    connections: [
      {
        id: 0,
        client: '127.0.0.1:38801',
        server: '127.0.0.1:8074',
        midstream: false,
        closed: 'rst',
        out: { bytes: 564, first: '310000008b000000e9030000706c02c1', sha256: 'a45f48c6d1ced7423f1b759a9397d29c2c9780a82ff7538f57a5ba93bca72b37', gaps: [] },
        in: { bytes: 108, first: '0100000004000000870d000035000000', sha256: 'c4b09276a77d15e67c8843164ec7eedc0bfe83d0d2e13e0b4765f3a6d804a1ed', gaps: [] },
      },
      {
        id: 1,
        client: '127.0.0.1:38185',
        server: '127.0.0.1:8074',
        midstream: false,
        closed: 'rst',
        out: { bytes: 355, first: '310000008b000000ea030000706c026b', sha256: 'c3f4cf1b42383c7ffa1a3f59fa4ce76cb88cc15192b2e66b0ca43307528b0889', gaps: [] },
        in: { bytes: 172, first: '01000000040000003511000035000000', sha256: '18f8907d0c52ab502899481c619d5b72c4f9928c75def4c25180b1a760427202', gaps: [] },
      },
    ],
  },
];

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const endpoint = (e: { ip: string; port: number }): string => `${e.ip}:${e.port}`;
const gapsOf = (c: CapturedConnection, direction: 'outgoing' | 'incoming'): number[] =>
  c.anomalies.filter((a) => a.kind === 'gap' && a.direction === direction).map((a) => a.bytesMissing);

// The captures live in shared/ beside the repository: skipped without them, a failure on CI (IMSPECT_REQUIRE_E2E=1).
describeWithService('real captures in shared/captures', existsSync(CAPTURES) ? undefined : `the captures are missing: ${CAPTURES}`, () => {
  it('covers every capture file there is', async () => {
    const files = (await readdir(CAPTURES)).filter((f) => /\.pcap(ng)?$/.test(f)).sort();
    expect(EXPECTED.map((e) => e.file).sort()).toEqual(files);
  });

  for (const expected of EXPECTED) {
    describe(expected.file, () => {
      it(`reads ${expected.packets} packets with the right first timestamp`, async () => {
        let count = 0;
        let first: bigint | undefined;
        let lastIndex = -1;
        for await (const packet of readPackets(CAPTURES + expected.file)) {
          first ??= packet.timestampNs;
          expect(packet.index).toBe(lastIndex + 1);
          lastIndex = packet.index;
          count++;
        }
        expect(count).toBe(expected.packets);
        expect(first).toBe(expected.firstNs);
      });

      it(`reassembles ${expected.connections.length} TCP connections byte for byte`, async () => {
        const conns = await readConnections(CAPTURES + expected.file);
        expect(conns.map((c) => c.id)).toEqual(expected.connections.map((c) => c.id));
        for (const want of expected.connections) {
          const got = conns.find((c) => c.id === want.id)!;
          const label = `${expected.file} #${want.id}`;
          expect(endpoint(got.client), label).toBe(want.client);
          expect(endpoint(got.server), label).toBe(want.server);
          expect(got.midstream, label).toBe(want.midstream);
          expect(got.closed, label).toBe(want.closed);
          for (const [direction, side] of [
            ['outgoing', want.out],
            ['incoming', want.in],
          ] as const) {
            const bytes = streamBytes(got, direction);
            expect(bytes.byteLength, `${label} ${direction}`).toBe(side.bytes);
            expect(hex(bytes.subarray(0, 16)), `${label} ${direction}`).toBe(side.first);
            expect(sha256(bytes), `${label} ${direction}`).toBe(side.sha256);
            if (side.gaps) expect(gapsOf(got, direction), `${label} ${direction}`).toEqual(side.gaps);
          }
        }
      });
    });
  }
});
