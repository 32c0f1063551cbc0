"""A credential source: one target, one database identity, one AWS identity, one TLS policy.

The object users hold. ``get()`` returns a fresh credential from the cache, which calls AWS
only when a refresh is due. Everything it needs is built once and reused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Unpack

from .aws.identity import AwsIdentity, RoleToAssume
from .cache import CacheKey, CredentialCache, default_cache
from .config import SourceOptions
from .credentials import Credential
from .errors import ConfigurationError
from .targets import DEFAULT_DURATION_SECONDS, CredentialRequest, Deployment, Target
from .tls import DEFAULT_SSLMODE, TlsSettings

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
        # The cache key: what decides the password, and nothing secret.
        self.key = CacheKey(self.identity, request, self.tls, label=_label(request, self.identity))

    @classmethod
    def from_options(cls, **options: Unpack[SourceOptions]) -> CredentialSource:
        """Build a source from plain options (``config.OPTIONS`` and the program-only ones
        in ``config.PROGRAM_ONLY_OPTIONS``); every value is validated before any AWS call.

        ``role_arn`` may be a list: a chain of roles, assumed in order (cross-account). The
        external id, session name and MFA serial apply to the last (or only) role."""
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
        return cls(request, identity, tls, cache=options.get("cache"))

    @classmethod
    def from_config(
        cls, *, environ: Mapping[str, str] | None = None, **overrides: Unpack[SourceOptions]
    ) -> CredentialSource:
        """A source as the command line builds one: ``overrides`` (like flags) >
        ``REDSHIFT_EPHEMERAL_<NAME>`` variables > nothing. So after
        ``eval "$(redshift-ephemeral local env)"``, ``from_config(db_user="alice")`` is
        ``redshift-ephemeral creds --db-user alice``. An override of None counts as not given.
        A role is assumed with the AWS CLI's STS cache unless ``sts_cache_dir`` says
        otherwise. ``environ`` defaults to ``os.environ``."""
        return cls._configured(None, environ, overrides)

    @classmethod
    def from_target(
        cls,
        name: str,
        /,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: Unpack[SourceOptions],
    ) -> CredentialSource:
        """The named target ``[targets.<name>]`` of
        ``$XDG_CONFIG_HOME/redshift-ephemeral/config.toml``, with ``from_config``'s
        precedence: ``overrides`` > environment > the target's table."""
        return cls._configured(name, environ, overrides)

    @classmethod
    def _configured(
        cls, target: str | None, environ: Mapping[str, str] | None, overrides: SourceOptions
    ) -> CredentialSource:
        from .config import resolve

        environ = os.environ if environ is None else environ
        return cls.from_options(**resolve(overrides, target=target, environ=environ))

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
    ) -> IamPolicy:
        """The least-privilege IAM policy this source needs (``redshift-ephemeral policy``).

        ``account`` defaults to the caller's (sts:GetCallerIdentity) and the region to the
        target's or the identity's; the database to the cluster's own when discovery can
        tell. ``self_service``: AWS's pattern where any session of the role ``role_id``
        (default: the caller's current role) gets credentials as the database user named
        like its session."""
        from .aws.issuers import issuer_for
        from .aws.policy import policy_document

        if account is not None and not (account.isdigit() and len(account) == 12):
            raise ConfigurationError(
                f"Invalid account {account!r}: an AWS account id is 12 digits."
            )
        issuer = issuer_for(self.identity)
        inputs = issuer.policy_inputs(self.request, account)
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
        )
        return IamPolicy(document, account_known=inputs.account is not None)

    def _fetch(self) -> Credential:
        issue = self._issuer
        if issue is None:
            from .aws.issuers import issuer_for  # AWS clients are built on the first fetch only

            # Held here: the registry holds issuers weakly, for as long as a source uses one.
            issue = self._issuer = issuer_for(self.identity).issue
        credential = issue(self.request)
        return credential.with_tls(self.tls.sslmode, self.tls.root_certificate())


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
