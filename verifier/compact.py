"""A secured document must be written the one way its own contexts write it.

Why: an ``eddsa-rdfc-2022`` signature covers the document's RDF meaning, not its JSON. JSON-LD
offers many spellings of the same meaning: a key written as the IRI it stands for
(``https://www.w3.org/2018/credentials#credentialStatus``) or as a compact IRI, ``@id`` for
``id``, ``{"@value": …}`` for a plain value, ``{"@set": […]}`` for a list, an inline context
that adds a second name for a known property. Every one of them leaves the signature valid,
while a reader of the JSON (ours, and every employer's) no longer finds ``credentialStatus``,
``validUntil`` or the holder's name where it looks. Attackers used exactly that to make a
withdrawn certificate verify VALID.

So, before any proof is believed, the verifier refuses a document unless (VC 2.0 §6.1: a
conforming document is JSON-LD in compacted document form):

1. it uses no JSON-LD keyword as a key other than the top-level ``@context`` and the
   ``@value``/``@language``/``@direction`` of a language-tagged string;
2. its inline contexts only add new terms: they may not redefine a term of a pinned context,
   give a second name to an IRI a pinned context names, set ``@vocab`` to a pinned
   vocabulary, or carry scoped contexts of their own;
3. expanding it and compacting the result again with the same contexts gives back the same
   document (a one-element array and its single value count as the same).

Then a JSON key read by the verifier means what the verifier thinks it means, and the
verdicts and facts read from the JSON are those that were signed. The same rule applies to
``eddsa-jcs-2022`` documents, status lists and presentations.

Cost: the round trip costs ~10 ms with pyld, so it is cached per document *shape*, sharing
the shape analysis of the fast canonicaliser (:mod:`verifier.canonicalize`): the values that
expansion copies verbatim into a literal do not change what compaction writes, and values
used as IRIs are checked per document against every IRI the contexts could compact them to.
A document that fails that check is compacted in full.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from pyld import jsonld

from certreg.contexts import ContextError, DocumentLoader
from certreg.verifier.canonicalize import (
    Analysis,
    CanonicalizationError,
    _context_list,
    _placeholder_document,
    _remember,
    analyse,
    take_expansion,
)

__all__ = ["check_compact_form", "reading_form"]

_VALUE_OBJECT_KEYS = frozenset({"@value", "@language", "@direction"})
# Where an object holding only an id may stand for the id itself (compaction writes the bare
# id): the issuer, the subject and the holder, which every reader takes in either form. The
# same rewrite anywhere else (a status entry's list, a proof's key) is refused.
_REFERENCE_OBJECTS = frozenset({"issuer", "credentialSubject", "holder"})
_RESULTS: OrderedDict[Any, str] = OrderedDict()
_MAX_RESULTS = 1024
_PINNED: dict[tuple[int, str], tuple[frozenset[str], frozenset[str]]] = {}
_INLINE_OK: OrderedDict[Any, str] = OrderedDict()


def check_compact_form(document: Mapping[str, Any], loader: DocumentLoader) -> Analysis | None:
    """Raise :class:`CanonicalizationError` (with a reason in plain words) unless
    ``document`` is in the compact form its own contexts produce (see the module docstring).
    A presentation is checked without its embedded credentials: each of those is a secured
    document of its own, checked when it is verified.

    Returns the :class:`~certreg.verifier.canonicalize.Analysis` of ``document`` the check
    made, which :func:`~certreg.verifier.canonicalize.rdfc` accepts for the same document (so
    signing analyses it once); None for a presentation (its analysis is of another object)."""
    checked = document
    if _is_presentation(document):
        checked = {k: v for k, v in document.items() if k != "verifiableCredential"}
    analysis = analyse(checked, loader)
    _check_form(checked, analysis, loader)
    return analysis if checked is document else None


def _check_form(document: Mapping[str, Any], analysis: Analysis, loader: DocumentLoader) -> None:
    contexts, scan = analysis.contexts, analysis.scan
    _check_inline_contexts(contexts, loader)
    if scan.marked:
        _raise_if(_keyword_problem(document) or _round_trip_problem(document, loader))
        return
    leaves = scan.leaves
    classes = analysis.classes
    shape = analysis.shape
    concrete = shape.concrete
    compactable = _compaction_prefixes(contexts, loader)
    if any(
        kind == "i" and i not in concrete and leaves[i].startswith(compactable)
        for i, kind in enumerate(classes)
    ):
        # An IRI value some term or prefix could shorten: the shape's answer may not hold.
        _raise_if(_keyword_problem(document) or _round_trip_problem(document, loader))
        return
    # The keys, the kinds of values and the values that are part of the shape decide the
    # answer: the keyword rule and the round trip run once per shape.
    key = (scan.key, classes, id(loader), tuple(leaves[i] for i in sorted(concrete)))
    problem = _RESULTS.get(key)
    if problem is None:
        placeholders = _placeholder_document(document, classes, concrete)
        expanded = take_expansion(shape, leaves)  # the shape's discovery expanded it already
        problem = (
            _keyword_problem(document) or _round_trip_problem(placeholders, loader, expanded) or ""
        )
        _remember(_RESULTS, key, problem, _MAX_RESULTS)
    else:
        _RESULTS.move_to_end(key)
    _raise_if(problem)


def reading_form(document: Any) -> Any:
    """``document`` with every one-element array replaced by its single value: the one form
    in which readers (verdicts, facts, status) look at a document that passed
    :func:`check_compact_form`, whose rule counts the two spellings as the same. Readers
    accept a single value or a list wherever the vocabulary allows several."""
    if isinstance(document, Mapping):
        return {k: v if k == "@context" else reading_form(v) for k, v in document.items()}
    if isinstance(document, list):
        return (
            reading_form(document[0]) if len(document) == 1 else [reading_form(v) for v in document]
        )
    return document


def _raise_if(problem: str | None) -> None:
    if problem:
        raise CanonicalizationError(problem)


def _is_presentation(document: Mapping[str, Any]) -> bool:
    types = document.get("type")
    return types == "VerifiablePresentation" or (
        isinstance(types, list) and "VerifiablePresentation" in types
    )


# --- 1. keywords ---------------------------------------------------------------------------


def _keyword_problem(document: Mapping[str, Any]) -> str | None:
    try:
        _check_keywords(document)
    except CanonicalizationError as exc:
        return exc.reason
    return None


def _check_keywords(document: Mapping[str, Any]) -> None:
    def walk(value: Any, path: str, top: bool) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]", False)
            return
        if not isinstance(value, Mapping):
            return
        is_value_object = "@value" in value and set(value) <= _VALUE_OBJECT_KEYS
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key == "@context":
                if not top:
                    raise CanonicalizationError(
                        f"{where}: a @context inside the document is refused; a signed "
                        "document states its contexts once, at the top"
                    )
                continue
            if key.startswith("@"):
                if not (
                    is_value_object
                    and isinstance(value["@value"], str)
                    and ("@language" in value or "@direction" in value)
                ):
                    raise CanonicalizationError(
                        f"{where}: the JSON-LD keyword {key!r} is refused in a signed "
                        "document; write it the way the document's contexts do "
                        "(for example id and type, a plain value, a plain list)"
                    )
                continue
            walk(item, where, False)

    walk(document, "", True)


# --- 2. inline contexts --------------------------------------------------------------------


def _check_inline_contexts(contexts: list[Any], loader: DocumentLoader) -> None:
    inline = [c for c in contexts if isinstance(c, Mapping)]
    if not inline:
        return
    cache_key = json.dumps(contexts, sort_keys=True, ensure_ascii=False)
    problem = _INLINE_OK.get(cache_key)
    if problem is None:
        problem = _inline_context_problem(contexts, inline, loader) or ""
        _remember(_INLINE_OK, cache_key, problem, _MAX_RESULTS)
    _raise_if(problem)


def _inline_context_problem(
    contexts: list[Any], inline: list[Mapping[str, Any]], loader: DocumentLoader
) -> str | None:
    pinned_terms: set[str] = set()
    pinned_iris: set[str] = set()
    for ctx in contexts:
        if isinstance(ctx, str):
            terms, iris = _pinned_vocabulary(ctx, loader)
            pinned_terms |= terms
            pinned_iris |= iris
    names: list[str] = []
    for ctx in inline:
        for term, definition in ctx.items():
            if term == "@vocab":
                if isinstance(definition, str) and any(
                    iri.startswith(definition) for iri in pinned_iris
                ):
                    return (
                        f"the inline context sets @vocab to {definition!r}, a vocabulary "
                        "the pinned contexts already name: refused, as it could give known "
                        "properties second names"
                    )
                continue
            if term.startswith("@"):
                continue
            if isinstance(definition, Mapping) and "@context" in definition:
                return f"the inline context gives {term!r} a scoped context: refused"
            if term in pinned_terms:
                return (
                    f"the inline context redefines {term!r}, which a pinned context "
                    "already defines: refused"
                )
            names.append(term)
    if not names:
        return None
    # What each new term stands for, as JSON-LD itself expands it.
    probe = {"@context": contexts, **{name: "x" for name in names}}
    try:
        expanded = jsonld.expand(probe, {"documentLoader": loader})
    except (jsonld.JsonLdError, ContextError) as exc:
        return f"the document's contexts cannot be processed ({_first_line(exc)})"
    for node in expanded:
        for iri in node:
            if iri in pinned_iris:
                return (
                    f"the inline context gives {iri} a second name: refused, as a reader "
                    "would not find that property under its usual name"
                )
    return None


def _pinned_vocabulary(url: str, loader: DocumentLoader) -> tuple[frozenset[str], frozenset[str]]:
    """Every term a pinned context defines (scoped contexts included) and every IRI it maps
    a term to, read from the pinned file itself."""
    cache_key = (id(loader), url)
    if cache_key not in _PINNED:
        terms: set[str] = set()
        iris: set[str] = set()

        def collect(ctx: Any) -> None:
            if not isinstance(ctx, Mapping):
                return
            prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and ":" in v}
            for term, definition in ctx.items():
                if term.startswith("@"):
                    if term == "@vocab" and isinstance(definition, str):
                        iris.add(definition)
                    continue
                terms.add(term)
                iri = definition.get("@id") if isinstance(definition, Mapping) else definition
                if isinstance(iri, str) and not iri.startswith("@"):
                    head, _, tail = iri.partition(":")
                    iris.add(prefixes[head] + tail if head in prefixes else iri)
                if isinstance(definition, Mapping):
                    for scoped in _as_list(definition.get("@context")):
                        collect(scoped)

        for part in _as_list(loader.document(url).get("@context")):
            collect(part)
        _PINNED[cache_key] = (frozenset(terms), frozenset(iris))
    return _PINNED[cache_key]


_PREFIXES: dict[tuple[Any, ...], tuple[str, ...]] = {}


def _compaction_prefixes(contexts: list[Any], loader: DocumentLoader) -> tuple[str, ...]:
    """IRIs that compaction could turn a value into a term, compact IRI or @vocab suffix
    for: the IRIs of every term and vocabulary of the contexts."""
    if all(isinstance(c, str) for c in contexts):  # the common case, remembered
        cache_key = (id(loader), *contexts)
        if cache_key not in _PREFIXES:
            if len(_PREFIXES) >= _MAX_RESULTS:  # anyone may post context lists: bounded
                _PREFIXES.clear()
            _PREFIXES[cache_key] = _prefixes_of(contexts, loader)
        return _PREFIXES[cache_key]
    return _prefixes_of(contexts, loader)


def _prefixes_of(contexts: list[Any], loader: DocumentLoader) -> tuple[str, ...]:
    iris: set[str] = set()
    for ctx in contexts:
        if isinstance(ctx, str):
            iris |= _pinned_vocabulary(ctx, loader)[1]
        elif isinstance(ctx, Mapping):
            for definition in ctx.values():
                iri = definition.get("@id") if isinstance(definition, Mapping) else definition
                if isinstance(iri, str) and ":" in iri:
                    iris.add(iri)
    return tuple(sorted(iris))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- 3. the round trip ---------------------------------------------------------------------


def _round_trip_problem(
    document: Mapping[str, Any], loader: DocumentLoader, expanded: Any = None
) -> str | None:
    """``expanded``: the document's expansion when it is already known."""
    contexts = _context_list(document)
    options = {"documentLoader": loader}
    try:
        if expanded is None:
            expanded = jsonld.expand(document, options)
        # skipExpansion: the input is the expansion just made; pyld would expand it again.
        compacted = jsonld.compact(
            expanded, {"@context": contexts}, {**options, "skipExpansion": True}
        )
    except (jsonld.JsonLdError, ContextError) as exc:
        return f"the document is not valid JSON-LD ({_first_line(exc)})"
    except (RecursionError, TypeError, ValueError, KeyError, AttributeError):
        return "the document is not valid JSON-LD"
    original = {k: v for k, v in document.items() if k != "@context"}
    compacted.pop("@context", None)
    return _difference(_normal(original), _normal(compacted), "")


