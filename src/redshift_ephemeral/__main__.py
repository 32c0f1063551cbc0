"""``python -m redshift_ephemeral`` is the ``redshift-ephemeral`` command."""

from .cli.main import run

run()
