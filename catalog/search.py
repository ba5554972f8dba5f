"""Product search: typed words corrected against the catalog's own words, then one
full-text match that PostgreSQL answers from the GIN index of `search_vector`.

Matching `search_vector @@ q OR name %> text` made PostgreSQL compute a trigram similarity
for every product (the OR defeats both indexes), twice: for the page and for its count.
Typos are forgiven here instead, on the small table of words (`SearchWord`): each typed
word that is not a word of the catalog is widened to the catalog words within an edit
distance (Elasticsearch's "AUTO" fuzziness: one edit for 3-5 letters, two from 6; a swap of
neighbouring letters is one edit; the first letter must be kept, so "mouse" does not find
"house"), found by exact look-ups of every one-edit spelling and by the trigram index. The
product query is then full-text only: `(typed | correction) & (typed | correction) ...`.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import and_, or_
from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.db import connection, transaction

from catalog.models import SEARCH_CONFIG, Product, SearchWord

WORD_RE = re.compile(r"[^\W_]+")
MAX_WORD_LENGTH = 100  # SearchWord.word's max_length; longer runs are not words anyone types
MAX_QUERY_WORDS = 8  # a query of more words is cut: each word costs index look-ups
CORRECTIONS_PER_WORD = 3
COMPLETIONS = 8  # catalog words an unfinished word stands for
SUGGESTIONS = 10
SUGGEST_CANDIDATES = 200  # matches a suggestion list is chosen from
SUGGEST_MAX_LENGTH = 200  # characters of `q`, as the product list's
# How many matches a search ranks, counts and lists at most (ProductQuerySet.search).
SEARCH_CANDIDATES = 500


def words_of(text: str) -> list[str]:
    """The words of `text`, lowercased, each once, in order."""
    words = (w for w in WORD_RE.findall(text.lower()) if len(w) <= MAX_WORD_LENGTH)
    return list(dict.fromkeys(words))


def allowed_edits(word: str) -> int:
    """How many typing slips a word may carry and still be recognised."""
    if len(word) < 3:
        return 0
    return 1 if len(word) <= 5 else 2


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps
    of neighbouring letters each count one."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _one_edit_spellings(word: str) -> set[str]:
    """Every string one edit away from `word` (Norvig's spelling corrector), over the
    Latin letters and the word's own: what a one-slip typo of a catalog word looks like."""
    letters = set(string.ascii_lowercase + string.digits) | set(word)
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in letters}
    inserts = {a + c + b for a, b in splits for c in letters}
    return (deletes | swaps | replaces | inserts) - {word, ""}


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _keeps_first_letter(typed: str, word: str) -> bool:
    return typed[0] == word[0] or (typed[:2] == word[1::-1])


@dataclass
class Resolved:
    """What the catalog's words say about one typed word."""

    typed: str
    known: bool = False
    corrections: list[str] = field(default_factory=list)  # searched for too
    suggestion: str | None = None  # "did you mean" (looser: the first letter may differ)


def words_resolve(words: Sequence[str]) -> dict[str, Resolved]:
    """Each typed word checked against the vocabulary in one query, of index look-ups only:
    the typed words and every one-edit spelling of them (exact look-ups), their trigram
    neighbours, and for long words the words of the same first letter two edits away."""
    resolved = {w: Resolved(typed=w) for w in words}
    fuzzy = [w for w in words if allowed_edits(w)]
    exact: set[str] = set(words)
    for w in fuzzy:
        exact |= _one_edit_spellings(w)
    sql = ["SELECT word, frequency FROM catalog_searchword WHERE word = ANY(%s)"]
    params: list[Any] = [sorted(exact)]
    for w in fuzzy:
        # `%`: trigram similarity (the GIN index takes one word at a time, not an array).
        sql.append("OR word %% %s")
        params.append(w)
        if allowed_edits(w) > 1:
            # Levenshtein counts a swap as two edits: 3 lets "two slips, one a swap" in.
            sql.append("OR (word LIKE %s AND levenshtein_less_equal(word, %s, 3) <= 3)")
            params += [_like_prefix(w[0]), w]
    with connection.cursor() as cursor:
        cursor.execute(" ".join(sql), params)
        rows = cursor.fetchall()
    frequency = dict(rows)
    for w, item in resolved.items():
        if w in frequency:
            item.known = True
            continue
        limit = allowed_edits(w)
        near = [
            (edit_distance(w, candidate), -count, candidate)
            for candidate, count in frequency.items()
            if limit and abs(len(candidate) - len(w)) <= limit
        ]
        near = [entry for entry in near if entry[0] <= limit]
        near.sort()
        if near:
            item.suggestion = near[0][2]
        strict = [entry for entry in near if _keeps_first_letter(w, entry[2])]
        if strict:
            best = strict[0][0]
            item.corrections = [c for d, _, c in strict if d == best][:CORRECTIONS_PER_WORD]
    return resolved


