"""A small Python client of the channel service: signs messages with the party's private key.

Uses only the standard library (``urllib``) by default; the HTTP round trip is a
:class:`Transport`, so tests can route it through an in-process app.

A session looks like this (it needs a running server)::

    client = ChannelClient("http://127.0.0.1:8000", token, private_key_pem=Path("blue.pem").read_bytes())
    client.send("red", "REQUEST_CLARIFICATION", {"subject": "NOTAM 17"}, reply_by="2026-01-01T12:30:00Z")
    for message in client.messages("inbox", lang="ru"):
        client.ack(message["id"], "read")
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from deconflict.channel.messages import MessageContent, sign_content
from deconflict.errors import BlindSessionError, DeconflictError, InputError, Problem

if TYPE_CHECKING:  # the blind protocol (NumPy, ristretto255) is imported only by those who run it
    from deconflict.blind.protocol import BlindParty, BlindResult

__all__ = [
    "ChannelClient",
    "ChannelError",
    "Response",
    "Transport",
    "UrllibTransport",
    "check_url",
    "is_loopback_host",
]


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost``, ``127.0.0.0/8`` or ``::1``.

    Examples
    --------
    >>> [is_loopback_host(h) for h in ("localhost", "127.0.0.1", "::1", "0.0.0.0", "example.org")]
    [True, True, True, False, False]
    """
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, insecure: bool = False) -> str:
    """``url`` if a bearer token may be sent to it: ``https://``, or ``http://`` to this machine.

    Plain ``http://`` to any other host would carry the token in clear text
    across a network; ``insecure=True`` allows it (a network the caller trusts).

    Raises
    ------
    InputError
        Naming the URL and what to do instead.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError([Problem(url, "not a service URL: give http(s)://HOST[:PORT]")])
    if parts.scheme == "http" and not insecure and not is_loopback_host(parts.hostname):
        raise InputError(
            [
                Problem(
                    url,
                    "plain http:// to another machine would send the bearer token in clear text: "
                    "use https://, or --insecure on a network you trust",
                )
            ]
        )
    return url


@dataclass(frozen=True)
class Response:
    """An HTTP answer: status code and body bytes."""

    status: int
    body: bytes


class Transport(Protocol):
    """Performs one HTTP request."""

    def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Response:
        """Send the request and return the answer, whatever its status."""
        ...


class ChannelError(DeconflictError):
    """The service refused a request, or could not be reached.

    Attributes
    ----------
    status
        The HTTP status, or ``None`` when the service did not answer.
    detail
        The service's ``detail`` (a message, or the list of problems of a 422).
    """

    def __init__(self, message: str, status: int | None = None, detail: Any = None) -> None:
        self.status = status
        self.detail = detail
        super().__init__(message)


class UrllibTransport:
    """The default :class:`Transport`: ``urllib.request`` with a timeout.

    Parameters
    ----------
    timeout_s
        Seconds to wait for the service, per request.
    """

    def __init__(self, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s

    def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Response:
        """Send one request; HTTP errors come back as responses, network errors raise."""
        request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                return Response(answer.status, answer.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Response(exc.code, exc.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChannelError(f"{method} {url}: cannot reach the service ({reason})") from exc
        except http.client.HTTPException as exc:
            # The connection broke mid-answer (e.g. the server stopped): the
            # outcome is unknown to the caller, like a network error.
            raise ChannelError(f"{method} {url}: the answer was cut off ({exc!r})") from exc


def _describe(detail: Any) -> str:
    if isinstance(detail, list):
        parts = []
        for problem in detail:
            if isinstance(problem, Mapping):
                where = problem.get("field") or ".".join(str(p) for p in problem.get("loc", ()))
                parts.append(f"{where}: {problem.get('msg')}" if where else str(problem.get("msg")))
            else:
                parts.append(str(problem))
        return "; ".join(parts)
    return str(detail)


def _http_error(method: str, path: str, response: Response) -> ChannelError:
    try:
        document = json.loads(response.body)
    except ValueError:
        document = None
    detail = document.get("detail") if isinstance(document, Mapping) else response.body[:200]
    return ChannelError(
        f"{method} {path}: HTTP {response.status}: {_describe(detail)}", response.status, detail
    )


class ChannelClient:
    """A party's client of the channel service.

    Parameters
    ----------
    url
        The service's base URL, e.g. ``http://127.0.0.1:8000``.
    token
        The party's bearer token.
    private_key_pem
        The party's Ed25519 private key (PKCS #8 PEM); needed to send messages.
    transport
        How requests are made; :class:`UrllibTransport` by default. A transport
        given here decides for itself where requests go (an in-process one
        crosses no network), so ``url`` is checked only for the default one.
    insecure
        Allow plain ``http://`` to another machine (see :func:`check_url`).

    Raises
    ------
    InputError
        If ``url`` is refused by :func:`check_url`.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        private_key_pem: bytes | None = None,
        transport: Transport | None = None,
        insecure: bool = False,
    ) -> None:
        if transport is None:
            check_url(url, insecure=insecure)
        self.url = url.rstrip("/")
        self._token = token
        self._private_key_pem = private_key_pem
        self._transport = transport if transport is not None else UrllibTransport()
        self._party: str | None = None
        self.checkpoint: dict[str, Any] | None = None
        """The latest signed head of the audit chain this client saw (``GET /v1/audit/head``), if any."""

    def _url(self, path: str, query: Mapping[str, Any] | None) -> str:
        items = {
            k: str(v).lower() if isinstance(v, bool) else v for k, v in (query or {}).items() if v is not None
        }
        return self.url + path + (f"?{urllib.parse.urlencode(items)}" if items else "")

    def _download(self, path: str, query: Mapping[str, Any]) -> str:
        """The text of a ``GET`` that answers a file (``?format=kml``), not JSON."""
        url = self._url(path, query)
        response = self._transport.request("GET", url, {"Authorization": f"Bearer {self._token}"}, None)
        if response.status >= 400:
            raise _http_error("GET", path, response)
        return response.body.decode("utf-8")

    def _call(
        self,
        method: str,
        path: str,
        payload: Any = None,
        query: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Any:
        url = self._url(path, query)
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        headers.update(extra_headers or {})
        body = None
        if payload is not None:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        response = self._transport.request(method, url, headers, body)
        try:
            document = json.loads(response.body) if response.body else None
        except ValueError:
            document = None
        if response.status >= 400:
            raise _http_error(method, path, response)
        return document

    def me(self) -> dict[str, Any]:
        """The caller's party: name, public key, creation time."""
        party: dict[str, Any] = self._call("GET", "/v1/parties/me")
        self._party = str(party["name"])
        return party

    def parties(self) -> list[dict[str, Any]]:
        """The directory: every party's name, public key and whether it is revoked."""
        listed: list[dict[str, Any]] = self._call("GET", "/v1/parties")
        return listed

    def catalogue(self) -> dict[str, Any]:
        """The message catalogue (codes, texts, parameter schemas)."""
        catalogue: dict[str, Any] = self._call("GET", "/v1/catalogue")
        return catalogue

    def send(
        self,
        to: str,
        code: str,
        params: Mapping[str, Any] | None = None,
        text: str = "",
        reply_by: str | None = None,
        lang: str | None = None,
    ) -> dict[str, Any]:
        """Sign and send a message; returns it as stored.

        Raises
        ------
        ChannelError
            If no private key was given, or the service refuses the message.
        """
        if self._private_key_pem is None:
            raise ChannelError("sending needs the party's private key (--key FILE)")
        sender = self._party if self._party is not None else str(self.me()["name"])
        content = MessageContent(
            sender, to, code, dict(params or {}), text, reply_by, secrets.token_urlsafe(18)
        )
        payload = {
            "to": to,
            "code": code,
            "params": dict(content.params),
            "text": text,
            "reply_by": reply_by,
            "nonce": content.nonce,
            "signature": sign_content(content, self._private_key_pem),
        }
        sent: dict[str, Any] = self._call("POST", "/v1/messages", payload, {"lang": lang})
        return sent

    def messages(
        self,
        box: str = "inbox",
        state: str | None = None,
        overdue: bool | None = None,
        lang: str | None = None,
        limit: int | None = None,
        before: int | None = None,
    ) -> list[dict[str, Any]]:
        """A page of the caller's inbox (fetching marks messages delivered) or outbox, oldest first.

        The newest ``limit`` (the server's page size by default) with ids below ``before``.
        """
        query: dict[str, Any] = {"box": box, "state": state, "overdue": overdue, "lang": lang}
        query |= {"limit": limit, "before": before}
        listed: list[dict[str, Any]] = self._call("GET", "/v1/messages", query=query)
        return listed

    def all_messages(self, box: str = "inbox", page_size: int = 1000) -> list[dict[str, Any]]:
        """Every message of the caller's inbox or outbox, oldest first, fetched page by page."""
        found: list[dict[str, Any]] = []
        before: int | None = None
        while True:
            page = self.messages(box, limit=page_size, before=before)
            found[:0] = page
            if len(page) < page_size:
                return found
            before = int(page[0]["id"])

    def message(self, message_id: int, lang: str | None = None) -> dict[str, Any]:
        """One message the caller sent or received."""
        found: dict[str, Any] = self._call("GET", f"/v1/messages/{int(message_id)}", query={"lang": lang})
        return found

    def ack(
        self, message_id: int, level: str, reason: str | None = None, lang: str | None = None
    ) -> dict[str, Any]:
        """Acknowledge a received message: ``read``, ``accepted`` or ``disputed`` (with a reason)."""
        acked: dict[str, Any] = self._call(
            "POST", f"/v1/messages/{int(message_id)}/ack", {"level": level, "reason": reason}, {"lang": lang}
        )
        return acked

    def audit_key(self) -> str:
        """The server's audit public key (PEM)."""
        found: dict[str, Any] = self._call("GET", "/v1/audit/key")
        return str(found["public_key_pem"])

    def audit_head(self) -> dict[str, Any]:
        """The chain's head signed by the server now: a checkpoint (``seq``, ``hash``, ``time``, ...).

        The client keeps the latest one it saw in :attr:`checkpoint`.
        """
        head: dict[str, Any] = self._call("GET", "/v1/audit/head")
        if self.checkpoint is None or int(head["seq"]) >= int(self.checkpoint["seq"]):
            self.checkpoint = head
        return head

    def audit(self, page_size: int = 1000) -> dict[str, Any]:
        """The caller's whole view of the audit chain: ``{party, public_key_pem, entries}``.

        Entries the caller may not read come as ``{visible: false, seq, prev_hash, hash}``.
        The server's signed head is fetched first (and kept, :attr:`checkpoint`): the
        view read after it must contain it.
        """
        self.audit_head()
        entries: list[dict[str, Any]] = []
        after = 0
        while True:
            page: dict[str, Any] = self._call("GET", "/v1/audit", query={"after": after, "limit": page_size})
            entries.extend(page["entries"])
            if page["next_after"] is None:
                return {"party": page["party"], "public_key_pem": page["public_key_pem"], "entries": entries}
            after = int(page["next_after"])

    def escalations(self) -> list[dict[str, Any]]:
        """Escalations of the caller's messages."""
        listed: list[dict[str, Any]] = self._call("GET", "/v1/escalations")
        return listed

    def file_operation(
        self,
        operation_id: str,
        collection: Mapping[str, Any],
        priority: int | None = None,
        replaces_version: int | None = None,
    ) -> dict[str, Any]:
        """File a GeoJSON FeatureCollection of volumes as an operation, or amend one.

        Parameters
        ----------
        operation_id
            The operation's id (unique within the caller's operations).
        collection
            A PRODUCT.md FeatureCollection, one Feature per volume.
        priority
            The operation's priority (higher wins when plans give way); ``None``: 0 for a new
            operation, unchanged for an amendment.
        replaces_version
            The version an amendment replaces (sent as ``If-Match``); ``None`` files a new operation.

        Returns
        -------
        dict
            ``{operation, conflicts}``: the operation as filed and the conflicts found.
        """
        body: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": list(collection.get("features", [])),
            "id": operation_id,
        }
        if priority is not None:
            body["priority"] = priority
        path = "/v1/operations"
        if replaces_version is None:
            filed: dict[str, Any] = self._call("POST", path, body)
        else:
            filed = self._call(
                "PUT",
                f"{path}/{urllib.parse.quote(operation_id, safe='')}",
                body,
                extra_headers={"If-Match": f'"{int(replaces_version)}"'},
            )
        return filed

    def operations(self) -> list[dict[str, Any]]:
        """The caller's operations."""
        listed: list[dict[str, Any]] = self._call("GET", "/v1/operations")
        return listed

    def operation(self, operation_id: str) -> dict[str, Any]:
        """One of the caller's operations."""
        found: dict[str, Any] = self._call(
            "GET", f"/v1/operations/{urllib.parse.quote(operation_id, safe='')}"
        )
        return found

    def change_operation(
        self, operation_id: str, action: str, version: int, until: str | None = None
    ) -> dict[str, Any]:
        """``activate``, ``release`` or ``extend`` (to ``until``, RFC 3339) the caller's operation at
        ``version`` (sent as ``If-Match``); returns the operation (``extend``: with the conflicts found)."""
        changed: dict[str, Any] = self._call(
            "POST",
            f"/v1/operations/{urllib.parse.quote(operation_id, safe='')}/{action}",
            None if until is None else {"until": until},
            extra_headers={"If-Match": f'"{int(version)}"'},
        )
        return changed

    def withdraw(self, operation_id: str, version: int) -> dict[str, Any]:
        """Withdraw the caller's operation at ``version`` (sent as ``If-Match``); returns it."""
        withdrawn: dict[str, Any] = self._call(
            "POST",
            f"/v1/operations/{urllib.parse.quote(operation_id, safe='')}/withdraw",
            extra_headers={"If-Match": f'"{int(version)}"'},
        )
        return withdrawn

    def publish_zones(self, document: Any) -> dict[str, Any]:
        """Publish the zones of an ED-269 or ED-318 document as the caller's (each replacing the
        caller's zone of its identifier); returns ``{published: [identifiers]}``."""
        published: dict[str, Any] = self._call("POST", "/v1/zones", document)
        return published

    def zones(self) -> list[dict[str, Any]]:
        """Every published zone (zones are public), by authority then identifier."""
        listed: list[dict[str, Any]] = self._call("GET", "/v1/zones")
        return listed

    def withdraw_zone(self, identifier: str) -> None:
        """Withdraw the caller's zone ``identifier``."""
        self._call("DELETE", f"/v1/zones/{urllib.parse.quote(identifier, safe='')}")

    def conflicts(self, state: str | None = None, operation: str | None = None) -> list[dict[str, Any]]:
        """The caller's conflicts (all but resolved ones, unless ``state`` names one) with their lifecycle."""
        listed: list[dict[str, Any]] = self._call(
            "GET", "/v1/conflicts", query={"state": state, "operation": operation}
        )
        return listed

    def conflicts_kml(self, state: str | None = None, operation: str | None = None) -> str:
        """The caller's conflicts as :meth:`conflicts` lists them, as a KML document (text)."""
        return self._download("/v1/conflicts", {"state": state, "operation": operation, "format": "kml"})

    def conflict(self, conflict_id: int) -> dict[str, Any]:
        """One of the caller's conflicts, whatever its state."""
        found: dict[str, Any] = self._call("GET", f"/v1/conflicts/{int(conflict_id)}")
        return found

    def ack_conflict(self, conflict_id: int) -> dict[str, Any]:
        """Acknowledge one of the caller's conflicts; returns it."""
        acked: dict[str, Any] = self._call("POST", f"/v1/conflicts/{int(conflict_id)}/ack")
        return acked

    def accept_conflict(self, conflict_id: int, reason: str) -> dict[str, Any]:
        """Accept one of the caller's conflicts as it is, with a reason the other side sees; returns it."""
        accepted: dict[str, Any] = self._call(
            "POST", f"/v1/conflicts/{int(conflict_id)}/accept", {"reason": reason}
        )
        return accepted

    def disclosures(self, limit: int | None = None, before: int | None = None) -> list[dict[str, Any]]:
        """A page of the caller's disclosure ledger, oldest first.

        The newest ``limit`` entries (the server's page size by default) numbered below ``before``.
        """
        listed: list[dict[str, Any]] = self._call(
            "GET", "/v1/disclosures", query={"limit": limit, "before": before}
        )
        return listed

    def stats(self) -> dict[str, Any]:
        """The caller's channel statistics by month and pair: ``{party, months: [{month, pairs}]}``."""
        found: dict[str, Any] = self._call("GET", "/v1/stats")
        return found

    def post_tracks(self, states: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Post the caller's own aircraft states (``id``, ``time``, ``lat_deg`` ... ``vs_mps``).

        Returns
        -------
        dict
            ``{"accepted": n}``.
        """
        accepted: dict[str, Any] = self._call("POST", "/v1/tracks", {"states": [dict(s) for s in states]})
        return accepted

    def tracks(self) -> dict[str, Any]:
        """The live picture as the caller may see it: ``{time, own, foreign}``."""
        found: dict[str, Any] = self._call("GET", "/v1/tracks")
        return found

    def _every_page(self, path: str, key: str, limit: int | None) -> list[dict[str, Any]]:
        """Every item of a paged listing, following its ``next`` cursor from the first page to the last."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            found: dict[str, Any] = self._call("GET", path, query={"limit": limit, "after": after})
            items += found[key]
            after = found.get("next")
            if after is None:
                return items

    def alerts(self, page_size: int | None = None) -> list[dict[str, Any]]:
        """The current alerts involving the caller's aircraft, oldest first.

        Every page (``page_size`` a request; the server's default when ``None``).
        """
        return self._every_page("/v1/alerts", "alerts", page_size)

    def incidents(self, page_size: int | None = None) -> list[dict[str, Any]]:
        """The incidents (losses of separation) involving the caller's aircraft, with their comments.

        Oldest first, every page (``page_size`` a request; the server's default when ``None``).
        """
        return self._every_page("/v1/incidents", "incidents", page_size)

    def incident(self, incident_id: int) -> dict[str, Any]:
        """One incident involving the caller's aircraft."""
        found: dict[str, Any] = self._call("GET", f"/v1/incidents/{int(incident_id)}")
        return found

    def comment_incident(self, incident_id: int, text: str) -> dict[str, Any]:
        """Add the caller's comment to an incident's thread; returns the comment."""
        path = f"/v1/incidents/{int(incident_id)}/comments"
        added: dict[str, Any] = self._call("POST", path, {"text": text})
        return added

    # --- blind sessions: the server relays opaque messages (deconflict.blind) --------------

    def _blind_path(self, session: str, *rest: str) -> str:
        return "/".join(["/v1/blind/sessions", urllib.parse.quote(session, safe=""), *rest])

    def blind_start(self, session: str, peer: str, parameters: str) -> dict[str, Any]:
        """Start blind session ``session`` with ``peer`` under the agreed public ``parameters``."""
        started: dict[str, Any] = self._call(
            "POST", "/v1/blind/sessions", {"session": session, "peer": peer, "parameters": parameters}
        )
        return started

    def blind_status(self, session: str) -> dict[str, Any]:
        """The relay's view of a session: parties, parameters, which phases each posted."""
        found: dict[str, Any] = self._call("GET", self._blind_path(session))
        return found

    def blind_post(self, session: str, phase: str, body: bytes) -> None:
        """Post the caller's message of ``phase`` (opaque to the server)."""
        path = self._blind_path(session, "messages", phase)
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/octet-stream"}
        response = self._transport.request("PUT", self.url + path, headers, body)
        if response.status >= 400:
            raise _http_error("PUT", path, response)

    def blind_fetch(self, session: str, phase: str) -> bytes:
        """The other party's message of ``phase``, as it posted it."""
        path = self._blind_path(session, "messages", phase)
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/octet-stream"}
        response = self._transport.request("GET", self.url + path, headers, None)
        if response.status >= 400:
            raise _http_error("GET", path, response)
        return response.body

    def blind_end(self, session: str) -> None:
        """End the session for both parties: the server deletes its messages."""
        self._call("DELETE", self._blind_path(session))

    def _blind_posted(self, session: str, sender: str, phase: str) -> bool:
        try:
            posted = self.blind_status(session)["posted"]
        except ChannelError as exc:
            if exc.status == 404:
                raise BlindSessionError(
                    f"blind session {session!r} was ended by the other party, or expired"
                ) from exc
            raise
        return any(p["sender"] == sender and p["phase"] == phase for p in posted)

    def run_blind_session(
        self,
        party: BlindParty,
        *,
        poll_s: float = 1.0,
        timeout_s: float = 3600.0,
        end: bool = True,
        sleep: Any = time.sleep,
    ) -> BlindResult:
        """Run ``party``'s side of its session through the relay: post each phase, wait for the other's.

        The session must have been started (:meth:`blind_start`). With ``end``, the
        party posts ``done`` once it has its result, and the second party done ends
        the session (the server deletes its messages). Any fault the
        protocol finds (an altered, replayed or misaddressed message) raises
        :class:`~deconflict.errors.BlindSessionError` and never yields a result.

        Raises
        ------
        BlindSessionError
            The protocol aborted, or the other party's message did not come within ``timeout_s``.
        """
        from deconflict.blind.protocol import Phase

        session = party.params.session_id
        waited_s = 0.0
        result: BlindResult | None = None
        try:
            for phase, make in (
                (Phase.HELLO, party.hello),
                (Phase.BLINDED, party.blinded),
                (Phase.REBLINDED, party.reblinded),
            ):
                self.blind_post(session, phase.value, make().to_bytes())
                while not self._blind_posted(session, party.peer, phase.value):
                    if waited_s >= timeout_s:
                        raise BlindSessionError(
                            f"{phase.value} from {party.peer!r} did not come within {timeout_s:.0f} s"
                        )
                    sleep(poll_s)
                    waited_s += poll_s
                result = party.receive(self.blind_fetch(session, phase.value))
        except ChannelError as exc:
            if exc.status != 404:
                raise
            raise BlindSessionError(
                f"blind session {session!r} was ended by the other party, or expired"
            ) from exc
        except BlindSessionError:
            with contextlib.suppress(ChannelError):  # the other party is told by the session's end
                self.blind_end(session)
            raise
        if result is None:  # pragma: no cover - the protocol returns its result on the last phase
            raise BlindSessionError("the session ended without a result")
        if end:
            # Whoever is done second ends the session: the other has fetched all it needed by then.
            self.blind_post(session, "done", b"done")
            try:
                peer_done = self._blind_posted(session, party.peer, "done")
            except BlindSessionError:  # both done at once: the other saw this done and ended it first
                peer_done = False
            if peer_done:
                with contextlib.suppress(ChannelError):  # both may be done at once
                    self.blind_end(session)
        return result
