import { Args, Command, Flags } from '@oclif/core';
import { newPassword, passwordStdinFlag } from '../../../console-password.js';
import { configFlag, failWith, loadConfigOrExit } from '../../../shared.js';

export default class ConsoleUserAdd extends Command {
  static override summary = 'Add a web console user (admin: reads and changes; auditor: reads only)';
  static override description =
    'The password is asked twice at a prompt that does not echo it, or read from standard input with --password-stdin. It is stored as an Argon2id hash in console-users.json in the data folder (mode 0600). The running console sees the change at the next login.';
  static override examples = [
    '<%= config.bin %> console user add alice --role admin',
    'printf \'%s\\n\' "$PASSWORD" | <%= config.bin %> console user add audit1 --role auditor --password-stdin',
  ];
  static override args = { name: Args.string({ description: 'user name (letters, digits, . _ @ -)', required: true }) };
  static override flags = {
    config: configFlag,
    role: Flags.string({ description: 'what the user may do', options: ['admin', 'auditor'], required: true }),
    'password-stdin': passwordStdinFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ConsoleUserAdd);
    const { ConsoleUsers, checkName } = await import('@imspect/console/users');
    const loaded = await loadConfigOrExit(flags.config);
    const users = new ConsoleUsers(loaded.dataDir);
    try {
      checkName(args.name);
      if ((await users.find(args.name)) !== undefined)
        throw new Error(`console user "${args.name}" exists already (imspect console user passwd ${args.name} changes the password)`);
      const user = await users.add(args.name, flags.role, await newPassword(flags['password-stdin']));
      this.log(`console user ${user.name} added (${user.role}) in ${users.file}`);
    } catch (error) {
      failWith(error, 1);
    }
  }
}
