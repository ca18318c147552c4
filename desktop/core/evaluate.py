"""How good are the similar tracks? Leave-one-out retrieval against labels, in a library of its own.

Every labelled track queries all the others (itself excluded); a neighbour is relevant when it has the
query's label; the ranking is the app's (for spectral spaces, the nearest re-scored by their parts, see
late_interaction.py). We report P@1, P@k, mean average precision, the same per label, and which labels are
mistaken for which. The eval library lives under HOME/eval/<source hash>, never in the user's library,
and is reused on the next run (only new or changed files are analysed again).
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from desktop.core import late_interaction
from desktop.core.errors import SoundalikeError
from desktop.core.events import IndexSummary
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.core.paths import path_problem, shown
from desktop.core.scan import walk_audio


def precision_at_k(ranked_labels: Sequence[str], label: str, k: int) -> float:
    """Share of the first k ranked items that carry `label` (k larger than the list counts as misses)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    return sum(1 for x in ranked_labels[:k] if x == label) / k


def average_precision(ranked_labels: Sequence[str], label: str) -> float:
    """Mean of the precision at each rank where a relevant item appears (0 when none is relevant)."""
    hits, total = 0, 0.0
    for rank, x in enumerate(ranked_labels, start=1):
        if x == label:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


@dataclass
class EvalReport:
    k: int
    p_at_1: float = 0.0
    p_at_k: float = 0.0
    map: float = 0.0
    per_label: dict = field(default_factory=dict)  # label -> {n, p_at_1, p_at_k, map}
    confusions: list = field(default_factory=list)  # [{label, confused_with, share}] worst first
    tracks: int = 0
    failed: list = field(default_factory=list)  # [{path, error}]
    embedder: str = ""

    def to_dict(self) -> dict:
        return {
            "embedder": self.embedder, "k": self.k, "p_at_1": self.p_at_1, "p_at_k": self.p_at_k, "map": self.map,
            "per_label": self.per_label, "confusions": self.confusions, "tracks": self.tracks, "failed": self.failed,
        }


def evaluate_rankings(labels: Sequence[str], rankings: Sequence[Sequence[int]], k: int = 10) -> EvalReport:
    """`rankings[i]`: indices of the other tracks, most similar first (without i itself)."""
    report = EvalReport(k=k, tracks=len(labels))
    if not labels:
        return report
    per: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    confused: dict[str, Counter] = defaultdict(Counter)
    for i, ranking in enumerate(rankings):
        ranked = [labels[j] for j in ranking]
        scores = (precision_at_k(ranked, labels[i], 1), precision_at_k(ranked, labels[i], k),
                  average_precision(ranked, labels[i]))
        per[labels[i]].append(scores)
        confused[labels[i]].update(x for x in ranked[:k] if x != labels[i])
    allscores = np.array([s for v in per.values() for s in v])
    report.p_at_1, report.p_at_k, report.map = (float(x) for x in allscores.mean(axis=0))
    for label in sorted(per):
        arr = np.array(per[label])
        report.per_label[label] = {"n": len(arr), "p_at_1": float(arr[:, 0].mean()),
                                   "p_at_k": float(arr[:, 1].mean()), "map": float(arr[:, 2].mean())}
    pairs = [
        {"label": a, "confused_with": b, "share": n / (len(per[a]) * k)}
        for a, counts in confused.items() for b, n in counts.items()
    ]
    report.confusions = sorted(pairs, key=lambda p: (-p["share"], p["label"], p["confused_with"]))[:10]
    return report


def rank_by_cosine(unit_vectors: np.ndarray) -> list[list[int]]:
    """Leave-one-out rankings from unit vectors (exact, like the store's cosine search)."""
    sims = unit_vectors @ unit_vectors.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")
    return [list(row[:-1]) for row in order]  # the last one is the query itself (-inf)


def read_labels(source: str) -> list[tuple[str, str]]:
    """(absolute path, label) from a labels.csv (path,label; paths relative to the csv) or a folder
    (label = the parent folder's name of each audio file)."""
    src = Path(source)
    if path_problem(src):  # absent, or a device or pipe (never read: /dev/zero would never end)
        raise SoundalikeError(f"{shown(str(source))}: {path_problem(src)}")
    if src.is_file():
        try:
            with open(src, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise SoundalikeError(f"{src}: cannot read labels ({e})") from e
        if not rows or not {"path", "label"} <= set(rows[0]):
            raise SoundalikeError(f"{src}: a labels file needs the columns path,label")
        return [(os.path.abspath(src.parent / r["path"]), r["label"]) for r in rows if r.get("path")]
    if src.is_dir():
        return [(p, os.path.basename(os.path.dirname(p))) for p, _ in walk_audio([str(src)], [])]
    raise SoundalikeError(f"{shown(str(source))}: no such folder or labels file")


def eval_home(base_home: Path, source: str, embedder: str | None) -> Path:
    digest = hashlib.sha1(f"{os.path.abspath(source)}|{embedder or ''}".encode()).hexdigest()[:12]
    return Path(base_home) / "eval" / digest


def run_eval(source: str, *, base_home: Path, k: int = 10, embedder: str | None = None, model: str | None = None,
             device: str | None = None, strict: bool = False, layer: str | None = None,
             passages: bool = False) -> Iterator:
    """Index the labelled files in an eval library of their own, then score; yields events, then EvalReport.
    `passages`: run the passage pass first, so spectral rankings use whole-track parts as the window's do."""
    pairs = read_labels(source)
    if not pairs:
        raise SoundalikeError(f"{source}: no audio files to evaluate")
    label_of = dict(pairs)
    notice = ""
    with Library.open(eval_home(base_home, source, embedder), strict=strict, embedder=embedder, model=model,
                      device=device, layer=layer) as lib:
        roots = [os.path.abspath(source)] if os.path.isdir(source) else [p for p, _ in pairs]
        for event in scan_and_index(lib, roots):
            yield event
            if isinstance(event, IndexSummary):
                notice = event.notice
        if passages:
            from desktop.core.passages import PassageSummary, index_passages  # lazy: only asked for

            yield from (ev for ev in index_passages(lib) if not isinstance(ev, PassageSummary))
        key = lib.active_key
        catalog = lib.catalog
        failed = [{"path": t.path, "error": t.error} for t in catalog.tracks(status="failed") if t.path in label_of]
        by_path = {t.path: t.id for t in catalog.tracks(status="indexed")}
        raws = dict(catalog.raw_vectors(key)) if key else {}
        paths = [p for p, _ in pairs if p in by_path and by_path[p] in raws]
        if len(paths) < 2:
            raise SoundalikeError(f"{source}: fewer than two tracks could be analysed")
        ids = [by_path[p] for p in paths]
        units = lib.space().to_unit(np.stack([raws[i] for i in ids]))
        rankings = rank_by_cosine(units)
        if late_interaction.applies(key):  # the same re-scoring by parts as `similar`
            sets = late_interaction.part_sets(lib.space(), ids, dict(zip(ids, units, strict=True)))
            rankings = late_interaction.rerank_rankings(rankings, [sets[i] for i in ids])
        report = evaluate_rankings([label_of[p] for p in paths], rankings, k)
        report.failed = failed
        report.embedder = lib.embedder.label + (f" ({notice})" if notice else "")
    yield report
