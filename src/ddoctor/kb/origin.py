"""Where a log came from: the OS (from paths, launcher notes, collect_env lines), torch, GPUs.

A log is often diagnosed on another machine than the one it came from (a Mac user's paste, read on
a Linux CI box). Remediation must be for the platform of the log: "use gloo on this Linux host" is
wrong advice for a macOS log. The tracker collects clues while the log is parsed; the strongest
one decides.
"""

from __future__ import annotations

from ddoctor.lazyre import LazyPattern, lazy_re
from ddoctor.model.logs import LogOrigin, Traceback

# (literals one of which the line must hold, regex over a printed line or frame path, system, strength,
# what it is): the literals are plain substring tests, so the regexes run only on lines that can match.
_CLUES: tuple[tuple[tuple[str, ...], LazyPattern, str, int, str], ...] = (
    (("OS: ",), lazy_re(r"^OS: (?:macOS|Mac OSX|Darwin)"), "Darwin", 5, "collect_env's OS line"),
    (("OS: ",), lazy_re(r"^OS: (?:Microsoft )?Windows"), "Windows", 5, "collect_env's OS line"),
    (("OS: ",),
     lazy_re(r"^OS: (?:Ubuntu|Debian|CentOS|Red Hat|Rocky|Alma|Fedora|Amazon Linux|SUSE|openSUSE|Arch|Linux)"),
     "Linux", 5, "collect_env's OS line"),
    (("WinError", "WindowsPath(", "\\AppData\\", ":\\"),
     lazy_re(r"\[WinError \d{1,6}\]|\bWindowsPath\(|\\AppData\\|^[A-Za-z]:\\"), "Windows", 4,
     "a Windows path or error"),
    (("/Users/", "/opt/homebrew/", "/Library/", ".dylib", "MPS", "macOS"),
     lazy_re(r"(?:^|[\s\"'(=])/Users/[^/\s]{1,80}/|/opt/homebrew/|/Library/Frameworks/Python\.framework|"
             r"/Library/Python/|\.dylib\b|\bMPS backend\b|on MPS device|\bmacOS\b"), "Darwin", 3,
     "a macOS path or the MPS backend"),
    (("Redirects are",), lazy_re(r"Redirects are currently not supported in Windows or MacOs"),
     "Darwin-or-Windows", 2, "torchrun's note that redirects are not supported on Windows or macOS"),
    (("/home/", "/root/", "/usr/lib/python3", "/mnt/", "/proc/", "/dev/shm/", "libc.so", "/usr/local/cuda",
      "linux-gnu", "/dist-packages/"),
     lazy_re(r"(?:^|[\s\"'(=])/(?:home|root|usr/lib/python3|mnt|proc|dev/shm)/|\blibc\.so|/usr/local/cuda|"
             r"\blinux-gnu\b|/dist-packages/"), "Linux", 1, "a Linux path"),
)
_ALL_GATES = tuple(dict.fromkeys(g for gates, *_ in _CLUES for g in gates))
_TORCH = lazy_re(r"^PyTorch version: (?P<v>\S{1,40})"
                 r"|\btorch(?:==| version:? )(?P<v2>\d{1,2}\.\d{1,3}\.\d{1,3}\S{0,20})")
_CUDA = lazy_re(r"^CUDA used to build PyTorch: (?P<v>\S{1,20})")
_DRIVER = lazy_re(r"^Nvidia driver version: (?P<v>\S{1,20})")
_GPU = lazy_re(r"^GPU (?P<i>\d{1,3}): (?P<name>NVIDIA [^\n]{1,80}|Tesla [^\n]{1,80})")

# For the one-pass scanner of large logs: lines that carry these clues must reach the parser.
ORIGIN_TRIGGERS: tuple[str, ...] = (
    r"^OS: ",
    r"^PyTorch version: ",
    r"^CUDA used to build PyTorch: ",
    r"^Nvidia driver version: ",
    r"^GPU \d{1,3}: ",
    r"Redirects are currently not supported in Windows or MacOs",
    r"\[WinError \d",
)


class OriginTracker:
    def __init__(self) -> None:
        self._best: tuple[int, str, str] | None = None  # (strength, system, clue)
        self._systems: set[str] = set()
        self.torch_version: str | None = None
        self.torch_cuda: str | None = None
        self.driver_version: str | None = None
        self.gpus: list[str] = []

    def _vote(self, text: str) -> None:
        for g in _ALL_GATES:
            if g in text:
                break
        else:
            return  # most lines hold no clue at all: one pass of substring tests, no regex
        for gates, rx, system, strength, clue in _CLUES:
            if self._best is not None and strength < self._best[0]:
                return  # weaker clues can no longer change the verdict
            if any(g in text for g in gates) and rx.search(text):
                if self._best is None or strength > self._best[0]:
                    self._best = (strength, system, clue)
                self._systems.add(system)
                return

    def on_line(self, text: str) -> None:
        if len(text) > 4000:
            text = text[:4000]
        self._vote(text)
        if text.startswith(("PyTorch", "CUDA used", "Nvidia driver", "GPU ")) or "torch" in text:
            if (m := _TORCH.search(text)) and self.torch_version is None:
                self.torch_version = m.group("v") or m.group("v2")
            elif (m := _CUDA.match(text)) and self.torch_cuda is None:
                self.torch_cuda = m.group("v")
            elif (m := _DRIVER.match(text)) and self.driver_version is None:
                self.driver_version = m.group("v")
            elif (m := _GPU.match(text)) and len(self.gpus) < 64:
                self.gpus.append(m.group("name").strip())

    def on_traceback(self, tb: Traceback) -> None:
        for block in tb.blocks[-2:]:
            for f in block.frames[-6:]:
                self._vote(f.filename)

    def result(self) -> LogOrigin | None:
        if self._best is None and not (self.torch_version or self.gpus or self.driver_version):
            return None
        system = clue = None
        if self._best is not None:
            _, system, clue = self._best
            if system == "Darwin-or-Windows" and self._systems & {"Darwin", "Windows"}:
                system = "Darwin" if "Darwin" in self._systems else "Windows"
        return LogOrigin(system=system, clue=clue, torch_version=self.torch_version, torch_cuda=self.torch_cuda,
                         driver_version=self.driver_version, gpus=tuple(self.gpus))
