"""The UI's refusals, each answered with a page (``app.py`` installs the handler): not signed
in, a role that does not allow it, a form without its token."""

from __future__ import annotations


class UiRefusal(Exception):
    """A request the UI refuses: ``status``, a title and plain-English words for the page."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


class SignInNeeded(UiRefusal):
    """No live session: a GET is sent to the sign-in page (and back afterwards)."""

    def __init__(self) -> None:
        super().__init__(
            401, "Sign in", "Your session has ended or you have not signed in: sign in again."
        )


class RoleRefused(UiRefusal):
    def __init__(self, role: str, needed: str) -> None:
        super().__init__(
            403,
            "Not allowed",
            f"Your role ({role}) does not allow this: it needs {_article(needed)} {needed} "
            "or above. "
            "Ask an administrator if you need it.",
        )


class CsrfRefused(UiRefusal):
    def __init__(self) -> None:
        super().__init__(
            403,
            "Form refused",
            "This form was sent without its security token, or with an old one, so it was "
            "refused (it may not have come from an idms page). Go back, reload the page and "
            "send it again.",
        )


def _article(word: str) -> str:
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


class NotThere(UiRefusal):
    """What a page was asked for is not there (an import no longer open, an unknown run)."""

    def __init__(self, message: str) -> None:
        super().__init__(404, "Not found", message)
