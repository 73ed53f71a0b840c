"""Canonical forms for Data Integrity: RDFC-1.0 N-Quads (eddsa-rdfc-2022) and JCS (eddsa-jcs-2022).

What is signed must be exactly what the document says. JSON-LD processors are forgiving in ways
that are dangerous for signatures, so before anything is canonicalised certreg refuses:

- a context that is not pinned (the loader refuses it; nothing is fetched);
- a term that the contexts do not define: JSON-LD silently drops it, so it would not be signed
  and could be changed at will. pyld and pyoxigraph have no "safe mode", so we detect it: the
  document is expanded with a sentinel ``@vocab`` appended to its context, and any IRI in that
  sentinel namespace is a term that would otherwise have vanished;
- relative IRIs (resolved against a sentinel base, then refused) and ``@base`` in an inline
  context: an identifier must not depend on where a verifier happened to load the document;
- (``@direction`` is accepted and written as JSON-LD's ``i18n-datatype`` literals, as Digital
  Bazaar's eddsa-rdfc-2022 does; tests/product/test_interop_js.py checks both agree);
- properties, identifiers and types that are not well-formed absolute IRIs (JSON-LD's toRdf
  drops a key or an id with a space in it without a word), blank-node properties, and language
  tags that are not BCP 47;
- keys that look like JSON-LD keywords but are not (``@foo`` is ignored by JSON-LD);
- documents nested deeper than :data:`MAX_DEPTH` or with more than :data:`MAX_NODES` values.

Two engines produce RDFC-1.0 output and tests hold them byte-for-byte equal:

- the *reference* engine: pyld ``to_rdf`` then pyld's URDNA2015 (= RDFC-1.0 with SHA-256), with
  pyld 3.3's N-Quads escaping corrected (``_pyld_fix``);
- the *fast* engine, used by default: JSON-LD expansion is what costs (~75% of a signature, see
  bench/), and a certification body signs thousands of documents of the same *shape*. So the
  expansion of a shape is computed once, with placeholders in place of its string values, and
  kept as an N-Quads template. Each later document of that shape only substitutes its values.
  Finding a shape costs one expansion in the usual case (:func:`_discover`), and pyld's
  context processing is remembered across calls and documents (``_pyld_cache``), so even the
  first document of a shape costs less than plain pyld's RDFC-1.0 (bench/bench_cold.py).
  A placeholder is only kept when the expansion shows that its value is copied verbatim into
  exactly one literal (or, for absolute IRIs, used verbatim as an IRI); every other value
  (types, keywords, compact IRIs, ``@json``…) is part of the shape. The substituted quads are
  then labelled: when every blank node has its own first-degree hash (nearly every credential)
  by :func:`_first_degree_rdfc`, RDFC-1.0's steps for that case; with named graphs, by
  pyoxigraph's RDFC-1.0; blank nodes that look alike go to the reference engine, whose work is
  bounded (:data:`MAX_RDFC_STEPS`). pyoxigraph lower-cases language tags, as pyld does during
  expansion; should a template ever hold an upper-case tag it goes to the reference engine.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
import rfc8785
from pyld import jsonld
from pyld.canon import URDNA2015

from certreg.contexts import DEFAULT_LOADER, ContextError, DocumentLoader
from certreg.keys.errors import CertregError
from certreg.verifier import _pyld_cache, _pyld_fix
from certreg.verifier._pyld_fix import rdfc_escape

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_RDFC_STEPS",
    "Analysis",
    "CanonicalizationError",
    "analyse",
    "jcs",
    "jcs_reference",
    "rdfc",
    "rdfc_reference",
]

MAX_DEPTH = 64
MAX_NODES = 50_000
MAX_RDFC_STEPS = 5_000

_pyld_fix.apply()
_pyld_cache.apply()

# Namespaces that cannot occur in a real document: anything expanded into them is an error.
_SENTINEL_VOCAB = "urn:x-certreg-undefined-term:"
_SENTINEL_BASE = "https://relative-iri.certreg.invalid/"
_IRI_SLOT = "urn:x-certreg-slot:"
_SLOT_OPEN, _SLOT_CLOSE = "\ue000", "\ue001"

KEYWORDS = frozenset(
    "@base @container @context @direction @graph @id @import @included @index @json "
    "@language @list @nest @none @prefix @propagate @protected @reverse @set @type "
    "@value @version @vocab".split()
)
_KEYWORD_LIKE = re.compile(r"^@[a-zA-Z]+$")
_WHITESPACE = re.compile(r"\s")
# Conservative shape of an absolute IRI whose expansion is the identity (see _iri_candidate).
# \Z, not $: "$" also matches before a final newline, and an IRI ending in one broke the
# N-Quads that canonicalisation writes (a Python exception instead of a reason).
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x20\x7f]*\Z")


class CanonicalizationError(CertregError, ValueError):
    """The document cannot be canonicalised safely. ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# JCS


def jcs(value: Any) -> bytes:
    """RFC 8785 JSON Canonicalization Scheme.

    The reference is the rfc8785 package (pure Python, ~0.2 ms for a certificate). For the
    documents certreg signs, the standard library's C encoder with sorted keys, no spaces and
    no ASCII escaping writes the very same bytes: JCS differs from it only in how it writes
    floating-point numbers and integers beyond 2**53 (ECMAScript number formatting) and in
    sorting keys by UTF-16 code units (which differs from code-point order only for keys
    holding characters beyond U+FFFF). Documents with any of those use the reference; tests
    hold the two to each other.
    """
    if _jcs_fast_path(value):
        try:
            return json.dumps(
                value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
            ).encode("utf-8")
        except (UnicodeEncodeError, ValueError, TypeError):
            pass  # e.g. a lone surrogate: let the reference say what is wrong
    return jcs_reference(value)


def jcs_reference(value: Any) -> bytes:
    """RFC 8785 with the rfc8785 package, after the same limits."""
    _jcs_fast_path(value)
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        # The package's own words name Python codecs and classes; say what is wrong instead.
        raise CanonicalizationError(
            f"the document cannot be canonicalised as JCS: it contains {_jcs_culprit(exc)}"
        ) from None


def _jcs_culprit(exc: Exception) -> str:
    if isinstance(exc, rfc8785.IntegerDomainError):
        return (
            f"an integer beyond ±{_MAX_SAFE_INTEGER:,}, which JCS cannot write exactly "
            "(RFC 8785 numbers are IEEE 754 doubles)"
        )
    if isinstance(exc, rfc8785.FloatDomainError):
        return "a number JSON cannot hold (infinite or not a number)"
    if isinstance(exc, rfc8785.CanonicalizationError | UnicodeError):
        return "text that is not valid Unicode (a lone surrogate)"
    return "a value that is not JSON"


