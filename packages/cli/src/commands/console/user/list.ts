import { Command } from '@oclif/core';
import { configFlag, failWith, loadConfigOrExit } from '../../../shared.js';

export default class ConsoleUserList extends Command {
  static override summary = 'List the web console users and their roles';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> console user list', '<%= config.bin %> console user list --json'];
  static override flags = { config: configFlag };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(ConsoleUserList);
    const { ConsoleUsers } = await import('@imspect/console/users');
    const loaded = await loadConfigOrExit(flags.config);
    let list;
    try {
      list = (await new ConsoleUsers(loaded.dataDir).list()).map(({ name, role, created, changed }) => ({ name, role, created, changed }));
    } catch (error) {
      failWith(error, 1);
    }
    if (!this.jsonEnabled()) {
      if (list.length === 0) this.log('No console users (imspect console user add NAME --role admin).');
      for (const u of list) this.log(`${u.name}\t${u.role}\tpassword set ${u.changed}`);
    }
    return { users: list };
  }
}