def _normal(value: Any) -> Any:
    if isinstance(value, Mapping):
        if isinstance(value.get("@language"), str):  # BCP 47 tags are case-insensitive
            return {k: v.lower() if k == "@language" else v for k, v in value.items()}
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return _normal(value[0]) if len(value) == 1 else [_normal(v) for v in value]
    return value


def _difference(written: Any, compact: Any, path: str) -> str | None:
    """The first place where the document differs from its compact form, in words."""
    where = path or "the top level"
    if isinstance(written, dict) and isinstance(compact, dict):
        for key in written:
            if key not in compact:
                return (
                    f"{_join(path, key)}: the document's contexts do not write this key "
                    "(it is not a defined term, or it is written as an IRI, a compact IRI "
                    "or an alias of a term that has its own name), so a reader could not "
                    "rely on what it says"
                )
        for key in compact:
            if key not in written:
                return (
                    f"{_join(path, key)}: this property is present in what was signed but "
                    "written under another name in the document"
                )
        for key in written:
            found = _difference(written[key], compact[key], _join(path, key))
            if found:
                return found
        return None
    if isinstance(written, list) and isinstance(compact, list):
        if len(written) != len(compact):
            return f"{where}: the list is not written as the document's contexts write it"
        for i, (a, b) in enumerate(zip(written, compact, strict=True)):
            found = _difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    if (
        isinstance(written, dict)
        and set(written) == {"id"}
        and written["id"] == compact
        # The property's name, also for a member of a list ("credentialSubject[1]").
        and path.rsplit(".", 1)[-1].partition("[")[0] in _REFERENCE_OBJECTS
    ):
        return None  # {"id": X} for X: both spellings are read alike there (verifier.facts)
    if json.dumps(written, sort_keys=True) != json.dumps(compact, sort_keys=True):
        return (
            f"{where}: the value is not written as the document's contexts write it "
            "(for example an IRI where they use a term, or a value object where they use "
            "a plain value)"
        )
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.removeprefix("('").removesuffix("',)")
