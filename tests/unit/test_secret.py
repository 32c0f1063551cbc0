"""A password is a ``Secret``: no ordinary way of looking at a credential shows it."""

from __future__ import annotations

import copy
import dataclasses
import logging
import pickle

import pytest

from redshift_ephemeral.secret import Secret
from tests.conftest import make_credential

PASSWORD = "Tr1cky:pa55/word'with\\everything"


def test_every_ordinary_view_of_a_secret_hides_it() -> None:
    secret = Secret(PASSWORD)
    views = [repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>40}", "%s" % secret]  # noqa: UP031
    assert all(PASSWORD not in view for view in views), views
    assert secret.reveal() == PASSWORD


def test_a_secret_cannot_be_pickled_changed_or_hashed() -> None:
    secret = Secret(PASSWORD)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    with pytest.raises(AttributeError):
        secret._value = "other"
    with pytest.raises(TypeError):
        hash(secret)
    assert copy.copy(secret) is secret
    assert copy.deepcopy(secret) is secret
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")


def test_a_secret_holds_text_only() -> None:
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_vars_asdict_and_pickle_of_a_credential_do_not_expose_the_password() -> None:
    credential = make_credential(password=PASSWORD)
    assert isinstance(credential.password, Secret)
    assert PASSWORD not in repr(vars(credential))
    assert PASSWORD not in repr(dataclasses.asdict(credential))
    assert PASSWORD not in str(dataclasses.astuple(credential))
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(credential)
    # The renderings the user asks for do carry it.
    assert credential.libpq_params()["password"] == PASSWORD


def test_a_credential_built_with_a_plain_string_keeps_it_as_a_secret() -> None:
    credential = dataclasses.replace(make_credential(), password=PASSWORD)  # type: ignore[arg-type]
    assert isinstance(credential.password, Secret)
    assert credential.password.reveal() == PASSWORD


def test_logging_a_credential_shows_no_password(caplog: pytest.LogCaptureFixture) -> None:
    credential = make_credential(password=PASSWORD)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").debug(
            "credential %s %r %s", credential, credential, vars(credential)
        )
    assert caplog.records
    assert PASSWORD not in caplog.text


def test_a_secret_equals_only_another_secret_with_the_same_value() -> None:
    assert Secret("same") == Secret("same")
    assert Secret("same") != Secret("other")
    assert Secret("same") != "same"  # never compared with the plain text
