"""Write a synthetic multi-rank torchrun log of a given size (default 1 GiB), deterministic.

Shape follows research/perf-baselines.md §6: ~98% `[rankN]:[timestamp] INFO trainer.py ... loss`
lines, ~2% `NCCL INFO` lines, and one error event per ~20k lines (a rank-prefixed traceback, an
NCCL WARN line or a watchdog timeout). A 16 MiB block is generated once and written repeatedly,
with its rank numbers rotated, so generation costs seconds rather than minutes.
Usage: python bench/gen_synth_log.py OUT [BYTES]
"""

import random
import sys

BLOCK = 16 << 20


def block(seed: int) -> bytes:
    rnd = random.Random(seed)
    out, size, n = [], 0, 0
    while size < BLOCK:
        r = rnd.randrange(8)
        n += 1
        if n % 20000 == 0:
            kind = rnd.randrange(3)
            if kind == 0:
                lines = [f"[rank{r}]: Traceback (most recent call last):",
                         f'[rank{r}]:   File "/srv/train/trainer.py", line {rnd.randrange(900)}, in step',
                         f"[rank{r}]:     loss = model(batch)",
                         f'[rank{r}]:   File "/srv/train/model.py", line {rnd.randrange(900)}, in forward',
                         f"[rank{r}]:     return self.proj(x)",
                         f"[rank{r}]: RuntimeError: CUDA error: an illegal memory access was encountered"]
            elif kind == 1:
                lines = [f"node{r}:1234:5678 [{r}] misc/socket.cc:484 NCCL WARN Net : Connection closed by remote peer"]
            else:
                lines = [f"[rank{r}]:[E ProcessGroupNCCL.cpp:475] [Rank {r}] Watchdog caught collective operation "
                         f"timeout: WorkNCCL(SeqNum={n}, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) "
                         "ran for 600012 milliseconds before timing out."]
        elif rnd.random() < 0.02:
            lines = [f"node{r}:1234:5678 [{r}] NCCL INFO Channel {rnd.randrange(32):02d}/32 : "
                     "0 1 2 3 4 5 6 7 via P2P/IPC"]
        else:
            lines = [f"[rank{r}]:[2026-11-24 17:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}] INFO trainer.py:"
                     f"{rnd.randrange(400)} step {n} loss {rnd.random() * 4:.4f} lr 3.0e-4 "
                     f"tokens/s {rnd.randrange(90000)}"]
        for line in lines:
            b = (line + "\n").encode()
            out.append(b)
            size += len(b)
    return b"".join(out)


def main() -> None:
    path = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 30
    blk = block(1234)
    written = 0
    with open(path, "wb") as f:
        while written < total:
            piece = blk[: total - written]
            cut = piece.rfind(b"\n") + 1 if len(piece) < len(blk) else len(piece)
            f.write(piece[:cut] or piece)
            written += len(piece[:cut] or piece)
    print(f"wrote {written} bytes to {path}")


if __name__ == "__main__":
    main()
