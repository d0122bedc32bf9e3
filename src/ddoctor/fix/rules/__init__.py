"""The fix rules, one per file, each a libcst transformer with its documentation beside it (`ddoctor explain DDF001`).

Matching is syntactic: a call is recognised by the last parts of its dotted name (so `dist.` and
`torch.distributed.` aliases both match), values are followed through the file (flow.py), and
nothing under an `if torch.cuda.is_available()`-style guard (or a conditional expression on one)
is touched, because that code already chose its device.
"""

from __future__ import annotations

from ddoctor.fix.rules.base import RuleTransformer
from ddoctor.fix.rules.ddf001_hardcoded_nccl import HardcodedNccl
from ddoctor.fix.rules.ddf002_hardcoded_cuda_device import HardcodedCuda
from ddoctor.fix.rules.ddf003_unguarded_set_device import UnguardedSetDevice
from ddoctor.fix.rules.ddf004_inputs_not_on_model_device import InputsNotOnModelDevice
from ddoctor.fix.rules.ddf005_load_without_map_location import LoadWithoutMapLocation
from ddoctor.fix.rules.ddf006_cuda_default_tensor_type import CudaDefaultTensorType
from ddoctor.model.fix import RuleInfo

RULES: tuple[type[RuleTransformer], ...] = (HardcodedNccl, HardcodedCuda, UnguardedSetDevice, InputsNotOnModelDevice,
                                            LoadWithoutMapLocation, CudaDefaultTensorType)
RULE_INFO: dict[str, RuleInfo] = {r.info.code: r.info for r in RULES}
