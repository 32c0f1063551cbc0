"""A credential source: one target, one database identity, one AWS identity, one TLS policy.

The object users hold. ``get()`` returns a fresh credential from the cache, which calls AWS
only when a refresh is due. Everything it needs is built once and reused.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Unpack, cast

from .aws.identity import AwsIdentity, RoleToAssume
from .cache import CacheKey, CredentialCache, default_cache
from .config import SourceOptions
from .credentials import Credential
from .errors import ConfigurationError
from .targets import (
    DATA_API_DEFAULT_DATABASE,
    DEFAULT_DURATION_SECONDS,
    CredentialRequest,
    Deployment,
    Endpoint,
    Target,
)
from .tls import DEFAULT_SSLMODE, TlsSettings

if TYPE_CHECKING:
    from .aws.issuers import AwsIssuer

Issuer = Callable[[CredentialRequest], Credential]


@dataclass(frozen=True)
class IamPolicy:
    document: dict[str, Any]  # the policy JSON
    account_known: bool  # False: the account could not be read, the ARNs say '*'


class CredentialSource:
    """Fresh database credentials for one request, refreshed ahead of expiry."""

    def __init__(
        self,
        request: CredentialRequest,
        identity: AwsIdentity | None = None,
        tls: TlsSettings | None = None,
        *,
        cache: CredentialCache | None = None,
        issuer: Issuer | None = None,
    ):
        self.request = request
        self.identity = identity or AwsIdentity()
        self.tls = tls or TlsSettings()
        self._cache = cache or default_cache
        self._issuer = issuer
        self._aws_issuer: AwsIssuer | None = None
        # The cache key: what decides the password, and nothing secret. As text too, for a
        # store shared with other processes.
        shared = (
            _shared_key(request, self.identity, self.tls, os.environ)
            if self._cache.store is not None
            else None
        )
        self._endpoint_key = (
            _endpoint_key(shared) if shared is not None and request.target.host is None else None
        )
        self.key = CacheKey(
            self.identity, request, self.tls, label=_label(request, self.identity), shared=shared
        )

    @classmethod
    def from_options(cls, **options: Unpack[SourceOptions]) -> CredentialSource:
        """Build a source from plain options (``config.OPTIONS`` and the program-only ones
        in ``config.PROGRAM_ONLY_OPTIONS``); every value is validated before any AWS call.

        ``role_arn`` may be a list: a chain of roles, assumed in order (cross-account). The
        external id, session name and MFA serial apply to the last (or only) role.
        ``shared_cache=True`` shares credentials with every process of this user through the
        file store (``FileStore``); by default they stay in this process."""
        request, identity, tls = cls._parts(options)
        return cls(request, identity, tls, cache=_cache_from(options, os.environ))

    @staticmethod
    def _parts(options: SourceOptions) -> tuple[CredentialRequest, AwsIdentity, TlsSettings]:
        """The request, AWS identity and TLS settings ``options`` describe, all validated."""
        unknown = sorted(set(options) - SourceOptions.__optional_keys__)
        if unknown:  # what an explicit signature would refuse, for callers mypy does not check
            raise TypeError(
                f"CredentialSource.from_options() got unexpected keyword argument(s) "
                f"{', '.join(unknown)}; known: {', '.join(sorted(SourceOptions.__optional_keys__))}"
            )
        region = options.get("region")
        target = Target.from_options(
            cluster_id=options.get("cluster_id"),
            workgroup=options.get("workgroup"),
            custom_domain=options.get("custom_domain"),
            serverless=options.get("serverless", False),
            host=options.get("host"),
            port=options.get("port"),
            region=region,
            endpoint_name=options.get("endpoint_name"),
            connect_address=options.get("connect_address"),
        )
        request = CredentialRequest(
            target=target,
            db_user=options.get("db_user"),
            db_name=options.get("database"),
            db_groups=tuple(options.get("db_groups", ())),
            auto_create=options.get("auto_create", False),
            duration_seconds=options.get("duration_seconds", DEFAULT_DURATION_SECONDS),
        )
        role_arn = options.get("role_arn")
        arns = [role_arn] if isinstance(role_arn, str) else list(role_arn or [])
        role_only = {
            "external_id": options.get("external_id"),
            "session_name": options.get("session_name"),
            "mfa_serial": options.get("mfa_serial"),
        }
        given = sorted(name for name, value in role_only.items() if value is not None)
        if given and not arns:
            raise ConfigurationError(
                f"{', '.join(given)} given without a role to assume: they apply to role_arn "
                "(--role-arn). Give the role, or drop them."
            )
        roles = tuple(RoleToAssume(arn) for arn in arns[:-1])
        if arns:
            roles += (RoleToAssume(arns[-1], **role_only),)
        identity = AwsIdentity(
            profile=options.get("profile"),
            region=region or target.region,
            roles=roles,
            endpoint_url=options.get("endpoint_url"),
            retry_mode=options.get("retry_mode", "standard"),
            max_attempts=options.get("max_attempts", 5),
            session=options.get("session"),
            mfa_token_provider=options.get("mfa_token_provider"),
            sts_cache_dir=options.get("sts_cache_dir"),
        )
        tls = TlsSettings(options.get("sslmode", DEFAULT_SSLMODE), options.get("sslrootcert"))
        return request, identity, tls

    @classmethod
    def from_config(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        defaults: Mapping[str, Any] | None = None,
        **overrides: Unpack[SourceOptions],
    ) -> CredentialSource:
        """A source as the command line builds one: ``overrides`` (like flags) >
        ``REDSHIFT_EPHEMERAL_<NAME>`` variables > nothing. So after
        ``eval "$(redshift-ephemeral local env)"``, ``from_config(db_user="alice")`` is
        ``redshift-ephemeral creds --db-user alice``. An override of None counts as not given.
        A role is assumed with the AWS CLI's STS cache unless ``sts_cache_dir`` says
        otherwise. ``environ`` defaults to ``os.environ``; ``defaults`` are values for options
        no layer gives (the CLI's ``{"shared_cache": True}``)."""
        return cls._configured(None, environ, overrides, defaults)

    @classmethod
    def from_target(
        cls,
        name: str,
        /,
        *,
        environ: Mapping[str, str] | None = None,
        defaults: Mapping[str, Any] | None = None,
        **overrides: Unpack[SourceOptions],
    ) -> CredentialSource:
        """The named target ``[targets.<name>]`` of
        ``$XDG_CONFIG_HOME/redshift-ephemeral/config.toml``, with ``from_config``'s
        precedence: ``overrides`` > environment > the target's table > ``defaults``."""
        return cls._configured(name, environ, overrides, defaults)

    @classmethod
    def _configured(
        cls,
        target: str | None,
        environ: Mapping[str, str] | None,
        overrides: SourceOptions,
        defaults: Mapping[str, Any] | None,
    ) -> CredentialSource:
        from .config import resolve

        environ = os.environ if environ is None else environ
        resolved = resolve(overrides, target=target, environ=environ, defaults=defaults or {})
        options = cast(SourceOptions, resolved)
        request, identity, tls = cls._parts(options)
        return cls(request, identity, tls, cache=_cache_from(options, environ))

    @property
    def cache(self) -> CredentialCache:
        """The cache this source's credentials live in."""
        return self._cache

    def __repr__(self) -> str:
        return f"CredentialSource({self.request!r}, sslmode={self.tls.sslmode!r})"

    def get(self) -> Credential:
        """A credential valid for a while yet; calls AWS only when a refresh is due."""
        return self._cache.get(self.key, self._fetch)

    async def aget(self) -> Credential:
        """``get`` for asyncio: never blocks the event loop; one fetch shared across tasks."""
        return await self._cache.aget(self.key, self._fetch)

    def invalidate(self, credential: Credential | None = None) -> None:
        """Forget the cached credential (e.g. the server refused it), so the next ``get``
        fetches a new one."""
        self._cache.invalidate(self.key, credential)

    def iam_policy(
        self,
        *,
        account: str | None = None,
        self_service: bool = False,
        role_id: str | None = None,
        data_api: bool = False,
    ) -> IamPolicy:
        """The least-privilege IAM policy this source needs (``redshift-ephemeral policy``).

        ``account`` defaults to the caller's (sts:GetCallerIdentity) and the region to the
        target's or the identity's; the database to the cluster's own when discovery can
        tell. ``self_service``: AWS's pattern where any session of the role ``role_id``
        (default: the caller's current role) gets credentials as the database user named
        like its session. ``data_api``: what the Data API driver needs instead of endpoint
        discovery (its database defaults to ``dev``)."""
        from .aws.issuers import issuer_for
        from .aws.policy import policy_document

        if account is not None and not (account.isdigit() and len(account) == 12):
            raise ConfigurationError(
                f"Invalid account {account!r}: an AWS account id is 12 digits."
            )
        issuer = issuer_for(self.identity)
        request = self.request
        if data_api and request.db_name is None:
            request = dataclasses.replace(request, db_name=DATA_API_DEFAULT_DATABASE)
        inputs = issuer.policy_inputs(request, account)
        if self_service and role_id is None:
            user_id = issuer.caller_identity(self.request.target).user_id
            if ":" not in user_id:
                raise ConfigurationError(
                    "--self-service needs a role: you are signed in as an IAM user. Pass "
                    "--role-id (aws iam get-role --role-name NAME --query Role.RoleId)."
                )
            role_id = user_id.split(":", 1)[0]
        document = policy_document(
            inputs.request,
            inputs.region or "*",
            inputs.account or "*",
            self_service_role_id=role_id if self_service else None,
            data_api=data_api,
        )
        return IamPolicy(document, account_known=inputs.account is not None)

    def _fetch(self) -> Credential:
        if self._issuer is not None:
            credential = self._issuer(self.request)
        else:
            aws = self._aws_issuer
            if aws is None:
                from .aws.issuers import issuer_for  # AWS clients are built on the first fetch

                # Held here: the registry holds issuers weakly, for as long as a source uses one.
                aws = self._aws_issuer = issuer_for(self.identity)
            credential = aws.issue(self.request, endpoint=self._shared_endpoint(aws))
        credential = credential.with_tls(self.tls.sslmode, self.tls.root_certificate())
        return credential.via(self.request.target.connect_address)

    def _shared_endpoint(self, aws: AwsIssuer) -> Endpoint | None:
        """With a shared store, for a target found by DescribeClusters / GetWorkgroup: the
        endpoint another process discovered, or the one discovered here, shared. None
        otherwise (the issuer finds it itself)."""
        store, key = self._cache.store, self._endpoint_key
        if store is None or key is None or self.request.target.custom_domain is not None:
            return None
        shared = store.load_endpoint(key)
        if shared is not None:
            return Endpoint(*shared)
        endpoint = aws.endpoint(self.request.target)
        store.save_endpoint(key, endpoint.host, endpoint.port, endpoint.default_database)
        return endpoint


def _label(request: CredentialRequest, identity: AwsIdentity) -> str:
    """A short, stable name for log lines: ``alice@demo-cluster (us-east-1)``. Made of
    validated names only; an explicit host (anything a user typed) is left out."""
    target = request.target
    user = request.db_user or "IAM identity"
    if target.name is None:
        where = f"{target.custom_domain}"
    elif target.deployment is Deployment.SERVERLESS:
        where = f"workgroup {target.name}"
    else:
        where = target.name
    region = target.region or identity.region
    return f"{user}@{where} ({region})" if region else f"{user}@{where}"


def _cache_from(options: SourceOptions, environ: Mapping[str, str]) -> CredentialCache | None:
    """The cache ``options`` ask for: theirs, the shared one, or None (the process's)."""
    cache = options.get("cache")
    if not options.get("shared_cache", False):
        return cache
    if cache is not None:
        raise ConfigurationError(
            "Give either cache or shared_cache, not both: shared_cache=True is the process's "
            "cache backed by the shared file store."
        )
    from .file_store import shared_cache

    return shared_cache(environ)


# The AWS CLI's and boto3's variables that choose the AWS identity (never a secret key or a
# token: only where they come from, and the access key id).
_IDENTITY_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "HOME",
)
# Every AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>: where the calls go.
_ENDPOINT_VARIABLES_PREFIX = "AWS_ENDPOINT_URL"


