"""The shared file store, and the cache on top of it: what two processes share, what a reader
refuses to trust, and how it falls back to memory. "Two processes" here are two caches over
one directory, each with its own clocks; tests/e2e/test_shared_cache.py runs real ones."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest

from redshift_ephemeral import file_store
from redshift_ephemeral.cache import CacheKey, CredentialCache
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.errors import AccessDeniedError
from redshift_ephemeral.file_store import FileStore, key_digest
from redshift_ephemeral.source import CredentialSource
from redshift_ephemeral.targets import CredentialRequest, Target
from tests.conftest import FakeClock, make_credential

ISSUED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp()
KEY_TEXT = '{"target":"demo-cluster","login":"alice"}'


class Machine:
    """One machine's clocks: one wall clock, the boot's clock (``CLOCK_BOOTTIME``), and a
    monotonic clock per process (each with its own origin), all moving together - but a
    step of the wall clock (``step_wall``) moves the wall clock alone."""

    def __init__(self) -> None:
        self.wall = ISSUED
        self.boot_id = "boot-1"
        self.boot_time = 500.0
        self.clocks: list[FakeClock] = []

    def __call__(self) -> float:
        return self.wall

    def boot(self) -> tuple[str, float]:
        return self.boot_id, self.boot_time

    def step_wall(self, seconds: float) -> None:
        self.wall += seconds

    def process_clock(self) -> FakeClock:
        clock = FakeClock(start=1000.0 * (len(self.clocks) + 1))
        self.clocks.append(clock)
        return clock

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.boot_time += seconds
        for clock in self.clocks:
            clock.advance(seconds)


class Issuer:
    """Counts calls; each credential is issued at the machine's wall clock time."""

    def __init__(self, machine: Machine, lifetime: float = 900.0):
        self.machine = machine
        self.lifetime = lifetime
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> Credential:
        with self._lock:
            self.calls += 1
            number = self.calls
        issued = datetime.fromtimestamp(self.machine.wall, UTC)
        return make_credential(self.lifetime, password=f"password-{number}", issued_at=issued)


@pytest.fixture
def machine() -> Machine:
    return Machine()


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "shared"


def process(directory: Path, machine: Machine, *, lock_timeout: float = 90.0) -> CredentialCache:
    """A cache as one process would hold it: its own memory and monotonic clock, the
    machine's wall clock and the shared directory."""
    store = store_of(directory, machine, lock_timeout=lock_timeout)
    return CredentialCache(clock=machine.process_clock(), store=store)


def store_of(directory: Path, machine: Machine, *, lock_timeout: float = 90.0) -> FileStore:
    return FileStore(
        directory, wall_clock=machine, boot_clock=machine.boot, lock_timeout=lock_timeout
    )


def key(shared: str = KEY_TEXT) -> CacheKey:
    return CacheKey(shared, label="alice@demo-cluster", shared=shared)


def entry_path(directory: Path, shared: str = KEY_TEXT) -> Path:
    return directory / "credentials" / f"{key_digest(shared)}.json"


# -- what is shared ------------------------------------------------------------------------------


def test_a_second_process_takes_the_first_ones_credential(
    directory: Path, machine: Machine
) -> None:
    issuer = Issuer(machine)
    first = process(directory, machine).get(key(), issuer)
    second = process(directory, machine).get(key(), issuer)
    assert issuer.calls == 1
    assert second == first
    assert second.password == first.password
    assert second.sslmode == first.sslmode
    assert second.operation is first.operation


def test_an_entry_is_private_and_named_by_a_hash(directory: Path, machine: Machine) -> None:
    process(directory, machine).get(key(), Issuer(machine))
    path = entry_path(directory)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    names = " ".join(entry.name for entry in path.parent.iterdir())
    for revealing in ("alice", "demo", "password"):
        assert revealing not in names


def test_a_reader_of_the_same_boot_refreshes_on_the_writers_schedule(
    directory: Path, machine: Machine
) -> None:
    """One boot clock for every process: the reader's schedule is the writer's, to the
    second (no margin, so eight processes sharing a key do not refresh early in turn)."""
    issuer = Issuer(machine)
    process(directory, machine).get(key(), issuer)
    machine.advance(600)  # 300 s left: before the advisory point (225 s left)
    reader = process(directory, machine)
    reader.get(key(), issuer)
    assert issuer.calls == 1
    machine.advance(900 * 0.75 - 600 - 0.1)
    reader.get(key(), issuer)
    assert issuer.calls == 1
    machine.advance(0.2)
    reader.get(key(), issuer)
    assert issuer.calls == 2


