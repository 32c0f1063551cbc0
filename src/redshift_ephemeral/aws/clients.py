"""boto3 clients for an AWS identity: one session per identity and one client per service
and region, built once and reused for every call.

boto3's own credential chain does the work (environment, profile, SSO, container or instance
role, web identity). On top of it an optional chain of roles is assumed through botocore's
own refreshing assume-role machinery.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import DataNotFoundError, NoCredentialsError, ProfileNotFound
from botocore.loaders import Loader
from botocore.utils import JSONFileCache, is_valid_endpoint_url, is_valid_ipv6_endpoint_url

from .._private_files import private_directory
from ..errors import ConfigurationError
from .identity import AwsIdentity

if TYPE_CHECKING:
    import boto3
    from botocore.client import BaseClient
    from mypy_boto3_redshift import RedshiftClient
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient
    from mypy_boto3_redshift_serverless import RedshiftServerlessClient
    from mypy_boto3_sts import STSClient


class _FixedCredentialProvider(CredentialProvider):
    METHOD = "assume-role"
    CANONICAL_NAME = "redshift-ephemeral-assume-role"

    def __init__(self, credentials: Credentials):
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


class _Loader(Loader):
    """botocore's loader, for the sessions built here. Before it loads a model, botocore
    lists every service it has - some 400 directories, once per kind of model (the API, the
    endpoint rules): about 20 ms of a cold ``creds`` - only to check that the one asked for
    is among them. This checks that one (``list_api_versions``, which botocore asks next
    anyway); an unknown service still gets botocore's own error, with the full list."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._loading = threading.local()

    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        try:
            self.list_api_versions(service_name, type_name)
        except DataNotFoundError:
            return super().load_service_model(service_name, type_name, api_version)
        self._loading.service = service_name
        try:
            return super().load_service_model(service_name, type_name, api_version)
        finally:
            self._loading.service = None

    def list_available_services(self, type_name: str) -> list[str]:
        service: str | None = getattr(self._loading, "service", None)
        if service is not None:  # known to exist: see load_service_model
            return [service]
        return super().list_available_services(type_name)


def _new_session(profile: str | None = None) -> botocore.session.Session:
    """A botocore session with ``_Loader``, honouring AWS_DATA_PATH as botocore does."""
    session = botocore.session.Session(profile=profile)
    data_path = session.get_config_variable("data_path")
    paths = (
        [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)]
        if data_path
        else None
    )
    session.register_component("data_loader", _Loader(extra_search_paths=paths))
    return session


@dataclass(frozen=True)
class BotocoreSession:
    """What this module needs of a session: make clients, read credentials and region.
    Built on botocore alone (boto3 adds ~70 ms of imports for S3 transfers we never use);
    a caller's own ``boto3.Session`` is adapted as it is."""

    create_client: Callable[..., BaseClient]
    get_credentials: Callable[[], Credentials | None]
    region_name: str | None

    @classmethod
    def of_boto3(cls, session: boto3.Session) -> BotocoreSession:
        return cls(session.client, session.get_credentials, session.region_name)

    @classmethod
    def of_botocore(cls, session: botocore.session.Session) -> BotocoreSession:
        region = session.get_config_variable("region")
        return cls(session.create_client, session.get_credentials, str(region) if region else None)


class AwsClients:
    """One session per identity and one client per (service, region), built once."""

    def __init__(self, identity: AwsIdentity):
        url = identity.endpoint_url
        if url is not None and not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
            raise ConfigurationError(
                f"Invalid endpoint URL {url!r}: botocore cannot use this host name. Expected "
                "http(s)://host[:port], such as https://redshift.us-east-1.amazonaws.com."
            )
        self.identity = identity
        self._lock = threading.Lock()
        self._session: BotocoreSession | None = None
        self._clients: dict[tuple[str, str | None], BaseClient] = {}
        self._config = Config(
            retries={"mode": identity.retry_mode, "total_max_attempts": identity.max_attempts},
            user_agent_extra="redshift-ephemeral",
            connect_timeout=10,
            read_timeout=30,
            # The cache fetches different credentials concurrently (64 keys at once must not
            # queue behind botocore's default of 10 pooled connections).
            max_pool_connections=64,
        )

    @property
    def session(self) -> BotocoreSession:
        with self._lock:
            if self._session is None:
                try:
                    self._session = self._build_session()
                except ProfileNotFound as error:
                    # Here, not only around AWS calls: the region and a role's source
                    # credentials are read from the profile before any call is made.
                    raise ConfigurationError(
                        f"AWS profile not found: {error}. List your profiles with `aws "
                        "configure list-profiles`, or drop --profile."
                    ) from None
            return self._session

    def region(self, wanted: str | None = None) -> str | None:
        return wanted or self.identity.region or self.session.region_name

    def redshift(self, region: str | None = None) -> RedshiftClient:
        return self.client("redshift", region)  # type: ignore[return-value]

    def redshift_data(self, region: str | None = None) -> RedshiftDataAPIServiceClient:
        return self.client("redshift-data", region)  # type: ignore[return-value]

    def redshift_serverless(self, region: str | None = None) -> RedshiftServerlessClient:
        return self.client("redshift-serverless", region)  # type: ignore[return-value]

    def sts(self, region: str | None = None) -> STSClient:
        return self.client("sts", region)  # type: ignore[return-value]

    def client(self, service: str, region: str | None = None) -> BaseClient:
        region = self.region(region)
        key = (service, region)
        client = self._clients.get(key)
        if client is None:
            session = self.session
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = session.create_client(
                        service,
                        region_name=region,
                        endpoint_url=self.identity.endpoint_url,
                        config=self._config,
                    )
                    self._clients[key] = client
        return client

    def _build_session(self) -> BotocoreSession:
        identity = self.identity
        if identity.session is not None:
            base = BotocoreSession.of_boto3(identity.session)
        else:
            session = _new_session(identity.profile)
            if identity.region:
                session.set_config_variable("region", identity.region)
            base = BotocoreSession.of_botocore(session)
        if not identity.roles:
            return base
        credentials: Credentials | None = base.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        region = identity.region or base.region_name
        client_creator = functools.partial(
            base.create_client,
            region_name=region,
            endpoint_url=identity.endpoint_url,
            config=self._config,
        )
        cache = (
            # Temporary AWS credentials live there: the directory is made (or kept) private.
            JSONFileCache(working_dir=str(private_directory(Path(identity.sts_cache_dir))))
            if identity.sts_cache_dir
            else None
        )
        for role in identity.roles:
            fetcher = AssumeRoleCredentialFetcher(
                client_creator=client_creator,
                source_credentials=credentials,
                role_arn=role.arn,
                extra_args=role.assume_role_args(),
                mfa_prompter=identity.mfa_token_provider,
                cache=cache,  # type: ignore[arg-type]  # any mapping will do
            )
            # The next hop of the chain calls STS with this role's credentials.
            credentials = DeferredRefreshableCredentials(
                refresh_using=fetcher.fetch_credentials, method="assume-role"
            )
        assumed = _new_session()
        assumed.register_component(
            "credential_provider", CredentialResolver([_FixedCredentialProvider(credentials)])
        )
        if region:
            assumed.set_config_variable("region", region)
        return BotocoreSession.of_botocore(assumed)
