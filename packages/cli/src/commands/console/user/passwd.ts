import { Args, Command } from '@oclif/core';
import { newPassword, passwordStdinFlag } from '../../../console-password.js';
import { configFlag, failWith, loadConfigOrExit } from '../../../shared.js';

export default class ConsoleUserPasswd extends Command {
  static override summary = "Change a web console user's password (their open sessions end)";
  static override examples = ['<%= config.bin %> console user passwd alice', 'printf \'%s\\n\' "$PASSWORD" | <%= config.bin %> console user passwd alice --password-stdin'];
  static override args = { name: Args.string({ description: 'user name', required: true }) };
  static override flags = { config: configFlag, 'password-stdin': passwordStdinFlag };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ConsoleUserPasswd);
    const { ConsoleUsers } = await import('@imspect/console/users');
    const loaded = await loadConfigOrExit(flags.config);
    const users = new ConsoleUsers(loaded.dataDir);
    try {
      if ((await users.find(args.name)) === undefined) throw new Error(`no console user "${args.name}"`);
      await users.passwd(args.name, await newPassword(flags['password-stdin']));
    } catch (error) {
      failWith(error, 1);
    }
    this.log(`password of console user ${args.name} changed`);
  }
}