def test_a_reader_of_another_boot_refreshes_a_little_early(
    directory: Path, machine: Machine
) -> None:
    """Aged on the wall clock (another boot), an entry may be off by an NTP adjustment: the
    reader takes 2 s off its life."""
    issuer = Issuer(machine)
    process(directory, machine).get(key(), issuer)
    machine.boot_id, machine.boot_time = "boot-2", 10.0
    machine.advance(600)
    reader = process(directory, machine)
    reader.get(key(), issuer)
    assert issuer.calls == 1
    machine.advance(900 * 0.75 - 600 - 2.5)
    reader.get(key(), issuer)
    assert issuer.calls == 1
    machine.advance(1.0)  # 1.5 s before the writer's advisory point: within the 2 s margin
    reader.get(key(), issuer)
    assert issuer.calls == 2


def test_an_entry_in_its_mandatory_window_is_not_taken(directory: Path, machine: Machine) -> None:
    issuer = Issuer(machine)
    process(directory, machine).get(key(), issuer)
    machine.advance(900 * 0.9 + 1)
    credential = process(directory, machine).get(key(), issuer)
    assert issuer.calls == 2
    assert credential.password.reveal() == "password-2"


def test_an_expired_entry_is_deleted_when_read(directory: Path, machine: Machine) -> None:
    process(directory, machine).get(key(), Issuer(machine))
    machine.advance(901)
    assert store_of(directory, machine).load(KEY_TEXT) is None
    assert not entry_path(directory).exists()


def test_a_wall_clock_stepped_back_does_not_make_an_entry_live_longer(
    directory: Path, machine: Machine
) -> None:
    """Aged on the boot's clock, which no step of the wall clock moves: 950 s after its
    request a 900 s password is expired, whatever the wall clock says."""
    issuer = Issuer(machine)
    process(directory, machine).get(key(), issuer)
    machine.advance(800)
    machine.step_wall(-300)
    machine.advance(150)
    credential = process(directory, machine).get(key(), issuer)
    assert issuer.calls == 2
    assert credential.password.reveal() == "password-2"


def test_an_entry_from_another_boot_is_aged_on_the_wall_clock(
    directory: Path, machine: Machine
) -> None:
    issuer = Issuer(machine)
    process(directory, machine).get(key(), issuer)
    machine.boot_id, machine.boot_time = "boot-2", 10.0  # a reboot: its clock starts again
    machine.advance(100)
    process(directory, machine).get(key(), issuer)
    assert issuer.calls == 1  # 100 s old by the wall clock: still fresh
    machine.step_wall(-3600)  # ... and "from the future" of another boot: cannot be aged
    process(directory, machine).get(key(), issuer)
    assert issuer.calls == 2


def test_a_refresh_writes_the_new_credential_for_everyone(
    directory: Path, machine: Machine
) -> None:
    issuer = Issuer(machine)
    one, two = process(directory, machine), process(directory, machine)
    one.get(key(), issuer)
    two.get(key(), issuer)
    machine.advance(900 * 0.8)  # advisory window for both
    refreshed = one.get(key(), issuer)
    assert refreshed.password.reveal() == "password-2"
    assert two.get(key(), issuer).password.reveal() == "password-2"
    assert issuer.calls == 2


def test_an_advisory_refresh_another_process_is_making_is_not_repeated(
    directory: Path, machine: Machine
) -> None:
    issuer = Issuer(machine)
    one = process(directory, machine)
    current = one.get(key(), issuer)
    machine.advance(900 * 0.8)
    other = store_of(directory, machine)
    with other.locked(KEY_TEXT, wait=False) as held:  # another process is refreshing
        assert held
        assert one.get(key(), issuer) is current
    assert issuer.calls == 1


