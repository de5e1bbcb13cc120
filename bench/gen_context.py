#!/usr/bin/env python3
"""Writes a deterministic copy-heavy build context: ~400 MB in ~20,000 files.

Sizes follow a skewed mix (many small files, some large ones); contents are a mix of
text-like (compressible) and random-like (incompressible) bytes, seeded, so every run
produces the same tree. Usage: gen_context.py DIR [TOTAL_MB] [FILES]
"""
import os
import random
import sys

def main():
    out = sys.argv[1]
    total_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    files = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    rng = random.Random(20261122)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10))) for _ in range(2000)]
    # Pick sizes: lognormal-ish, then scale to the total.
    raw = [rng.lognormvariate(8.5, 1.8) for _ in range(files)]
    scale = total_mb * 1024 * 1024 / sum(raw)
    sizes = [max(1, int(r * scale)) for r in raw]
    random_block = rng.randbytes(1 << 20)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "Dockerfile"), "w") as f:
        f.write("FROM scratch\nCOPY . /app\n")
    for i, size in enumerate(sizes):
        d = os.path.join(out, f"d{i % 97:02d}", f"s{i % 13}")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, f"f{i:05d}.{'txt' if i % 3 else 'bin'}")
        with open(path, "wb") as f:
            if i % 3:  # text-like
                buf = bytearray()
                while len(buf) < size:
                    buf += b" ".join(rng.choices(words, k=64)) + b"\n"
                f.write(buf[:size])
            else:  # random-like: slices of a random block at a file-specific offset
                off = (i * 7919) % (1 << 20)
                left = size
                while left > 0:
                    chunk = random_block[off:off + left]
                    f.write(chunk)
                    left -= len(chunk)
                    off = 0
        os.utime(path, (1_600_000_000, 1_600_000_000))

if __name__ == "__main__":
    main()
