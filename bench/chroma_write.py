"""What Chroma's upserts cost alone: random 384-d unit vectors upserted 256 at a time, no model.

The HNSW parameters are the index's (cosine, ef_construction 200, max_neighbors 32, ef_search 200)
with ``--config`` merged in (e.g. '{"sync_threshold": 1000000}'); metadata of ``--meta-keys``
booleans plus an id and a title per item, as the index writes. Prints one JSON line: wall and CPU
seconds, MB written, and the wall clock at every 5,120 items (it grows faster than linearly)::

    heavy --idle python bench/chroma_write.py --items 20000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--config", default="{}", help="extra HNSW configuration (JSON)")
    parser.add_argument("--meta-keys", type=int, default=25)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    client = chromadb.PersistentClient(
        path=tempfile.mkdtemp(prefix="chroma-write-"), settings=Settings(anonymized_telemetry=False)
    )
    hnsw = {"space": "cosine", "ef_search": 200, "ef_construction": 200, "max_neighbors": 32}
    collection = client.create_collection("items", configuration={"hnsw": hnsw | json.loads(args.config)})
    started, cpu = time.perf_counter(), time.process_time()
    marks = []
    for a in range(0, args.items, 256):
        b = min(args.items, a + 256)
        vectors = rng.normal(size=(b - a, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        metas = [
            {f"k{j}": (i + j) % 7 == 0 for j in range(args.meta_keys)} | {"item_id": i, "title": f"t {i}"}
            for i in range(a, b)
        ]
        collection.upsert(ids=[str(i) for i in range(a, b)], embeddings=vectors, metadatas=metas)
        if b % 5120 == 0 or b == args.items:
            marks.append((b, round(time.perf_counter() - started, 1)))
    io = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    print(
        json.dumps(
            {
                "items": args.items,
                "config": json.loads(args.config),
                "wall_s": round(time.perf_counter() - started, 1),
                "cpu_s": round(time.process_time() - cpu, 1),
                "written_mb": int(io["wchar"]) // 2**20,
                "marks": marks,
            }
        )
    )


if __name__ == "__main__":
    main()
