/** Switchboard MSG bodies the MSN end-to-end tests send: plain text and a P2P file offer. */

/** The MIME head of a plain-text MSG; the text follows it. */
export const TEXT_HEAD = 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\n';

/** A P2P MSNSLP file INVITE (MSNP9+) offering `fileName`, as a switchboard MSG body. */
export function fileInvite(to: string, from: string, fileName: string): Buffer {
  const context = Buffer.alloc(574);
  context.writeUInt32LE(574, 0);
  context.writeUInt32LE(2, 4);
  context.writeBigUInt64LE(4321n, 8);
  context.writeUInt32LE(1, 16);
  context.write(fileName, 20, 'utf16le');
  const description = `EUF-GUID: {5D3E02AB-6190-11D3-BBBB-00C04F795683}\r\nSessionID: 777\r\nAppID: 2\r\nContext: ${context.toString('base64')}\r\n\r\n\0`;
  const slp = Buffer.from(
    `INVITE MSNMSGR:${to} MSNSLP/1.0\r\nTo: <msnmsgr:${to}>\r\nFrom: <msnmsgr:${from}>\r\nVia: MSNSLP/1.0/TLP ;branch={4B25920A-DFE2-4302-A666-F66513EFF5FD}\r\nCSeq: 0 \r\nCall-ID: {D2B052D3-6A9D-4154-BE9B-E7F039827784}\r\nMax-Forwards: 0\r\nContent-Type: application/x-msnmsgr-sessionreqbody\r\nContent-Length: ${Buffer.byteLength(description)}\r\n\r\n${description}`,
  );
  const header = Buffer.alloc(48);
  header.writeUInt32LE(1000, 4);
  header.writeBigUInt64LE(BigInt(slp.length), 16);
  header.writeUInt32LE(slp.length, 24);
  return Buffer.concat([Buffer.from(`MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: ${to}\r\n\r\n`), header, slp, Buffer.alloc(4)]);
}
