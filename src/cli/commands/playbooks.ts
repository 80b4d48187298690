import { isAbsolute, join } from 'node:path';
import type { Command } from 'commander';
import { lintPlaybookDirectory } from '../../playbooks/playbook-lint.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';

/** `wmi-hunter playbooks lint [dir]`: the same checks the service runs at boot and the tests run. */
export function registerPlaybooks(program: Command, io: CliIo): void {
  const playbooks = program.command('playbooks').summary('work with playbooks (playbooks/*.yaml)');
  playbooks
    .command('lint')
    .summary('check every playbook against the strict schema and the lint rules')
    .description('Exit codes: 0 all playbooks pass, 2 a problem was found (each is printed as file: path: message).')
    .argument('[directory]', 'the playbook directory (default $PLAYBOOKS_DIR or ./playbooks)')
    .action(async (directory: string | undefined) => {
      const chosen = directory ?? io.env.PLAYBOOKS_DIR ?? 'playbooks';
      const { playbooks: loaded, problems } = await lintPlaybookDirectory(isAbsolute(chosen) ? chosen : join(io.cwd, chosen));
      for (const problem of problems) io.stderr(`${problem.file}: ${problem.path}: ${problem.message}\n`);
      if (problems.length === 0) io.stdout(`${loaded.length} playbooks pass: ${loaded.map((entry) => entry.playbook.name).join(', ')}\n`);
      io.setExitCode(problems.length === 0 ? ExitCode.Ok : ExitCode.BadInput);
    });
}