_MAX_SAFE_INTEGER = 2**53 - 1


def _jcs_fast_path(value: Any) -> bool:
    """Check the size limits (raising); True when the stdlib encoder writes exact JCS."""
    count = 0
    simple = True

    def walk(item: Any, depth: int) -> None:
        nonlocal count, simple
        if depth > MAX_DEPTH:
            raise CanonicalizationError(f"the document is nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            count += len(item)
            if count > MAX_NODES:
                raise CanonicalizationError(f"the document has more than {MAX_NODES} values")
            for key, child in item.items():
                if type(key) is not str:
                    raise CanonicalizationError("JSON object keys must be strings")
                if not key.isascii() and any(ord(c) > 0xFFFF for c in key):
                    simple = False
                if type(child) is not str:
                    walk(child, depth + 1)
        elif isinstance(item, list):
            count += len(item)
            if count > MAX_NODES:
                raise CanonicalizationError(f"the document has more than {MAX_NODES} values")
            for child in item:
                if type(child) is not str:
                    walk(child, depth + 1)
        elif isinstance(item, bool) or item is None or isinstance(item, str):
            pass
        elif isinstance(item, int):
            simple = simple and -_MAX_SAFE_INTEGER <= item <= _MAX_SAFE_INTEGER
        else:
            simple = False  # floats, and anything rfc8785 should judge

    walk(value, 0)
    return simple


def _context_list(document: Mapping[str, Any]) -> list[Any]:
    ctx = document.get("@context")
    if ctx is None:
        raise CanonicalizationError("the document has no @context")
    return list(ctx) if isinstance(ctx, list) else [ctx]


def _preflight(document: Any, loader: DocumentLoader) -> tuple[list[Any], _Scan]:
    """Refuse what JSON-LD would silently ignore or resolve differently; return the contexts
    and the document's shape."""
    if not isinstance(document, Mapping):
        raise CanonicalizationError("a JSON-LD document must be a JSON object")
    scan = _scan(document)
    contexts = _context_list(document)
    for ctx in contexts:
        if isinstance(ctx, str):
            if not loader.knows(ctx):
                raise CanonicalizationError(
                    f"the JSON-LD context {ctx!r} is not pinned by certreg and is never "
                    "fetched from the network"
                )
        elif isinstance(ctx, Mapping):
            if _contains_key(ctx, "@base"):
                raise CanonicalizationError(
                    "@base in an inline context is refused: identifiers must not depend on "
                    "where the document is read"
                )
            if _contains_key(ctx, "@import"):
                raise CanonicalizationError("@import in an inline context is not supported")
        else:
            raise CanonicalizationError("@context entries must be URLs or objects")
    return contexts, scan


@dataclass
class _Scan:
    """One pass over a document: limits and key checks, its shape and its string values."""

    key: Any  # hashable: the document with each string value (outside @context) as a slot
    leaves: list[str]  # the string values, in walk order (see _fill)
    marked: bool  # some string contains a placeholder marker: never use templates for it


# Keys already checked outside any context (short ones only, and only so many): credentials of
# one body repeat the same few dozen keys, and this pass runs for every signature.
_GOOD_KEYS: set[str] = set()
_GOOD_KEYS_MAX = 10_000


def _scan(document: Mapping[str, Any]) -> _Scan:
    leaves: list[str] = []
    count = 0
    marked = False
    good_keys = _GOOD_KEYS

    def leaf(value: str, in_context: bool) -> Any:
        nonlocal marked
        # The reference engine's sentinels too: a value that spells one must take the
        # reference path, which refuses it, never the templates (which would accept it).
        # (Written out again in walk's loops, which this runs for every string of every
        # document signed: keep the two alike.)
        if (
            _SLOT_OPEN in value
            or _SLOT_CLOSE in value
            or "x-certreg-" in value
            or _SENTINEL_BASE in value
        ):
            marked = True
        if in_context:
            return ("c", value)
        leaves.append(value)
        return len(leaves) - 1

    def walk(value: Any, depth: int, in_context: bool) -> Any:
        nonlocal count, marked
        if depth > MAX_DEPTH:
            raise CanonicalizationError(f"the document is nested deeper than {MAX_DEPTH} levels")
        kind = type(value)
        # type() first: isinstance against the Mapping ABC is slow, and JSON gives dicts.
        if kind is dict or (kind is not list and isinstance(value, Mapping)):
            count += len(value)
            if count > MAX_NODES:
                raise CanonicalizationError(f"the document has more than {MAX_NODES} values")
            parts: list[Any] = ["{"]
            for key, item in value.items():
                if in_context or key not in good_keys:
                    marked = _check_key(key, in_context) or marked
                inner = in_context or key == "@context"
                parts.append(key)
                if type(item) is not str:
                    parts.append(walk(item, depth + 1, inner))
                elif inner:
                    parts.append(leaf(item, True))
                else:  # leaf(item, False), written out
                    if (
                        _SLOT_OPEN in item
                        or _SLOT_CLOSE in item
                        or "x-certreg-" in item
                        or _SENTINEL_BASE in item
                    ):
                        marked = True
                    parts.append(len(leaves))
                    leaves.append(item)
            return tuple(parts)
        if kind is list or isinstance(value, list):
            count += len(value)
            if count > MAX_NODES:
                raise CanonicalizationError(f"the document has more than {MAX_NODES} values")
            items: list[Any] = ["["]
            for item in value:
                if type(item) is not str:
                    items.append(walk(item, depth + 1, in_context))
                elif in_context:
                    items.append(leaf(item, True))
                else:  # leaf(item, False), written out
                    if (
                        _SLOT_OPEN in item
                        or _SLOT_CLOSE in item
                        or "x-certreg-" in item
                        or _SENTINEL_BASE in item
                    ):
                        marked = True
                    items.append(len(leaves))
                    leaves.append(item)
            return tuple(items)
        if isinstance(value, str):
            return leaf(value, in_context)
        if value is None or isinstance(value, (bool, int, float)):
            return ("v", type(value).__name__, value)
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")

    key = walk(document, 0, False)
    return _Scan(key, leaves, marked)


def _check_key(key: Any, in_context: bool) -> bool:
    """Refuse keys JSON-LD would ignore or drop; True when the key holds a template marker."""
    if not isinstance(key, str):
        raise CanonicalizationError("JSON object keys must be strings")
    if key[:1] == "@":
        _check_keyword(key)
    elif not in_context and _WHITESPACE.search(key):
        # Expansion drops such a key before anything else can see it.
        raise CanonicalizationError(
            f"the key {key!r} contains white space: JSON-LD would drop it, so it could not be "
            "signed"
        )
    if "x-certreg-" in key or _SLOT_OPEN in key:
        return True
    if not in_context and len(key) <= 64 and len(_GOOD_KEYS) < _GOOD_KEYS_MAX:
        _GOOD_KEYS.add(key)
    return False


def _check_keyword(key: str) -> None:
    if _KEYWORD_LIKE.match(key) and key not in KEYWORDS:
        raise CanonicalizationError(
            f"{key!r} looks like a JSON-LD keyword but is not one; JSON-LD would "
            "ignore it, so it could not be signed"
        )


def _contains_key(value: Any, key: str) -> bool:
    if isinstance(value, Mapping):
        return key in value or any(_contains_key(v, key) for v in value.values())
    if isinstance(value, list):
        return any(_contains_key(v, key) for v in value)
    return False


def _top_level_vocab(contexts: Iterable[Any], loader: DocumentLoader) -> bool:
    for ctx in contexts:
        body = loader.document(ctx).get("@context") if isinstance(ctx, str) else ctx
        for part in body if isinstance(body, list) else [body]:
            if isinstance(part, Mapping) and "@vocab" in part:
                return True
    return False


def _with_sentinels(document: Mapping[str, Any], contexts: list[Any], loader: DocumentLoader):
    """The document with the undefined-term sentinel appended to its context (unless the
    contexts already set @vocab, in which case no term is dropped at the top level)."""
    if _top_level_vocab(contexts, loader):
        return document
    out = dict(document)
    out["@context"] = [*contexts, {"@vocab": _SENTINEL_VOCAB}]
    return out


def _to_rdf(
    document: Mapping[str, Any], loader: DocumentLoader, *, strict: bool = True
) -> list[dict[str, Any]]:
    """pyld toRdf (no canonicalisation) -> quads as pyld dicts.

    ``strict`` refuses whatever toRdf would silently drop (see :func:`_refuse_dropped`). Only
    the shape discovery of the fast engine, which feeds placeholders through JSON-LD to see
    where they land, runs without it.
    """
    quads, expanded = _expand_to_rdf(document, loader)
    if strict:
        with _jsonld_errors():
            _refuse_dropped(expanded)
    return quads


def _expand_to_rdf(
    document: Mapping[str, Any], loader: DocumentLoader
) -> tuple[list[dict[str, Any]], Any]:
    """One JSON-LD expansion: the quads of ``document`` and its expanded form.

    toRdf expands the document itself; the expanded form is taken from inside that one call
    (:func:`_expand_keeping`) instead of expanding twice (``expand``, then ``to_rdf`` of the
    result, which expands the expanded form again at nearly the same cost). Should toRdf fail
    after the expansion succeeded, what :func:`_refuse_dropped` finds is said first, as when
    the expansion was checked before toRdf ran. The caller decides whether to refuse.
    """
    options = {"documentLoader": loader, "base": _SENTINEL_BASE, "rdfDirection": "i18n-datatype"}
    kept: list[Any] = []
    with _jsonld_errors():
        try:
            with _linear_duplicate_check(), _keeping_expansion(kept):
                dataset = jsonld.to_rdf(document, options)
        except jsonld.JsonLdError as exc:
            cause = exc.__cause__
            if not kept and isinstance(cause, jsonld.JsonLdError):
                # The expansion failed: say what expand() says, not toRdf's wrapper of it.
                raise cause from None
            if kept:
                _refuse_dropped(kept[0])
            raise
        except Exception:
            if kept:
                _refuse_dropped(kept[0])
            raise
    quads: list[dict[str, Any]] = []
    for graph_name, triples in dataset.items():
        for triple in triples:
            if graph_name != "@default":
                triple = dict(triple)
                kind = "blank node" if graph_name.startswith("_:") else "IRI"
                triple["name"] = {"type": kind, "value": graph_name}
            quads.append(triple)
    return quads, kept[0]


@contextmanager
def _jsonld_errors() -> Iterator[None]:
    """pyld's and the loader's exceptions as a CanonicalizationError saying why. (A refusal
    by _refuse_dropped is a ValueError too, and reads "the document is not valid JSON-LD
    (...)", as it always has.)"""
    try:
        yield
    except jsonld.JsonLdError as exc:
        raise CanonicalizationError(_jsonld_reason(exc)) from None
    except ContextError as exc:
        raise CanonicalizationError(str(exc)) from None
    except (RecursionError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise CanonicalizationError(f"the document is not valid JSON-LD ({exc})") from None


# pyld's toRdf calls JsonLdProcessor.expand once, on the document it was given. Within
# _keeping_expansion (this thread only) the first expansion's result is also handed to the
# caller; everywhere else the wrapper only passes the call on. toRdf's node map reads the
# expanded form and builds its own objects (tests check the form is unchanged).
class _Keep(threading.local):
    kept: list[Any] | None = None  # a class default: no AttributeError on every lookup


_KEEP = _Keep()
_PYLD_EXPAND = jsonld.JsonLdProcessor.expand


@contextmanager
def _keeping_expansion(kept: list[Any]) -> Iterator[None]:
    outer = _KEEP.kept
    _KEEP.kept = kept
    try:
        yield
    finally:
        _KEEP.kept = outer


def _expand_keeping(self: Any, input_: Any, options: Any) -> Any:
    expanded = _PYLD_EXPAND(self, input_, options)
    kept = _KEEP.kept
    if kept is not None and not kept:
        kept.append(expanded)
    return expanded


jsonld.JsonLdProcessor.expand = _expand_keeping


# --------------------------------------------------------------------------------------------
# pyld's duplicate check, made linear
#
# toRdf first builds a node map, and pyld adds every value of a property to it only after
# comparing it with each value already there (JsonLdProcessor.has_value): a property with n
# values costs n*n/2 comparisons. An anonymous 165 KiB credential with ~10,000 values of one
# property cost 33 s of CPU this way (issue 7). Within our own toRdf calls, long arrays are
# instead indexed by a key that is equal exactly when pyld's compare_values says "equal", so
# each value costs one set lookup. The index lives for one call, in this thread only, and holds
# the arrays it indexed, so that an id() is never reused while it is in use.


class _Dedup(threading.local):
    # A class default: a missing thread-local attribute costs an AttributeError per lookup,
    # and _has_value runs for every value pyld adds to its node map.
    index: dict[int, tuple[list[Any], set[Any], list[int]]] | None = None


_DEDUP = _Dedup()
_PYLD_HAS_VALUE = jsonld.JsonLdProcessor.has_value
# Below this many values pyld's own scan is as cheap as building an index.
_INDEX_FROM = 16


@contextmanager
def _linear_duplicate_check() -> Iterator[None]:
    outer = _DEDUP.index
    _DEDUP.index = {}
    try:
        yield
    finally:
        _DEDUP.index = outer


def _has_value(subject: Any, property: str, value: Any) -> bool:
    index = _DEDUP.index
    values = subject.get(property) if index is not None and isinstance(subject, dict) else None
    key = _dedup_key(value) if type(values) is list and len(values) >= _INDEX_FROM else None
    if key is None:
        return _PYLD_HAS_VALUE(subject, property, value)
    assert index is not None and type(values) is list
    entry = index.get(id(values))
    if entry is None or entry[0] is not values or entry[2][0] > len(values):
        entry = index[id(values)] = (values, set(), [0])
    _, seen, done = entry
    # The node map only appends to these arrays: index what was added since the last call.
    for item in values[done[0] :]:
        item_key = _dedup_key(item)
        if item_key is not None:
            seen.add(item_key)
    done[0] = len(values)
    return key in seen


def _dedup_key(value: Any) -> Any:
    """A hashable key, equal for two values exactly when pyld's ``compare_values`` finds them
    equal (None for a value equal to nothing but itself): primitives by value, but a boolean
    never equals a number; value objects by @value, @type, @language and @index; node objects
    by @id. (Python's 1 == 1.0 and equal hashes match pyld's ``==``.)"""
    if isinstance(value, dict):
        if "@value" in value:
            inner = value["@value"]
            return (
                "v",
                _freeze(value.get("@type")),
                _freeze(value.get("@language")),
                _freeze(value.get("@index")),
                isinstance(inner, bool),
                _freeze(inner),
            )
        ident = value.get("@id")
        return None if ident is None else ("id", _freeze(ident))
    return ("p", isinstance(value, bool), _freeze(value))


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return ("d", frozenset((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("l", tuple(_freeze(v) for v in value))
    return value


jsonld.JsonLdProcessor.has_value = staticmethod(_has_value)


# BCP 47 as JSON-LD checks it (well-formed, not validated against the registry).
_LANGUAGE_TAG = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")


def _refuse_dropped(expanded: Any) -> None:
    """Refuse what JSON-LD's toRdf would drop without a word, leaving it unsigned: terms the
    contexts do not define (expanded into the sentinel vocabulary), relative IRIs (resolved
    against the sentinel base), and properties, identifiers and types that are not
    well-formed IRIs (a key or an id with a space in it simply vanishes); and language tags
    that are not BCP 47 (they would make invalid N-Quads that other implementations refuse)."""
    if isinstance(expanded, list):
        for item in expanded:
            _refuse_dropped(item)
        return
    if not isinstance(expanded, dict):
        return
    for key, value in expanded.items():
        if key == "@id":
            _check_iri(value, "identifier", blank_ok=True)
        elif key == "@type":
            for item in value if isinstance(value, list) else [value]:
                if item != "@json":
                    _check_iri(item, "type", blank_ok=True)
        elif key == "@language":
            if not isinstance(value, str) or not _LANGUAGE_TAG.match(value):
                raise CanonicalizationError(f"{value!r} is not a well-formed language tag (BCP 47)")
        elif key == "@value":
            continue
        elif key.startswith("@"):  # @list, @set, @graph, @included, @reverse, @index, ...
            _refuse_dropped(value)
        else:
            _check_iri(key, "property", blank_ok=False)
            _refuse_dropped(value)


def _check_iri(value: Any, what: str, *, blank_ok: bool) -> None:
    if not isinstance(value, str):
        return
    if value.startswith(_SENTINEL_VOCAB):
        raise CanonicalizationError(
            f"the term {value[len(_SENTINEL_VOCAB) :]!r} is not defined by the document's "
            "contexts, so it would not be covered by the signature"
        )
    if value.startswith(_SENTINEL_BASE):
        raise CanonicalizationError(
            f"the relative IRI {value[len(_SENTINEL_BASE) :]!r} is refused: identifiers in a "
            "signed document must be absolute"
        )
    if value.startswith("_:"):
        if not blank_ok:
            raise CanonicalizationError(
                f"the {what} {value!r} is a blank node; JSON-LD would drop it from the RDF"
            )
        return
    if not _ABSOLUTE_IRI.match(value):
        raise CanonicalizationError(
            f"the {what} {value!r} is not a well-formed absolute IRI; JSON-LD would drop it, "
            "so it could not be signed"
        )


def _jsonld_reason(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ContextError):
            return str(seen)
        details = getattr(seen, "details", None)
        cause = getattr(seen, "cause", None) or seen.__cause__
        if cause is None and isinstance(details, dict):
            cause = details.get("cause")
        seen = cause if isinstance(cause, BaseException) else None
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"the document is not valid JSON-LD: {message}"


def _terms(quad: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield quad["subject"]
    yield quad["predicate"]
    yield quad["object"]
    if "name" in quad:
        yield quad["name"]


# --------------------------------------------------------------------------------------------
# Reference engine: pyld all the way


def rdfc_reference(document: Any, loader: DocumentLoader = DEFAULT_LOADER) -> str:
    """RDFC-1.0 canonical N-Quads with pyld only (slow, the yardstick for the fast engine)."""
    contexts, _ = _preflight(document, loader)
    quads = _to_rdf(_with_sentinels(document, contexts, loader), loader)
    return _urdna2015(quads)


def _urdna2015(quads: list[dict[str, Any]]) -> str:
    dataset: dict[str, list[dict[str, Any]]] = {"@default": []}
    for quad in quads:
        triple = {k: dict(v) for k, v in quad.items() if k != "name"}
        name = quad.get("name")
        dataset.setdefault(name["value"] if name else "@default", []).append(triple)
    return _BoundedURDNA2015().main(dataset, {"format": "application/n-quads"})


class _BoundedURDNA2015(URDNA2015):
    """pyld's RDFC-1.0 with a work budget.

    Blank nodes that cannot be told apart by their own statements send RDFC-1.0 into its
    N-degree hashing, whose cost grows factorially: measured here, a clique of 6 blank nodes
    takes 1.5 s and of 8, 111 s. RDFC-1.0 (section 4.4) asks implementations to guard against
    such "poison" graphs. Each N-degree call and each permutation it tries costs one step;
    real credentials need none or a handful; a ring of 30 blank nodes about 2,700.
    """

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0

    def _spend(self, steps: int) -> None:
        self.steps += steps
        if self.steps > MAX_RDFC_STEPS:
            raise CanonicalizationError(
                "the document has blank nodes that cannot be told apart, and telling them "
                f"apart would take more than {MAX_RDFC_STEPS} steps: refused"
            )

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        self._spend(1)
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
        related = super().create_hash_to_related(id_, issuer)
        for group in related.values():
            # The caller tries every permutation of each group; refuse before it starts.
            self._spend(math.factorial(min(len(group), 12)))
        return related


# --------------------------------------------------------------------------------------------
# Fast engine: shape templates + pyoxigraph RDFC-1.0


@dataclass
class _Template:
    pieces: list[str]  # text, then (slot, role) markers interleaved: see _render
    slots: list[tuple[int, str]]  # (slot index, "literal" | "iri") between the text pieces
    oxigraph_safe: bool
    named_graphs: bool = False
    # Blank nodes whose statements look alike when slot values are ignored: only these can
    # ever share a first-degree hash. Each group maps a blank node to its quads, as tuples of
    # terms (a slot is ("slot", index)). Filled for templates with named graphs only: the
    # others go through _first_degree_rdfc, which finds alike nodes itself.
    alike_blank_nodes: list[dict[str, list[tuple[Any, ...]]]] = field(default_factory=list)


@dataclass
class _Shape:
    concrete: frozenset[int]
    variants: OrderedDict[tuple[str, ...], _Template]
    # The JSON-LD expansion of the placeholder document that proved the shape, and the
    # concrete values it holds: handed once to the compact-form check (see take_expansion).
    expansion: tuple[tuple[str, ...], Any] | None = None


_SHAPES: OrderedDict[Any, _Shape] = OrderedDict()
_MAX_SHAPES = 256
# Rounds of shape discovery before a document is taken as all shape (see _discover);
# certificates and proof configurations need one.
_MAX_SHAPE_ROUNDS = 5
_MAX_VARIANTS = 64
_DEFINED_TERMS: dict[Any, frozenset[str]] = {}
_TYPE_KEYS: dict[str, frozenset[str]] = {}


class Analysis:
    """What both canonicalising a document and checking its compact form
    (:mod:`verifier.compact`) start from: its contexts and its scan (:func:`_preflight`, which
    refuses what JSON-LD would ignore), then, when first asked, the kinds of its values
    (:func:`_classes`) and its shape (:func:`_shape_of`).

    Signing checks the compact form of a document and then canonicalises that very document:
    the check hands its analysis to :func:`rdfc`, so the walk and the shape lookup run once per
    signature instead of twice. An analysis describes the one document object it was made
    from, as it was then: :func:`rdfc` refuses it for any other object, and the caller must
    not change the document in between (signing builds the document it analyses itself).
    """

    __slots__ = ("_classes", "_shape", "contexts", "document", "loader", "scan")

    def __init__(self, document: Any, loader: DocumentLoader) -> None:
        self.contexts, self.scan = _preflight(document, loader)  # raises on refused input
        self.document = document
        self.loader = loader
        self._classes: str | None = None
        self._shape: _Shape | None = None

    @property
    def classes(self) -> str:
        if self._classes is None:
            self._classes = _classes(self.scan.leaves, self.contexts, self.loader)
        return self._classes

    @property
    def shape(self) -> _Shape:
        if self._shape is None:
            self._shape = _shape_of(self.document, self.scan, self.classes, self.loader)
        return self._shape


def analyse(document: Any, loader: DocumentLoader = DEFAULT_LOADER) -> Analysis:
    """The :class:`Analysis` of ``document``; raises :class:`CanonicalizationError` for a
    document that cannot be canonicalised safely (as :func:`rdfc` would)."""
    return Analysis(document, loader)


def rdfc(
    document: Any, loader: DocumentLoader = DEFAULT_LOADER, analysis: Analysis | None = None
) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document (fast engine, reference fallback).

    ``analysis``: :func:`analyse`'s result for this very document, when the caller has it
    already (the compact-form check before signing makes one)."""
    if analysis is None:
        analysis = Analysis(document, loader)
    elif analysis.document is not document or analysis.loader is not loader:
        # Rendering another document's values would sign what this one does not say.
        raise ValueError("the analysis given to rdfc is not this document's")
    scan = analysis.scan
    if scan.marked:
        return rdfc_reference(document, loader)
    leaves = scan.leaves
    classes = analysis.classes
    shape = analysis.shape
    variant_key = _variant_key(leaves, shape.concrete)
    template = shape.variants.get(variant_key)
    if template is None:
        template = _make_template(document, leaves, classes, shape.concrete, loader)
        _remember(shape.variants, variant_key, template, _MAX_VARIANTS)
    if not template.pieces:
        return rdfc_reference(document, loader)
    rendered = _render(template, leaves)
    canonical = None
    if not _needs_reference(rendered):
        if not template.named_graphs:
            canonical = _first_degree_rdfc(rendered)
        elif template.oxigraph_safe and _blank_nodes_distinguishable(template, leaves):
            canonical = _oxigraph_rdfc(rendered)
    # Blank nodes that look alike (or anything unusual): the reference, with its work bound.
    return canonical if canonical is not None else rdfc_reference(document, loader)


def _shape_of(
    document: Mapping[str, Any], scan: _Scan, classes: str, loader: DocumentLoader
) -> _Shape:
    """The cached shape of ``document`` (found by expansion the first time it is seen, together
    with the template for this document's concrete values)."""
    key = (scan.key, classes, id(loader))
    shape = _SHAPES.get(key)
    if shape is None:
        concrete, template, expanded = _discover(document, scan.leaves, classes, loader)
        shape = _Shape(concrete, OrderedDict())
        variant = _variant_key(scan.leaves, concrete)
        shape.variants[variant] = template
        if expanded is not None:
            shape.expansion = (variant, expanded)
        _remember(_SHAPES, key, shape, _MAX_SHAPES)
    else:
        _SHAPES.move_to_end(key)
    return shape


def _variant_key(leaves: list[str], concrete: frozenset[int]) -> tuple[str, ...]:
    return tuple(leaves[i] for i in sorted(concrete))


def take_expansion(shape: _Shape, leaves: list[str]) -> Any | None:
    """The JSON-LD expansion (plain ``jsonld.expand``, default options) of
    ``_placeholder_document(document, classes, shape.concrete)`` for a document with these
    ``leaves``, when the shape's discovery made it; None otherwise. Handed out once.

    Discovery expanded that very placeholder document, with the sentinel ``@vocab`` appended
    to its contexts and the sentinel base, and :func:`_refuse_dropped` found neither sentinel
    in the result: so no term fell back to ``@vocab`` and no IRI was resolved against the
    base, and the expansion is the one plain options give (tests hold the two equal). pyld's
    node map only reads it.
    """
    held = shape.expansion
    if held is None or held[0] != _variant_key(leaves, shape.concrete):
        return None
    shape.expansion = None
    return held[1]


def _needs_reference(rendered: str) -> bool:
    # Leftover placeholders (never expected), and the two non-characters pyoxigraph 0.5 escapes
    # as \\uFFFE / \\uFFFF where pyld and jsonld.js write them raw
    # (tests/product/test_interop_js.py).
    # Plain substring tests: a regular expression over the whole text cost 0.07 ms.
    return (
        "\ufffe" in rendered
        or "\uffff" in rendered
        or _SLOT_OPEN in rendered
        or _IRI_SLOT in rendered
    )


def _remember(cache: OrderedDict, key: Any, value: Any, limit: int) -> None:
    cache[key] = value
    if len(cache) > limit:
        cache.popitem(last=False)


def _fill(value: Any, replace: Callable[[int, str], str], counter: list[int]) -> Any:
    """Rebuild the document in the same walk order as _scan, replacing string values."""
    if isinstance(value, Mapping):
        return {k: (v if k == "@context" else _fill(v, replace, counter)) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, replace, counter) for v in value]
    if isinstance(value, str):
        index = counter[0]
        counter[0] += 1
        return replace(index, value)
    return value


def _classes(leaves: list[str], contexts: list[Any], loader: DocumentLoader) -> str:
    """'i' for values whose JSON-LD IRI expansion is the identity, 's' for the rest."""
    terms = _defined_terms(contexts, loader)
    return "".join("i" if _iri_candidate(v, terms) else "s" for v in leaves)


def _iri_candidate(value: str, terms: frozenset[str]) -> bool:
    # An absolute IRI whose scheme is not a term (so it is not a compact IRI) and which is not
    # itself a term: expansion keeps it verbatim in @id and @vocab positions alike.
    if ":" not in value or value.startswith("_:") or not _ABSOLUTE_IRI.match(value):
        return False
    return value.split(":", 1)[0] not in terms and value not in terms


def _defined_terms(contexts: list[Any], loader: DocumentLoader) -> frozenset[str]:
    # Documents of one issuer name the same context URLs: their union is made once (it is
    # looked up for every signature, and the union of a few hundred terms costs ~10 µs).
    urls = tuple(contexts) if all(isinstance(c, str) for c in contexts) else None
    if urls is not None:
        known = _DEFINED_TERMS.get((id(loader), urls))
        if known is not None:
            return known
    found: set[str] = set()
    for ctx in contexts:
        if isinstance(ctx, str):
            cache_key = f"{id(loader)}:{ctx}"
            if cache_key not in _DEFINED_TERMS:
                _DEFINED_TERMS[cache_key] = frozenset(_collect_terms(loader.document(ctx)))
            found |= _DEFINED_TERMS[cache_key]
        else:
            found |= _collect_terms({"@context": ctx})
    terms = frozenset(found)
    if urls is not None and len(_DEFINED_TERMS) < 1024:
        _DEFINED_TERMS[(id(loader), urls)] = terms
    return terms


def _type_keys(contexts: list[Any], loader: DocumentLoader) -> frozenset[str]:
    """``@type`` and the terms any of the contexts (or their scoped contexts) alias to it."""
    found: set[str] = {"@type"}
    for ctx in contexts:
        if isinstance(ctx, str):
            cache_key = f"{id(loader)}:{ctx}"
            if cache_key not in _TYPE_KEYS:
                _TYPE_KEYS[cache_key] = frozenset(_collect_type_aliases(loader.document(ctx)))
            found |= _TYPE_KEYS[cache_key]
        else:
            found |= _collect_type_aliases({"@context": ctx})
    return frozenset(found)


def _collect_type_aliases(value: Any) -> set[str]:
    aliases: set[str] = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if item == "@type" or (isinstance(item, Mapping) and item.get("@id") == "@type"):
                aliases.add(key)
            if isinstance(item, (Mapping, list)):
                aliases |= _collect_type_aliases(item)
    elif isinstance(value, list):
        for item in value:
            aliases |= _collect_type_aliases(item)
    return aliases


def _collect_terms(value: Any) -> set[str]:
    terms: set[str] = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "@context":
                for ctx in item if isinstance(item, list) else [item]:
                    if isinstance(ctx, Mapping):
                        terms.update(k for k in ctx if not k.startswith("@"))
                        for definition in ctx.values():
                            terms |= _collect_terms(definition)
            elif isinstance(item, (Mapping, list)):
                terms |= _collect_terms(item)
    elif isinstance(value, list):
        for item in value:
            terms |= _collect_terms(item)
    return terms


def _placeholder(index: int, kind: str) -> str:
    if kind == "i":
        return f"{_IRI_SLOT}{index}"
    return f"{_SLOT_OPEN}{index}{_SLOT_CLOSE}"


def _placeholder_document(
    document: Mapping[str, Any], classes: str, concrete: frozenset[int] | set[int]
) -> Any:
    def replace(index: int, value: str) -> str:
        return value if index in concrete else _placeholder(index, classes[index])

    return _fill(document, replace, [0])


_SLOT_IN_TEXT = re.compile(
    re.escape(_SLOT_OPEN)
    + r"(\d+)"
    + re.escape(_SLOT_CLOSE)
    + "|"
    + re.escape(_IRI_SLOT)
    + r"(\d+)"
)


def _slot_roles(quads: list[dict[str, Any]], count: int, classes: str) -> dict[int, str]:
    """Which slots the expansion copied verbatim, and how: 'literal' or 'iri'."""
    literal_hits = [0] * count
    iri_hits = [0] * count
    spoiled: set[int] = set()
    slot_in_text = _SLOT_IN_TEXT
    for quad in quads:
        for position, term in (
            ("s", quad["subject"]),
            ("p", quad["predicate"]),
            ("o", quad["object"]),
            ("g", quad.get("name")),
        ):
            if term is None:
                continue
            value = term.get("value", "")
            for extra in (term.get("datatype", ""), term.get("language", "")):
                if _SLOT_OPEN in extra or _IRI_SLOT in extra:
                    for m in slot_in_text.finditer(extra):
                        spoiled.add(int(m.group(1) or m.group(2)))
            if _SLOT_OPEN not in value and _IRI_SLOT not in value:
                continue  # most terms hold no slot: two substring tests instead of a regex
            for m in slot_in_text.finditer(value):
                index = int(m.group(1) or m.group(2))
                whole = m.group(0) == value
                if whole and term["type"] == "literal" and position == "o":
                    literal_hits[index] += 1
                elif whole and term["type"] == "IRI" and position != "p" and classes[index] == "i":
                    iri_hits[index] += 1
                else:
                    spoiled.add(index)
    roles: dict[int, str] = {}
    for index in range(count):
        if index in spoiled:
            continue
        if literal_hits[index] == 1 and iri_hits[index] == 0:
            roles[index] = "literal"
        elif iri_hits[index] >= 1 and literal_hits[index] == 0:
            roles[index] = "iri"
    return roles


def _discover(
    document: Mapping[str, Any], leaves: list[str], classes: str, loader: DocumentLoader
) -> tuple[frozenset[int], _Template, Any]:
    """The values that belong to the shape (the *concrete* ones), the template for this
    document's values of them and the expansion it was made from (None when the shape was not
    proven): one JSON-LD expansion in the usual case.

    Values in type positions decide type-scoped contexts, and values that are terms can
    expand to IRIs, so the concrete set starts from those (:func:`_first_guess`). A round
    expands the document with every other value replaced by a placeholder; when each
    placeholder lands verbatim in exactly one literal or as whole IRIs, the guess is proven
    and that very expansion is the template. Otherwise the values whose placeholders did not
    land so join the concrete set and the next round tries again. A larger concrete set than
    needed is never wrong (only less shared: documents whose concrete values differ get
    templates of their own); a template is only ever built from a round that proved itself.

    Each round is a full toRdf, so the rounds are bounded (:data:`_MAX_SHAPE_ROUNDS`): a
    document can chain type-scoped contexts so that every round finds one more type (issue 7:
    once per value, the work grew with the square of the document). Past the bound every value
    belongs to the shape: the template is then this document's own expansion, correct but
    reused only for the very same values. The same happens when a round fails or the proven
    round holds something :func:`_refuse_dropped` refuses: the real document is then expanded
    strictly, and says whether, and why, it cannot be signed.
    """
    concrete = _first_guess(document, _context_list(document), loader)
    for _ in range(_MAX_SHAPE_ROUNDS):
        doc = _placeholder_document(document, classes, concrete)
        try:
            quads, expanded = _expand_to_rdf(
                _with_sentinels(doc, _context_list(doc), loader), loader
            )
        except CanonicalizationError:
            break
        roles = _slot_roles(quads, len(leaves), classes)
        missing = {i for i in range(len(leaves)) if i not in concrete and i not in roles}
        if not missing:
            try:
                with _jsonld_errors():
                    _refuse_dropped(expanded)
            except CanonicalizationError:
                break
            return frozenset(concrete), _template_from(quads), expanded
        concrete |= missing
    everything = frozenset(range(len(leaves)))
    return everything, _make_template(document, leaves, classes, everything, loader), None


def _first_guess(
    document: Mapping[str, Any], contexts: list[Any], loader: DocumentLoader
) -> set[int]:
    """The values (by _scan's index) that usually belong to a shape: those under a key that
    stands for ``@type``, and those that are terms of the contexts (``assertionMethod`` in a
    ``proofPurpose``, expanded through ``@vocab``). Walks in _scan's and _fill's order."""
    terms = _defined_terms(contexts, loader)
    type_keys = _type_keys(contexts, loader)
    guess: set[int] = set()
    count = 0

    def walk(value: Any, key: str | None) -> None:
        nonlocal count
        if isinstance(value, Mapping):
            for k, item in value.items():
                if k != "@context":
                    walk(item, k)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str):
            if key in type_keys or value in terms:
                guess.add(count)
            count += 1

    walk(document, None)
    return guess


def _make_template(
    document: Mapping[str, Any],
    leaves: list[str],
    classes: str,
    concrete: frozenset[int],
    loader: DocumentLoader,
) -> _Template:
    """The template of a known shape for new concrete values (one strict expansion)."""
    doc = _placeholder_document(document, classes, concrete)
    contexts = _context_list(doc)
    quads = _to_rdf(_with_sentinels(doc, contexts, loader), loader)
    roles = _slot_roles(quads, len(leaves), classes)
    if any(i not in roles for i in range(len(leaves)) if i not in concrete):
        # The concrete set came from another document of the same shape and does not hold
        # for this one: should not happen, but never guess.
        return _Template([], [], oxigraph_safe=False)
    return _template_from(quads)


def _template_from(quads: list[dict[str, Any]]) -> _Template:
    """The N-Quads text of a proven expansion, cut at its slots."""
    text = "".join(_nquad(q) for q in quads)
    pieces: list[str] = []
    slots: list[tuple[int, str]] = []
    position = 0
    for m in _TEMPLATE_SLOT.finditer(text):
        pieces.append(text[position : m.start()])
        literal = m.group(1) or m.group(2)
        slots.append((int(literal or m.group(3)), "literal" if literal else "iri"))
        position = m.end()
    pieces.append(text[position:])
    lower_case_tags = all(
        q["object"].get("language", "").lower() == q["object"].get("language", "") for q in quads
    )
    named_graphs = any("name" in q for q in quads)
    template = _Template(pieces, slots, lower_case_tags, named_graphs)
    if named_graphs:  # only pyoxigraph's path (named graphs) reads them; see rdfc
        template.alike_blank_nodes = _alike_blank_nodes(quads)
    return template


def _alike_blank_nodes(quads: list[dict[str, Any]]) -> list[dict[str, list[tuple[Any, ...]]]]:
    by_node: dict[str, list[tuple[Any, ...]]] = {}
    for quad in quads:
        terms = tuple(_term_key(t) for t in _terms(quad))
        for label in {t[1] for t in terms if t[0] == "b"}:
            by_node.setdefault(label, []).append(terms)
    groups: dict[frozenset[tuple[Any, ...]], dict[str, list[tuple[Any, ...]]]] = {}
    for label, node_quads in by_node.items():
        shape = frozenset(tuple(_signature_term(t, label, None) for t in q) for q in node_quads)
        groups.setdefault(shape, {})[label] = node_quads
    return [group for group in groups.values() if len(group) > 1]


def _term_key(term: Mapping[str, Any]) -> tuple[Any, ...]:
    value = term["value"]
    m = _WHOLE_SLOT.match(value)
    if m:
        value = ("slot", int(m.group(1) or m.group(2)))
    if term["type"] == "blank node":
        return ("b", value)
    return (term["type"], value, term.get("datatype"), term.get("language"))


_WHOLE_SLOT = re.compile(
    "^(?:"
    + re.escape(_SLOT_OPEN)
    + r"(\d+)"
    + re.escape(_SLOT_CLOSE)
    + "|"
    + re.escape(_IRI_SLOT)
    + r"(\d+))$"
)


def _blank_nodes_distinguishable(template: _Template, leaves: list[str]) -> bool:
    """True when every blank node's own statements (RDFC-1.0's first-degree hash input) differ,
    so that canonicalisation never needs N-degree hashing and pyoxigraph's cost is bounded.
    Nodes that differ with every slot value ignored differ for all documents of the template
    (see _alike_blank_nodes); only the alike groups are compared, with this document's values."""
    for group in template.alike_blank_nodes:
        signatures = {
            frozenset(tuple(_signature_term(t, label, leaves) for t in q) for q in node_quads)
            for label, node_quads in group.items()
        }
        if len(signatures) < len(group):
            return False
    return True


def _signature_term(term: tuple[Any, ...], label: str, leaves: list[str] | None) -> tuple[Any, ...]:
    if term[0] == "b":
        return ("b", "a" if term[1] == label else "z")
    value = term[1]
    if isinstance(value, tuple):
        return (term[0], None if leaves is None else leaves[value[1]], *term[2:])
    return term


# A slot in template text: a whole literal ("…") of either placeholder kind, or a whole IRI (<…>).
_TEMPLATE_SLOT = re.compile(
    '"(?:'
    + re.escape(_SLOT_OPEN)
    + r"(\d+)"
    + re.escape(_SLOT_CLOSE)
    + "|"
    + re.escape(_IRI_SLOT)
    + r'(\d+))"'
    + "|<"
    + re.escape(_IRI_SLOT)
    + r"(\d+)>"
)


def _nquad(quad: Mapping[str, Any]) -> str:
    def term(t: Mapping[str, Any]) -> str:
        if t["type"] == "IRI":
            return f"<{t['value']}>"
        if t["type"] == "blank node":
            return t["value"]
        out = f'"{rdfc_escape(t["value"])}"'
        if t.get("language"):
            return f"{out}@{t['language']}"
        if t.get("datatype") and t["datatype"] != "http://www.w3.org/2001/XMLSchema#string":
            return f"{out}^^<{t['datatype']}>"
        return out

    parts = [term(quad["subject"]), term(quad["predicate"]), term(quad["object"])]
    if quad.get("name"):
        parts.append(term(quad["name"]))
    return " ".join(parts) + " .\n"


def _render(template: _Template, leaves: list[str]) -> str:
    out = [template.pieces[0]]
    for (index, role), text in zip(template.slots, template.pieces[1:], strict=True):
        value = leaves[index]
        out.append(f'"{rdfc_escape(value)}"' if role == "literal" else f"<{value}>")
        out.append(text)
    return "".join(out)


def _first_degree_rdfc(nquads: str) -> str | None:
    """RDFC-1.0 when every blank node has its own first-degree hash, else None.

    In that case, which is the case of nearly every credential, RDFC-1.0 (section 4.4, steps
    3 to 5) reduces to: hash each blank node's own quads (itself written _:a, other blank nodes
    _:z, lines sorted), number the nodes c14n0, c14n1, ... in the order of their hashes, and
    sort the relabelled lines. pyoxigraph does the same, but building its Python objects for a
    credential's ~60 quads cost 0.35 ms against 0.13 ms here (measured); tests hold this to
    both pyld and pyoxigraph byte for byte. Hashes that are not unique are the N-degree case,
    left to the reference. Input: our own canonical N-Quads lines, default graph only.
    """
    lines = list(dict.fromkeys(nquads.split("\n")[:-1]))  # a dataset is a set of quads
    quads: list[tuple[str, str, str, str | None, str | None]] = []
    by_node: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        subject, predicate, rest = line.split(" ", 2)  # IRIs and labels hold no spaces
        obj = rest[:-2]  # drop the final " ."
        s_node = subject if subject[0] == "_" else None
        o_node = obj if obj[0] == "_" else None  # a literal starts with '"', an IRI with '<'
        quads.append((subject, predicate, obj, s_node, o_node))
        if s_node:
            by_node.setdefault(s_node, []).append(i)
        if o_node and o_node != s_node:
            by_node.setdefault(o_node, []).append(i)
    hashes: dict[str, str] = {}
    for node, indexes in by_node.items():
        own = []
        for i in indexes:
            subject, predicate, obj, s_node, o_node = quads[i]
            if s_node:
                subject = "_:a" if s_node == node else "_:z"
            if o_node:
                obj = "_:a" if o_node == node else "_:z"
            own.append(f"{subject} {predicate} {obj} .\n")
        own.sort()
        hashes[node] = hashlib.sha256("".join(own).encode("utf-8")).hexdigest()
    if len(set(hashes.values())) != len(hashes):
        return None
    label = {node: f"_:c14n{i}" for i, node in enumerate(sorted(hashes, key=hashes.__getitem__))}
    return "".join(
        sorted(f"{label.get(s, s)} {p} {label.get(o, o)} .\n" for s, p, o, _, _ in quads)
    )


def _oxigraph_rdfc(nquads: str) -> str | None:
    try:
        # lenient: the IRIs were checked when the template was made (_refuse_dropped)
        dataset = ox.Dataset(ox.parse(nquads, format=ox.RdfFormat.N_QUADS, lenient=True))
    except SyntaxError:
        return None  # pyoxigraph is stricter about IRIs than pyld: let the reference decide
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    # Split on "\n" only: str.splitlines() would also split inside literals holding U+2028,
    # U+0085 and friends, which N-Quads writes unescaped.
    serialized = ox.serialize(dataset, format=ox.RdfFormat.N_QUADS)
    assert serialized is not None  # with no output file, serialize returns the bytes
    text = serialized.decode("utf-8")
    lines = sorted(line + "\n" for line in text.split("\n") if line)
    return "".join(lines)
