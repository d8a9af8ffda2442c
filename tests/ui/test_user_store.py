"""The user store under the facade: names unique without regard to case, roles, argon2 hashes,
the same refusal whatever was wrong, throttling, sessions, and the last administrator kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from idms.errors import Conflict, InvalidInputError, NotFound
from idms.state import throttle
from idms.state.models import User, WebSession
from idms.state.sessions import IDLE, SessionStore
from idms.state.users import REFUSED, Role, SignInRefused
from idms.workspace import Workspace

PASSWORD = "a long enough password"


def test_a_user_is_kept_with_a_hash_never_the_password(workspace: Workspace) -> None:
    info = workspace.add_user("Ann", "admin", PASSWORD)
    assert (info.name, info.role) == ("Ann", Role.ADMIN)
    with workspace.suite.connect() as conn:
        stored = conn.execute(select(User.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert [u.name for u in workspace.users()] == ["Ann"]


def test_names_are_unique_without_regard_to_case(workspace: Workspace) -> None:
    workspace.add_user("Ann", "admin", PASSWORD)
    with pytest.raises(Conflict, match="A user named 'Ann' exists already"):
        workspace.add_user(" ANN ", "viewer", PASSWORD)
    assert workspace.authenticate("aNN", PASSWORD).name == "Ann"


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("", "viewer", PASSWORD, "Give the user a name"),
        ("bob", "boss", PASSWORD, "There is no role 'boss'"),
        ("bob", "viewer", "short", "too short"),
        ("bob", "viewer", f" {PASSWORD}", "starts or ends with a space"),
        ("bo\tb", "viewer", PASSWORD, "control characters"),
    ],
)
def test_bad_input_is_refused_in_plain_words(
    workspace: Workspace, name: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        workspace.add_user(name, role, password)
    assert workspace.users() == []


def test_every_refusal_says_the_same(workspace: Workspace) -> None:
    workspace.add_user("ann", "admin", PASSWORD)
    workspace.add_user("off", "viewer", PASSWORD)
    workspace.user_store.set_disabled("off", True)
    for name, password in (("ann", "wrong password!"), ("nobody", PASSWORD), ("off", PASSWORD)):
        with pytest.raises(SignInRefused) as refused:
            workspace.authenticate(name, password)
        assert str(refused.value) == REFUSED


def test_five_failures_lock_a_name_even_for_the_right_password(workspace: Workspace) -> None:
    workspace.add_user("ann", "admin", PASSWORD)
    for _ in range(throttle.NAME_LIMIT):
        with pytest.raises(SignInRefused, match="wrong"):
            workspace.authenticate("ann", "not the password")
    with pytest.raises(SignInRefused, match="Too many failed sign-ins") as refused:
        workspace.authenticate("ann", PASSWORD)
    assert 0 < refused.value.retry_after <= throttle.FIRST_DELAY.total_seconds()


def test_a_name_that_does_not_exist_is_throttled_alike(workspace: Workspace) -> None:
    for _ in range(throttle.NAME_LIMIT):
        with pytest.raises(SignInRefused, match="wrong"):
            workspace.authenticate("nobody", "not the password")
    with pytest.raises(SignInRefused, match="Too many failed sign-ins"):
        workspace.authenticate("nobody", "not the password")


def test_an_address_is_throttled_across_names(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "ADDRESS_LIMIT", 3)
    workspace.add_user("ann", "admin", PASSWORD)
    for name in ("a", "b", "c"):
        with pytest.raises(SignInRefused, match="wrong"):
            workspace.authenticate(name, "guess number one", address="10.0.0.9")
    with pytest.raises(SignInRefused, match="Too many"):
        workspace.authenticate("ann", PASSWORD, address="10.0.0.9")
    assert workspace.authenticate("ann", PASSWORD, address="10.0.0.10").name == "ann"


def test_a_success_clears_the_names_count(workspace: Workspace) -> None:
    workspace.add_user("ann", "admin", PASSWORD)
    for _ in range(throttle.NAME_LIMIT - 1):
        with pytest.raises(SignInRefused):
            workspace.authenticate("ann", "not the password")
    workspace.authenticate("ann", PASSWORD)
    for _ in range(throttle.NAME_LIMIT - 1):
        with pytest.raises(SignInRefused, match="wrong"):
            workspace.authenticate("ann", "not the password")
    assert workspace.authenticate("ann", PASSWORD).name == "ann"


def test_the_delay_grows_and_has_a_ceiling() -> None:
    limit = throttle.NAME_LIMIT
    delays = [throttle.delay_after(n, limit) for n in range(limit - 1, limit + 4)]
    assert delays[0] == timedelta(0)
    assert delays[1:] == [throttle.FIRST_DELAY * k for k in (1, 2, 4, 8)]
    assert throttle.delay_after(limit + 100, limit) == throttle.LONGEST_DELAY


def test_the_last_administrator_stays(workspace: Workspace) -> None:
    workspace.add_user("ann", "admin", PASSWORD)
    with pytest.raises(Conflict, match="only active administrator"):
        workspace.remove_user("ann")
    with pytest.raises(Conflict, match="only active administrator"):
        workspace.set_role("ann", "viewer")
    workspace.add_user("bea", "admin", PASSWORD)
    assert workspace.set_role("ann", Role.EDITOR).role == Role.EDITOR
    with pytest.raises(Conflict):
        workspace.remove_user("bea")


def test_unknown_names_are_told_with_a_suggestion(workspace: Workspace) -> None:
    workspace.add_user("annabel", "admin", PASSWORD)
    with pytest.raises(NotFound, match="Did you mean 'annabel'"):
        workspace.remove_user("anabel")


def test_a_session_is_found_by_its_token_and_only_its_hash_is_kept(
    workspace: Workspace,
) -> None:
    workspace.add_user("ann", "admin", PASSWORD)
    token, session = workspace.sign_in("ann", PASSWORD)
    assert session.role == Role.ADMIN
    assert session.user_name == "ann"
    with workspace.suite.connect() as conn:
        hashes = conn.execute(select(WebSession.token_hash)).scalars().all()
    assert token not in hashes
    assert len(hashes) == 1
    found = workspace.web_sessions.find(token)
    assert found is not None
    assert found.csrf_ok(session.csrf_token)
    assert not found.csrf_ok("")
    assert not found.csrf_ok(session.csrf_token[:-1])
    assert workspace.web_sessions.find(token + "x") is None
    workspace.web_sessions.end(token)
    assert workspace.web_sessions.find(token) is None


def test_an_idle_session_ends(workspace: Workspace) -> None:
    workspace.add_user("ann", "admin", PASSWORD)
    token, session = workspace.sign_in("ann", PASSWORD)
    with workspace.suite.begin() as conn:
        conn.execute(
            update(WebSession).values(expires_at=session.expires_at - IDLE - timedelta(seconds=1))
        )
    assert SessionStore(workspace.suite).find(token) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda w: w.set_password("ann", "another long password"),
        lambda w: w.set_role("ann", "editor"),
        lambda w: w.user_store.set_disabled("ann", True),
        lambda w: w.remove_user("ann"),
    ],
    ids=["password", "role", "disabled", "removed"],
)
def test_a_change_to_the_user_ends_their_sessions(workspace: Workspace, change: object) -> None:
    workspace.add_user("ann", "admin", PASSWORD)
    workspace.add_user("bea", "admin", PASSWORD)
    token, _ = workspace.sign_in("ann", PASSWORD)
    other, _ = workspace.sign_in("bea", PASSWORD)
    change(workspace)  # type: ignore[operator]
    assert workspace.web_sessions.find(token) is None
    assert workspace.web_sessions.find(other) is not None
