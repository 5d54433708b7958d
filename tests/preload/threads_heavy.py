# tests/preload/threads_heavy.py - a threaded Python program whose objects
# cross threads (run with PYTHONMALLOC=malloc, every object is a malloc):
# 4 producer threads build dicts, lists and strings and hand them through
# queues to 4 consumer threads, which digest and drop them, so most objects
# are freed by a thread other than the one that made them; the interpreter
# switches threads every few milliseconds, in the middle of allocations.
# Its output is compared with the same run on glibc's malloc.
import hashlib
import queue
import threading

PRODUCERS = 4
ITEMS = 6000


def make_item(who, i):
    words = ["%d-%d-%s" % (who, i, "y" * ((i * 7 + who) % 40)) for _ in range(i % 9 + 1)]
    return {"who": who, "i": i, "words": words, "blob": bytes((i + k) % 256 for k in range(i % 200))}


def producer(who, out):
    for i in range(ITEMS):
        out.put(make_item(who, i))
    out.put(None)


def consumer(inbox, results, slot):
    digest = hashlib.sha256()
    count = 0
    while True:
        item = inbox.get()
        if item is None:
            break
        digest.update(("%d:%d:" % (item["who"], item["i"])).encode())
        digest.update("|".join(item["words"]).encode())
        digest.update(item["blob"])
        count += 1
    results[slot] = (count, digest.hexdigest())


def main():
    queues = [queue.Queue(maxsize=64) for _ in range(PRODUCERS)]
    results = [None] * PRODUCERS
    threads = [threading.Thread(target=producer, args=(w, queues[w])) for w in range(PRODUCERS)]
    threads += [threading.Thread(target=consumer, args=(queues[w], results, w)) for w in range(PRODUCERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w, (count, hexdigest) in enumerate(results):
        print("consumer", w, count, hexdigest)


main()
