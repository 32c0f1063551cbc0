"""The package's public surface and its optional parts."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
import types

import pytest

import redshift_ephemeral
from redshift_ephemeral import ConfigurationError, CredentialRequest, CredentialSource, Target
from tests.conftest import make_credential


def test_every_public_name_resolves_to_the_object_not_a_submodule() -> None:
    # Importing every submodule binds each as a package attribute; a public name that is
    # also a module name would then be shadowed by the module.
    for module in pkgutil.walk_packages(redshift_ephemeral.__path__, "redshift_ephemeral."):
        if ".local." in module.name or module.name.endswith(("__main__", ".local")):
            continue
        if module.name.endswith(".airflow.hooks") and importlib.util.find_spec("airflow") is None:
            continue  # the hook subclasses Airflow's; the interop suite imports it in Airflow
        importlib.import_module(module.name)
    for name in redshift_ephemeral.__all__:
        value = getattr(redshift_ephemeral, name)
        assert not isinstance(value, types.ModuleType), name


def stub_source() -> CredentialSource:
    return CredentialSource(
        CredentialRequest(Target.cluster("demo"), db_user="alice"),
        issuer=lambda request: make_credential(),
    )


@pytest.mark.parametrize(
    ("driver", "extra"),
    [
        ("psycopg2", "psycopg2"),
        ("psycopg", "psycopg"),
        ("redshift_connector", "redshift_connector"),
    ],
)
def test_a_missing_driver_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, driver: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, driver, None)  # import now raises ImportError
    with pytest.raises(ConfigurationError, match=rf"pip install 'redshift-ephemeral\[{extra}\]'"):
        redshift_ephemeral.connect(stub_source(), driver=driver)  # type: ignore[arg-type]


def test_a_missing_sqlalchemy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(ConfigurationError, match=r"redshift-ephemeral\[sqlalchemy\]"):
        redshift_ephemeral.create_engine(stub_source())


def test_the_version_comes_from_the_installed_metadata() -> None:
    from importlib.metadata import version

    assert redshift_ephemeral.__version__ == version("redshift-ephemeral")


def test_the_pytest_plugin_costs_nothing_until_a_fixture_runs() -> None:
    """Every pytest run of every user who installed the package loads the plugin."""
    import subprocess

    heavy = (
        "redshift_ephemeral.local.stack",
        "redshift_ephemeral.local.postgres",
        "boto3",
        "botocore",
        "moto",
        "psycopg",
        "trustme",
        "urllib.request",
    )
    code = (
        "import sys, redshift_ephemeral.local.pytest_plugin as plugin\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
        "assert plugin.redshift_local_stack and plugin.redshift_local\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
