"""Tracks by description ("slow piano with rain"), in a library indexed with a CLAP model.

CLAP puts audio and text in one joint space. The text is embedded by the *same* model and revision
that made the library's vectors (the catalog remembers which model made each vector space), and it is
compared with the tracks' raw CLAP vectors (their windows' mean, normalised): the library's
standardisation re-centres and whitens the audio cloud alone, which would move the tracks away from
the text, so the store's standardised vectors are not used here. An exact scan of the raw vectors
costs about 1 ms per thousand tracks.
"""

from __future__ import annotations

import numpy as np

from desktop.core.embedders import create
from desktop.core.errors import SoundalikeError
from desktop.core.library import Library
from desktop.core.similarity import SimilarHit

SUGGESTED_CLAP = "laion/larger_clap_music"
MODEL_OF = "model_of:"  # catalog meta: vector space key -> the model id that made it


class NoTextSpace(SoundalikeError):
    """The library's vectors are not in a CLAP space, so text cannot be compared with them."""


def remember_model(library: Library, embedder) -> None:
    """Record which model made `embedder`'s vector space (text queries must use the same one)."""
    model = getattr(embedder, "model_id", None)
    if model and library.catalog.meta(MODEL_OF + embedder.key) != model:
        library.catalog.set_meta(MODEL_OF + embedder.key, model)


def text_embedder(library: Library):
    """The CLAP model that made the library's active space, loaded for its text tower."""
    key = library.active_key
    if not key or not key.startswith("clap-"):
        made_by = f" (its vectors were made by {key})" if key else ""
        raise NoTextSpace(f"text search needs the library indexed with a CLAP model{made_by}: "
                          f"`soundalike index DIR --model {SUGGESTED_CLAP}` downloads and uses one")
    model = library.catalog.meta(MODEL_OF + key)
    if not model:
        raise NoTextSpace(f"the library does not record which CLAP model made {key}; index it again with --model")

    emb = create("wav2vec2", model=model, device=library.settings.device, windows=1)
    if f"_r{emb.revision}-" not in key:
        emb.close()
        raise NoTextSpace(f"{model} on this computer is another revision than the one that made the library's "
                          f"vectors ({key}); index the library again to search it by text")
    return emb


def search_text(library: Library, text: str, k: int = 10, *, genre: str | None = None,
                embedder=None) -> list[SimilarHit]:
    """The k tracks whose sound best matches `text`, best first (cosine in CLAP's joint space)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    if not text.strip():
        raise ValueError("describe the sound in a few words, e.g. \"slow piano with rain\"")
    own = embedder is None
    emb = embedder or text_embedder(library)
    try:
        query = emb.embed_text([text])[0]
    finally:
        if own:
            emb.close()
    pairs = list(library.catalog.raw_vectors(library.active_key))
    if not pairs:
        return []
    ids = np.array([p[0] for p in pairs])
    raws = np.stack([p[1] for p in pairs]).astype(np.float32)
    if raws.shape[1] != len(query):
        raise NoTextSpace(f"the text vector has {len(query)} values, the library's {raws.shape[1]}: index again")
    scores = (raws / np.maximum(np.linalg.norm(raws, axis=1, keepdims=True), 1e-12)) @ query
    tracks = library.catalog.many(ids.tolist())
    hits = []
    for i in np.argsort(-scores, kind="stable"):
        t = tracks.get(int(ids[i]))
        if t is None or t.status != "indexed" or (genre and t.genre.casefold() != genre.casefold()):
            continue
        hits.append(SimilarHit(t.id, float(scores[i]), t.title, t.artist, t.album, t.genre, t.path, t.duration,
                               t.artist_generated))
        if len(hits) >= k:
            break
    return hits
