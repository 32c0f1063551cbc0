"""Print a shell completion script: commands, their options, and named targets from the
config file.

  eval "$(redshift-ephemeral completion bash)"     # add it to ~/.bashrc
  eval "$(redshift-ephemeral completion zsh)"      # add it to ~/.zshrc
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", nargs="?", choices=("bash", "zsh"), default="bash")
    parser.add_argument(
        "--targets",
        action="store_true",
        help="list named targets from the config file (used by the script)",
    )


def bash_script() -> str:
    from .main import build_parser

    parser = build_parser()
    cases = []
    commands = []
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for name, sub in getattr(action, "choices", {}).items():
            commands.append(name)
            options = sorted(
                {
                    flag
                    for sub_action in sub._actions
                    for flag in sub_action.option_strings
                    if flag.startswith("--")
                }
            )
            cases.append(f'    {name}) opts="{" ".join(options)}" ;;')
    case_block = "\n".join(cases)
    return f"""_redshift_ephemeral() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "{" ".join(commands)} --debug --help" -- "$cur")); return
  fi
  case "${{COMP_WORDS[1]}}" in
{case_block}
  esac
  if [[ "$cur" != -* ]]; then
    opts="$opts $(redshift-ephemeral completion --targets 2>/dev/null)"
  fi
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}}
complete -F _redshift_ephemeral redshift-ephemeral"""


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.targets:
        from .. import configured_targets

        print(" ".join(configured_targets(environ)))
        return 0
    script = bash_script()
    if args.shell == "zsh":
        script = "autoload -U +X bashcompinit && bashcompinit\n" + script
    print(script)
    return 0
