"""Memory figures the benches share: the peak of a block, the RSS now."""

from __future__ import annotations

import threading

import psutil


class Peak:
    """Highest RSS while a block runs, sampled every 10 ms (ru_maxrss only knows the process's whole life),
    and highest RSS less file-backed pages (ids and matrices memory-mapped from disk, which the kernel can
    drop): the memory a build really takes."""

    def __init__(self):
        self.process = psutil.Process()
        self.mib = self.anonymous = 0.0
        self._stop = threading.Event()

    def __enter__(self) -> Peak:
        self._sample_once()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()
        self._sample_once()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._sample_once()

    def _sample_once(self) -> None:
        memory = self.process.memory_info()
        self.mib = max(self.mib, memory.rss / 2**20)
        self.anonymous = max(self.anonymous, (memory.rss - memory.shared) / 2**20)


def rss() -> float:
    return psutil.Process().memory_info().rss / 2**20
