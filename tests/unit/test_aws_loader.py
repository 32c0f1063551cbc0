"""The botocore loader of our own sessions (``clients._Loader``) loads a model without listing
every service botocore has, and otherwise behaves as botocore's."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import botocore.loaders
import pytest
from botocore.exceptions import UnknownServiceError

from redshift_ephemeral.aws.clients import _new_session


def test_a_client_is_made_without_listing_every_service() -> None:
    session = _new_session()
    with mock.patch.object(
        botocore.loaders.Loader, "list_available_services", autospec=True
    ) as listing:
        client = session.create_client("redshift", region_name="us-east-1")
    assert client.meta.service_model.service_name == "redshift"
    assert listing.call_count == 0


def test_an_unknown_service_gets_botocores_own_error() -> None:
    with pytest.raises(UnknownServiceError, match="redshift"):  # the known names are listed
        _new_session().create_client("no-such-service", region_name="us-east-1")


def test_the_services_listed_are_all_of_botocores() -> None:
    assert _new_session().get_available_services() == (
        botocore.loaders.Loader().list_available_services("service-2")
    )


def test_aws_data_path_is_searched_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    loader = _new_session().get_component("data_loader")
    assert loader.search_paths[0] == str(tmp_path)
