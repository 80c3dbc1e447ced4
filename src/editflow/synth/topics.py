"""Topic filter: HDP topics over pre-edit code + instructions, then a per-topic quota.

OpenCodeEdit finds that synthetic tasks crowd into a few topics and trims the crowded ones
to a target size while keeping the rare ones whole. Topics come from gensim's `HdpModel`
(a hierarchical Dirichlet process infers how many topics there are); each row gets its most
probable topic. Stop words are the seed's: English (the NLTK list) plus reserved words common
to programming languages, both shipped in editflow/resources/synth/.

The quota (`topic_quota`) works in rounds: the remaining target is shared equally among
the topics not yet settled; a topic with no more rows than its share is kept whole and
settled, and the rest is shared again, until no topic settles. The unsettled topics then get
the equal share, rounded down, and the rows left over go one each to the largest of them.
With topics of 25, 15, 7 and 3 rows and a target of 20 this keeps 6, 6, 5 and 3.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from functools import lru_cache
from importlib import resources
from typing import Sequence

STOPWORD_FILES = ("resources/synth/stopwords_english.txt", "resources/synth/stopwords_code.txt")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    words: set[str] = set()
    for name in STOPWORD_FILES:
        text = resources.files("editflow").joinpath(name).read_text(encoding="utf-8")
        words.update(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))
    return frozenset(words)


def tokenize(text: str) -> list[str]:
    """Lower-case words of code and prose: identifiers split at _ and camelCase, stop words and
    one-letter words dropped."""
    stops = stop_words()
    out = []
    for word in _WORD.findall(text.replace("_", " ")):
        for part in _CAMEL.sub(" ", word).split():
            part = part.lower()
            if len(part) > 1 and part not in stops:
                out.append(part)
    return out


def assign_topics(texts: Sequence[str], seed: int = 0, max_topics: int = 150, passes: int = 25,
                  merge_distance: float = 0.4) -> list[int]:
    """Each text's most probable HDP topic (-1 for a text with no words left after stop words).

    gensim's HdpModel is an online learner that by default sees the corpus once; on a few
    hundred short texts that leaves topics half-learnt. It runs `passes` passes here, in about
    8 chunks a pass (chunks of at least 16 texts). Online HDP also tends to split one topic into
    near-copies that share its words; assigned topics whose word distributions are within
    Hellinger distance `merge_distance` are merged (single linkage; the smallest id names the
    merged topic). Planted topics in the tests end 0.6-0.8 apart, their split copies 0.15-0.35.
    """
    from gensim.corpora import Dictionary
    from gensim.models import HdpModel

    docs = [tokenize(t) for t in texts]
    if not any(docs):
        return [-1] * len(docs)
    vocab = Dictionary(docs)
    corpus = [vocab.doc2bow(d) for d in docs]
    chunksize = max(16, len(corpus) // 8)
    model = HdpModel(corpus, id2word=vocab, T=max_topics, random_state=seed, chunksize=chunksize,
                     max_chunks=passes * -(-len(corpus) // chunksize))
    topics = []
    for bow in corpus:
        weights = model[bow] if bow else []
        topics.append(max(weights, key=lambda tw: (tw[1], -tw[0]))[0] if weights else -1)
    return merge_similar(topics, model.get_topics(), merge_distance)


def merge_similar(topics: list[int], topic_words, max_distance: float) -> list[int]:
    """Rename assigned topics so that those within Hellinger `max_distance` share one id."""
    import numpy as np

    used = sorted({t for t in topics if t >= 0})
    if len(used) < 2:
        return topics
    roots = np.sqrt(np.asarray(topic_words)[used])
    distance = np.sqrt(0.5 * ((roots[:, None, :] - roots[None, :, :]) ** 2).sum(-1))
    parent = list(range(len(used)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(used)):
        for j in range(i + 1, len(used)):
            if distance[i, j] < max_distance:
                parent[max(find(i), find(j))] = min(find(i), find(j))
    name = {t: used[find(i)] for i, t in enumerate(used)}
    return [name.get(t, t) for t in topics]


def topic_quota(sizes: dict[int, int], target: int) -> dict[int, int]:
    """How many rows each topic keeps so that the total is min(target, all rows) (see module doc)."""
    if target >= sum(sizes.values()):
        return dict(sizes)
    keep: dict[int, int] = {}
    open_topics = dict(sizes)
    left = target
    while open_topics:
        share = left / len(open_topics)
        small = {t: n for t, n in open_topics.items() if n <= share}
        if not small:
            break
        keep.update(small)
        left -= sum(small.values())
        for t in small:
            del open_topics[t]
    if open_topics:
        base = left // len(open_topics)
        extra = left - base * len(open_topics)
        for rank, t in enumerate(sorted(open_topics, key=lambda t: (-open_topics[t], t))):
            keep[t] = base + (1 if rank < extra else 0)
    return keep


def select_by_quota(topics: Sequence[int], target: int, seed: int = 0) -> list[bool]:
    """Which rows to keep: each topic's quota drawn at random (seeded) from its rows."""
    sizes = Counter(topics)
    quota = topic_quota(dict(sizes), target)
    rng = random.Random(seed)
    keep = [False] * len(topics)
    for topic in sorted(sizes):
        rows = [i for i, t in enumerate(topics) if t == topic]
        for i in rng.sample(rows, quota[topic]):
            keep[i] = True
    return keep
