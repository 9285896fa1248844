import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { CliIo } from './cli-io.js';
import { addApiKeyCommands } from './commands/api-key-commands.js';
import { addClusterCommands } from './commands/cluster-commands.js';
import { addDeadLetterCommands } from './commands/dead-letter-commands.js';
import { addScheduleCommands } from './commands/schedule-commands.js';
import { addTaskCommands } from './commands/task-commands.js';
import { addWorkflowCommands } from './commands/workflow-commands.js';
import { DEFAULT_SERVER } from './connection.js';
import { EXIT_CODES_HELP } from './exit-code.js';
import { OUTPUT_FORMATS } from './printer.js';

const HELP_AFTER = `
Connection: each setting comes from the first that sets it: flag, environment
(TASKD_SERVER, TASKD_TOKEN), the config file's context, the config file's top level.
The config file is --config, else $TASKCTL_CONFIG, else ~/.config/taskd/taskctl.yaml:

  server: http://127.0.0.1:8080
  current-context: prod             # or --context / $TASKCTL_CONTEXT
  contexts:
    prod: { server: https://taskd.example.com, token: "<api key>", namespace: payments }

Output: readable tables by default; -o json prints the API's JSON (watch: one JSON
document per line); -o id prints only ids. Errors go to stderr as one line,
"taskctl: <code>: <message>", followed by any field violations.

${EXIT_CODES_HELP}
`;

const version = (): string => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

/**
 * The whole command tree. Commander's parse errors and help go through `io`, and every
 * exit becomes a thrown CommanderError (see run.ts) instead of process.exit.
 */
export function buildProgram(io: CliIo): Command {
  const program = new Command('taskctl')
    .description('taskd from the command line: submit and follow tasks and workflows, manage schedules, dead letters, API keys; see the cluster.')
    .version(version(), '-V, --version')
    .option('-s, --server <url>', `apiserver URL or host:port (env TASKD_SERVER; default ${DEFAULT_SERVER})`)
    .option('--token <token>', 'bearer token or API key, sent as "authorization: Bearer" (env TASKD_TOKEN)')
    .option('-n, --namespace <ns>', 'namespace to act in (default: the context\'s, else "default")')
    .option('--context <name>', 'context of the config file to use (env TASKCTL_CONTEXT)')
    .option('--config <path>', 'config file (env TASKCTL_CONFIG; default ~/.config/taskd/taskctl.yaml)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .option('--request-timeout <duration>', 'deadline of each request', '30s')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: (s, write) => write(`taskctl: usage: ${s.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', HELP_AFTER);
  addTaskCommands(program, io);
  addWorkflowCommands(program, io);
  addScheduleCommands(program, io);
  addDeadLetterCommands(program, io);
  addClusterCommands(program, io);
  addApiKeyCommands(program, io);
  return program;
}

/** Every command below `root` as its path of names (`["workflow", "submit"]`), parents before children. */
export function commandPaths(root: Command, prefix: string[] = []): string[][] {
  return root.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}