def test_cold_processes_wait_for_the_one_fetching(directory: Path, machine: Machine) -> None:
    """Threads with caches of their own stand for processes: one fetch for all."""
    release = threading.Event()
    calls = 0

    def slow_issuer() -> Credential:
        nonlocal calls
        calls += 1
        release.wait(5)
        return Issuer(machine)()

    results: list[Credential] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(process(directory, machine).get(key(), slow_issuer))
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    release.set()
    for thread in threads:
        thread.join(10)
    assert calls == 1
    assert len(results) == 6
    assert len({credential.password.reveal() for credential in results}) == 1


def test_invalidating_removes_the_shared_entry_only_if_it_still_holds_that_password(
    directory: Path, machine: Machine
) -> None:
    issuer = Issuer(machine)
    one = process(directory, machine)
    old = one.get(key(), issuer)
    store = store_of(directory, machine)
    newer = make_credential(password="newer")
    store.save(KEY_TEXT, "alice@demo-cluster", newer, store.now())
    one.invalidate(key(), old)
    assert store.load(KEY_TEXT) is not None  # another process's newer password stays
    one.invalidate(key(), None)
    assert store.load(KEY_TEXT) is None


def test_keys_without_shared_text_stay_in_memory(directory: Path, machine: Machine) -> None:
    issuer = Issuer(machine)
    process(directory, machine).get("plain key", issuer)
    process(directory, machine).get(CacheKey("parts", label="x"), issuer)
    process(directory, machine).get(CacheKey("parts", label="x"), issuer)
    assert issuer.calls == 3
    assert not (directory / "credentials").exists()


# -- what a reader refuses to trust ----------------------------------------------------------------


@pytest.fixture
def written(directory: Path, machine: Machine) -> Path:
    process(directory, machine).get(key(), Issuer(machine))
    return entry_path(directory)


