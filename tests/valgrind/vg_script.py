"""vg_script.py — a small Python workload for the memcheck run of tests/valgrind: dicts,
lists, strings and JSON, growing and shrinking, checked at the end."""
import json

records = [{"id": i, "name": "item-%d" % i, "tags": ["t%d" % (i % 7)] * (i % 5)} for i in range(3000)]
text = json.dumps(records)
back = json.loads(text)
assert back == records
index = {r["name"]: r for r in back}
for i in range(0, 3000, 3):
    del index["item-%d" % i]
blob = "".join(sorted(index))
print(len(text), len(index), len(blob))
