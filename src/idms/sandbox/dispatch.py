"""Which handler answers ``METHOD /api/{Entity}[/{identity}]``: entity names without case.

The typed contracts (Party, User, UserSecurity ...) and the special entry points (GenTable's
entity tables, GiftInformationBatch, EventRegistration's ``_execute``, ``iqa`` and ``query``,
which run saved queries) are picked by name; every
other name is looked up among the store's sources and served as GenericEntityData. What an entity
does not offer answers 501 "Operation not implemented"; an unknown entity 404.
"""

from __future__ import annotations

from typing import Any

from idms.sandbox.auth import Session
from idms.sandbox.commerce import Commerce
from idms.sandbox.context import Sandbox, acting_as, apply_options
from idms.sandbox.discovery import Discovery
from idms.sandbox.entities import Generic
from idms.sandbox.http import Reply, not_found, not_implemented
from idms.sandbox.iqa import FindQuery, Iqa
from idms.sandbox.paging import ListQuery
from idms.sandbox.party import KINDS, Parties
from idms.sandbox.standard import CS_CONTACT, Standard, is_lookup
from idms.sandbox.users import USER_DATA_BO, Users, require_sysadmin
from idms.targets.base import ApplyOptions

NOT_GENERIC = frozenset({"Contact", "UserCredentials"})
EMS_ONLY = frozenset({"eventregistration", "event", "eventfunction", "query"})


