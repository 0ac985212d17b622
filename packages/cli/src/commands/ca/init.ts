import { Command, Flags } from '@oclif/core';
import { configFlag, failWith, loadConfigOrExit } from '../../shared.js';

export default class CaInit extends Command {
  static override summary = 'Create the local certificate authority that TLS interception signs certificates with';
  static override description =
    `Writes an ECDSA P-256 CA certificate and its private key (mode 0600) where tls.ca says (default: ca/ in the data folder). Then install the certificate on the client machines (imspect ca export; see docs/tls.md): clients that trust it can be intercepted, the others fail their TLS handshake. To use an existing enterprise CA instead, point tls.ca.cert and tls.ca.key at its files.`;
  static override examples = ['<%= config.bin %> ca init', '<%= config.bin %> ca init --name "Example Corp IM inspection CA" --days 1825'];
  static override flags = {
    config: configFlag,
    name: Flags.string({ description: 'common name of the CA certificate (default: "imspect local CA (<host name>)")' }),
    days: Flags.integer({ description: 'validity in days', default: 3650, min: 1 }),
    force: Flags.boolean({ description: 'replace an existing CA (certificates installed on clients stop working)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(CaInit);
    const { createCa, caFiles, restrictUmask } = await import('@imspect/core/runtime');
    const loaded = await loadConfigOrExit(flags.config);
    // The data folder (and ca/ in it) may be created here first: as private as `imspect start` makes it.
    restrictUmask();
    const files = caFiles(loaded.config.tls, loaded.dataDir);
    let ca;
    try {
      ca = await createCa({ files, days: flags.days, force: flags.force, ...(flags.name ? { commonName: flags.name } : {}) });
    } catch (error) {
      failWith(error, 1);
    }
    this.log(`CA created: ${ca.cert.subject}`);
    this.log(`  certificate: ${files.cert}`);
    this.log(`  key:         ${files.key} (mode 0600: keep it private)`);
    this.log(`  SHA-256:     ${ca.fingerprint.toUpperCase().match(/../g)!.join(':')}`);
    this.log('Install the certificate on client machines (imspect ca export -o imspect-ca.crt; see docs/tls.md),');
    this.log('then restart imspect: TLS connections are intercepted from then on.');
  }
}
