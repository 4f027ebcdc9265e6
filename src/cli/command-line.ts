// Pure: kubectl accepts its global flags before the subcommand too (`berth -n team get pvc`,
// `berth --kubeconfig k get pv`). This moves them after it, where each command parses them.
import { UsageError } from './io.js';

/** Global flags that take a value, by every spelling. */
const GLOBAL_WITH_VALUE = new Set(['--kubeconfig', '--context', '--namespace', '-n']);

/** `[global flags] COMMAND [args]` -> the command and its arguments (globals appended). */
export function commandLine(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  const globals: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-') || arg === '-h' || arg === '--help') break;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (!GLOBAL_WITH_VALUE.has(flag)) throw new UsageError(`unknown flag: ${arg}`);
    if (eq > 0) {
      globals.push(arg);
      i += 1;
    } else {
      const value = argv[i + 1];
      if (value === undefined) throw new UsageError(`flag needs an argument: ${arg}`);
      globals.push(arg, value);
      i += 2;
    }
  }
  return { name: argv[i], rest: [...argv.slice(i + 1), ...globals] };
}