class Api:
    """The ``/api`` surface of one sandbox."""

    def __init__(self, sandbox: Sandbox, *, queries: FindQuery | None = None) -> None:
        self.sb = sandbox
        self.parties = Parties(sandbox)
        self.generic = Generic(sandbox)
        self.users = Users(sandbox)
        self.commerce = Commerce(sandbox)
        self.discovery = Discovery(sandbox)
        self.iqa = Iqa(sandbox, queries)
        self.standard = Standard(sandbox)

    def dispatch(
        self,
        method: str,
        entity: str,
        ident: str | None,
        query: ListQuery,
        body: dict[str, Any] | None,
        caller: Session | None = None,
    ) -> Reply:
        """Answer one call made by ``caller``'s user; ``?SkipValidation=true`` on a write skips
        lookup-code checks."""
        options = ApplyOptions(skip_validation=query.skip_validation)
        with apply_options(options), acting_as(caller):
            return self._dispatch(method, entity, ident, query, body)

    def _dispatch(
        self,
        method: str,
        entity: str,
        ident: str | None,
        query: ListQuery,
        body: dict[str, Any] | None,
    ) -> Reply:
        name = entity.casefold()
        if self.sb.is_2017 and name in EMS_ONLY:
            raise not_found(f"The entity type '{entity}' is not available on iMIS 2017.")
        if ident is not None and ident.startswith("_"):
            if method == "POST" and ident.casefold() == "_execute":
                return self.execute(name, body or {})
            raise not_implemented()  # _validate, _haspermission ... are not offered
        if ident is not None and ident.rpartition("/")[2].casefold() == "changelog":
            raise not_implemented()  # {id}/changelog: iMIS's change log is not kept
        if name in KINDS:
            return self._party(method, entity, ident, query, body)
        if is_lookup(name):
            return self.standard.lookup(method, entity, ident, query)
        special = {
            "partysummary": self._summary,
            "addresspurpose": self._purposes,
            "user": self._user,
            "usersecurity": self._security,
            "giftinformationbatch": self._gift_batch,
            "boentitydefinition": self._definitions,
            "metadata": self._metadata,
            "eventregistration": self._registrations,
            "gift": self._gifts,
            "iqa": self._iqa,
            "query": self._query,
            "cscontact": self._cs_contact,
        }.get(name)
        if special is not None:
            return special(method, ident, query, body)
        return self._generic(method, entity, ident, query, body)

    def execute(self, name: str, body: dict[str, Any]) -> Reply:
        if name == "usersecurity":
            return self.users.execute(body)
        if name == "eventregistration":
            return self.commerce.execute_registration(body)
        raise not_implemented()

    # ---- the typed contracts --------------------------------------------------------------------

    def _party(
        self,
        method: str,
        entity: str,
        ident: str | None,
        query: ListQuery,
        body: dict[str, Any] | None,
    ) -> Reply:
        if method == "GET":
            if ident is None:
                return self.parties.listing(entity, query)
            return self.parties.get(entity, ident)
        if method == "POST" and ident is None and body is not None:
            return self.parties.create(entity, body)
        if method == "PUT" and ident is not None and body is not None:
            return self.parties.update(entity, ident, body)
        if method == "DELETE" and ident is not None:
            return self.parties.delete(entity, ident)
        raise not_implemented()

    def _summary(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method != "GET":
            raise not_implemented()
        return self.parties.summaries(query) if ident is None else self.parties.summary(ident)

    def _purposes(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method != "GET" or ident is not None:
            raise not_implemented()
        return self.parties.address_purposes(query)

    def _user(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method != "GET":
            raise not_implemented()
        return self.users.listing(query) if ident is None else self.users.get(ident)

    def _security(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method == "POST" and ident is None and body is not None:
            return self.users.create(body)
        if method == "DELETE" and ident is not None:
            return self.users.delete(ident)
        raise not_implemented()  # GET /api/UserSecurity is 501 on a real iMIS too

    def _gift_batch(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method != "POST" or ident is not None or body is None:
            raise not_implemented()
        return self.commerce.gift_batch(body)

    def _definitions(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method != "GET":
            raise not_implemented()
        if ident is not None:
            return self.discovery.metadata(ident)
        return self.discovery.definitions(query)

    def _metadata(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method != "GET" or ident is None:
            raise not_implemented()
        return self.standard.metadata(ident) or self.discovery.metadata(ident)

    def _cs_contact(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        source = self.sb.source("Contact")
        if method == "GET":
            if ident is None:
                return self.generic.listing(source, CS_CONTACT, query)
            return self.generic.get(source, CS_CONTACT, ident)
        if method == "PUT" and ident is not None and body is not None:
            return self.generic.update(source, CS_CONTACT, ident, body)
        raise not_implemented()  # contacts are created as Person or Organization

    def _registrations(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method != "GET":
            raise not_implemented()  # written through _execute RegisterEvent
        if ident is not None:
            return self.commerce.get_registration(ident)
        return self.commerce.registrations(query)

    def _gifts(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method != "GET":
            raise not_implemented()  # written through GiftInformationBatch
        return self._generic(method, "Gift", ident, query, None)

    def _iqa(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method != "GET" or ident is not None:
            raise not_implemented()
        return self.iqa.run("iqa", query)

    def _query(self, method: str, ident: str | None, query: ListQuery, body: Any) -> Reply:
        if method != "GET" or ident is not None:
            raise not_implemented()
        return self.iqa.run("query", query)

    # ---- every other business object ------------------------------------------------------------

    def _generic(
        self,
        method: str,
        entity: str,
        ident: str | None,
        query: ListQuery,
        body: dict[str, Any] | None,
    ) -> Reply:
        found = self.sb.entity(entity)
        if found is None or found[0].name in NOT_GENERIC:
            raise not_found(f"No entity type is called '{entity}'.")
        source, spec = found
        if method != "GET" and source.name == USER_DATA_BO:
            require_sysadmin("change")  # iMIS 2017's unlock is a PUT on this object
        if method == "GET":
            if ident is None:
                return self.generic.listing(source, spec, query)
            return self.generic.get(source, spec, ident)
        if method == "POST" and ident is None and body is not None:
            return self.generic.create(source, spec, body)
        if method == "PUT" and ident is not None and body is not None:
            return self.generic.update(source, spec, ident, body)
        if method == "DELETE" and ident is not None:
            return self.generic.delete(source, spec, ident)
        raise not_implemented()