def _aws_files(environ: Mapping[str, str]) -> list[list[object]]:
    """The AWS config and credentials files boto3 reads, as path, inode, modification time
    and size: a profile rewritten (another key, another role, ``aws configure``) makes another
    identity, and so another key - without reading a secret out of them."""
    home = environ.get("HOME") or os.path.expanduser("~")
    paths = (
        environ.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config"),
        environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(home, ".aws", "credentials"),
    )
    described: list[list[object]] = []
    for given in paths:
        path = os.path.expanduser(given)
        try:
            info = os.stat(path)
        except OSError:
            described.append([path, None])
            continue
        described.append([path, info.st_ino, info.st_mtime_ns, info.st_size])
    return described


def _shared_key(
    request: CredentialRequest,
    identity: AwsIdentity,
    tls: TlsSettings,
    environ: Mapping[str, str],
) -> str | None:
    """The cache key as text, equal in every process that would get the same password as
    the same AWS identity: the request, the TLS settings, and the identity as far as it can be
    told without asking AWS (profile, roles, endpoint, the variables boto3 reads, the state of
    the AWS config files, a given session's profile and access key id). None if a given
    session has no credentials yet."""
    aws: dict[str, Any] = {
        "profile": identity.profile,
        "region": identity.region,
        "endpoint_url": identity.endpoint_url,
        "roles": [
            [role.arn, role.external_id, role.session_name, role.mfa_serial]
            for role in identity.roles
        ],
        "environment": {
            name: environ.get(name)
            for name in sorted(
                {
                    *_IDENTITY_VARIABLES,
                    *(name for name in environ if name.startswith(_ENDPOINT_VARIABLES_PREFIX)),
                }
            )
        },
        "files": _aws_files(environ),
    }
    if identity.session is not None:
        credentials = identity.session.get_credentials()
        if credentials is None:
            return None
        aws["session"] = [identity.session.profile_name, credentials.access_key]
    target = request.target
    document = {
        "target": [
            target.deployment.value,
            target.name,
            target.custom_domain,
            target.host,
            target.port,
            target.region,
            target.endpoint_name,
            str(target.connect_address) if target.connect_address is not None else None,
        ],
        "login": [
            request.db_user,
            request.db_name,
            list(request.db_groups),
            request.auto_create,
            request.duration_seconds,
        ],
        "tls": [tls.sslmode, tls.sslrootcert],
        "aws": aws,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _endpoint_key(shared: str) -> str:
    """The part of a shared key that decides a discovered endpoint: target and AWS identity."""
    document = json.loads(shared)
    return json.dumps(
        {"target": document["target"], "aws": document["aws"]},
        sort_keys=True,
        separators=(",", ":"),
    )


def source_from(source: CredentialSource | None, options: SourceOptions) -> CredentialSource:
    """``source`` itself, or one built from ``options`` - for functions that take either."""
    if source is None:
        return CredentialSource.from_options(**options)
    if options:
        raise ConfigurationError(
            f"Give either a CredentialSource or source options ({', '.join(sorted(options))}),"
            " not both."
        )
    return source
