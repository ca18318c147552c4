"""`soundalike model list|pull|remove`: get, see and remove the neural models (in the Hugging Face cache).

Also `fetch_if_missing`, which `index --embedder wav2vec2` calls: a model asked for by name is
downloaded with the same progress bar instead of failing.
"""

from __future__ import annotations

import argparse
import functools
import sys

from desktop.core.errors import SoundalikeError


def add_parser(sub) -> None:
    sp = sub.add_parser("model", help="download, list or remove neural models (Hugging Face cache)")
    verbs = sp.add_subparsers(dest="model_command", metavar="ACTION", required=True, parser_class=type(sp))
    home_anywhere = argparse.ArgumentParser(add_help=False)  # `soundalike model list --home DIR` works too
    home_anywhere.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    verbs.add_parser = functools.partial(verbs.add_parser, parents=[home_anywhere])
    verbs.add_parser("list", help="models on this computer, their size and the libraries that use them")
    pull = verbs.add_parser("pull", help="download a model (default facebook/wav2vec2-base); resumes if interrupted")
    pull.add_argument("model", nargs="?", metavar="ID", help="hub id, e.g. laion/larger_clap_music")
    pull.add_argument("--revision", default="main", help="branch, tag or commit (default main)")
    rm = verbs.add_parser("remove", help="delete a downloaded model")
    rm.add_argument("model", metavar="ID")


def cmd_model(args) -> int:
    from desktop.core import models

    if args.model_command == "list":
        found = models.list_models()
        if not found:
            print(f"no models downloaded (in {models.hub_cache_dir()}); `soundalike model pull` gets the default one")
        for m in found:
            extra = f", {_mb(m.partial)} unfinished (pull resumes it)" if m.partial else ""
            print(f"{m.model:40s} {_mb(m.size):>9s}{extra}")
            for home in m.users:
                print(f"    used by the library in {home}")
        return 0
    if args.model_command == "pull":
        download(args.model or models.DEFAULT_MODEL, args.revision)
        return 0
    freed = models.remove(args.model)
    print(f"removed {args.model} ({_mb(freed)} freed)")
    return 0


def download(model: str, revision: str = "main") -> str:
    """Pull with a byte progress bar (speed, time left) on a terminal and a summary line; the snapshot path."""
    from tqdm import tqdm

    from desktop.core.models import DownloadProgress, PullDone, pull

    bar, done = None, None
    try:
        for ev in pull(model, revision):
            if isinstance(ev, DownloadProgress):
                if bar is None:
                    bar = tqdm(total=ev.total, initial=ev.done, unit="B", unit_scale=True, unit_divisor=1024,
                               desc=model.rsplit("/", 1)[-1][:24], file=sys.stderr, disable=None, leave=False)
                bar.update(ev.done - bar.n)
            elif isinstance(ev, PullDone):
                done = ev
    except KeyboardInterrupt:
        raise SoundalikeError(f"download of {model} interrupted; `soundalike model pull {model}` "
                              f"continues it") from None
    finally:
        if bar is not None:
            bar.close()
    rate = f", {done.downloaded / done.seconds / 1e6:.1f} MB/s" if done.downloaded and done.seconds else ""
    print(f"downloaded {model} ({_mb(done.downloaded)} fetched, {_mb(done.reused)} already here, "
          f"{done.seconds:.1f} s{rate}); it loads", file=sys.stderr)
    return done.path


def fetch_if_missing(model: str | None) -> None:
    """Download `model` (a hub id the user asked for) when it is not in the cache yet."""
    from desktop.core import models

    model = model or models.DEFAULT_MODEL
    if models.is_hub_id(model) and not models.is_cached(model):
        print(f"{model} is not downloaded yet: downloading it", file=sys.stderr)
        download(model)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def sweep_layers(args, base_home, bar) -> int:
    """`eval --sweep-layers`: the same labelled evaluation once per layer of the model, as a table."""
    import json

    from desktop.core.config import load_settings
    from desktop.core.embedders.audio_encoder import layer_count
    from desktop.core.evaluate import EvalReport, run_eval
    from desktop.core.events import Progress

    model = args.model or load_settings(args.home).model
    fetch_if_missing(model)
    rows = []
    for layer in range(layer_count(model) + 1):
        report = None
        for ev in run_eval(args.source, base_home=base_home, k=args.k, embedder="wav2vec2", model=model,
                           device=args.device, strict=True, layer=str(layer)):
            if isinstance(ev, Progress):
                bar.update(ev)
            elif isinstance(ev, EvalReport):
                report = ev
        bar.close()
        rows.append((layer, report))
    if args.json:
        print(json.dumps([{"layer": layer, **r.to_dict()} for layer, r in rows], indent=2, ensure_ascii=False))
        return 0
    best = max(rows, key=lambda row: (row[1].map, -row[0]))[0]
    k = rows[0][1].k
    print(f"model: {model}; {rows[0][1].tracks} tracks; layer 0 = before the first transformer layer")
    print(f"{'layer':>5s} {'P@1':>6s} {'P@' + str(k):>6s} {'mAP':>6s}")
    for layer, r in rows:
        mark = "  <- best mAP" if layer == best else ""
        print(f"{layer:5d} {r.p_at_1:6.3f} {r.p_at_k:6.3f} {r.map:6.3f}{mark}")
    print(f"use it with: soundalike index DIR --model {model} --layer {best}")
    return 0
