import { writeFile } from 'node:fs/promises';
import { Command, Flags } from '@oclif/core';
import { configFlag, failWith, loadConfigOrExit } from '../../shared.js';

export default class CaExport extends Command {
  static override summary = 'Write the CA certificate to install on client machines';
  static override description =
    `Prints the certificate (never the key) in PEM form, or writes it to a file. DER (.cer) suits Windows and Android; PEM (.crt) suits Linux, macOS and Firefox. docs/tls.md shows how to install it on common systems.`;
  static override examples = ['<%= config.bin %> ca export > imspect-ca.crt', '<%= config.bin %> ca export -o imspect-ca.cer --format der'];
  static override flags = {
    config: configFlag,
    output: Flags.string({ char: 'o', description: 'file to write (default: standard output)', helpValue: 'FILE' }),
    format: Flags.string({ options: ['pem', 'der'], default: 'pem', description: 'certificate encoding' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(CaExport);
    const { caFiles } = await import('@imspect/core/runtime');
    const { X509Certificate } = await import('node:crypto');
    const { readFile } = await import('node:fs/promises');
    const loaded = await loadConfigOrExit(flags.config);
    const files = caFiles(loaded.config.tls, loaded.dataDir);
    let cert;
    try {
      cert = new X509Certificate(await readFile(files.cert));
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      failWith(new Error(missing ? `${files.cert}: no CA certificate (run imspect ca init first)` : `${files.cert}: not a certificate: ${(error as Error).message}`), 1);
    }
    const bytes = flags.format === 'der' ? cert.raw : Buffer.from(cert.toString());
    if (flags.output) {
      await writeFile(flags.output, bytes);
      process.stderr.write(`CA certificate written to ${flags.output} (${cert.subject.replaceAll('\n', ', ')}; SHA-256 ${cert.fingerprint256})\n`);
    } else {
      process.stdout.write(bytes);
    }
  }
}
