# tests/preload/alloc_heavy.py - a Python program that allocates heavily
# (run with PYTHONMALLOC=malloc, every object is a malloc): dicts, lists,
# strings, bytes, sorting, JSON and a little recursion.  Its output is
# compared with the same run on glibc's malloc.
import hashlib
import json


def tree(depth, seed):
    if depth == 0:
        return {"leaf": seed, "text": "x" * (seed % 97)}
    return {"id": seed, "kids": [tree(depth - 1, seed * 3 + k) for k in range(3)]}


def main():
    words = {}
    for i in range(200000):
        key = "w%d" % (i * 7919 % 50021)
        words[key] = words.get(key, 0) + len(key) * i % 13
    ranked = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
    print("distinct", len(words), "top", ranked[:3])

    blobs = [bytes((i * j) % 256 for j in range(i % 300)) for i in range(20000)]
    digest = hashlib.sha256(b"".join(blobs)).hexdigest()
    print("blobs", len(blobs), digest)

    doc = json.dumps(tree(7, 1), sort_keys=True)
    back = json.loads(doc)
    print("json", len(doc), hashlib.sha256(doc.encode()).hexdigest(), back["id"])

    grow = []
    for i in range(100000):
        grow.append(str(i) * (i % 5))
        if i % 3 == 0:
            grow.pop(i % len(grow))
    print("grow", len(grow), sum(len(s) for s in grow))


main()
