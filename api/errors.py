"""One error shape for every answer that is not a success: RFC 9457 problem details.

``{"type", "title", "status", "detail", "errors": [{"loc", "message", "code"}]}`` served
as ``application/problem+json``. Each error family is mapped in one handler here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from onestop.dispatch.errors import RequestError, format_loc
from onestop.geodata import ProviderUnavailable, TravelDataError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_TYPE = "urn:onestop:problem:"


class Problem(Exception):
    """An answer in problem-details form, raised anywhere below a route."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        kind: str | None = None,
        errors: Sequence[dict[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors = list(errors)
        self.headers = headers

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": _TYPE + self.kind, "title": self.title, "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if instance:
            out["instance"] = instance
        if self.errors:
            out["errors"] = self.errors
        return out


def not_found(what: str, ident: str) -> Problem:
    return Problem(404, "Not found", f"{what} {ident!r} does not exist", kind="not-found")


def conflict(detail: str) -> Problem:
    return Problem(409, "Conflict", detail, kind="conflict")


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, kind="forbidden")


def field_error(loc: str, message: str, code: str = "invalid") -> dict[str, str]:
    return {"loc": loc, "message": message, "code": code}


def validation_problem(errors: Iterable[dict[str, str]], detail: str | None = None) -> Problem:
    errs = list(errors)
    if detail is None:
        first = errs[0] if errs else None
        detail = (
            f"{first['loc']}: {first['message']}"
            if first and first["loc"]
            else (first["message"] if first else "the request is not valid")
        )
        if len(errs) > 1:
            detail += f" (and {len(errs) - 1} more)"
    return Problem(422, "Validation failed", detail, kind="validation", errors=errs)


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    instance = request.url.path if request is not None else None
    return JSONResponse(
        problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


# --- pydantic / FastAPI validation errors → field paths -------------------------------

_SKIP_PARTS = ("function-after", "function-before", "function-wrap", "tagged-union", "lax-or-strict")


def _clean_loc(loc: Sequence[str | int]) -> str:
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    kept: list[str | int] = []
    for p in parts:
        if isinstance(p, str) and (p.startswith(_SKIP_PARTS) or "[" in p or p in ("str", "int", "float")):
            continue
        kept.append(p)
    return format_loc(kept)


def pydantic_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """pydantic's error list → one ``{loc, message, code}`` per field (unions repeat themselves)."""
    seen: dict[str, dict[str, str]] = {}
    for err in errors:
        kind = err.get("type", "invalid")
        msg = str(err.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if kind == "extra_forbidden":
            msg = "unknown field"
        elif kind == "json_invalid":
            ctx = err.get("ctx") or {}
            msg = f"body is not valid JSON: {ctx.get('error', msg)}"
        loc = _clean_loc(err.get("loc", ()))
        if kind == "json_invalid":
            loc = ""
        seen.setdefault(loc, field_error(loc, msg, kind))
    return list(seen.values())


def request_error_problem(exc: RequestError, prefix: str = "") -> Problem:
    errs = [
        field_error(
            f"{prefix}{e.loc}" if prefix and e.loc else e.loc or prefix.rstrip("."), e.message, e.code
        )
        for e in exc.errors
    ]
    return validation_problem(errs)


# --- handlers ---------------------------------------------------------------------------


def install_handlers(app: FastAPI) -> None:
    """One handler per error family (STYLE §5)."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = pydantic_errors(exc.errors())
        if any(e["code"] == "json_invalid" for e in errs):
            bad = next(e for e in errs if e["code"] == "json_invalid")
            return problem_response(
                Problem(400, "Malformed JSON", bad["message"], kind="malformed-json"), request
            )
        return problem_response(validation_problem(errs), request)

    @app.exception_handler(RequestError)
    async def _request_error(request: Request, exc: RequestError) -> JSONResponse:
        return problem_response(request_error_problem(exc), request)

    @app.exception_handler(TravelDataError)
    async def _travel(request: Request, exc: TravelDataError) -> JSONResponse:
        loc = "options.travel" + (
            f".{exc.field}" if exc.field and not exc.field.startswith("[") else exc.field
        )
        return problem_response(validation_problem([field_error(loc, str(exc), "travel")]), request)

    @app.exception_handler(ProviderUnavailable)
    async def _unavailable(request: Request, exc: ProviderUnavailable) -> JSONResponse:
        problem = Problem(503, "Travel provider unavailable", str(exc), kind="provider-unavailable")
        return problem_response(problem, request)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity conflict on %s %s: %s", request.method, request.url.path, exc.orig)
        detail = "the change conflicts with stored data (made at the same time by another request?); retry"
        return problem_response(Problem(409, "Conflict", detail, kind="conflict"), request)

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        # a dropped connection (server restarted) or a driver that lost it is 503 as well
        if exc.connection_invalidated or isinstance(exc, InterfaceError):
            return await _database_down(request, exc)
        return await _internal(request, exc)

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: DBAPIError) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        problem = Problem(
            503,
            "Database unavailable",
            "the database did not answer; retry shortly",
            kind="database-unavailable",
            headers={"Retry-After": "2"},
        )
        return problem_response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized"}.get(
            exc.status_code, "HTTP error"
        )
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route for {request.method} {request.url.path}"
        return problem_response(
            Problem(
                exc.status_code, title, detail, kind=title.lower().replace(" ", "-"), headers=exc.headers
            ),
            request,
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            Problem(500, "Internal server error", "the server failed; the error was logged", kind="internal"),
            request,
        )


# --- body guard -------------------------------------------------------------------------


class BodyGuard:
    """Checks JSON bodies before FastAPI sees them: size, media type, UTF-8, strict JSON
    (no NaN/Infinity), nesting depth and string length, each refused with a clear 4xx."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_depth: int, max_string: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.max_string = max_string

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send, self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, send, self._too_large())
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.strip():
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json" and not ctype.endswith("+json"):
                problem = Problem(
                    415,
                    "Unsupported media type",
                    f"send the body as application/json, not {ctype or 'an untyped body'}",
                    kind="unsupported-media-type",
                )
                await self._refuse(scope, send, problem)
                return
            problem = self.check_json(body)
            if problem is not None:
                await self._refuse(scope, send, problem)
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> Problem:
        return Problem(
            413, "Body too large", f"the body exceeds {self.max_bytes} bytes", kind="body-too-large"
        )

    def check_json(self, body: bytes) -> Problem | None:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Problem(
                400, "Malformed JSON", f"body is not valid UTF-8 (byte {exc.start})", kind="malformed-json"
            )

        def _constant(name: str) -> Any:
            raise ValueError(f"{name} is not allowed in JSON numbers")

        try:
            value = json.loads(text, parse_constant=_constant)
        except RecursionError:
            return Problem(400, "Malformed JSON", "body is nested too deeply", kind="malformed-json")
        except json.JSONDecodeError as exc:
            return Problem(
                400,
                "Malformed JSON",
                f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                kind="malformed-json",
            )
        except ValueError as exc:
            return Problem(400, "Malformed JSON", f"body is not valid JSON: {exc}", kind="malformed-json")
        return self._walk(value)

    def _walk(self, value: Any) -> Problem | None:
        """Iterative walk: nesting depth and string sizes, naming the first offending path."""
        stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
        while stack:
            node, path = stack.pop()
            if len(path) > self.max_depth:
                return validation_problem(
                    [field_error(format_loc(path), f"nested deeper than {self.max_depth} levels", "too_deep")]
                )
            if isinstance(node, dict):
                for k, v in node.items():
                    if len(k) > self.max_string:
                        return validation_problem(
                            [
                                field_error(
                                    format_loc(path), f"a key is longer than {self.max_string}", "too_long"
                                )
                            ]
                        )
                    stack.append((v, (*path, k)))
            elif isinstance(node, list):
                stack.extend((v, (*path, i)) for i, v in enumerate(node))
            elif isinstance(node, str) and len(node) > self.max_string:
                return validation_problem(
                    [
                        field_error(
                            format_loc(path), f"string longer than {self.max_string} characters", "too_long"
                        )
                    ]
                )
        return None

    async def _refuse(self, scope: Scope, send: Send, problem: Problem) -> None:
        body = problem.body(scope.get("path"))
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": problem.status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


# --- OpenAPI: the problem answers each operation may give ---------------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "message", "code"],
                "properties": {
                    "loc": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}

_PROBLEM_TEXT = {
    "400": "Malformed JSON (syntax, UTF-8, NaN/Infinity, absurd nesting)",
    "401": "No valid API key",
    "403": "The key's role or zone does not allow this",
    "404": "Not found (a row the path or body names), or nothing published for that date",
    "409": "Conflicts with stored data",
    "413": "Body too large",
    "415": "Body is not JSON",
    "422": "Validation failed; `errors` names each field",
    "503": "Database unavailable; retry",
}


def v1_operations(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(method, operation) of every ``/v1`` operation of an OpenAPI schema."""
    for path, item in schema.get("paths", {}).items():
        if path.startswith("/v1/"):
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    yield method, op


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Adds the problem answers to every ``/v1`` operation of an OpenAPI ``schema`` (in place).

    Every operation may answer 401, 403, 404 (a row its path or body names does not exist),
    422 and 503; one that writes 409; one with a body 400, 413 and 415. FastAPI's own 422 (its validation
    error model, which this service never sends) is replaced.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for method, op in v1_operations(schema):
        codes = {"401", "403", "404", "422", "503"}
        if method != "get":
            codes.add("409")
        if method in ("post", "put", "patch"):
            codes |= {"400", "413", "415"}
        responses = op.setdefault("responses", {})
        for code in sorted(codes):
            responses[code] = {
                "description": _PROBLEM_TEXT[code],
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
    text = json.dumps(schema.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in text:
            components.pop(name, None)
    return schema


def plain_tuples(node: Any) -> Any:
    """Rewrites fixed-length tuples of one item type (``prefixItems`` all alike, ``minItems``
    = ``maxItems`` = their count) as ``items`` with those bounds, in place: the same
    constraint, read by more OpenAPI tools (schemathesis 4.32 among them) than ``prefixItems``."""
    if isinstance(node, dict):
        prefix = node.get("prefixItems")
        if (
            isinstance(prefix, list)
            and prefix
            and "items" not in node
            and all(p == prefix[0] for p in prefix)
            and node.get("minItems") == node.get("maxItems") == len(prefix)
        ):
            node["items"] = node.pop("prefixItems")[0]
        for value in node.values():
            plain_tuples(value)
    elif isinstance(node, list):
        for value in node:
            plain_tuples(value)
    return node
