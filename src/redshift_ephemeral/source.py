"""A credential source: one target, one database identity, one AWS identity, one TLS policy.

The object users hold. ``get()`` returns a fresh credential from the cache, which calls AWS
only when a refresh is due. Everything it needs is built once and reused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .aws.identity import AwsIdentity, MfaTokenProvider, RetryMode, RoleToAssume
from .cache import CacheKey, CredentialCache, default_cache
from .credentials import Credential
from .errors import ConfigurationError
from .targets import DEFAULT_DURATION_SECONDS, CredentialRequest, Deployment, Target
from .tls import DEFAULT_SSLMODE, TlsSettings

if TYPE_CHECKING:
    import boto3

Issuer = Callable[[CredentialRequest], Credential]


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
    def from_options(
        cls,
        *,
        cluster_id: str | None = None,
        workgroup: str | None = None,
        custom_domain: str | None = None,
        serverless: bool = False,
        host: str | None = None,
        port: int | None = None,
        database: str | None = None,
        db_user: str | None = None,
        db_groups: Iterable[str] = (),
        auto_create: bool = False,
        duration_seconds: int = DEFAULT_DURATION_SECONDS,
        region: str | None = None,
        profile: str | None = None,
        session: boto3.Session | None = None,
        role_arn: str | Iterable[str] | None = None,
        external_id: str | None = None,
        session_name: str | None = None,
        mfa_serial: str | None = None,
        mfa_token_provider: MfaTokenProvider | None = None,
        endpoint_url: str | None = None,
        retry_mode: RetryMode = "standard",
        max_attempts: int = 5,
        sts_cache_dir: str | None = None,
        sslmode: str = DEFAULT_SSLMODE,
        sslrootcert: str | None = None,
        cache: CredentialCache | None = None,
    ) -> CredentialSource:
        """Build a source from plain options; every value is validated before any AWS call.

        ``role_arn`` may be a list: a chain of roles, assumed in order (cross-account). The
        external id, session name and MFA serial apply to the last (or only) role."""
        target = Target.from_options(
            cluster_id=cluster_id,
            workgroup=workgroup,
            custom_domain=custom_domain,
            serverless=serverless,
            host=host,
            port=port,
            region=region,
        )
        request = CredentialRequest(
            target=target,
            db_user=db_user,
            db_name=database,
            db_groups=tuple(db_groups),
            auto_create=auto_create,
            duration_seconds=duration_seconds,
        )
        arns = [role_arn] if isinstance(role_arn, str) else list(role_arn or [])
        role_only = {
            "external_id": external_id,
            "session_name": session_name,
            "mfa_serial": mfa_serial,
        }
        given = sorted(name for name, value in role_only.items() if value is not None)
        if given and not arns:
            raise ConfigurationError(
                f"{', '.join(given)} given without a role to assume: they apply to role_arn "
                "(--role-arn). Give the role, or drop them."
            )
        roles = tuple(RoleToAssume(arn) for arn in arns[:-1])
        if arns:
            roles += (
                RoleToAssume(
                    arns[-1],
                    external_id=external_id,
                    session_name=session_name,
                    mfa_serial=mfa_serial,
                ),
            )
        identity = AwsIdentity(
            profile=profile,
            region=region or target.region,
            roles=roles,
            endpoint_url=endpoint_url,
            retry_mode=retry_mode,
            max_attempts=max_attempts,
            session=session,
            mfa_token_provider=mfa_token_provider,
            sts_cache_dir=sts_cache_dir,
        )
        return cls(request, identity, TlsSettings(sslmode, sslrootcert), cache=cache)

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


def source_from(source: CredentialSource | None, options: dict[str, Any]) -> CredentialSource:
    """``source`` itself, or one built from ``options`` - for functions that take either."""
    if source is None:
        return CredentialSource.from_options(**options)
    if options:
        raise ConfigurationError(
            f"Give either a CredentialSource or source options ({', '.join(sorted(options))}),"
            " not both."
        )
    return source
