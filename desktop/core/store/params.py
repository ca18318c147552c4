"""How a collection on a Qdrant server is laid out: shards, replicas, where vectors live, quantization, HNSW.

Each value can be set in the settings (`qdrant_shards`, `qdrant_replication`, `qdrant_on_disk`,
`qdrant_quantization`, `qdrant_hnsw_m`, `qdrant_hnsw_ef_construct`); left at 0 / None / "auto" it is
chosen from the library's size when the collection is created. Why each default:

- shards: left to the server, which makes one per node. The shard count cannot change after creation
  (resharding is a Qdrant Cloud feature), one per node spreads a cluster evenly, and a music library
  (well under 10M points) never needs more shards than nodes to fit.
- replication factor 1: the catalog keeps every raw vector, so a lost shard is rebuilt from it without
  decoding (`soundalike check --repair`, `soundalike store migrate`); a replica doubles RAM and disk to
  buy availability only. A household NAS has one node anyway; set 2 on a cluster that must stay up.
- on-disk vectors from 1 GiB of float32 (about 350k x 768): below that the originals fit in RAM on any
  server; above it, with quantization in RAM, the originals are read only to rescore the few candidates.
- scalar int8 quantization from 50k points: it quarters the RAM the search scans (768-d: 3 KB -> 768 B a
  point) and, with rescoring against the originals, returns the same top-k order. Below 50k the float32
  scan is already fast and small. Binary quantization (32x smaller) only when asked: its recall depends on
  the model (Qdrant advises it for >= 1024-d embeddings made for it), so it oversamples 3x and rescores.
- HNSW m=16, ef_construct=100 (Qdrant's own defaults) below 100k points; from 100k, m=32 and
  ef_construct=256: on 768-d vectors the defaults gave recall@20 of 0.10 at 100k (STACK.md, Edge's same
  HNSW code), and the extra links cost 128 more bytes a point (13 MB at 100k). Searches ask for
  hnsw_ef = max(128, 4k) either way.
"""

from __future__ import annotations

from dataclasses import dataclass

SCALAR_FROM = 50_000
BIG_HNSW_FROM = 100_000
ON_DISK_FROM_BYTES = 1 << 30


@dataclass(frozen=True)
class CollectionParams:
    shards: int | None = None  # None: the server's default (one per node)
    replication: int = 1
    on_disk: bool = False
    quantization: str = "none"  # none | scalar | binary
    hnsw_m: int = 16
    hnsw_ef_construct: int = 100

    @classmethod
    def choose(cls, points: int, dim: int, settings=None) -> CollectionParams:
        """Defaults for a library of `points` vectors of `dim`, with any explicit setting applied."""
        big = points >= BIG_HNSW_FROM
        p = cls(
            shards=None,
            replication=1,
            on_disk=points * dim * 4 >= ON_DISK_FROM_BYTES,
            quantization="scalar" if points >= SCALAR_FROM else "none",
            hnsw_m=32 if big else 16,
            hnsw_ef_construct=256 if big else 100,
        )
        if settings is None:
            return p
        return cls(
            shards=settings.qdrant_shards or p.shards,
            replication=settings.qdrant_replication or p.replication,
            on_disk=p.on_disk if settings.qdrant_on_disk is None else bool(settings.qdrant_on_disk),
            quantization=p.quantization if settings.qdrant_quantization == "auto" else settings.qdrant_quantization,
            hnsw_m=settings.qdrant_hnsw_m or p.hnsw_m,
            hnsw_ef_construct=settings.qdrant_hnsw_ef_construct or p.hnsw_ef_construct,
        )

    def create_kwargs(self, dim: int) -> dict:
        """The keyword arguments of `QdrantClient.create_collection` for these parameters."""
        from qdrant_client import models

        quant = None
        if self.quantization == "scalar":
            quant = models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(
                type=models.ScalarType.INT8, quantile=0.99, always_ram=True))
        elif self.quantization == "binary":
            quant = models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True))
        return {
            "vectors_config": models.VectorParams(size=dim, distance=models.Distance.COSINE, on_disk=self.on_disk),
            "shard_number": self.shards,
            "replication_factor": self.replication,
            "hnsw_config": models.HnswConfigDiff(m=self.hnsw_m, ef_construct=self.hnsw_ef_construct),
            "quantization_config": quant,
        }


def search_params(k: int, quantization: str):
    """hnsw_ef generous for 768-d recall; with quantization, oversample and rescore with the originals."""
    from qdrant_client import models

    quant = None
    if quantization in ("scalar", "binary"):
        quant = models.QuantizationSearchParams(rescore=True, oversampling=3.0 if quantization == "binary" else 2.0)
    return models.SearchParams(hnsw_ef=max(128, 4 * k), quantization=quant)


def quantization_of(config) -> str:
    """'scalar', 'binary' or 'none' from a collection's `quantization_config` as the server reports it."""
    if config is None:
        return "none"
    name = type(config).__name__.lower()
    for kind in ("scalar", "binary", "product"):
        if kind in name:
            return kind
    return "none"
