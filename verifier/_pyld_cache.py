"""Remember pyld 3.3's context processing (and term selection) across calls and documents.

JSON-LD expansion of a credential spends most of its time processing contexts, not the
document: each node with a type runs that type's scoped context through the context-processing
algorithm again (``_process_context``: term definitions, IRI expansion), and each property with
a scoped context does the same. pyld has caches for this, but its type-scoped contexts miss
them every time: a type-scoped context does not propagate, so pyld first makes a *new* copy of
the active context (with a fresh ``_uuid``) and looks the result up under that new id. The
processed context of certreg's 58-quad certificate was rebuilt ~30 times per expansion; plain
expansion took 2.9 ms, of which ~2 ms were this (measured).

The result of processing a local context depends only on the active context it applies to, the
local context's content, the flags of the call, the base IRI and the document loader. Active
contexts that pyld has finished processing are frozen (``frozendict``) and never change, so the
result is remembered under (that exact active context, the local context's JSON text, the
flags, the base, that exact loader). Entries hold the objects they were computed from and a
hit requires the very same objects (``is``), so an id is never mistaken for another. What is
not certain to be immutable (an unfrozen active context, a local context that is not JSON) is
processed as before. The calls pyld makes to pre-validate scoped contexts while it defines the
terms of a context (``cycles`` given, the active context still being built) are not
remembered either.

pyld's own caches key processed contexts by the active context's ``_uuid``; once this cache
hands out the same active context objects again, pyld's inverse-context cache (compaction)
is hit too.

:func:`apply` installs it for the whole process (it is a cache of a deterministic function,
so every pyld user in the process may share it); :func:`disabled` switches it off for a while,
for benchmarks that measure plain pyld in the same process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from frozendict import frozendict
from pyld import jsonld

__all__ = ["apply", "disabled", "stats"]

_PYLD_PROCESS_CONTEXT = jsonld.JsonLdProcessor._process_context
_PYLD_COMPACT_IRI = jsonld.JsonLdProcessor._compact_iri
_PYLD_EXPAND_IRI = jsonld.JsonLdProcessor._expand_iri
# Bounded: a document with many different inline contexts must not grow memory without end.
# One entry holds one processed context (a shallow copy of its term map, tens of KiB for
# certreg's pinned contexts, which need a few dozen entries).
_MAX_ENTRIES = 256
_MEMO: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}


class _State(threading.local):
    off = False  # a class default: a missing thread-local attribute is a slow AttributeError


_STATE = _State()
# The JSON text of local contexts met before, by identity (entries hold the object, so its id
# is not reused). They are scoped contexts inside the processed contexts pyld keeps (its
# copies of the pinned documents and of inline contexts), which nothing changes.
_TEXTS: dict[int, tuple[Any, Any]] = {}
_COUNTS = {"hits": 0, "misses": 0}


def _local_key(local_ctx: Any) -> Any:
    """The local context's identity by content: a URL, or its JSON text (None: not JSON)."""
    if isinstance(local_ctx, str):
        return "u" + local_ctx
    if type(local_ctx) is list and all(type(c) is str for c in local_ctx):
        return ("l", *local_ctx)  # a document's list of context URLs, the usual case
    try:
        return "j" + json.dumps(local_ctx, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return None


def _process_context(
    self: Any,
    active_ctx: Any,
    local_ctx: Any,
    options: Any,
    override_protected: bool = False,
    propagate: bool = True,
    validate_scoped: bool = True,
    cycles: Any = None,
) -> Any:
    def compute() -> Any:
        return _PYLD_PROCESS_CONTEXT(
            self,
            active_ctx,
            local_ctx,
            options,
            override_protected=override_protected,
            propagate=propagate,
            validate_scoped=validate_scoped,
            cycles=cycles,
        )

    if cycles is not None or type(active_ctx) is not frozendict or not local_ctx or _STATE.off:
        return compute()
    known = _TEXTS.get(id(local_ctx))
    if known is not None and known[0] is local_ctx:
        local_key = known[1]
    else:
        local_key = _local_key(local_ctx)
        if type(local_ctx) is dict:  # scoped contexts (a document's own are fresh copies)
            if len(_TEXTS) >= _MAX_ENTRIES:
                _TEXTS.clear()
            _TEXTS[id(local_ctx)] = (local_ctx, local_key)
    if local_key is None:
        return compute()
    loader = options.get("documentLoader")
    key = (
        id(active_ctx),
        local_key,
        override_protected,
        propagate,
        validate_scoped,
        options.get("base"),
        options.get("processingMode"),
        id(loader),
    )
    entry = _MEMO.get(key)
    if entry is not None and entry[0] is active_ctx and entry[1] is loader:
        _COUNTS["hits"] += 1
        return entry[2]
    _COUNTS["misses"] += 1
    result = compute()
    if type(result) is frozendict:  # only what cannot change afterwards is handed out again
        if len(_MEMO) >= _MAX_ENTRIES:
            _MEMO.clear()
        _MEMO[key] = (active_ctx, loader, result)
    return result


# Compaction picks a term for each IRI by scanning the inverse context and, failing that, every
# term of the active context for a prefix (pyld's _compact_iri: over half of compacting a
# certificate, measured). Without a value to match, the answer depends only on the (frozen)
# active context and the arguments, so it is remembered like processed contexts are.
# One table of answers per active context (the table holds the context, so its id is not
# reused while the table lives); both bounded, so that documents with many contexts or many
# IRIs cannot hold memory without end.
_MAX_CONTEXTS = 64
_MAX_ANSWERS = 4096
_ANSWERS: dict[int, tuple[Any, dict[tuple[Any, ...], Any]]] = {}


def _answers(active_ctx: Any) -> dict[tuple[Any, ...], Any]:
    entry = _ANSWERS.get(id(active_ctx))
    if entry is None or entry[0] is not active_ctx:
        if len(_ANSWERS) >= _MAX_CONTEXTS:
            _ANSWERS.clear()
        entry = _ANSWERS[id(active_ctx)] = (active_ctx, {})
    elif len(entry[1]) >= _MAX_ANSWERS:
        entry[1].clear()
    return entry[1]


def _compact_iri(
    self: Any,
    active_ctx: Any,
    iri: Any,
    value: Any = None,
    vocab: bool = False,
    base: Any = None,
    reverse: bool = False,
) -> Any:
    if (
        value is not None
        or type(iri) is not str
        or type(active_ctx) is not frozendict
        or _STATE.off
    ):
        return _PYLD_COMPACT_IRI(self, active_ctx, iri, value, vocab, base, reverse)
    answers = _answers(active_ctx)
    key = ("c", iri, vocab, base, reverse)
    if key in answers:
        return answers[key]
    result = answers[key] = _PYLD_COMPACT_IRI(self, active_ctx, iri, value, vocab, base, reverse)
    return result


# Expansion resolves every key and many values through _expand_iri (~100 calls for a small
# credential). Outside context processing (no local context being defined) the answer depends
# only on the frozen active context and the arguments.
def _expand_iri(
    self: Any,
    active_ctx: Any,
    value: Any,
    base: Any = None,
    vocab: bool = False,
    local_ctx: Any = None,
    defined: Any = None,
) -> Any:
    if (
        local_ctx is not None
        or defined is not None
        or type(value) is not str
        or type(active_ctx) is not frozendict
        or _STATE.off
    ):
        return _PYLD_EXPAND_IRI(self, active_ctx, value, base, vocab, local_ctx, defined)
    answers = _answers(active_ctx)
    key = ("e", value, base, vocab)
    if key in answers:
        return answers[key]
    result = answers[key] = _PYLD_EXPAND_IRI(
        self, active_ctx, value, base, vocab, local_ctx, defined
    )
    return result


def apply() -> None:
    """Install the caches into pyld (idempotent)."""
    if jsonld.JsonLdProcessor._process_context is not _process_context:
        jsonld.JsonLdProcessor._process_context = _process_context
    if jsonld.JsonLdProcessor._compact_iri is not _compact_iri:
        jsonld.JsonLdProcessor._compact_iri = _compact_iri
    if jsonld.JsonLdProcessor._expand_iri is not _expand_iri:
        jsonld.JsonLdProcessor._expand_iri = _expand_iri


@contextmanager
def disabled() -> Iterator[None]:
    """Plain pyld context processing in this thread while the block runs (benchmarks)."""
    outer = _STATE.off
    _STATE.off = True
    try:
        yield
    finally:
        _STATE.off = outer


def stats() -> dict[str, int]:
    """Hits and misses so far, and the entries held (tests check the cache is used)."""
    return {**_COUNTS, "entries": len(_MEMO)}
