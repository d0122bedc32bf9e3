import os

import torch


def setup():
	local_rank = int(os.environ.get("LOCAL_RANK", 0))
	torch.cuda.set_device(local_rank)  # bind this rank's GPU
	return local_rank
