"""workload_json.py — a JSON and dict heavy Python workload with deterministic output.

Builds nested dicts and lists of a few hundred thousand objects, round-trips them through
json, regroups, sorts and counts them, repeats part of it in a pool of threads, and prints
summaries and digests. Run with
PYTHONHASHSEED=0 so that set and dict iteration orders are reproducible; the output then
depends on nothing but the computation, so two runs on different allocators must agree.
"""
import collections
import concurrent.futures
import hashlib
import json
import random


def make_records(rng, n):
    records = []
    for i in range(n):
        tags = [f"tag{rng.randrange(50)}" for _ in range(rng.randrange(6))]
        records.append({
            "id": i,
            "name": "user-%d-%s" % (i, "x" * rng.randrange(30)),
            "score": rng.random() * 1000,
            "tags": tags,
            "attrs": {f"k{j}": rng.randrange(1000) for j in range(rng.randrange(8))},
            "nested": {"a": [rng.randrange(100) for _ in range(rng.randrange(10))],
                       "b": {"c": str(i) * (i % 7)}},
        })
    return records


def main():
    rng = random.Random(1234)
    records = make_records(rng, 40000)
    text = json.dumps(records, sort_keys=True)
    print("json bytes", len(text), hashlib.sha256(text.encode()).hexdigest())

    back = json.loads(text)
    assert back == records
    by_tag = collections.defaultdict(list)
    for r in back:
        for t in r["tags"]:
            by_tag[t].append(r["id"])
    print("tags", len(by_tag), sum(len(v) for v in by_tag.values()))
    counts = collections.Counter(t for r in back for t in r["tags"])
    print("most common", counts.most_common(5))

    index = {r["name"]: r for r in back}
    for i in range(0, len(back), 7):
        del index["user-%d-%s" % (i, back[i]["name"].split("-", 2)[2])]
    print("index left", len(index))

    ranked = sorted(back, key=lambda r: (-round(r["score"], 6), r["id"]))
    print("top", [r["id"] for r in ranked[:10]])
    words = {}
    for r in back:
        for k, v in r["attrs"].items():
            words.setdefault(k, set()).add(v % 97)
    print("attrs", sorted((k, len(v)) for k, v in words.items()))

    # Many short-lived big strings and dicts, the sizes a realloc-heavy program produces.
    blob = ""
    for i in range(2000):
        blob += json.dumps({"i": i, "pad": "y" * (i % 500)})
        if len(blob) > 1 << 20:
            blob = blob[len(blob) // 2:]
    print("blob", len(blob), hashlib.sha256(blob.encode()).hexdigest()[:16])
    big = {i: [i] * (i % 50) for i in range(50000)}
    print("big", sum(len(v) for v in big.values()))

    # Threads build and drop large objects that other threads created (map's results).
    def chunk_digest(start):
        part = json.loads(json.dumps(back[start:start + 2000]))
        return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()[:12]

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        digests = list(pool.map(chunk_digest, range(0, len(back), 2000)))
    print("threads", len(digests), hashlib.sha256("".join(digests).encode()).hexdigest()[:16])


if __name__ == "__main__":
    main()
