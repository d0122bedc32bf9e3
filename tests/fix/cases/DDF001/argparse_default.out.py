import argparse

import torch
import torch.distributed as dist

parser = argparse.ArgumentParser()
parser.add_argument("--backend", default="nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo", choices=["nccl", "gloo"])
parser.add_argument("--dist-backend", dest="pg_backend", type=str, default="nccl" if torch.cuda.is_available() and torch.distributed.is_nccl_available() else "gloo")
parser.add_argument("--device", default="cuda")  # a device, not a backend: DDF002's business
args = parser.parse_args()

dist.init_process_group(backend=args.backend)
group = dist.new_group([0, 1], backend=args.pg_backend)
