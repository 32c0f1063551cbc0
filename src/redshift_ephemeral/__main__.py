"""``python -m redshift_ephemeral`` is the ``redshift-ephemeral`` command."""

import sys

from .cli.main import main

sys.exit(main())
