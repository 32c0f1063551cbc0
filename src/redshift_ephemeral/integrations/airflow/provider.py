"""``get_provider_info``: the ``apache_airflow_provider`` entry point Airflow's
``ProvidersManager`` loads (``pyproject.toml``). It names the connection type and its hook,
and (for Airflow >= 3.2, which reads them without importing the hook) the connection form.
Imports nothing of Airflow."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .connection import CONN_TYPE, HOOK_NAME, conn_fields, ui_field_behaviour

PACKAGE_NAME = "redshift-ephemeral"
HOOK_CLASS_NAME = "redshift_ephemeral.integrations.airflow.hooks.RedshiftEphemeralHook"


def get_provider_info() -> dict[str, Any]:
    """The provider's description, as ``airflow/provider_info.schema.json`` defines it."""
    try:
        versions = [version(PACKAGE_NAME)]
    except PackageNotFoundError:  # running from a source tree that is not installed
        versions = []
    behaviour = ui_field_behaviour()
    return {
        "package-name": PACKAGE_NAME,
        "name": "redshift-ephemeral",
        "description": (
            "Amazon Redshift with short-lived database passwords issued by AWS for your IAM "
            "identity, refreshed ahead of expiry and shared by a worker's task processes, "
            "over verified TLS."
        ),
        "versions": versions,
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": HOOK_CLASS_NAME,
                "hook-name": HOOK_NAME,
                "conn-fields": conn_fields(),
                "ui-field-behaviour": {
                    "hidden-fields": behaviour["hidden_fields"],
                    "relabeling": behaviour["relabeling"],
                    "placeholders": behaviour["placeholders"],
                },
            }
        ],
        # Airflow < 2.2 reads hooks from here only; later versions prefer connection-types.
        "hook-class-names": [HOOK_CLASS_NAME],
    }
