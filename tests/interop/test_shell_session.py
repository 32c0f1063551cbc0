"""The README's own flow, in a real shell: ``local up`` in the background, ``eval "$(local
env)"``, then third-party clients with nothing else - the environment comes from the shell,
not from the test. (That stack is the shell's own, so the passwords it issues are not in the
leak scan's record; its outputs still go to the scan.)"""

from __future__ import annotations

import json

from .conftest import Client, assert_succeeded

SESSION = """
set -eu
trap 'redshift-ephemeral local down >/dev/null' EXIT
redshift-ephemeral local up >/dev/null
eval "$(redshift-ephemeral local env)"
aws sts get-caller-identity --output json
redshift-ephemeral exec -- psql -tAc 'SELECT COUNT(*) FROM my_table'
"""


def test_local_up_then_eval_local_env_is_all_a_shell_needs(client: Client) -> None:
    env = {key: value for key, value in client.environment("awscli").items()}
    for name in client.stack.environment():  # nothing of the session's stack
        env.pop(name)
    # The system's temporary directory, not the private one: run as root, the stack starts
    # PostgreSQL as an unprivileged account in a directory made under TMPDIR, which that
    # account cannot reach inside a root-only one (initdb: "Permission denied").
    env.pop("TMPDIR")
    result = client.run(["bash", "-c", SESSION], environment=env, timeout=180)
    assert_succeeded(result)
    identity_json, _, count = result.stdout.rpartition("}")
    assert json.loads(identity_json + "}")["Arn"].endswith(":user/alice")
    assert count.strip() == "42"
