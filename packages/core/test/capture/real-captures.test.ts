import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readConnections, readPackets, streamBytes, type CapturedConnection } from '../../src/capture/index.js';

/** /work/shared/captures, i.e. `../shared/captures` next to the repository root. */
const CAPTURES = fileURLToPath(new URL('../../../../../shared/captures/', import.meta.url));

interface Side {
  bytes: number;
  /** First 16 bytes, hex. */
  first: string;
  sha256: string;
  /** Sizes of the holes, in order. */
  gaps: number[];
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
 */
const EXPECTED: Expected[] = [
  {
    file: 'escargot-msnp8.pcap', packets: 133, firstNs: 1795253857050862000n,
    connections: [
      { id: 0, client: '127.0.0.1:33094', server: '127.0.0.1:1863', midstream: false, closed: 'fin',
        out: { bytes: 187, first: '5645522031204d534e50382043565230', sha256: '7cb159cd5516575ab8561ae765a09e9d4a1c48aa041364e543a65b76863369bb', gaps: [] },
        in: { bytes: 1033, first: '5645522031204d534e50380d0a435652', sha256: '143060b579954c2deb155432b4c346900e7c172a3e9068b6f35452a90c7be88f', gaps: [] } },
      { id: 1, client: '127.0.0.1:38774', server: '127.0.0.1:8081', midstream: false, closed: 'rst',
        out: { bytes: 235, first: '474554202f6c6f67696e20485454502f', sha256: '6d77787f520f2a63d295b39e394703f94112e8e289235294f0a84f9aa1cb7600', gaps: [] },
        in: { bytes: 241, first: '485454502f312e3120323030204f4b0d', sha256: '793e31e39c207f0efdb514d453882a8b82ba0961112aa465a8da93c54eded98f', gaps: [] } },
      { id: 2, client: '127.0.0.1:47016', server: '127.0.0.1:1863', midstream: false, closed: 'fin',
        out: { bytes: 177, first: '5645522031204d534e50382043565230', sha256: 'a3e593dd9041c9a6be8a96919990f6a02ed2aa8ba2b867edc80f99c4c9fdba7e', gaps: [] },
        in: { bytes: 1086, first: '5645522031204d534e50380d0a435652', sha256: '0e135bb9f5208bda5eb9640744dba5af15e26b5298d5f0ad7468bc36d2e32604', gaps: [] } },
      { id: 3, client: '127.0.0.1:35268', server: '127.0.0.1:8081', midstream: false, closed: 'rst',
        out: { bytes: 235, first: '474554202f6c6f67696e20485454502f', sha256: 'a4574d147698551616914cdf26badcf787f61ef3ddccdbe06d924df1bdb5b3f5', gaps: [] },
        in: { bytes: 241, first: '485454502f312e3120323030204f4b0d', sha256: '56268db4db99d30baa580d15030e0ffadd8f521b7e7f0498f07c7e6ccc087e59', gaps: [] } },
      { id: 4, client: '127.0.0.1:50372', server: '127.0.0.1:1864', midstream: false, closed: 'rst',
        out: { bytes: 902, first: '555352203120743465406578616d706c', sha256: 'd8c1557a82a68304461c6a690931bfe3f2b6e52a24d56daa30120bd8141e98e8', gaps: [] },
        in: { bytes: 222, first: '5553522031204f4b2074346540657861', sha256: '7fa67411439fd7222b687c9cab80f818ad804c3351ef04a16b44c0be4ec472fb', gaps: [] } },
      { id: 5, client: '127.0.0.1:35822', server: '127.0.0.1:1864', midstream: false, closed: 'rst',
        out: { bytes: 178, first: '414e53203120743565406578616d706c', sha256: 'cad836339c74efd7bb43ee851468a8ca902e467bc7981701bc5d468c5643f94c', gaps: [] },
        in: { bytes: 972, first: '4a4f4920743565406578616d706c652e', sha256: '573b7c0c6e0cfdcdea322730565b21893d1ad2153be5551b4f325b55fa3cfc02', gaps: [] } },
    ],
  },
  {
    file: 'escargot-ymsg10.pcap', packets: 54, firstNs: 1795253958841969000n,
    connections: [
      { id: 0, client: '127.0.0.1:60794', server: '127.0.0.1:5050', midstream: false, closed: 'fin',
        out: { bytes: 349, first: '594d53470a0000000000004c00000000', sha256: '1a2b8f92188b50a65c179f28788aafd549b8dca0a5e44fbca11b2de3603ab93f', gaps: [] },
        in: { bytes: 2088, first: '594d5347000000000000004c00000001', sha256: 'cb543c801e58c3a72d3b89fcf8c10964559bc6cc02c4914dc10f7842627f3232', gaps: [] } },
      { id: 1, client: '127.0.0.1:60800', server: '127.0.0.1:5050', midstream: false, closed: 'fin',
        out: { bytes: 257, first: '594d53470a0000000000004c00000000', sha256: 'bb79b4fa4a8ed1081bb06a2d4054faa3ce52acca2346570a1751a76152aa360a', gaps: [] },
        in: { bytes: 2109, first: '594d5347000000000000004c00000001', sha256: '576434999b9337821ddb8d829bdd24e357a822a61a98f5933098f3d891571bb8', gaps: [] } },
    ],
  },
  {
    file: 'ndpi-jabber.pcap', packets: 376, firstNs: 1502379693992994000n,
    connections: [
      { id: 0, client: '172.16.0.62:57094', server: '172.16.1.138:5222', midstream: false, closed: 'end-of-capture',
        out: { bytes: 2785, first: '3c3f786d6c2076657273696f6e3d2731', sha256: '3485ff99cf29a9dedae29e8874d71e0b01c651a444f139bde7f8df9fe736fc5f', gaps: [] },
        in: { bytes: 11027, first: '3c3f786d6c2076657273696f6e3d2731', sha256: '275455607b5db80f11beeffa6d7e0cf225fd661f979c3389888dcdcb08537706', gaps: [] } },
      { id: 1, client: '172.16.0.62:57122', server: '172.16.1.138:5222', midstream: false, closed: 'end-of-capture',
        out: { bytes: 2785, first: '3c3f786d6c2076657273696f6e3d2731', sha256: '7e55f02db15d57cb7aa4ecb9151428755d3d3ef9f560269ed7da5280d2d13bbb', gaps: [] },
        in: { bytes: 11026, first: '3c3f786d6c2076657273696f6e3d2731', sha256: '676e9c9bf14281cfcbf76a557e2aa1541e55cc8fdb378620087189f3c3c9da5e', gaps: [] } },
      { id: 2, client: '172.16.0.62:57126', server: '172.16.1.138:5222', midstream: true, closed: 'fin',
        out: { bytes: 16, first: '3c2f73747265616d3a73747265616d3e', sha256: 'ace68e79f20a4ae15b0eb604ccfc43ebe03955d8c36de4ff518c87223207cae2', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] } },
      { id: 3, client: '172.16.0.62:57129', server: '172.16.1.138:5222', midstream: true, closed: 'end-of-capture',
        out: { bytes: 1810, first: '3c697120747970653d27736574272069', sha256: '721e28e161b606ac9d013d1a762f4807c4dde921b0e786ecdf56ffe0f0307a25', gaps: [138, 138] },
        in: { bytes: 1679, first: '3c697120786d6c3a6c616e673d27656e', sha256: 'c8bb86d2c0da44447724ca947c442c63646acc90a55b0e2710f51acdfc54af0c', gaps: [212, 212] } },
      { id: 4, client: '172.16.0.62:57147', server: '172.16.1.138:5222', midstream: false, closed: 'fin',
        out: { bytes: 654, first: '3c3f786d6c2076657273696f6e3d2731', sha256: 'e38159741a3e562cc338f35ed2ecb3bab88830f8f7ea342504d4df4824bd2186', gaps: [] },
        in: { bytes: 772, first: '3c3f786d6c2076657273696f6e3d2731', sha256: 'b746cd795c430495955611c93535201412d7c245d7387ab5b3152000947985af', gaps: [] } },
      { id: 5, client: '172.16.0.62:57149', server: '172.16.1.138:5222', midstream: true, closed: 'end-of-capture',
        out: { bytes: 1366, first: '3c70726573656e636520746f3d276368', sha256: '0ceacbe7e62b6de7e858ee6675ffcc3f8faeb4d18726a03b6b55120b2f67217d', gaps: [1150, 69] },
        in: { bytes: 2292, first: '3c70726573656e636520786d6c3a6c61', sha256: 'f86ef594f2087c4f045ca230ed7625a8ec849780c2c4ecef17cffd7545972628', gaps: [2009, 106] } },
      { id: 6, client: '192.168.58.1:53460', server: '192.168.58.153:5222', midstream: false, closed: 'fin',
        out: { bytes: 157, first: '3c3f786d6c2076657273696f6e3d2731', sha256: 'f769dfc2ad3058beba1c4c6397af62e8395f138c5deb764c845d009c6b9098ac', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] } },
      { id: 7, client: '192.168.2.100:34218', server: '160.44.201.102:5223', midstream: false, closed: 'end-of-capture',
        out: { bytes: 302, first: '2500451404118ab5816e165f0a59146a', sha256: 'd47b264ca7681b1044d712d97a6296cdfe93f5f181c6476f041092ddced41aee', gaps: [] },
        in: { bytes: 117, first: '26001000b3b6d114a9c7e53e498aa645', sha256: '66b54d09ee454fd167993f492002504e1633409a4805c4362febc1037de21b1a', gaps: [] } },
      { id: 8, client: '192.168.2.100:37614', server: '160.44.201.102:5223', midstream: false, closed: 'end-of-capture',
        out: { bytes: 302, first: '2500451404be247f2c0bf9607fc9f718', sha256: '1d80063abe6f72027ce14b0ea94bd0a7370a307ebec42e71b29870ed64d339b9', gaps: [] },
        in: { bytes: 117, first: '26001000a36ce92d8cf92b2bec715d3f', sha256: 'c375f0f623b9942b86e8497350ea5e119df05aec0fe8e409fd96bfc75a1a5598', gaps: [] } },
      { id: 9, client: '192.168.2.100:58388', server: '160.44.201.102:5223', midstream: false, closed: 'end-of-capture',
        out: { bytes: 303, first: '2500451404b00884a766bc33b1633f20', sha256: '11db9afacbf77d2920e0561bfead00f30b61ca143be153a0f4d79fe574720d8f', gaps: [] },
        in: { bytes: 119, first: '260010002015cd29327b1ddbddf76626', sha256: 'ffb1e2b3284adc445d8a43a16ef4538700f9df45498bffd48dfa785e52ed36f2', gaps: [] } },
      { id: 10, client: '192.168.2.100:41420', server: '160.44.201.102:5223', midstream: false, closed: 'end-of-capture',
        out: { bytes: 270, first: '25004514048e48ce4065d82421c80673', sha256: '8d0ed6cb47ccbd9158e34e37c755fb33fc68bbb3cfb317fa4badb4f25ed23156', gaps: [] },
        in: { bytes: 53, first: '2600100018bc3adfd0d8f8f2ccafe6e7', sha256: '225d6d90d56cee146bdf74749e79f56b96076d4ef6e87f55bebc00c6a904e526', gaps: [] } },
      { id: 11, client: '192.168.2.100:34070', server: '160.44.201.102:5223', midstream: false, closed: 'end-of-capture',
        out: { bytes: 302, first: '2500451404d6b9675e9a1b223630bf2b', sha256: '02f01b0a28d547fde1db7c54b4310372700dd56a09bad9b0eb7b2869a31826ac', gaps: [] },
        in: { bytes: 117, first: '26001000a1b19590279aa2fe04d8fa84', sha256: 'cf6b292776a4381817971ab9d14db924dfea2f70962ea2380f2badeb6a377958', gaps: [] } },
    ],
  },
  {
    file: 'ngircd-irc.pcap', packets: 43, firstNs: 1795253546317054000n,
    connections: [
      { id: 0, client: '127.0.0.1:42954', server: '127.0.0.1:16667', midstream: false, closed: 'end-of-capture',
        out: { bytes: 131, first: '4e49434b20616c6963650d0a55534552', sha256: '094a7d129e6cc065e5716da95466447169af255960437c5b2ccefccd0d8e9354', gaps: [] },
        in: { bytes: 2524, first: '3a6972632e746573742e6c6f63616c20', sha256: '6e5df7a11994a4be540b91133b9ceea24f4733230d9f087be131e6cb27e736f3', gaps: [] } },
      { id: 1, client: '127.0.0.1:42960', server: '127.0.0.1:16667', midstream: false, closed: 'rst',
        out: { bytes: 208, first: '4e49434b20626f620d0a555345522062', sha256: 'a22a2b58d11fc3da9edd746cbcfbaf357522995ffd8d88728376a57f8a78fe05', gaps: [] },
        in: { bytes: 2307, first: '3a6972632e746573742e6c6f63616c20', sha256: '651e762c5afa62ba3eb11e33e5cac4b10476923c7bbffad17e24cbcb70f74fa0', gaps: [] } },
    ],
  },
  {
    file: 'prosody-xmpp.pcap', packets: 211, firstNs: 1795253572457536000n,
    connections: [
      { id: 0, client: '127.0.0.1:54110', server: '127.0.0.1:15222', midstream: false, closed: 'fin',
        out: { bytes: 1188, first: '3c73747265616d3a73747265616d2074', sha256: 'cf7ee30198a81c7a2cc6ee61b7cced0c872dc60af5e5156f10c3ece9583dd200', gaps: [] },
        in: { bytes: 2466, first: '3c3f786d6c2076657273696f6e3d2731', sha256: 'b72bc4bc68addcc0aae7e77b30cb1b7c3ff87b8ad99a2569ff1ee5c28cf5442e', gaps: [] } },
      { id: 1, client: '127.0.0.1:54118', server: '127.0.0.1:15222', midstream: false, closed: 'fin',
        out: { bytes: 1473, first: '3c73747265616d3a73747265616d2074', sha256: '5e1895e5faeb8135ad5776ddd52479f7c88855caa0485c71387965f55edff374', gaps: [] },
        in: { bytes: 2132, first: '3c3f786d6c2076657273696f6e3d2731', sha256: 'e523d43a29e844e216b8a591bda7b4bccff865539014b637aed0526b9f30e9e4', gaps: [] } },
      { id: 2, client: '127.0.0.1:34728', server: '127.0.0.1:15222', midstream: false, closed: 'fin',
        out: { bytes: 448, first: '3c73747265616d3a73747265616d2074', sha256: 'c737e6402841173e8ddbcb65942b8f224d7a841aa2484ba807bb529d0a6189fa', gaps: [] },
        in: { bytes: 50, first: '3c70726f6365656420786d6c6e733d27', sha256: '5f83473db87744c3f7db44c27ffef14707029c7cef600e3d7a1f5139999a6313', gaps: [] } },
      { id: 3, client: '127.0.0.1:34740', server: '127.0.0.1:15222', midstream: false, closed: 'fin',
        out: { bytes: 448, first: '3c73747265616d3a73747265616d2074', sha256: '8c11792aecbd3a9c75a118f23e51d9e3a4a3e13d83635fbb51f65ee7929ddb58', gaps: [] },
        in: { bytes: 50, first: '3c70726f6365656420786d6c6e733d27', sha256: '5f83473db87744c3f7db44c27ffef14707029c7cef600e3d7a1f5139999a6313', gaps: [] } },
      { id: 4, client: '127.0.0.1:34744', server: '127.0.0.1:15222', midstream: false, closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: '0adb6b6fbfff99c1ccc17a57581b53bcc93283d97ff9c3d4c1c510e232e627a0', gaps: [] },
        in: { bytes: 1444, first: '3c70726f6365656420786d6c6e733d27', sha256: 'bde734e390d3621219cac0e89d0ec5c010d7c016e5082580a2fc776e839d4639', gaps: [] } },
      { id: 5, client: '127.0.0.1:34748', server: '127.0.0.1:15222', midstream: false, closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: 'c2c36ba04e6e4fe76c1d82a4461ba70ba6969f90a50874f537987c3110d8feb5', gaps: [] },
        in: { bytes: 1444, first: '3c70726f6365656420786d6c6e733d27', sha256: '2619c85a717d4b3b05c56c68ae4cfaf76c17de9a8f23707ac6ccfe0a6e4e7605', gaps: [] } },
      { id: 6, client: '127.0.0.1:34756', server: '127.0.0.1:15222', midstream: false, closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: '36dab6d7f89fc252d7237d52bc2e7629f265604cb1aaa217bcce77450febbad8', gaps: [] },
        in: { bytes: 2025, first: '3c70726f6365656420786d6c6e733d27', sha256: '1e8b152e15979f415849ecb576c6468d106f5c6d6dfb7f838464b489ccff3a89', gaps: [] } },
      { id: 7, client: '127.0.0.1:34766', server: '127.0.0.1:15222', midstream: false, closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: 'b0e0f3b4b1cf3e19976ae5011680f29d277a5034f07db4ffe4810d0d051ac6f4', gaps: [] },
        in: { bytes: 2025, first: '3c70726f6365656420786d6c6e733d27', sha256: 'aeab2e2f24f022b0425918efb47f9aa6f10e2e49df146938dbeed4fbc48db0b7', gaps: [] } },
      { id: 8, client: '127.0.0.1:34780', server: '127.0.0.1:15222', midstream: false, closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: 'd97d15439e91052285785137b267cc305ede2bd06da28fa45b166c8b09d8d520', gaps: [] },
        in: { bytes: 1442, first: '3c70726f6365656420786d6c6e733d27', sha256: 'a7b4ef5704313dc8f8b7fe4063a667badd2c7a82a9d208aa7cf8a376c252dddc', gaps: [] } },
      { id: 9, client: '127.0.0.1:34784', server: '127.0.0.1:15222', midstream: false, closed: 'fin',
        out: { bytes: 641, first: '3c73747265616d3a73747265616d2074', sha256: '1942c2694ca62aa3da43ec06dba19f219692a70d530c37fc6256815bb2b25a8d', gaps: [] },
        in: { bytes: 1443, first: '3c70726f6365656420786d6c6e733d27', sha256: 'bafd14df8c01f3282acda7b7f5b22c4e9de4a9eb895186674b4edcd4ddd588fc', gaps: [] } },
    ],
  },
  {
    file: 'zeek-contentline-irc-5k-line.pcap', packets: 118, firstNs: 1509735974998620000n,
    connections: [
      { id: 0, client: '127.0.0.1:61556', server: '127.0.0.1:12345', midstream: true, closed: 'end-of-capture',
        out: { bytes: 1109, first: '1703030450767f8eb5acb69de4845ae1', sha256: '83a13bd961043a4a6a754a4fca0fbc448e572ef3afe54b3b197f257d9ff02d9f', gaps: [] },
        in: { bytes: 2762, first: '1703030330aa1c780b3334fd9bca518c', sha256: '4afbfccb580221e086612df387999e1c0a4297f42d1b0655a6801ca0e0751522', gaps: [] } },
      { id: 1, client: '127.0.0.1:50163', server: '127.0.0.1:37757', midstream: true, closed: 'fin',
        out: { bytes: 14805, first: '0000000819000000000000000000375d', sha256: '35c274bd16342e0d1b1c0eb2df5fdde21717aaef9dff2db746b7c4d6d656da7f', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] } },
      { id: 2, client: '127.0.0.1:62855', server: '127.0.0.1:12345', midstream: true, closed: 'end-of-capture',
        out: { bytes: 1109, first: '170303045066543dc1d7ee8a5c0ac163', sha256: '0b449aa3c036b94f78c2dfce4d5dfb88b4e91bdd5d1bbdc93fd586524d188cd1', gaps: [] },
        in: { bytes: 2458, first: '1703030330f818ead803d2ad3db9829b', sha256: 'b6694d12dbcc490a7e6da4300adf50e88aeb95e3742e901cd15d1b7db77896b6', gaps: [] } },
      { id: 3, client: '127.0.0.1:50164', server: '127.0.0.1:6667', midstream: false, closed: 'fin',
        out: { bytes: 5232, first: '5553455220666f6f0a4e49434b20666f', sha256: 'f7ae94dd1a778d0d6192bb9372688a019dda7060c87810f7552b69d69683ee22', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] } },
      { id: 4, client: '127.0.0.1:65233', server: '127.0.0.1:12345', midstream: true, closed: 'end-of-capture',
        out: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] } },
      { id: 5, client: '127.0.0.1:50165', server: '127.0.0.1:37757', midstream: false, closed: 'end-of-capture',
        out: { bytes: 1350, first: '00000008010000000000000000000019', sha256: 'ebd76b1d6133ec02b97194465eb09dcef18178e99da42e8a4499b8d1bf06958c', gaps: [] },
        in: { bytes: 1598, first: '00000008010000000000000000000011', sha256: '4d4bd97cbc9ec533234430c2645f99cbf361ab5434f1f406eb1fa3cbcc5218f7', gaps: [] } },
    ],
  },
  {
    file: 'zeek-irc-353.pcap', packets: 12, firstNs: 1536797872428410000n,
    connections: [
      { id: 0, client: '::1:65388', server: '::1:6666', midstream: false, closed: 'rst',
        out: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] } },
      { id: 1, client: '127.0.0.1:65389', server: '127.0.0.1:6666', midstream: false, closed: 'fin',
        out: { bytes: 5, first: '333533200a', sha256: 'b930dd838a57ab4e9e5eec0b34870b1cf8cc6a9344f60024a8e21f954d5eca87', gaps: [] },
        in: { bytes: 0, first: '', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', gaps: [] } },
    ],
  },
  {
    file: 'zeek-irc-basic.pcap', packets: 34, firstNs: 1454964786195024000n,
    connections: [
      { id: 0, client: '192.168.6.110:49170', server: '130.239.18.119:6667', midstream: false, closed: 'fin',
        out: { bytes: 94, first: '555345522062726f74657374202a202a', sha256: '514e18c5abd511c319a0e8aec0041f2b3cfd00429931faf202938d1d57104a12', gaps: [] },
        in: { bytes: 4793, first: '3a6c656775696e2e667265656e6f6465', sha256: '78af4f41379e8db72fc821f7f9b9d28443435486bab90162636414e56093447e', gaps: [] } },
    ],
  },
  {
    file: 'zeek-irc-dcc-send.pcapng', packets: 1184, firstNs: 1753735709964970000n,
    connections: [
      { id: 0, client: '10.0.0.7:59069', server: '10.0.0.22:6667', midstream: false, closed: 'fin',
        out: { bytes: 638, first: '434150204c53203330320d0a4a4f494e', sha256: 'ef130c345ef8c742b76d8f24c226a51b6b5a2bbefaa061f2a2936513187ea16b', gaps: [] },
        in: { bytes: 9679, first: '3a69726364312e6c6f63616c204e4f54', sha256: '2033cf7ae8ed210676f7122ed21c80f43eaf656e69295f680d0ce90e4e3d0f84', gaps: [] } },
      { id: 1, client: '10.0.0.22:43614', server: '10.0.0.7:59130', midstream: false, closed: 'fin',
        out: { bytes: 352, first: '0000080000001a000000260000003800', sha256: '5b6f6c31537be875cb941db2425582ff755e70e0be71bb9f6792a9c34d4e2930', gaps: [] },
        in: { bytes: 1320211, first: 'd4c3b2a1020004000000000000000000', sha256: '566c4819a8130d65d29076930bd46dde5c2595a4a8be4a380857feb5b430ec6e', gaps: [] } },
      { id: 2, client: '10.0.0.22:38016', server: '10.0.0.7:59214', midstream: false, closed: 'fin',
        out: { bytes: 22, first: '68656c6c6f2c2061726520796f752074', sha256: '56ac8e5bc3e6bd1adab8ff51e13d0bc1ee741fa60b5aae8d5115dd94403f6f58', gaps: [] },
        in: { bytes: 10, first: '796573206920616d210a', sha256: 'a2fafd3760cfa308728fbd51ef55540b6201bf9ce4ca0ef2326e8600939d59cb', gaps: [] } },
    ],
  },
  {
    file: 'zeek-irc-more-commands.pcap', packets: 145, firstNs: 1683582047265855000n,
    connections: [
      { id: 0, client: '172.16.238.1:40896', server: '172.16.238.10:6667', midstream: false, closed: 'end-of-capture',
        out: { bytes: 455, first: '434150204c530d0a5041535320746573', sha256: 'b8b2139435a9028373db940b82cecf7215232a14127c1f58855aaa7a1513b306', gaps: [] },
        in: { bytes: 7731, first: '3a69726364312e6c6f63616c204e4f54', sha256: 'ea48bb41a2e09e80c57a57ea51535513b74852cb9dedc9dfa68eb53a4e4b88fe', gaps: [] } },
      { id: 1, client: '172.16.238.1:52624', server: '172.16.238.10:6667', midstream: false, closed: 'end-of-capture',
        out: { bytes: 328, first: '434150204c530d0a5041535320746573', sha256: '009d2519968054a569f81a360186d6eaaf92175026a44dafbd0a212c3f0807d8', gaps: [] },
        in: { bytes: 7443, first: '3a69726364312e6c6f63616c204e4f54', sha256: '304e27f4b1ab71b0924ee713ed5b10f5392138b17a39738f4b2711325d538c56', gaps: [] } },
    ],
  },
  {
    file: 'zeek-irc-starttls.pcap', packets: 20, firstNs: 1438145937325196000n,
    connections: [
      { id: 0, client: '203.143.168.47:55123', server: '185.18.76.170:6667', midstream: false, closed: 'rst',
        out: { bytes: 913, first: '5354415254544c530d0a160301013801', sha256: '85c7e59b348436c1467c9e6b73c7ea58950a0cb4ca588634dc7a4c0cc7138fb0', gaps: [] },
        in: { bytes: 1903, first: '3a6972632e6a6f756c756e65742e6f72', sha256: '16eda77b4cfaf66eba680c77debbf68924e138accd954774d57a65c104f1584a', gaps: [] } },
    ],
  },
  {
    file: 'zeek-irc-whitespace.pcap', packets: 36, firstNs: 1455323497483484000n,
    connections: [
      { id: 0, client: '192.168.6.110:61203', server: '193.219.128.49:6667', midstream: false, closed: 'fin',
        out: { bytes: 130, first: '555345522062726f74657374202a202a', sha256: '9887cda1efc24b56c05511164e3e41d15a748ab4b0a5d15b3df83da7a85d7af8', gaps: [] },
        in: { bytes: 4817, first: '3a73656e64616b2e667265656e6f6465', sha256: 'c7853d61b3f3cfbaf8583737888fc30dfc473548bf7fe5ad0db88bd0afbe0e6e', gaps: [] } },
    ],
  },
  {
    file: 'zeek-xmpp-starttls.pcap', packets: 34, firstNs: 1437091701732171000n,
    connections: [
      { id: 0, client: '198.128.203.95:56048', server: '146.255.57.229:5222', midstream: false, closed: 'fin',
        out: { bytes: 676, first: '3c73747265616d3a73747265616d2078', sha256: 'e1a801101ed4b79c04366bd45205ba9f996fbc9d2208e56cafde498eb874502d', gaps: [] },
        in: { bytes: 4678, first: '3c3f786d6c2076657273696f6e3d2731', sha256: '22c983d5033a77c81726297315fc6fc4c877b9d8be64c85a699e98dc4559a98c', gaps: [] } },
    ],
  },
];

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const endpoint = (e: { ip: string; port: number }): string => `${e.ip}:${e.port}`;
const gapsOf = (c: CapturedConnection, direction: 'outgoing' | 'incoming'): number[] =>
  c.anomalies.filter((a) => a.kind === 'gap' && a.direction === direction).map((a) => a.bytesMissing);

describe('real captures in shared/captures', () => {
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
          for (const [direction, side] of [['outgoing', want.out], ['incoming', want.in]] as const) {
            const bytes = streamBytes(got, direction);
            expect(bytes.byteLength, `${label} ${direction}`).toBe(side.bytes);
            expect(hex(bytes.subarray(0, 16)), `${label} ${direction}`).toBe(side.first);
            expect(sha256(bytes), `${label} ${direction}`).toBe(side.sha256);
            expect(gapsOf(got, direction), `${label} ${direction}`).toEqual(side.gaps);
          }
        }
      });
    });
  }
});
