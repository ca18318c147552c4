"""How well the duplicate finder separates re-encodings of one recording from other tracks.

    .venv/bin/python bench/duplicates_quality.py [--originals 5] [--seconds 20] [--json OUT]

Builds a set in a temporary folder: for each synthesised family (tests/audio.py) `--originals`
distinct tracks (one family = one "artist": same timbre and tempo, other notes), each written as WAV
and re-encoded as FLAC, Ogg Opus 64/128 kbps, MP3 64/128/320 kbps and M4A (AAC) 96/256 kbps, plus
a byte copy in another folder; plus a family of drum loops whose tempos are equal or nearly so
(90, 90, 90.05, 90.3 bpm: same kicks, other hi-hat noise), the case the low band alone confused.
Indexes them with the spectral embedder into a real library, then reports the score distributions
(same recording vs different recordings of one family), the pair precision/recall of a vector-score
threshold alone, of the waveform rules on every pair within a family (low band alone, as before, and
fingerprint.compare: offset that holds + high band), and of `find_duplicates` (vector candidates +
waveform check) with its defaults and with a wide candidate search.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from desktop.core.config import load_settings  # noqa: E402
from desktop.core.duplicates import DUPLICATE_SCORE, find_duplicates, same_recording  # noqa: E402
from desktop.core.indexer import scan_and_index  # noqa: E402
from desktop.core.library import Library  # noqa: E402
from tests import audio  # noqa: E402

ENCODINGS = [
    ("wav", None),
    ("flac", None),
    ("ogg", 64000),
    ("ogg", 128000),
    ("mp3", 64000),
    ("mp3", 128000),
    ("mp3", 320000),
    ("m4a", 96000),
    ("m4a", 256000),
]
LOOP_BPMS = (90.0, 90.0, 90.05, 90.3)


def build(root: Path, originals: int, seconds: float, sr: int = 44100) -> dict[str, str]:
    """Write the set; returns path -> recording name."""
    recording = {}
    for family in audio.FAMILIES:
        for i in range(originals):
            x = audio.render(family, seconds, seed=7000 + 100 * list(audio.FAMILIES).index(family) + i, sr=sr)
            name = f"{family}-{i}"
            for ext, br in ENCODINGS:
                p = audio.encode(root / family / f"{name}-{br or 'full'}.{ext}", x, sr=sr, bitrate=br)
                recording[str(p)] = name
            copy = root / "copies" / family / f"{name}.wav"
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(root / family / f"{name}-full.wav", copy)
            recording[str(copy)] = name
    for i, bpm in enumerate(LOOP_BPMS):
        x = audio.render("drums", seconds, seed=9000 + i, sr=sr, bpm=bpm)
        for ext, br in ENCODINGS:
            p = audio.encode(root / "loops" / f"loops-{i}-{br or 'full'}.{ext}", x, sr=sr, bitrate=br)
            recording[str(p)] = f"loops-{i}"
    return recording


def waveform_rules(recording: dict[str, str]) -> dict:
    """Pair precision/recall within each family: the low band alone (the rule before) and compare()."""
    from desktop.core.fingerprint import SAME_RECORDING, compare, excerpt, match

    ex = {p: excerpt(p) for p in recording}
    counts = {"low_band_only": [0, 0, 0], "compare": [0, 0, 0]}  # true pos, false pos, false neg
    for a, b in itertools.combinations(sorted(recording), 2):
        if recording[a].split("-")[0] != recording[b].split("-")[0]:
            continue
        truth = recording[a] == recording[b]
        low_only = match(ex[a], ex[b]) >= SAME_RECORDING
        for name, said in (("low_band_only", low_only), ("compare", compare(ex[a], ex[b])[0])):
            c = counts[name]
            c[0] += said and truth
            c[1] += said and not truth
            c[2] += truth and not said
    return {name: {"pair_precision": round(tp / max(1, tp + fp), 4), "pair_recall": round(tp / max(1, tp + fn), 4),
                   "false_pairs": fp, "missed_pairs": fn} for name, (tp, fp, fn) in counts.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--originals", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sa-dups-"))
    try:
        recording = build(tmp / "music", args.originals, args.seconds)
        home = tmp / "home"
        replace(load_settings(home), embedder="spectral").save()
        with Library.open(home) as lib:
            for _ in scan_and_index(lib, [str(tmp / "music")]):
                pass
            ids = lib.catalog.track_ids(status="indexed")
            tracks = lib.catalog.many(ids)
            vecs = lib.store().get_vectors(ids)
            same, other = [], []
            for a, b in itertools.combinations(ids, 2):
                ra, rb = recording[tracks[a].path], recording[tracks[b].path]
                if ra.split("-")[0] != rb.split("-")[0]:
                    continue  # other families are far apart; the hard negatives are in the family
                s = float(vecs[a] @ vecs[b])
                (same if ra == rb else other).append((s, tracks[a].duration, tracks[b].duration))
            rows = []
            for t in (0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999):
                tp = sum(same_recording(s, da, db, t) for s, da, db in same)
                fp = sum(same_recording(s, da, db, t) for s, da, db in other)
                rows.append({"threshold": t, "pair_precision": tp / max(1, tp + fp), "pair_recall": tp / len(same)})
            truth = {
                (min(a, b), max(a, b))
                for a, b in itertools.combinations(ids, 2)
                if recording[tracks[a].path] == recording[tracks[b].path]
            }

            def run_finder(**kw) -> dict:
                started = time.monotonic()
                groups = find_duplicates(lib, **kw)
                took = time.monotonic() - started
                found = {
                    (min(a, b), max(a, b))
                    for g in groups
                    for a, b in itertools.combinations([c.track_id for c in g.copies], 2)
                }
                tp = len(found & truth)
                return {
                    **kw,
                    "groups": len(groups),
                    "pair_precision": round(tp / max(1, len(found)), 4),
                    "pair_recall": round(tp / max(1, len(truth)), 4),
                    "pure_groups": sum(len({recording[c.path] for c in g.copies}) == 1 for g in groups),
                    "seconds": round(took, 2),
                }

            report = {
                "files": len(ids),
                "recordings": len(set(recording.values())),
                "seconds_each": args.seconds,
                "same_recording_scores": {
                    "min": min(s for s, *_ in same),
                    "p5": float(np.percentile([s for s, *_ in same], 5)),
                    "median": float(np.median([s for s, *_ in same])),
                },
                "other_track_same_family_scores": {
                    "max": max(s for s, *_ in other),
                    "p99": float(np.percentile([s for s, *_ in other], 99)),
                    "median": float(np.median([s for s, *_ in other])),
                },
                "vector_only_thresholds": rows,
                "station_copy_threshold": DUPLICATE_SCORE,
                "waveform_rules_within_families": waveform_rules(recording),
                "finder_defaults": run_finder(),
                "finder_wide": run_finder(neighbours=64, candidate_score=0.3),
            }
            worst = sorted(((float(vecs[a] @ vecs[b]), tracks[a].path, tracks[b].path) for a, b in truth))[:3]
            report["lowest_same_recording"] = [
                {"score": s, "a": Path(a).name, "b": Path(b).name} for s, a, b in worst
            ]
        print(json.dumps(report, indent=2))
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
