// `berth completion bash|zsh`: a shell script that completes commands, resource types, flags and
// (for get/describe/delete) object names, which it asks the API for with `berth get -o name`.
import { kinds } from '../../api/kinds.js';
import { UsageError } from '../io.js';
import type { CommandContext } from '../context.js';

const FLAGS = [
  '--kubeconfig',
  '--context',
  '--namespace',
  '-n',
  '--all-namespaces',
  '-A',
  '--selector',
  '-l',
  '--field-selector',
  '--output',
  '-o',
  '--filename',
  '-f',
  '--help',
];

/** Pure: the bash completion script; zsh loads it through bashcompinit. */
export function bashCompletion(commandNames: readonly string[]): string {
  const resources = [...new Set(kinds.flatMap((k) => [k.plural, ...k.shortNames]))].sort();
  return `# berth completion for bash. Load it with: source <(berth completion bash)
_berth() {
  local cur prev cmd i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --kubeconfig|--context|--namespace|-n) ((i++)) ;;
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$prev" in
    -o|--output) COMPREPLY=($(compgen -W "wide name yaml json jsonpath=" -- "$cur")); return ;;
    -f|--filename|--kubeconfig|--data-dir|--root-dir) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -n|--namespace)
      COMPREPLY=($(compgen -W "$(berth get namespaces -o name 2>/dev/null | sed 's|.*/||')" -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "${FLAGS.join(' ')}" -- "$cur")); return
  fi
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "${commandNames.join(' ')}" -- "$cur")); return
  fi
  case "$cmd" in
    get|describe|delete|wait)
      local kind="" j
      for ((j = i + 1; j < COMP_CWORD; j++)); do
        [[ "\${COMP_WORDS[j]}" != -* ]] && { kind="\${COMP_WORDS[j]}"; break; }
      done
      if [[ -z "$kind" ]]; then
        COMPREPLY=($(compgen -W "${resources.join(' ')}" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "$(berth get "$kind" -o name 2>/dev/null | sed 's|.*/||')" -- "$cur"))
      fi ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
    driver) COMPREPLY=($(compgen -W "local nfs rbd" -- "$cur")) ;;
  esac
}
complete -F _berth berth
`;
}

export function zshCompletion(commandNames: readonly string[]): string {
  return `#compdef berth
# berth completion for zsh. Load it with: source <(berth completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(commandNames)}`;
}

/** The command names come from the caller: the command table lazily imports this file. */
export async function runCompletion(
  ctx: CommandContext,
  argv: string[],
  commandNames: readonly string[],
): Promise<number> {
  const [shell, ...extra] = argv;
  if (extra.length > 0) throw new UsageError(`completion: unexpected argument "${extra[0]}"`);
  if (shell === 'bash') ctx.io.stdout.write(bashCompletion(commandNames));
  else if (shell === 'zsh') ctx.io.stdout.write(zshCompletion(commandNames));
  else throw new UsageError(`completion: expected bash or zsh, got "${shell ?? ''}"`);
  return 0;
}
