"""The topic filter: the per-topic quota (the seed paper's worked example) and HDP topics
recovered from a corpus with planted topics."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from editflow.synth.topics import assign_topics, select_by_quota, stop_words, tokenize, topic_quota

PLANTED = {
    "training": "tensor gradient optimizer epoch batch dropout scheduler checkpoint".split(),
    "tables": "dataframe column merge csv groupby pivot aggregate spreadsheet".split(),
    "network": "socket request server http response header client port".split(),
}


def test_quota_reproduces_the_papers_example():
    # 50 samples in topics A 25, B 15, C 7, D 3 reduced to 20: A 6, B 6, C 5, D 3
    assert topic_quota({"A": 25, "B": 15, "C": 7, "D": 3}, 20) == {"A": 6, "B": 6, "C": 5, "D": 3}


@pytest.mark.parametrize("sizes, target, expected", [
    ({0: 10, 1: 10}, 30, {0: 10, 1: 10}),           # target above the total: everything
    ({0: 10, 1: 10}, 20, {0: 10, 1: 10}),
    ({0: 9, 1: 9, 2: 9}, 10, {0: 4, 1: 3, 2: 3}),     # leftover to the largest, ties by topic
    ({0: 100, 1: 2, 2: 1}, 10, {0: 7, 1: 2, 2: 1}),   # small topics settle in round one
    ({0: 40, 1: 12, 2: 11, 3: 1}, 25, {0: 8, 1: 8, 2: 8, 3: 1}),  # 1 settles; 24 over 3
    ({0: 5}, 0, {0: 0}),
])
def test_quota_rounds(sizes, target, expected):
    quota = topic_quota(sizes, target)
    assert quota == expected
    assert sum(quota.values()) == min(target, sum(sizes.values()))


def test_tokenize_splits_identifiers_and_drops_stop_words():
    assert tokenize("def loadCsvFile(self, path): return the_data") == ["load", "csv", "file", "path", "data"]
    assert {"the", "and", "def", "return", "class", "import"} <= stop_words()


def planted_corpus(sizes: dict[str, int], seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, truth = [], []
    for topic, n in sizes.items():
        for _ in range(n):
            words = rng.choices(PLANTED[topic], k=30)
            texts.append("def run(self):\n    # " + " ".join(words) + "\nPlease update the code so it works.")
            truth.append(topic)
    return texts, truth


def test_hdp_recovers_planted_topics_and_the_quota_trims_the_large_one():
    texts, truth = planted_corpus({"training": 40, "tables": 15, "network": 5})
    topics = assign_topics(texts, seed=0)
    pairs = Counter(zip(truth, topics))
    # every planted topic is one HDP topic, and no two planted topics share one
    assert {t for t, _ in pairs} == set(PLANTED)
    assert len(pairs) == 3 and len({hdp for _, hdp in pairs}) == 3
    keep = select_by_quota(topics, 20, seed=0)
    kept = Counter(t for t, k in zip(truth, keep) if k)
    # 20 over 3 topics: network (5) settles; 15 over two: 7 each, the extra one to the largest
    assert kept == {"training": 8, "tables": 7, "network": 5}
    assert keep == select_by_quota(topics, 20, seed=0)   # seeded: the same rows every run


def test_texts_without_words_get_no_topic():
    assert assign_topics(["", "the and of", "def return"]) == [-1, -1, -1]
