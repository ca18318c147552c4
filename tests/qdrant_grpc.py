"""A real gRPC server on 127.0.0.1 speaking the part of Qdrant's gRPC API Soundalike uses (prefer_grpc).

Like tests/qdrant_http.py, it stands where a Qdrant server would (none can be obtained here): the client
sends its real protobuf requests over a real HTTP/2 socket, and the servicers answer them with
qdrant-client's in-process engine, converting with qdrant-client's own GrpcToRest / RestToGrpc. The
`api-key` metadata of every call is recorded; a wrong one is refused with UNAUTHENTICATED, as Qdrant does.
"""

from __future__ import annotations

import threading
import time
from concurrent import futures

import grpc
from qdrant_client import QdrantClient
from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import GrpcToRest, RestToGrpc
from qdrant_client.grpc import collections_service_pb2_grpc as cs
from qdrant_client.grpc import points_service_pb2_grpc as ps


def _record(r):
    """A Record as gRPC carries it (the conversion needs a payload dict, even when none was asked for)."""
    return RestToGrpc.convert_retrieved_point(r.model_copy(update={"payload": r.payload or {}}))


class _Base:
    def __init__(self, owner: QdrantGrpcServer):
        self.o = owner

    def _check(self, context) -> None:
        meta = dict(context.invocation_metadata())
        self.o.keys_seen.append(meta.get("api-key"))
        if self.o.api_key is not None and meta.get("api-key") != self.o.api_key:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Invalid API key or JWT")


def _ok_points():
    return pb.PointsOperationResponse(result=pb.UpdateResult(operation_id=0, status=pb.UpdateStatus.Completed),
                                      time=0.0)


class Collections(_Base, cs.CollectionsServicer):
    def CollectionExists(self, request, context):
        self._check(context)
        with self.o.lock:
            exists = self.o.engine.collection_exists(request.collection_name)
        return pb.CollectionExistsResponse(result=pb.CollectionExists(exists=exists), time=0.0)

    def Create(self, request, context):
        self._check(context)
        vectors = GrpcToRest.convert_vectors_config(request.vectors_config)
        with self.o.lock:
            self.o.engine.create_collection(request.collection_name, vectors_config=vectors)
        return pb.CollectionOperationResponse(result=True, time=0.0)

    def Get(self, request, context):
        self._check(context)
        with self.o.lock:
            info = self.o.engine.get_collection(request.collection_name)
        return pb.GetCollectionInfoResponse(result=RestToGrpc.convert_collection_info(info), time=0.0)

    def List(self, request, context):
        self._check(context)
        with self.o.lock:
            names = [c.name for c in self.o.engine.get_collections().collections]
        return pb.ListCollectionsResponse(collections=[pb.CollectionDescription(name=n) for n in names], time=0.0)


class Points(_Base, ps.PointsServicer):
    def Upsert(self, request, context):
        self._check(context)
        points = [GrpcToRest.convert_point_struct(p) for p in request.points]
        with self.o.lock:
            self.o.engine.upsert(request.collection_name, points=points)
        return _ok_points()

    def Delete(self, request, context):
        self._check(context)
        selector = GrpcToRest.convert_points_selector(request.points)
        with self.o.lock:
            self.o.engine.delete(request.collection_name, points_selector=selector)
        return _ok_points()

    def CreateFieldIndex(self, request, context):
        self._check(context)
        return _ok_points()

    def Count(self, request, context):
        self._check(context)
        flt = GrpcToRest.convert_filter(request.filter) if request.HasField("filter") else None
        with self.o.lock:
            n = self.o.engine.count(request.collection_name, count_filter=flt, exact=True).count
        return pb.CountResponse(result=pb.CountResult(count=n), time=0.0)

    def Scroll(self, request, context):
        self._check(context)
        offset = GrpcToRest.convert_point_id(request.offset) if request.HasField("offset") else None
        with self.o.lock:
            recs, nxt = self.o.engine.scroll(request.collection_name, limit=request.limit or 10, offset=offset,
                                             with_payload=False, with_vectors=False)
        out = pb.ScrollResponse(result=[_record(r) for r in recs], time=0.0)
        if nxt is not None:
            out.next_page_offset.CopyFrom(RestToGrpc.convert_extended_point_id(nxt))
        return out

    def Get(self, request, context):
        self._check(context)
        ids = [GrpcToRest.convert_point_id(i) for i in request.ids]
        with_vectors = GrpcToRest.convert_with_vectors_selector(request.with_vectors)
        with self.o.lock:
            recs = self.o.engine.retrieve(request.collection_name, ids, with_payload=True, with_vectors=with_vectors)
        return pb.GetResponse(result=[_record(r) for r in recs], time=0.0)

    def Query(self, request, context):
        self._check(context)
        req = GrpcToRest.convert_query_points(request)
        with self.o.lock:
            res = self.o.engine.query_points(request.collection_name, query=req.query, prefetch=req.prefetch,
                                             query_filter=req.filter, limit=req.limit,
                                             with_payload=req.with_payload if req.with_payload is not None else True,
                                             with_vectors=req.with_vector or False)
        return pb.QueryResponse(result=[RestToGrpc.convert_scored_point(p) for p in res.points], time=0.0)


class QdrantGrpcServer:
    def __init__(self, api_key: str | None = None, engine: QdrantClient | None = None):
        self.api_key = api_key
        self.engine = engine or QdrantClient(location=":memory:")
        self.lock = threading.Lock()
        self.keys_seen: list[str | None] = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                                  options=[("grpc.max_receive_message_length", 64 << 20)])
        cs.add_CollectionsServicer_to_server(Collections(self), self.server)
        ps.add_PointsServicer_to_server(Points(self), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> QdrantGrpcServer:
        self.server.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop(grace=None)
