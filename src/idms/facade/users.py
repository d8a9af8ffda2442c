"""The users part of the facade: the accounts of the web UI and their sessions. The rules
(unique names without regard to case, argon2 hashes, throttled sign-ins, the last administrator
kept) live in :mod:`idms.state.users`, :mod:`idms.state.sessions` and :mod:`idms.state.throttle`;
this part only hands each call to them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idms.facade.base import WorkspaceBase

if TYPE_CHECKING:
    from idms.state.sessions import SessionInfo, SessionStore
    from idms.state.users import Role, UserInfo, UserStore


class UserFacade(WorkspaceBase):
    """Users and web sessions (a part of :class:`idms.workspace.Workspace`)."""

    @property
    def user_store(self) -> UserStore:
        from idms.state.users import UserStore

        return UserStore(self.suite)

    @property
    def web_sessions(self) -> SessionStore:
        from idms.state.sessions import SessionStore

        return SessionStore(self.suite)

    def add_user(self, name: str, role: Role | str, password: str) -> UserInfo:
        return self.user_store.add(name, role, password)

    def users(self) -> list[UserInfo]:
        return self.user_store.list()

    def remove_user(self, name: str) -> UserInfo:
        """Remove a user and end their sessions (never the only active administrator)."""
        return self.user_store.remove(name)

    def set_password(self, name: str, password: str) -> UserInfo:
        """A new password; the user's sessions end."""
        return self.user_store.set_password(name, password)

    def set_role(self, name: str, role: Role | str) -> UserInfo:
        """A new role; the user's sessions end, so it applies at once."""
        return self.user_store.set_role(name, role)

    def authenticate(self, name: str, password: str, *, address: str | None = None) -> UserInfo:
        """The user, if the name and password are right and the throttle allows a try;
        otherwise :class:`~idms.state.users.SignInRefused`, in the same words whatever was
        wrong."""
        return self.user_store.authenticate(name, password, address=address)

    def sign_in(
        self, name: str, password: str, *, address: str | None = None
    ) -> tuple[str, SessionInfo]:
        """Authenticate, then start a web session: its cookie token (shown only now) and the
        session."""
        user = self.authenticate(name, password, address=address)
        return self.web_sessions.start(user.id)
