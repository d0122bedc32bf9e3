import os

import torch


def setup():
	local_rank = int(os.environ.get("LOCAL_RANK", 0))
	if torch.cuda.is_available():
		torch.cuda.set_device(local_rank)  # bind this rank's GPU
	return local_rank