def assert_refetched(directory: Path, machine: Machine) -> None:
    issuer = Issuer(machine)
    credential = process(directory, machine).get(key(), issuer)
    assert issuer.calls == 1
    # ... and the bad entry was replaced by a good one
    assert store_of(directory, machine).load(KEY_TEXT) is not None
    assert credential.password.reveal() == "password-1"


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[]", b"\xff\xfe", b'{"version": 1}', b"null"],
    ids=["empty", "truncated", "not-an-object", "not-utf8", "missing-fields", "null"],
)
def test_a_corrupt_entry_is_ignored_and_replaced(
    written: Path,
    directory: Path,
    machine: Machine,
    content: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    written.write_bytes(content)
    with caplog.at_level(logging.DEBUG, logger="redshift_ephemeral.file_store"):
        assert_refetched(directory, machine)
    assert any("ignoring" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "change",
    [
        lambda document: document.update(key="another key"),
        lambda document: document.update(version=99),
        lambda document: document["credential"].update(host="/tmp/socket"),
        lambda document: document["credential"].update(port="5439"),
        lambda document: document["credential"].update(expires_at="2026-01-01T12:15:00"),
        lambda document: document["credential"].update(operation="s3:GetObject"),
        lambda document: document.update(requested={"wall": "yesterday"}),
    ],
    ids=[
        "other-key",
        "other-version",
        "socket-host",
        "text-port",
        "naive-time",
        "operation",
        "time",
    ],
)
def test_an_entry_that_does_not_hold_up_is_ignored(
    written: Path, directory: Path, machine: Machine, change: object
) -> None:
    document = json.loads(written.read_bytes())
    change(document)  # type: ignore[operator]
    written.write_text(json.dumps(document))
    assert_refetched(directory, machine)


def test_a_group_readable_entry_is_ignored(
    written: Path, directory: Path, machine: Machine
) -> None:
    written.chmod(0o640)
    assert_refetched(directory, machine)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_a_symlinked_entry_is_ignored(
    written: Path, directory: Path, machine: Machine, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "planted.json"
    elsewhere.write_bytes(written.read_bytes())
    elsewhere.chmod(0o600)
    written.unlink()
    written.symlink_to(elsewhere)
    assert_refetched(directory, machine)
    assert not written.is_symlink()


def test_a_fifo_in_place_of_an_entry_does_not_hang(
    written: Path, directory: Path, machine: Machine
) -> None:
    written.unlink()
    os.mkfifo(written, 0o600)
    assert_refetched(directory, machine)


@pytest.mark.skipif(os.getuid() != 0, reason="chown to another user needs root")
def test_an_entry_owned_by_another_user_is_ignored(
    written: Path, directory: Path, machine: Machine
) -> None:
    os.chown(written, 65534, 65534)
    assert store_of(directory, machine).load(KEY_TEXT) is None
    assert_refetched(directory, machine)


@pytest.mark.skipif(os.getuid() != 0, reason="chown to another user needs root")
def test_a_directory_planted_by_another_user_is_not_used(
    directory: Path, machine: Machine, caplog: pytest.LogCaptureFixture
) -> None:
    planted = directory / "credentials"
    planted.mkdir(parents=True, mode=0o777)
    os.chown(planted, 65534, 65534)
    issuer = Issuer(machine)
    with caplog.at_level(logging.WARNING):
        process(directory, machine).get(key(), issuer)
        process(directory, machine).get(key(), issuer)
    assert issuer.calls == 2  # nothing shared through it
    assert list(planted.iterdir()) == []
    assert "cannot be used" in caplog.text


# -- when the directory cannot be used ---------------------------------------------------------


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_falls_back_to_memory_with_one_warning(
    directory: Path, machine: Machine, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    issuer = Issuer(machine)
    cache = process(directory, machine)
    failure = OSError(code, os.strerror(code))
    with (
        mock.patch.object(file_store, "write_private", side_effect=failure),
        caplog.at_level(logging.WARNING),
    ):
        first = cache.get(key(), issuer)
        cache.get(key("another"), issuer)
        assert cache.get(key(), issuer) is first  # memory still serves it
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert os.strerror(code) in warnings[0].getMessage()
    assert "--no-shared-cache" in warnings[0].getMessage()
    assert issuer.calls == 2


# -- locks ---------------------------------------------------------------------------------------


HOLD_LOCK = """
import sys, time
from redshift_ephemeral.file_store import FileStore
with FileStore(sys.argv[1]).locked(sys.argv[2], wait=True) as held:
    print("held" if held else "not held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def lock_holder(directory: Path) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(directory), KEY_TEXT],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait(10)


def test_a_lock_left_by_a_killed_process_does_not_block(
    lock_holder: subprocess.Popen[str], directory: Path, machine: Machine
) -> None:
    store = store_of(directory, machine)
    with store.locked(KEY_TEXT, wait=False) as held:
        assert not held  # the other process holds it
    lock_holder.send_signal(signal.SIGKILL)
    lock_holder.wait(10)
    started = time.monotonic()
    with store.locked(KEY_TEXT, wait=True) as held:
        assert held
    assert time.monotonic() - started < 5


def test_a_lock_held_too_long_is_given_up_with_a_warning(
    lock_holder: subprocess.Popen[str],
    directory: Path,
    machine: Machine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    issuer = Issuer(machine)
    cache = process(directory, machine, lock_timeout=0.3)
    with caplog.at_level(logging.WARNING):
        credential = cache.get(key(), issuer)
    assert credential.password.reveal() == "password-1"
    assert "fetching it here too" in caplog.text


def test_clear_removes_entries_locks_and_leftover_temporaries(
    directory: Path, machine: Machine
) -> None:
    process(directory, machine).get(key(), Issuer(machine))
    leftover = directory / "credentials" / ".abc.json.123.deadbeef.tmp"
    leftover.write_text("half a password")
    store = store_of(directory, machine)
    store.save_endpoint("cluster key", "demo.example.com", 5439, "dev")
    assert store.clear() == 1
    assert list((directory / "credentials").iterdir()) == []
    assert list((directory / "endpoints").iterdir()) == []


def test_entries_list_target_user_and_expiry_never_the_password(
    directory: Path, machine: Machine
) -> None:
    process(directory, machine).get(key(), Issuer(machine))
    machine.advance(10)
    (summary,) = store_of(directory, machine).entries()
    assert (summary.label, summary.user) == ("alice@demo-cluster", "IAM:alice")
    assert summary.expires_at == datetime.fromtimestamp(ISSUED + 900, UTC)
    assert "password" not in repr(summary)


# -- endpoints -----------------------------------------------------------------------------------


def test_endpoints_are_shared_until_they_are_an_hour_old(directory: Path, machine: Machine) -> None:
    store = store_of(directory, machine)
    store.save_endpoint("cluster key", "demo.example.com", 5439, "dev")
    assert store_of(directory, machine).load_endpoint("cluster key") == (
        "demo.example.com",
        5439,
        "dev",
    )
    assert store.load_endpoint("other key") is None
    machine.advance(3601)
    assert store.load_endpoint("cluster key") is None


# -- the key -------------------------------------------------------------------------------------


def shared_key(monkeypatch: pytest.MonkeyPatch, **options: object) -> str:
    request = CredentialRequest(Target.cluster("demo-cluster", region="us-east-1"), db_user="alice")
    store_cache = CredentialCache(store=FileStore(Path("/nonexistent")))
    source = CredentialSource.from_options(
        cluster_id="demo-cluster",
        region="us-east-1",
        db_user=str(options.pop("db_user", "alice")),
        cache=store_cache,
        **options,  # type: ignore[arg-type]
    )
    assert source.request.target == request.target
    assert source.key.shared is not None
    return source.key.shared


@pytest.mark.usefixtures("aws_sandbox")
def test_the_key_tells_identities_apart_and_holds_no_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET-KEY-VALUE")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "SESSION-TOKEN-VALUE")
    base = shared_key(monkeypatch)
    assert base == shared_key(monkeypatch)
    assert "SECRET-KEY-VALUE" not in base
    assert "SESSION-TOKEN-VALUE" not in base
    different = {
        "profile": shared_key(monkeypatch, profile="other"),
        "role": shared_key(monkeypatch, role_arn="arn:aws:iam::123456789012:role/reader"),
        "user": shared_key(monkeypatch, db_user="bob"),
        "sslmode": shared_key(monkeypatch, sslmode="verify-ca"),
        "endpoint": shared_key(monkeypatch, endpoint_url="http://127.0.0.1:1"),
    }
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOTHERIDENTITY")
    different["access key id"] = shared_key(monkeypatch)
    monkeypatch.setenv("AWS_PROFILE", "someone-else")
    different["AWS_PROFILE"] = shared_key(monkeypatch)
    assert len({base, *different.values()}) == len(different) + 1
    assert "AKIAOTHERIDENTITY" in different["AWS_PROFILE"]  # the id, never the secret


def test_the_process_wide_shared_cache_is_one_per_directory(tmp_path: Path) -> None:
    one = file_store.shared_cache({"XDG_CACHE_HOME": str(tmp_path / "a")})
    assert file_store.shared_cache({"XDG_CACHE_HOME": str(tmp_path / "a")}) is one
    other = file_store.shared_cache({"XDG_CACHE_HOME": str(tmp_path / "b")})
    assert other is not one
    assert isinstance(one.store, FileStore)
    assert one.store.root == tmp_path / "a" / "redshift-ephemeral"


def test_a_write_sweeps_expired_entries_of_other_keys_and_stale_temporaries(
    directory: Path, machine: Machine
) -> None:
    """A key nobody asks for again (a stack that was restarted, a target renamed) does not
    keep its password on disk past its expiry."""
    process(directory, machine).get(key("forgotten"), Issuer(machine))
    forgotten = entry_path(directory, "forgotten")
    leftover = directory / "credentials" / ".abc.json.123.deadbeef.tmp"
    leftover.write_text("half a password")
    os.utime(leftover, (machine.wall - 120, machine.wall - 120))
    machine.advance(901)
    recent = directory / "credentials" / ".def.json.456.cafebabe.tmp"
    recent.write_text("being written right now")
    os.utime(recent, (machine.wall, machine.wall))
    process(directory, machine).get(key(), Issuer(machine))
    assert not forgotten.exists()
    assert not forgotten.with_suffix(".lock").exists()
    assert not leftover.exists()
    assert recent.exists()
    assert entry_path(directory).exists()


# -- found by review: each of these broke before ----------------------------------------------


def test_a_failure_is_shared_with_the_processes_that_waited_for_it(
    directory: Path, machine: Machine
) -> None:
    """During an AWS outage, N processes cold on one key pay one timeout, not N in turn."""
    release = threading.Event()
    calls = 0

    def failing_issuer() -> Credential:
        nonlocal calls
        calls += 1
        release.wait(5)
        machine.advance(1)  # the call took a while
        raise AccessDeniedError(
            "AWS refused redshift:GetClusterCredentials",
            principal="arn:aws:iam::123456789012:user/alice",
            action="redshift:GetClusterCredentials",
            resource=None,
            code="AccessDenied",
        )

    errors: list[BaseException] = []

    def run(cache: CredentialCache) -> None:
        try:
            cache.get(key(), failing_issuer)
        except Exception as error:
            errors.append(error)

    caches = [process(directory, machine) for _ in range(4)]
    threads = [threading.Thread(target=run, args=(cache,)) for cache in caches]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    release.set()
    for thread in threads:
        thread.join(10)
    assert calls == 1
    assert len(errors) == 4
    assert all(isinstance(error, AccessDeniedError) for error in errors)
    shared = [error for error in errors if "another process" in str(error)]
    assert len(shared) == 3
    assert all(error.code == "AccessDenied" for error in shared)  # type: ignore[attr-defined]
    # A later attempt, which did not wait for that one, asks AWS itself.
    with pytest.raises(AccessDeniedError):
        process(directory, machine).get(key(), failing_issuer)
    assert calls == 2


def plant_deep_json(path: Path) -> None:
    path.write_bytes(b"[" * 200_000)
    path.chmod(0o600)


def plant_huge_file(path: Path) -> None:
    path.touch(mode=0o600)
    os.truncate(path, 1 << 30)  # sparse: a gibibyte that takes no disk


def plant_directory(path: Path) -> None:
    path.mkdir(mode=0o700)


@pytest.mark.parametrize("plant", [plant_deep_json, plant_huge_file, plant_directory])
def test_an_entry_that_cannot_be_read_is_ignored_not_a_crash(
    written: Path, directory: Path, machine: Machine, plant: Callable[[Path], None]
) -> None:
    written.unlink()
    plant(written)
    issuer = Issuer(machine)
    credential = process(directory, machine).get(key(), issuer)
    assert issuer.calls == 1
    assert credential.password.reveal() == "password-1"
    store_of(directory, machine).entries()  # neither listing nor clearing trips on it
    store_of(directory, machine).clear()


def test_an_invalid_endpoint_entry_is_ignored_and_removed(
    directory: Path, machine: Machine
) -> None:
    store = store_of(directory, machine)
    store.save_endpoint("cluster key", "demo.example.com", 5439, "dev")
    (path,) = (directory / "endpoints").iterdir()
    document = json.loads(path.read_bytes())
    document["host"] = "not a host!"
    path.write_text(json.dumps(document))
    assert store.load_endpoint("cluster key") is None
    assert not path.exists()


def test_clear_leaves_a_lock_that_a_process_holds(
    lock_holder: subprocess.Popen[str], directory: Path, machine: Machine
) -> None:
    lock = directory / "credentials" / f"{key_digest(KEY_TEXT)}.lock"
    assert lock.exists()
    store_of(directory, machine).clear()
    assert lock.exists()
    with store_of(directory, machine).locked(KEY_TEXT, wait=False) as held:
        assert not held  # single flight still holds


def test_a_lock_that_is_not_a_regular_file_is_replaced(directory: Path, machine: Machine) -> None:
    process(directory, machine).get(key(), Issuer(machine))
    lock = directory / "credentials" / f"{key_digest(KEY_TEXT)}.lock"
    lock.unlink()
    os.mkfifo(lock, 0o600)
    store = store_of(directory, machine)
    with store.locked(KEY_TEXT, wait=True) as held:
        assert held
    assert lock.is_file()
    assert store.usable


@pytest.mark.usefixtures("aws_sandbox")
def test_the_key_follows_endpoint_variables_and_the_aws_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[p]\naws_access_key_id = AKIAFIRST\naws_secret_access_key = x\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    base = shared_key(monkeypatch, profile="p")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with_endpoint = shared_key(monkeypatch, profile="p")
    monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT", "http://127.0.0.1:10")
    with_service_endpoint = shared_key(monkeypatch, profile="p")
    credentials.write_text("[p]\naws_access_key_id = AKIASECOND\naws_secret_access_key = y\n")
    rewritten = shared_key(monkeypatch, profile="p")
    assert len({base, with_endpoint, with_service_endpoint, rewritten}) == 4
    assert "AKIASECOND" not in rewritten  # the file's state, not its content
