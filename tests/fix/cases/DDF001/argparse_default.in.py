import argparse

import torch.distributed as dist

parser = argparse.ArgumentParser()
parser.add_argument("--backend", default="nccl", choices=["nccl", "gloo"])
parser.add_argument("--dist-backend", dest="pg_backend", type=str, default="nccl")
parser.add_argument("--device", default="cuda")  # a device, not a backend: DDF002's business
args = parser.parse_args()

dist.init_process_group(backend=args.backend)
group = dist.new_group([0, 1], backend=args.pg_backend)