def search_query(text: str) -> SearchQuery | None:
    """The full-text query for what a shopper typed, typos widened to the catalog words
    they are near; None when `text` has no word."""
    words = words_of(text)[:MAX_QUERY_WORDS]
    if not words:
        return None
    resolved = words_resolve(words)
    return reduce(and_, (_any_of([w, *resolved[w].corrections]) for w in words))


def did_you_mean(text: str) -> str | None:
    """A spelling of `text` made of catalog words, for a search that found nothing; None
    when no typed word is near a word of the catalog."""
    words = words_of(text)[:MAX_QUERY_WORDS]
    if not words:
        return None
    resolved = words_resolve(words)
    fixed = [resolved[w].suggestion or w for w in words]
    return " ".join(fixed) if fixed != words else None


def product_suggestions(text: str, *, limit: int = SUGGESTIONS) -> list[Product]:
    """Products whose name holds what a shopper has typed so far, best rated first (of the
    first SUGGEST_CANDIDATES found): the words before the last are words (typos forgiven
    as in search), the last may be unfinished: it matches the name words it begins, or
    nearly begins (one slip)."""
    words = words_of(text)[:MAX_QUERY_WORDS]
    if not words:
        return []
    *done, last = words
    resolved = words_resolve(words)
    parts = [_name_words([w, *resolved[w].corrections]) for w in done]
    completions = _completions(last)
    last_words = _name_words([last, *completions, *resolved[last].corrections])
    parts.append(last_words)
    query = SearchQuery(
        " & ".join(f"({part})" for part in parts), config=SEARCH_CONFIG, search_type="raw"
    )
    # Best rated of the first SUGGEST_CANDIDATES matches the index finds: a common prefix
    # ("ta") matches thousands of names, and sorting them all would cost a heap fetch each.
    candidates = (
        Product.objects.filter(is_active=True, search_vector=query)
        .order_by()
        .values("pk")[:SUGGEST_CANDIDATES]
    )
    suggestions = (
        Product.objects.active()
        .filter(pk__in=candidates)
        .order_by("-rating_score", "-id")
        .only("id", "slug", "name")[:limit]
    )
    # No savepoint: at the top of a request this is its own short transaction.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # The planner cannot see that few names hold a word its statistics find in most
        # descriptions (they ignore weights): it would scan the table for the first
        # matches (20-200 ms at 100,000 products) rather than read the GIN index (1-3 ms).
        cursor.execute("SET LOCAL enable_seqscan = off")
        return list(suggestions)


def _name_words(words: Iterable[str]) -> str:
    """A tsquery (to_tsquery syntax) matching any of `words` in a product's name (weight
    A). Words are runs of letters and digits (`words_of`): they carry no tsquery operator.
    Exact words, never a `prefix:*`, which the planner cannot estimate and which reads
    every lexeme of the prefix."""
    return " | ".join(f"{w}:A" for w in dict.fromkeys(words))


def _completions(prefix: str) -> list[str]:
    """The most frequent catalog words that begin with `prefix` or, from 3 letters, whose
    beginning is one slip from it (same first letter): "hedph" completes to "headphones"."""
    n = len(prefix)
    sql = "SELECT word FROM catalog_searchword WHERE word LIKE %s"
    params: list[Any] = [_like_prefix(prefix if n < 3 else prefix[0])]
    if n >= 3:
        sql += (
            " AND LEAST(levenshtein(left(word, %s), %s), levenshtein(left(word, %s), %s),"
            " levenshtein(left(word, %s), %s)) <= 1"
        )
        params += [n - 1, prefix, n, prefix, n + 1, prefix]
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY frequency DESC, word LIMIT %s", [*params, COMPLETIONS])
        return [row[0] for row in cursor.fetchall()]


def _any_of(words: Iterable[str]) -> SearchQuery:
    unique = list(dict.fromkeys(words))
    return reduce(or_, (SearchQuery(w, config=SEARCH_CONFIG, search_type="plain") for w in unique))


# --- Keeping the words -----------------------------------------------------------------


def search_words_add(*, names: Iterable[str]) -> None:
    """Make the words of new or renamed products known to search at once (frequency 1 for
    a new word; the nightly rebuild counts). Inserts only, never waits on a row lock."""
    words = sorted({w for name in names for w in words_of(name)})
    if not words:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalog_searchword (word, frequency) "
            "SELECT w, 1 FROM unnest(%s::varchar[]) AS w ON CONFLICT (word) DO NOTHING",
            [words],
        )


@transaction.atomic
def search_words_rebuild() -> int:
    """Count the words of every active product's name again; returns how many words."""
    counts: Counter[str] = Counter()
    names = Product.objects.active().values_list("name", flat=True)
    for name in names.iterator(chunk_size=5000):
        counts.update(words_of(name))  # each word once per product
    SearchWord.objects.all().delete()
    SearchWord.objects.bulk_create(
        (SearchWord(word=w, frequency=n) for w, n in counts.items()), batch_size=5000
    )
    return len(counts)
