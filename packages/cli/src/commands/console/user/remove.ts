import { Args, Command } from '@oclif/core';
import { configFlag, failWith, loadConfigOrExit } from '../../../shared.js';

export default class ConsoleUserRemove extends Command {
  static override summary = 'Remove a web console user (their open sessions end at their next request)';
  static override examples = ['<%= config.bin %> console user remove alice'];
  static override args = { name: Args.string({ description: 'user name', required: true }) };
  static override flags = { config: configFlag };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ConsoleUserRemove);
    const { ConsoleUsers } = await import('@imspect/console/users');
    const loaded = await loadConfigOrExit(flags.config);
    try {
      await new ConsoleUsers(loaded.dataDir).remove(args.name);
    } catch (error) {
      failWith(error, 1);
    }
    this.log(`console user ${args.name} removed`);
  }
}
